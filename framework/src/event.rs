//! Socket events a user can subscribe to, like `zmq_socket_monitor`. Each is also a `tracing`
//! event.

use std::time::Duration;

use actormq_transports::{Endpoint, SocketType};

/// Something that happened to a socket's endpoints or connections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocketEvent {
    /// An endpoint was bound (with the real port).
    Listening {
        /// The bound endpoint.
        endpoint: Endpoint,
    },
    /// A peer connected to a bound endpoint.
    Accepted {
        /// The bound endpoint.
        endpoint: Endpoint,
        /// The peer's address.
        peer: String,
    },
    /// An outgoing connection was established.
    Connected {
        /// The endpoint connected to.
        endpoint: Endpoint,
        /// The peer's address.
        peer: String,
    },
    /// An outgoing connection attempt failed; the next comes after `delay`.
    ConnectRetried {
        /// The endpoint.
        endpoint: Endpoint,
        /// Why it failed.
        error: String,
        /// Wait before the next attempt.
        delay: Duration,
    },
    /// The ZMTP handshake completed: the peer is live.
    HandshakeSucceeded {
        /// The peer's address.
        peer: String,
        /// The peer's socket type.
        peer_type: SocketType,
    },
    /// A connection ended, with the reason (EOF, I/O error, protocol violation, refusal).
    Disconnected {
        /// The peer's address.
        peer: String,
        /// Why.
        reason: String,
    },
    /// The socket was closed.
    Closed,
}
