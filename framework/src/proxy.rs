//! Devices: a proxy actor that joins a frontend and a backend socket, in both directions, with
//! an optional capture socket that gets a copy of all traffic (`zmq_proxy_steerable`).
//!
//! The three classic devices are proxies between particular socket types: the **queue**
//! (ROUTER frontend, DEALER backend: a request/reply broker), the **forwarder** (XSUB frontend,
//! XPUB backend: a pub/sub relay whose subscriptions travel upstream) and the **streamer** (PULL
//! frontend, PUSH backend: a pipeline stage).
//!
//! ```
//! use actormq::{proxy::{Device, Pause, Resume, Statistics, Terminate}, Multipart, Socket, SocketType};
//!
//! # actix::System::new().block_on(async {
//! let (broker, front, back) = Device::Streamer.start("tcp://127.0.0.1:0", "tcp://127.0.0.1:0").await?;
//! let producer = Socket::new(SocketType::Push)?;
//! producer.connect(&front).await?;
//! let consumer = Socket::new(SocketType::Pull)?;
//! consumer.connect(&back).await?;
//! producer.send("job").await?;
//! assert_eq!(consumer.recv().await?, Multipart::from("job"));
//! broker.send(Pause).await.unwrap();
//! broker.send(Resume).await.unwrap();
//! assert_eq!(broker.send(Statistics).await.unwrap().frontend.messages, 1);
//! broker.send(Terminate).await.unwrap();
//! # Ok::<(), actormq::Error>(())
//! # }).unwrap();
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use actormq_transports::{Endpoint, Multipart, SocketType};
use tokio::sync::{oneshot, watch};

use crate::{Error, Result, Socket};

/// Whether a proxy forwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyState {
    /// Forwarding.
    Running,
    /// Not reading from either socket: messages wait in the sockets' queues.
    Paused,
    /// Stopped for good.
    Terminated,
}

/// Traffic through one side of a proxy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Messages received on this side and forwarded to the other.
    pub messages: u64,
    /// Their bytes (all frames).
    pub bytes: u64,
}

/// What a proxy has forwarded so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyStatistics {
    /// Received on the frontend, sent on the backend.
    pub frontend: Traffic,
    /// Received on the backend, sent on the frontend.
    pub backend: Traffic,
    /// Copies the capture socket could not take at once, and so did not get.
    pub capture_dropped: u64,
}

#[derive(Debug, Default)]
struct Counters {
    front_msgs: AtomicU64,
    front_bytes: AtomicU64,
    back_msgs: AtomicU64,
    back_bytes: AtomicU64,
    capture_dropped: AtomicU64,
}

/// Stop forwarding until [`Resume`].
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Pause;

/// Forward again after [`Pause`].
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Resume;

/// Stop the proxy for good.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Terminate;

/// Ask for the [`ProxyStatistics`].
#[derive(Debug, Message)]
#[rtype(result = "ProxyStatistics")]
pub struct Statistics;

/// The proxy actor. Steer it with [`Pause`], [`Resume`], [`Terminate`] and [`Statistics`].
#[derive(Debug)]
pub struct Proxy {
    sockets: Option<(Socket, Socket, Option<Socket>)>,
    state: watch::Sender<ProxyState>,
    counters: Arc<Counters>,
    done: Option<oneshot::Sender<Result<()>>>,
}

impl Proxy {
    /// Starts a proxy between `frontend` and `backend` on the current arbiter.
    pub fn start(frontend: Socket, backend: Socket, capture: Option<Socket>) -> Addr<Proxy> {
        Proxy::build(frontend, backend, capture, None).start()
    }

    fn build(
        frontend: Socket,
        backend: Socket,
        capture: Option<Socket>,
        done: Option<oneshot::Sender<Result<()>>>,
    ) -> Self {
        let (state, _) = watch::channel(ProxyState::Running);
        Proxy {
            sockets: Some((frontend, backend, capture)),
            state,
            counters: Arc::default(),
            done,
        }
    }
}

/// Runs a proxy between `frontend` and `backend` until it is terminated or a socket closes
/// (`zmq_proxy`). To steer it, use [`Proxy::start`] instead.
pub async fn proxy(frontend: Socket, backend: Socket, capture: Option<Socket>) -> Result<()> {
    let (tx, rx) = oneshot::channel();
    Proxy::build(frontend, backend, capture, Some(tx)).start();
    rx.await.unwrap_or(Ok(()))
}

impl Actor for Proxy {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some((front, back, capture)) = self.sockets.take() else {
            return;
        };
        let run = forward(
            front,
            back,
            capture,
            self.state.subscribe(),
            self.counters.clone(),
        );
        ctx.spawn(run.into_actor(self).map(|result, act, ctx| {
            if let Err(e) = &result {
                tracing::warn!(error = %e, "proxy stopped");
            }
            if let Some(done) = act.done.take() {
                let _ = done.send(result);
            }
            ctx.stop();
        }));
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        if let Some(done) = self.done.take() {
            let _ = done.send(Ok(()));
        }
    }
}

impl Handler<Pause> for Proxy {
    type Result = ();
    fn handle(&mut self, _: Pause, _ctx: &mut Self::Context) {
        self.state
            .send_if_modified(|s| std::mem::replace(s, ProxyState::Paused) == ProxyState::Running);
    }
}

impl Handler<Resume> for Proxy {
    type Result = ();
    fn handle(&mut self, _: Resume, _ctx: &mut Self::Context) {
        self.state
            .send_if_modified(|s| std::mem::replace(s, ProxyState::Running) == ProxyState::Paused);
    }
}

impl Handler<Terminate> for Proxy {
    type Result = ();
    fn handle(&mut self, _: Terminate, _ctx: &mut Self::Context) {
        self.state.send_replace(ProxyState::Terminated);
    }
}

impl Handler<Statistics> for Proxy {
    type Result = MessageResult<Statistics>;
    fn handle(&mut self, _: Statistics, _ctx: &mut Self::Context) -> Self::Result {
        let c = &self.counters;
        MessageResult(ProxyStatistics {
            frontend: Traffic {
                messages: c.front_msgs.load(Ordering::Relaxed),
                bytes: c.front_bytes.load(Ordering::Relaxed),
            },
            backend: Traffic {
                messages: c.back_msgs.load(Ordering::Relaxed),
                bytes: c.back_bytes.load(Ordering::Relaxed),
            },
            capture_dropped: c.capture_dropped.load(Ordering::Relaxed),
        })
    }
}

/// Sends on the other side; a refusal of one message (a type that cannot send it) is logged
/// and the proxy goes on; a closed socket ends it.
async fn pass(
    to: &Socket,
    msg: Multipart,
    capture: Option<&Socket>,
    counters: &Counters,
) -> Result<()> {
    if let Some(capture) = capture {
        if capture.try_send(msg.clone()).is_err() {
            counters.capture_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
    match to.send(msg).await {
        Err(e @ Error::Closed(_)) => Err(e),
        Err(e) => {
            tracing::warn!(error = %e, "proxy could not forward a message");
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}

async fn forward(
    front: Socket,
    back: Socket,
    capture: Option<Socket>,
    mut state: watch::Receiver<ProxyState>,
    counters: Arc<Counters>,
) -> Result<()> {
    loop {
        let now = *state.borrow_and_update();
        match now {
            ProxyState::Terminated => return Ok(()),
            ProxyState::Paused => {
                if state.changed().await.is_err() {
                    return Ok(());
                }
                continue;
            }
            ProxyState::Running => {}
        }
        tokio::select! {
            changed = state.changed() => if changed.is_err() { return Ok(()) },
            msg = front.recv() => {
                let msg = msg?;
                counters.front_msgs.fetch_add(1, Ordering::Relaxed);
                counters.front_bytes.fetch_add(msg.byte_len() as u64, Ordering::Relaxed);
                pass(&back, msg, capture.as_ref(), &counters).await?;
            }
            msg = back.recv() => {
                let msg = msg?;
                counters.back_msgs.fetch_add(1, Ordering::Relaxed);
                counters.back_bytes.fetch_add(msg.byte_len() as u64, Ordering::Relaxed);
                pass(&front, msg, capture.as_ref(), &counters).await?;
            }
        }
    }
}

/// The classic devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// ROUTER frontend (clients connect), DEALER backend (workers connect): a request/reply
    /// broker.
    Queue,
    /// XSUB frontend (publishers connect), XPUB backend (subscribers connect).
    Forwarder,
    /// PULL frontend (producers connect), PUSH backend (consumers connect).
    Streamer,
}

impl Device {
    /// The frontend and backend socket types.
    pub fn socket_types(self) -> (SocketType, SocketType) {
        match self {
            Device::Queue => (SocketType::Router, SocketType::Dealer),
            Device::Forwarder => (SocketType::XSub, SocketType::XPub),
            Device::Streamer => (SocketType::Pull, SocketType::Push),
        }
    }

    /// Creates both sockets, binds them, and starts the proxy. Returns it with the endpoints
    /// actually bound (frontend, backend).
    pub async fn start(
        self,
        frontend: &str,
        backend: &str,
    ) -> Result<(Addr<Proxy>, Endpoint, Endpoint)> {
        let (ft, bt) = self.socket_types();
        let front = Socket::new(ft)?;
        let front_ep = front.bind(frontend).await?;
        let back = Socket::new(bt)?;
        let back_ep = back.bind(backend).await?;
        Ok((Proxy::start(front, back, None), front_ep, back_ep))
    }
}
