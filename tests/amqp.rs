//! `amqp://` against a real RabbitMQ and pika peers: publish/subscribe through a topic exchange
//! both ways with ZeroMQ's prefix semantics, PUSH/PULL through a durable queue (work waits for
//! pullers, competing pullers share it, a puller killed with messages in flight loses nothing),
//! REQ/REP through direct reply-to both ways, refusals, and a broker restart. Without
//! `rabbitmq-server` each test says it was skipped (CI sets `ACTORMQ_REQUIRE_BROKERS`, so there
//! a missing server fails).

mod common;

use std::collections::BTreeSet;
use std::io::BufRead;
use std::process::Command;
use std::time::Duration;

use actormq::{Multipart, Socket, SocketOptions, SocketType};
use common::*;

fn amqp_peer(port: u16) -> Command {
    python_peer("amqp_peer.py", port)
}

async fn connected(kind: SocketType, endpoint: &str, opts: SocketOptions) -> Socket {
    connected_with(kind, endpoint, opts).await
}

/// A name no other test (or earlier run) uses.
fn unique(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{what}.{}.{nanos}", std::process::id())
}

#[test]
fn publish_and_subscribe_with_pika_both_ways_with_prefix_semantics() {
    let Some(server) = BrokerServer::any(Broker::Amqp) else {
        return skip_without("rabbitmq-server");
    };
    let port = server.port;
    let root = unique("cats");
    let (mut python, out) = python_subscriber(amqp_peer(port).args([
        "sub",
        "amq.topic",
        &format!("{root}.persian"),
        "2",
    ]));
    let endpoint = server.endpoint();
    run(60, async move {
        let publisher = connected(SocketType::Pub, &endpoint, SocketOptions::default()).await;
        publisher
            .send([format!("{root}.siamese"), "not for python".into()])
            .await
            .unwrap();
        for hat in ["bowler", "fedora"] {
            publisher
                .send([format!("{root}.persian"), hat.to_string()])
                .await
                .unwrap();
        }
        let err = publisher
            .send(["t", "a", "b"])
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot send over amqp://"), "{err}");

        // pika publishes; "<root>.pers" is not a word boundary: the binding is "<root>.#", the
        // SUB filters the rest; "<root>" alone matches both bindings: delivered once
        let sub = connected(SocketType::Sub, &endpoint, SocketOptions::default()).await;
        sub.subscribe(format!("{root}.pers")).await.unwrap();
        sub.subscribe(root.clone()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pika = amqp_peer(port)
            .args([
                "pub",
                "amq.topic",
                &format!("{root}.persian"),
                "2",
                "bowler",
            ])
            .status()
            .unwrap();
        assert!(pika.success());
        for _ in 0..2 {
            assert_eq!(
                sub.recv().await.unwrap(),
                Multipart::from([format!("{root}.persian"), "bowler".into()])
            );
        }
        assert!(
            recv_within(&sub, 300).await.is_none(),
            "a message came twice"
        );
        sub.unsubscribe(root.clone()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pika = amqp_peer(port)
            .args(["pub", "amq.topic", &format!("{root}.siamese"), "1", "fez"])
            .status()
            .unwrap();
        assert!(pika.success());
        assert!(
            recv_within(&sub, 500).await.is_none(),
            "{root}.siamese matches the binding {root}.# but not the prefix {root}.pers"
        );
    });
    let lines: Vec<String> = out.lines().map(Result::unwrap).collect();
    assert!(python.wait().unwrap().success());
    assert_eq!(lines.len(), 2);
    assert!(lines[0].ends_with(".persian bowler") && lines[1].ends_with(".persian fedora"));
}

#[test]
fn work_pushed_before_any_puller_waits_and_pullers_share_it() {
    let Some(server) = BrokerServer::any(Broker::Amqp) else {
        return skip_without("rabbitmq-server");
    };
    let tasks = format!("{}?queue={}", server.endpoint(), unique("tasks"));
    run(60, async move {
        let push = connected(SocketType::Push, &tasks, SocketOptions::default()).await;
        let n = 100;
        for i in 0..n {
            push.send([format!("task {i}"), String::new(), "x".repeat(i % 3)])
                .await
                .unwrap();
        }
        push.close().await;
        let a = connected(SocketType::Pull, &tasks, SocketOptions::default()).await;
        let b = connected(SocketType::Pull, &tasks, SocketOptions::default()).await;
        let mut seen = BTreeSet::new();
        while seen.len() < n {
            let msg = tokio::select! {
                m = a.recv() => m.unwrap(),
                m = b.recv() => m.unwrap(),
            };
            let f = msg.frames();
            assert_eq!(f.len(), 3, "{msg:?}");
            let i = task_number(&f[0]);
            assert!(f[1].is_empty() && f[2] == "x".repeat(i % 3));
            assert!(seen.insert(i), "task {i} came twice");
        }
        for s in [&a, &b] {
            assert!(recv_within(s, 300).await.is_none(), "a task came twice");
        }
    });
}

/// Set in the child process of [`a_killed_puller_loses_nothing`]: the endpoint it pulls from.
const CHILD: &str = "ACTORMQ_TEST_AMQP_CHILD";

#[test]
fn a_killed_puller_loses_nothing() {
    if let Some(endpoint) = is_killed_puller(CHILD) {
        killed_puller_child(endpoint);
    }
    let Some(server) = BrokerServer::any(Broker::Amqp) else {
        return skip_without("rabbitmq-server");
    };
    let tasks = format!("{}?queue={}", server.endpoint(), unique("killed"));
    let n = 200;
    run(30, {
        let tasks = tasks.clone();
        async move { push_tasks(&tasks, n).await }
    });
    let port = server.port;
    let queue = tasks.rsplit('=').next().unwrap().to_string();
    let mut in_flight = 0;
    let done = killed_puller("a_killed_puller_loses_nothing", CHILD, &tasks, || {
        // the puller holds up to its prefetch (rcvhwm 50) delivered and unacknowledged
        let out = amqp_peer(port).args(["ready", &queue]).output().unwrap();
        let ready: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        in_flight = n - PRINTED_BEFORE_THE_KILL - ready;
        assert!(in_flight > 0, "nothing in flight");
    });
    run(60, async move {
        let again = pull_the_rest(&tasks, done, n).await;
        eprintln!("{in_flight} in flight at the kill; {again} delivered twice");
    });
}

#[test]
fn requests_and_replies_through_direct_reply_to_with_pika_both_ways() {
    let Some(server) = BrokerServer::any(Broker::Amqp) else {
        return skip_without("rabbitmq-server");
    };
    let port = server.port;
    let ours = unique("svc.ours");
    let theirs = unique("svc.theirs");
    let (mut replier, replier_out) =
        python_subscriber(amqp_peer(port).args(["reply", &theirs, "2"]));
    let ours_ep = format!("{}?queue={ours}", server.endpoint());
    let theirs_ep = format!("{}?queue={theirs}", server.endpoint());
    run(60, async move {
        // a request sent before any replier waits in the queue
        let opts = SocketOptions::default().req_correlate(true);
        let req = connected(SocketType::Req, &ours_ep, opts).await;
        req.send(["part one", "part two"]).await.unwrap();
        let rep = connected(SocketType::Rep, &ours_ep, SocketOptions::default()).await;
        assert_eq!(
            rep.recv().await.unwrap(),
            Multipart::from(["part one", "part two"])
        );
        rep.send(["reply", "", "three frames"]).await.unwrap();
        assert_eq!(
            req.recv().await.unwrap(),
            Multipart::from(["reply", "", "three frames"])
        );

        // pika asks, our REP answers
        let python = amqp_peer(port)
            .args(["request", &ours, "2", "hello"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        for i in 0..2 {
            assert_eq!(
                rep.recv().await.unwrap(),
                Multipart::from(format!("hello {i}"))
            );
            rep.send(format!("world {i}")).await.unwrap();
        }
        let out = tokio::task::spawn_blocking(move || python.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "world 0\nworld 1\n");

        // we ask, pika answers
        let req = connected(SocketType::Req, &theirs_ep, SocketOptions::default()).await;
        for word in ["cats", "hats"] {
            req.send(word).await.unwrap();
            assert_eq!(
                req.recv().await.unwrap(),
                Multipart::from(word.to_uppercase())
            );
        }
    });
    let lines: Vec<String> = replier_out.lines().map(Result::unwrap).collect();
    assert!(replier.wait().unwrap().success());
    assert_eq!(lines, ["cats", "hats"]);
}

#[test]
fn amqp_refuses_what_it_cannot_carry() {
    // no server needed: refused before connecting
    run(10, async move {
        let pull = Socket::new(SocketType::Pull).unwrap();
        let err = pull
            .connect("amqp://127.0.0.1:5672")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("?queue=NAME"), "{err}");
        let dealer = Socket::new(SocketType::Dealer).unwrap();
        let err = dealer
            .connect("amqp://127.0.0.1:5672?queue=q")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("not DEALER"), "{err}");
        let sub = Socket::new(SocketType::Sub).unwrap();
        let err = sub
            .bind("amqp://127.0.0.1:5672")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("connected to, not bound"), "{err}");
    });
}

#[test]
fn a_subscriber_reconnects_and_rebinds_when_rabbitmq_restarts() {
    match BrokerServer::own(Broker::Amqp) {
        Some(server) => resubscribes_after_a_broker_restart(server),
        None => skip_without("rabbitmq-server"),
    }
}
