//! Hostile and odd peers: garbage, protocol violations, oversized messages, ZMTP 3.0 greeters,
//! wrong socket types. The offending connection is dropped with a reason; the others go on.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use actormq::transports::zmtp::{encode_message, Greeting, Handshake};
use actormq::{Endpoint, Multipart, Socket, SocketOptions, SocketType};
use bytes::{Bytes, BytesMut};
use common::*;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn addr(ep: &Endpoint) -> String {
    ep.to_string().trim_start_matches("tcp://").to_string()
}

/// A raw ZMTP peer over a blocking TCP stream: greets as `ty` with the given minor version.
fn raw_peer(ep: &Endpoint, ty: SocketType, minor: u8) -> TcpStream {
    let mut s = TcpStream::connect(addr(ep)).unwrap();
    let mut hello = Handshake::new(ty, Bytes::new()).initial_bytes();
    hello[11] = minor;
    s.write_all(&hello).unwrap();
    s
}

#[test]
fn garbage_peers_are_dropped_with_a_reason_while_others_keep_working() {
    run(20, async {
        let pull = Socket::new(SocketType::Pull).unwrap();
        let mut monitor = pull.monitor();
        let ep = pull.bind("tcp://127.0.0.1:0").await.unwrap();
        let good = Socket::new(SocketType::Push).unwrap();
        good.connect(&ep).await.unwrap();
        good.send("before").await.unwrap();
        assert_eq!(pull.recv().await.unwrap(), Multipart::from("before"));

        // 1. not ZMTP at all
        let mut http = TcpStream::connect(addr(&ep)).unwrap();
        http.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let reason = disconnect_reason(&mut monitor).await;
        assert!(
            reason.contains("handshake failed: not a ZMTP peer"),
            "{reason}"
        );

        // 2. a valid handshake, then a frame with reserved flag bits
        let mut bad = raw_peer(&ep, SocketType::Push, 1);
        bad.write_all(b"\x00\x01x\xf0\x00").unwrap();
        let reason = disconnect_reason(&mut monitor).await;
        assert!(
            reason.contains("protocol error: frame flags 0xf0 use reserved bits"),
            "{reason}"
        );

        // 3. a frame that declares 2^62 bytes (over the default maxmsgsize of 256 MiB)
        let mut huge = raw_peer(&ep, SocketType::Push, 1);
        huge.write_all(b"\x02\x40\x00\x00\x00\x00\x00\x00\x00")
            .unwrap();
        let reason = disconnect_reason(&mut monitor).await;
        assert!(reason.contains("exceeds maxmsgsize"), "{reason}");

        // 4. a peer that stops in the middle of a message and hangs up
        let mut half = raw_peer(&ep, SocketType::Push, 1);
        half.write_all(b"\x01\x03ab").unwrap();
        drop(half);
        let reason = disconnect_reason(&mut monitor).await;
        assert!(reason.contains("closed"), "{reason}");

        // the good peer was never disturbed
        for i in 0..100 {
            good.send(format!("{i}")).await.unwrap();
        }
        for i in 0..100 {
            assert_eq!(pull.recv().await.unwrap(), Multipart::from(format!("{i}")));
        }
        drop((http, bad, huge));
    });
}

#[test]
fn maxmsgsize_drops_the_connection_that_exceeds_it() {
    run(20, async {
        let opts = SocketOptions::default().maxmsgsize(Some(1000));
        let pull = Socket::with_options(SocketType::Pull, opts).unwrap();
        let mut monitor = pull.monitor();
        let ep = pull.bind("tcp://127.0.0.1:0").await.unwrap();
        let push = Socket::new(SocketType::Push).unwrap();
        push.connect(&ep).await.unwrap();
        push.send(vec![1u8; 1000]).await.unwrap();
        assert_eq!(pull.recv().await.unwrap().byte_len(), 1000);
        push.send([vec![1u8; 600], vec![2u8; 600]]).await.unwrap();
        let reason = disconnect_reason(&mut monitor).await;
        assert!(
            reason.contains("message of 1200 bytes exceeds maxmsgsize 1000"),
            "{reason}"
        );
    });
}

#[test]
fn handshake_deadline_drops_a_silent_peer() {
    run(20, async {
        let opts = SocketOptions::default().handshake_ivl(Duration::from_millis(200));
        let pull = Socket::with_options(SocketType::Pull, opts).unwrap();
        let mut monitor = pull.monitor();
        let ep = pull.bind("tcp://127.0.0.1:0").await.unwrap();
        let _silent = TcpStream::connect(addr(&ep)).unwrap();
        let reason = disconnect_reason(&mut monitor).await;
        assert!(
            reason.contains("handshake not completed within handshake_ivl"),
            "{reason}"
        );
    });
}

#[test]
fn zmtp_3_0_subscriber_gets_its_messages_and_our_pings_are_answered() {
    run(20, async {
        let publisher = Socket::new(SocketType::Pub).unwrap();
        let mut monitor = publisher.monitor();
        let ep = publisher.bind("tcp://127.0.0.1:0").await.unwrap();
        // a ZMTP 3.0 SUB subscribes with the message form 0x01 + topic, and pings us
        let mut sub = raw_peer(&ep, SocketType::Sub, 0);
        sub.write_all(b"\x00\x03\x01ab").unwrap();
        sub.write_all(b"\x04\x09\x04PING\x00\x00ok").unwrap();
        handshakes(&mut monitor, 1).await;
        let stream = sub.try_clone().unwrap();
        let reader = std::thread::spawn(move || {
            let mut stream = stream;
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // greeting and READY, then the PONG, then at least one "abc" message
            while !(contains(&buf, b"\x04PONG") && contains(&buf, b"abc")) {
                let n = stream.read(&mut chunk).expect("read from publisher");
                assert!(
                    n > 0,
                    "publisher hung up after {:02x?}",
                    &buf[..buf.len().min(200)]
                );
                buf.extend_from_slice(&chunk[..n]);
            }
            buf
        });
        // publish until the subscription has been applied
        while !reader.is_finished() {
            publisher.send(["abc", "hello"]).await.unwrap();
            publisher.send(["zzz", "not for you"]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let buf = reader.join().unwrap();
        let greeting = Greeting::decode(buf[..64].try_into().unwrap()).unwrap();
        assert_eq!((greeting.major, greeting.minor), (3, 1));
        assert!(
            contains(&buf, b"\x04\x07\x04PONGok"),
            "PONG must echo the PING context"
        );
        assert!(!contains(&buf, b"zzz"), "an unsubscribed topic was sent");
        let mut expect = BytesMut::new();
        encode_message(&Multipart::from(["abc", "hello"]), &mut expect);
        assert!(contains(&buf, &expect));
    });
}

#[test]
fn incompatible_actormq_sockets_refuse_each_other_naming_both_types() {
    run(20, async {
        let publisher = Socket::new(SocketType::Pub).unwrap();
        let mut pub_monitor = publisher.monitor();
        let ep = publisher.bind("tcp://127.0.0.1:0").await.unwrap();
        let pull = Socket::new(SocketType::Pull).unwrap();
        let mut pull_monitor = pull.monitor();
        pull.connect(&ep).await.unwrap();
        let ours = disconnect_reason(&mut pub_monitor).await;
        assert!(ours.contains("PUB") && ours.contains("PULL"), "{ours}");
        let theirs = disconnect_reason(&mut pull_monitor).await;
        assert!(
            theirs.contains("PUB") && theirs.contains("PULL"),
            "{theirs}"
        );
        // both sockets remain usable
        let sub = Socket::new(SocketType::Sub).unwrap();
        sub.connect(&ep).await.unwrap();
        sub.subscribe("").await.unwrap();
        sync_subscription(&publisher, &sub, "t").await;
    });
}

#[test]
fn unavailable_transports_and_bad_endpoints_are_clear_errors() {
    run(5, async {
        let s = Socket::new(SocketType::Pull).unwrap();
        for ep in ["quic://127.0.0.1:5555", "ws://example:80"] {
            let err = s.bind(ep).await.unwrap_err().to_string();
            assert!(
                err.contains("transport not available") && err.contains(ep),
                "{err}"
            );
            let err = s.connect(ep).await.unwrap_err().to_string();
            assert!(
                err.contains("transport not available")
                    && err.contains("tcp://, ipc://, inproc://, udp://"),
                "{err}"
            );
        }
        let err = s.bind("tcp://127.0.0.1").await.unwrap_err().to_string();
        assert!(
            err.contains("invalid endpoint `tcp://127.0.0.1`: missing `:port`"),
            "{err}"
        );
        let taken = s.bind("tcp://127.0.0.1:0").await.unwrap();
        let other = Socket::new(SocketType::Pull).unwrap();
        let err = other.bind(&taken).await.unwrap_err().to_string();
        assert!(err.starts_with(&format!("bind {taken}:")), "{err}");
    });
}

/// Whether the peer at the other end of `s` closed it within `ms` (EOF or reset), reading
/// without blocking the test's thread, where the socket under test runs.
async fn closed_within(s: &mut TcpStream, ms: u64) -> bool {
    s.set_nonblocking(true).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
    let mut chunk = [0u8; 4096];
    while tokio::time::Instant::now() < deadline {
        match s.read(&mut chunk) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn max_connections_closes_the_connections_beyond_it_and_keeps_the_first() {
    run(20, async {
        let pull = Socket::with_options(
            SocketType::Pull,
            SocketOptions::default().max_connections(3),
        )
        .unwrap();
        let mut monitor = pull.monitor();
        let ep = pull.bind("tcp://127.0.0.1:0").await.unwrap();
        let mut first = Vec::new();
        for _ in 0..3 {
            first.push(raw_peer(&ep, SocketType::Push, 1));
        }
        handshakes(&mut monitor, 3).await;
        let mut extra: Vec<TcpStream> =
            (0..2).map(|_| raw_peer(&ep, SocketType::Push, 1)).collect();
        for s in &mut extra {
            assert!(
                closed_within(s, 5000).await,
                "the 4th and 5th are closed by us"
            );
        }
        for s in &mut first {
            assert!(!closed_within(s, 200).await, "the first three stay");
        }
        // and they work
        for (i, s) in first.iter_mut().enumerate() {
            s.set_nonblocking(false).unwrap();
            let mut wire = BytesMut::new();
            encode_message(&Multipart::from(format!("m{i}")), &mut wire);
            s.write_all(&wire).unwrap();
        }
        let mut got: Vec<Multipart> = Vec::new();
        for _ in 0..3 {
            got.push(recv_within(&pull, 5000).await.expect("a message"));
        }
        got.sort_by_key(|m| m.frames()[0].clone());
        assert_eq!(got, ["m0", "m1", "m2"].map(Multipart::from));
        // a place is given back when a connection ends
        drop(first.pop());
        disconnect_reason(&mut monitor).await;
        let mut again = None;
        for _ in 0..50 {
            let mut s = raw_peer(&ep, SocketType::Push, 1);
            if !closed_within(&mut s, 100).await {
                again = Some(s);
                break;
            }
        }
        assert!(
            again.is_some(),
            "a new connection is accepted once one ended"
        );
    });
}

#[test]
fn rcvhwm_bytes_stops_reading_a_peer_whose_queue_holds_that_many_bytes() {
    run(60, async {
        const MIB: usize = 1 << 20;
        let pull =
            Socket::with_options(SocketType::Pull, SocketOptions::default().rcvhwm_bytes(MIB))
                .unwrap();
        let ep = pull.bind("tcp://127.0.0.1:0").await.unwrap();
        // a raw PUSH writes 100 messages of 1 MiB as fast as we take them
        let mut push = raw_peer(&ep, SocketType::Push, 1);
        let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let progress = written.clone();
        let writer = std::thread::spawn(move || {
            let mut wire = BytesMut::new();
            encode_message(&Multipart::from(vec![7u8; MIB]), &mut wire);
            for _ in 0..100 {
                push.write_all(&wire).unwrap();
                progress.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            push
        });
        // the application does not read: what the PULL takes in stops near its mark (plus
        // what the kernel's socket buffers hold), far from the 100 MiB sent
        tokio::time::sleep(Duration::from_secs(2)).await;
        let sent = written.load(std::sync::atomic::Ordering::SeqCst);
        assert!(sent < 40, "{sent} MiB taken in while nobody read");
        // nothing is lost: every message arrives once the application reads
        for _ in 0..100 {
            let m = recv_within(&pull, 10_000).await.expect("a message");
            assert_eq!(m.byte_len(), MIB);
        }
        while !writer.is_finished() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        drop(writer.join().unwrap());
    });
}

#[test]
fn zero_handshake_ivl_means_no_deadline_over_tcp_and_inproc() {
    run(20, async {
        let opts = SocketOptions::default().handshake_ivl(Duration::ZERO);
        // a peer that greets late is still waited for
        let pull = Socket::with_options(SocketType::Pull, opts.clone()).unwrap();
        let ep = pull.bind("tcp://127.0.0.1:0").await.unwrap();
        let mut late = TcpStream::connect(addr(&ep)).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut wire = Handshake::new(SocketType::Push, Bytes::new()).initial_bytes();
        encode_message(&Multipart::from("late"), &mut wire);
        let _ = late.write_all(&wire);
        assert_eq!(
            recv_within(&pull, 5000).await,
            Some(Multipart::from("late"))
        );
        // and sockets of ours connect as usual
        for ep in ["tcp://127.0.0.1:0", "inproc://zero-handshake-ivl"] {
            let pull = Socket::with_options(SocketType::Pull, opts.clone()).unwrap();
            let ep = pull.bind(ep).await.unwrap();
            let push = Socket::with_options(SocketType::Push, opts.clone()).unwrap();
            push.connect(&ep).await.unwrap();
            push.send("hello").await.unwrap();
            assert_eq!(
                recv_within(&pull, 5000).await,
                Some(Multipart::from("hello")),
                "{ep}"
            );
        }
    });
}
