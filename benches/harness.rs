//! PUSH→PULL throughput harness shared by the criterion bench (`benches/throughput.rs`) and the
//! table-printing example (`examples/throughput.rs`). Each side runs on its own thread, as two
//! processes would: the receiver counts messages and wakes the sender when a run is complete.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use actix::SystemRunner;
use actormq::{Multipart, Socket, SocketOptions, SocketType};
use bytes::Bytes;
use tokio::sync::Notify;

/// Receiver progress shared with the sender.
#[derive(Default)]
struct Progress {
    received: AtomicU64,
    target: AtomicU64,
    done: Notify,
    lock: Mutex<()>,
    cv: Condvar,
}

impl Progress {
    fn count(&self) {
        let n = self.received.fetch_add(1, Ordering::AcqRel) + 1;
        if n == self.target.load(Ordering::Acquire) {
            self.done.notify_one();
            let _g = self.lock.lock().unwrap();
            self.cv.notify_all();
        }
    }

    /// Sets the next target: `n` more messages than received so far.
    fn arm(&self, n: u64) -> u64 {
        let target = self.received.load(Ordering::Acquire) + n;
        self.target.store(target, Ordering::Release);
        target
    }

    fn wait_blocking(&self, target: u64) {
        let mut g = self.lock.lock().unwrap();
        while self.received.load(Ordering::Acquire) < target {
            g = self
                .cv
                .wait_timeout(g, Duration::from_millis(10))
                .unwrap()
                .0;
        }
    }
}

/// One sender/receiver pair over a real endpoint.
pub trait PushPull {
    /// Sends `n` messages and returns the time until the receiver had them all.
    fn run(&mut self, n: u64) -> Duration;
}

/// actormq PUSH → actormq PULL: on two threads (each with its own actix System, as two
/// processes would be), or both on this thread's System (as actors of one application are).
pub struct Actormq {
    sys: SystemRunner,
    push: Socket,
    /// The payload; each message is a fresh buffer copied from it, as an application
    /// serializes each message anew (and as libzmq's `send(&[u8])` copies). Cloning one shared
    /// `Bytes` instead would make sender and receiver threads bounce its refcount's cache line.
    payload: Vec<u8>,
    progress: Arc<Progress>,
    /// Receivers that each get every message (PUB→SUB: the subscribers).
    copies: u64,
}

/// Binds a PULL on `endpoint`, reports the bound endpoint, and counts what it receives.
async fn receiver(
    endpoint: String,
    bound: std::sync::mpsc::Sender<actormq::Endpoint>,
    progress: Arc<Progress>,
) {
    let pull = Socket::new(SocketType::Pull).unwrap();
    bound
        .send(pull.bind(endpoint.as_str()).await.unwrap())
        .unwrap();
    while pull.recv().await.is_ok() {
        progress.count();
    }
}

/// Connects a SUB (subscribed to everything) to `endpoint`, and counts what it receives.
async fn subscriber(endpoint: actormq::Endpoint, progress: Arc<Progress>) {
    let sub = Socket::new(SocketType::Sub).unwrap();
    sub.subscribe("").await.unwrap();
    sub.connect(&endpoint).await.unwrap();
    while sub.recv().await.is_ok() {
        progress.count();
    }
}

impl Actormq {
    /// Binds a PULL on `endpoint` (e.g. `tcp://127.0.0.1:0`) on its own thread, and connects a
    /// PUSH to it from this one.
    pub fn new(endpoint: &str, size: usize) -> Self {
        Self::build(endpoint, size, false)
    }

    /// A PUB with `xpub_nodrop` bound on `endpoint` here, and `subscribers` SUBs, each on its
    /// own thread: a run of `n` messages completes when every subscriber has all of them.
    pub fn pub_sub(endpoint: &str, size: usize, subscribers: usize) -> Self {
        let progress = Arc::new(Progress::default());
        let sys = actix::System::new();
        let (publisher, bound) = sys.block_on(async {
            let opts = SocketOptions::default().xpub_nodrop(true);
            let publisher = Socket::with_options(SocketType::Pub, opts).unwrap();
            let bound = publisher.bind(endpoint).await.unwrap();
            (publisher, bound)
        });
        for _ in 0..subscribers {
            let (bound, p) = (bound.clone(), progress.clone());
            std::thread::spawn(move || actix::System::new().block_on(subscriber(bound, p)));
        }
        let mut me = Actormq {
            sys,
            push: publisher,
            payload: vec![0x5a; size],
            progress,
            copies: subscribers as u64,
        };
        // until every subscription has arrived, what is published reaches fewer subscribers
        loop {
            let target = me.progress.arm(0) + 100 * me.copies;
            me.send(100);
            std::thread::sleep(Duration::from_millis(50));
            if me.progress.received.load(Ordering::Acquire) >= target {
                break;
            }
        }
        me.run(1000);
        me
    }

    /// The same with both sockets on this thread's actix System.
    pub fn same_thread(endpoint: &str, size: usize) -> Self {
        Self::build(endpoint, size, true)
    }

    fn build(endpoint: &str, size: usize, same_thread: bool) -> Self {
        let progress = Arc::new(Progress::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let recv = receiver(endpoint.to_string(), tx, progress.clone());
        let sys = actix::System::new();
        let bound = if same_thread {
            sys.block_on(async {
                actix::spawn(recv);
                loop {
                    if let Ok(bound) = rx.try_recv() {
                        break bound;
                    }
                    tokio::task::yield_now().await;
                }
            })
        } else {
            std::thread::spawn(move || actix::System::new().block_on(recv));
            rx.recv().unwrap()
        };
        let push = sys.block_on(async {
            let push = Socket::new(SocketType::Push).unwrap();
            push.connect(&bound).await.unwrap();
            push
        });
        let payload = vec![0x5a; size];
        let mut me = Actormq {
            sys,
            push,
            payload,
            progress,
            copies: 1,
        };
        me.run(1000); // connection up and warm
        me
    }
}

impl Actormq {
    /// Sends `n` messages, without waiting for them to arrive.
    fn send(&mut self, n: u64) {
        let (push, payload) = (&self.push, &self.payload);
        self.sys.block_on(async move {
            for _ in 0..n {
                push.send(Multipart::from(Bytes::copy_from_slice(payload)))
                    .await
                    .unwrap();
            }
        })
    }
}

impl PushPull for Actormq {
    fn run(&mut self, n: u64) -> Duration {
        let target = self.progress.arm(n * self.copies);
        let (push, payload, progress) = (&self.push, &self.payload, &self.progress);
        self.sys.block_on(async move {
            let start = Instant::now();
            for _ in 0..n {
                push.send(Multipart::from(Bytes::copy_from_slice(payload)))
                    .await
                    .unwrap();
            }
            // Wait on this thread's runtime (the socket's writer runs here too): a fresh
            // registration each round, so a spent or stale wake-up cannot make this spin.
            loop {
                let done = progress.done.notified();
                tokio::pin!(done);
                done.as_mut().enable();
                if progress.received.load(Ordering::Acquire) >= target {
                    break;
                }
                let _ = tokio::time::timeout(Duration::from_millis(5), done).await;
            }
            start.elapsed()
        })
    }
}

/// A fresh endpoint of a transport for one benchmark pair.
pub fn endpoint(transport: &str) -> String {
    use std::sync::atomic::AtomicU32;
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    match transport {
        "tcp" => "tcp://127.0.0.1:0".to_string(),
        "ipc" => format!("ipc:///tmp/actormq-bench-{}-{n}.ipc", std::process::id()),
        "inproc" => format!("inproc://bench-{n}"),
        other => panic!("no benchmark endpoint for transport `{other}` (tcp, ipc, inproc)"),
    }
}

/// libzmq PUSH (this thread) → libzmq PULL (its own thread). Over tcp and ipc each side has
/// its own context (as two processes would); inproc needs one context for both.
pub struct Libzmq {
    push: zmq::Socket,
    _ctx: zmq::Context,
    msg: Vec<u8>,
    progress: Arc<Progress>,
}

impl Libzmq {
    /// Binds a PULL on `endpoint` and connects a PUSH to it.
    pub fn new(endpoint: &str, size: usize) -> Self {
        let progress = Arc::new(Progress::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let p = progress.clone();
        let endpoint = endpoint.to_string();
        let shared = endpoint.starts_with("inproc://");
        let ctx = zmq::Context::new();
        let receiver_ctx = if shared {
            ctx.clone()
        } else {
            zmq::Context::new()
        };
        std::thread::spawn(move || {
            let pull = receiver_ctx.socket(zmq::PULL).unwrap();
            pull.bind(&endpoint).unwrap();
            tx.send(pull.get_last_endpoint().unwrap().unwrap()).unwrap();
            let mut msg = zmq::Message::new();
            while pull.recv(&mut msg, 0).is_ok() {
                p.count();
            }
        });
        let bound = rx.recv().unwrap();
        let push = ctx.socket(zmq::PUSH).unwrap();
        push.connect(&bound).unwrap();
        let mut me = Libzmq {
            push,
            _ctx: ctx,
            msg: vec![0x5a; size],
            progress,
        };
        me.run(1000);
        me
    }
}

impl Libzmq {
    /// A PUB bound on `endpoint` (here) and a SUB subscribed to everything (its own thread),
    /// both with unlimited high-water marks: libzmq's PUB drops at the mark, and the `zmq`
    /// crate cannot set `ZMQ_XPUB_NODROP`, so this is how it runs losslessly.
    pub fn pub_sub(endpoint: &str, size: usize) -> Self {
        let progress = Arc::new(Progress::default());
        let shared = endpoint.starts_with("inproc://");
        let ctx = zmq::Context::new();
        let publisher = ctx.socket(zmq::PUB).unwrap();
        publisher.set_sndhwm(0).unwrap();
        publisher.bind(endpoint).unwrap();
        let bound = publisher.get_last_endpoint().unwrap().unwrap();
        let sub_ctx = if shared {
            ctx.clone()
        } else {
            zmq::Context::new()
        };
        let p = progress.clone();
        std::thread::spawn(move || {
            let sub = sub_ctx.socket(zmq::SUB).unwrap();
            sub.set_rcvhwm(0).unwrap();
            sub.set_subscribe(b"").unwrap();
            sub.connect(&bound).unwrap();
            let mut msg = zmq::Message::new();
            while sub.recv(&mut msg, 0).is_ok() {
                p.count();
            }
        });
        let me = Libzmq {
            push: publisher,
            _ctx: ctx,
            msg: vec![0x5a; size],
            progress,
        };
        // until the subscription has arrived, what is published reaches nobody
        while me.progress.received.load(Ordering::Acquire) == 0 {
            me.push.send(&me.msg[..], 0).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(50));
        me
    }
}

impl PushPull for Libzmq {
    fn run(&mut self, n: u64) -> Duration {
        let target = self.progress.arm(n);
        let start = Instant::now();
        for _ in 0..n {
            self.push.send(&self.msg[..], 0).unwrap();
        }
        self.progress.wait_blocking(target);
        start.elapsed()
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs the table: `RUNS [TRANSPORT...]` from the command line.
pub fn table() {
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
    let command: Vec<String> = std::env::args().skip(1).collect();
    println!(
        "cargo run --release --example throughput -- {}",
        command.join(" ")
    );
    println!(
        "PUSH->PULL and PUB->SUB (actormq: xpub_nodrop, default marks; libzmq: unlimited marks), \
         sender and receiver on their own threads, median of {runs} runs"
    );
    println!(
        "{:<12} {:<8} {:<8} {:>8} {:>10} {:>14} {:>10}",
        "transport", "pattern", "impl", "size", "messages", "msg/s", "MB/s"
    );
    for transport in &transports {
        // ACTORMQ_BENCH_SIZES=16,4096 runs those sizes only, for profiling
        let sizes = std::env::var("ACTORMQ_BENCH_SIZES").ok();
        let wanted = |size: usize| {
            sizes
                .as_deref()
                .is_none_or(|s| s.split(',').any(|w| w.trim() == size.to_string()))
        };
        let local = transport.strip_suffix("-local");
        // ACTORMQ_BENCH_PATTERNS=push (or pub) runs one pattern only
        let patterns = std::env::var("ACTORMQ_BENCH_PATTERNS").unwrap_or("push,pub".into());
        for pattern in patterns.split(',') {
            if pattern == "pub" && local.is_some() {
                continue; // the subscribers run on threads of their own
            }
            for (size, count) in [(16usize, 2_000_000u64), (256, 1_000_000), (4096, 200_000)] {
                if !wanted(size) {
                    continue;
                }
                // inproc-local: both actormq sockets on one actix System (one thread), as actors
                // of one application are; libzmq has no such mode (its sockets need a thread each)
                let mut impls: Vec<(&str, Box<dyn PushPull>)> = match (local, pattern) {
                    (Some(t), _) => {
                        let ours = Actormq::same_thread(&endpoint(t), size);
                        vec![("actormq", Box::new(ours))]
                    }
                    (None, "pub") => vec![
                        (
                            "actormq",
                            Box::new(Actormq::pub_sub(&endpoint(transport), size, 1)),
                        ),
                        (
                            "libzmq",
                            Box::new(Libzmq::pub_sub(&endpoint(transport), size)),
                        ),
                    ],
                    (None, _) => vec![
                        (
                            "actormq",
                            Box::new(Actormq::new(&endpoint(transport), size)),
                        ),
                        ("libzmq", Box::new(Libzmq::new(&endpoint(transport), size))),
                    ],
                };
                // ACTORMQ_BENCH_ONLY=actormq (or libzmq) runs one side only, for profiling
                let only = std::env::var("ACTORMQ_BENCH_ONLY").ok();
                impls.retain(|(name, _)| only.as_deref().is_none_or(|o| o == *name));
                for (name, imp) in impls.iter_mut() {
                    let t = median((0..runs).map(|_| imp.run(count)).collect());
                    let rate = count as f64 / t.as_secs_f64();
                    let mbs = rate * size as f64 / 1e6;
                    println!(
                        "{transport:<12} {pattern:<8} {name:<8} {size:>8} {count:>10} {rate:>14.0} {mbs:>10.1}"
                    );
                }
            }
        }
    }
}
