//! Latency: REQ/REP round trips, both sides here or one side only.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use actormq::{Multipart, Socket, SocketOptions, SocketType};
use bytes::Bytes;

use crate::bench::report::{peak_rss, reset_peak_rss, Percentiles, Row};
use crate::bench::{err, progress, LatencyRole, Security, Side, Transport};

/// Sends `count` requests of `size` bytes one at a time; returns each round trip.
async fn request_all(req: &Socket, size: usize, count: u64) -> Result<Vec<Duration>, String> {
    let payload = vec![0x5a_u8; size];
    let bar = progress(count, "round trips");
    let mut rtts = Vec::with_capacity(count as usize);
    for i in 0..count {
        let start = Instant::now();
        req.send(Multipart::from(Bytes::copy_from_slice(&payload)))
            .await
            .map_err(err)?;
        let reply = req.recv().await.map_err(err)?;
        rtts.push(start.elapsed());
        if reply.byte_len() != size {
            return Err(format!(
                "a reply of {} bytes, expected {size}",
                reply.byte_len()
            ));
        }
        if let Some(bar) = &bar {
            if i % 1024 == 0 {
                bar.set_position(i);
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(rtts)
}

/// Answers `count` requests (or, with `None`, every request until the socket closes).
async fn reply_all(rep: &Socket, count: Option<u64>) -> Result<(), String> {
    let mut answered = 0;
    while count.is_none_or(|n| answered < n) {
        let m = rep.recv().await.map_err(err)?;
        rep.send(m).await.map_err(err)?;
        answered += 1;
    }
    Ok(())
}

fn row(
    pattern: &str,
    transport: String,
    security: &Security,
    size: usize,
    count: u64,
    seconds: f64,
    mut rtts: Vec<Duration>,
) -> Row {
    Row {
        pattern: pattern.to_string(),
        transport,
        mechanism: security.name(),
        size,
        count,
        seconds,
        latency: Percentiles::of(&mut rtts),
        peak_rss: peak_rss(),
    }
}

/// Both sides in this process.
pub struct Both {
    pub transport: Transport,
    pub size: usize,
    pub count: u64,
    /// Both sides on this thread; otherwise the replier on a thread and actix System of its own.
    pub one_thread: bool,
}

impl Both {
    pub async fn run(&self, base: SocketOptions, security: &Security) -> Result<Row, String> {
        let (server, client) = security.options(base);
        let (ep_wanted, _socket_file) = self.transport.endpoint();
        reset_peak_rss();
        let ep = if self.one_thread {
            let rep = Socket::with_options(SocketType::Rep, server).map_err(err)?;
            let ep = rep.bind(ep_wanted.as_str()).await.map_err(err)?;
            actix::spawn(async move {
                let _ = reply_all(&rep, None).await;
            });
            ep.to_string()
        } else {
            Self::spawn_replier(server, ep_wanted)?
        };
        let req = Socket::with_options(SocketType::Req, client).map_err(err)?;
        req.connect(&ep).await.map_err(err)?;
        let start = Instant::now();
        let rtts = request_all(&req, self.size, self.count).await?;
        let seconds = start.elapsed().as_secs_f64();
        let transport = match self.one_thread {
            true => format!("{} (one thread)", self.transport.name()),
            false => self.transport.name(),
        };
        Ok(row(
            "REQ<->REP",
            transport,
            security,
            self.size,
            self.count,
            seconds,
            rtts,
        ))
    }

    /// The replier on its own thread and actix System; returns its bound endpoint.
    fn spawn_replier(server: SocketOptions, ep_wanted: String) -> Result<String, String> {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            actix::System::new().block_on(async move {
                let setup = async {
                    let rep = Socket::with_options(SocketType::Rep, server).map_err(err)?;
                    let ep = rep.bind(ep_wanted.as_str()).await.map_err(err)?;
                    Ok::<_, String>((rep, ep))
                };
                match setup.await {
                    Ok((rep, ep)) => {
                        let _ = tx.send(Ok(ep.to_string()));
                        let _ = reply_all(&rep, None).await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            })
        });
        rx.recv().map_err(err)?
    }
}

/// One side only: the other is another process, machine or ZeroMQ implementation.
pub async fn one_side(
    side: &Side,
    role: LatencyRole,
    size: usize,
    count: u64,
    base: SocketOptions,
    security: &Security,
) -> Result<Row, String> {
    reset_peak_rss();
    let serving = role == LatencyRole::Replier;
    let opts = security.one_side(base, serving)?;
    match role {
        LatencyRole::Requester => {
            let req = Socket::with_options(SocketType::Req, opts).map_err(err)?;
            side.attach(&req).await?;
            let start = Instant::now();
            let rtts = request_all(&req, size, count).await?;
            let seconds = start.elapsed().as_secs_f64();
            // libzmq's remote_lat reports half the mean round trip
            eprintln!(
                "average latency: {:.3} us (half the mean round trip, as remote_lat)",
                seconds * 1e6 / (2.0 * count.max(1) as f64)
            );
            Ok(row(
                "REQ<->REP (requester)",
                side.transport(),
                security,
                size,
                count,
                seconds,
                rtts,
            ))
        }
        LatencyRole::Replier => {
            let rep = Socket::with_options(SocketType::Rep, opts).map_err(err)?;
            side.attach(&rep).await?;
            eprintln!("answering {count} requests");
            let mut seconds = 0.0;
            if count > 0 {
                // timed from the first request, as the requester times from its first
                let first = rep.recv().await.map_err(err)?;
                let start = Instant::now();
                rep.send(first).await.map_err(err)?;
                reply_all(&rep, Some(count - 1)).await?;
                seconds = start.elapsed().as_secs_f64();
            }
            rep.close().await;
            Ok(row(
                "REQ<->REP (replier)",
                side.transport(),
                security,
                size,
                count,
                seconds,
                Vec::new(),
            ))
        }
    }
}
