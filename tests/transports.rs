//! Every pattern over every transport that supports it, and what each transport promises:
//! ipc files and errors, inproc without encoding, udp datagrams.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use actormq::{Multipart, Socket, SocketEvent, SocketType};
use bytes::Bytes;
use common::*;

static N: AtomicU32 = AtomicU32::new(0);

/// A fresh endpoint of a transport, for the side that binds.
fn endpoint(scheme: &str) -> String {
    let n = N.fetch_add(1, Ordering::Relaxed);
    match scheme {
        "tcp" => "tcp://127.0.0.1:0".to_string(),
        "ipc" => format!("ipc:///tmp/actormq-test-{}-{n}.ipc", std::process::id()),
        "inproc" => format!("inproc://matrix-{n}"),
        other => unreachable!("{other}"),
    }
}

/// Binds `a`, connects `b`, and checks one exchange of the pattern pair.
async fn exercise(a_type: SocketType, b_type: SocketType, scheme: &str) {
    let a = Socket::new(a_type).unwrap();
    let ep = a.bind(endpoint(scheme).as_str()).await.unwrap();
    let b = Socket::new(b_type).unwrap();
    let mut monitor = b.monitor();
    b.connect(&ep).await.unwrap();
    handshakes(&mut monitor, 1).await;
    let what = format!("{a_type}/{b_type} over {scheme}");
    use SocketType::*;
    match (a_type, b_type) {
        (Push, Pull) | (Pair, Pair) => {
            a.send(["hello", "there"]).await.unwrap();
            assert_eq!(
                b.recv().await.unwrap(),
                Multipart::from(["hello", "there"]),
                "{what}"
            );
        }
        (Pull, Push) => {
            b.send("up").await.unwrap();
            assert_eq!(a.recv().await.unwrap(), Multipart::from("up"), "{what}");
        }
        (Pub, Sub) | (XPub, Sub) => {
            b.subscribe("t").await.unwrap();
            if a_type == XPub {
                assert_eq!(
                    a.recv().await.unwrap(),
                    Multipart::from(b"\x01t".to_vec()),
                    "{what}"
                );
            }
            sync_subscription(&a, &b, "t").await;
            a.send(["u", "filtered"]).await.unwrap();
            a.send(["t", "data"]).await.unwrap();
            loop {
                let m = b.recv().await.unwrap();
                if m.frames()[1] != "probe" {
                    assert_eq!(m, Multipart::from(["t", "data"]), "{what}");
                    break;
                }
            }
        }
        (Pub, XSub) => {
            b.send(b"\x01t".to_vec()).await.unwrap();
            sync_subscription(&a, &b, "t").await;
        }
        (Rep, Req) => {
            b.send("question").await.unwrap();
            assert_eq!(
                a.recv().await.unwrap(),
                Multipart::from("question"),
                "{what}"
            );
            a.send("answer").await.unwrap();
            assert_eq!(b.recv().await.unwrap(), Multipart::from("answer"), "{what}");
        }
        (Router, Dealer) => {
            b.send("hi").await.unwrap();
            let m = a.recv().await.unwrap();
            assert_eq!(m.frames()[1], "hi", "{what}");
            a.send([m.frames()[0].clone(), Bytes::from("back")])
                .await
                .unwrap();
            assert_eq!(b.recv().await.unwrap(), Multipart::from("back"), "{what}");
        }
        (Router, Req) => {
            b.send("q").await.unwrap();
            let m = a.recv().await.unwrap();
            a.send([m.frames()[0].clone(), Bytes::new(), Bytes::from("a")])
                .await
                .unwrap();
            assert_eq!(b.recv().await.unwrap(), Multipart::from("a"), "{what}");
        }
        (Dealer, Rep) => {
            a.send(["", "q"]).await.unwrap();
            assert_eq!(b.recv().await.unwrap(), Multipart::from("q"), "{what}");
            b.send("a").await.unwrap();
            assert_eq!(
                a.recv().await.unwrap(),
                Multipart::from(["", "a"]),
                "{what}"
            );
        }
        (Dealer, Dealer) | (Router, Router) => {}
        other => unreachable!("{other:?}"),
    }
}

const PAIRS: [(SocketType, SocketType); 11] = [
    (SocketType::Push, SocketType::Pull),
    (SocketType::Pull, SocketType::Push),
    (SocketType::Pub, SocketType::Sub),
    (SocketType::XPub, SocketType::Sub),
    (SocketType::Pub, SocketType::XSub),
    (SocketType::Rep, SocketType::Req),
    (SocketType::Router, SocketType::Dealer),
    (SocketType::Router, SocketType::Req),
    (SocketType::Dealer, SocketType::Rep),
    (SocketType::Pair, SocketType::Pair),
    (SocketType::Dealer, SocketType::Dealer),
];

#[test]
fn every_pattern_over_tcp_ipc_and_inproc() {
    run(60, async {
        for scheme in ["tcp", "ipc", "inproc"] {
            for (a, b) in PAIRS {
                exercise(a, b, scheme).await;
            }
        }
    });
}

#[test]
fn incompatible_types_are_refused_over_inproc_too() {
    run(10, async {
        let a = Socket::new(SocketType::Pub).unwrap();
        let mut ours = a.monitor();
        a.bind("inproc://wrong-pair").await.unwrap();
        let b = Socket::new(SocketType::Pull).unwrap();
        let mut theirs = b.monitor();
        b.connect("inproc://wrong-pair").await.unwrap();
        let r = disconnect_reason(&mut ours).await;
        assert!(r.contains("we are PUB, the peer is PULL"), "{r}");
        let r = disconnect_reason(&mut theirs).await;
        assert!(r.contains("PUB") && r.contains("PULL"), "{r}");
    });
}

#[test]
fn ipc_replaces_a_stale_file_refuses_a_live_one_and_cleans_up() {
    run(10, async {
        let path = format!("/tmp/actormq-stale-{}.ipc", std::process::id());
        let ep = format!("ipc://{path}");
        // a socket file left behind by a dead process: bound and dropped, never removed
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(std::path::Path::new(&path).exists());
        let pull = Socket::new(SocketType::Pull).unwrap();
        pull.bind(ep.as_str())
            .await
            .expect("a stale file must be replaced");
        // a live one is not taken over
        let other = Socket::new(SocketType::Pull).unwrap();
        let err = other.bind(ep.as_str()).await.unwrap_err().to_string();
        assert!(err.contains("address in use") && err.contains(&ep), "{err}");
        // it still works, and the file goes when the socket closes
        let push = Socket::new(SocketType::Push).unwrap();
        push.connect(ep.as_str()).await.unwrap();
        push.send("x").await.unwrap();
        assert_eq!(pull.recv().await.unwrap(), Multipart::from("x"));
        pull.close().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !std::path::Path::new(&path).exists(),
            "the socket file outlived its socket"
        );
        // too long for a Unix socket address
        let long = format!("ipc:///tmp/{}", "x".repeat(200));
        let err = other.bind(long.as_str()).await.unwrap_err().to_string();
        assert!(err.contains("at most 107"), "{err}");
    });
}

#[test]
fn ipc_with_libzmq_both_ways() {
    for we_bind in [true, false] {
        run(20, async move {
            let ep = format!(
                "ipc:///tmp/actormq-zmq-{}-{we_bind}.ipc",
                std::process::id()
            );
            let pull = Socket::new(SocketType::Pull).unwrap();
            if we_bind {
                pull.bind(ep.as_str()).await.unwrap();
            } else {
                pull.connect(ep.as_str()).await.unwrap();
            }
            let their_ep = ep.clone();
            let done = libzmq(move |ctx| {
                let push = ctx.socket(zmq::PUSH).unwrap();
                if we_bind {
                    push.connect(&their_ep).unwrap();
                } else {
                    push.bind(&their_ep).unwrap();
                }
                for i in 0..100 {
                    push.send_multipart([b"n".to_vec(), i.to_string().into_bytes()], 0)
                        .unwrap();
                }
                std::thread::sleep(Duration::from_millis(500));
            });
            for i in 0..100 {
                assert_eq!(
                    pull.recv().await.unwrap(),
                    Multipart::from(["n".to_string(), i.to_string()])
                );
            }
            done.await.unwrap();
        });
    }
}

#[test]
fn inproc_moves_messages_without_encoding_them() {
    run(10, async {
        let pull = Socket::new(SocketType::Pull).unwrap();
        pull.bind("inproc://zero-copy").await.unwrap();
        let push = Socket::new(SocketType::Push).unwrap();
        push.connect("inproc://zero-copy").await.unwrap();
        let payload = Bytes::from(vec![42u8; 1 << 20]);
        push.send(Multipart::from(payload.clone())).await.unwrap();
        let got = pull.recv().await.unwrap();
        // the very same buffer arrives: nothing was encoded or copied on the way
        assert_eq!(got.frames()[0].as_ptr(), payload.as_ptr());
    });
}

/// The messages of [`inproc_batches_of_mixed_sizes_arrive_intact_and_in_order`].
fn mixed(i: usize) -> Multipart {
    match i % 4 {
        0 => Multipart::from(Bytes::from(vec![i as u8; i % 700])),
        1 => Multipart::from([Bytes::new(), Bytes::from(format!("topic-{i}"))]),
        2 => Multipart::from(["", "", "x"]),
        _ => Multipart::from(Bytes::from(format!("{i}").repeat(i % 97))),
    }
}

#[test]
fn inproc_batches_of_mixed_sizes_arrive_intact_and_in_order() {
    run(20, async {
        let pull = Socket::new(SocketType::Pull).unwrap();
        pull.bind("inproc://mixed-sizes").await.unwrap();
        // The sender on a thread of its own: small messages then travel packed, a batch's
        // bytes in one buffer that the receiver cuts into frames; large ones as they are.
        let big = Bytes::from(vec![9u8; 4096]);
        let sent = big.clone();
        let sender = actix::Arbiter::new();
        sender.spawn(async move {
            let push = Socket::new(SocketType::Push).unwrap();
            push.connect("inproc://mixed-sizes").await.unwrap();
            for i in 0..3000 {
                push.send(mixed(i)).await.unwrap();
                if i == 1500 {
                    push.send(Multipart::from(sent.clone())).await.unwrap();
                }
            }
            push.close().await;
        });
        let mut adjacent = 0;
        let mut last_end = std::ptr::null();
        for i in 0..3000 {
            let got = pull.recv().await.unwrap();
            assert_eq!(got, mixed(i), "message {i}");
            let body = got.frames().last().unwrap();
            if body.as_ptr() == last_end && !body.is_empty() {
                adjacent += 1;
            }
            last_end = body.as_ptr().wrapping_add(body.len());
            if i == 1500 {
                let got = pull.recv().await.unwrap();
                assert_eq!(
                    got.frames()[0].as_ptr(),
                    big.as_ptr(),
                    "a large one is not copied"
                );
            }
        }
        assert!(
            adjacent > 100,
            "small messages were not packed ({adjacent} adjacent)"
        );
        sender.stop();
    });
}

#[test]
fn inproc_on_one_thread_copies_not_even_small_messages() {
    run(10, async {
        let pull = Socket::new(SocketType::Pull).unwrap();
        pull.bind("inproc://one-thread").await.unwrap();
        let push = Socket::new(SocketType::Push).unwrap();
        push.connect("inproc://one-thread").await.unwrap();
        let bodies: Vec<Bytes> = (0..100).map(|i| Bytes::from(format!("m{i}"))).collect();
        for body in &bodies {
            push.send(Multipart::from(body.clone())).await.unwrap();
        }
        for body in &bodies {
            let got = pull.recv().await.unwrap();
            assert_eq!(got.frames()[0].as_ptr(), body.as_ptr());
        }
    });
}

#[test]
fn each_senders_order_holds_as_peers_come_and_go_while_the_receiver_reads() {
    // With one peer a receiving application takes straight from that peer's queue; with two
    // the socket fair-queues. Switching between the two must neither lose nor reorder.
    for scheme in ["inproc", "tcp"] {
        run(30, async move {
            let pull = Socket::new(SocketType::Pull).unwrap();
            let ep = pull.bind(endpoint(scheme).as_str()).await.unwrap();
            let sender = |name: &'static str, n: usize| {
                let ep = ep.clone();
                actix::spawn(async move {
                    let push = Socket::new(SocketType::Push).unwrap();
                    push.connect(&ep).await.unwrap();
                    for i in 0..n {
                        push.send([name.to_string(), i.to_string()]).await.unwrap();
                        if i % 500 == 0 {
                            tokio::task::yield_now().await;
                        }
                    }
                    push.close().await;
                })
            };
            let first = sender("a", 20_000);
            let mut next = std::collections::HashMap::from([("a", 0usize), ("b", 0)]);
            let mut second = None;
            while next["a"] + next["b"] < 30_000 {
                let msg = recv_within(&pull, 10_000)
                    .await
                    .unwrap_or_else(|| panic!("{scheme}: messages lost: got {next:?}"));
                let name = if msg.frames()[0] == "a" { "a" } else { "b" };
                let i: usize = std::str::from_utf8(&msg.frames()[1])
                    .unwrap()
                    .parse()
                    .unwrap();
                assert_eq!(i, next[name], "{scheme}: {name}'s messages out of order");
                *next.get_mut(name).unwrap() += 1;
                if name == "a" && i == 2_000 {
                    second = Some(sender("b", 10_000)); // a second peer joins mid-stream
                }
            }
            first.await.unwrap();
            second.unwrap().await.unwrap();
        });
    }
}

#[test]
fn inproc_connect_before_bind_double_bind_and_unknown_names() {
    run(10, async {
        let push = Socket::new(SocketType::Push).unwrap();
        let mut monitor = push.monitor();
        push.connect("inproc://later").await.unwrap();
        push.send("waiting").await.unwrap();
        // nobody has bound the name yet: the monitor says so, in words
        loop {
            if let SocketEvent::ConnectRetried { error, .. } = monitor.recv().await.unwrap() {
                assert!(
                    error.contains("no socket is bound at this name yet")
                        && error.contains("inproc://later"),
                    "{error}"
                );
                break;
            }
        }
        let pull = Socket::new(SocketType::Pull).unwrap();
        pull.bind("inproc://later").await.unwrap();
        assert_eq!(pull.recv().await.unwrap(), Multipart::from("waiting"));
        let again = Socket::new(SocketType::Pull).unwrap();
        let err = again.bind("inproc://later").await.unwrap_err().to_string();
        assert!(
            err.contains("address in use") && err.contains("inproc://later"),
            "{err}"
        );
        // once the binder closes, the name is free again
        pull.close().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        again.bind("inproc://later").await.unwrap();
    });
}

#[test]
fn inproc_connect_before_bind_completes_at_the_bind_not_at_the_next_retry() {
    run(10, async {
        // a reconnect interval far longer than the test may take
        let opts = actormq::SocketOptions::default().reconnect_ivl(Duration::from_secs(60));
        let push = Socket::with_options(SocketType::Push, opts).unwrap();
        let mut monitor = push.monitor();
        push.connect("inproc://bound-later").await.unwrap();
        push.send("early").await.unwrap();
        while !matches!(
            monitor.recv().await.unwrap(),
            SocketEvent::ConnectRetried { .. }
        ) {}
        let pull = Socket::new(SocketType::Pull).unwrap();
        pull.bind("inproc://bound-later").await.unwrap();
        let got = recv_within(&pull, 5_000).await;
        assert_eq!(
            got,
            Some(Multipart::from("early")),
            "the pending connect waited for its retry"
        );
    });
}

#[test]
fn udp_publish_subscribe_with_filtering_and_limits() {
    run(10, async {
        let sub = Socket::new(SocketType::Sub).unwrap();
        let ep = sub.bind("udp://127.0.0.1:0").await.unwrap();
        sub.subscribe("weather").await.unwrap();
        let publisher = Socket::new(SocketType::Pub).unwrap();
        publisher.connect(&ep).await.unwrap();
        // datagrams may be lost before the session is up: publish until one arrives
        loop {
            publisher
                .send(["sport", "filtered at the subscriber"])
                .await
                .unwrap();
            publisher.send(["weather.nyc", "21C"]).await.unwrap();
            if let Some(m) = recv_within(&sub, 50).await {
                assert_eq!(m, Multipart::from(["weather.nyc", "21C"]));
                break;
            }
        }
        let err = publisher
            .send(["weather".to_string(), "x".repeat(9000)])
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot send over udp://") && err.contains("limit is 8192"),
            "{err}"
        );
        let err = publisher
            .send(["a", "b", "c"])
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("3 frames"), "{err}");

        // a malformed datagram is skipped; the next good one arrives
        let raw = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let target = ep.to_string().trim_start_matches("udp://").to_string();
        raw.send_to(b"\xffshort", &target).unwrap();
        raw.send_to(b"\x07weather-after", &target).unwrap();
        loop {
            let m = sub.recv().await.unwrap();
            if m.frames()[0] == "weather" {
                assert_eq!(m, Multipart::from(["weather", "-after"]));
                break;
            }
        }
        assert_eq!(sub.discarded(), 1, "the malformed datagram is counted");
    });
}

#[test]
fn udp_drops_an_oversized_datagram_instead_of_truncating_it() {
    run(10, async {
        let sub = Socket::new(SocketType::Sub).unwrap();
        let ep = sub.bind("udp://127.0.0.1:0").await.unwrap();
        sub.subscribe("").await.unwrap();
        let raw = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let target = ep.to_string().trim_start_matches("udp://").to_string();
        // 10 000 bytes: topic "big", then the body; the kernel would hand over 8193 of them
        let mut big = b"\x03big".to_vec();
        big.resize(10_000, b'x');
        raw.send_to(&big, &target).unwrap();
        raw.send_to(b"\x05validafter", &target).unwrap();
        let m = sub.recv().await.unwrap();
        assert_eq!(m, Multipart::from(["valid", "after"]));
        assert!(recv_within(&sub, 100).await.is_none());
        assert_eq!(sub.discarded(), 1, "the oversized datagram is counted");
    });
}

#[test]
fn udp_refuses_patterns_that_need_a_stream() {
    run(10, async {
        for ty in [
            SocketType::Req,
            SocketType::Rep,
            SocketType::Push,
            SocketType::Pull,
            SocketType::Dealer,
            SocketType::Router,
            SocketType::Pair,
        ] {
            let s = Socket::new(ty).unwrap();
            let err = s.bind("udp://127.0.0.1:0").await.unwrap_err().to_string();
            assert!(err.contains("needs a reliable stream"), "{ty}: {err}");
            let err = s
                .connect("udp://127.0.0.1:9")
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains("needs a reliable stream"), "{ty}: {err}");
        }
        let p = Socket::new(SocketType::Pub).unwrap();
        let err = p.bind("udp://127.0.0.1:0").await.unwrap_err().to_string();
        assert!(err.contains("connect it"), "{err}");
        let s = Socket::new(SocketType::Sub).unwrap();
        let err = s
            .connect("udp://127.0.0.1:9")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("bind it"), "{err}");
    });
}

#[test]
fn udp_multicast_through_the_loopback_interface() {
    run(10, async {
        let group = format!(
            "udp://127.0.0.1;239.255.77.{}:{}",
            1 + std::process::id() % 200,
            free_port()
        );
        let subs: Vec<Socket> = (0..2)
            .map(|_| Socket::new(SocketType::Sub).unwrap())
            .collect();
        for s in &subs {
            s.bind(group.as_str()).await.unwrap();
            s.subscribe("").await.unwrap();
        }
        let publisher = Socket::new(SocketType::Pub).unwrap();
        publisher.connect(group.as_str()).await.unwrap();
        // both members of the group get what one publisher sends
        for s in &subs {
            loop {
                publisher.send(["m", "cast"]).await.unwrap();
                if let Some(m) = recv_within(s, 50).await {
                    assert_eq!(m, Multipart::from(["m", "cast"]));
                    break;
                }
            }
        }
    });
}

#[test]
fn inproc_high_water_marks_hold_and_release() {
    run(10, async {
        // an inproc pipe holds the sender's sndhwm plus the receiver's rcvhwm, as in libzmq
        let pull_opts = actormq::SocketOptions::default().rcvhwm(10);
        let pull = Socket::with_options(SocketType::Pull, pull_opts).unwrap();
        pull.bind("inproc://hwm").await.unwrap();
        let opts = actormq::SocketOptions::default().sndhwm(10);
        let push = Socket::with_options(SocketType::Push, opts).unwrap();
        let mut monitor = push.monitor();
        push.connect("inproc://hwm").await.unwrap();
        handshakes(&mut monitor, 1).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        // nobody reads: the puller's queue fills to the pusher's mark, then the pusher's own
        let mut sent = 0;
        loop {
            match push.try_send(format!("{sent}")) {
                Ok(()) => sent += 1,
                Err(actormq::Error::WouldBlock(_)) => break,
                Err(e) => panic!("{e}"),
            }
            tokio::task::yield_now().await;
            assert!(sent <= 100, "no backpressure: {sent} messages queued");
        }
        assert!(
            sent >= 20,
            "only {sent} queued (the pipe holds sndhwm + rcvhwm = 20)"
        );
        // the puller drains: everything arrives in order and sending resumes
        for i in 0..sent {
            assert_eq!(pull.recv().await.unwrap(), Multipart::from(format!("{i}")));
        }
        push.send("more").await.unwrap();
        assert_eq!(pull.recv().await.unwrap(), Multipart::from("more"));
    });
}

#[test]
fn inproc_sender_full_before_the_peer_attaches_still_delivers_everything() {
    run(10, async {
        let opts = actormq::SocketOptions::default().sndhwm(10);
        let push = Socket::with_options(SocketType::Push, opts).unwrap();
        push.connect("inproc://early-backlog").await.unwrap();
        // far more than the queues hold, queued before any peer exists
        let sender = push.clone();
        let sending = actix::spawn(async move {
            for i in 0..200 {
                sender.send(format!("{i}")).await.unwrap();
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let pull = Socket::new(SocketType::Pull).unwrap();
        pull.bind("inproc://early-backlog").await.unwrap();
        for i in 0..200 {
            assert_eq!(pull.recv().await.unwrap(), Multipart::from(format!("{i}")));
        }
        sending.await.unwrap();
    });
}
