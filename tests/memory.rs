//! What queued messages cost in memory, and that a flood toward a subscriber that does not read
//! costs a bounded, flat amount.
//!
//! One test, run in order in its own binary: the resident memory (RSS) of the process is what
//! is measured, so nothing else may run beside it. `ACTORMQ_FLOOD_SECS=60 cargo test --release
//! --test memory -- --nocapture` floods for a minute (the default is 6 s) and prints the samples.

mod common;

use std::time::{Duration, Instant};

use actormq::{Multipart, Socket, SocketOptions, SocketType};
use bytes::Bytes;
use common::*;

/// Messages queued in the first part: enough that the queue's own bytes dwarf the noise.
const QUEUED: u64 = 500_000;

/// Queues `n` fresh 16-byte messages in a PUSH with no peer; returns bytes of RSS per message.
async fn bytes_per_queued_message(n: u64) -> f64 {
    let nobody = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = nobody.local_addr().unwrap();
    drop(nobody);
    let opts = SocketOptions::default()
        .sndhwm(n as usize)
        .linger(Some(Duration::ZERO));
    let push = Socket::with_options(SocketType::Push, opts).unwrap();
    push.connect(format!("tcp://{closed}").as_str())
        .await
        .unwrap();
    let before = rss();
    for i in 0..n {
        let msg = Multipart::from(Bytes::copy_from_slice(&i.to_le_bytes().repeat(2)));
        push.try_send(msg).expect("room for every message");
    }
    let grown = rss().saturating_sub(before);
    assert!(
        push.try_send("one too many").is_err(),
        "the queue holds sndhwm"
    );
    push.close().await;
    grown as f64 / n as f64
}

/// A PUB (default marks: it drops for a full subscriber) floods a SUB that never reads, over
/// tcp, for `secs`; returns the RSS samples taken after the first second, and the copies the
/// publisher counted as dropped.
async fn flood(secs: u64) -> (Vec<u64>, u64) {
    let publisher = Socket::new(SocketType::Pub).unwrap();
    let ep = publisher.bind("tcp://127.0.0.1:0").await.unwrap();
    let sub = Socket::new(SocketType::Sub).unwrap();
    sub.connect(&ep).await.unwrap();
    sub.subscribe("").await.unwrap();
    sync_subscription(&publisher, &sub, "").await;
    let start = Instant::now();
    let mut next_sample = start + Duration::from_secs(1);
    let mut samples = Vec::new();
    let body = vec![0x5a_u8; 100];
    while start.elapsed() < Duration::from_secs(secs) {
        for _ in 0..1000 {
            publisher
                .send(Multipart::from(Bytes::copy_from_slice(&body)))
                .await
                .unwrap();
        }
        if Instant::now() >= next_sample {
            samples.push(rss());
            next_sample += Duration::from_millis(250);
        }
    }
    (samples, publisher.undelivered())
}

#[test]
fn queued_messages_cost_little_and_a_flood_stays_flat() {
    run(300, async {
        let per = bytes_per_queued_message(QUEUED).await;
        println!("{per:.1} bytes of RSS per queued 16-byte message ({QUEUED} queued)");
        assert!(
            per < 100.0,
            "{per:.1} bytes of RSS per queued 16-byte message"
        );

        let secs = std::env::var("ACTORMQ_FLOOD_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(6);
        let (samples, dropped) = flood(secs).await;
        let mean = samples.iter().sum::<u64>() as f64 / samples.len() as f64;
        let (min, max) = (
            *samples.iter().min().unwrap() as f64,
            *samples.iter().max().unwrap() as f64,
        );
        println!(
            "flood for {secs} s: {} RSS samples, mean {:.1} MB, min {:.1}, max {:.1}; {dropped} copies dropped",
            samples.len(),
            mean / 1e6,
            min / 1e6,
            max / 1e6
        );
        assert!(dropped > 0, "the publisher never had to drop");
        assert!(
            max <= mean * 1.1 && min >= mean * 0.9,
            "RSS went from {min} to {max} bytes (mean {mean}) while flooding"
        );
    });
}
