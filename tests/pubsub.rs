//! PUB/SUB between actormq sockets over TCP.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use actormq::{Socket, SocketOptions, SocketType};
use common::*;

#[test]
fn three_subscribers_each_get_exactly_their_prefixes() {
    run(20, async {
        let publisher = Socket::new(SocketType::Pub).unwrap();
        let ep = publisher.bind("tcp://127.0.0.1:0").await.unwrap();
        let prefixes = ["weather.1", "weather.", "sport"];
        let mut subs = Vec::new();
        for p in prefixes {
            let s = Socket::new(SocketType::Sub).unwrap();
            s.connect(&ep).await.unwrap();
            s.subscribe(p).await.unwrap();
            subs.push(s);
        }
        for (s, p) in subs.iter().zip(prefixes) {
            sync_subscription(&publisher, s, p).await;
        }
        let topics = [
            "weather.10001",
            "weather.20002",
            "sport.football",
            "news",
            "weather.1",
            "sports",
        ];
        for i in 0..50 {
            for t in topics {
                publisher
                    .send([t.to_string(), format!("{i}")])
                    .await
                    .unwrap();
            }
        }
        for (s, p) in subs.iter().zip(prefixes) {
            let mut got = Vec::new();
            while let Some(m) = recv_within(s, 300).await {
                if m.frames()[1] != "probe" {
                    got.push((text(&m.frames()[0]), text(&m.frames()[1])));
                }
            }
            let expected: Vec<_> = (0..50)
                .flat_map(|i| {
                    topics
                        .iter()
                        .filter(|t| t.starts_with(p))
                        .map(move |t| (t.to_string(), i.to_string()))
                })
                .collect();
            assert_eq!(got, expected, "subscriber to {p:?}");
        }
    });
}

#[test]
fn unsubscribe_stops_delivery_and_late_publishers_get_subscriptions() {
    run(20, async {
        let sub = Socket::new(SocketType::Sub).unwrap();
        let ep = sub.bind("tcp://127.0.0.1:0").await.unwrap();
        sub.subscribe("a").await.unwrap();
        // publishers that connect after the subscription was made still learn it
        let p1 = Socket::new(SocketType::Pub).unwrap();
        p1.connect(&ep).await.unwrap();
        let p2 = Socket::new(SocketType::Pub).unwrap();
        p2.connect(&ep).await.unwrap();
        sync_subscription(&p1, &sub, "a").await;
        sync_subscription(&p2, &sub, "a").await;
        sub.unsubscribe("a").await.unwrap();
        sub.subscribe("b").await.unwrap();
        sync_subscription(&p1, &sub, "b").await;
        sync_subscription(&p2, &sub, "b").await;
        p1.send(["a", "x"]).await.unwrap();
        p2.send(["b", "y"]).await.unwrap();
        let mut got = BTreeSet::new();
        while let Some(m) = recv_within(&sub, 300).await {
            if m.frames()[1] != "probe" {
                got.insert(text(&m.frames()[1]));
            }
        }
        assert_eq!(got, BTreeSet::from(["y".to_string()]));
    });
}

#[test]
fn pub_drops_for_a_subscriber_at_its_high_water_mark() {
    run(30, async {
        let opts = SocketOptions::default().sndhwm(10);
        let publisher = Socket::with_options(SocketType::Pub, opts).unwrap();
        let ep = publisher.bind("tcp://127.0.0.1:0").await.unwrap();
        let sub =
            Socket::with_options(SocketType::Sub, SocketOptions::default().rcvhwm(10)).unwrap();
        sub.connect(&ep).await.unwrap();
        sub.subscribe("").await.unwrap();
        sync_subscription(&publisher, &sub, "t").await;
        // the subscriber does not read while 200k messages of 1 KiB are published: far more than
        // the queues and socket buffers hold, so the publisher must drop, and must not wait.
        let body = vec![7u8; 1024];
        for _ in 0..200_000 {
            publisher
                .send(["t".as_bytes().to_vec(), body.clone()])
                .await
                .unwrap();
        }
        publisher.send(["t", "last"]).await.unwrap();
        let mut n = 0;
        while recv_within(&sub, 500).await.is_some() {
            n += 1;
        }
        assert!(n > 0, "the subscriber got nothing");
        assert!(n < 200_000, "nothing was dropped ({n} delivered)");
    });
}

#[test]
fn sub_cannot_send_and_pub_cannot_subscribe() {
    run(5, async {
        let sub = Socket::new(SocketType::Sub).unwrap();
        let err = sub.send("x").await.unwrap_err();
        assert!(err.to_string().contains("SUB socket"), "{err}");
        let publisher = Socket::new(SocketType::Pub).unwrap();
        let err = publisher.subscribe("x").await.unwrap_err();
        assert!(err.to_string().contains("only SUB and XSUB"), "{err}");
    });
}

#[test]
fn a_pub_counts_what_it_drops_for_a_subscriber_that_does_not_read() {
    run(20, async {
        let publisher =
            Socket::with_options(SocketType::Pub, SocketOptions::default().sndhwm(10)).unwrap();
        publisher.bind("inproc://pub-drops").await.unwrap();
        let sub =
            Socket::with_options(SocketType::Sub, SocketOptions::default().rcvhwm(10)).unwrap();
        sub.connect("inproc://pub-drops").await.unwrap();
        sub.subscribe("").await.unwrap();
        sync_subscription(&publisher, &sub, "").await;
        let before = publisher.undelivered();
        // the subscriber reads nothing while 1000 messages are published
        for i in 0..1000 {
            publisher
                .send(["n".to_string(), i.to_string()])
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut received = 0u64;
        while let Some(m) = recv_within(&sub, 200).await {
            if m.frames()[0] == "n" {
                received += 1;
            }
        }
        let dropped = publisher.undelivered() - before;
        assert!(dropped > 0, "nothing was dropped, {received} received");
        // every message is accounted for: received, or counted as dropped
        assert_eq!(
            received + dropped,
            1000,
            "{received} received, {dropped} dropped"
        );
    });
}

/// With `xpub_nodrop` a publisher waits for its slowest matching subscriber: over tcp and
/// inproc, a reader that stalls gets every message, in order, and nothing is counted dropped;
/// `try_send` says `WouldBlock` while it stalls. A subscriber that does not read but matches
/// nothing holds nobody up.
#[test]
fn nodrop_publisher_waits_for_a_slow_subscriber_and_loses_nothing() {
    for ep in ["tcp://127.0.0.1:0", "inproc://nodrop"] {
        run(60, async move {
            let opts = SocketOptions::default().sndhwm(10).xpub_nodrop(true);
            let publisher = Socket::with_options(SocketType::Pub, opts).unwrap();
            let ep = publisher.bind(ep).await.unwrap();
            let small = SocketOptions::default().rcvhwm(10);
            let slow = Socket::with_options(SocketType::Sub, small.clone()).unwrap();
            let idle = Socket::with_options(SocketType::Sub, small).unwrap();
            for (s, topic) in [(&slow, "n"), (&idle, "x")] {
                s.connect(&ep).await.unwrap();
                s.subscribe(topic).await.unwrap();
                sync_subscription(&publisher, s, topic).await;
            }
            const N: u32 = 20_000;
            let reader = {
                let slow = slow.clone();
                tokio::spawn(async move {
                    let mut next = 0u32;
                    while next < N {
                        let m = slow.recv().await.unwrap();
                        if m.frames()[1] == "probe" {
                            continue;
                        }
                        assert_eq!(text(&m.frames()[1]), next.to_string(), "order");
                        next += 1;
                        if next % 5000 == 0 {
                            // stall for a while: the publisher must wait, not drop
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                    next
                })
            };
            let mut would_block = 0;
            for i in 0..N {
                let msg = ["n".to_string(), i.to_string()];
                match publisher.try_send(msg.clone()) {
                    Ok(()) => {}
                    Err(actormq::Error::WouldBlock(_)) => {
                        would_block += 1;
                        publisher.send(msg).await.unwrap();
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            assert_eq!(reader.await.unwrap(), N);
            assert!(would_block > 0, "the publisher never had to wait");
            assert_eq!(publisher.undelivered(), 0, "nothing may be dropped");
            assert!(recv_within(&idle, 50).await.is_none());
        });
    }
}

/// A SUB that takes its one publisher's messages through the inlet drops what it no longer
/// subscribes to, however much of it waits: what it still wants, queued behind, arrives.
#[test]
fn a_sub_finds_what_it_wants_behind_many_messages_it_dropped() {
    for ep in ["tcp://127.0.0.1:0", "inproc://filtered-inlet"] {
        run(20, async move {
            let publisher = Socket::new(SocketType::Pub).unwrap();
            let ep = publisher.bind(ep).await.unwrap();
            let sub = Socket::new(SocketType::Sub).unwrap();
            sub.connect(&ep).await.unwrap();
            sub.subscribe("a").await.unwrap();
            sub.subscribe("b").await.unwrap();
            sync_subscription(&publisher, &sub, "a").await;
            while recv_within(&sub, 50).await.is_some() {}
            // the subscriber does not read while 500 "b" and then one "a" arrive
            for i in 0..500 {
                publisher
                    .send(["b".to_string(), i.to_string()])
                    .await
                    .unwrap();
            }
            publisher.send(["a", "wanted"]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
            sub.unsubscribe("b").await.unwrap();
            let mut dropped_b = 0;
            loop {
                let m = recv_within(&sub, 3000)
                    .await
                    .expect("the `a` behind the dropped `b`s never came");
                if m.frames()[0] == "a" {
                    assert_eq!(m.frames()[1], "wanted");
                    break;
                }
                dropped_b += 1;
            }
            assert!(dropped_b < 500, "every `b` was delivered after the cancel");
        });
    }
}

/// Under `xpub_nodrop` a publisher held up by a full subscriber goes on when that subscriber
/// leaves, or cancels the subscription that held it up.
#[test]
fn a_nodrop_publisher_goes_on_when_the_full_subscriber_leaves_or_cancels() {
    for leave in [true, false] {
        run(30, async move {
            let opts = SocketOptions::default().sndhwm(10).xpub_nodrop(true);
            let publisher = Socket::with_options(SocketType::Pub, opts).unwrap();
            let ep = publisher.bind("tcp://127.0.0.1:0").await.unwrap();
            let small = SocketOptions::default().rcvhwm(10);
            let stalled = Socket::with_options(SocketType::Sub, small.clone()).unwrap();
            let reader = Socket::with_options(SocketType::Sub, small).unwrap();
            for s in [&stalled, &reader] {
                s.connect(&ep).await.unwrap();
                s.subscribe("t").await.unwrap();
                sync_subscription(&publisher, s, "t").await;
            }
            let counting = reader.clone();
            let got = actix::spawn(async move {
                let mut n = 0u32;
                while let Some(m) = recv_within(&counting, 3000).await {
                    if m.frames()[1] == "last" {
                        return n;
                    }
                    n += 1;
                }
                n
            });
            // publish until the stalled subscriber holds everything up
            let mut blocked = false;
            for _ in 0..1_000_000 {
                if publisher.try_send(["t", "x"]).is_err() {
                    blocked = true;
                    break;
                }
                tokio::task::yield_now().await;
            }
            assert!(
                blocked,
                "the stalled subscriber never held the publisher up"
            );
            if leave {
                stalled.close().await;
            } else {
                stalled.unsubscribe("t").await.unwrap();
            }
            tokio::time::timeout(Duration::from_secs(5), publisher.send(["t", "last"]))
                .await
                .expect("the publisher stayed held up")
                .unwrap();
            assert!(got.await.unwrap() > 0);
        });
    }
}
