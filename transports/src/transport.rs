//! The plug-in point for transports, and the registry keyed by URL scheme.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, RwLock};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::{Endpoint, Error, Result};

/// A byte stream a transport yields: anything readable and writable.
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// A boxed [`Stream`].
pub type BoxedStream = Box<dyn Stream>;

/// A boxed future, as the object-safe trait methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A bound endpoint that accepts connections.
pub trait Listener: Send + 'static {
    /// The endpoint actually bound (with the real port when port 0 was asked for).
    fn local_endpoint(&self) -> &Endpoint;
    /// Waits for the next connection: the stream and a description of the peer's address.
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(BoxedStream, String)>>;
}

/// A stream transport: how to bind and connect endpoints of one URL scheme. ZMTP runs over
/// whatever stream it yields.
pub trait Transport: Send + Sync + 'static {
    /// The URL scheme it serves (`tcp`).
    fn scheme(&self) -> &'static str;
    /// Binds the endpoint.
    fn bind<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<Box<dyn Listener>>>;
    /// Connects to the endpoint once (the caller retries): the stream and the peer's address.
    fn connect<'a>(
        &'a self,
        endpoint: &'a Endpoint,
    ) -> BoxFuture<'a, Result<(BoxedStream, String)>>;
}

fn registry() -> &'static RwLock<Vec<Arc<dyn Transport>>> {
    static REGISTRY: OnceLock<RwLock<Vec<Arc<dyn Transport>>>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let builtin: Vec<Arc<dyn Transport>> = vec![
            #[cfg(feature = "tcp")]
            Arc::new(crate::tcp::TcpTransport),
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
/// let udp: Endpoint = "udp://127.0.0.1:1".parse().unwrap();
/// let err = transport_for(&udp).err().unwrap();
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
