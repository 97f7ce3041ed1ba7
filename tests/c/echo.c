/* A classic TCP echo server and client with the BSD socket API (no ZeroMQ).
 *   echo server          prints "READY <port>", echoes one client until it closes
 *   echo client PORT     sends two lines, shuts its side, prints what comes back */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in local(int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

int main(int argc, char **argv) {
    char buf[4096];
    ssize_t n;
    if (argc >= 2 && strcmp(argv[1], "server") == 0) {
        int srv = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = local(0);
        socklen_t len = sizeof a;
        if (bind(srv, (struct sockaddr *)&a, sizeof a) || listen(srv, 1)) return 1;
        getsockname(srv, (struct sockaddr *)&a, &len);
        printf("READY %d\n", ntohs(a.sin_port));
        fflush(stdout);
        int conn = accept(srv, NULL, NULL);
        while ((n = recv(conn, buf, sizeof buf, 0)) > 0)
            if (send(conn, buf, n, 0) != n) return 1;
        close(conn);
        close(srv);
        return 0;
    }
    if (argc < 3) return 2;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = local(atoi(argv[2]));
    if (connect(c, (struct sockaddr *)&a, sizeof a)) return 1;
    const char *lines = "one\ntwo\n";
    if (send(c, lines, strlen(lines), 0) != (ssize_t)strlen(lines)) return 1;
    shutdown(c, SHUT_WR);
    while ((n = recv(c, buf, sizeof buf, 0)) > 0) fwrite(buf, 1, n, stdout);
    close(c);
    return 0;
}
