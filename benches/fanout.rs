//! Criterion benchmark: PUB→SUB fan-out, one publisher (`xpub_nodrop`, default marks) to 1 and
//! 4 subscribers, each on its own thread, over inproc and tcp.
//!
//! `cargo bench --bench fanout` (elements/s = messages published per second; each subscriber
//! receives every one). Subscription matching with many subscriptions held is measured by
//! `cargo bench --bench subscriptions`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

#[path = "harness.rs"]
mod harness;
use harness::PushPull;

fn fanout(c: &mut Criterion) {
    for transport in ["inproc", "tcp"] {
        let mut group = c.benchmark_group(format!("pub_sub_{transport}"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        group.throughput(Throughput::Elements(1));
        for subscribers in [1usize, 4] {
            for size in [16usize, 256] {
                let mut ours =
                    harness::Actormq::pub_sub(&harness::endpoint(transport), size, subscribers);
                let id = BenchmarkId::new(format!("{subscribers}_subscribers"), size);
                group.bench_function(id, |b| b.iter_custom(|n| ours.run(n)));
            }
        }
        group.finish();
    }
}

criterion_group!(benches, fanout);
criterion_main!(benches);
