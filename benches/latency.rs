//! Criterion benchmark: REQ/REP round trips of 16 bytes, the replier on its own thread, over
//! inproc and tcp (the figure to watch: inproc should cost well under tcp).
//!
//! `cargo bench --bench latency` (time per iteration = one round trip).

use std::time::{Duration, Instant};

use actormq::{Socket, SocketType};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

/// A REP answering everything on its own thread; returns its bound endpoint.
fn replier(endpoint: String) -> actormq::Endpoint {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix::System::new().block_on(async move {
            let rep = Socket::new(SocketType::Rep).expect("a REP");
            tx.send(rep.bind(endpoint.as_str()).await.expect("binds"))
                .expect("the bench waits");
            while let Ok(m) = rep.recv().await {
                if rep.send(m).await.is_err() {
                    return;
                }
            }
        })
    });
    rx.recv().expect("bound")
}

fn round_trips(c: &mut Criterion) {
    let mut group = c.benchmark_group("req_rep_16B");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (transport, endpoint) in [
        ("inproc", "inproc://latency-bench".to_string()),
        ("tcp", "tcp://127.0.0.1:0".to_string()),
    ] {
        let ep = replier(endpoint);
        let sys = actix::System::new();
        let req = sys.block_on(async {
            let req = Socket::new(SocketType::Req).expect("a REQ");
            req.connect(&ep).await.expect("connects");
            req
        });
        group.bench_function(BenchmarkId::new("round_trip", transport), |b| {
            b.iter_custom(|n| {
                sys.block_on(async {
                    let start = Instant::now();
                    for _ in 0..n {
                        req.send([0x5a_u8; 16].to_vec()).await.expect("sends");
                        req.recv().await.expect("a reply");
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, round_trips);
criterion_main!(benches);
