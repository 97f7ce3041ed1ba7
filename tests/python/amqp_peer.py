"""A pika peer of the tests, as any Python service talking to RabbitMQ would be.

    python3 amqp_peer.py PORT sub EXCHANGE BINDING N   prints READY, then N messages as "key body"
    python3 amqp_peer.py PORT pub EXCHANGE KEY N DATA  publishes N messages, 50 ms apart
    python3 amqp_peer.py PORT reply QUEUE N            prints READY; answers N requests with the
                                                       body upper-cased, printing each request
    python3 amqp_peer.py PORT request QUEUE N DATA     sends N requests "DATA i" through direct
                                                       reply-to, printing each reply
    python3 amqp_peer.py PORT ready QUEUE              prints how many messages wait in QUEUE
                                                       (not those delivered and unacknowledged)
"""
import sys
import time

import pika

conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", int(sys.argv[1])))
ch = conn.channel()
mode = sys.argv[2]
if mode == "sub":
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, sys.argv[3], routing_key=sys.argv[4])
    print("READY", flush=True)
    got = 0
    for method, props, body in ch.consume(q, auto_ack=True, inactivity_timeout=20):
        if method is None:
            sys.exit("no message within 20 s")
        print(method.routing_key, body.decode(), flush=True)
        got += 1
        if got == int(sys.argv[5]):
            break
elif mode == "pub":
    for _ in range(int(sys.argv[5])):
        ch.basic_publish(sys.argv[3], sys.argv[4], sys.argv[6].encode())
        time.sleep(0.05)
elif mode == "ready":
    print(ch.queue_declare(sys.argv[3], durable=True, passive=True).method.message_count)
elif mode == "reply":
    ch.queue_declare(sys.argv[3], durable=True)
    print("READY", flush=True)
    got = 0
    for method, props, body in ch.consume(sys.argv[3], inactivity_timeout=20):
        if method is None:
            sys.exit("no request within 20 s")
        print(body.decode(), flush=True)
        ch.basic_publish(
            "",
            props.reply_to,
            body.upper(),
            pika.BasicProperties(correlation_id=props.correlation_id),
        )
        ch.basic_ack(method.delivery_tag)
        got += 1
        if got == int(sys.argv[4]):
            break
else:
    replies = []
    ch.basic_consume(
        "amq.rabbitmq.reply-to",
        lambda c, m, p, body: replies.append(body.decode()),
        auto_ack=True,
    )
    for i in range(int(sys.argv[4])):
        ch.basic_publish(
            "",
            sys.argv[3],
            f"{sys.argv[5]} {i}".encode(),
            pika.BasicProperties(reply_to="amq.rabbitmq.reply-to", correlation_id=str(i)),
        )
        deadline = time.time() + 20
        while len(replies) <= i:
            if time.time() > deadline:
                sys.exit("no reply within 20 s")
            conn.process_data_events(time_limit=0.1)
        print(replies[i], flush=True)
conn.close()
