//! ZMTP 3.1 (RFC 37, compatible with 3.0 peers of RFC 23) as a sans-IO codec.
//!
//! Nothing here touches a socket: [`Session`] runs one connection (handshake through the
//! security [`Mechanism`], heartbeats, subscriptions, refusals) on bytes and instants the
//! caller passes in; below it, [`Handshake`] turns the peer's greeting and READY into a
//! [`PeerInfo`], [`Decoder`] turns bytes into [`Inbound`] messages and commands, and
//! [`encode_message`] / [`encode_command`] write frames into a buffer. The connection that
//! drives them only moves bytes.
//!
//! Where libzmq differs from the RFC text we follow libzmq (see `shared/zmtp-notes.md`): the
//! greeting and READY are sent at once without waiting for the peer, padding is not
//! validated, property names are emitted with their exact casing and matched case-insensitively.
//!
//! ```
//! use actormq_transports::zmtp::{encode_message, Decoder, Inbound};
//! use actormq_transports::Multipart;
//! use bytes::BytesMut;
//!
//! let mut wire = BytesMut::new();
//! encode_message(&Multipart::from(["topic", "body"]), &mut wire);
//! assert_eq!(&wire[..], b"\x01\x05topic\x00\x04body");
//! let mut decoder = Decoder::new(None);
//! assert_eq!(decoder.decode(&mut wire).unwrap(), Some(Inbound::Message(Multipart::from(["topic", "body"]))));
//! ```

mod codec;
mod command;
mod error;
mod greeting;
mod handshake;
mod mechanism;
mod session;

pub use codec::{encode_command, encode_message, Decoder, Inbound, MAX_COMMAND_SIZE};
pub use command::{Command, Metadata};
pub use error::ProtocolError;
pub use greeting::{Greeting, GREETING_LEN};
pub use handshake::{check_peer, Handshake, PeerInfo};
pub use mechanism::{encode_command_body, Mechanism, MechanismStep, NullMechanism};
pub use session::{CloseReason, Event, Session, SessionConfig};

/// Flag bit: more frames follow in this message.
pub const FLAG_MORE: u8 = 0x01;
/// Flag bit: the size field is 8 octets.
pub const FLAG_LONG: u8 = 0x02;
/// Flag bit: this frame is a command.
pub const FLAG_COMMAND: u8 = 0x04;
