//! Socket events a user can subscribe to, like `zmq_socket_monitor`. Each is also a `tracing`
//! event.

use std::fmt;
use std::time::Duration;

use actormq_transports::zmtp::CloseReason;
use actormq_transports::{Endpoint, SocketType};

/// Something that happened to a socket's endpoints or connections.
///
/// Non-exhaustive: later versions may report more kinds of events.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
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
        /// Who the authenticator said the peer is (ZAP's `User-Id`: by default the PLAIN
        /// user name or the CURVE client key in Z85); `None` when no authenticator judged it.
        user_id: Option<String>,
    },
    /// The authenticator refused a peer during its handshake (PLAIN, CURVE, or NULL with an
    /// authenticator): the peer was sent an ERROR with the status code, its connection
    /// closes (a `Disconnected` follows), and the socket's other peers go on.
    AuthenticationFailed {
        /// The peer's address.
        peer: String,
        /// `NULL`, `PLAIN` or `CURVE`.
        mechanism: &'static str,
        /// The authenticator's reason.
        reason: String,
    },
    /// A connection ended, with the reason (EOF, I/O error, protocol violation, refusal).
    Disconnected {
        /// The peer's address.
        peer: String,
        /// Why. Its `Display` is the human-readable reason.
        reason: DisconnectReason,
    },
    /// The socket was closed.
    Closed,
}

/// Why a connection ended ([`SocketEvent::Disconnected`]).
///
/// Match on the variants to react to a kind of failure; [`Display`](fmt::Display) gives the
/// human-readable reason (the same text the `tracing` event carries). Non-exhaustive: later
/// versions may tell more cases apart. A message-level link's own reasons (a third-party
/// transport's) come as [`DisconnectReason::Other`], except "peer closed the connection" and
/// "peer refused the connection: ..." which are recognised.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// Our socket ended the connection: it is closing (or was dropped), and what was queued
    /// for the peer has been written. "closed by the socket".
    ClosedBySocket,
    /// The peer closed the connection after the handshake. "peer closed the connection".
    PeerClosed,
    /// The peer closed the connection before the handshake completed; libzmq does this when
    /// it refuses our socket type (the value).
    PeerClosedDuringHandshake(SocketType),
    /// The peer closed the connection during the handshake of our CURVE client: libzmq hangs
    /// up without a word when our HELLO does not open, so most likely the server's key is
    /// not the `curve_serverkey` we were given (or it refused our socket type, the value).
    PeerClosedDuringCurveHandshake(SocketType),
    /// Reading from the connection failed ("read error: ..."; "read error during handshake:
    /// ..." when `during_handshake`).
    ReadError {
        /// Whether the handshake was still under way.
        during_handshake: bool,
        /// The I/O error, as text.
        error: String,
    },
    /// Writing to the connection failed ("write error: ...", or "write error during
    /// handshake: ...").
    WriteError {
        /// Whether the handshake was still under way.
        during_handshake: bool,
        /// The I/O error, as text.
        error: String,
    },
    /// The ZMTP session ended the connection: the handshake failed or timed out, the peer
    /// broke the protocol or sent ERROR, or a heartbeat timed out. A refusal by our socket is
    /// [`DisconnectReason::Refused`], never `Zmtp(CloseReason::Refused(..))`.
    Zmtp(CloseReason),
    /// Our socket refused the peer after its handshake (a second PAIR peer, a routing id
    /// already in use, ...), with the reason; the peer was told. "refused by the socket: ...".
    Refused(String),
    /// The peer's socket refused us, with its reason (inproc). "peer refused the connection:
    /// ...".
    PeerRefused(String),
    /// The application closed the connection (a STREAM socket's `[id, ""]`).
    ClosedByApplication,
    /// Any other reason, as text.
    Other(String),
}

impl DisconnectReason {
    /// Whether the peer broke the rules: a failed handshake or a protocol error (these are
    /// logged as warnings, other disconnections as information).
    pub fn is_protocol_failure(&self) -> bool {
        match self {
            DisconnectReason::Zmtp(
                CloseReason::HandshakeFailed(_)
                | CloseReason::Protocol(_)
                | CloseReason::ReadyAfterHandshake,
            ) => true,
            DisconnectReason::Other(text) => {
                text.starts_with("protocol error") || text.starts_with("handshake failed")
            }
            _ => false,
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let during = |handshake: &bool| if *handshake { " during handshake" } else { "" };
        match self {
            DisconnectReason::ClosedBySocket => f.write_str("closed by the socket"),
            DisconnectReason::PeerClosed => f.write_str("peer closed the connection"),
            DisconnectReason::PeerClosedDuringHandshake(ours) => write!(
                f,
                "peer closed the connection during the handshake \
                 (libzmq does this when it refuses our socket type, {ours})"
            ),
            DisconnectReason::PeerClosedDuringCurveHandshake(ours) => write!(
                f,
                "peer closed the connection during the CURVE handshake: most likely its \
                 public key is not our curve_serverkey (libzmq hangs up when our HELLO does \
                 not open), or it refuses our socket type, {ours}"
            ),
            DisconnectReason::ReadError {
                during_handshake,
                error,
            } => write!(f, "read error{}: {error}", during(during_handshake)),
            DisconnectReason::WriteError {
                during_handshake,
                error,
            } => write!(f, "write error{}: {error}", during(during_handshake)),
            DisconnectReason::Zmtp(reason) => reason.fmt(f),
            DisconnectReason::Refused(reason) => write!(f, "refused by the socket: {reason}"),
            DisconnectReason::PeerRefused(reason) => {
                write!(f, "peer refused the connection: {reason}")
            }
            DisconnectReason::ClosedByApplication => f.write_str("closed by the application"),
            DisconnectReason::Other(text) => f.write_str(text),
        }
    }
}

impl From<CloseReason> for DisconnectReason {
    fn from(reason: CloseReason) -> Self {
        match reason {
            CloseReason::Refused(why) => DisconnectReason::Refused(why),
            other => DisconnectReason::Zmtp(other),
        }
    }
}

/// A reason given only as text: [`DisconnectReason::Other`], whatever it says.
impl From<String> for DisconnectReason {
    fn from(text: String) -> Self {
        DisconnectReason::Other(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actormq_transports::zmtp::ProtocolError;

    #[test]
    fn disconnect_reasons_read_as_the_text_they_replace() {
        let cases = [
            (DisconnectReason::ClosedBySocket, "closed by the socket"),
            (DisconnectReason::PeerClosed, "peer closed the connection"),
            (
                DisconnectReason::PeerClosedDuringHandshake(SocketType::Pub),
                "peer closed the connection during the handshake (libzmq does this when it refuses our socket type, PUB)",
            ),
            (
                DisconnectReason::ReadError { during_handshake: false, error: "reset".into() },
                "read error: reset",
            ),
            (
                DisconnectReason::WriteError { during_handshake: true, error: "pipe".into() },
                "write error during handshake: pipe",
            ),
            (
                CloseReason::Refused("routing id in use".into()).into(),
                "refused by the socket: routing id in use",
            ),
            (
                DisconnectReason::PeerRefused("no".into()),
                "peer refused the connection: no",
            ),
            (DisconnectReason::from("anything".to_string()), "anything"),
        ];
        for (reason, text) in cases {
            assert_eq!(reason.to_string(), text);
        }
        let failed: DisconnectReason =
            CloseReason::HandshakeFailed(ProtocolError::BadSignature { got: [0x47, 0x50] }).into();
        assert!(failed
            .to_string()
            .starts_with("handshake failed: not a ZMTP peer"));
        assert!(failed.is_protocol_failure());
        assert!(!DisconnectReason::PeerClosed.is_protocol_failure());
        assert!(
            DisconnectReason::from("protocol error: a second greeting".to_string())
                .is_protocol_failure()
        );
    }
}
