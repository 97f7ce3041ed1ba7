"""A nats-py peer of the tests, as any Python service would be.

    python3 nats_peer.py PORT sub SUBJECT N         prints READY, then N messages as "subject data"
    python3 nats_peer.py PORT pub SUBJECT N DATA    publishes N messages, 50 ms apart
    python3 nats_peer.py PORT reply SUBJECT N       a replier in the queue group SUBJECT: prints
                                                    READY, answers N requests with the data
                                                    upper-cased, printing each request
    python3 nats_peer.py PORT request SUBJECT N DATA  sends N requests "DATA i", prints each reply
    python3 nats_peer.py PORT jspub SUBJECT N DATA  publishes "DATA i" to JetStream N times,
                                                    waiting for each acknowledgement
    python3 nats_peer.py PORT ackpending STREAM GROUP  prints the consumer's unacknowledged count
"""
import asyncio
import sys

import nats


async def main():
    nc = await nats.connect(f"nats://127.0.0.1:{sys.argv[1]}")
    mode, subject = sys.argv[2], sys.argv[3]
    if mode == "ackpending":
        info = await nc.jetstream().consumer_info(subject, sys.argv[4])
        print(info.num_ack_pending, flush=True)
        await nc.close()
        return
    n = int(sys.argv[4])
    if mode == "jspub":
        js = nc.jetstream()
        for i in range(n):
            await js.publish(subject, f"{sys.argv[5]} {i}".encode())
    elif mode == "sub":
        sub = await nc.subscribe(subject)
        await nc.flush()
        print("READY", flush=True)
        for _ in range(n):
            msg = await sub.next_msg(timeout=20)
            print(msg.subject, msg.data.decode(), flush=True)
    elif mode == "pub":
        for _ in range(n):
            await nc.publish(subject, sys.argv[5].encode())
            await nc.flush()
            await asyncio.sleep(0.05)
    elif mode == "reply":
        sub = await nc.subscribe(subject, queue=subject)
        await nc.flush()
        print("READY", flush=True)
        for _ in range(n):
            msg = await sub.next_msg(timeout=20)
            print(msg.data.decode(), flush=True)
            await msg.respond(msg.data.upper())
        await nc.flush()
    else:
        for i in range(n):
            reply = await nc.request(subject, f"{sys.argv[5]} {i}".encode(), timeout=20)
            print(reply.data.decode(), flush=True)
    await nc.close()


asyncio.run(main())
