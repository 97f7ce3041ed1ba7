//! `pub` and `sub` over `redis://` against a real Redis server, with the line contract scripts
//! depend on (`--raw`: `persian<TAB>bowler`), and overlapping topics printed once.
#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

#[path = "../../tests/common/brokers.rs"]
mod brokers;
mod common;

use brokers::*;
use common::*;

/// Sends a raw Redis command and returns the first reply line.
fn redis(port: u16, args: &[&str]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut cmd = format!("*{}\r\n", args.len());
    for a in args {
        cmd.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(cmd.as_bytes()).unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    line
}

#[test]
fn sub_prints_redis_publications_raw_once_despite_overlapping_topics() {
    // it counts the server's pattern subscriptions: a server of its own
    let Some(server) = BrokerServer::own(Broker::Redis) else {
        return skip_without("redis-server");
    };
    let ep = server.endpoint();
    let sub = spawn(&[
        "sub",
        "--connect",
        &ep,
        "--topic",
        "pers",
        "--topic",
        "persian",
        "--raw",
        "--count",
        "2",
    ]);
    // publish until both patterns are in place (PUBLISH answers how many received it)
    let mut tries = 0;
    while redis(server.port, &["PUBSUB", "NUMPAT"]).trim() != ":2" {
        tries += 1;
        assert!(tries < 200, "the subscriber never subscribed");
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    redis(server.port, &["PUBLISH", "persian", "bowler"]);
    redis(server.port, &["PUBLISH", "siamese", "not printed"]);
    redis(server.port, &["PUBLISH", "person", "fez"]);
    let (code, out, err) = sub.finish();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "persian\tbowler\nperson\tfez\n");
}

#[test]
fn pub_turns_each_stdin_line_into_a_redis_publish() {
    let Some(server) = BrokerServer::any(Broker::Redis) else {
        return skip_without("redis-server");
    };
    let mut listener = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    listener
        .write_all(b"*2\r\n$9\r\nSUBSCRIBE\r\n$7\r\npersian\r\n")
        .unwrap();
    let mut reader = BufReader::new(listener.try_clone().unwrap());
    let mut lines = Vec::new();
    for _ in 0..6 {
        let mut l = String::new();
        reader.read_line(&mut l).unwrap(); // the subscription's confirmation
        lines.push(l);
    }
    let out = run_with(
        &[
            "pub",
            "--connect",
            &server.endpoint(),
            "--topic",
            "persian",
            "--raw",
        ],
        "bowler\nfedora\n",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got = Vec::new();
    for _ in 0..2 {
        // *3 $7 message $7 persian $N data
        let mut fields = Vec::new();
        for _ in 0..7 {
            let mut l = String::new();
            reader.read_line(&mut l).unwrap();
            fields.push(l.trim().to_string());
        }
        got.push((fields[4].clone(), fields[6].clone()));
    }
    assert_eq!(
        got,
        [
            ("persian".to_string(), "bowler".to_string()),
            ("persian".to_string(), "fedora".to_string())
        ]
    );
}

#[test]
fn push_and_pull_share_work_through_a_redis_stream() {
    let Some(server) = BrokerServer::any(Broker::Redis) else {
        return skip_without("redis-server");
    };
    let key = format!("cli.tasks.{}", std::process::id());
    let tasks = format!("{}/{key}", server.endpoint());
    // the stream keeps the work until a puller comes
    let out = run_with(
        &["push", "--connect", &tasks, "--raw"],
        "resize\t cat.png\nfeed\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, out, err) = spawn(&["pull", "--connect", &tasks, "--raw", "--count", "2"]).finish();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "resize\t cat.png\nfeed\n");
    assert_eq!(
        redis(server.port, &["XLEN", &key]).trim(),
        ":0",
        "acknowledged and deleted"
    );
}
