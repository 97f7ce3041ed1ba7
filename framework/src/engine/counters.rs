//! A socket's connection counters, counted from its events (which are rare: connects, retries,
//! handshakes, disconnects), and the message totals of the peers that have left.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use actormq_transports::zmtp::CloseReason;

use crate::event::{DisconnectReason, SocketEvent};

/// What a socket counts of its connections; read by the `metrics` module.
#[derive(Default)]
pub(crate) struct Counters {
    /// Outgoing connections established.
    pub(crate) connects: AtomicU64,
    /// Outgoing connections established again to an endpoint connected to before.
    pub(crate) reconnects: AtomicU64,
    /// The endpoints connected to so far (to tell a reconnect from a first connect).
    connected_to: Mutex<Vec<String>>,
    /// Incoming connections accepted.
    pub(crate) accepts: AtomicU64,
    /// Failed connection attempts, each followed by a retry.
    pub(crate) connect_retries: AtomicU64,
    /// Handshakes completed.
    pub(crate) handshakes: AtomicU64,
    /// Handshakes that failed or timed out (including peers the authenticator refused).
    pub(crate) handshake_failures: AtomicU64,
    /// Peers the authenticator refused.
    pub(crate) auth_failures: AtomicU64,
    /// Peers refused after their handshake, by us or by them.
    pub(crate) refusals: AtomicU64,
    /// Connections dropped because heartbeats stopped.
    pub(crate) heartbeat_timeouts: AtomicU64,
    /// Connections that ended, for any reason.
    pub(crate) disconnects: AtomicU64,
    /// The socket was closed.
    pub(crate) closed: AtomicBool,
    /// What the socket's departed peers carried (their counters are retired here).
    pub(crate) retired: Totals,
    /// The endpoints bound (with the real port) and connected, as `@endpoint` / `>endpoint`.
    pub(crate) endpoints: Mutex<Vec<String>>,
    /// The name the application gave the socket ([`crate::Socket::set_name`]).
    pub(crate) name: Mutex<Option<String>>,
}

/// Messages and bytes, in and out.
#[derive(Default)]
pub(crate) struct Totals {
    pub(crate) messages_in: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) messages_out: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
}

impl Totals {
    /// Adds `(messages_in, bytes_in, messages_out, bytes_out)`.
    pub(crate) fn add(&self, (mi, bi, mo, bo): (u64, u64, u64, u64)) {
        self.messages_in.fetch_add(mi, Ordering::Relaxed);
        self.bytes_in.fetch_add(bi, Ordering::Relaxed);
        self.messages_out.fetch_add(mo, Ordering::Relaxed);
        self.bytes_out.fetch_add(bo, Ordering::Relaxed);
    }

    /// `(messages_in, bytes_in, messages_out, bytes_out)`.
    pub(crate) fn get(&self) -> (u64, u64, u64, u64) {
        (
            self.messages_in.load(Ordering::Relaxed),
            self.bytes_in.load(Ordering::Relaxed),
            self.messages_out.load(Ordering::Relaxed),
            self.bytes_out.load(Ordering::Relaxed),
        )
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    /// Counts what `event` says.
    pub(crate) fn count(&self, event: &SocketEvent) {
        match event {
            SocketEvent::Listening { endpoint } => self.endpoint(format!("@{endpoint}")),
            SocketEvent::Accepted { .. } => bump(&self.accepts),
            SocketEvent::Connected { endpoint, .. } => {
                bump(&self.connects);
                let endpoint = endpoint.to_string();
                let mut seen = self.connected_to.lock().unwrap_or_else(|e| e.into_inner());
                if seen.contains(&endpoint) {
                    bump(&self.reconnects);
                } else {
                    seen.push(endpoint);
                }
            }
            SocketEvent::ConnectRetried { .. } => bump(&self.connect_retries),
            SocketEvent::HandshakeSucceeded { .. } => bump(&self.handshakes),
            SocketEvent::AuthenticationFailed { .. } => bump(&self.auth_failures),
            SocketEvent::Disconnected { reason, .. } => {
                bump(&self.disconnects);
                match reason {
                    DisconnectReason::Zmtp(
                        CloseReason::HeartbeatTimeout(_) | CloseReason::HeartbeatTtlExpired(_),
                    ) => bump(&self.heartbeat_timeouts),
                    DisconnectReason::Zmtp(
                        CloseReason::HandshakeFailed(_)
                        | CloseReason::HandshakeTimeout(_)
                        | CloseReason::Unauthorized { .. },
                    )
                    | DisconnectReason::PeerClosedDuringHandshake(_)
                    | DisconnectReason::PeerClosedDuringCurveHandshake(_)
                    | DisconnectReason::ReadError {
                        during_handshake: true,
                        ..
                    }
                    | DisconnectReason::WriteError {
                        during_handshake: true,
                        ..
                    } => bump(&self.handshake_failures),
                    DisconnectReason::Refused(_)
                    | DisconnectReason::PeerRefused(_)
                    | DisconnectReason::Zmtp(CloseReason::Refused(_)) => bump(&self.refusals),
                    _ => {}
                }
            }
            SocketEvent::Closed => self.closed.store(true, Ordering::Relaxed),
        }
    }

    /// Records an endpoint (`@` bound, `>` connected), once.
    pub(crate) fn endpoint(&self, endpoint: String) {
        let mut all = self.endpoints.lock().unwrap_or_else(|e| e.into_inner());
        if !all.contains(&endpoint) {
            all.push(endpoint);
        }
    }
}
