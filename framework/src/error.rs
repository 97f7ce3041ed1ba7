//! The error type of the framework.

use actormq_transports::SocketType;

/// Errors a socket returns. Each names the socket type or endpoint and what went wrong.
///
/// Non-exhaustive: later versions may add variants, so match with a `_` arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An endpoint, transport or protocol error.
    #[error(transparent)]
    Transport(#[from] actormq_transports::Error),
    /// The socket type cannot do this (a SUB cannot send, a PUB cannot subscribe, ...).
    #[error("{socket_type} socket: {reason}")]
    Refused {
        /// The socket's type.
        socket_type: SocketType,
        /// Why.
        reason: String,
    },
    /// An option value out of range.
    #[error("invalid option `{name}`: {reason}")]
    InvalidOption {
        /// The option's libzmq name.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The socket was closed.
    #[error("{0} socket is closed")]
    Closed(SocketType),
    /// A value could not be encoded as MessagePack.
    #[error("cannot encode a {type_name} as MessagePack: {reason}")]
    Encode {
        /// The type.
        type_name: &'static str,
        /// Why.
        reason: String,
    },
    /// A received message did not decode as the expected type.
    #[error(transparent)]
    Decode(#[from] crate::typed::DecodeFailure),
    /// A non-blocking operation could not complete now (queue full or empty), like EAGAIN.
    #[error("{0} socket: operation would block")]
    WouldBlock(SocketType),
}

/// Result with the framework's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
