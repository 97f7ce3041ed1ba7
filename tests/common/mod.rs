//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actormq::{Multipart, Socket, SocketEvent, SocketOptions, SocketType};
use tokio::sync::{broadcast, oneshot};

/// Runs a test body in an actix System, failing it if it takes longer than `secs`.
pub fn run<F: Future<Output = ()> + 'static>(secs: u64, body: F) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    actix::System::new().block_on(async move {
        tokio::time::timeout(Duration::from_secs(secs), body)
            .await
            .expect("test timed out");
    });
}

/// The next message, or None after `ms` milliseconds.
pub async fn recv_within(socket: &Socket, ms: u64) -> Option<Multipart> {
    tokio::time::timeout(Duration::from_millis(ms), socket.recv())
        .await
        .ok()
        .map(|r| r.expect("recv"))
}

/// Waits for `n` completed handshakes on a monitor.
pub async fn handshakes(monitor: &mut broadcast::Receiver<SocketEvent>, n: usize) {
    let mut seen = 0;
    while seen < n {
        if let SocketEvent::HandshakeSucceeded { .. } = monitor.recv().await.expect("monitor") {
            seen += 1;
        }
    }
}

/// The next `Disconnected` reason on a monitor.
pub async fn disconnect_reason(monitor: &mut broadcast::Receiver<SocketEvent>) -> String {
    loop {
        if let SocketEvent::Disconnected { reason, .. } = monitor.recv().await.expect("monitor") {
            return reason.to_string();
        }
    }
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Text of a frame.
pub fn text(frame: &[u8]) -> String {
    String::from_utf8_lossy(frame).into_owned()
}

/// Publishes a probe on `topic` until `sub` receives one: the subscription has then reached
/// the publisher. Probes carry the body `probe`; callers ignore such messages.
pub async fn sync_subscription(publisher: &Socket, sub: &Socket, topic: &str) {
    loop {
        publisher
            .send([topic.to_string(), "probe".to_string()])
            .await
            .unwrap();
        if let Some(m) = recv_within(sub, 30).await {
            if m.frames().get(1).is_some_and(|f| f == "probe") {
                return;
            }
        }
    }
}

/// Runs `f` on its own thread with a libzmq context; the result arrives on the receiver.
pub fn libzmq<T: Send + 'static>(
    f: impl FnOnce(&zmq::Context) -> T + Send + 'static,
) -> oneshot::Receiver<T> {
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        let ctx = zmq::Context::new();
        let _ = tx.send(f(&ctx));
    });
    rx
}

#[derive(Clone, Copy, Debug)]
pub enum Side {
    /// actormq binds, libzmq connects.
    WeBind,
    /// libzmq binds, actormq connects.
    TheyBind,
}

/// Resident memory of this process in bytes (Linux; 0 elsewhere).
pub fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Bytes currently allocated through [`Counting`].
static LIVE: AtomicU64 = AtomicU64::new(0);

/// A global allocator that counts the bytes it has handed out and not yet taken back, so a
/// test can tell memory that is held (a leak, a queue) from memory the C allocator keeps
/// (fragmentation), which RSS cannot. A test opts in with
/// `#[global_allocator] static ALLOC: common::Counting = common::Counting;`.
pub struct Counting;

// SAFETY: every call is passed through to the system allocator unchanged; only a counter is
// updated beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as u64, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as u64, Ordering::Relaxed);
        }
        p
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE.fetch_add(new_size as u64, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        }
        p
    }
}

/// Bytes held through [`Counting`] right now (0 when the test does not install it).
pub fn live_bytes() -> u64 {
    LIVE.load(Ordering::Relaxed)
}

/// A REP with `opts`, bound on tcp, that answers every request with its frames plus the
/// peer's `User-Id` (`-` for none); returns it and its endpoint.
pub async fn echo_server(opts: SocketOptions) -> (Socket, String) {
    let rep = Socket::with_options(SocketType::Rep, opts).unwrap();
    let ep = rep.bind("tcp://127.0.0.1:0").await.unwrap().to_string();
    let server = rep.clone();
    actix::spawn(async move {
        while let Ok((m, peer)) = server.recv_from_peer().await {
            let mut frames = m.frames().to_vec();
            frames.push(peer.user_id.as_deref().unwrap_or("-").to_string().into());
            if server.send(Multipart::from(frames)).await.is_err() {
                return;
            }
        }
    });
    (rep, ep)
}

pub mod brokers;
#[allow(unused_imports)]
pub use brokers::*;

/// A SUB and a PUB connected through `server`'s broker; the broker restarts once the first
/// message went through: the monitor sees the connection go and come back, and messages flow
/// again (the subscriber subscribed anew).
pub fn resubscribes_after_a_broker_restart(mut server: BrokerServer) {
    let endpoint = server.endpoint();
    let (restart_tx, restart_rx) = std::sync::mpsc::channel::<()>();
    let (restarted_tx, restarted_rx) = oneshot::channel::<()>();
    let restarter = std::thread::spawn(move || {
        restart_rx.recv().unwrap();
        server.stop();
        std::thread::sleep(Duration::from_millis(300));
        assert!(server.start());
        restarted_tx.send(()).unwrap();
        server
    });
    run(40, async move {
        let opts = SocketOptions::default()
            .reconnect_ivl(Duration::from_millis(50))
            .reconnect_ivl_max(Duration::from_millis(200));
        let sub = Socket::with_options(SocketType::Sub, opts.clone()).unwrap();
        let mut events = sub.monitor();
        sub.connect(endpoint.as_str()).await.unwrap();
        sub.subscribe("news").await.unwrap();
        let publisher = Socket::with_options(SocketType::Pub, opts).unwrap();
        publisher.connect(endpoint.as_str()).await.unwrap();
        // publish until one arrives: once the subscription is in place at the broker
        let until = |text: &'static str| {
            let (publisher, sub) = (&publisher, &sub);
            async move {
                loop {
                    publisher.send(["news", text]).await.unwrap();
                    if recv_within(sub, 100).await == Some(Multipart::from(["news", text])) {
                        return;
                    }
                }
            }
        };
        until("before").await;
        restart_tx.send(()).unwrap();
        restarted_rx.await.unwrap();
        let (mut gone, mut back) = (false, false);
        while !(gone && back) {
            match events.recv().await.unwrap() {
                SocketEvent::Disconnected { .. } => gone = true,
                SocketEvent::HandshakeSucceeded { .. } if gone => back = true,
                _ => {}
            }
        }
        until("after").await;
    });
    drop(restarter.join().unwrap());
}

/// A Python peer of the broker tests (`tests/python/<script>` with the server's port first).
pub fn python_peer(script: &str, port: u16) -> std::process::Command {
    let mut c = std::process::Command::new("python3");
    c.arg(format!(
        "{}/tests/python/{script}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .arg(port.to_string());
    c
}

/// Starts a Python subscriber and waits for its `READY`; returns it and the rest of its output.
pub fn python_subscriber(
    command: &mut std::process::Command,
) -> (
    std::process::Child,
    std::io::BufReader<std::process::ChildStdout>,
) {
    use std::io::BufRead;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with the broker's client (pip install redis nats-py)");
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "READY", "the python subscriber is subscribed");
    (child, out)
}

/// Connects a socket of `kind` with `opts` to `endpoint` and waits for its handshake.
pub async fn connected_with(kind: SocketType, endpoint: &str, opts: SocketOptions) -> Socket {
    let socket = Socket::with_options(kind, opts).unwrap();
    let mut events = socket.monitor();
    socket.connect(endpoint).await.unwrap();
    handshakes(&mut events, 1).await;
    socket
}

/// Waits (at most 10 s) until `f` holds.
pub async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..400 {
        if f() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("never: {what}");
}

/// The number in a frame `task N`.
pub fn task_number(frame: &[u8]) -> usize {
    std::str::from_utf8(frame).unwrap()[5..].parse().unwrap()
}

/// Pushes `task 0` … `task n-1` to `endpoint` and closes once they have left.
pub async fn push_tasks(endpoint: &str, n: usize) {
    let push = connected_with(SocketType::Push, endpoint, SocketOptions::default()).await;
    for i in 0..n {
        push.send(format!("task {i}")).await.unwrap();
    }
    push.close().await;
}

/// How many tasks the killed puller of [`killed_puller`] prints before it holds the rest.
pub const PRINTED_BEFORE_THE_KILL: usize = 20;

/// The durable-queue test of a killed consumer, for a test named `test` whose first line is
/// `if let Some(ep) = is_killed_puller(VAR) { killed_puller_child(ep) }`: runs this test's
/// binary again as a puller of `endpoint` (rcvhwm 50) that prints the first
/// [`PRINTED_BEFORE_THE_KILL`] tasks it receives and then holds what else it has read;
/// `in_flight` is called before the kill (to check what it holds); the puller is killed with
/// SIGKILL. Returns the tasks it printed.
pub fn killed_puller(
    test: &str,
    var: &str,
    endpoint: &str,
    in_flight: impl FnOnce(),
) -> std::collections::BTreeSet<usize> {
    use std::io::{BufRead, Read};
    let mut puller = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture"])
        .env(var, endpoint)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(puller.stdout.take().unwrap());
    let mut done = std::collections::BTreeSet::new();
    let mut line = String::new();
    while done.len() < PRINTED_BEFORE_THE_KILL {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the child puller died"
        );
        if let Some(task) = line.trim().strip_prefix("got ") {
            done.insert(task_number(task.as_bytes()));
        }
    }
    in_flight();
    puller.kill().unwrap();
    puller.wait().unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(!rest.contains("got "), "the child printed more: {rest}");
    done
}

/// The endpoint a [`killed_puller`] child is to pull from, when this process is one.
pub fn is_killed_puller(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

/// The child of [`killed_puller`]: never returns (it is killed).
pub fn killed_puller_child(endpoint: String) -> ! {
    use std::io::Write;
    run(3600, async move {
        let opts = SocketOptions::default().rcvhwm(50);
        let pull = connected_with(SocketType::Pull, &endpoint, opts).await;
        let mut out = std::io::stdout();
        for _ in 0..PRINTED_BEFORE_THE_KILL {
            let msg = pull.recv().await.unwrap();
            writeln!(out, "got {}", String::from_utf8_lossy(&msg.frames()[0])).unwrap();
            out.flush().unwrap();
        }
        std::future::pending::<()>().await;
    });
    unreachable!()
}

/// Pulls from `endpoint` until every task `0..n` has been seen in `done` or now, and asserts
/// that nothing more comes; returns how many came a second time (at least once delivery).
pub async fn pull_the_rest(
    endpoint: &str,
    mut done: std::collections::BTreeSet<usize>,
    n: usize,
) -> usize {
    let pull = connected_with(SocketType::Pull, endpoint, SocketOptions::default()).await;
    let mut again = 0;
    while done.len() < n {
        let msg = pull.recv().await.unwrap();
        if !done.insert(task_number(&msg.frames()[0])) {
            again += 1;
        }
    }
    assert_eq!(done, (0..n).collect());
    again
}
