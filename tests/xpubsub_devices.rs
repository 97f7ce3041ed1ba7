//! XPUB/XSUB, the feed relay, the forwarder device, and steering and capture of a proxy.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use actormq::proxy::{Pause, Resume, Statistics, Terminate};
use actormq::{Device, Multipart, Proxy, Socket, SocketOptions, SocketType};
use common::*;

fn sub_msg(topic: &str) -> Multipart {
    let mut v = vec![1u8];
    v.extend_from_slice(topic.as_bytes());
    Multipart::from(v)
}

fn cancel_msg(topic: &str) -> Multipart {
    let mut v = vec![0u8];
    v.extend_from_slice(topic.as_bytes());
    Multipart::from(v)
}

#[test]
fn xpub_shows_first_subscriptions_and_last_cancels() {
    run(20, async {
        let xpub = Socket::new(SocketType::XPub).unwrap();
        let ep = xpub.bind("tcp://127.0.0.1:0").await.unwrap();
        let s1 = Socket::new(SocketType::Sub).unwrap();
        s1.connect(&ep).await.unwrap();
        s1.subscribe("news").await.unwrap();
        assert_eq!(xpub.recv().await.unwrap(), sub_msg("news"));
        let s2 = Socket::new(SocketType::Sub).unwrap();
        s2.connect(&ep).await.unwrap();
        s2.subscribe("news").await.unwrap();
        s2.subscribe("sport").await.unwrap();
        // the second "news" is not news to the application
        assert_eq!(xpub.recv().await.unwrap(), sub_msg("sport"));
        s1.unsubscribe("news").await.unwrap();
        assert!(
            recv_within(&xpub, 200).await.is_none(),
            "s2 still holds news"
        );
        // the last holder of both topics goes away: the application hears both cancels
        s2.close().await;
        let mut cancels = BTreeSet::new();
        cancels.insert(xpub.recv().await.unwrap());
        cancels.insert(xpub.recv().await.unwrap());
        assert_eq!(
            cancels,
            BTreeSet::from([cancel_msg("news"), cancel_msg("sport")])
        );
    });
}

#[test]
fn xpub_verbose_shows_every_subscription() {
    run(20, async {
        let opts = SocketOptions::default().xpub_verbose(true);
        let xpub = Socket::with_options(SocketType::XPub, opts).unwrap();
        let ep = xpub.bind("tcp://127.0.0.1:0").await.unwrap();
        for _ in 0..2 {
            let s = Socket::new(SocketType::Sub).unwrap();
            s.connect(&ep).await.unwrap();
            s.subscribe("t").await.unwrap();
            assert_eq!(xpub.recv().await.unwrap(), sub_msg("t"));
            std::mem::forget(s);
        }
    });
}

/// An XPUB applies subscriptions as they arrive, whether or not its application reads their
/// notices: with 100 of them unread (more than the socket's ready queue holds), a later
/// subscriber still receives what the XPUB publishes.
#[test]
fn xpub_applies_subscriptions_while_its_application_does_not_read() {
    run(20, async {
        let xpub = Socket::new(SocketType::XPub).unwrap();
        let ep = xpub.bind("tcp://127.0.0.1:0").await.unwrap();
        let s1 = Socket::new(SocketType::Sub).unwrap();
        s1.connect(&ep).await.unwrap();
        for i in 0..100 {
            s1.subscribe(format!("t{i:03}")).await.unwrap();
        }
        sync_subscription(&xpub, &s1, "t099").await;
        let s2 = Socket::new(SocketType::Sub).unwrap();
        s2.connect(&ep).await.unwrap();
        s2.subscribe("news").await.unwrap();
        sync_subscription(&xpub, &s2, "news").await;
        // the notices were kept, in order, for when the application reads
        for i in 0..100 {
            assert_eq!(xpub.recv().await.unwrap(), sub_msg(&format!("t{i:03}")));
        }
        assert_eq!(xpub.recv().await.unwrap(), sub_msg("news"));
    });
}

/// What an XPUB application does not read is bounded: the ready queue (64) plus `rcvhwm`
/// notices wait, in order; later ones are dropped, while their subscriptions still apply.
#[test]
fn unread_xpub_notices_are_bounded_by_rcvhwm() {
    run(20, async {
        let opts = SocketOptions::default().rcvhwm(10);
        let xpub = Socket::with_options(SocketType::XPub, opts).unwrap();
        let ep = xpub.bind("tcp://127.0.0.1:0").await.unwrap();
        let s1 = Socket::new(SocketType::Sub).unwrap();
        s1.connect(&ep).await.unwrap();
        for i in 0..200 {
            s1.subscribe(format!("t{i:03}")).await.unwrap();
        }
        sync_subscription(&xpub, &s1, "t199").await;
        let mut got = 0;
        while let Some(m) = recv_within(&xpub, 300).await {
            assert_eq!(m, sub_msg(&format!("t{got:03}")));
            got += 1;
        }
        assert!((64..=64 + 10).contains(&got), "{got} notices kept");
        // the rest are counted, not silently gone
        assert_eq!(got + xpub.dropped_unread(), 200);
        assert_eq!(s1.dropped_unread(), 0);
    });
}

#[test]
fn xsub_subscribes_by_sending_messages() {
    run(20, async {
        let publisher = Socket::new(SocketType::Pub).unwrap();
        let ep = publisher.bind("tcp://127.0.0.1:0").await.unwrap();
        let xsub = Socket::new(SocketType::XSub).unwrap();
        xsub.connect(&ep).await.unwrap();
        xsub.send(sub_msg("w")).await.unwrap();
        sync_subscription(&publisher, &xsub, "w").await;
        publisher.send(["x", "not subscribed"]).await.unwrap();
        publisher.send(["w", "subscribed"]).await.unwrap();
        let m = xsub.recv().await.unwrap();
        assert_eq!(m, Multipart::from(["w", "subscribed"]));
        xsub.send(cancel_msg("w")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        publisher.send(["w", "after cancel"]).await.unwrap();
        assert!(recv_within(&xsub, 200).await.is_none());
    });
}

#[test]
fn feed_relay_republishes_two_publishers() {
    run(20, async {
        // two upstream publishers
        let up1 = Socket::new(SocketType::Pub).unwrap();
        let ep1 = up1.bind("tcp://127.0.0.1:0").await.unwrap();
        let up2 = Socket::new(SocketType::Pub).unwrap();
        let ep2 = up2.bind("tcp://127.0.0.1:0").await.unwrap();
        // the relay: one SUB fed by both, republishing on its own PUB
        let relay_in = Socket::new(SocketType::Sub).unwrap();
        relay_in.connect(&ep1).await.unwrap();
        relay_in.connect(&ep2).await.unwrap();
        relay_in.subscribe("").await.unwrap();
        let relay_out = Socket::new(SocketType::Pub).unwrap();
        let relay_ep = relay_out.bind("tcp://127.0.0.1:0").await.unwrap();
        let pump_in = relay_in.clone();
        let pump_out = relay_out.clone();
        actix::spawn(async move {
            while let Ok(m) = pump_in.recv().await {
                pump_out.send(m).await.unwrap();
            }
        });
        let client = Socket::new(SocketType::Sub).unwrap();
        client.connect(&relay_ep).await.unwrap();
        client.subscribe("feed").await.unwrap();
        // probes through the whole chain until both publishers reach the client
        let mut reached = BTreeSet::new();
        while reached.len() < 2 {
            up1.send(["feed", "probe", "1"]).await.unwrap();
            up2.send(["feed", "probe", "2"]).await.unwrap();
            if let Some(m) = recv_within(&client, 30).await {
                reached.insert(text(&m.frames()[2]));
            }
        }
        for i in 0..20 {
            up1.send(["feed".to_string(), format!("one {i}")])
                .await
                .unwrap();
            up2.send(["feed".to_string(), format!("two {i}")])
                .await
                .unwrap();
            up1.send(["other", "filtered"]).await.unwrap();
        }
        let mut got = BTreeSet::new();
        while let Some(m) = recv_within(&client, 300).await {
            if m.frames()[1] != "probe" {
                assert_eq!(m.frames()[0], "feed");
                got.insert(text(&m.frames()[1]));
            }
        }
        assert_eq!(got.len(), 40, "{got:?}");
    });
}

#[test]
fn forwarder_carries_subscriptions_upstream_and_messages_down() {
    run(30, async {
        let (_fwd, front, back) = Device::Forwarder
            .start("tcp://127.0.0.1:0", "tcp://127.0.0.1:0")
            .await
            .unwrap();
        let mut publishers = Vec::new();
        for _ in 0..2 {
            let p = Socket::new(SocketType::Pub).unwrap();
            p.connect(&front).await.unwrap();
            publishers.push(p);
        }
        let mut subs = Vec::new();
        for prefix in ["weather", "sport"] {
            let s = Socket::new(SocketType::Sub).unwrap();
            s.connect(&back).await.unwrap();
            s.subscribe(prefix).await.unwrap();
            subs.push((prefix, s));
        }
        // every publisher must have learned every subscription through the forwarder
        for p in &publishers {
            for (prefix, s) in &subs {
                sync_subscription(p, s, prefix).await;
            }
        }
        for (i, p) in publishers.iter().enumerate() {
            for topic in ["weather.nyc", "sport.chess", "news"] {
                p.send([topic.to_string(), format!("from {i}")])
                    .await
                    .unwrap();
            }
        }
        for (prefix, s) in &subs {
            let mut got = BTreeSet::new();
            while let Some(m) = recv_within(s, 300).await {
                if m.frames()[1] != "probe" {
                    got.insert((text(&m.frames()[0]), text(&m.frames()[1])));
                }
            }
            let expected: BTreeSet<_> = (0..2)
                .map(|i| {
                    (
                        format!(
                            "{prefix}{}",
                            if *prefix == "weather" {
                                ".nyc"
                            } else {
                                ".chess"
                            }
                        ),
                        format!("from {i}"),
                    )
                })
                .collect();
            assert_eq!(got, expected, "subscriber to {prefix}");
        }
    });
}

#[test]
fn a_proxy_pauses_resumes_captures_counts_and_terminates() {
    run(20, async {
        let front = Socket::new(SocketType::Pull).unwrap();
        let front_ep = front.bind("tcp://127.0.0.1:0").await.unwrap();
        let back = Socket::new(SocketType::Push).unwrap();
        let back_ep = back.bind("tcp://127.0.0.1:0").await.unwrap();
        let capture = Socket::new(SocketType::Push).unwrap();
        let capture_ep = capture.bind("tcp://127.0.0.1:0").await.unwrap();
        let tap = Socket::new(SocketType::Pull).unwrap();
        tap.connect(&capture_ep).await.unwrap();
        let proxy = Proxy::start(front, back, Some(capture));
        let producer = Socket::new(SocketType::Push).unwrap();
        producer.connect(&front_ep).await.unwrap();
        let consumer = Socket::new(SocketType::Pull).unwrap();
        consumer.connect(&back_ep).await.unwrap();

        producer.send("one").await.unwrap();
        assert_eq!(consumer.recv().await.unwrap(), Multipart::from("one"));
        assert_eq!(tap.recv().await.unwrap(), Multipart::from("one"));

        proxy.send(Pause).await.unwrap();
        producer.send("two").await.unwrap();
        assert!(
            recv_within(&consumer, 300).await.is_none(),
            "a paused proxy forwarded"
        );
        proxy.send(Resume).await.unwrap();
        assert_eq!(consumer.recv().await.unwrap(), Multipart::from("two"));

        let stats = proxy.send(Statistics).await.unwrap();
        assert_eq!(stats.frontend.messages, 2);
        assert_eq!(stats.frontend.bytes, 6);
        assert_eq!(stats.backend.messages, 0);

        proxy.send(Terminate).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!proxy.connected(), "the proxy actor is still running");
        producer.send("three").await.unwrap();
        assert!(
            recv_within(&consumer, 300).await.is_none(),
            "a terminated proxy forwarded"
        );
    });
}

#[test]
fn the_one_call_proxy_runs_until_a_socket_closes() {
    run(20, async {
        let front = Socket::new(SocketType::Pull).unwrap();
        let back = Socket::new(SocketType::Push).unwrap();
        let closer = front.clone();
        let running = actix::spawn(actormq::proxy(front, back, None));
        tokio::time::sleep(Duration::from_millis(50)).await;
        closer.close().await;
        running.await.unwrap().unwrap_err();
    });
}
