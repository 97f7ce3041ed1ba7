"""Publishes a MessagePack map with pyzmq, as a program in another language would, until
killed or for 10 s. Usage: typed_pub.py ENDPOINT"""
import sys
import time

import msgpack
import zmq

ctx = zmq.Context()
pub = ctx.socket(zmq.PUB)
pub.bind(sys.argv[1])
print("bound", flush=True)
deadline = time.time() + 10
while time.time() < deadline:
    pub.send_multipart([b"weather.10002", msgpack.packb({"zipcode": 10002, "celsius": 19.5, "station": "py"})])
    pub.send_multipart([b"weather.10003", b"\xc1 not msgpack"])
    time.sleep(0.02)
