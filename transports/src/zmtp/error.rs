//! Violations of the ZMTP protocol.

use crate::SocketType;

/// A rule of ZMTP that the peer broke. The connection that sees one is closed with this as the
/// logged reason; every other connection goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The first 10 octets are not a ZMTP signature.
    #[error("not a ZMTP peer: greeting signature is {got:02x?}, expected ff .. 7f")]
    BadSignature {
        /// Octets 0 and 9 as received.
        got: [u8; 2],
    },
    /// The peer speaks a ZMTP version before 3.0.
    #[error("unsupported ZMTP version {major}.{minor} (need 3.0 or later)")]
    UnsupportedVersion {
        /// Major version.
        major: u8,
        /// Minor version.
        minor: u8,
    },
    /// The peer asked for a security mechanism we do not run.
    #[error("security mechanism mismatch: peer uses {theirs:?}, we use {ours:?}")]
    MechanismMismatch {
        /// The peer's mechanism name.
        theirs: String,
        /// Ours.
        ours: String,
    },
    /// A mechanism's handshake got a command it does not expect now.
    #[error("{mechanism} handshake: expected {expected}, got {got}")]
    UnexpectedCommand {
        /// The mechanism.
        mechanism: &'static str,
        /// What it waited for.
        expected: &'static str,
        /// What came.
        got: String,
    },
    /// A CURVE box did not open (wrong key, tampered or replayed), or a nonce went backwards.
    #[error("CURVE: {0}")]
    Crypto(String),
    /// A frame's flags byte uses reserved bits.
    #[error(
        "frame flags {flags:#04x} use reserved bits (only MORE, LONG and COMMAND are defined)"
    )]
    ReservedFlags {
        /// The flags byte.
        flags: u8,
    },
    /// A command frame has the MORE bit.
    #[error("command frame has the MORE flag set")]
    CommandWithMore,
    /// A frame's declared size exceeds the limit (checked before anything is buffered).
    #[error("message of {size} bytes exceeds maxmsgsize {max}")]
    MessageTooLarge {
        /// The declared size (sum of the frames so far).
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A message has more frames than the limit (`max_frames`).
    #[error("message has more than max_frames ({max}) frames")]
    TooManyFrames {
        /// The limit.
        max: usize,
    },
    /// The peer's identity is longer than 255 bytes (libzmq refuses these too).
    #[error("peer identity of {len} bytes exceeds 255 bytes")]
    IdentityTooLong {
        /// Its length.
        len: usize,
    },
    /// A command body exceeds the command limit.
    #[error("command of {size} bytes exceeds the {max}-byte command limit")]
    CommandTooLarge {
        /// Declared size.
        size: u64,
        /// Limit.
        max: u64,
    },
    /// A command body does not follow the grammar.
    #[error("malformed {command} command: {reason}")]
    MalformedCommand {
        /// The command's name, or `?` when even the name is unreadable.
        command: String,
        /// What is wrong.
        reason: String,
    },
    /// The first command after the greeting was not READY (or ERROR).
    #[error("expected READY after the greeting, got {got}")]
    ExpectedReady {
        /// What arrived instead.
        got: String,
    },
    /// The peer sent an ERROR command.
    #[error("peer refused the connection: {reason}")]
    PeerError {
        /// The peer's reason.
        reason: String,
    },
    /// The peer's `Socket-Type` is not a known type.
    #[error("unknown peer socket type {value:?}")]
    UnknownSocketType {
        /// The value as received.
        value: String,
    },
    /// The peer's socket type cannot talk to ours.
    #[error("incompatible socket types: we are {ours}, the peer is {theirs}")]
    IncompatibleSocketType {
        /// Our type.
        ours: SocketType,
        /// The peer's type.
        theirs: SocketType,
    },
    /// The peer's identity starts with a zero octet (reserved for generated identities).
    #[error("peer identity starts with 0x00, which is reserved")]
    InvalidIdentity,
}

impl ProtocolError {
    /// Whether the peer should be told with an ERROR command before we close: for a handshake
    /// the peer completed but we refuse (its type is wrong for us).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ProtocolError::IncompatibleSocketType { .. }
                | ProtocolError::UnknownSocketType { .. }
                | ProtocolError::InvalidIdentity
                | ProtocolError::IdentityTooLong { .. }
        )
    }
}
