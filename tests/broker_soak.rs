//! A request/reply broker under load with failures: a ROUTER/DEALER queue device, workers
//! (REP) that crash at random mid-request and come back, and lazy-pirate clients (REQ with a
//! timeout, a fresh socket and a retry when no reply comes). Every request is accounted for:
//! answered with its own reply, or reported lost after the retries, never silently gone.
//!
//! The default run is short; the five-minute one is ignored by default:
//! `cargo test --release --test broker_soak -- --ignored --nocapture`.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use actormq::{Multipart, Socket, SocketOptions, SocketType};
use common::*;

#[global_allocator]
static ALLOC: Counting = Counting;

/// A tiny deterministic generator (xorshift), so that a failing run can be repeated.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Outcome counts of all clients.
#[derive(Default, Debug)]
struct Tally {
    sent: u64,
    answered: u64,
    lost: u64,
    retries: u64,
    crashes: u64,
}

/// One worker: answers requests until it "crashes" (one request in `crash_one_in`): its socket
/// is dropped without a reply, with nothing lingering, and a new worker takes its place.
async fn worker(backend: String, seed: u64, crash_one_in: u64, tally: Rc<RefCell<Tally>>) {
    let mut rng = Rng(seed);
    loop {
        let opts = SocketOptions::default().linger(Some(Duration::ZERO));
        let rep = Socket::with_options(SocketType::Rep, opts).unwrap();
        rep.connect(backend.as_str()).await.unwrap();
        loop {
            let Ok(request) = rep.recv().await else {
                return;
            };
            if rng.below(crash_one_in) == 0 {
                tally.borrow_mut().crashes += 1;
                break; // killed mid-request: the socket goes, the request is never answered
            }
            let mut reply = request.frames().to_vec();
            reply.push("done".into());
            if rep.send(Multipart::from(reply)).await.is_err() {
                return;
            }
        }
        drop(rep);
        tokio::time::sleep(Duration::from_millis(rng.below(50) + 10)).await;
    }
}

/// A lazy-pirate client: each request waits `timeout` for its reply; without one the REQ
/// socket is thrown away, a new one sends the request again, up to `retries` times; then the
/// request is reported lost.
async fn client(
    frontend: String,
    id: u64,
    until: Instant,
    timeout: Duration,
    retries: u32,
    tally: Rc<RefCell<Tally>>,
) {
    let fresh = || {
        let opts = SocketOptions::default().linger(Some(Duration::ZERO));
        Socket::with_options(SocketType::Req, opts).unwrap()
    };
    let mut req = fresh();
    req.connect(frontend.as_str()).await.unwrap();
    let mut n = 0u64;
    while Instant::now() < until {
        n += 1;
        let body = format!("{id}:{n}");
        tally.borrow_mut().sent += 1;
        let mut attempt = 0;
        loop {
            req.send(body.clone()).await.unwrap();
            match tokio::time::timeout(timeout, req.recv()).await {
                Ok(Ok(reply)) => {
                    assert_eq!(
                        reply,
                        Multipart::from([body.clone(), "done".to_string()]),
                        "a reply to another request"
                    );
                    tally.borrow_mut().answered += 1;
                    break;
                }
                _ => {
                    attempt += 1;
                    req = fresh();
                    req.connect(frontend.as_str()).await.unwrap();
                    if attempt > retries {
                        tally.borrow_mut().lost += 1;
                        break;
                    }
                    tally.borrow_mut().retries += 1;
                }
            }
        }
    }
}

async fn soak(
    length: Duration,
    clients: u64,
    workers: u64,
    crash_one_in: u64,
) -> (Tally, Vec<(u64, u64)>) {
    let frontend = Socket::new(SocketType::Router).unwrap();
    let front = frontend
        .bind("tcp://127.0.0.1:0")
        .await
        .unwrap()
        .to_string();
    let backend = Socket::new(SocketType::Dealer).unwrap();
    let back = backend.bind("tcp://127.0.0.1:0").await.unwrap().to_string();
    actix::spawn(actormq::proxy(frontend, backend, None));
    let tally = Rc::new(RefCell::new(Tally::default()));
    for w in 0..workers {
        actix::spawn(worker(
            back.clone(),
            0x9e37_79b9 + w,
            crash_one_in,
            tally.clone(),
        ));
    }
    let until = Instant::now() + length;
    let mut running = Vec::new();
    for c in 0..clients {
        let t = tally.clone();
        running.push(actix::spawn(client(
            front.clone(),
            c,
            until,
            Duration::from_millis(300),
            3,
            t,
        )));
    }
    // RSS and live heap bytes every 100 ms while the load runs
    let mut samples = Vec::new();
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
        samples.push((rss(), live_bytes()));
    }
    for r in running {
        r.await.unwrap();
    }
    let tally = std::mem::take(&mut *tally.borrow_mut());
    (tally, samples)
}

/// Mean of the heap-in-use samples in `samples[from..to]`.
fn mean_heap(samples: &[(u64, u64)], from: usize, to: usize) -> u64 {
    let part = &samples[from..to];
    part.iter().map(|s| s.1).sum::<u64>() / part.len().max(1) as u64
}

fn check(tally: &Tally, samples: &[(u64, u64)]) {
    eprintln!("{tally:?}");
    let quarter = samples.len() / 4;
    let ((first, _), (last, _)) = (samples[quarter], *samples.last().unwrap());
    let peak = samples.iter().map(|s| s.0).max().unwrap_or(0);
    // heap in use, averaged over the second quarter of the run and over the last one
    let early = mean_heap(samples, quarter, 2 * quarter);
    let late = mean_heap(samples, samples.len() - quarter, samples.len());
    eprintln!(
        "RSS: after warm-up {} KiB, at the end {} KiB, peak {} KiB; heap in use: mean of the second quarter {} KiB, of the last quarter {} KiB; RSS once the C allocator returned its free pages {} KiB",
        first / 1024,
        last / 1024,
        peak / 1024,
        early / 1024,
        late / 1024,
        trimmed_rss() / 1024
    );
    if std::env::var_os("ACTORMQ_SOAK_TRACE").is_some() {
        for (i, (rss, live)) in samples.iter().enumerate().step_by(10) {
            eprintln!(
                "{:>6.1} s  rss {:>8} KiB  heap {:>8} KiB",
                i as f64 / 10.0,
                rss / 1024,
                live / 1024
            );
        }
    }
    assert!(
        tally.answered > 0 && tally.crashes > 0,
        "no load or no failures"
    );
    // every request is accounted for: answered with its own reply, or reported lost
    assert_eq!(
        tally.sent,
        tally.answered + tally.lost,
        "requests silently gone"
    );
    // what we hold does not grow with the number of crashes and retries...
    assert!(
        late <= early + (4 << 20),
        "heap in use grew from {early} to {late} bytes"
    );
    // ...and RSS, which also counts pages the C allocator keeps for reuse, stays in bounds
    assert!(
        last <= first + (32 << 20),
        "memory grew from {first} to {last} bytes"
    );
}

/// RSS after asking glibc to give its free pages back to the system (plain RSS elsewhere).
fn trimmed_rss() -> u64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory held by the allocator.
    unsafe {
        libc::malloc_trim(0);
    }
    rss()
}

#[test]
fn a_broker_with_crashing_workers_accounts_for_every_request() {
    run(60, async {
        let (tally, samples) = soak(Duration::from_secs(4), 8, 4, 50).await;
        check(&tally, &samples);
    });
}

/// A middle length for diagnosis: `ACTORMQ_SOAK_SECS=60 cargo test --release --test
/// broker_soak -- --ignored soak_for --nocapture`.
#[test]
#[ignore = "long: ACTORMQ_SOAK_SECS seconds (default 60); run with --ignored"]
fn soak_for_actormq_soak_secs() {
    let secs = std::env::var("ACTORMQ_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    run(secs + 100, async move {
        let (tally, samples) = soak(Duration::from_secs(secs), 50, 10, 200).await;
        check(&tally, &samples);
    });
}

#[test]
#[ignore = "long: five minutes; run with --ignored"]
fn a_broker_under_five_minutes_of_load_with_crashing_workers() {
    run(400, async {
        let (tally, samples) = soak(Duration::from_secs(300), 50, 10, 200).await;
        check(&tally, &samples);
    });
}
