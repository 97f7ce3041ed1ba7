"""A nats-py peer of the tests, as any Python service would be.

    python3 nats_peer.py PORT sub SUBJECT N       prints READY, then N messages as "subject data"
    python3 nats_peer.py PORT pub SUBJECT N DATA  publishes N messages, 50 ms apart
"""
import asyncio
import sys

import nats


async def main():
    nc = await nats.connect(f"nats://127.0.0.1:{sys.argv[1]}")
    mode, subject, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
    if mode == "sub":
        sub = await nc.subscribe(subject)
        await nc.flush()
        print("READY", flush=True)
        for _ in range(n):
            msg = await sub.next_msg(timeout=20)
            print(msg.subject, msg.data.decode(), flush=True)
    else:
        for _ in range(n):
            await nc.publish(subject, sys.argv[5].encode())
            await nc.flush()
            await asyncio.sleep(0.05)
    await nc.close()


asyncio.run(main())
