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
