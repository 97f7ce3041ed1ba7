//! `bench queue`: what a queued message costs in memory.

use std::time::{Duration, Instant};

use actormq::{Multipart, Socket, SocketEvent, SocketOptions, SocketType};
use bytes::Bytes;

use crate::bench::err;

/// Resident bytes of this process now (Linux: `VmRSS`); 0 if unknown.
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Queues fresh messages with `try_send` until `count` are taken or the socket pushes back;
/// returns how many were taken.
fn fill(s: &Socket, size: usize, count: u64) -> u64 {
    let payload = vec![0x5a_u8; size];
    let mut taken = 0;
    while taken < count {
        if s.try_send(Multipart::from(Bytes::copy_from_slice(&payload)))
            .is_err()
        {
            break;
        }
        taken += 1;
    }
    taken
}

/// Bytes of RSS per message between `before` and now.
fn per_message(before: u64, messages: u64) -> f64 {
    rss().saturating_sub(before) as f64 / messages.max(1) as f64
}

/// A PUSH socket with room for `count` messages, its queue flushed at once when dropped.
fn sender(count: u64) -> Result<Socket, String> {
    let opts = SocketOptions::default()
        .sndhwm(count as usize)
        .linger(Some(Duration::ZERO));
    Socket::with_options(SocketType::Push, opts).map_err(err)
}

/// What the queued messages wait for.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// No peer: everything waits in the socket's send queue.
    NoPeer,
    /// A peer that reads nothing: the queue toward it and the send queue fill up.
    Stalled,
}

impl Case {
    fn label(self) -> &'static str {
        match self {
            Case::NoPeer => "PUSH, no peer (send queue)",
            Case::Stalled => "PUSH toward a peer that does not read",
        }
    }

    fn arg(self) -> &'static str {
        match self {
            Case::NoPeer => "no-peer",
            Case::Stalled => "stalled",
        }
    }
}

/// Measures one case here, or each in a fresh process of its own (so that memory one case
/// freed cannot hide what the other costs); prints the table.
pub async fn run(size: usize, count: u64, case: Option<Case>) -> Result<(), String> {
    let rows: Vec<(Case, u64, f64)> = match case {
        Some(case) => {
            let (queued, per) = match case {
                Case::NoPeer => no_peer(size, count).await?,
                Case::Stalled => stalled(size, count).await?,
            };
            vec![(case, queued, per)]
        }
        None => [Case::NoPeer, Case::Stalled]
            .into_iter()
            .map(|case| in_child(size, count, case))
            .collect::<Result<_, _>>()?,
    };
    println!(
        "{:<38} {:>8} {:>10} {:>14}",
        "queue", "size", "messages", "RSS B/message"
    );
    for &(case, queued, per) in &rows {
        println!("{:<38} {size:>8} {queued:>10} {per:>14.1}", case.label());
    }
    for (case, queued, per) in rows {
        println!(
            "queue: {per:.1} bytes per message, {queued} queued, {}",
            case.arg()
        );
    }
    Ok(())
}

/// Runs one case in a child process (this program, `bench queue --case ...`).
fn in_child(size: usize, count: u64, case: Case) -> Result<(Case, u64, f64), String> {
    let exe = std::env::current_exe().map_err(err)?;
    let out = std::process::Command::new(exe)
        .args(["bench", "queue", "--size", &size.to_string()])
        .args(["--count", &count.to_string(), "--case", case.arg()])
        .output()
        .map_err(err)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find_map(|l| l.strip_prefix("queue: "));
    let numbers: Vec<f64> = line
        .unwrap_or_default()
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|w| w.parse().ok())
        .collect();
    match numbers[..] {
        [per, queued, ..] => Ok((case, queued as u64, per)),
        _ => Err(format!(
            "bench queue --case {} failed: {}",
            case.arg(),
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// No peer: every message waits in the send queue.
async fn no_peer(size: usize, count: u64) -> Result<(u64, f64), String> {
    let nobody = std::net::TcpListener::bind("127.0.0.1:0").map_err(err)?;
    let closed = nobody.local_addr().map_err(err)?;
    drop(nobody);
    let s = sender(count)?;
    s.connect(format!("tcp://{closed}").as_str())
        .await
        .map_err(err)?;
    let before = rss();
    let queued = fill(&s, size, count);
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok((queued, per_message(before, queued)))
}

/// A peer that reads nothing: the queue toward it and the send queue fill up.
async fn stalled(size: usize, count: u64) -> Result<(u64, f64), String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix::System::new().block_on(async move {
            let pull = Socket::with_options(SocketType::Pull, SocketOptions::default().rcvhwm(1));
            let bound = match pull {
                Ok(p) => p.bind("tcp://127.0.0.1:0").await.map(|ep| (p, ep)),
                Err(e) => Err(e),
            };
            match bound {
                Ok((pull, ep)) => {
                    let _ = tx.send(Ok(ep));
                    // hold the socket, read nothing
                    std::future::pending::<()>().await;
                    drop(pull);
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                }
            }
        })
    });
    let ep = rx.recv().map_err(err)??;
    let s = sender(count)?;
    let mut monitor = s.monitor();
    s.connect(&ep).await.map_err(err)?;
    while !matches!(
        monitor.recv().await,
        Ok(SocketEvent::HandshakeSucceeded { .. })
    ) {}
    let before = rss();
    let mut queued = 0;
    // the socket actor moves messages on toward the peer between rounds
    let deadline = Instant::now() + Duration::from_secs(30);
    while queued < 2 * count && Instant::now() < deadline {
        let n = fill(&s, size, 2 * count - queued);
        queued += n;
        if n == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if fill(&s, size, 1) == 0 {
                break;
            }
            queued += 1;
        }
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok((queued, per_message(before, queued)))
}
