//! The error type of the transports crate.

use crate::zmtp::ProtocolError;

/// Errors of endpoints, transports and the ZMTP protocol. Each names what was wrong and where.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An endpoint string that does not parse.
    #[error("invalid endpoint `{endpoint}`: {reason}")]
    Endpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A valid endpoint whose transport is not built in or registered.
    #[error("transport not available for `{endpoint}`: no `{scheme}://` transport is registered (available: {available})")]
    TransportNotAvailable {
        /// The endpoint as given.
        endpoint: String,
        /// Its scheme.
        scheme: String,
        /// The schemes that are registered.
        available: String,
    },
    /// An I/O failure on an endpoint.
    #[error("{action} {endpoint}: {source}")]
    Io {
        /// What was being done (`bind`, `connect`, ...).
        action: &'static str,
        /// Where.
        endpoint: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The peer broke the ZMTP protocol.
    #[error("protocol error from {peer}: {source}")]
    Protocol {
        /// The peer's address.
        peer: String,
        /// The rule broken.
        #[source]
        source: ProtocolError,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
