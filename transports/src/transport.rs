//! The plug-in point for transports, and the registry keyed by URL scheme.
//!
//! A transport binds and connects endpoints of one scheme and yields a [`Link`] per
//! connection. Most transports yield a byte stream, and ZMTP runs over it (that is all a new
//! stream transport has to provide); `inproc://` yields a pipe of whole messages, and `udp://`
//! datagrams. Built-in transports register here exactly as a user's would.
//!
//! ```
//! use std::sync::Arc;
//! use actormq_transports::{register_transport, transport_for, BoxFuture, Endpoint, Link, Listener,
//!     Result, Transport, TransportKind};
//!
//! /// A transport that forwards `loop://host:port` to TCP: a template for a real one.
//! struct Loop;
//!
//! impl Transport for Loop {
//!     fn scheme(&self) -> &'static str { "loop" }
//!     fn kind(&self) -> TransportKind { TransportKind::Stream }
//!     fn bind<'a>(&'a self, ep: &'a Endpoint) -> BoxFuture<'a, Result<Box<dyn Listener>>> {
//!         Box::pin(async move {
//!             let Endpoint::Other { address, .. } = ep else { unreachable!() };
//!             let tcp: Endpoint = format!("tcp://{address}").parse()?;
//!             transport_for(&tcp)?.bind(&tcp).await
//!         })
//!     }
//!     fn connect<'a>(&'a self, ep: &'a Endpoint) -> BoxFuture<'a, Result<(Link, String)>> {
//!         Box::pin(async move {
//!             let Endpoint::Other { address, .. } = ep else { unreachable!() };
//!             let tcp: Endpoint = format!("tcp://{address}").parse()?;
//!             transport_for(&tcp)?.connect(&tcp).await
//!         })
//!     }
//! }
//!
//! register_transport(Arc::new(Loop));
//! let ep: Endpoint = "loop://127.0.0.1:5555".parse().unwrap();
//! assert_eq!(transport_for(&ep).unwrap().scheme(), "loop");
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, RwLock};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::{Endpoint, Error, Link, Result};

/// A byte stream a transport yields: anything readable and writable.
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// A boxed [`Stream`].
pub type BoxedStream = Box<dyn Stream>;

/// A boxed future, as the object-safe trait methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a transport carries, which decides what a socket can do over it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// A reliable, ordered byte stream per connection; ZMTP runs over it. Every socket type
    /// works.
    Stream,
    /// Whole messages between sockets of one process, never encoded. Every socket type works.
    InProcess,
    /// Unreliable datagrams, one message each: publish/subscribe only (PUB connects to the
    /// destination, SUB binds to receive).
    Datagram,
    /// Whole messages through a broker server (Redis, ...), which sockets connect to; which
    /// socket types it carries, the transport says ([`Transport::check_socket`]).
    Broker,
}

/// A bound endpoint that accepts connections.
pub trait Listener: Send + 'static {
    /// The endpoint actually bound (with the real port when port 0 was asked for).
    fn local_endpoint(&self) -> &Endpoint;
    /// Waits for the next connection: the link and a description of the peer, which tells
    /// this peer apart from the listener's other peers (`recv_from` reports it, and the CLI's
    /// `--wait-subscribers` counts peers by it): the peer's address, or a number where there
    /// is none (`ipc:///tmp/x#2`).
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(Link, String)>>;
}

/// A transport: how to bind and connect endpoints of one URL scheme.
pub trait Transport: Send + Sync + 'static {
    /// The URL scheme it serves (`tcp`).
    fn scheme(&self) -> &'static str;
    /// What it carries. Default: a byte stream.
    fn kind(&self) -> TransportKind {
        TransportKind::Stream
    }
    /// Binds the endpoint.
    fn bind<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<Box<dyn Listener>>>;
    /// Connects to the endpoint once (the caller retries): the link and the peer's address.
    fn connect<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<(Link, String)>>;
    /// Whether a socket of `socket_type` may bind (`binding`) or connect `endpoint` (one of
    /// this transport's); the reason if not, which the socket reports at `bind`/`connect`.
    /// Default: every type, both ways.
    fn check_socket(
        &self,
        socket_type: crate::SocketType,
        endpoint: &Endpoint,
        binding: bool,
    ) -> std::result::Result<(), String> {
        let _ = (socket_type, endpoint, binding);
        Ok(())
    }
    /// Whether a socket of `socket_type` attached to this transport can send `msg` over it; the
    /// reason if not, which the socket reports at `send` (a broker that carries a topic and one
    /// body refuses more frames). Default: anything.
    fn check_message(
        &self,
        socket_type: crate::SocketType,
        msg: &crate::Multipart,
    ) -> std::result::Result<(), String> {
        let _ = (socket_type, msg);
        Ok(())
    }
    /// After a failed [`Transport::connect`]: completes when connecting to `endpoint` may now
    /// succeed, so that the socket retries at once instead of when its reconnect interval is
    /// up (inproc completes when the name is bound, as libzmq attaches a pending connect at
    /// bind). Default: never; the socket retries on its timer.
    fn connectable<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, ()> {
        let _ = endpoint;
        Box::pin(std::future::pending())
    }
}

fn registry() -> &'static RwLock<Vec<Arc<dyn Transport>>> {
    static REGISTRY: OnceLock<RwLock<Vec<Arc<dyn Transport>>>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let builtin: Vec<Arc<dyn Transport>> = vec![
            #[cfg(feature = "tcp")]
            Arc::new(crate::tcp::TcpTransport),
            #[cfg(feature = "ipc")]
            Arc::new(crate::ipc::IpcTransport),
            #[cfg(feature = "inproc")]
            Arc::new(crate::inproc::InprocTransport),
            #[cfg(feature = "udp")]
            Arc::new(crate::udp::UdpTransport),
            #[cfg(feature = "redis")]
            Arc::new(crate::redis::RedisTransport),
            #[cfg(feature = "nats")]
            Arc::new(crate::nats::NatsTransport),
            #[cfg(feature = "amqp")]
            Arc::new(crate::amqp::AmqpTransport),
        ];
        RwLock::new(builtin)
    })
}

/// Registers a transport for its scheme, replacing any registered before for that scheme.
pub fn register_transport(transport: Arc<dyn Transport>) {
    let mut reg = registry().write().unwrap_or_else(|e| e.into_inner());
    reg.retain(|t| t.scheme() != transport.scheme());
    reg.push(transport);
}

/// The transport registered for an endpoint's scheme, or a "transport not available" error.
///
/// ```
/// use actormq_transports::{transport_for, Endpoint};
///
/// let tcp: Endpoint = "tcp://127.0.0.1:1".parse().unwrap();
/// assert_eq!(transport_for(&tcp).unwrap().scheme(), "tcp");
/// let quic: Endpoint = "quic://127.0.0.1:1".parse().unwrap();
/// let err = transport_for(&quic).err().unwrap();
/// assert!(err.to_string().contains("transport not available"));
/// ```
pub fn transport_for(endpoint: &Endpoint) -> Result<Arc<dyn Transport>> {
    let reg = registry().read().unwrap_or_else(|e| e.into_inner());
    reg.iter()
        .find(|t| t.scheme() == endpoint.scheme())
        .cloned()
        .ok_or_else(|| Error::TransportNotAvailable {
            endpoint: endpoint.to_string(),
            scheme: endpoint.scheme().to_string(),
            available: reg
                .iter()
                .map(|t| format!("{}://", t.scheme()))
                .collect::<Vec<_>>()
                .join(", "),
        })
}
