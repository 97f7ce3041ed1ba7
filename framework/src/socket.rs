//! The application's handle on a socket.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use actormq_patterns::{PeerId, Turn};
use actormq_transports::{
    datagram, transport_for, Endpoint, Frame, Multipart, SocketType, TransportKind,
};
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_util::{Sink, Stream};
use tokio::sync::{broadcast, oneshot};

use crate::engine::ctx::{next_id, Shared, SocketInfo};
use crate::engine::messages::{Bind, CloseSocket, Connect, Flush, Pump, SendNow, Subscribe};
use crate::engine::queues::recv::RecvQueue;
use crate::engine::queues::send::{Pushed, SendQueue};
use crate::engine::socket::SocketActor;
use crate::event::SocketEvent;
use crate::peer_label::PeerLabel;
use crate::{Error, Result, SocketOptions};

struct Inner {
    addr: Addr<SocketActor>,
    shared: Arc<Shared>,
    info: Arc<SocketInfo>,
    /// Whose turn it is (REQ, REP), taken from the pattern: the handle owns it, so that a call
    /// out of turn fails at once, without a round trip to the actor.
    turn: Turn,
    /// Sends go through the actor and report the pattern's refusal (ROUTER with
    /// `router_mandatory`, STREAM).
    sync_send: bool,
    /// The socket sends datagrams (a PUB connected to a `udp://` endpoint): every message must
    /// fit in one.
    datagrams: AtomicBool,
    /// Broker transports the socket is connected through, which may refuse a message
    /// ([`actormq_transports::Transport::check_message`]); looked at only when not empty.
    brokers: std::sync::Mutex<Vec<Arc<dyn actormq_transports::Transport>>>,
    /// `brokers` is not empty.
    via_broker: AtomicBool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle is gone: close in the background, lingering as configured.
        self.addr.do_send(CloseSocket(None));
    }
}

/// A ZeroMQ-style socket. Cheap to clone; all clones are the same socket. The socket closes
/// (lingering per [`SocketOptions::linger`]) when the last clone is dropped, or at [`Socket::close`].
///
/// Sockets must be created inside a running actix `System` (`#[actix::main]`,
/// `System::new().block_on(..)`); the socket's actors run on the arbiter that created it.
///
/// ```
/// use actormq::{Multipart, Socket, SocketType};
///
/// # actix::System::new().block_on(async {
/// let publisher = Socket::new(SocketType::Pub)?;
/// let endpoint = publisher.bind("tcp://127.0.0.1:0").await?;
/// let subscriber = Socket::new(SocketType::Sub)?;
/// subscriber.connect(&endpoint).await?;
/// subscriber.subscribe("weather").await?;
/// // A subscription takes a moment to reach the publisher: publish until one arrives.
/// let received = loop {
///     publisher.send(["weather", "sunny"]).await?;
///     if let Ok(Ok(msg)) = tokio::time::timeout(std::time::Duration::from_millis(50), subscriber.recv()).await {
///         break msg;
///     }
/// };
/// assert_eq!(received, Multipart::from(["weather", "sunny"]));
/// # Ok::<(), actormq::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Socket {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("type", &self.inner.info.socket_type)
            .finish()
    }
}

impl Socket {
    /// A socket of the given type with default options.
    pub fn new(socket_type: SocketType) -> Result<Socket> {
        Socket::with_options(socket_type, SocketOptions::default())
    }

    /// A socket of the given type with the given options.
    pub fn with_options(socket_type: SocketType, options: SocketOptions) -> Result<Socket> {
        options.validate()?;
        let (events, _) = broadcast::channel(256);
        let shared = Arc::new(Shared {
            send: SendQueue::new(options.sndhwm),
            recv: RecvQueue::new(options.rcvhwm_bytes),
            addresses: Default::default(),
            inlet: Default::default(),
            peers: Default::default(),
        });
        let id = next_id();
        let span = tracing::info_span!("socket", r#type = %socket_type, id);
        let info = Arc::new(SocketInfo {
            id,
            socket_type,
            options,
            events,
            span,
            dropped: Default::default(),
            dropped_unread: Default::default(),
            discarded: Default::default(),
            taken: Default::default(),
            dropped_hwm: Default::default(),
            counters: Default::default(),
        });
        crate::engine::registry::register(&info, &shared);
        let mut pattern = actormq_patterns::for_type(socket_type, &info.options.pattern_options());
        // The one turn state: checked on this handle, where the application calls (a REQ's
        // pattern hands its own over; the other types get a fresh one).
        let turn = pattern
            .take_turn()
            .unwrap_or_else(|| Turn::new(socket_type, info.options.req_relaxed));
        let addr = SocketActor::new(info.clone(), shared.clone(), pattern).start();
        let sync_send = socket_type == SocketType::Stream
            || socket_type == SocketType::Router && info.options.router_mandatory;
        Ok(Socket {
            inner: Arc::new(Inner {
                addr,
                shared,
                info,
                turn,
                sync_send,
                datagrams: AtomicBool::new(false),
                brokers: Default::default(),
                via_broker: AtomicBool::new(false),
            }),
        })
    }

    /// The socket's type.
    pub fn socket_type(&self) -> SocketType {
        self.inner.info.socket_type
    }

    /// The socket's options.
    pub fn options(&self) -> &SocketOptions {
        &self.inner.info.options
    }

    /// Why [`Socket::try_send`] and the sink are refused to a socket that sends through its
    /// actor.
    fn sync_only(&self) -> Error {
        self.refused(match self.socket_type() {
            SocketType::Stream => {
                "STREAM sockets send with `send().await`, to learn whether the peer id is known"
            }
            _ => "with router_mandatory, send with `send().await` to learn the outcome",
        })
    }

    /// Sends through the actor, which reports the pattern's refusal. A ROUTER with
    /// `router_mandatory` reports a full peer as [`Error::WouldBlock`]; a STREAM socket waits
    /// for room instead (asking again after 1 ms, doubling up to 50 ms), as libzmq's blocking
    /// send does.
    async fn send_now(&self, msg: Multipart) -> Result<()> {
        let mut pause = std::time::Duration::from_millis(1);
        loop {
            let sent = self
                .inner
                .addr
                .send(SendNow(msg.clone()))
                .await
                .map_err(|_| self.closed())?;
            match sent {
                Err(Error::WouldBlock(_)) if self.socket_type() == SocketType::Stream => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    fn closed(&self) -> Error {
        Error::Closed(self.socket_type())
    }

    /// Binds an endpoint and returns the endpoint actually bound (`tcp://*:0` comes back with
    /// the port the system chose). A socket may bind several endpoints.
    pub async fn bind<E>(&self, endpoint: E) -> Result<Endpoint>
    where
        E: TryInto<Endpoint, Error = actormq_transports::Error>,
    {
        let endpoint = endpoint.try_into()?;
        self.check_transport(&endpoint, true)?;
        self.inner
            .addr
            .send(Bind(endpoint))
            .await
            .map_err(|_| self.closed())?
    }

    /// Connects to an endpoint. Returns at once: the connection is made in the background and
    /// remade whenever it is lost (`reconnect_ivl`), so connecting before the peer binds works.
    pub async fn connect<E>(&self, endpoint: E) -> Result<()>
    where
        E: TryInto<Endpoint, Error = actormq_transports::Error>,
    {
        let endpoint = endpoint.try_into()?;
        let datagrams = self.check_transport(&endpoint, false)?;
        let transport = transport_for(&endpoint).ok();
        self.inner
            .addr
            .send(Connect(endpoint.clone()))
            .await
            .map_err(|_| self.closed())??;
        self.inner.info.counters.endpoint(format!(">{endpoint}"));
        if let Some(t) = transport.filter(|t| t.kind() == TransportKind::Broker) {
            let mut brokers = self.inner.brokers.lock().unwrap_or_else(|e| e.into_inner());
            if brokers.iter().all(|b| b.scheme() != t.scheme()) {
                brokers.push(t);
            }
            self.inner.via_broker.store(true, Ordering::Release);
        }
        if datagrams {
            self.inner.datagrams.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// What a transport allows this socket: datagrams carry publish/subscribe only, a PUB
    /// connecting to send and a SUB binding to receive. True for a datagram transport.
    fn check_transport(&self, endpoint: &Endpoint, binding: bool) -> Result<bool> {
        let Ok(transport) = transport_for(endpoint) else {
            return Ok(false); // the actor answers "transport not available"
        };
        transport
            .check_socket(self.socket_type(), endpoint, binding)
            .map_err(|why| self.refused(&why))?;
        let kind = transport.kind();
        match self.socket_type() {
            SocketType::Stream if kind != TransportKind::Stream => {
                return Err(self.refused(&format!(
                    "STREAM sockets speak raw bytes over byte-stream transports (tcp://, ipc://), not {endpoint}"
                )))
            }
            SocketType::Dgram if kind != TransportKind::Datagram => {
                return Err(self.refused(&format!(
                    "DGRAM sockets send plain datagrams over udp://, not {endpoint}"
                )))
            }
            _ => {}
        }
        if kind != TransportKind::Datagram {
            return Ok(false);
        }
        use SocketType::*;
        let why = match (self.socket_type(), binding) {
            (Pub | XPub, false) | (Sub | XSub, true) | (Dgram, _) => return Ok(true),
            (Pub | XPub, true) => format!(
                "a publisher sends datagrams to an address: connect it to {endpoint} (a SUB binds to receive)"
            ),
            (Sub | XSub, false) => format!(
                "a subscriber receives datagrams where it is bound: bind it to {endpoint} (a PUB connects to send)"
            ),
            (other, _) => format!(
                "{endpoint} carries unreliable datagrams, and {other} needs a reliable stream: use tcp://, ipc:// or inproc://"
            ),
        };
        Err(self.refused(&why))
    }

    fn refused(&self, reason: &str) -> Error {
        Error::Refused {
            socket_type: self.socket_type(),
            reason: reason.into(),
        }
    }

    /// A message for a datagram transport must fit in one datagram (a DGRAM socket's is
    /// `[IP:port, payload]`).
    fn check_datagram(&self, msg: &Multipart) -> Result<()> {
        if self.socket_type() == SocketType::Dgram {
            return datagram::raw_parts(msg)
                .map(|_| ())
                .map_err(|why| self.refused(&why));
        }
        if self.inner.via_broker.load(Ordering::Acquire) {
            let brokers = self.inner.brokers.lock().unwrap_or_else(|e| e.into_inner());
            for b in brokers.iter() {
                b.check_message(self.socket_type(), msg).map_err(|why| {
                    self.refused(&format!("cannot send over {}://: {why}", b.scheme()))
                })?;
            }
        }
        if self.inner.datagrams.load(Ordering::Acquire) {
            datagram::check(msg)
                .map_err(|why| self.refused(&format!("cannot send over udp://: {why}")))?;
        }
        Ok(())
    }

    /// After a message went into the send queue: wake the actor if needed, note the turn.
    fn queued(&self, wake: bool) {
        if wake {
            self.inner.addr.do_send(Flush);
        }
        self.inner.turn.sent();
    }

    /// Takes the turn to send (REQ/REP), or says why the application may not send now.
    fn claim_turn(&self) -> Result<SendTurn<'_>> {
        self.inner.turn.claim_send().map_err(|r| self.refused(r))?;
        Ok(SendTurn(Some(&self.inner.turn)))
    }

    /// Queues a message. Waits while the socket's send queue is at `sndhwm` (PUSH, DEALER, PAIR
    /// or REQ with no peer able to take more); a PUB never waits for its subscribers, it drops
    /// for slow ones. A REQ must receive the reply before sending again, a REP must receive a
    /// request before replying: out of turn is [`Error::Refused`]. A ROUTER with
    /// `router_mandatory` reports an unknown or full peer as [`Error::Refused`] /
    /// [`Error::WouldBlock`].
    pub async fn send(&self, msg: impl Into<Multipart>) -> Result<()> {
        let turn = self.claim_turn()?;
        let mut msg = msg.into();
        self.check_datagram(&msg)?;
        if self.inner.sync_send {
            return self.send_now(msg).await;
        }
        loop {
            match self.inner.shared.send.try_push(msg) {
                Pushed::Queued { wake } => {
                    self.queued(wake);
                    turn.keep();
                    return Ok(());
                }
                Pushed::Full(m) => {
                    msg = m;
                    self.inner.shared.send.wait_for_space().await;
                }
                Pushed::Closed => return Err(self.closed()),
            }
        }
    }

    /// Queues a message if there is room now, else [`Error::WouldBlock`] (like `ZMQ_DONTWAIT`).
    /// A ROUTER with `router_mandatory` sends through [`Socket::send`] only.
    pub fn try_send(&self, msg: impl Into<Multipart>) -> Result<()> {
        let turn = self.claim_turn()?;
        if self.inner.sync_send {
            return Err(self.sync_only());
        }
        let msg = msg.into();
        self.check_datagram(&msg)?;
        match self.inner.shared.send.try_push(msg) {
            Pushed::Queued { wake } => {
                self.queued(wake);
                turn.keep();
                Ok(())
            }
            Pushed::Full(_) => Err(Error::WouldBlock(self.socket_type())),
            Pushed::Closed => Err(self.closed()),
        }
    }

    /// Receives the next message, waiting for one. Errors once the socket is closed and drained.
    pub async fn recv(&self) -> Result<Multipart> {
        self.inner.turn.check_recv().map_err(|r| self.refused(r))?;
        let poll_until = self.poll_until();
        loop {
            if let Some(msg) = self.try_recv_now() {
                return Ok(msg);
            }
            if self.inner.shared.recv.is_closed() {
                return Err(self.closed());
            }
            self.wait_ready(poll_until).await;
        }
    }

    /// Until when a receive that found nothing keeps polling (`busy_poll`), if at all.
    fn poll_until(&self) -> Option<std::time::Instant> {
        let spin = self.inner.info.options.busy_poll;
        (!spin.is_zero()).then(|| std::time::Instant::now() + spin)
    }

    /// Waits until a message may be ready (or the socket closed): before `poll_until`, only
    /// yields (the runtime polls its sockets without sleeping, then runs us again); after it,
    /// sleeps until woken.
    async fn wait_ready(&self, poll_until: Option<std::time::Instant>) {
        if poll_until.is_some_and(|t| std::time::Instant::now() < t) {
            tokio::task::yield_now().await;
        } else {
            self.inner.shared.recv.wait().await;
        }
    }

    /// Receives up to `max` messages at once, waiting until at least one is ready: appends
    /// them to `buf`, in the order [`Socket::recv`] would give them, and returns how many (as
    /// tokio's `mpsc::Receiver::recv_many`). It takes the socket's ready queue's lock once per
    /// batch where `recv` takes it once per message, so a busy receiver spends less per
    /// message. REQ and REP receive one at a time (their turn). Returns 0 only when `max` is 0;
    /// errors once the socket is closed and drained.
    ///
    /// ```
    /// # actix::System::new().block_on(async {
    /// use actormq::{Socket, SocketType};
    /// let pull = Socket::new(SocketType::Pull)?;
    /// let ep = pull.bind("inproc://recv-many-doc").await?;
    /// let push = Socket::new(SocketType::Push)?;
    /// push.connect(&ep).await?;
    /// for i in 0..3u8 {
    ///     push.send(vec![i]).await?;
    /// }
    /// let mut got = Vec::new();
    /// while got.len() < 3 {
    ///     pull.recv_many(&mut got, 64).await?;
    /// }
    /// assert_eq!(got[2].first().map(|f| f.to_vec()), Some(vec![2]));
    /// # Ok::<(), actormq::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn recv_many(&self, buf: &mut Vec<Multipart>, max: usize) -> Result<usize> {
        self.inner.turn.check_recv().map_err(|r| self.refused(r))?;
        if max == 0 {
            return Ok(0);
        }
        let poll_until = self.poll_until();
        loop {
            let n = self.try_recv_many_now(buf, max);
            if n > 0 {
                return Ok(n);
            }
            if self.inner.shared.recv.is_closed() {
                return Err(self.closed());
            }
            self.wait_ready(poll_until).await;
        }
    }

    /// Receives up to `max` messages that are ready now (see [`Socket::recv_many`]), else
    /// [`Error::WouldBlock`].
    pub fn try_recv_many(&self, buf: &mut Vec<Multipart>, max: usize) -> Result<usize> {
        self.inner.turn.check_recv().map_err(|r| self.refused(r))?;
        if max == 0 {
            return Ok(0);
        }
        match self.try_recv_many_now(buf, max) {
            0 if self.inner.shared.recv.is_closed() => Err(self.closed()),
            0 => Err(Error::WouldBlock(self.socket_type())),
            n => Ok(n),
        }
    }

    fn try_recv_many_now(&self, buf: &mut Vec<Multipart>, max: usize) -> usize {
        let max = match self.socket_type() {
            SocketType::Req | SocketType::Rep => 1,
            _ => max,
        };
        let shared = &self.inner.shared;
        let taken = &self.inner.info.taken;
        let mut from = Vec::new();
        let hooked = taken.any();
        let mut into = |id, msg| {
            if hooked {
                from.push(id);
            }
            buf.push(msg);
        };
        let (mut n, pump) = shared.recv.try_pop_many(max, &mut into);
        if n == 0 {
            // ran dry: take from the only peer directly rather than wait for the actor
            n = shared.take_direct(self.inner.info.options.rcvhwm, max, &mut into);
        }
        if pump {
            self.inner.addr.do_send(Pump);
        }
        if n > 0 {
            self.inner.turn.received();
        }
        for id in from {
            taken.took(id);
        }
        n
    }

    /// Receives a message if one is ready, else [`Error::WouldBlock`].
    pub fn try_recv(&self) -> Result<Multipart> {
        self.inner.turn.check_recv().map_err(|r| self.refused(r))?;
        match self.try_recv_now() {
            Some(msg) => Ok(msg),
            None if self.inner.shared.recv.is_closed() => Err(self.closed()),
            None => Err(Error::WouldBlock(self.socket_type())),
        }
    }

    #[inline]
    fn try_recv_now(&self) -> Option<Multipart> {
        self.try_recv_now_from().map(|(_, msg)| msg)
    }

    #[inline]
    fn try_recv_now_from(&self) -> Option<(PeerId, Multipart)> {
        let shared = &self.inner.shared;
        let (item, pump) = shared.recv.try_pop().or_else(|| {
            // ran dry: take from the only peer directly rather than wait for the actor
            shared.refill(self.inner.info.options.rcvhwm);
            shared.recv.try_pop()
        })?;
        if pump {
            self.inner.addr.do_send(Pump);
        }
        self.inner.turn.received();
        self.inner.info.taken.took(item.0);
        Some(item)
    }

    /// Receives the next message with the address of the peer it came from
    /// (`127.0.0.1:5555`, `ipc:///tmp/x.ipc`, ...; `(gone)` if that peer has since left).
    pub async fn recv_from(&self) -> Result<(Multipart, Arc<str>)> {
        let (msg, peer) = self.recv_from_peer().await?;
        Ok((msg, peer.address))
    }

    /// Receives the next message with what is known of the peer it came from: its address
    /// and, when an authenticator let it in, its `User-Id` (as libzmq's
    /// `zmq_msg_gets(msg, "User-Id")`: by default the PLAIN user name or the CURVE client key
    /// in Z85).
    pub async fn recv_from_peer(&self) -> Result<(Multipart, PeerLabel)> {
        self.inner.turn.check_recv().map_err(|r| self.refused(r))?;
        let poll_until = self.poll_until();
        loop {
            if let Some((peer, msg)) = self.try_recv_now_from() {
                let addresses = self
                    .inner
                    .shared
                    .addresses
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                let from = addresses.get(&peer).cloned().unwrap_or_else(|| PeerLabel {
                    address: Arc::from("(gone)"),
                    user_id: None,
                });
                return Ok((msg, from));
            }
            if self.inner.shared.recv.is_closed() {
                return Err(self.closed());
            }
            self.wait_ready(poll_until).await;
        }
    }

    /// The inbound messages as a stream, for an actix actor's `StreamHandler`
    /// (`ctx.add_stream(socket.stream())`) or any stream combinator.
    ///
    /// Each item is the next message, as [`Socket::recv`] would return it. The stream ends
    /// (yields `None`) when `recv` returns an error, and the only error `recv` returns to a
    /// socket that may receive is [`Error::Closed`]: the socket was closed ([`Socket::close`],
    /// or its last handle dropped) and every message received before that has been yielded.
    /// Since the stream holds a handle, it keeps the socket open: dropping the other handles
    /// does not end it, `close()` does. (On a REQ or REP the stream also ends at the first
    /// receive out of turn, which `recv` refuses; a PUSH or PUB never receives, so its stream
    /// never yields.)
    pub fn stream(&self) -> impl Stream<Item = Multipart> + Unpin + 'static {
        Box::pin(futures_util::stream::unfold(
            self.clone(),
            |socket| async move { socket.recv().await.ok().map(|msg| (msg, socket)) },
        ))
    }

    /// A [`Sink`] of [`Multipart`]s into this socket, for `futures::SinkExt` (`send_all`,
    /// `feed`, `forward`). See [`SocketSink`].
    pub fn sink(&self) -> SocketSink {
        SocketSink {
            socket: self.clone(),
            waiting: None,
            unsent: None,
            closing: None,
        }
    }

    /// A message the application may hand over now: the checks of [`Socket::try_send`].
    fn sendable(&self, msg: &Multipart) -> Result<SendTurn<'_>> {
        let turn = self.claim_turn()?;
        if self.inner.sync_send {
            return Err(self.sync_only());
        }
        self.check_datagram(msg)?;
        Ok(turn)
    }

    /// Subscribes to messages whose first frame starts with `prefix` (SUB; `""` for all).
    /// Subscriptions are counted: subscribing twice needs two unsubscribes.
    pub async fn subscribe(&self, prefix: impl Into<Frame>) -> Result<()> {
        let msg = Subscribe {
            topic: prefix.into(),
            on: true,
        };
        self.inner.addr.send(msg).await.map_err(|_| self.closed())?
    }

    /// Removes one subscription to `prefix`.
    pub async fn unsubscribe(&self, prefix: impl Into<Frame>) -> Result<()> {
        let msg = Subscribe {
            topic: prefix.into(),
            on: false,
        };
        self.inner.addr.send(msg).await.map_err(|_| self.closed())?
    }

    /// How many messages this socket has given up on so far: queued for a peer that
    /// disconnected and will not come back (an accepted peer: the socket cannot reconnect to
    /// it), lost in flight when a write failed, or still queued when `linger` expired at close
    /// (read it after [`Socket::close`] returns). A connecting socket keeps what was queued for
    /// a peer across its reconnects, so a peer that restarts does not count. A PUB or XPUB
    /// counts one for each subscriber a message skipped because that subscriber was at its
    /// high-water mark, and an XSUB each upstream message a full publisher did not get. Over a
    /// link that carries messages itself, it also counts what the link could not pass on: a
    /// message a broker refused (a RabbitMQ nack, a NATS message over the server's
    /// `max_payload`), the rest of a batch cut off by a lost broker connection, a datagram whose
    /// send failed.
    ///
    /// ```
    /// use actormq::{Socket, SocketOptions, SocketType};
    /// use std::time::Duration;
    ///
    /// # actix::System::new().block_on(async {
    /// let opts = SocketOptions::default().linger(Some(Duration::from_millis(50)));
    /// let push = Socket::with_options(SocketType::Push, opts)?;
    /// push.connect("tcp://127.0.0.1:1").await?; // nobody there
    /// push.send("lost").await?;
    /// push.close().await;
    /// assert_eq!(push.undelivered(), 1);
    /// # Ok::<(), actormq::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn undelivered(&self) -> u64 {
        self.inner
            .info
            .dropped
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many messages for the application this socket dropped because the application
    /// did not read them. Only an XPUB drops so: its subscriptions must apply whether or not
    /// the application reads their notices, so once the ready queue is full, at most
    /// `rcvhwm` more notices wait and later ones are dropped here (the subscriptions still
    /// apply). Every other socket type stops reading its peers instead (back-pressure), and
    /// this stays 0.
    pub fn dropped_unread(&self) -> u64 {
        self.inner
            .info
            .dropped_unread
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many messages arrived for this socket and were dropped before it had them. ZMTP
    /// never drops so (a peer that breaks the protocol or a limit is closed instead); a link
    /// that carries messages itself may: a malformed or oversized datagram over `udp://`, a
    /// broker's message that does not decode (a bad `Actormq-Frames` header), or messages a
    /// NATS client dropped because the subscription's buffer was full (one count for each
    /// slow-consumer report). Each drop is also logged as a warning.
    pub fn discarded(&self) -> u64 {
        self.inner
            .info
            .discarded
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Names the socket in its metrics ([`Socket::metrics`], the monitoring endpoint): a graph
    /// names each socket `socket/actor[index]` (its socket in the graph file, and the actor
    /// instance that uses it).
    pub fn set_name(&self, name: impl Into<String>) {
        *self
            .inner
            .info
            .counters
            .name
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(name.into());
    }

    /// This socket's metrics now: messages and bytes in and out, drops by reason, queue
    /// depths, peers and connection counts, with each live peer's
    /// ([`crate::metrics::SocketMetrics`]). Cheap enough to call every second: the counters are
    /// kept per batch whether or not anyone reads them.
    ///
    /// ```
    /// use actormq::{Socket, SocketType};
    ///
    /// # actix::System::new().block_on(async {
    /// let pull = Socket::new(SocketType::Pull)?;
    /// let ep = pull.bind("inproc://metrics-doc").await?;
    /// let push = Socket::new(SocketType::Push)?;
    /// push.connect(&ep).await?;
    /// push.send("hello").await?;
    /// pull.recv().await?;
    /// let m = pull.metrics();
    /// assert_eq!((m.messages_in, m.bytes_in, m.peers.len()), (1, 5, 1));
    /// # Ok::<(), actormq::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn metrics(&self) -> crate::metrics::SocketMetrics {
        crate::metrics::of(&self.inner.info, &self.inner.shared)
    }

    /// A receiver of this socket's [`SocketEvent`]s from now on (like `zmq_socket_monitor`).
    pub fn monitor(&self) -> broadcast::Receiver<SocketEvent> {
        self.inner.info.events.subscribe()
    }

    /// Closes the socket: stops listening, delivers what is queued (within `linger`), then
    /// closes every connection. Returns when that is done.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inner.addr.send(CloseSocket(Some(tx))).await.is_ok() {
            let _ = rx.await;
        }
    }
}

type Waiting = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A [`Sink`] of [`Multipart`]s into a socket, from [`Socket::sink`]: what
/// `futures::SinkExt::send_all`, `feed` and `StreamExt::forward` need.
///
/// - `poll_ready` is the high-water mark's back-pressure: ready while the socket's send queue
///   has room, pending while it is at `sndhwm` (a PUSH with no peer, or peers that take nothing)
///   until a message leaves it, exactly when [`Socket::send`] would stop waiting.
/// - `start_send` queues the message, with the checks of [`Socket::try_send`] (a REQ out of
///   turn, a SUB, a ROUTER with `router_mandatory`, which must use `send().await`, are
///   refused with their [`Error`]). If another handle of the socket took the room that
///   `poll_ready` saw, the message is kept here and handed over at the next `poll_ready` or
///   `poll_flush`: nothing is lost.
/// - `poll_flush` is ready once every message given to the sink is in the socket's send queue.
///   That is "handed to the socket", not "delivered": the socket's actors write it to the
///   peers afterwards, as for `send().await`. To wait until queued messages are delivered
///   close the socket, which lingers per [`SocketOptions::linger`].
/// - `poll_close` flushes, then closes the socket as [`Socket::close`] does: for every handle,
///   lingering to deliver what is queued.
///
/// Why a separate type: a `Sink` keeps state between calls (the pending wait for room, a
/// message not yet handed over), and [`Socket`] is a cheap `Clone` whose clones are the same
/// socket. The state belongs to one sender, not to the socket, so each `SocketSink` has its
/// own, and a `Socket` stays a plain shared handle (`Sync`, usable from any number of tasks).
///
/// ```
/// use actormq::{Multipart, Socket, SocketType};
/// use futures_util::{stream, SinkExt};
///
/// # actix::System::new().block_on(async {
/// let pull = Socket::new(SocketType::Pull)?;
/// let endpoint = pull.bind("tcp://127.0.0.1:0").await?;
/// let push = Socket::new(SocketType::Push)?;
/// push.connect(&endpoint).await?;
/// let mut tasks = stream::iter((0..3).map(|i| Ok(Multipart::from(i.to_string()))));
/// push.sink().send_all(&mut tasks).await?;
/// assert_eq!(pull.recv().await?, Multipart::from("0"));
/// # Ok::<(), actormq::Error>(())
/// # }).unwrap();
/// ```
pub struct SocketSink {
    socket: Socket,
    /// The wait for room in the send queue, while `poll_ready` is pending.
    waiting: Option<Waiting>,
    /// A message `start_send` could not queue (another handle took the room).
    unsent: Option<Multipart>,
    /// `Socket::close`, once `poll_close` started it.
    closing: Option<Waiting>,
}

impl std::fmt::Debug for SocketSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketSink")
            .field("socket", &self.socket)
            .field("waiting", &self.waiting.is_some())
            .field("unsent", &self.unsent)
            .finish()
    }
}

impl SocketSink {
    /// The socket this sink sends into.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Waits for room in the send queue: ready when there is some (or the socket is closed).
    fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.waiting.is_none() {
                if self.socket.inner.shared.send.has_room_or_closed() {
                    return Poll::Ready(());
                }
                let shared = self.socket.inner.shared.clone();
                self.waiting = Some(Box::pin(async move { shared.send.wait_for_space().await }));
            }
            if let Some(waiting) = self.waiting.as_mut() {
                ready!(waiting.as_mut().poll(cx));
            }
            // woken: there may be room; look again
            self.waiting = None;
        }
    }

    /// Hands the kept message over, waiting for room as needed.
    fn poll_unsent(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        while let Some(msg) = self.unsent.take() {
            match self.socket.inner.shared.send.try_push(msg) {
                Pushed::Queued { wake } => self.socket.queued(wake),
                Pushed::Full(msg) => {
                    self.unsent = Some(msg);
                    ready!(self.poll_room(cx));
                }
                Pushed::Closed => return Poll::Ready(Err(self.socket.closed())),
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl Sink<Multipart> for SocketSink {
    type Error = Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        ready!(self.poll_unsent(cx))?;
        ready!(self.poll_room(cx));
        if self.socket.inner.shared.send.is_closed() {
            return Poll::Ready(Err(self.socket.closed()));
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(mut self: Pin<&mut Self>, msg: Multipart) -> Result<()> {
        let socket = self.socket.clone();
        let turn = socket.sendable(&msg)?;
        match socket.inner.shared.send.try_push(msg) {
            Pushed::Queued { wake } => {
                socket.queued(wake);
                turn.keep();
                Ok(())
            }
            Pushed::Full(msg) => {
                // taken by the sink: handed over at the next poll
                self.unsent = Some(msg);
                turn.keep();
                Ok(())
            }
            Pushed::Closed => Err(socket.closed()),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.poll_unsent(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        ready!(self.poll_unsent(cx))?;
        if self.closing.is_none() {
            let socket = self.socket.clone();
            self.closing = Some(Box::pin(async move { socket.close().await }));
        }
        if let Some(closing) = self.closing.as_mut() {
            ready!(closing.as_mut().poll(cx));
        }
        Poll::Ready(Ok(()))
    }
}

/// A turn to send taken with [`Turn::claim_send`]: given back when dropped, unless the message
/// was queued ([`SendTurn::keep`]), so that an error or a `send` future dropped while it waited
/// for room does not leave a REQ believing a request is out.
struct SendTurn<'a>(Option<&'a Turn>);

impl SendTurn<'_> {
    /// The message was queued: the turn stays taken.
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for SendTurn<'_> {
    fn drop(&mut self) {
        if let Some(turn) = self.0 {
            turn.unclaim_send();
        }
    }
}
