//! `req`/`rep` and `push`/`pull` over `nats://HOST:PORT/SUBJECT` against a real NATS server,
//! from the shell, as scripts use them.
#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

#[path = "../../tests/common/brokers.rs"]
mod brokers;
mod common;

use std::io::Write;

use brokers::*;
use common::*;

#[test]
fn req_asks_a_rep_through_nats() {
    let Some(server) = BrokerServer::any(Broker::Nats) else {
        return skip_without("nats-server");
    };
    let svc = format!("{}/cli.echo.{}", server.endpoint(), std::process::id());
    let rep = spawn(&["rep", "--connect", &svc, "--echo", "--raw", "--count", "2"]);
    // a request sent before the replier subscribed waits for it ("no responders", then again)
    let out = run_with(&["req", "--connect", &svc, "--raw"], "cats\nhats\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "cats\nhats\n");
    let (code, _, err) = rep.finish();
    assert_eq!(code, 0, "{err}");
}

#[test]
fn push_feeds_a_pull_through_a_nats_queue_group() {
    let Some(server) = BrokerServer::any(Broker::Nats) else {
        return skip_without("nats-server");
    };
    let tasks = format!("{}/cli.tasks.{}", server.endpoint(), std::process::id());
    let pull = spawn(&["pull", "--connect", &tasks, "--raw", "--count", "3"]);
    // core NATS drops what is pushed before the puller subscribed: push until it has three
    let mut push = spawn(&["push", "--connect", &tasks, "--raw", "--interval-ms", "20"]);
    let mut stdin = push.child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        for i in 0..500 {
            if writeln!(stdin, "task {i}").is_err() {
                break;
            }
        }
    });
    let (code, out, err) = pull.finish();
    let _ = push.child.kill();
    let _ = feeder.join();
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let numbers: Vec<usize> = lines
        .iter()
        .map(|l| l.strip_prefix("task ").unwrap().parse().unwrap())
        .collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "in order: {out}");
}
