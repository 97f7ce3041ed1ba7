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

/// Resident memory of this process in bytes (Linux).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0)
        * 4096
}

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
) -> (Tally, Vec<u64>) {
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
    // RSS every 100 ms while the load runs
    let mut samples = Vec::new();
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
        samples.push(rss());
    }
    for r in running {
        r.await.unwrap();
    }
    let tally = std::mem::take(&mut *tally.borrow_mut());
    (tally, samples)
}

fn check(tally: &Tally, samples: &[u64]) {
    eprintln!("{tally:?}");
    let warm = samples.len() / 4;
    let (first, last) = (samples[warm], *samples.last().unwrap());
    let peak = samples.iter().max().copied().unwrap_or(0);
    eprintln!(
        "RSS: after warm-up {} KiB, at the end {} KiB, peak {} KiB",
        first / 1024,
        last / 1024,
        peak / 1024
    );
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
    assert!(
        last <= first + (32 << 20),
        "memory grew from {first} to {last} bytes"
    );
}

#[test]
fn a_broker_with_crashing_workers_accounts_for_every_request() {
    run(60, async {
        let (tally, samples) = soak(Duration::from_secs(4), 8, 4, 50).await;
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
