//! `inproc://name`: connections between sockets of one process, as message-level links.
//!
//! A connection is a pipe that carries only a [`Hello`] each way, then each side's [`Inbox`];
//! from then on each socket delivers its batches straight into the other's inbox (no task, no
//! channel between them), and the pipe stays open only to tell each end when the other goes.
//! As in libzmq, a pipe holds the sender's `sndhwm` plus the receiver's `rcvhwm`.
//!
//! A name is bound by one socket at a time. Connecting to a name nobody has bound yet fails
//! with "no socket is bound at inproc://name yet"; sockets retry connecting, and
//! [`Transport::connectable`] tells them the moment the name is bound, so a connect may come
//! before the bind (as in libzmq 4) without waiting out a reconnect interval.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::{mpsc, Notify};

use crate::link::{Hello, Inbox, MessageLink, Outbox, Started, Wake};
use crate::{
    BoxFuture, Endpoint, Error, Link, Listener, Multipart, Result, Transport, TransportKind,
};

/// Pipe messages in flight per direction of an inproc connection: only the greeting, the
/// attachment or a refusal ever travel through it.
const PIPE_CAPACITY: usize = 4;

type Acceptor = mpsc::UnboundedSender<(InprocLink, String)>;

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
    incoming: mpsc::UnboundedReceiver<(InprocLink, String)>,
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
                Some((link, peer)) => Ok((Link::Messages(Box::new(link)), peer)),
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
            let (ours, theirs) = InprocLink::pair();
            acceptor
                .send((theirs, format!("inproc connection to {name}")))
                .map_err(|_| not_bound())?;
            Ok((Link::Messages(Box::new(ours)), endpoint.to_string()))
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

/// What travels through an inproc pipe: never a message.
enum Signal {
    /// The sender's hello (first, from each side).
    Hello(Hello),
    /// The sender refuses the connection, and why.
    Refused(String),
    /// The sender's inbox for this connection: deliver into it from now on.
    Attach(Arc<dyn Inbox>),
}

/// One end of an in-process connection.
pub struct InprocLink {
    tx: mpsc::Sender<Signal>,
    rx: mpsc::Receiver<Signal>,
}

impl std::fmt::Debug for InprocLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InprocLink").finish_non_exhaustive()
    }
}

impl InprocLink {
    /// Two connected ends.
    fn pair() -> (InprocLink, InprocLink) {
        let (atx, brx) = mpsc::channel(PIPE_CAPACITY);
        let (btx, arx) = mpsc::channel(PIPE_CAPACITY);
        (
            InprocLink { tx: atx, rx: arx },
            InprocLink { tx: btx, rx: brx },
        )
    }
}

/// Why the peer's end said what it said, or went, outside the greeting.
fn unexpected(msg: Option<Signal>, during: &str) -> String {
    match msg {
        Some(Signal::Refused(reason)) => format!("peer refused the connection: {reason}"),
        Some(Signal::Hello(_)) => "protocol error: a second greeting".to_string(),
        Some(Signal::Attach(_)) => format!("handshake failed: an attachment {during}"),
        None => "peer closed the connection".to_string(),
    }
}

impl MessageLink for InprocLink {
    fn handshake(&mut self, ours: Hello) -> BoxFuture<'_, std::result::Result<Hello, String>> {
        Box::pin(async move {
            let closed = || "peer closed the connection during the handshake".to_string();
            self.tx
                .send(Signal::Hello(ours))
                .await
                .map_err(|_| closed())?;
            match self.rx.recv().await {
                Some(Signal::Hello(theirs)) => Ok(theirs),
                None => Err(closed()),
                other => Err(unexpected(other, "before the greeting")),
            }
        })
    }

    fn refuse(&mut self, reason: String) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let _ = self.tx.send(Signal::Refused(reason)).await;
        })
    }

    fn start(
        self: Box<Self>,
        inbox: Arc<dyn Inbox>,
        wake: Wake,
    ) -> BoxFuture<'static, std::result::Result<Started, String>> {
        Box::pin(async move {
            let InprocLink { tx, mut rx } = *self;
            if tx.send(Signal::Attach(inbox)).await.is_err() {
                return Err("peer closed the connection".to_string());
            }
            let theirs = match rx.recv().await {
                Some(Signal::Attach(theirs)) => theirs,
                other => return Err(unexpected(other, "twice")),
            };
            // when the peer's socket drains its inbox, ours hears of room
            theirs.on_room(wake);
            let driver = async move {
                // keep our sender: dropping it tells the peer we are gone
                let _tx = tx;
                unexpected(rx.recv().await, "twice")
            };
            Ok(Started {
                outbox: Arc::new(Direct(theirs)),
                driver: Box::pin(driver),
            })
        })
    }
}

/// Sending in-process: straight into the receiving socket's inbox, which holds up to the
/// sender's `sndhwm` plus its own `rcvhwm`.
struct Direct(Arc<dyn Inbox>);

impl Outbox for Direct {
    fn len(&self) -> usize {
        self.0.len().saturating_sub(self.0.capacity())
    }

    fn room(&self, hwm: usize) -> usize {
        hwm.saturating_add(self.0.capacity())
            .saturating_sub(self.0.len())
    }

    fn send(&self, batch: &mut VecDeque<Multipart>, n: usize) {
        self.0.deliver(batch, n);
    }

    fn want_room(&self, hwm: usize) -> bool {
        self.0.want_room(hwm.saturating_add(self.0.capacity()))
    }
}
