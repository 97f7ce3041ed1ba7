"""A libzmq peer (through pyzmq) for the PLAIN and CURVE interop tests.

Usage:
  security_peer.py curve-server ENDPOINT SECRET_Z85 [CERT_DIR]   REP; CERT_DIR: allowed client keys
  security_peer.py curve-client ENDPOINT SERVER_PUBLIC_Z85 SECRET_Z85
  security_peer.py plain-server ENDPOINT USER PASSWORD             REP; only USER/PASSWORD
  security_peer.py plain-client ENDPOINT USER PASSWORD

A server binds ENDPOINT (tcp://127.0.0.1:*), prints `bound <endpoint>` and answers each
request with its frames plus the User-Id libzmq gives the message, until stdin closes. A client
sends `hello` and prints the reply's frames as JSON; without a reply within 3 s it prints the
handshake failure its monitor saw (`failed auth 400`, `failed protocol`, or `no reply`) and
exits with status 2.
"""

import json
import os
import sys
import threading

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils.monitor import recv_monitor_message


def z85_public(secret):
    return zmq.curve_public(secret.encode())


def serve(sock, ctx, auth):
    def stop_on_eof():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=stop_on_eof, daemon=True).start()
    while True:
        frames = sock.recv_multipart(copy=False)
        user = frames[-1].get("User-Id") or "-"
        sock.send_multipart([f.bytes for f in frames] + [user.encode()])


def server(kind, endpoint, args):
    ctx = zmq.Context.instance()
    auth = ThreadAuthenticator(ctx)
    auth.start()
    sock = ctx.socket(zmq.REP)
    if kind == "curve":
        secret = args[0]
        sock.curve_secretkey = secret.encode()
        sock.curve_publickey = z85_public(secret)
        sock.curve_server = True
        if len(args) > 1:
            auth.configure_curve(domain="*", location=args[1])
        else:
            auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
    else:
        sock.plain_server = True
        auth.configure_plain(domain="*", passwords={args[0]: args[1]})
    sock.bind(endpoint)
    print("bound", sock.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)
    serve(sock, ctx, auth)


def client(kind, endpoint, args):
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.REQ)
    sock.linger = 0
    if kind == "curve":
        sock.curve_serverkey = args[0].encode()
        sock.curve_secretkey = args[1].encode()
        sock.curve_publickey = z85_public(args[1])
    else:
        sock.plain_username = args[0].encode()
        sock.plain_password = args[1].encode()
    monitor = sock.get_monitor_socket()
    sock.connect(endpoint)
    sock.send(b"hello")
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    poller.register(monitor, zmq.POLLIN)
    failure = "no reply"
    deadline = 3000
    while deadline > 0:
        ready = dict(poller.poll(100))
        deadline -= 100
        if sock in ready:
            print(json.dumps([f.decode() for f in sock.recv_multipart()]), flush=True)
            return 0
        if monitor in ready:
            event = recv_monitor_message(monitor)
            if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                failure = "failed auth %d" % event["value"]
            elif event["event"] == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
                failure = "failed protocol"
    print(failure, flush=True)
    return 2


def main():
    role, endpoint, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    kind, side = role.split("-")
    if side == "server":
        server(kind, endpoint, args)
    else:
        sys.exit(client(kind, endpoint, args))


if __name__ == "__main__":
    main()
