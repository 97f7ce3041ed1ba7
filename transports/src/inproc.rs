//! `inproc://name`: connections between sockets of one process, as [`Pipe`]s of whole messages.
//!
//! A name is bound by one socket at a time. Connecting to a name nobody has bound yet fails
//! with "no socket is bound at inproc://name yet"; sockets retry connecting, and
//! [`Transport::connectable`] tells them the moment the name is bound, so a connect may come
//! before the bind (as in libzmq 4) without waiting out a reconnect interval.

use std::collections::HashMap;
use std::io;
use std::sync::{Mutex, OnceLock};

use tokio::sync::{mpsc, Notify};

use crate::{BoxFuture, Endpoint, Error, Link, Listener, Pipe, Result, Transport, TransportKind};

/// Pipe messages in flight per direction of an inproc connection: only the greeting, the
/// attachment or a refusal ever travel through it.
const PIPE_CAPACITY: usize = 4;

type Acceptor = mpsc::UnboundedSender<(Pipe, String)>;

fn bindings() -> &'static Mutex<HashMap<String, Acceptor>> {
    static BINDINGS: OnceLock<Mutex<HashMap<String, Acceptor>>> = OnceLock::new();
    BINDINGS.get_or_init(Mutex::default)
}

/// Told of every bind, for connects waiting on a name.
fn bound() -> &'static Notify {
    static BOUND: OnceLock<Notify> = OnceLock::new();
    BOUND.get_or_init(Notify::new)
}

fn is_bound(name: &str) -> bool {
    bindings()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(name)
        .is_some_and(|a| !a.is_closed())
}

fn name_of(endpoint: &Endpoint) -> Result<&str> {
    match endpoint {
        Endpoint::Inproc(name) => Ok(name),
        other => Err(Error::Endpoint {
            endpoint: other.to_string(),
            reason: "not an inproc:// endpoint".into(),
        }),
    }
}

/// The in-process transport.
#[derive(Debug, Default, Clone, Copy)]
pub struct InprocTransport;

/// A bound inproc name; released when dropped.
#[derive(Debug)]
pub struct InprocBound {
    endpoint: Endpoint,
    name: String,
    incoming: mpsc::UnboundedReceiver<(Pipe, String)>,
    acceptor: Acceptor,
}

impl Drop for InprocBound {
    fn drop(&mut self) {
        let mut map = bindings().lock().unwrap_or_else(|e| e.into_inner());
        if map
            .get(&self.name)
            .is_some_and(|a| a.same_channel(&self.acceptor))
        {
            map.remove(&self.name);
        }
    }
}

impl Listener for InprocBound {
    fn local_endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn accept(&mut self) -> BoxFuture<'_, io::Result<(Link, String)>> {
        Box::pin(async move {
            match self.incoming.recv().await {
                Some((pipe, peer)) => Ok((Link::Pipe(pipe), peer)),
                // cannot happen while we hold a sender ourselves
                None => std::future::pending().await,
            }
        })
    }
}

impl Transport for InprocTransport {
    fn scheme(&self) -> &'static str {
        "inproc"
    }

    fn kind(&self) -> TransportKind {
        TransportKind::InProcess
    }

    fn bind<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<Box<dyn Listener>>> {
        Box::pin(async move {
            let name = name_of(endpoint)?.to_string();
            let mut map = bindings().lock().unwrap_or_else(|e| e.into_inner());
            if map.get(&name).is_some_and(|a| !a.is_closed()) {
                return Err(Error::Io {
                    action: "bind",
                    endpoint: endpoint.to_string(),
                    source: io::Error::new(
                        io::ErrorKind::AddrInUse,
                        "address in use: another socket has bound this name",
                    ),
                });
            }
            let (acceptor, incoming) = mpsc::unbounded_channel();
            map.insert(name.clone(), acceptor.clone());
            drop(map);
            bound().notify_waiters();
            let endpoint = endpoint.clone();
            Ok(Box::new(InprocBound {
                endpoint,
                name,
                incoming,
                acceptor,
            }) as Box<dyn Listener>)
        })
    }

    fn connect<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<(Link, String)>> {
        Box::pin(async move {
            let name = name_of(endpoint)?;
            let acceptor = bindings()
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(name)
                .cloned();
            let not_bound = || Error::Io {
                action: "connect",
                endpoint: endpoint.to_string(),
                source: io::Error::new(
                    io::ErrorKind::NotFound,
                    "no socket is bound at this name yet",
                ),
            };
            let acceptor = acceptor.ok_or_else(not_bound)?;
            let (ours, theirs) = Pipe::pair(PIPE_CAPACITY);
            acceptor
                .send((theirs, format!("inproc connection to {name}")))
                .map_err(|_| not_bound())?;
            Ok((Link::Pipe(ours), endpoint.to_string()))
        })
    }

    fn connectable<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Ok(name) = name_of(endpoint) else {
                return std::future::pending().await;
            };
            loop {
                // registered before looking, so a bind between the two is not missed
                let notified = bound().notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if is_bound(name) {
                    return;
                }
                notified.await;
            }
        })
    }
}
