//! Throughput: PUSH→PULL or PUB→SUB, both sides here or one side only.

use std::sync::mpsc;
use std::time::Instant;

use tokio::sync::oneshot;

use actormq::{Endpoint, Multipart, Socket, SocketOptions, SocketType};
use bytes::Bytes;

use crate::bench::report::{peak_rss, reset_peak_rss, Row};
use crate::bench::{err, progress, Pattern, Receive, Security, Side, ThroughputRole, Transport};

/// The sending socket: PUSH, or for PUB→SUB an XPUB with `xpub_nodrop` (a publisher that waits
/// for its subscriber at the high-water mark, and can see when the subscription arrived).
fn sender(pattern: Pattern, opts: SocketOptions) -> Result<Socket, String> {
    match pattern {
        Pattern::Push => Socket::with_options(SocketType::Push, opts),
        Pattern::Pub => Socket::with_options(SocketType::XPub, opts.xpub_nodrop(true)),
    }
    .map_err(err)
}

/// The receiving socket: PULL, or SUB subscribed to everything.
async fn receiver(pattern: Pattern, opts: SocketOptions) -> Result<Socket, String> {
    match pattern {
        Pattern::Push => Socket::with_options(SocketType::Pull, opts).map_err(err),
        Pattern::Pub => {
            let s = Socket::with_options(SocketType::Sub, opts).map_err(err)?;
            s.subscribe("").await.map_err(err)?;
            Ok(s)
        }
    }
}

/// For PUB→SUB, waits until a subscriber's subscription has arrived (what is published before
/// would reach nobody).
async fn await_subscriber(pattern: Pattern, s: &Socket) -> Result<(), String> {
    if pattern == Pattern::Pub {
        loop {
            let m = s.recv().await.map_err(err)?;
            if m.first().is_some_and(|f| f.first() == Some(&1)) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Sends `count` fresh messages of `size` bytes, as an application builds each one.
async fn send_all(s: &Socket, size: usize, count: u64) -> Result<(), String> {
    let payload = vec![0x5a_u8; size];
    let bar = progress(count, "messages");
    for i in 0..count {
        s.send(Multipart::from(Bytes::copy_from_slice(&payload)))
            .await
            .map_err(err)?;
        if let Some(bar) = &bar {
            if i % 65536 == 0 {
                bar.set_position(i);
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(())
}

/// Receives `count` messages of `size` bytes; returns the time from the first to the last (as
/// libzmq's `local_thr` measures).
async fn receive_all(s: &Socket, size: usize, count: u64, how: Receive) -> Result<f64, String> {
    let check = |m: &Multipart| {
        if m.byte_len() == size {
            Ok(())
        } else {
            Err(format!(
                "received a message of {} bytes, expected {size}",
                m.byte_len()
            ))
        }
    };
    if count == 0 {
        return Ok(0.0);
    }
    check(&s.recv().await.map_err(err)?)?;
    let start = Instant::now();
    let mut got = 1;
    match how {
        Receive::Each => {
            while got < count {
                check(&s.recv().await.map_err(err)?)?;
                got += 1;
            }
        }
        Receive::Batch => {
            let mut batch = Vec::with_capacity(RECV_MANY);
            while got < count {
                let want = RECV_MANY.min((count - got) as usize);
                s.recv_many(&mut batch, want).await.map_err(err)?;
                for m in batch.drain(..) {
                    check(&m)?;
                    got += 1;
                }
            }
        }
    }
    Ok(start.elapsed().as_secs_f64())
}

/// At most how many messages a batch receiver takes at once.
const RECV_MANY: usize = 64;

/// Both sides in this process: the receiver on its own thread and actix System.
pub struct Both {
    pub transport: Transport,
    pub pattern: Pattern,
    pub size: usize,
    pub count: u64,
    pub receive: Receive,
}

impl Both {
    pub async fn run(&self, security: &Security) -> Result<Row, String> {
        let (server, client) = security.options(SocketOptions::default());
        let (endpoint, _socket_file) = self.transport.endpoint();
        reset_peak_rss();
        let (ep, done) = self.spawn_receiver(server, endpoint)?;
        let s = sender(self.pattern, client)?;
        s.connect(&ep).await.map_err(err)?;
        await_subscriber(self.pattern, &s).await?;
        let start = Instant::now();
        send_all(&s, self.size, self.count).await?;
        done.await.map_err(err)??;
        let seconds = start.elapsed().as_secs_f64();
        Ok(Row {
            pattern: self.pattern.name().to_string(),
            transport: self.transport.name(),
            mechanism: security.name(),
            size: self.size,
            count: self.count,
            seconds,
            latency: None,
            peak_rss: peak_rss(),
        })
    }

    /// Starts the receiver; returns its bound endpoint and where it says it got everything.
    fn spawn_receiver(
        &self,
        opts: SocketOptions,
        endpoint: String,
    ) -> Result<(Endpoint, oneshot::Receiver<Result<(), String>>), String> {
        let (bound_tx, bound_rx) = mpsc::channel();
        let (done_tx, done_rx) = oneshot::channel();
        let (pattern, size, count, how) = (self.pattern, self.size, self.count, self.receive);
        std::thread::spawn(move || {
            actix::System::new().block_on(async move {
                let setup = async {
                    let s = receiver(pattern, opts).await?;
                    let ep = s.bind(endpoint.as_str()).await.map_err(err)?;
                    Ok::<_, String>((s, ep))
                };
                match setup.await {
                    Ok((s, ep)) => {
                        let _ = bound_tx.send(Ok(ep));
                        let _ = done_tx.send(receive_all(&s, size, count, how).await.map(|_| ()));
                    }
                    Err(e) => {
                        let _ = bound_tx.send(Err(e));
                    }
                }
            })
        });
        Ok((bound_rx.recv().map_err(err)??, done_rx))
    }
}

/// One side only: the other is another process, machine or ZeroMQ implementation.
pub async fn one_side(
    side: &Side,
    role: ThroughputRole,
    pattern: Pattern,
    size: usize,
    count: u64,
    how: Receive,
    security: &Security,
) -> Result<Row, String> {
    reset_peak_rss();
    let serving = role == ThroughputRole::Receiver;
    let opts = security.one_side(SocketOptions::default(), serving)?;
    let seconds = match role {
        ThroughputRole::Receiver => {
            let s = receiver(pattern, opts).await?;
            side.attach(&s).await?;
            eprintln!("receiving {count} messages of {size} bytes");
            receive_all(&s, size, count, how).await?
        }
        ThroughputRole::Sender => {
            let s = sender(pattern, opts)?;
            side.attach(&s).await?;
            await_subscriber(pattern, &s).await?;
            let start = Instant::now();
            send_all(&s, size, count).await?;
            // until everything has left (linger: as long as it takes)
            s.close().await;
            start.elapsed().as_secs_f64()
        }
    };
    Ok(Row {
        pattern: format!(
            "{} ({})",
            pattern.name(),
            if serving { "receiver" } else { "sender" }
        ),
        transport: side.transport(),
        mechanism: security.name(),
        size,
        count,
        seconds,
        latency: None,
        peak_rss: peak_rss(),
    })
}
