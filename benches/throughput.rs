//! Criterion benchmark: PUSH→PULL throughput over tcp, ipc and inproc, actormq and libzmq side
//! by side (one group per transport).
//!
//! `cargo bench --bench throughput` (elements/s = messages/s). For a table in msg/s and MB/s,
//! run `cargo run --release --example throughput`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

#[path = "harness.rs"]
mod harness;
use harness::PushPull;

fn push_pull(c: &mut Criterion) {
    for transport in ["tcp", "ipc", "inproc"] {
        let mut group = c.benchmark_group(format!("push_pull_{transport}"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        group.throughput(Throughput::Elements(1));
        for size in [16usize, 256, 4096] {
            let mut ours = harness::Actormq::new(&harness::endpoint(transport), size);
            group.bench_function(BenchmarkId::new("actormq", size), |b| {
                b.iter_custom(|n| ours.run(n))
            });
            let mut theirs = harness::Libzmq::new(&harness::endpoint(transport), size);
            group.bench_function(BenchmarkId::new("libzmq", size), |b| {
                b.iter_custom(|n| theirs.run(n))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, push_pull);
criterion_main!(benches);
