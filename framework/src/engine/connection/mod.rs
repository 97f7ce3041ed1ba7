//! The connection actor: one per live (or reconnecting) peer.
//!
//! It owns the link a transport yields and runs one session on it at a time: over a byte stream
//! a ZMTP session, whose reader decodes into the peer's inbound queue and whose writer drains
//! its outbound queue into one buffer per batch, written with one call (`stream`); over a
//! message-level link the link's hello, then the link itself delivers into the inbound queue
//! and takes batches through its outbox (`message`). A connecting actor reconnects after a
//! session ends, until its socket closes it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use actix::dev::ToEnvelope;
use actix::prelude::*;
use actormq_patterns::Peer;
use actormq_transports::{transport_for, Endpoint, Link, SocketType};
use tracing::Instrument;

use crate::engine::ctx::SocketInfo;
use crate::engine::messages::{Abort, Close, ConnId, ConnSlot, ConnectionEnded, PeerGone, PeerUp};
use crate::engine::messages::{PeerReadable, PeerWritable};
use crate::engine::queues::peer_in::{Loss, PeerIn};
use crate::engine::queues::peer_out::PeerOut;
use crate::event::{DisconnectReason, SocketEvent};

mod message;
mod raw;
mod stream;

/// How a connection reaches its socket actor: one recipient per message it sends, so that the
/// connection does not depend on the socket actor's type.
#[derive(Clone)]
pub(crate) struct SocketPort {
    up: Recipient<PeerUp>,
    gone: Recipient<PeerGone>,
    pub(crate) readable: Recipient<PeerReadable>,
    pub(crate) writable: Recipient<PeerWritable>,
    ended: Recipient<ConnectionEnded>,
}

impl SocketPort {
    /// The port of a socket actor that handles every message a connection sends.
    pub(crate) fn of<A>(addr: &Addr<A>) -> Self
    where
        A: Actor
            + Handler<PeerUp>
            + Handler<PeerGone>
            + Handler<PeerReadable>
            + Handler<PeerWritable>
            + Handler<ConnectionEnded>,
        A::Context: ToEnvelope<A, PeerUp>
            + ToEnvelope<A, PeerGone>
            + ToEnvelope<A, PeerReadable>
            + ToEnvelope<A, PeerWritable>
            + ToEnvelope<A, ConnectionEnded>,
    {
        SocketPort {
            up: addr.clone().recipient(),
            gone: addr.clone().recipient(),
            readable: addr.clone().recipient(),
            writable: addr.clone().recipient(),
            ended: addr.clone().recipient(),
        }
    }
}

/// The outbound queue of a connection: of the session in progress (`live`), or, between the
/// sessions of a connecting connection, what was queued for the peer, kept for its return.
#[derive(Default)]
pub(crate) struct Outbound {
    queue: Option<Arc<PeerOut>>,
    live: bool,
}

impl Outbound {
    /// Messages waiting for a writer.
    fn waiting(&self) -> usize {
        self.queue.as_ref().map_or(0, |q| q.waiting())
    }
}

fn lock(m: &Mutex<Outbound>) -> std::sync::MutexGuard<'_, Outbound> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How a connection came to be.
pub(crate) enum Origin {
    /// Accepted on a bound endpoint.
    Accepted {
        link: Link,
        /// Held until the connection ends (the listener's `max_connections`).
        slot: ConnSlot,
        peer: String,
        endpoint: Endpoint,
    },
    /// Connecting (and reconnecting) to an endpoint.
    Connect { endpoint: Endpoint },
}

/// One peer connection.
pub(crate) struct ConnectionActor {
    /// This connection's id, also its peer's id in the socket's pattern.
    id: ConnId,
    socket: SocketPort,
    info: Arc<SocketInfo>,
    /// How this connection came to be, until `started` moves it into the connection's task.
    origin: Option<Origin>,
    /// The connection's outbound queue (shared with the task, so that [`Close`] can ask its
    /// writer to flush and finish).
    current: Arc<Mutex<Outbound>>,
    /// The socket asked this connection to close: no reconnect after the session in progress.
    closing: Arc<AtomicBool>,
}

impl ConnectionActor {
    pub(crate) fn new(
        id: ConnId,
        socket: SocketPort,
        info: Arc<SocketInfo>,
        origin: Origin,
    ) -> Self {
        ConnectionActor {
            id,
            socket,
            info,
            origin: Some(origin),
            current: Arc::default(),
            closing: Arc::default(),
        }
    }
}

impl Actor for ConnectionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some(origin) = self.origin.take() else {
            return;
        };
        let run = Runner {
            id: self.id,
            socket: self.socket.clone(),
            info: self.info.clone(),
            current: self.current.clone(),
            closing: self.closing.clone(),
            reconnects: matches!(origin, Origin::Connect { .. }),
        };
        let fut = async move {
            match origin {
                Origin::Accepted {
                    link,
                    slot,
                    peer,
                    endpoint,
                } => {
                    let _slot = slot;
                    let span =
                        tracing::info_span!(parent: &run.info.span, "connection", %endpoint, %peer);
                    run.info.emit(SocketEvent::Accepted {
                        endpoint,
                        peer: peer.clone(),
                    });
                    run.run_session(link, peer).instrument(span).await;
                }
                Origin::Connect { endpoint } => run.connect_loop(endpoint).await,
            }
        };
        ctx.spawn(fut.into_actor(self).map(|_, _, ctx| ctx.stop()));
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        let left = lock(&self.current).waiting();
        self.info.dropped(
            left,
            "messages queued for a peer were dropped: the connection ended (linger expired)",
        );
        self.socket.ended.do_send(ConnectionEnded { id: self.id });
    }
}

impl Handler<Close> for ConnectionActor {
    type Result = ();
    fn handle(&mut self, _: Close, ctx: &mut Self::Context) {
        self.closing.store(true, Ordering::Release);
        let current = lock(&self.current);
        match &current.queue {
            Some(out) if current.live => out.close(),
            // between sessions with messages for the peer: the connect loop delivers them when
            // the peer is back (the socket's linger bounds the wait)
            Some(_) if current.waiting() > 0 => {}
            _ => ctx.stop(),
        }
    }
}

impl Handler<Abort> for ConnectionActor {
    type Result = ();
    fn handle(&mut self, _: Abort, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

/// What [`Runner::live`] reports of a joined peer.
struct Joined {
    peer_type: SocketType,
    user_id: Option<String>,
}

/// Everything a connection's task needs, moved into it: it runs the connect loop and each
/// session.
struct Runner {
    id: ConnId,
    socket: SocketPort,
    info: Arc<SocketInfo>,
    /// Shared with the actor: the connection's outbound queue.
    current: Arc<Mutex<Outbound>>,
    /// A connecting connection keeps its outbound queue across reconnects; an accepted one's
    /// ends with its session.
    reconnects: bool,
    /// Shared with the actor: the socket asked this connection to close.
    closing: Arc<AtomicBool>,
}

impl Runner {
    fn closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Messages waiting in the connection's queue for a writer.
    fn waiting(&self) -> usize {
        lock(&self.current).waiting()
    }

    async fn connect_loop(&self, endpoint: Endpoint) {
        let transport = match transport_for(&endpoint) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(%endpoint, error = %e, "cannot connect");
                return;
            }
        };
        let mut attempt = 0u32;
        // a closing socket still reconnects to deliver what waits for the peer
        while !self.closing() || self.waiting() > 0 {
            match transport.connect(&endpoint).await {
                Ok((link, peer)) => {
                    attempt = 0;
                    let span = tracing::info_span!(parent: &self.info.span, "connection", %endpoint, %peer);
                    self.info.emit(SocketEvent::Connected {
                        endpoint: endpoint.clone(),
                        peer: peer.clone(),
                    });
                    self.run_session(link, peer).instrument(span).await;
                    if self.closing() && self.waiting() == 0 {
                        return;
                    }
                    tokio::time::sleep(self.info.options.reconnect_ivl).await;
                }
                Err(e) => {
                    let delay = self.info.options.reconnect_delay(attempt);
                    attempt = attempt.saturating_add(1);
                    self.info.emit(SocketEvent::ConnectRetried {
                        endpoint: endpoint.clone(),
                        error: e.to_string(),
                        delay,
                    });
                    // at the interval, or sooner when the transport knows better
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = transport.connectable(&endpoint) => {}
                    }
                }
            }
        }
    }

    /// Runs one connection from handshake to close; reports the reason it ended.
    async fn run_session(&self, link: Link, peer_addr: String) {
        let raw = self.info.socket_type == SocketType::Stream;
        let reason = match link {
            Link::Stream(stream) if raw => self.raw_session(stream, &peer_addr).await,
            Link::Stream(stream) => self.zmtp_session(stream, &peer_addr).await,
            Link::Messages(_) if raw => DisconnectReason::Refused(
                "STREAM sockets speak raw bytes over byte-stream transports only".into(),
            ),
            Link::Messages(link) => self.message_session(link, &peer_addr).await,
        };
        let dropped = {
            let mut current = lock(&self.current);
            current.live = false;
            // a connecting connection keeps what waits for its next session (a link's outbox
            // belongs to its session; a raw peer's next session has another id)
            if !self.reconnects || raw || current.queue.as_ref().is_some_and(|q| q.is_direct()) {
                current.queue.take().map_or(0, |q| q.waiting())
            } else {
                0
            }
        };
        self.info.dropped(
            dropped,
            "messages queued for a peer were dropped: it disconnected, and an accepted peer is \
             not waited for",
        );
        self.info.emit(SocketEvent::Disconnected {
            peer: peer_addr,
            reason,
        });
    }

    /// Registers the peer with the socket: its queues, then `PeerUp`. The socket may refuse
    /// it (a second PAIR peer, a routing id in use).
    async fn join(
        &self,
        peer: Peer,
        peer_addr: &str,
        user_id: Option<String>,
    ) -> Result<(Arc<PeerOut>, Arc<PeerIn>, Joined), String> {
        let out = {
            let mut current = lock(&self.current);
            // what waited for the peer since its last session goes first
            let out = match current.queue.take() {
                Some(kept) if !kept.is_direct() => {
                    kept.reopen();
                    kept
                }
                _ => Arc::new(PeerOut::new()),
            };
            // Registered before the socket can route to it, so that a Close arriving from now
            // on flushes this queue instead of dropping the session.
            current.queue = Some(out.clone());
            current.live = true;
            out
        };
        let readable = self.socket.readable.clone();
        let info = self.info.clone();
        let inq = Arc::new(
            PeerIn::new(
                self.info.options.rcvhwm,
                self.info.options.rcvhwm_bytes,
                Arc::new(move || readable.do_send(PeerReadable)),
            )
            .counting_losses(Arc::new(move |loss, n, why| match loss {
                Loss::Sent => info.dropped(n, why),
                Loss::Arrived => info.discarded(n, why),
            })),
        );
        let peer_type = peer.socket_type;
        let up = PeerUp {
            peer,
            address: Arc::from(peer_addr),
            user_id: user_id.as_deref().map(Arc::from),
            out: out.clone(),
            inq: inq.clone(),
        };
        match self.socket.up.send(up).await {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => return Err(reason),
            Err(_) => return Err("socket is gone".to_string()),
        }
        if self.closing() {
            out.close();
        }
        Ok((out, inq, Joined { peer_type, user_id }))
    }

    /// Reports a joined peer as live ([`SocketEvent::HandshakeSucceeded`]).
    fn live(&self, peer_addr: &str, joined: Joined) {
        self.info.emit(SocketEvent::HandshakeSucceeded {
            peer: peer_addr.to_string(),
            peer_type: joined.peer_type,
            user_id: joined.user_id,
        });
    }

    /// The end of a joined session.
    fn leave(&self, out: &PeerOut) {
        self.info.taken.unregister(self.id);
        out.close();
        self.socket.gone.do_send(PeerGone { id: self.id });
    }
}
