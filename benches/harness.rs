//! PUSH→PULL throughput harness shared by the criterion bench (`benches/throughput.rs`) and the
//! table-printing example (`examples/throughput.rs`). Each side runs on its own thread, as two
//! processes would: the receiver counts messages and wakes the sender when a run is complete.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use actix::SystemRunner;
use actormq::{Multipart, Socket, SocketType};
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

/// actormq PUSH (this thread) → actormq PULL (its own thread and actix System).
pub struct Actormq {
    sys: SystemRunner,
    push: Socket,
    msg: Multipart,
    progress: Arc<Progress>,
}

impl Actormq {
    /// Binds a PULL on `endpoint` (e.g. `tcp://127.0.0.1:0`) and connects a PUSH to it.
    pub fn new(endpoint: &str, size: usize) -> Self {
        let progress = Arc::new(Progress::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let p = progress.clone();
        let endpoint = endpoint.to_string();
        std::thread::spawn(move || {
            actix::System::new().block_on(async move {
                let pull = Socket::new(SocketType::Pull).unwrap();
                tx.send(pull.bind(endpoint.as_str()).await.unwrap())
                    .unwrap();
                while pull.recv().await.is_ok() {
                    p.count();
                }
            })
        });
        let bound = rx.recv().unwrap();
        let sys = actix::System::new();
        let push = sys.block_on(async {
            let push = Socket::new(SocketType::Push).unwrap();
            push.connect(&bound).await.unwrap();
            push
        });
        let msg = Multipart::from(Bytes::from(vec![0x5a; size]));
        let mut me = Actormq {
            sys,
            push,
            msg,
            progress,
        };
        me.run(1000); // connection up and warm
        me
    }
}

impl PushPull for Actormq {
    fn run(&mut self, n: u64) -> Duration {
        let target = self.progress.arm(n);
        let (push, msg, progress) = (&self.push, &self.msg, &self.progress);
        self.sys.block_on(async move {
            let start = Instant::now();
            for _ in 0..n {
                push.send(msg.clone()).await.unwrap();
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

/// libzmq PUSH (this thread, its own context) → libzmq PULL (its own thread and context).
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
        std::thread::spawn(move || {
            let ctx = zmq::Context::new();
            let pull = ctx.socket(zmq::PULL).unwrap();
            pull.bind(&endpoint).unwrap();
            tx.send(pull.get_last_endpoint().unwrap().unwrap()).unwrap();
            let mut msg = zmq::Message::new();
            while pull.recv(&mut msg, 0).is_ok() {
                p.count();
            }
        });
        let bound = rx.recv().unwrap();
        let ctx = zmq::Context::new();
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
