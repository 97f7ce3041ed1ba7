//! `redis://` against a real Redis server and redis-py peers: publish/subscribe both ways,
//! overlapping prefixes delivered once, typed subscribers, refusals, and a broker restart.
//! Without `redis-server` installed each test says it was skipped (CI installs it and sets
//! `ACTORMQ_REQUIRE_BROKERS`, so there a missing server fails). Tests that count the server's
//! subscriptions start a server of their own; the others may share CI's (distinct channels).

mod common;

use std::io::BufRead;
use std::process::Command;

use actormq::typed::Subscriber;
use actormq::{Multipart, Socket, SocketType, Topic};
use common::*;
use serde::Deserialize;

fn redis_peer(port: u16) -> Command {
    python_peer("redis_peer.py", port)
}

#[test]
fn actormq_pub_reaches_a_redis_py_subscriber() {
    let Some(server) = BrokerServer::any(Broker::Redis) else {
        return skip_without("redis-server");
    };
    let (mut python, out) =
        python_subscriber(redis_peer(server.port).args(["sub", "persian", "3"]));
    let endpoint = server.endpoint();
    run(20, async move {
        let publisher = Socket::new(SocketType::Pub).unwrap();
        let mut events = publisher.monitor();
        publisher.connect(endpoint.as_str()).await.unwrap();
        handshakes(&mut events, 1).await;
        for hat in ["bowler", "fedora", "beret"] {
            publisher.send(["persian", hat]).await.unwrap();
        }
        publisher.send(["siamese", "not for python"]).await.unwrap();
        let err = publisher.send(["persian", "a", "b"]).await.unwrap_err();
        assert!(
            err.to_string().contains("cannot send over redis://"),
            "{err}"
        );
        publisher.close().await;
    });
    let lines: Vec<String> = out.lines().map(Result::unwrap).collect();
    assert!(python.wait().unwrap().success());
    assert_eq!(lines, ["persian bowler", "persian fedora", "persian beret"]);
}

#[test]
fn a_redis_py_publisher_reaches_an_actormq_sub_once_per_message_despite_overlaps() {
    let Some(server) = BrokerServer::own(Broker::Redis) else {
        return skip_without("redis-server");
    };
    let port = server.port;
    let endpoint = server.endpoint();
    run(30, async move {
        let sub = Socket::new(SocketType::Sub).unwrap();
        sub.connect(endpoint.as_str()).await.unwrap();
        sub.subscribe("pers").await.unwrap();
        sub.subscribe("persian").await.unwrap();
        let python = redis_peer(port)
            .args(["pub", "persian", "5", "bowler"])
            .spawn()
            .unwrap();
        let mut got = Vec::new();
        while got.len() < 5 {
            got.push(sub.recv().await.unwrap());
        }
        assert!(got
            .iter()
            .all(|m| *m == Multipart::from(["persian", "bowler"])));
        assert!(
            recv_within(&sub, 300).await.is_none(),
            "a message matching two prefixes came twice"
        );
        let status = tokio::task::spawn_blocking(move || python.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert!(status.status.success());
    });
}

/// The seeds' cat, as the Python publisher sends it.
#[derive(Deserialize, Topic, Debug, PartialEq)]
#[topic = "cats.{breed}"]
struct CatInHat {
    breed: String,
    name: String,
    hat: String,
}

#[test]
fn a_typed_subscriber_reads_msgpack_cats_published_by_redis_py() {
    let Some(server) = BrokerServer::own(Broker::Redis) else {
        return skip_without("redis-server");
    };
    let port = server.port;
    let endpoint = server.endpoint();
    run(30, async move {
        let socket = Socket::new(SocketType::Sub).unwrap();
        socket.connect(endpoint.as_str()).await.unwrap();
        let cats = Subscriber::<CatInHat>::new(socket, "cats.persian")
            .await
            .unwrap();
        let python = redis_peer(port).args(["pubcats", "6"]).spawn().unwrap();
        for _ in 0..3 {
            let cat = cats.recv().await.unwrap().value.expect("a MessagePack cat");
            assert_eq!(cat.breed, "persian", "only the breed subscribed to");
            assert_eq!((cat.name.as_str(), cat.hat.as_str()), ("Tom", "bowler"));
        }
        let _ = tokio::task::spawn_blocking(move || python.wait_with_output()).await;
    });
}

#[test]
fn redis_refuses_what_it_cannot_carry() {
    let Some(server) = BrokerServer::any(Broker::Redis) else {
        return skip_without("redis-server");
    };
    let endpoint = server.endpoint();
    run(10, async move {
        let req = Socket::new(SocketType::Req).unwrap();
        let err = req
            .connect(endpoint.as_str())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("not REQ"), "{err}");
        let push = Socket::new(SocketType::Push).unwrap();
        let err = push
            .connect(endpoint.as_str())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("redis://HOST:PORT/STREAM"), "{err}");
        let publisher = Socket::new(SocketType::Pub).unwrap();
        let err = publisher
            .bind(endpoint.as_str())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("connected to, not bound"), "{err}");
    });
}

#[test]
fn a_subscriber_reconnects_and_resubscribes_when_redis_restarts() {
    match BrokerServer::own(Broker::Redis) {
        Some(server) => resubscribes_after_a_broker_restart(server),
        None => skip_without("redis-server"),
    }
}
