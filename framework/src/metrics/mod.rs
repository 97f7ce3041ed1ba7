//! Metrics of every socket and peer of the process, as snapshots: read them from code
//! ([`crate::Socket::metrics`], [`snapshot`]), as Prometheus text ([`prometheus_text`]),
//! through the `metrics` facade ([`record`]), or over HTTP (the `monitor` module).
//!
//! The counters are always on and cost little: message and byte counts are added once per
//! batch on each peer's queues, connection counts once per event. A snapshot reads them
//! without stopping the sockets.
//!
//! ```
//! use actormq::{metrics, Socket, SocketType};
//!
//! # actix::System::new().block_on(async {
//! let sink = Socket::new(SocketType::Pull)?;
//! sink.set_name("sink");
//! let ep = sink.bind("inproc://metrics-mod-doc").await?;
//! let source = Socket::new(SocketType::Push)?;
//! source.connect(&ep).await?;
//! for _ in 0..3 {
//!     source.send("tick").await?;
//! }
//! for _ in 0..3 {
//!     sink.recv().await?;
//! }
//! let all = metrics::snapshot();
//! let m = all.iter().find(|m| m.name.as_deref() == Some("sink")).unwrap();
//! assert_eq!((m.messages_in, m.bytes_in), (3, 12));
//! assert!(metrics::prometheus_text(&all).contains("actormq_messages_received_total{socket=\"sink\""));
//! # Ok::<(), actormq::Error>(())
//! # }).unwrap();
//! ```

mod prometheus;

use std::sync::atomic::Ordering;

use serde::Serialize;

use crate::engine::ctx::{Shared, SocketInfo};
use crate::SocketType;

pub use prometheus::{prometheus_text, record, METRICS};

/// One socket's metrics at one moment.
#[derive(Clone, Debug, Serialize)]
pub struct SocketMetrics {
    /// The socket's process-unique id.
    pub id: u64,
    /// The name given with [`crate::Socket::set_name`] (a graph's `actor[index].role`).
    pub name: Option<String>,
    /// The socket type (`PUSH`, ...).
    #[serde(serialize_with = "as_text")]
    pub socket_type: SocketType,
    /// Endpoints bound (`@tcp://127.0.0.1:5555`, with the real port) and connected (`>...`).
    pub endpoints: Vec<String>,
    /// Messages that arrived from peers, before the pattern looks at them (so a PUB's or
    /// XPUB's are the subscriptions its subscribers sent).
    pub messages_in: u64,
    /// Their bytes (all frames).
    pub bytes_in: u64,
    /// Messages routed to peers: one per peer a message went to (a PUB with three
    /// subscribers counts three; a SUB's are its subscriptions).
    pub messages_out: u64,
    /// Their bytes.
    pub bytes_out: u64,
    /// Copies dropped at a peer's high-water mark (PUB/XPUB, XSUB).
    pub dropped_hwm: u64,
    /// Every message given up on ([`crate::Socket::undelivered`]; includes `dropped_hwm`).
    pub undelivered: u64,
    /// Notices dropped because the application did not read ([`crate::Socket::dropped_unread`]).
    pub dropped_unread: u64,
    /// Arrivals a link dropped before the socket had them ([`crate::Socket::discarded`]).
    pub discarded: u64,
    /// Messages waiting to go out: the application's send queue and every peer's queue.
    pub queued_out: usize,
    /// Messages waiting to be received: every peer's inbound queue and the ready queue.
    pub queued_in: usize,
    /// Outgoing connections established (reconnects included).
    pub connects: u64,
    /// Outgoing connections established again to an endpoint this socket was connected to
    /// before (a peer that restarted, a broken connection).
    pub reconnects: u64,
    /// Incoming connections accepted.
    pub accepts: u64,
    /// Failed connection attempts (each retried after `reconnect_ivl`).
    pub connect_retries: u64,
    /// Handshakes completed.
    pub handshakes: u64,
    /// Handshakes that failed or timed out, authentication refusals included.
    pub handshake_failures: u64,
    /// Peers the authenticator refused.
    pub auth_failures: u64,
    /// Peers refused after their handshake (by this socket or by them).
    pub refusals: u64,
    /// Connections dropped because the peer's heartbeats stopped.
    pub heartbeat_timeouts: u64,
    /// Connections that ended, for any reason.
    pub disconnects: u64,
    /// The live peers.
    pub peers: Vec<PeerMetrics>,
}

/// One live peer of a socket.
#[derive(Clone, Debug, Serialize)]
pub struct PeerMetrics {
    /// The peer's address (`127.0.0.1:41234`, `nats 127.0.0.1:4222`, ...).
    pub address: String,
    /// The peer's socket type.
    #[serde(serialize_with = "as_text")]
    pub peer_type: SocketType,
    /// Seconds since the peer joined.
    pub connected_secs: f64,
    /// Messages that arrived from it.
    pub messages_in: u64,
    /// Their bytes.
    pub bytes_in: u64,
    /// Messages routed to it.
    pub messages_out: u64,
    /// Their bytes.
    pub bytes_out: u64,
    /// Messages from it waiting to be received.
    pub queued_in: usize,
    /// Messages waiting to go to it.
    pub queued_out: usize,
}

fn as_text<S: serde::Serializer>(t: &SocketType, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}

/// Every live, open socket's metrics, in the order they were made.
pub fn snapshot() -> Vec<SocketMetrics> {
    crate::engine::registry::live()
        .iter()
        .filter(|(info, _)| !info.counters.closed.load(Ordering::Relaxed))
        .map(|(info, shared)| of(info, shared))
        .collect()
}

/// The metrics of one socket.
pub(crate) fn of(info: &SocketInfo, shared: &Shared) -> SocketMetrics {
    let c = &info.counters;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    // the retired totals are read under the lock a departing peer's are moved under
    let (peers, retired): (Vec<PeerMetrics>, _) = {
        let views = shared.peers.lock().unwrap_or_else(|e| e.into_inner());
        let peers = views
            .values()
            .map(|v| {
                let (messages_in, bytes_in) = v.inq.totals();
                let (messages_out, bytes_out) = v.out.totals();
                PeerMetrics {
                    address: v.address.to_string(),
                    peer_type: v.peer_type,
                    connected_secs: v.since.elapsed().as_secs_f64(),
                    messages_in,
                    bytes_in,
                    messages_out,
                    bytes_out,
                    queued_in: v.inq.len(),
                    queued_out: v.out.len(),
                }
            })
            .collect();
        (peers, c.retired.get())
    };
    let (mut mi, mut bi, mut mo, mut bo) = retired;
    for p in &peers {
        mi += p.messages_in;
        bi += p.bytes_in;
        mo += p.messages_out;
        bo += p.bytes_out;
    }
    SocketMetrics {
        id: info.id,
        name: c.name.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        socket_type: info.socket_type,
        endpoints: c
            .endpoints
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone(),
        messages_in: mi,
        bytes_in: bi,
        messages_out: mo,
        bytes_out: bo,
        dropped_hwm: load(&info.dropped_hwm),
        undelivered: load(&info.dropped),
        dropped_unread: load(&info.dropped_unread),
        discarded: load(&info.discarded),
        queued_out: shared.send.len() + peers.iter().map(|p| p.queued_out).sum::<usize>(),
        queued_in: shared.recv.len() + peers.iter().map(|p| p.queued_in).sum::<usize>(),
        connects: load(&c.connects),
        reconnects: load(&c.reconnects),
        accepts: load(&c.accepts),
        connect_retries: load(&c.connect_retries),
        handshakes: load(&c.handshakes),
        handshake_failures: load(&c.handshake_failures),
        auth_failures: load(&c.auth_failures),
        refusals: load(&c.refusals),
        heartbeat_timeouts: load(&c.heartbeat_timeouts),
        disconnects: load(&c.disconnects),
        peers,
    }
}

impl SocketMetrics {
    /// The socket's label in metrics: its name, or `TYPE-id`.
    pub fn label(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{}-{}", self.socket_type, self.id))
    }
}
