//! `actormq bench`: throughput and latency over a real endpoint of a transport.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actormq::{Endpoint, Multipart, Socket, SocketEvent, SocketOptions, SocketType};
use bytes::Bytes;
use clap::{Subcommand, ValueEnum};

/// What to measure.
#[derive(Subcommand, Debug)]
pub enum Kind {
    /// Messages per second from a sender to a receiver.
    #[command(
        after_help = "Example:\n  actormq bench throughput --transport ipc --pattern push --size 256 --count 1000000"
    )]
    Throughput {
        /// The transport of the endpoint.
        #[arg(long, value_enum, default_value_t = Transport::Tcp)]
        transport: Transport,
        /// PUSH→PULL, or PUB→SUB (with queues deep enough that nothing is dropped).
        #[arg(long, value_enum, default_value_t = Pattern::Push)]
        pattern: Pattern,
        /// Payload bytes per message.
        #[arg(long, default_value_t = 16)]
        size: usize,
        /// Messages to send.
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
        #[command(flatten)]
        security: Security,
    },
    /// REQ/REP round-trip times.
    #[command(
        after_help = "Example:\n  actormq bench latency --transport tcp --size 16 --count 10000"
    )]
    Latency {
        /// The transport of the endpoint.
        #[arg(long, value_enum, default_value_t = Transport::Tcp)]
        transport: Transport,
        /// Payload bytes per message.
        #[arg(long, default_value_t = 16)]
        size: usize,
        /// Round trips.
        #[arg(long, default_value_t = 10_000)]
        count: u64,
        #[command(flatten)]
        security: Security,
    },
}

/// The mechanism to measure with (tcp and ipc; inproc is never encrypted).
#[derive(clap::Args, Clone, Copy, Debug, Default)]
pub struct Security {
    /// Encrypt with CURVE (fresh keys for both sides; the receiver is the server).
    #[arg(long, conflicts_with = "plain")]
    curve: bool,
    /// Authenticate with PLAIN (the receiver is the server).
    #[arg(long)]
    plain: bool,
}

impl Security {
    /// The options of the serving (receiving) side and of the other side.
    fn options(self, base: SocketOptions) -> (SocketOptions, SocketOptions) {
        if self.curve {
            let server = actormq::security::CurveKeyPair::generate();
            let public = server.public;
            (
                base.clone().curve_server(server),
                base.curve_client(public, actormq::security::CurveKeyPair::generate()),
            )
        } else if self.plain {
            let auth = actormq::security::Auth::new().plain_user("bench", "bench");
            (
                base.clone().plain_server(true).auth(auth),
                base.plain_client("bench", "bench"),
            )
        } else {
            (base.clone(), base)
        }
    }

    fn name(self) -> &'static str {
        if self.curve {
            "CURVE"
        } else if self.plain {
            "PLAIN"
        } else {
            "NULL"
        }
    }
}

/// A transport to measure.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Transport {
    /// TCP loopback.
    Tcp,
    /// Unix domain socket.
    Ipc,
    /// Within the process.
    Inproc,
}

/// A pattern to measure.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// PUSH→PULL.
    Push,
    /// PUB→SUB.
    Pub,
}

/// The socket file of an `ipc://` benchmark: `actormq-bench-PID.ipc` in `/tmp`.
fn ipc_path() -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/tmp/actormq-bench-{}.ipc", std::process::id()))
}

fn endpoint(t: Transport) -> String {
    match t {
        Transport::Tcp => "tcp://127.0.0.1:0".into(),
        Transport::Ipc => format!("ipc://{}", ipc_path().display()),
        Transport::Inproc => format!("inproc://bench-{}", std::process::id()),
    }
}

/// Removes the benchmark's socket file when the benchmark ends, however it ends: the receiving
/// socket lives on another thread that the process exit cuts short, so its own clean-up never
/// runs.
struct RemoveSocketFile(Option<std::path::PathBuf>);

impl RemoveSocketFile {
    fn for_transport(t: Transport) -> Self {
        RemoveSocketFile(matches!(t, Transport::Ipc).then(ipc_path))
    }
}

impl Drop for RemoveSocketFile {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A progress bar on a terminal; nothing otherwise.
fn progress(len: u64, what: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_message(what.to_string());
    Some(bar)
}

/// Runs the receiving side on its own thread and actix System; returns its bound endpoint.
fn spawn_receiver(
    socket_type: SocketType,
    endpoint: String,
    opts: SocketOptions,
    count: u64,
    done: Arc<AtomicU64>,
) -> Result<Endpoint, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix::System::new().block_on(async move {
            let setup = async {
                let s = Socket::with_options(socket_type, opts).map_err(err)?;
                let ep = s.bind(endpoint.as_str()).await.map_err(err)?;
                if socket_type == SocketType::Sub {
                    s.subscribe("").await.map_err(err)?;
                }
                Ok::<_, String>((s, ep))
            };
            match setup.await {
                Ok((s, ep)) => {
                    let _ = tx.send(Ok(ep));
                    let mut got = 0;
                    while got < count {
                        match s.recv().await {
                            Ok(m) if m.frames()[0] == "probe" => {}
                            Ok(_) => got += 1,
                            Err(_) => return,
                        }
                    }
                    done.store(1, Ordering::Release);
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        })
    });
    rx.recv().map_err(err)?
}

/// Runs a benchmark and prints its table and closing line.
pub async fn run(kind: Kind) -> Result<(), String> {
    match kind {
        Kind::Throughput {
            transport,
            pattern,
            size,
            count,
            security,
        } => throughput(transport, pattern, size, count, security).await,
        Kind::Latency {
            transport,
            size,
            count,
            security,
        } => latency(transport, size, count, security).await,
    }
}

async fn throughput(
    transport: Transport,
    pattern: Pattern,
    size: usize,
    count: u64,
    security: Security,
) -> Result<(), String> {
    let (send_type, recv_type) = match pattern {
        Pattern::Push => (SocketType::Push, SocketType::Pull),
        Pattern::Pub => (SocketType::Pub, SocketType::Sub),
    };
    // PUB drops for a subscriber at its high-water mark: make room for the whole run
    let hwm = if pattern == Pattern::Pub {
        count.max(1000) as usize + 1
    } else {
        1000
    };
    let (server, client) = security.options(SocketOptions::default().sndhwm(hwm).rcvhwm(hwm));
    let _socket_file = RemoveSocketFile::for_transport(transport);
    let done = Arc::new(AtomicU64::new(0));
    let ep = spawn_receiver(recv_type, endpoint(transport), server, count, done.clone())?;
    let sender = Socket::with_options(send_type, client).map_err(err)?;
    let mut monitor = sender.monitor();
    sender.connect(&ep).await.map_err(err)?;
    while !matches!(
        monitor.recv().await,
        Ok(SocketEvent::HandshakeSucceeded { .. })
    ) {}
    if pattern == Pattern::Pub {
        // until the subscription has arrived, publications are dropped: probe for a while
        tokio::time::sleep(Duration::from_millis(200)).await;
        sender.send(["probe"]).await.map_err(err)?;
    }
    let payload = vec![0x5a_u8; size];
    let bar = progress(count, "messages");
    let start = Instant::now();
    for i in 0..count {
        sender
            .send(Multipart::from(Bytes::copy_from_slice(&payload)))
            .await
            .map_err(err)?;
        if let Some(bar) = &bar {
            if i % 65536 == 0 {
                bar.set_position(i);
            }
        }
    }
    while done.load(Ordering::Acquire) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = start.elapsed();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let rate = count as f64 / elapsed.as_secs_f64();
    let mbs = rate * size as f64 / 1e6;
    let pattern = match pattern {
        Pattern::Push => "PUSH->PULL",
        Pattern::Pub => "PUB->SUB",
    };
    println!(
        "{:<12} {:<10} {:<9} {:>8} {:>10} {:>10} {:>14} {:>10}",
        "pattern", "transport", "mechanism", "size", "messages", "seconds", "msg/s", "MB/s"
    );
    println!(
        "{pattern:<12} {:<10} {:<9} {size:>8} {count:>10} {:>10.3} {rate:>14.0} {mbs:>10.1}",
        format!("{transport:?}").to_lowercase(),
        security.name(),
        elapsed.as_secs_f64()
    );
    println!("throughput: {rate:.0} msg/s, {mbs:.1} MB/s");
    Ok(())
}

async fn latency(
    transport: Transport,
    size: usize,
    count: u64,
    security: Security,
) -> Result<(), String> {
    let (server, client) = security.options(SocketOptions::default());
    let (tx, rx) = std::sync::mpsc::channel();
    let ep_wanted = endpoint(transport);
    let _socket_file = RemoveSocketFile::for_transport(transport);
    std::thread::spawn(move || {
        actix::System::new().block_on(async move {
            let setup = async {
                let rep = Socket::with_options(SocketType::Rep, server).map_err(err)?;
                let ep = rep.bind(ep_wanted.as_str()).await.map_err(err)?;
                Ok::<_, String>((rep, ep))
            };
            match setup.await {
                Ok((rep, ep)) => {
                    let _ = tx.send(Ok(ep));
                    while let Ok(m) = rep.recv().await {
                        if rep.send(m).await.is_err() {
                            return;
                        }
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        })
    });
    let ep = rx.recv().map_err(err)??;
    let req = Socket::with_options(SocketType::Req, client).map_err(err)?;
    req.connect(&ep).await.map_err(err)?;
    let payload = Bytes::from(vec![0x5a_u8; size]);
    let bar = progress(count, "round trips");
    let mut rtts = Vec::with_capacity(count as usize);
    for i in 0..count {
        let start = Instant::now();
        req.send(payload.clone()).await.map_err(err)?;
        req.recv().await.map_err(err)?;
        rtts.push(start.elapsed());
        if let Some(bar) = &bar {
            if i % 1024 == 0 {
                bar.set_position(i);
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    rtts.sort();
    let pct = |p: f64| rtts[((rtts.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e6;
    let (p50, p99, max) = (pct(0.50), pct(0.99), pct(1.0));
    println!(
        "{:<10} {:<10} {:<9} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "pattern", "transport", "mechanism", "size", "trips", "p50 us", "p99 us", "max us"
    );
    println!(
        "{:<10} {:<10} {:<9} {size:>8} {count:>10} {p50:>10.1} {p99:>10.1} {max:>10.1}",
        "REQ<->REP",
        format!("{transport:?}").to_lowercase(),
        security.name()
    );
    println!("latency: p50 {p50:.1} us, p99 {p99:.1} us");
    Ok(())
}
