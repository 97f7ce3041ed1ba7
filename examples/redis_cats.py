"""The Python side of examples/redis_cats.rs: publishes MessagePack cats in hats on Redis
channels cats.<breed>, as any Python service would (pip install redis msgpack).

    python3 examples/redis_cats.py [PORT] [N]
"""
import sys
import time

import msgpack
import redis

r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]) if len(sys.argv) > 1 else 6379)
n = int(sys.argv[2]) if len(sys.argv) > 2 else 20
# wait for the Rust subscriber's pattern subscription
deadline = time.time() + 10
while r.pubsub_numpat() < 1 and time.time() < deadline:
    time.sleep(0.02)
breeds = ["siamese", "persian", "sphynx"]
hats = ["fedora", "beret", "bowler"]
for i in range(n):
    cat = {"breed": breeds[i % 3], "name": "Tom", "hat": hats[i % 3]}
    r.publish("cats." + cat["breed"], msgpack.packb(cat))
    time.sleep(0.01)
