//! `nats://` against a real NATS server and nats-py peers: publish/subscribe both ways, prefix
//! semantics with overlapping subscriptions delivered once, PUSH/PULL through a queue group,
//! REQ/REP through NATS request/reply (both ways with nats-py, and a request that waits for its
//! replier), refusals, a server restart, and PUSH/PULL as a durable JetStream work queue (work
//! that waits for its pullers, a nats-py JetStream publisher, and a killed puller that loses
//! nothing).
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
        assert!(err.contains("needs a subject"), "{err}");
        let dealer = Socket::new(SocketType::Dealer).unwrap();
        let err = dealer
            .connect(format!("{endpoint}/tasks").as_str())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("not DEALER"), "{err}");
        let sub = Socket::new(SocketType::Sub).unwrap();
        let err = sub
            .connect(format!("{endpoint}/tasks").as_str())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("topic"), "{err}");
        let sub = Socket::new(SocketType::Sub).unwrap();
        let err = sub.bind(endpoint.as_str()).await.unwrap_err().to_string();
        assert!(err.contains("connected to, not bound"), "{err}");
    });
}

#[test]
fn a_message_over_max_payload_is_counted_undelivered_and_the_rest_goes_on() {
    let Some(server) = BrokerServer::any(Broker::Nats) else {
        return skip_without("nats-server");
    };
    let tasks = format!("{}/big.{}", server.endpoint(), std::process::id());
    run(30, async move {
        let pull = connected(SocketType::Pull, &tasks).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let push = connected(SocketType::Push, &tasks).await;
        // the server's default max_payload is 1 MiB
        push.send(vec![b'x'; 2 << 20]).await.unwrap();
        push.send("small").await.unwrap();
        assert_eq!(pull.recv().await.unwrap(), Multipart::from("small"));
        push.close().await;
        assert_eq!(push.undelivered(), 1);
    });
}

#[test]
fn a_subscriber_reconnects_and_resubscribes_when_nats_restarts() {
    match BrokerServer::own(Broker::Nats) {
        Some(server) => resubscribes_after_a_broker_restart(server),
        None => skip_without("nats-server"),
    }
}

/// Connects a socket of `kind` to `endpoint` and waits for its handshake.
async fn connected(kind: SocketType, endpoint: &str) -> Socket {
    let socket = Socket::new(kind).unwrap();
    let mut events = socket.monitor();
    socket.connect(endpoint).await.unwrap();
    handshakes(&mut events, 1).await;
    socket
}

#[test]
fn push_to_two_pullers_shares_the_work_and_keeps_frames() {
    let Some(server) = BrokerServer::any(Broker::Nats) else {
        return skip_without("nats-server");
    };
    let tasks = format!("{}/tasks.{}", server.endpoint(), std::process::id());
    run(30, async move {
        let a = connected(SocketType::Pull, &tasks).await;
        let b = connected(SocketType::Pull, &tasks).await;
        // the queue subscriptions reach the server before the first push
        tokio::time::sleep(Duration::from_millis(200)).await;
        let push = connected(SocketType::Push, &tasks).await;
        let n = 200;
        for i in 0..n {
            push.send([format!("task {i}"), String::new(), "x".repeat(i % 3)])
                .await
                .unwrap();
        }
        push.send("one frame").await.unwrap();
        let mut seen = std::collections::BTreeSet::new();
        let (mut from_a, mut from_b) = (0, 0);
        let mut single = 0;
        while seen.len() + single < n + 1 {
            let msg = tokio::select! {
                m = a.recv() => { from_a += 1; m.unwrap() }
                m = b.recv() => { from_b += 1; m.unwrap() }
            };
            if msg.len() == 1 {
                assert_eq!(msg, Multipart::from("one frame"));
                single += 1;
                continue;
            }
            assert!(seen.insert(three_frame_task(&msg)), "a task came twice");
        }
        shared_once(&a, &b, from_a, from_b).await;
    });
}

/// The number of a task `[task N, "", "x" * (N % 3)]`, checking its frames.
fn three_frame_task(msg: &Multipart) -> usize {
    let f = msg.frames();
    assert_eq!(f.len(), 3, "{msg:?}");
    let i = task_number(&f[0]);
    assert!(f[1].is_empty() && f[2] == "x".repeat(i % 3), "{msg:?}");
    i
}

/// Both pullers had a share, and neither receives anything more.
async fn shared_once(a: &Socket, b: &Socket, from_a: usize, from_b: usize) {
    assert!(
        from_a > 0 && from_b > 0,
        "one puller took all: {from_a}/{from_b}"
    );
    for s in [a, b] {
        assert!(recv_within(s, 300).await.is_none(), "a task came twice");
    }
}

#[test]
fn nats_py_requests_reach_an_actormq_rep_and_actormq_requests_a_nats_py_replier() {
    let Some(server) = BrokerServer::any(Broker::Nats) else {
        return skip_without("nats-server");
    };
    let port = server.port;
    let id = std::process::id();
    let ours = format!("{}/svc.ours.{id}", server.endpoint());
    let theirs = format!("svc.theirs.{id}");
    let (mut replier, replier_out) =
        python_subscriber(nats_peer(port).args(["reply", &theirs, "2"]));
    let theirs = format!("{}/{theirs}", server.endpoint());
    run(40, async move {
        // python asks, our REP answers
        let rep = connected(SocketType::Rep, &ours).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let subject = ours.rsplit('/').next().unwrap().to_string();
        let python = nats_peer(port)
            .args(["request", &subject, "2", "hello"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        for i in 0..2 {
            let request = rep.recv().await.unwrap();
            assert_eq!(request, Multipart::from(format!("hello {i}")));
            rep.send(format!("world {i}")).await.unwrap();
        }
        let out = tokio::task::spawn_blocking(move || python.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "world 0\nworld 1\n");

        // we ask, python answers (upper-cased)
        let req = connected(SocketType::Req, &theirs).await;
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
fn a_request_waits_for_its_replier_and_multipart_replies_come_back_whole() {
    let Some(server) = BrokerServer::any(Broker::Nats) else {
        return skip_without("nats-server");
    };
    let svc = format!("{}/svc.late.{}", server.endpoint(), std::process::id());
    run(30, async move {
        let opts = actormq::SocketOptions::default().req_correlate(true);
        let req = Socket::with_options(SocketType::Req, opts).unwrap();
        let mut events = req.monitor();
        req.connect(svc.as_str()).await.unwrap();
        handshakes(&mut events, 1).await;
        req.send(["part one", "part two"]).await.unwrap();
        // nobody replies yet: the server says "no responders", the request waits
        assert!(recv_within(&req, 400).await.is_none());
        let rep = connected(SocketType::Rep, &svc).await;
        let request = rep.recv().await.unwrap();
        assert_eq!(request, Multipart::from(["part one", "part two"]));
        rep.send(["reply", "", "three frames"]).await.unwrap();
        assert_eq!(
            req.recv().await.unwrap(),
            Multipart::from(["reply", "", "three frames"])
        );
    });
}

/// A JetStream work queue on a subject and stream of this test's own.
fn jetstream_queue(server: &BrokerServer, name: &str, query: &str) -> (String, String, String) {
    let subject = format!("{name}.{}", std::process::id());
    let stream = format!("{}{}", name.to_uppercase(), std::process::id());
    let endpoint = format!("{}/{subject}?stream={stream}{query}", server.endpoint());
    (endpoint, subject, stream)
}

#[test]
fn jetstream_keeps_work_until_pullers_come_and_they_share_it_once() {
    let Some(server) = BrokerServer::any(Broker::Nats) else {
        return skip_without("nats-server");
    };
    let (endpoint, subject, _) = jetstream_queue(&server, "jobs", "");
    let port = server.port;
    run(60, async move {
        // pushed while no puller exists: JetStream keeps it (core NATS would drop it)
        // batches larger than the pusher's window of unacknowledged publications
        let n = 2 * actormq::transports::nats::jetstream::ACK_WINDOW;
        let opts = actormq::SocketOptions::default().sndhwm(2 * n);
        let push = connected_with(SocketType::Push, &endpoint, opts).await;
        for i in 0..n {
            push.send([format!("task {i}"), String::new(), "x".repeat(i % 3)])
                .await
                .unwrap();
        }
        push.close().await;
        assert_eq!(push.undelivered(), 0);
        // and a nats-py JetStream publisher's messages join them
        let out = nats_peer(port)
            .args(["jspub", &subject, "20", "from python"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let opts = actormq::SocketOptions::default().rcvhwm(100);
        let a = connected_with(SocketType::Pull, &endpoint, opts.clone()).await;
        let b = connected_with(SocketType::Pull, &endpoint, opts).await;
        let mut seen = std::collections::BTreeSet::new();
        let (mut python, mut from_a, mut from_b) = (0, 0, 0);
        while seen.len() + python < n + 20 {
            let msg = tokio::select! {
                m = a.recv() => { from_a += 1; m.unwrap() }
                m = b.recv() => { from_b += 1; m.unwrap() }
            };
            if msg.len() == 1 {
                assert!(msg.frames()[0].starts_with(b"from python "), "{msg:?}");
                python += 1;
                continue;
            }
            assert!(seen.insert(three_frame_task(&msg)), "a task came twice");
        }
        shared_once(&a, &b, from_a, from_b).await;
    });
}

/// Set in the child process of [`a_killed_jetstream_puller_loses_nothing`]: its endpoint.
const CHILD: &str = "ACTORMQ_TEST_JETSTREAM_CHILD";

#[test]
fn a_killed_jetstream_puller_loses_nothing() {
    if let Some(endpoint) = is_killed_puller(CHILD) {
        killed_puller_child(endpoint);
    }
    let Some(server) = BrokerServer::any(Broker::Nats) else {
        return skip_without("nats-server");
    };
    // what a dead puller held is delivered again after 500 ms
    let (endpoint, _, stream) = jetstream_queue(&server, "killed", "&ack_wait_ms=500");
    let port = server.port;
    let n = 200;
    run(20, {
        let endpoint = endpoint.clone();
        async move { push_tasks(&endpoint, n).await }
    });
    let ack_pending = move || -> i64 {
        let out = nats_peer(port)
            .args(["ackpending", &stream, "actormq"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    let mut in_flight = 0;
    let done = killed_puller(
        "a_killed_jetstream_puller_loses_nothing",
        CHILD,
        &endpoint,
        || {
            // the puller has read more than it printed: delivered, unacknowledged
            in_flight = ack_pending();
            assert!(in_flight > 0, "nothing in flight");
        },
    );
    run(30, async move {
        let again = pull_the_rest(&endpoint, done, n).await;
        eprintln!("{in_flight} in flight at the kill; {again} delivered twice");
        eventually("every task acknowledged", || ack_pending() == 0).await;
    });
}
