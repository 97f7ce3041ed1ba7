"""Receives one actormq typed message with pyzmq and decodes it with msgpack: prints
{"topic": ..., "value": ...} as JSON. Usage: typed_sub.py ENDPOINT PREFIX"""
import json
import sys

import msgpack
import zmq

ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.connect(sys.argv[1])
sub.setsockopt(zmq.SUBSCRIBE, sys.argv[2].encode())
sub.setsockopt(zmq.RCVTIMEO, 10000)
topic, payload = sub.recv_multipart()
print(json.dumps({"topic": topic.decode(), "value": msgpack.unpackb(payload)}), flush=True)
