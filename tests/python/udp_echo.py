"""A classic UDP echo server and client with Python's standard socket API (SOCK_DGRAM).

    python3 udp_echo.py server N        prints "READY <port>", answers N datagrams to their senders
    python3 udp_echo.py client PORT T   sends T, prints the answer (retries: datagrams may be lost)
"""
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if sys.argv[1] == "server":
    s.bind(("127.0.0.1", 0))
    print("READY", s.getsockname()[1], flush=True)
    for _ in range(int(sys.argv[2])):
        data, sender = s.recvfrom(65535)
        s.sendto(data, sender)
else:
    s.settimeout(0.5)
    for _ in range(10):
        s.sendto(sys.argv[3].encode(), ("127.0.0.1", int(sys.argv[2])))
        try:
            data, _ = s.recvfrom(65535)
        except socket.timeout:
            continue
        print(data.decode())
        break
    else:
        sys.exit(1)
