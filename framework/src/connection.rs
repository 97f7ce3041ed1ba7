//! The connection actor: one per live (or reconnecting) peer. It owns the byte stream, runs the
//! ZMTP handshake, answers heartbeats, and moves messages between the stream and the socket's
//! per-peer queues: a reader that decodes into the inbound queue, and a writer that drains the
//! outbound queue into one buffer per batch and writes it with one call.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use actix::prelude::*;
use actormq_patterns::{cancel_message, subscribe_message, Peer};
use actormq_transports::zmtp::{
    encode_command, encode_message, Command, Decoder, Handshake, Inbound,
};
use actormq_transports::{transport_for, BoxedStream, Endpoint, Multipart, SocketType};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tracing::Instrument;

use crate::event::SocketEvent;
use crate::queues::{Outgoing, PeerIn, PeerOut};
use crate::socket_actor::{
    ConnectionEnded, PeerGone, PeerReadable, PeerUp, PeerWritable, SocketActor, SocketCtx,
};

/// Identifies a connection actor (and the peer of its current session).
pub(crate) type ConnId = u64;

/// How a connection came to be.
pub(crate) enum Origin {
    /// Accepted on a bound endpoint.
    Accepted {
        stream: BoxedStream,
        peer: String,
        endpoint: Endpoint,
    },
    /// Connecting (and reconnecting) to an endpoint.
    Connect { endpoint: Endpoint },
}

/// One peer connection.
pub(crate) struct ConnectionActor {
    id: ConnId,
    socket: Addr<SocketActor>,
    ctx: Arc<SocketCtx>,
    origin: Option<Origin>,
    /// The outbound queue of the session in progress, if any.
    current: Arc<Mutex<Option<Arc<PeerOut>>>>,
    closing: Arc<AtomicBool>,
}

impl ConnectionActor {
    pub(crate) fn new(
        id: ConnId,
        socket: Addr<SocketActor>,
        ctx: Arc<SocketCtx>,
        origin: Origin,
    ) -> Self {
        ConnectionActor {
            id,
            socket,
            ctx,
            origin: Some(origin),
            current: Arc::default(),
            closing: Arc::default(),
        }
    }
}

/// Ask a connection to finish: flush what is queued, then close.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Close;

/// Stop a connection now, dropping what is queued (linger expired).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Abort;

impl Actor for ConnectionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some(origin) = self.origin.take() else {
            return;
        };
        let link = Link {
            id: self.id,
            socket: self.socket.clone(),
            ctx: self.ctx.clone(),
            current: self.current.clone(),
            closing: self.closing.clone(),
        };
        let fut = async move {
            match origin {
                Origin::Accepted {
                    stream,
                    peer,
                    endpoint,
                } => {
                    let span =
                        tracing::info_span!(parent: &link.ctx.span, "connection", %endpoint, %peer);
                    link.ctx.emit(SocketEvent::Accepted {
                        endpoint,
                        peer: peer.clone(),
                    });
                    link.run_session(stream, peer).instrument(span).await;
                }
                Origin::Connect { endpoint } => link.connect_loop(endpoint).await,
            }
        };
        ctx.spawn(fut.into_actor(self).map(|_, _, ctx| ctx.stop()));
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.socket.do_send(ConnectionEnded { id: self.id });
    }
}

impl Handler<Close> for ConnectionActor {
    type Result = ();
    fn handle(&mut self, _: Close, ctx: &mut Self::Context) {
        self.closing.store(true, Ordering::Release);
        let current = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match current {
            Some(out) => out.close(),
            None => ctx.stop(),
        }
    }
}

impl Handler<Abort> for ConnectionActor {
    type Result = ();
    fn handle(&mut self, _: Abort, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

/// Everything a session needs, moved into the connection's future.
struct Link {
    id: ConnId,
    socket: Addr<SocketActor>,
    ctx: Arc<SocketCtx>,
    current: Arc<Mutex<Option<Arc<PeerOut>>>>,
    closing: Arc<AtomicBool>,
}

impl Link {
    fn closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
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
        while !self.closing() {
            match transport.connect(&endpoint).await {
                Ok((stream, peer)) => {
                    attempt = 0;
                    let span =
                        tracing::info_span!(parent: &self.ctx.span, "connection", %endpoint, %peer);
                    self.ctx.emit(SocketEvent::Connected {
                        endpoint: endpoint.clone(),
                        peer: peer.clone(),
                    });
                    self.run_session(stream, peer).instrument(span).await;
                    if self.closing() {
                        return;
                    }
                    tokio::time::sleep(self.ctx.options.reconnect_ivl).await;
                }
                Err(e) => {
                    let delay = self.ctx.options.reconnect_delay(attempt);
                    attempt = attempt.saturating_add(1);
                    self.ctx.emit(SocketEvent::ConnectRetried {
                        endpoint: endpoint.clone(),
                        error: e.to_string(),
                        delay,
                    });
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Runs one connection from handshake to close; reports the reason it ended.
    async fn run_session(&self, stream: BoxedStream, peer_addr: String) {
        let reason = self.session(stream, &peer_addr).await;
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        self.ctx.emit(SocketEvent::Disconnected {
            peer: peer_addr,
            reason,
        });
    }

    async fn session(&self, stream: BoxedStream, peer_addr: &str) -> String {
        let local = self.ctx.socket_type;
        let opts = &self.ctx.options;
        let (mut rd, mut wr) = tokio::io::split(stream);
        let mut handshake = Handshake::new(local, opts.routing_id.clone());
        if let Err(e) = wr.write_all(&handshake.initial_bytes()).await {
            return format!("write error during handshake: {e}");
        }
        let mut buf = BytesMut::with_capacity(8 * 1024);
        let shake = async {
            loop {
                match handshake.feed(&mut buf) {
                    Ok(Some(info)) => return Ok(info),
                    Ok(None) => {}
                    Err(e) => {
                        if e.is_refusal() {
                            let _ = wr.write_all(&Handshake::error_bytes(&e)).await;
                            let _ = wr.flush().await;
                        }
                        return Err(format!("handshake failed: {e}"));
                    }
                }
                match rd.read_buf(&mut buf).await {
                    Ok(0) => {
                        return Err(format!(
                            "peer closed the connection during the handshake \
                             (libzmq does this when it refuses our socket type, {local})"
                        ))
                    }
                    Ok(_) => {}
                    Err(e) => return Err(format!("read error during handshake: {e}")),
                }
            }
        };
        let info = match tokio::time::timeout(opts.handshake_ivl, shake).await {
            Ok(Ok(info)) => info,
            Ok(Err(reason)) => return reason,
            Err(_) => {
                return format!(
                    "handshake not completed within handshake_ivl ({:?})",
                    opts.handshake_ivl
                )
            }
        };
        let out = Arc::new(PeerOut::new());
        let inq = Arc::new(PeerIn::new());
        let up = PeerUp {
            peer: Peer {
                id: self.id,
                socket_type: info.socket_type,
                identity: info.identity.clone(),
            },
            out: out.clone(),
            inq: inq.clone(),
        };
        // Registered before the socket can route to it, so that a Close arriving from now on
        // flushes this queue instead of dropping the session.
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(out.clone());
        match self.socket.send(up).await {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => {
                // tell the peer why before hanging up, as a handshake refusal does
                let mut error = BytesMut::new();
                encode_command(&Command::Error(reason.clone()), &mut error);
                let _ = wr.write_all(&error).await;
                let _ = wr.flush().await;
                return format!("refused by the socket: {reason}");
            }
            Err(_) => return "socket is gone".to_string(),
        }
        if self.closing() {
            out.close();
        }
        self.ctx.emit(SocketEvent::HandshakeSucceeded {
            peer: peer_addr.to_string(),
            peer_type: info.socket_type,
        });
        let encode_subs = local.is_subscriber() && info.is_3_1();
        let reader = read_loop(self, rd, buf, &inq, &out);
        let writer = write_loop(self, wr, &out, encode_subs);
        let reason = tokio::select! {
            r = reader => r,
            r = writer => r,
        };
        out.close();
        self.socket.do_send(PeerGone { id: self.id });
        reason
    }
}

async fn read_loop(
    link: &Link,
    mut rd: ReadHalf<BoxedStream>,
    mut buf: BytesMut,
    inq: &PeerIn,
    out: &PeerOut,
) -> String {
    let local = link.ctx.socket_type;
    let rcvhwm = link.ctx.options.rcvhwm;
    let mut decoder = Decoder::new(link.ctx.options.maxmsgsize);
    let publisher = matches!(local, SocketType::Pub | SocketType::XPub);
    loop {
        let mut batch = Vec::new();
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(Inbound::Message(m))) => batch.push(m),
                Ok(Some(Inbound::Command(cmd))) => match cmd {
                    Command::Ping { context, .. } => {
                        out.push(Outgoing::Command(Command::Pong(context)))
                    }
                    Command::Subscribe(topic) if publisher => batch.push(subscribe_message(&topic)),
                    Command::Cancel(topic) if publisher => batch.push(cancel_message(&topic)),
                    Command::Error(reason) => return format!("peer sent ERROR: {reason}"),
                    Command::Ready(_) => {
                        return "protocol error: READY after the handshake".to_string()
                    }
                    other => tracing::trace!(command = other.name(), "ignored command"),
                },
                Ok(None) => break,
                Err(e) => return format!("protocol error: {e}"),
            }
        }
        if !batch.is_empty() && inq.push_batch(batch) {
            link.socket.do_send(PeerReadable);
        }
        inq.wait_below(rcvhwm).await;
        buf.reserve(64 * 1024);
        match rd.read_buf(&mut buf).await {
            Ok(0) => return "peer closed the connection".to_string(),
            Ok(_) => {}
            Err(e) => return format!("read error: {e}"),
        }
    }
}

/// Writes a subscription message as a ZMTP 3.1 command, or returns it unchanged.
fn as_subscription_command(msg: Multipart) -> Result<Command, Multipart> {
    if msg.len() != 1 {
        return Err(msg);
    }
    match msg.first().and_then(|f| f.first()) {
        Some(1) => Ok(Command::Subscribe(msg.frames()[0].slice(1..))),
        Some(0) => Ok(Command::Cancel(msg.frames()[0].slice(1..))),
        _ => Err(msg),
    }
}

/// Bytes gathered before a write is issued mid-batch.
const WRITE_CHUNK: usize = 256 * 1024;

async fn write_loop(
    link: &Link,
    mut wr: WriteHalf<BoxedStream>,
    out: &PeerOut,
    encode_subs: bool,
) -> String {
    let sndhwm = link.ctx.options.sndhwm;
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        let (batch, before) = out.take_all();
        if batch.is_empty() {
            if out.is_closed() {
                let _ = wr.flush().await;
                let _ = wr.shutdown().await;
                return "closed by the socket".to_string();
            }
            out.wake.notified().await;
            continue;
        }
        if before >= sndhwm {
            link.socket.do_send(PeerWritable);
        }
        for item in batch {
            match item {
                Outgoing::Message(msg) if encode_subs => match as_subscription_command(msg) {
                    Ok(cmd) => encode_command(&cmd, &mut buf),
                    Err(msg) => encode_message(&msg, &mut buf),
                },
                Outgoing::Message(msg) => encode_message(&msg, &mut buf),
                Outgoing::Command(cmd) => encode_command(&cmd, &mut buf),
            }
            if buf.len() >= WRITE_CHUNK {
                if let Err(e) = wr.write_all(&buf).await {
                    return format!("write error: {e}");
                }
                buf.clear();
            }
        }
        if !buf.is_empty() {
            if let Err(e) = wr.write_all(&buf).await {
                return format!("write error: {e}");
            }
            buf.clear();
        }
    }
}
