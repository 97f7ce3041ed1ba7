//! PUSH→PULL throughput over TCP loopback: actormq and libzmq in the same run, as a table.
//!
//! ```text
//! cargo run --release --example throughput [-- RUNS]
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
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    println!("PUSH -> PULL over tcp://127.0.0.1, median of {runs} runs");
    println!(
        "{:<8} {:>8} {:>10} {:>14} {:>10}",
        "impl", "size", "messages", "msg/s", "MB/s"
    );
    for (size, count) in [(16usize, 2_000_000u64), (256, 1_000_000), (4096, 200_000)] {
        let mut impls: Vec<(&str, Box<dyn PushPull>)> = vec![
            (
                "actormq",
                Box::new(harness::Actormq::new("tcp://127.0.0.1:0", size)),
            ),
            (
                "libzmq",
                Box::new(harness::Libzmq::new("tcp://127.0.0.1:0", size)),
            ),
        ];
        for (name, imp) in impls.iter_mut() {
            let t = median((0..runs).map(|_| imp.run(count)).collect());
            let rate = count as f64 / t.as_secs_f64();
            let mbs = rate * size as f64 / 1e6;
            println!("{name:<8} {size:>8} {count:>10} {rate:>14.0} {mbs:>10.1}");
        }
    }
}
