//! Interop with real libzmq (4.3.4, built from source by the `zmq` crate): every direction of
//! PUB/SUB and PUSH/PULL, with actormq binding and with actormq connecting.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actormq::{Multipart, Socket, SocketEvent, SocketType};
use common::*;

fn frames(m: &Multipart) -> Vec<Vec<u8>> {
    m.iter().map(|f| f.to_vec()).collect()
}

/// actormq PUB → libzmq SUB; the libzmq side subscribes to "w" and must see exactly the "w"
/// messages, multipart intact.
fn our_pub_their_sub(side: Side) {
    run(30, async move {
        let publisher = Socket::new(SocketType::Pub).unwrap();
        let (ep_tx, ep_rx) = std::sync::mpsc::channel::<String>();
        let synced = Arc::new(AtomicBool::new(false));
        let their_ep = match side {
            Side::WeBind => {
                let ep = publisher.bind("tcp://127.0.0.1:0").await.unwrap();
                ep_tx.send(ep.to_string()).unwrap();
                None
            }
            Side::TheyBind => Some(free_port()),
        };
        let flag = synced.clone();
        let result = libzmq(move |ctx| {
            let sub = ctx.socket(zmq::SUB).unwrap();
            match their_ep {
                None => sub.connect(&ep_rx.recv().unwrap()).unwrap(),
                Some(port) => sub.bind(&format!("tcp://127.0.0.1:{port}")).unwrap(),
            }
            sub.set_subscribe(b"w").unwrap();
            sub.set_rcvtimeo(10_000).unwrap();
            let mut got = Vec::new();
            loop {
                let m = sub.recv_multipart(0).expect("libzmq SUB timed out");
                if m[1] == b"probe" {
                    flag.store(true, Ordering::Release);
                    continue;
                }
                if m[1] == b"END" {
                    return got;
                }
                got.push(m);
            }
        });
        if let Some(port) = their_ep {
            publisher
                .connect(format!("tcp://127.0.0.1:{port}"))
                .await
                .unwrap();
        }
        while !synced.load(Ordering::Acquire) {
            publisher.send(["w", "probe"]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for i in 0..100 {
            publisher
                .send(["w.1".to_string(), i.to_string(), "third".into()])
                .await
                .unwrap();
            publisher.send(["x.1", "filtered"]).await.unwrap();
        }
        publisher.send(["w", "END"]).await.unwrap();
        let got = result.await.unwrap();
        assert_eq!(got.len(), 100);
        for (i, m) in got.iter().enumerate() {
            assert_eq!(
                m,
                &vec![
                    b"w.1".to_vec(),
                    i.to_string().into_bytes(),
                    b"third".to_vec()
                ]
            );
        }
    });
}

/// libzmq PUB → actormq SUB subscribed to "w".
fn their_pub_our_sub(side: Side) {
    run(30, async move {
        let sub = Socket::new(SocketType::Sub).unwrap();
        sub.subscribe("w").await.unwrap();
        let synced = Arc::new(AtomicBool::new(false));
        let (ep_tx, ep_rx) = std::sync::mpsc::channel::<String>();
        let port = free_port();
        match side {
            Side::WeBind => {
                let ep = sub.bind("tcp://127.0.0.1:0").await.unwrap();
                ep_tx.send(ep.to_string()).unwrap();
            }
            Side::TheyBind => ep_tx.send(format!("tcp://127.0.0.1:{port}")).unwrap(),
        }
        let flag = synced.clone();
        let done = libzmq(move |ctx| {
            let publisher = ctx.socket(zmq::PUB).unwrap();
            let ep = ep_rx.recv().unwrap();
            match side {
                Side::WeBind => publisher.connect(&ep).unwrap(),
                Side::TheyBind => publisher.bind(&ep).unwrap(),
            }
            while !flag.load(Ordering::Acquire) {
                publisher.send_multipart(["w", "probe"], 0).unwrap();
                std::thread::sleep(Duration::from_millis(20));
            }
            for i in 0..100 {
                publisher
                    .send_multipart([b"w.1".to_vec(), i.to_string().into_bytes()], 0)
                    .unwrap();
                publisher.send_multipart(["x", "filtered"], 0).unwrap();
            }
            publisher.send_multipart(["w", "END"], 0).unwrap();
            // keep the socket open until the other side has read everything
            std::thread::sleep(Duration::from_millis(500));
        });
        if let Side::TheyBind = side {
            sub.connect(format!("tcp://127.0.0.1:{port}"))
                .await
                .unwrap();
        }
        let mut got = Vec::new();
        loop {
            let m = sub.recv().await.unwrap();
            if m.frames()[1] == "probe" {
                synced.store(true, Ordering::Release);
                continue;
            }
            if m.frames()[1] == "END" {
                break;
            }
            got.push(frames(&m));
        }
        let expected: Vec<_> = (0..100)
            .map(|i| vec![b"w.1".to_vec(), i.to_string().into_bytes()])
            .collect();
        assert_eq!(got, expected);
        done.await.unwrap();
    });
}

fn big_message() -> Vec<u8> {
    (0..4 * 1024 * 1024).map(|i| (i % 253) as u8).collect()
}

/// actormq PUSH → libzmq PULL: 1000 messages in order, multipart with an empty frame, 4 MiB.
fn our_push_their_pull(side: Side) {
    run(30, async move {
        let push = Socket::new(SocketType::Push).unwrap();
        let (ep_tx, ep_rx) = std::sync::mpsc::channel::<String>();
        let port = free_port();
        match side {
            Side::WeBind => ep_tx
                .send(push.bind("tcp://127.0.0.1:0").await.unwrap().to_string())
                .unwrap(),
            Side::TheyBind => ep_tx.send(format!("tcp://127.0.0.1:{port}")).unwrap(),
        }
        let result = libzmq(move |ctx| {
            let pull = ctx.socket(zmq::PULL).unwrap();
            let ep = ep_rx.recv().unwrap();
            match side {
                Side::WeBind => pull.connect(&ep).unwrap(),
                Side::TheyBind => pull.bind(&ep).unwrap(),
            }
            pull.set_rcvtimeo(10_000).unwrap();
            (0..1002)
                .map(|_| pull.recv_multipart(0).expect("libzmq PULL timed out"))
                .collect::<Vec<_>>()
        });
        if let Side::TheyBind = side {
            push.connect(format!("tcp://127.0.0.1:{port}"))
                .await
                .unwrap();
        }
        for i in 0..1000 {
            push.send(format!("{i}")).await.unwrap();
        }
        push.send(["a", "", "c"]).await.unwrap();
        push.send(big_message()).await.unwrap();
        let got = result.await.unwrap();
        for (i, m) in got[..1000].iter().enumerate() {
            assert_eq!(m, &vec![i.to_string().into_bytes()]);
        }
        assert_eq!(got[1000], vec![b"a".to_vec(), vec![], b"c".to_vec()]);
        assert!(got[1001] == vec![big_message()], "4 MiB message corrupted");
    });
}

/// libzmq PUSH (with heartbeats on) → actormq PULL.
fn their_push_our_pull(side: Side) {
    run(30, async move {
        let pull = Socket::new(SocketType::Pull).unwrap();
        let mut monitor = pull.monitor();
        let (ep_tx, ep_rx) = std::sync::mpsc::channel::<String>();
        let port = free_port();
        match side {
            Side::WeBind => ep_tx
                .send(pull.bind("tcp://127.0.0.1:0").await.unwrap().to_string())
                .unwrap(),
            Side::TheyBind => ep_tx.send(format!("tcp://127.0.0.1:{port}")).unwrap(),
        }
        let done = libzmq(move |ctx| {
            let push = ctx.socket(zmq::PUSH).unwrap();
            // libzmq pings every 50 ms and drops us if nothing comes back within 300 ms; its
            // PINGs ask us to drop it after 300 ms without traffic (its PINGs are traffic)
            push.set_heartbeat_ivl(50).unwrap();
            push.set_heartbeat_timeout(300).unwrap();
            push.set_heartbeat_ttl(300).unwrap();
            let ep = ep_rx.recv().unwrap();
            match side {
                Side::WeBind => push.connect(&ep).unwrap(),
                Side::TheyBind => push.bind(&ep).unwrap(),
            }
            push.send("first", 0).unwrap();
            // idle for a while: only heartbeats keep the connection
            std::thread::sleep(Duration::from_millis(1000));
            for i in 0..1000 {
                push.send(i.to_string().as_str(), 0).unwrap();
            }
            push.send_multipart(["a", "", "c"], 0).unwrap();
            push.send(big_message(), 0).unwrap();
            std::thread::sleep(Duration::from_millis(1000));
        });
        if let Side::TheyBind = side {
            pull.connect(format!("tcp://127.0.0.1:{port}"))
                .await
                .unwrap();
        }
        assert_eq!(pull.recv().await.unwrap(), Multipart::from("first"));
        for i in 0..1000 {
            assert_eq!(pull.recv().await.unwrap(), Multipart::from(i.to_string()));
        }
        assert_eq!(pull.recv().await.unwrap(), Multipart::from(["a", "", "c"]));
        assert!(frames(&pull.recv().await.unwrap()) == vec![big_message()]);
        // the heartbeats were answered: the connection never dropped
        while let Ok(event) = monitor.try_recv() {
            assert!(
                !matches!(event, SocketEvent::Disconnected { .. }),
                "connection dropped: {event:?}"
            );
        }
        done.await.unwrap();
    });
}

#[test]
fn pub_to_libzmq_sub_we_bind() {
    our_pub_their_sub(Side::WeBind);
}

#[test]
fn pub_to_libzmq_sub_we_connect() {
    our_pub_their_sub(Side::TheyBind);
}

#[test]
fn sub_from_libzmq_pub_we_bind() {
    their_pub_our_sub(Side::WeBind);
}

#[test]
fn sub_from_libzmq_pub_we_connect() {
    their_pub_our_sub(Side::TheyBind);
}

#[test]
fn push_to_libzmq_pull_we_bind() {
    our_push_their_pull(Side::WeBind);
}

#[test]
fn push_to_libzmq_pull_we_connect() {
    our_push_their_pull(Side::TheyBind);
}

#[test]
fn pull_from_libzmq_push_we_bind() {
    their_push_our_pull(Side::WeBind);
}

#[test]
fn pull_from_libzmq_push_we_connect() {
    their_push_our_pull(Side::TheyBind);
}

#[test]
fn libzmq_refuses_an_incompatible_type_and_we_say_so() {
    run(20, async {
        let push = Socket::new(SocketType::Push).unwrap();
        let mut monitor = push.monitor();
        let port = free_port();
        let ep = format!("tcp://127.0.0.1:{port}");
        let their_ep = ep.clone();
        let _keep = libzmq(move |ctx| {
            let publisher = ctx.socket(zmq::PUB).unwrap();
            publisher.bind(&their_ep).unwrap();
            std::thread::sleep(Duration::from_millis(1500));
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        push.connect(&ep).await.unwrap();
        // libzmq closes without an ERROR command, before its READY reaches us
        let reason = disconnect_reason(&mut monitor).await;
        assert!(
            reason.contains("during the handshake") && reason.contains("PUSH"),
            "{reason}"
        );
    });
}
