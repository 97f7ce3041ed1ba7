//! Criterion benchmark: the cost of PUB/XPUB subscriptions, as plain pattern calls (no I/O).
//!
//! `cargo bench --bench subscriptions`. With 1, 10, 1000 and 100 000 subscriptions held by one
//! subscriber, it measures routing one message to another subscriber (`route`) and applying
//! one subscribe + cancel (`apply`). Both should stay flat as the number of other
//! subscriptions grows: they walk the topic's bytes in a trie, never the other topics.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use actormq::patterns::{cancel_message, subscribe_message, Outbox, Pattern, Peer, XPub};
use actormq::{Multipart, SocketType};

fn xpub_with(held: usize) -> (XPub, Outbox) {
    let mut x = XPub::new(false).with_limits(usize::MAX, usize::MAX);
    let mut out = Outbox::default();
    x.peer_joined(Peer::new(1, SocketType::Sub), &mut out)
        .expect("joins");
    x.peer_joined(Peer::new(2, SocketType::Sub), &mut out)
        .expect("joins");
    for i in 0..held {
        x.recv(
            1,
            subscribe_message(format!("held.{i:08}").as_bytes()),
            &mut out,
        );
    }
    x.recv(2, subscribe_message(b"news."), &mut out);
    (x, out)
}

fn subscriptions(c: &mut Criterion) {
    let mut group = c.benchmark_group("xpub_subscriptions");
    group.throughput(Throughput::Elements(1));
    for held in [1usize, 10, 1000, 100_000] {
        let (mut x, mut out) = xpub_with(held);
        let msg = Multipart::from(["news.today", "payload"]);
        group.bench_function(BenchmarkId::new("route", held), |b| {
            b.iter(|| {
                x.send(msg.clone(), &|_| true, &mut out);
                out.drain().count()
            })
        });
        let sub = subscribe_message(b"held.x");
        let cancel = cancel_message(b"held.x");
        group.bench_function(BenchmarkId::new("apply", held), |b| {
            b.iter(|| {
                x.recv(1, sub.clone(), &mut out);
                x.recv(1, cancel.clone(), &mut out)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, subscriptions);
criterion_main!(benches);
