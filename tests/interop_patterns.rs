//! Interop with real libzmq (4.3.4) for REQ, REP, DEALER, ROUTER, PAIR, XPUB, XSUB and the
//! devices. Each socket test runs twice: actormq binding, and libzmq binding.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actormq::{Device, Multipart, Socket, SocketOptions, SocketType};
use bytes::Bytes;
use common::*;

const SIDES: [Side; 2] = [Side::WeBind, Side::TheyBind];

/// The endpoint both sides use: bound by us now, or a free port for libzmq to bind.
async fn endpoint(side: Side, ours: &Socket) -> String {
    match side {
        Side::WeBind => ours.bind("tcp://127.0.0.1:0").await.unwrap().to_string(),
        Side::TheyBind => {
            let ep = format!("tcp://127.0.0.1:{}", free_port());
            ours.connect(ep.as_str()).await.unwrap();
            ep
        }
    }
}

fn attach(s: &zmq::Socket, side: Side, ep: &str) {
    match side {
        Side::WeBind => s.connect(ep).unwrap(),
        Side::TheyBind => s.bind(ep).unwrap(),
    }
    s.set_rcvtimeo(10_000).unwrap();
}

fn utf8(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

#[test]
fn req_to_libzmq_rep() {
    for side in SIDES {
        run(30, async move {
            let req = Socket::new(SocketType::Req).unwrap();
            let ep = endpoint(side, &req).await;
            let done = libzmq(move |ctx| {
                let rep = ctx.socket(zmq::REP).unwrap();
                attach(&rep, side, &ep);
                for _ in 0..10 {
                    let q = rep.recv_bytes(0).expect("libzmq REP timed out");
                    rep.send(format!("stop saying: {}", utf8(&q)).as_bytes(), 0)
                        .unwrap();
                }
            });
            for n in 0..10 {
                req.send(format!("message #{n}")).await.unwrap();
                assert_eq!(
                    req.recv().await.unwrap(),
                    Multipart::from(format!("stop saying: message #{n}"))
                );
            }
            done.await.unwrap();
        });
    }
}

#[test]
fn rep_for_libzmq_req() {
    for side in SIDES {
        run(30, async move {
            let rep = Socket::new(SocketType::Rep).unwrap();
            let ep = endpoint(side, &rep).await;
            let done = libzmq(move |ctx| {
                let req = ctx.socket(zmq::REQ).unwrap();
                attach(&req, side, &ep);
                (0..10)
                    .map(|n| {
                        req.send(format!("message #{n}").as_bytes(), 0).unwrap();
                        utf8(&req.recv_bytes(0).expect("libzmq REQ timed out"))
                    })
                    .collect::<Vec<_>>()
            });
            for _ in 0..10 {
                let q = rep.recv().await.unwrap();
                rep.send(format!("stop saying: {}", text(&q.frames()[0])))
                    .await
                    .unwrap();
            }
            let expected: Vec<_> = (0..10)
                .map(|n| format!("stop saying: message #{n}"))
                .collect();
            assert_eq!(done.await.unwrap(), expected);
        });
    }
}

#[test]
fn dealer_with_identity_to_libzmq_router() {
    for side in SIDES {
        run(30, async move {
            let opts = SocketOptions::default().routing_id(Bytes::from("ours"));
            let dealer = Socket::with_options(SocketType::Dealer, opts).unwrap();
            let ep = endpoint(side, &dealer).await;
            let seen_id = libzmq(move |ctx| {
                let router = ctx.socket(zmq::ROUTER).unwrap();
                attach(&router, side, &ep);
                let m = router.recv_multipart(0).expect("libzmq ROUTER timed out");
                router
                    .send_multipart([m[0].clone(), b"welcome".to_vec(), m[1].clone()], 0)
                    .unwrap();
                std::thread::sleep(Duration::from_millis(200));
                utf8(&m[0])
            });
            dealer.send(["hello", "x"]).await.unwrap();
            assert_eq!(
                dealer.recv().await.unwrap(),
                Multipart::from(["welcome", "hello"])
            );
            assert_eq!(
                seen_id.await.unwrap(),
                "ours",
                "libzmq ROUTER must see our Identity"
            );
        });
    }
}

#[test]
fn router_for_libzmq_dealer_and_req() {
    for side in SIDES {
        run(30, async move {
            let router = Socket::new(SocketType::Router).unwrap();
            let ep = endpoint(side, &router).await;
            let ep2 = ep.clone();
            let dealer_reply = libzmq(move |ctx| {
                let dealer = ctx.socket(zmq::DEALER).unwrap();
                dealer.set_identity(b"theirs").unwrap();
                attach(&dealer, side, &ep);
                dealer.send("from dealer", 0).unwrap();
                dealer.recv_multipart(0).expect("libzmq DEALER timed out")
            });
            let m = router.recv().await.unwrap();
            assert_eq!(m, Multipart::from(["theirs", "from dealer"]));
            router.send(["theirs", "to dealer"]).await.unwrap();
            assert_eq!(dealer_reply.await.unwrap(), vec![b"to dealer".to_vec()]);

            if let Side::WeBind = side {
                // a libzmq REQ: its request arrives as [id, "", body]
                let req_reply = libzmq(move |ctx| {
                    let req = ctx.socket(zmq::REQ).unwrap();
                    attach(&req, Side::WeBind, &ep2);
                    req.send("question", 0).unwrap();
                    utf8(&req.recv_bytes(0).expect("libzmq REQ timed out"))
                });
                let m = router.recv().await.unwrap();
                assert_eq!(m.len(), 3);
                assert!(m.frames()[1].is_empty());
                assert_eq!(m.frames()[2], "question");
                router
                    .send([m.frames()[0].clone(), Bytes::new(), Bytes::from("answer")])
                    .await
                    .unwrap();
                assert_eq!(req_reply.await.unwrap(), "answer");
            }
        });
    }
}

#[test]
fn pair_with_libzmq_pair() {
    for side in SIDES {
        run(30, async move {
            let pair = Socket::new(SocketType::Pair).unwrap();
            let ep = endpoint(side, &pair).await;
            let done = libzmq(move |ctx| {
                let p = ctx.socket(zmq::PAIR).unwrap();
                attach(&p, side, &ep);
                let m = p.recv_multipart(0).expect("libzmq PAIR timed out");
                p.send_multipart([b"pong".to_vec(), m[0].clone()], 0)
                    .unwrap();
                std::thread::sleep(Duration::from_millis(200));
            });
            pair.send("ping").await.unwrap();
            assert_eq!(
                pair.recv().await.unwrap(),
                Multipart::from(["pong", "ping"])
            );
            done.await.unwrap();
        });
    }
}

#[test]
fn xpub_sees_libzmq_sub_subscriptions() {
    for side in SIDES {
        run(30, async move {
            let xpub = Socket::new(SocketType::XPub).unwrap();
            let ep = endpoint(side, &xpub).await;
            let got = libzmq(move |ctx| {
                let sub = ctx.socket(zmq::SUB).unwrap();
                attach(&sub, side, &ep);
                sub.set_subscribe(b"x").unwrap();
                sub.recv_multipart(0).expect("libzmq SUB timed out")
            });
            assert_eq!(
                xpub.recv().await.unwrap(),
                Multipart::from(b"\x01x".to_vec())
            );
            xpub.send(["y", "not for it"]).await.unwrap();
            xpub.send(["x1", "data"]).await.unwrap();
            assert_eq!(got.await.unwrap(), vec![b"x1".to_vec(), b"data".to_vec()]);
        });
    }
}

#[test]
fn sub_subscription_reaches_libzmq_xpub() {
    for side in SIDES {
        run(30, async move {
            let sub = Socket::new(SocketType::Sub).unwrap();
            let ep = endpoint(side, &sub).await;
            sub.subscribe("w").await.unwrap();
            let seen = libzmq(move |ctx| {
                let xpub = ctx.socket(zmq::XPUB).unwrap();
                attach(&xpub, side, &ep);
                let subscription = xpub.recv_bytes(0).expect("libzmq XPUB timed out");
                xpub.send_multipart(["w1", "data"], 0).unwrap();
                std::thread::sleep(Duration::from_millis(200));
                subscription
            });
            assert_eq!(sub.recv().await.unwrap(), Multipart::from(["w1", "data"]));
            assert_eq!(seen.await.unwrap(), b"\x01w".to_vec());
        });
    }
}

#[test]
fn xsub_with_libzmq_pub() {
    for side in SIDES {
        run(30, async move {
            let xsub = Socket::new(SocketType::XSub).unwrap();
            let ep = endpoint(side, &xsub).await;
            xsub.send(b"\x01w".to_vec()).await.unwrap();
            let synced = Arc::new(AtomicBool::new(false));
            let flag = synced.clone();
            let done = libzmq(move |ctx| {
                let publisher = ctx.socket(zmq::PUB).unwrap();
                attach(&publisher, side, &ep);
                while !flag.load(Ordering::Acquire) {
                    publisher.send_multipart(["w", "probe"], 0).unwrap();
                    std::thread::sleep(Duration::from_millis(20));
                }
                publisher.send_multipart(["z", "filtered"], 0).unwrap();
                publisher.send_multipart(["w", "data"], 0).unwrap();
                std::thread::sleep(Duration::from_millis(300));
            });
            loop {
                let m = xsub.recv().await.unwrap();
                if m.frames()[1] == "probe" {
                    synced.store(true, Ordering::Release);
                    continue;
                }
                assert_eq!(m, Multipart::from(["w", "data"]));
                break;
            }
            done.await.unwrap();
        });
    }
}

#[test]
fn pub_applies_libzmq_xsub_subscriptions() {
    for side in SIDES {
        run(30, async move {
            let publisher = Socket::new(SocketType::Pub).unwrap();
            let ep = endpoint(side, &publisher).await;
            let synced = Arc::new(AtomicBool::new(false));
            let flag = synced.clone();
            let got = libzmq(move |ctx| {
                let xsub = ctx.socket(zmq::XSUB).unwrap();
                attach(&xsub, side, &ep);
                xsub.send(b"\x01w".as_slice(), 0).unwrap();
                loop {
                    let m = xsub.recv_multipart(0).expect("libzmq XSUB timed out");
                    if m[1] == b"probe" {
                        flag.store(true, Ordering::Release);
                        continue;
                    }
                    return m;
                }
            });
            while !synced.load(Ordering::Acquire) {
                publisher.send(["w", "probe"]).await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            publisher.send(["z", "filtered"]).await.unwrap();
            publisher.send(["w", "data"]).await.unwrap();
            assert_eq!(got.await.unwrap(), vec![b"w".to_vec(), b"data".to_vec()]);
        });
    }
}

#[test]
fn queue_device_between_libzmq_clients_and_workers() {
    run(40, async {
        let (_broker, front, back) = Device::Queue
            .start("tcp://127.0.0.1:0", "tcp://127.0.0.1:0")
            .await
            .unwrap();
        let mut workers = Vec::new();
        for w in 0..2 {
            let back = back.to_string();
            workers.push(libzmq(move |ctx| {
                let rep = ctx.socket(zmq::REP).unwrap();
                rep.connect(&back).unwrap();
                rep.set_rcvtimeo(1500).unwrap();
                let mut served = 0;
                while let Ok(q) = rep.recv_bytes(0) {
                    std::thread::sleep(Duration::from_millis(2));
                    rep.send_multipart([q, format!("worker {w}").into_bytes()], 0)
                        .unwrap();
                    served += 1;
                }
                served
            }));
        }
        let mut clients = Vec::new();
        for c in 0..3 {
            let front = front.to_string();
            clients.push(libzmq(move |ctx| {
                let req = ctx.socket(zmq::REQ).unwrap();
                req.connect(&front).unwrap();
                req.set_rcvtimeo(10_000).unwrap();
                for i in 0..10 {
                    let q = format!("client {c} request {i}");
                    req.send(q.as_bytes(), 0).unwrap();
                    let reply = req.recv_multipart(0).expect("libzmq client got no reply");
                    assert_eq!(utf8(&reply[0]), q, "a reply reached the wrong client");
                }
            }));
        }
        for c in clients {
            c.await.expect("a libzmq client failed");
        }
        let mut served = Vec::new();
        for w in workers {
            served.push(w.await.unwrap());
        }
        assert_eq!(served.iter().sum::<i32>(), 30);
        assert!(
            served.iter().all(|&n| n > 0),
            "both workers serve: {served:?}"
        );
    });
}

#[test]
fn forwarder_and_streamer_devices_between_libzmq_peers() {
    run(40, async {
        let (_fwd, front, back) = Device::Forwarder
            .start("tcp://127.0.0.1:0", "tcp://127.0.0.1:0")
            .await
            .unwrap();
        let synced = Arc::new(AtomicBool::new(false));
        let flag = synced.clone();
        let front_ep = front.to_string();
        let publisher = libzmq(move |ctx| {
            let publisher = ctx.socket(zmq::PUB).unwrap();
            publisher.connect(&front_ep).unwrap();
            while !flag.load(Ordering::Acquire) {
                publisher.send_multipart(["w", "probe"], 0).unwrap();
                std::thread::sleep(Duration::from_millis(20));
            }
            for i in 0..10 {
                publisher
                    .send_multipart([b"w".to_vec(), i.to_string().into_bytes()], 0)
                    .unwrap();
                publisher.send_multipart(["other", "filtered"], 0).unwrap();
            }
            publisher.send_multipart(["w", "END"], 0).unwrap();
            std::thread::sleep(Duration::from_millis(300));
        });
        let back_ep = back.to_string();
        let flag = synced.clone();
        let subscriber = libzmq(move |ctx| {
            let sub = ctx.socket(zmq::SUB).unwrap();
            sub.connect(&back_ep).unwrap();
            sub.set_subscribe(b"w").unwrap();
            sub.set_rcvtimeo(10_000).unwrap();
            let mut got = Vec::new();
            loop {
                let m = sub.recv_multipart(0).expect("libzmq SUB timed out");
                match &m[1][..] {
                    b"probe" => flag.store(true, Ordering::Release),
                    b"END" => return got,
                    body => got.push(utf8(body)),
                }
            }
        });
        let got = subscriber.await.unwrap();
        publisher.await.unwrap();
        assert_eq!(got, (0..10).map(|i| i.to_string()).collect::<Vec<_>>());

        let (_streamer, front, back) = Device::Streamer
            .start("tcp://127.0.0.1:0", "tcp://127.0.0.1:0")
            .await
            .unwrap();
        let front_ep = front.to_string();
        let producer = libzmq(move |ctx| {
            let push = ctx.socket(zmq::PUSH).unwrap();
            push.connect(&front_ep).unwrap();
            for i in 0..100 {
                push.send(i.to_string().as_bytes(), 0).unwrap();
            }
            std::thread::sleep(Duration::from_millis(500));
        });
        let back_ep = back.to_string();
        let consumer = libzmq(move |ctx| {
            let pull = ctx.socket(zmq::PULL).unwrap();
            pull.connect(&back_ep).unwrap();
            pull.set_rcvtimeo(10_000).unwrap();
            (0..100)
                .map(|_| utf8(&pull.recv_bytes(0).expect("libzmq PULL timed out")))
                .collect::<BTreeSet<_>>()
        });
        assert_eq!(consumer.await.unwrap().len(), 100);
        producer.await.unwrap();
    });
}
