"""A classic TCP echo server and client with Python's standard socket API (no ZeroMQ).

    python3 echo.py server          prints "READY <port>", echoes one client until it closes
    python3 echo.py client PORT     sends two lines, shuts its side, prints what comes back
"""
import socket
import sys

if sys.argv[1] == "server":
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    print("READY", srv.getsockname()[1], flush=True)
    conn, _ = srv.accept()
    while True:
        data = conn.recv(4096)
        if not data:
            break
        conn.sendall(data)
    conn.close()
else:
    c = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
    c.sendall(b"one\ntwo\n")
    c.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        chunk = c.recv(4096)
        if not chunk:
            break
        got += chunk
    sys.stdout.write(got.decode())
