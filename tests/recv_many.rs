//! `Socket::recv_many` / `try_recv_many`: batches in the order `recv` gives, from one peer (taken
//! straight from its queue) and from several (through the socket actor), filtered for SUB, one
//! at a time for REQ/REP.

mod common;

use std::collections::HashMap;

use actormq::{Error, Multipart, Socket, SocketType};
use common::*;

/// Receives `n` messages with `recv_many` batches of at most `max`; checks no batch is larger.
async fn take(socket: &Socket, n: usize, max: usize) -> Vec<Multipart> {
    let mut got = Vec::new();
    while got.len() < n {
        let before = got.len();
        let k = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            socket.recv_many(&mut got, max),
        )
        .await
        .expect("recv_many timed out")
        .unwrap();
        assert!(k >= 1 && k <= max, "a batch of {k} (max {max})");
        assert_eq!(got.len(), before + k);
    }
    got
}

#[test]
fn one_peer_in_order_mixed_with_recv() {
    run(30, async {
        let pull = Socket::new(SocketType::Pull).unwrap();
        let ep = pull.bind("tcp://127.0.0.1:0").await.unwrap();
        let push = Socket::new(SocketType::Push).unwrap();
        push.connect(&ep).await.unwrap();
        let n = 20_000usize;
        let sender = push.clone();
        actix::spawn(async move {
            for i in 0..n {
                sender.send(i.to_string()).await.unwrap();
            }
        });
        let mut next = 0;
        while next < n {
            // alternate: one recv, then a batch
            let m = pull.recv().await.unwrap();
            assert_eq!(text(&m.frames()[0]), next.to_string());
            next += 1;
            let want = 37.min(n - next);
            if want == 0 {
                break;
            }
            for m in take(&pull, want, want).await {
                assert_eq!(text(&m.frames()[0]), next.to_string());
                next += 1;
            }
        }
        assert!(recv_within(&pull, 200).await.is_none());
    });
}

#[test]
fn several_peers_each_in_order() {
    run(30, async {
        let pull = Socket::new(SocketType::Pull).unwrap();
        let ep = pull.bind("inproc://recv-many-several").await.unwrap();
        let mut pushes = Vec::new();
        for name in ["a", "b", "c"] {
            let p = Socket::new(SocketType::Push).unwrap();
            p.connect(&ep).await.unwrap();
            for i in 0..1000 {
                p.send([name.to_string(), i.to_string()]).await.unwrap();
            }
            pushes.push(p);
        }
        let got = take(&pull, 3000, 64).await;
        let mut next: HashMap<String, usize> = HashMap::new();
        for m in got {
            let (name, i) = (text(&m.frames()[0]), text(&m.frames()[1]));
            let want = next.entry(name.clone()).or_default();
            assert_eq!(i, want.to_string(), "out of order from {name}");
            *want += 1;
        }
        assert!(next.values().all(|&n| n == 1000), "{next:?}");
    });
}

#[test]
fn sub_batches_hold_only_what_it_subscribed_to() {
    run(30, async {
        let publisher = Socket::new(SocketType::Pub).unwrap();
        let ep = publisher.bind("tcp://127.0.0.1:0").await.unwrap();
        let sub = Socket::new(SocketType::Sub).unwrap();
        sub.connect(&ep).await.unwrap();
        sub.subscribe("keep").await.unwrap();
        sync_subscription(&publisher, &sub, "keep").await;
        for i in 0..5000 {
            let topic = if i % 2 == 0 { "keep" } else { "drop" };
            publisher
                .send([topic.to_string(), i.to_string()])
                .await
                .unwrap();
        }
        publisher.send(["keep", "end"]).await.unwrap();
        let mut got = Vec::new();
        loop {
            let batch = take(&sub, 1, 64).await;
            let end = batch.iter().any(|m| text(&m.frames()[1]) == "end");
            got.extend(batch);
            if end {
                break;
            }
        }
        assert!(got.iter().all(|m| text(&m.frames()[0]) == "keep"));
        // the publisher may drop for a slow subscriber (no xpub_nodrop), never reorder
        let numbers: Vec<usize> = got
            .iter()
            .filter_map(|m| text(&m.frames()[1]).parse().ok())
            .collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "out of order");
        assert!(numbers.iter().all(|n| n % 2 == 0));
    });
}

#[test]
fn req_and_rep_take_one_at_a_time() {
    run(30, async {
        let rep = Socket::new(SocketType::Rep).unwrap();
        let ep = rep.bind("inproc://recv-many-reqrep").await.unwrap();
        let req = Socket::new(SocketType::Req).unwrap();
        req.connect(&ep).await.unwrap();
        for i in 0..3 {
            req.send(format!("q{i}")).await.unwrap();
            let mut asked = Vec::new();
            assert_eq!(rep.recv_many(&mut asked, 64).await.unwrap(), 1);
            assert_eq!(text(&asked[0].frames()[0]), format!("q{i}"));
            // REP must answer before it receives again
            assert!(matches!(
                rep.try_recv_many(&mut asked, 64),
                Err(Error::Refused { .. }) | Err(Error::WouldBlock(_))
            ));
            rep.send(format!("a{i}")).await.unwrap();
            let mut answer = Vec::new();
            assert_eq!(req.recv_many(&mut answer, 64).await.unwrap(), 1);
            assert_eq!(text(&answer[0].frames()[0]), format!("a{i}"));
        }
    });
}

#[test]
fn try_recv_many_would_block_then_reports_closed() {
    run(30, async {
        let pull = Socket::new(SocketType::Pull).unwrap();
        let ep = pull.bind("inproc://recv-many-closed").await.unwrap();
        let mut buf = Vec::new();
        assert!(matches!(
            pull.try_recv_many(&mut buf, 8),
            Err(Error::WouldBlock(_))
        ));
        assert_eq!(pull.try_recv_many(&mut buf, 0).unwrap(), 0);
        let push = Socket::new(SocketType::Push).unwrap();
        push.connect(&ep).await.unwrap();
        for i in 0..5 {
            push.send(i.to_string()).await.unwrap();
        }
        eventually("five ready", || {
            let _ = pull.try_recv_many(&mut buf, 8);
            buf.len() >= 5
        })
        .await;
        assert_eq!(buf.len(), 5);
        pull.close().await;
        assert!(matches!(
            pull.recv_many(&mut buf, 8).await,
            Err(Error::Closed(_))
        ));
    });
}
