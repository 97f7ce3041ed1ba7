//! The connection actor: one per live (or reconnecting) peer. It owns the link (a byte stream, an in-process pipe or datagrams), runs the
//! ZMTP handshake, answers heartbeats, and moves messages between the stream and the socket's
//! per-peer queues: a reader that decodes into the inbound queue, and a writer that drains the
//! outbound queue into one buffer per batch and writes it with one call.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use actix::prelude::*;
use actormq_patterns::{cancel_message, subscribe_message, Peer};
use actormq_transports::zmtp::{
    check_peer, encode_command, encode_message, Command, Decoder, Handshake, Inbound,
};
use actormq_transports::{
    datagram, transport_for, BoxedStream, Datagrams, Endpoint, Link, Multipart, Pipe, PipeMsg,
    SocketType,
};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tracing::Instrument;

use crate::event::SocketEvent;
use crate::heartbeat::{self, Liveness};
use crate::queues::{Direct, Outgoing, PeerIn, PeerOut};
use crate::socket_actor::{
    ConnectionEnded, PeerGone, PeerReadable, PeerUp, PeerWritable, SocketActor, SocketCtx,
};

/// Identifies a connection actor (and the peer of its current session).
pub(crate) type ConnId = u64;

/// How a connection came to be.
pub(crate) enum Origin {
    /// Accepted on a bound endpoint.
    Accepted {
        link: Link,
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
        let run = Session {
            id: self.id,
            socket: self.socket.clone(),
            ctx: self.ctx.clone(),
            current: self.current.clone(),
            closing: self.closing.clone(),
        };
        let fut = async move {
            match origin {
                Origin::Accepted {
                    link,
                    peer,
                    endpoint,
                } => {
                    let span =
                        tracing::info_span!(parent: &run.ctx.span, "connection", %endpoint, %peer);
                    run.ctx.emit(SocketEvent::Accepted {
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
struct Session {
    id: ConnId,
    socket: Addr<SocketActor>,
    ctx: Arc<SocketCtx>,
    current: Arc<Mutex<Option<Arc<PeerOut>>>>,
    closing: Arc<AtomicBool>,
}

impl Session {
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
                Ok((link, peer)) => {
                    attempt = 0;
                    let span =
                        tracing::info_span!(parent: &self.ctx.span, "connection", %endpoint, %peer);
                    self.ctx.emit(SocketEvent::Connected {
                        endpoint: endpoint.clone(),
                        peer: peer.clone(),
                    });
                    self.run_session(link, peer).instrument(span).await;
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
        let reason = match link {
            Link::Stream(stream) => self.zmtp_session(stream, &peer_addr).await,
            Link::Pipe(pipe) => self.pipe_session(pipe, &peer_addr).await,
            Link::Datagram(socket) => self.datagram_session(socket, &peer_addr).await,
        };
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        self.ctx.emit(SocketEvent::Disconnected {
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
    ) -> Result<(Arc<PeerOut>, Arc<PeerIn>), String> {
        let out = Arc::new(PeerOut::new());
        let inq = Arc::new(PeerIn::new());
        let peer_type = peer.socket_type;
        // Registered before the socket can route to it, so that a Close arriving from now on
        // flushes this queue instead of dropping the session.
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(out.clone());
        let up = PeerUp {
            peer,
            address: Arc::from(peer_addr),
            out: out.clone(),
            inq: inq.clone(),
        };
        match self.socket.send(up).await {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => return Err(reason),
            Err(_) => return Err("socket is gone".to_string()),
        }
        if self.closing() {
            out.close();
        }
        self.ctx.emit(SocketEvent::HandshakeSucceeded {
            peer: peer_addr.to_string(),
            peer_type,
        });
        Ok((out, inq))
    }

    /// The end of a joined session.
    fn leave(&self, out: &PeerOut) {
        out.close();
        self.socket.do_send(PeerGone { id: self.id });
    }

    /// ZMTP over a byte stream.
    async fn zmtp_session(&self, stream: BoxedStream, peer_addr: &str) -> String {
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
        let peer = Peer {
            id: self.id,
            socket_type: info.socket_type,
            identity: info.identity.clone(),
        };
        let (out, inq) = match self.join(peer, peer_addr).await {
            Ok(queues) => queues,
            Err(reason) => {
                // tell the peer why before hanging up, as a handshake refusal does
                let mut error = BytesMut::new();
                encode_command(&Command::Error(reason.clone()), &mut error);
                let _ = wr.write_all(&error).await;
                let _ = wr.flush().await;
                return format!("refused by the socket: {reason}");
            }
        };
        let encode_subs = local.is_subscriber() && info.is_3_1();
        let alive = Liveness::new();
        // PING and PONG are ZMTP 3.1: a 3.0 peer gets no heartbeats
        let heartbeats = async {
            if !info.is_3_1() {
                return std::future::pending().await;
            }
            heartbeat::watch(opts, &alive, |ping| out.push(Outgoing::Command(ping))).await
        };
        let reason = tokio::select! {
            r = read_loop(self, rd, buf, &inq, &out, &alive) => r,
            r = write_loop(self, wr, &out, encode_subs) => r,
            r = heartbeats => r,
        };
        self.leave(&out);
        reason
    }

    /// Whole messages through an in-process pipe: a `Hello` each way stands in for the
    /// handshake (same compatibility rules), then batches move as they are, never encoded.
    async fn pipe_session(&self, pipe: Pipe, peer_addr: &str) -> String {
        let Pipe { tx, mut rx } = pipe;
        let local = self.ctx.socket_type;
        let hello = PipeMsg::Hello {
            socket_type: local,
            identity: self.ctx.options.routing_id.clone(),
        };
        if tx.send(hello).await.is_err() {
            return "peer closed the connection during the handshake".to_string();
        }
        let greeting = tokio::time::timeout(self.ctx.options.handshake_ivl, rx.recv()).await;
        let (peer_type, identity) = match greeting {
            Ok(Some(PipeMsg::Hello {
                socket_type,
                identity,
            })) => (socket_type, identity),
            Ok(Some(PipeMsg::Refused(reason))) => {
                return format!("peer refused the connection: {reason}")
            }
            Ok(Some(PipeMsg::Attach(_))) => {
                return "handshake failed: an attachment before the greeting".to_string()
            }
            Ok(None) => return "peer closed the connection during the handshake".to_string(),
            Err(_) => return "handshake not completed within handshake_ivl".to_string(),
        };
        if let Err(e) = check_peer(local, peer_type, &identity) {
            let _ = tx.send(PipeMsg::Refused(e.to_string())).await;
            return format!("handshake failed: {e}");
        }
        let (out, inq) = match self
            .join(
                Peer {
                    id: self.id,
                    socket_type: peer_type,
                    identity,
                },
                peer_addr,
            )
            .await
        {
            Ok(queues) => queues,
            Err(reason) => {
                let _ = tx.send(PipeMsg::Refused(reason.clone())).await;
                return format!("refused by the socket: {reason}");
            }
        };
        // Hand the peer our inbound queue: from now on its socket delivers straight into it,
        // and ours into its, with no task or channel between.
        let ours = Direct {
            inbox: inq.clone(),
            socket: self.socket.clone(),
            rcvhwm: self.ctx.options.rcvhwm,
            thread: std::thread::current().id(),
        };
        if tx.send(PipeMsg::Attach(Box::new(ours))).await.is_err() {
            self.leave(&out);
            return "peer closed the connection".to_string();
        }
        let watch = async {
            loop {
                match rx.recv().await {
                    Some(PipeMsg::Attach(theirs)) => match theirs.downcast::<Direct>() {
                        Ok(theirs) => {
                            theirs.inbox.set_sender(self.socket.clone());
                            out.go_direct(*theirs);
                            // The socket may have found this peer full before it attached, and
                            // nothing else would tell it of room: route again now.
                            self.socket.do_send(PeerWritable);
                        }
                        Err(_) => {
                            return "protocol error: an attachment of an unknown kind".to_string()
                        }
                    },
                    Some(PipeMsg::Refused(reason)) => {
                        return format!("peer refused the connection: {reason}")
                    }
                    Some(PipeMsg::Hello { .. }) => {
                        return "protocol error: a second greeting".to_string()
                    }
                    None => return "peer closed the connection".to_string(),
                }
            }
        };
        // Delivery is direct, so closing only waits for the socket to say so.
        let closed = async {
            while !out.is_closed() {
                out.wake.notified().await;
            }
            "closed by the socket".to_string()
        };
        let reason = tokio::select! {
            r = watch => r,
            r = closed => r,
        };
        self.leave(&out);
        reason
    }

    /// One message per datagram, no handshake. The sending end (a PUB connected to a
    /// destination) sends everything: its "peer" subscribes to all. The receiving end (a bound
    /// SUB) takes datagrams from anyone; one that does not decode is logged and skipped.
    async fn datagram_session(&self, socket: Arc<dyn Datagrams>, peer_addr: &str) -> String {
        let sender = socket.is_sender();
        let peer_type = if sender {
            SocketType::Sub
        } else {
            SocketType::Pub
        };
        let peer = Peer {
            id: self.id,
            socket_type: peer_type,
            identity: Default::default(),
        };
        let (out, inq) = match self.join(peer, peer_addr).await {
            Ok(queues) => queues,
            Err(reason) => return format!("refused by the socket: {reason}"),
        };
        if sender && inq.push_batch(vec![actormq_patterns::subscribe_message(b"")]) {
            self.socket.do_send(PeerReadable);
        }
        let rcvhwm = self.ctx.options.rcvhwm;
        let reader = async {
            if sender {
                return std::future::pending::<String>().await;
            }
            let mut buf = vec![0u8; datagram::MAX_DATAGRAM + 1];
            loop {
                let (n, from) = match socket.recv(&mut buf).await {
                    Ok(got) => got,
                    Err(e) => return format!("receive error: {e}"),
                };
                match datagram::decode(&buf[..n]) {
                    Ok(msg) => {
                        if inq.push_batch(vec![msg]) {
                            self.socket.do_send(PeerReadable);
                        }
                        inq.wait_below(rcvhwm).await;
                    }
                    Err(reason) => tracing::warn!(%from, %reason, "dropped a malformed datagram"),
                }
            }
        };
        let writer = async {
            loop {
                let Some(batch) = next_batch(self, &out).await else {
                    return "closed by the socket".to_string();
                };
                for item in batch {
                    // a receiving end cannot send subscriptions upstream: there is no upstream
                    let Outgoing::Message(msg) = item else {
                        continue;
                    };
                    if !sender {
                        continue;
                    }
                    match datagram::encode(&msg) {
                        Ok(bytes) => {
                            if let Err(e) = socket.send(&bytes).await {
                                tracing::debug!(error = %e, "datagram not sent");
                            }
                        }
                        Err(reason) => tracing::warn!(%reason, "message not sent as a datagram"),
                    }
                }
            }
        };
        let reason = tokio::select! {
            r = reader => r,
            r = writer => r,
        };
        self.leave(&out);
        reason
    }
}

/// The next batch for a writer, or `None` once the socket closed the queue and it is drained.
/// Tells the socket when the queue had been at its high-water mark.
async fn next_batch(
    session: &Session,
    out: &PeerOut,
) -> Option<std::collections::VecDeque<Outgoing>> {
    loop {
        let (batch, before) = out.take_all();
        if batch.is_empty() {
            if out.is_closed() {
                return None;
            }
            out.wake.notified().await;
            continue;
        }
        if before >= session.ctx.options.sndhwm {
            session.socket.do_send(PeerWritable);
        }
        return Some(batch);
    }
}

async fn read_loop(
    link: &Session,
    mut rd: ReadHalf<BoxedStream>,
    mut buf: BytesMut,
    inq: &PeerIn,
    out: &PeerOut,
    alive: &Liveness,
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
                    Command::Ping { ttl, context } => {
                        alive.peer_ping(ttl);
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
        if inq.len() >= rcvhwm {
            alive.paused_until(inq.wait_below(rcvhwm)).await;
        }
        buf.reserve(64 * 1024);
        match rd.read_buf(&mut buf).await {
            Ok(0) => return "peer closed the connection".to_string(),
            Ok(_) => alive.seen(),
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
    link: &Session,
    mut wr: WriteHalf<BoxedStream>,
    out: &PeerOut,
    encode_subs: bool,
) -> String {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        let Some(batch) = next_batch(link, out).await else {
            let _ = wr.flush().await;
            let _ = wr.shutdown().await;
            return "closed by the socket".to_string();
        };
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
