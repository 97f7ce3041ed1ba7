//! The throughput table of `examples/throughput.rs`, with mimalloc as Rust's global allocator
//! (libzmq, in C, keeps the system allocator). Passing messages between threads without copying
//! them, as inproc does, frees each buffer on another thread than the one that allocated it,
//! which glibc's allocator handles slowly and mimalloc quickly.
//!
//! ```text
//! cargo run --release --example throughput_mimalloc [-- RUNS [TRANSPORT...]]
//! ```

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../benches/harness.rs"]
mod harness;

fn main() {
    harness::table();
}
