//! `nats://` against a real NATS server and nats-py peers: publish/subscribe both ways, prefix
//! semantics with overlapping subscriptions delivered once, refusals, and a server restart.
//! Without `nats-server` installed each test says it was skipped (CI installs it and sets
//! `ACTORMQ_REQUIRE_BROKERS`, so there a missing server fails).

mod common;

use std::io::BufRead;
use std::process::Command;
use std::time::Duration;

use actormq::{Multipart, Socket, SocketType};
use common::*;

fn nats_peer(port: u16) -> Command {
    python_peer("nats_peer.py", port)
}

#[test]
fn actormq_pub_reaches_a_nats_py_subscriber() {
    let Some(server) = BrokerServer::any(Broker::Nats) else {
        return skip_without("nats-server");
    };
    let (mut python, out) =
        python_subscriber(nats_peer(server.port).args(["sub", "cats.persian", "2"]));
    let endpoint = server.endpoint();
    run(20, async move {
        let publisher = Socket::new(SocketType::Pub).unwrap();
        let mut events = publisher.monitor();
        publisher.connect(endpoint.as_str()).await.unwrap();
        handshakes(&mut events, 1).await;
        publisher
            .send(["cats.siamese", "not for python"])
            .await
            .unwrap();
        publisher.send(["cats.persian", "bowler"]).await.unwrap();
        publisher.send(["cats.persian", "fedora"]).await.unwrap();
        for bad in [
            Multipart::from(["a b", "x"]),
            Multipart::from(["cats.>", "x"]),
            Multipart::from(["t", "a", "b"]),
        ] {
            let err = publisher.send(bad).await.unwrap_err().to_string();
            assert!(err.contains("cannot send over nats://"), "{err}");
        }
        publisher.close().await;
    });
    let lines: Vec<String> = out.lines().map(Result::unwrap).collect();
    assert!(python.wait().unwrap().success());
    assert_eq!(lines, ["cats.persian bowler", "cats.persian fedora"]);
}

#[test]
fn a_nats_py_publisher_reaches_a_sub_with_prefix_semantics_once_per_message() {
    let Some(server) = BrokerServer::own(Broker::Nats) else {
        return skip_without("nats-server");
    };
    let port = server.port;
    let endpoint = server.endpoint();
    run(30, async move {
        let sub = Socket::new(SocketType::Sub).unwrap();
        let mut events = sub.monitor();
        sub.connect(endpoint.as_str()).await.unwrap();
        handshakes(&mut events, 1).await;
        // "cats.pers" is not a subject boundary: NATS sends cats.>, the SUB filters; "c" is
        // wider still; a message matching both comes once
        sub.subscribe("cats.pers").await.unwrap();
        sub.subscribe("c").await.unwrap();
        sub.subscribe("cats.pers").await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let python = nats_peer(port)
            .args(["pub", "cats.persian", "3", "bowler"])
            .spawn()
            .unwrap();
        for _ in 0..3 {
            assert_eq!(
                sub.recv().await.unwrap(),
                Multipart::from(["cats.persian", "bowler"])
            );
        }
        assert!(
            recv_within(&sub, 300).await.is_none(),
            "a message came twice"
        );
        let done = tokio::task::spawn_blocking(move || python.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert!(done.status.success());
        // dogs match "c"? no: only prefixes of the topic
        let other = nats_peer(port)
            .args(["pub", "dogs.x", "1", "woof"])
            .spawn()
            .unwrap();
        assert!(recv_within(&sub, 500).await.is_none());
        let _ = tokio::task::spawn_blocking(move || other.wait_with_output()).await;
    });
}

#[test]
fn nats_refuses_what_it_cannot_carry() {
    let Some(server) = BrokerServer::any(Broker::Nats) else {
        return skip_without("nats-server");
    };
    let endpoint = server.endpoint();
    run(10, async move {
        let push = Socket::new(SocketType::Push).unwrap();
        let err = push
            .connect(endpoint.as_str())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("publish/subscribe"), "{err}");
        let sub = Socket::new(SocketType::Sub).unwrap();
        let err = sub.bind(endpoint.as_str()).await.unwrap_err().to_string();
        assert!(err.contains("connected to, not bound"), "{err}");
    });
}

#[test]
fn a_subscriber_reconnects_and_resubscribes_when_nats_restarts() {
    match BrokerServer::own(Broker::Nats) {
        Some(server) => resubscribes_after_a_broker_restart(server),
        None => skip_without("nats-server"),
    }
}
