//! The application's handle on a socket.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use actormq_patterns::PeerId;
use actormq_transports::{
    datagram, transport_for, Endpoint, Frame, Multipart, SocketType, TransportKind,
};
use futures_util::Stream;
use tokio::sync::{broadcast, oneshot};

use crate::engine::ctx::{next_id, Shared, SocketInfo};
use crate::engine::messages::{Bind, CloseSocket, Connect, Flush, Pump, SendNow, Subscribe};
use crate::engine::queues::recv::RecvQueue;
use crate::engine::queues::send::{Pushed, SendQueue};
use crate::engine::socket::SocketActor;
use crate::engine::turn::Turn;
use crate::event::SocketEvent;
use crate::{Error, Result, SocketOptions};

struct Inner {
    addr: Addr<SocketActor>,
    shared: Arc<Shared>,
    info: Arc<SocketInfo>,
    turn: Turn,
    /// Sends go through the actor and report the pattern's refusal (ROUTER with
    /// `router_mandatory`).
    sync_send: bool,
    /// The socket sends datagrams (a PUB connected to a `udp://` endpoint): every message must
    /// fit in one.
    datagrams: AtomicBool,
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
            recv: RecvQueue::new(),
            addresses: Default::default(),
            inlet: Default::default(),
        });
        let span = tracing::info_span!("socket", r#type = %socket_type, id = next_id());
        let info = Arc::new(SocketInfo {
            socket_type,
            options,
            events,
            span,
        });
        let pattern = actormq_patterns::for_type(socket_type, &info.options.pattern_options());
        let addr = SocketActor::new(info.clone(), shared.clone(), pattern).start();
        let turn = Turn::new(socket_type, info.options.req_relaxed);
        let sync_send = socket_type == SocketType::Router && info.options.router_mandatory;
        Ok(Socket {
            inner: Arc::new(Inner {
                addr,
                shared,
                info,
                turn,
                sync_send,
                datagrams: AtomicBool::new(false),
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
        self.inner
            .addr
            .send(Connect(endpoint))
            .await
            .map_err(|_| self.closed())??;
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
        if transport.kind() != TransportKind::Datagram {
            return Ok(false);
        }
        use SocketType::*;
        let why = match (self.socket_type(), binding) {
            (Pub | XPub, false) | (Sub | XSub, true) => return Ok(true),
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

    /// A message for a datagram transport must fit in one datagram.
    fn check_datagram(&self, msg: &Multipart) -> Result<()> {
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

    /// Queues a message. Waits while the socket's send queue is at `sndhwm` (PUSH, DEALER, PAIR
    /// or REQ with no peer able to take more); a PUB never waits for its subscribers, it drops
    /// for slow ones. A REQ must receive the reply before sending again, a REP must receive a
    /// request before replying: out of turn is [`Error::Refused`]. A ROUTER with
    /// `router_mandatory` reports an unknown or full peer as [`Error::Refused`] /
    /// [`Error::WouldBlock`].
    pub async fn send(&self, msg: impl Into<Multipart>) -> Result<()> {
        self.inner.turn.check_send().map_err(|r| self.refused(r))?;
        let mut msg = msg.into();
        self.check_datagram(&msg)?;
        if self.inner.sync_send {
            return self
                .inner
                .addr
                .send(SendNow(msg))
                .await
                .map_err(|_| self.closed())?;
        }
        loop {
            match self.inner.shared.send.try_push(msg) {
                Pushed::Queued { wake } => {
                    self.queued(wake);
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
        self.inner.turn.check_send().map_err(|r| self.refused(r))?;
        if self.inner.sync_send {
            return Err(self
                .refused("with router_mandatory, send with `send().await` to learn the outcome"));
        }
        let msg = msg.into();
        self.check_datagram(&msg)?;
        match self.inner.shared.send.try_push(msg) {
            Pushed::Queued { wake } => {
                self.queued(wake);
                Ok(())
            }
            Pushed::Full(_) => Err(Error::WouldBlock(self.socket_type())),
            Pushed::Closed => Err(self.closed()),
        }
    }

    /// Receives the next message, waiting for one. Errors once the socket is closed and drained.
    pub async fn recv(&self) -> Result<Multipart> {
        self.inner.turn.check_recv().map_err(|r| self.refused(r))?;
        loop {
            if let Some(msg) = self.try_recv_now() {
                return Ok(msg);
            }
            if self.inner.shared.recv.is_closed() {
                return Err(self.closed());
            }
            self.inner.shared.recv.wait().await;
        }
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

    fn try_recv_now(&self) -> Option<Multipart> {
        self.try_recv_now_from().map(|(_, msg)| msg)
    }

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
        Some(item)
    }

    /// Receives the next message with the address of the peer it came from
    /// (`127.0.0.1:5555`, `ipc:///tmp/x.ipc`, ...; `(gone)` if that peer has since left).
    pub async fn recv_from(&self) -> Result<(Multipart, Arc<str>)> {
        self.inner.turn.check_recv().map_err(|r| self.refused(r))?;
        loop {
            if let Some((peer, msg)) = self.try_recv_now_from() {
                let addresses = self
                    .inner
                    .shared
                    .addresses
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                let from = addresses
                    .get(&peer)
                    .cloned()
                    .unwrap_or_else(|| Arc::from("(gone)"));
                return Ok((msg, from));
            }
            if self.inner.shared.recv.is_closed() {
                return Err(self.closed());
            }
            self.inner.shared.recv.wait().await;
        }
    }

    /// The inbound messages as a stream, for an actix actor's `StreamHandler`
    /// (`ctx.add_stream(socket.stream())`) or any stream combinator. It ends when the socket
    /// closes. The stream holds the socket open.
    pub fn stream(&self) -> impl Stream<Item = Multipart> + Unpin + 'static {
        Box::pin(futures_util::stream::unfold(
            self.clone(),
            |socket| async move { socket.recv().await.ok().map(|msg| (msg, socket)) },
        ))
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
