//! PUSH→PULL and PUB→SUB throughput over tcp, ipc and inproc (across threads, and PUSH within
//! one actix System: `inproc-local`): actormq and libzmq in the same run, as a table.
//!
//! ```text
//! cargo run --release --example throughput [-- RUNS [TRANSPORT...]]
//! ACTORMQ_BENCH_ONLY=actormq cargo run --release --example throughput   # one side only
//! ```

#[path = "../benches/harness.rs"]
mod harness;

fn main() {
    harness::table();
}
