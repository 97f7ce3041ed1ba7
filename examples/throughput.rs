//! PUSH→PULL throughput over tcp, ipc and inproc (across threads, and within one actix
//! System: `inproc-local`): actormq and libzmq in the same run, as a table.
//!
//! ```text
//! cargo run --release --example throughput [-- RUNS [TRANSPORT...]]
//! ACTORMQ_BENCH_ONLY=actormq cargo run --release --example throughput   # one side only
//! ```

use std::time::Duration;

#[path = "../benches/harness.rs"]
mod harness;
use harness::PushPull;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let mut transports: Vec<String> = args.collect();
    if transports.is_empty() {
        transports = vec![
            "tcp".into(),
            "ipc".into(),
            "inproc".into(),
            "inproc-local".into(),
        ];
    }
    println!("PUSH -> PULL, sender and receiver on their own threads, median of {runs} runs");
    println!(
        "{:<10} {:<8} {:>8} {:>10} {:>14} {:>10}",
        "transport", "impl", "size", "messages", "msg/s", "MB/s"
    );
    for transport in &transports {
        for (size, count) in [(16usize, 2_000_000u64), (256, 1_000_000), (4096, 200_000)] {
            // inproc-local: both actormq sockets on one actix System (one thread), as actors of
            // one application are; libzmq has no such mode (its sockets need a thread each)
            let mut impls: Vec<(&str, Box<dyn PushPull>)> = if transport == "inproc-local" {
                let ours = harness::Actormq::same_thread(&harness::endpoint("inproc"), size);
                vec![("actormq", Box::new(ours))]
            } else {
                let ours = harness::Actormq::new(&harness::endpoint(transport), size);
                let theirs = harness::Libzmq::new(&harness::endpoint(transport), size);
                vec![("actormq", Box::new(ours)), ("libzmq", Box::new(theirs))]
            };
            // ACTORMQ_BENCH_ONLY=actormq (or libzmq) runs one side only, for profiling
            let only = std::env::var("ACTORMQ_BENCH_ONLY").ok();
            impls.retain(|(name, _)| only.as_deref().is_none_or(|o| o == *name));
            for (name, imp) in impls.iter_mut() {
                let t = median((0..runs).map(|_| imp.run(count)).collect());
                let rate = count as f64 / t.as_secs_f64();
                let mbs = rate * size as f64 / 1e6;
                println!(
                    "{transport:<10} {name:<8} {size:>8} {count:>10} {rate:>14.0} {mbs:>10.1}"
                );
            }
        }
    }
}
