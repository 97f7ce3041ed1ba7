//! Load on one socket: many concurrent peers, every message accounted for, memory sampled.
//!
//! The default run is short (100 peers). The long one, 1000 peers for longer, is ignored by
//! default: `cargo test --release --test soak -- --ignored --nocapture`.

mod common;

use std::time::Instant;

use actormq::{Multipart, Socket, SocketOptions, SocketType};
use common::*;

/// `peers` PUSH sockets, each on a connection of its own, send `rounds` rounds of one
/// 64-byte message each to one PULL; returns the RSS samples (one per round, after the first).
async fn many_peers(peers: usize, rounds: usize) -> Vec<u64> {
    let pull = Socket::new(SocketType::Pull).unwrap();
    let ep = pull.bind("tcp://127.0.0.1:0").await.unwrap();
    let mut pushes = Vec::with_capacity(peers);
    for _ in 0..peers {
        let push =
            Socket::with_options(SocketType::Push, SocketOptions::default().sndhwm(100)).unwrap();
        push.connect(&ep).await.unwrap();
        pushes.push(push);
    }
    // no wait for the handshakes: each PUSH queues its first message until it is connected
    let mut samples = Vec::new();
    let payload = vec![0x5a_u8; 64];
    for round in 0..rounds {
        for (i, push) in pushes.iter().enumerate() {
            push.send(Multipart::from([
                format!("{i}").into_bytes(),
                format!("{round}").into_bytes(),
                payload.clone(),
            ]))
            .await
            .unwrap();
        }
        // every message of the round arrives, once, from the peer that sent it
        let mut seen = vec![false; peers];
        for _ in 0..peers {
            let m = pull.recv().await.unwrap();
            let i: usize = std::str::from_utf8(&m.frames()[0])
                .unwrap()
                .parse()
                .unwrap();
            let r: usize = std::str::from_utf8(&m.frames()[1])
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(r, round, "a message of another round");
            assert!(!seen[i], "peer {i} delivered twice in round {round}");
            seen[i] = true;
        }
        if round > 0 {
            samples.push(rss());
        }
    }
    for push in &pushes {
        push.close().await;
        assert_eq!(push.undelivered(), 0);
    }
    samples
}

/// RSS must not grow round after round once every connection is up: the last sample is within
/// `slack` of the first.
fn assert_flat(samples: &[u64], slack: u64) {
    let (first, last) = (samples[0], *samples.last().unwrap());
    let peak = samples.iter().max().copied().unwrap_or(0);
    eprintln!(
        "RSS over {} rounds: first {} KiB, last {} KiB, peak {} KiB",
        samples.len(),
        first / 1024,
        last / 1024,
        peak / 1024
    );
    assert!(
        last <= first + slack,
        "memory grew from {first} to {last} bytes over the rounds"
    );
}

#[test]
fn a_hundred_concurrent_peers_on_one_socket() {
    run(60, async {
        let samples = many_peers(100, 20).await;
        assert_flat(&samples, 16 << 20);
    });
}

#[test]
#[ignore = "long: 1000 peers; run with --ignored"]
fn a_thousand_concurrent_peers_on_one_socket() {
    run(600, async {
        let started = Instant::now();
        let samples = many_peers(1000, 200).await;
        eprintln!("1000 peers x 200 rounds in {:?}", started.elapsed());
        assert_flat(&samples, 32 << 20);
    });
}
