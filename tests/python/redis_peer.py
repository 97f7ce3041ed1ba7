"""A redis-py peer of the tests: a subscriber or a publisher, as any Python service would be.

    python3 redis_peer.py PORT sub CHANNEL N       prints READY, then N messages as "channel data"
    python3 redis_peer.py PORT pub CHANNEL N DATA  waits for 2 pattern subscribers, publishes N
    python3 redis_peer.py PORT pubcats N           publishes N MessagePack cats on cats.<breed>
    python3 redis_peer.py PORT xadd STREAM N DATA  appends N entries {task: "DATA i", by: python}
"""
import sys
import time

import redis

r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]))
mode = sys.argv[2]
if mode == "sub":
    p = r.pubsub()
    p.subscribe(sys.argv[3])
    p.get_message(timeout=5)  # the confirmation
    print("READY", flush=True)
    got = 0
    while got < int(sys.argv[4]):
        m = p.get_message(timeout=10)
        if m and m["type"] == "message":
            print(m["channel"].decode(), m["data"].decode(), flush=True)
            got += 1
elif mode == "pub":
    deadline = time.time() + 10
    while r.pubsub_numpat() < 2 and time.time() < deadline:
        time.sleep(0.02)
    for _ in range(int(sys.argv[4])):
        r.publish(sys.argv[3], sys.argv[5])
elif mode == "pubcats":
    import msgpack

    deadline = time.time() + 10
    while r.pubsub_numpat() < 1 and time.time() < deadline:
        time.sleep(0.02)
    breeds = ["siamese", "persian"]
    for n in range(int(sys.argv[3])):
        breed = breeds[n % 2]
        cat = {"breed": breed, "name": "Tom", "hat": "bowler"}
        r.publish("cats." + breed, msgpack.packb(cat))
elif mode == "xadd":
    # appends N entries "task i" to a stream, as another producer would
    for n in range(int(sys.argv[4])):
        r.xadd(sys.argv[3], {"task": f"{sys.argv[5]} {n}", "by": "python"})
