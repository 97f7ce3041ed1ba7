//! No message lost across a reconnect: an `actormq pull` process is stopped, then killed with
//! SIGKILL while a connecting PUSH has a full queue for it, then restarted on the same port.
//! Every message is accounted for: delivered to one of the two processes, in order and once, or
//! lost from what the killed process itself held (its receive queue and the kernel's socket
//! buffers between the two), and nothing else.
#![allow(clippy::unwrap_used)] // a failed step is a failed test

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actormq::{Frame, Multipart, Socket, SocketOptions, SocketType};
use common::free_port;

/// Payload bytes per message: large, so that the kernel's socket buffers hold few messages.
const SIZE: usize = 256 * 1024;
/// The PULL processes' rcvhwm.
const RCVHWM: usize = 10;

/// An `actormq pull` process on `port`, and the message numbers it prints, as they come.
fn pull(port: u16) -> (Child, Arc<Mutex<Vec<u64>>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_actormq"))
        .args([
            "pull",
            "--bind",
            &format!("tcp://127.0.0.1:{port}"),
            "--raw",
            "--option",
            &format!("rcvhwm={RCVHWM}"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let (out, seen) = (child.stdout.take().unwrap(), got.clone());
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(n) = line.split('\t').next().and_then(|n| n.parse().ok()) {
                seen.lock().unwrap().push(n);
            }
        }
    });
    (child, got)
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

/// Waits until `got` stops growing for a while, or holds `n`.
fn settle(got: &Mutex<Vec<u64>>, n: usize) {
    let (mut last, mut since) = (0, Instant::now());
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let len = got.lock().unwrap().len();
        if len >= n {
            return;
        }
        if len != last {
            (last, since) = (len, Instant::now());
        } else if since.elapsed() > Duration::from_secs(2) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// At most how many messages the kernel's buffers can hold between the two ends.
fn kernel_messages() -> usize {
    let max = |path: &str| -> usize {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.split_whitespace().last().and_then(|v| v.parse().ok()))
            .unwrap_or(64 * 1024 * 1024)
    };
    let bytes = max("/proc/sys/net/ipv4/tcp_rmem") + max("/proc/sys/net/ipv4/tcp_wmem");
    bytes.div_ceil(SIZE) + 2
}

#[test]
fn a_pull_killed_mid_stream_loses_only_what_it_held() {
    let port = free_port();
    // at least this many are sent; more when the stopped PULL's queues take more
    let at_least: u64 = 3000;
    let (first, got1) = pull(port);
    let (first_cell, second_cell) = (Arc::new(Mutex::new(first)), Arc::new(Mutex::new(None)));
    let (first_ref, second_ref) = (first_cell.clone(), second_cell.clone());
    let got1_ref = got1.clone();
    let (undelivered, total) = actix::System::new().block_on(async move {
        // one shared payload: every message is a refcount of it, so the queues cost nothing
        let payload = Frame::from(vec![b'x'; SIZE]);
        let msg = |i: u64| Multipart::from(vec![Frame::from(i.to_string()), payload.clone()]);
        let opts = SocketOptions::default().linger(Some(Duration::from_secs(30)));
        let push = Socket::with_options(SocketType::Push, opts).unwrap();
        push.connect(format!("tcp://127.0.0.1:{port}"))
            .await
            .unwrap();
        let mut i = 0;
        // 1. a live stream
        while got1_ref.lock().unwrap().len() < 100 {
            push.send(msg(i)).await.unwrap();
            i += 1;
        }
        // 2. the PULL stops reading: the kernel buffers, then our queue for it, fill up
        signal(&first_ref.lock().unwrap(), "-STOP");
        while let Ok(sent) = tokio::time::timeout(Duration::from_secs(1), push.send(msg(i))).await {
            sent.unwrap();
            i += 1;
        }
        // 3. killed with all that queued for it; a new PULL takes its place
        {
            let mut first = first_ref.lock().unwrap();
            signal(&first, "-KILL");
            first.wait().unwrap();
        }
        *second_ref.lock().unwrap() = Some(pull(port));
        let total = i.max(at_least);
        while i < total {
            push.send(msg(i)).await.unwrap();
            i += 1;
        }
        push.close().await;
        (push.undelivered(), total)
    });
    let (mut second, got2) = second_cell.lock().unwrap().take().unwrap();
    let a = got1.lock().unwrap().clone();
    settle(&got2, total as usize - a.len());
    signal(&second, "-KILL");
    second.wait().unwrap();
    let b = got2.lock().unwrap().clone();

    // each process got its messages in order, once
    assert!(a.windows(2).all(|w| w[0] < w[1]), "first: out of order");
    assert!(b.windows(2).all(|w| w[0] < w[1]), "second: out of order");
    let last_first = *a.last().unwrap();
    assert!(
        b.first().is_some_and(|&f| f > last_first),
        "the second got an old message"
    );
    assert!(
        b.last().is_some_and(|&l| l == total - 1),
        "the last message did not arrive"
    );
    // what is missing came right after the first's last message: what it held when killed
    let missing: Vec<u64> = (0..total)
        .filter(|n| a.binary_search(n).is_err() && b.binary_search(n).is_err())
        .collect();
    assert!(
        missing.iter().all(|&m| m > last_first && m < b[0]),
        "lost messages other than the killed process's: {missing:?}"
    );
    // its receive queue and ready queue, a read's worth over them, the line being printed
    let held = kernel_messages() + RCVHWM + 64 + 50;
    assert!(
        missing.len() <= held,
        "{} lost, but the killed process could hold at most {held}",
        missing.len()
    );
    assert!(
        undelivered as usize <= missing.len(),
        "the socket reports {undelivered} undelivered, more than the {} missing",
        missing.len()
    );
    eprintln!(
        "{} of {total} delivered ({} before the kill, {} after); {} lost with the killed \
         process (at most {held} could be), {undelivered} reported lost in flight by the sender",
        a.len() + b.len(),
        a.len(),
        b.len(),
        missing.len()
    );
}
