//! `redis://HOST:PORT/STREAM`: PUSH/PULL as a durable work queue on a Redis stream with a
//! consumer group, against a real Redis server: work pushed before any puller waits for one,
//! pullers share it, entries are acknowledged only once the application has received them,
//! entries appended by redis-py arrive, and a puller killed with messages in flight loses
//! nothing (another claims them). Without `redis-server` each test says it was skipped (CI
//! sets `ACTORMQ_REQUIRE_BROKERS`, so there a missing server fails).

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use actormq::{Multipart, Socket, SocketOptions, SocketType};
use common::*;

/// Sends a Redis command and returns the first integer in its reply (`XLEN`, `XPENDING`'s
/// count).
fn redis_int(port: u16, args: &[&str]) -> i64 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut cmd = format!("*{}\r\n", args.len());
    for a in args {
        cmd.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(cmd.as_bytes()).unwrap();
    let mut reader = BufReader::new(s);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(!line.starts_with('-'), "redis: {line}");
        if let Some(n) = line.trim().strip_prefix(':') {
            return n.parse().unwrap();
        }
    }
}

async fn connected(kind: SocketType, endpoint: &str, opts: SocketOptions) -> Socket {
    connected_with(kind, endpoint, opts).await
}

#[test]
fn work_pushed_before_any_puller_waits_for_the_pullers_who_share_it() {
    let Some(server) = BrokerServer::any(Broker::Redis) else {
        return skip_without("redis-server");
    };
    let port = server.port;
    let key = format!("tasks.shared.{}", std::process::id());
    let tasks = format!("{}/{key}", server.endpoint());
    let python = python_peer("redis_peer.py", port)
        .args(["xadd", &key, "3", "from python"])
        .status()
        .unwrap();
    assert!(python.success());
    run(30, async move {
        let push = connected(SocketType::Push, &tasks, SocketOptions::default()).await;
        let n = 100;
        for i in 0..n {
            push.send([format!("task {i}"), String::new(), "x".repeat(i % 3)])
                .await
                .unwrap();
        }
        push.send("one frame").await.unwrap();
        push.close().await;
        let a = connected(SocketType::Pull, &tasks, SocketOptions::default()).await;
        let b = connected(SocketType::Pull, &tasks, SocketOptions::default()).await;
        let mut seen = BTreeSet::new();
        let mut python = BTreeSet::new();
        let mut single = 0;
        while seen.len() + python.len() + single < n + 4 {
            let msg = tokio::select! {
                m = a.recv() => m.unwrap(),
                m = b.recv() => m.unwrap(),
            };
            let f = msg.frames();
            match f.len() {
                1 => {
                    assert_eq!(msg, Multipart::from("one frame"));
                    single += 1;
                }
                2 => {
                    assert!(
                        f[0].starts_with(b"from python ") && f[1] == "python",
                        "{msg:?}"
                    );
                    assert!(python.insert(f[0].clone()), "{msg:?} came twice");
                }
                _ => {
                    assert_eq!(f.len(), 3, "{msg:?}");
                    let i = task_number(&f[0]);
                    assert!(f[1].is_empty() && f[2] == "x".repeat(i % 3));
                    assert!(seen.insert(i), "task {i} came twice");
                }
            }
        }
        for s in [&a, &b] {
            assert!(recv_within(s, 300).await.is_none(), "a task came twice");
        }
        // each was acknowledged and deleted once received
        eventually("the stream is empty", || {
            redis_int(port, &["XLEN", &key]) == 0
        })
        .await;
    });
}

#[test]
fn entries_are_acknowledged_only_once_the_application_received_them() {
    let Some(server) = BrokerServer::any(Broker::Redis) else {
        return skip_without("redis-server");
    };
    let port = server.port;
    let key = format!("tasks.acks.{}", std::process::id());
    let tasks = format!("{}/{key}", server.endpoint());
    run(30, async move {
        let pull = connected(SocketType::Pull, &tasks, SocketOptions::default()).await;
        let push = connected(SocketType::Push, &tasks, SocketOptions::default()).await;
        for i in 0..10 {
            push.send(format!("task {i}")).await.unwrap();
        }
        let pending = || redis_int(port, &["XPENDING", &key, "actormq"]);
        // all ten read into the socket, none received by the application: all pending
        eventually("ten pending", || pending() == 10).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            pending(),
            10,
            "acknowledged before the application had them"
        );
        for i in 0..4 {
            assert_eq!(
                pull.recv().await.unwrap(),
                Multipart::from(format!("task {i}"))
            );
        }
        eventually("six pending", || pending() == 6).await;
        assert_eq!(
            redis_int(port, &["XLEN", &key]),
            6,
            "acknowledged entries are deleted"
        );
        // the rest in batches: each acknowledged as it is handed over
        let mut rest = Vec::new();
        while rest.len() < 6 {
            pull.recv_many(&mut rest, 64).await.unwrap();
        }
        let want: Vec<_> = (4..10)
            .map(|i| Multipart::from(format!("task {i}")))
            .collect();
        assert_eq!(rest, want);
        eventually("none pending", || pending() == 0).await;
    });
}

/// Set in the child process of [`a_killed_puller_loses_nothing`]: the endpoint it pulls from.
const CHILD: &str = "ACTORMQ_TEST_STREAM_CHILD";

#[test]
fn a_killed_puller_loses_nothing() {
    if let Some(endpoint) = is_killed_puller(CHILD) {
        killed_puller_child(endpoint);
    }
    let Some(server) = BrokerServer::any(Broker::Redis) else {
        return skip_without("redis-server");
    };
    let port = server.port;
    let key = format!("tasks.killed.{}", std::process::id());
    let base = format!("{}/{key}", server.endpoint());
    let n = 200;
    run(20, {
        let base = base.clone();
        async move { push_tasks(&base, n).await }
    });
    let mut in_flight = 0;
    let done = killed_puller("a_killed_puller_loses_nothing", CHILD, &base, || {
        // the puller has read more than it printed: pending in the group, unacknowledged
        in_flight = redis_int(port, &["XPENDING", &key, "actormq"]);
        assert!(in_flight > 0, "nothing in flight");
    });
    // another puller claims what the dead one held, once idle 500 ms, and reads the rest
    let claiming = format!("{base}?claim_idle_ms=500");
    run(30, async move {
        let again = pull_the_rest(&claiming, done, n).await;
        eprintln!("{in_flight} in flight at the kill; {again} delivered twice");
        eventually("the stream is empty", || {
            redis_int(port, &["XLEN", &key]) == 0
        })
        .await;
    });
}
