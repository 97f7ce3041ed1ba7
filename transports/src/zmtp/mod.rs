//! ZMTP 3.1 (RFC 37, compatible with 3.0 peers of RFC 23) as a sans-IO codec.
//!
//! Nothing here touches a socket: [`Session`] runs one connection (handshake through the
//! security [`Mechanism`], heartbeats, subscriptions, refusals) on bytes and instants the
//! caller passes in; below it, [`Handshake`] turns the peer's greeting and READY into a
//! [`PeerInfo`], [`Decoder`] turns bytes into [`Inbound`] messages and commands, and
//! [`encode_message`] / [`encode_command`] write frames into a buffer. The connection that
//! drives them only moves bytes.
//!
//! # Where libzmq differs from the RFCs
//!
//! Our peers run libzmq, so where libzmq and the RFC text (23/ZMTP 3.0, 37/ZMTP 3.1,
//! 29/PUBSUB) disagree, we do what libzmq does. Each point below was checked against the bytes
//! libzmq 4.3 puts on the wire; the unit tests beside the code replay those captures.
//!
//! - **Send first, read later.** libzmq sends only the first 10 octets of its greeting, then
//!   waits for ours before it sends the rest. A side that waits for the peer's 64 octets
//!   before sending anything deadlocks against it. [`Session::new`] queues our whole greeting
//!   and the mechanism's first commands at once.
//! - **READY is not a client/server exchange.** RFC 37 has the client send READY and wait for
//!   the server's. libzmq sends its READY right after the greeting on both sides, and so do we
//!   ([`Mechanism::start`] runs before the peer has said anything).
//! - **Greeting padding is not zeros.** libzmq puts its routing-id length plus one in octets
//!   1-8, so [`Greeting::decode`] checks only the signature's first and last octets (the
//!   session checks them as soon as they arrive, so that a peer that is not ZMTP is refused
//!   early). Any version from 3.0 on is accepted, and anything from 3.1 on gets 3.1 behaviour.
//!   libzmq up to 4.3.2 greets as 3.0.
//! - **Property names are case-sensitive in libzmq.** The RFC says they are case-insensitive,
//!   but libzmq ignores `identity` or `socket-type` in lower case. We write `Socket-Type` and
//!   `Identity` exactly so, and read names in any case ([`Metadata::get`]). Socket-type *values*
//!   are case-sensitive in libzmq too (`dealer` is not a type):
//!   [`SocketType::from_wire`](crate::SocketType::from_wire).
//! - **Identity only where libzmq sends it.** Only REQ, DEALER and ROUTER put `Identity` in
//!   their READY ([`SocketType::sends_identity`](crate::SocketType::sends_identity)).
//! - **libzmq refuses silently.** When it rejects our socket type, libzmq closes the
//!   connection without an ERROR, after its own READY. We send ERROR when we refuse a peer,
//!   and we report a close during the handshake as a likely refusal.
//! - **A command's name is length-prefixed.** The RFC prose mentions a null separator. The
//!   grammar and libzmq both use `name-len name data`, and so does [`Command::decode_body`].
//! - **Subscriptions follow the peer's version.** libzmq picks its encoder from the minor
//!   version the *peer* greeted with. A 3.1 peer gets SUBSCRIBE / CANCEL commands, and a 3.0
//!   peer gets `0x01topic` / `0x00topic` messages. Its decoder accepts both forms from anyone.
//!   The session does the same: a subscriber writes commands only to 3.1 peers, and a
//!   publisher accepts both forms and hands the socket the message form
//!   ([`crate::subscription`]).
//! - **Heartbeats.** A PING's TTL is in tenths of a second, a PONG echoes at most 16 octets of
//!   context, and any bytes from the peer count as a sign of life. libzmq sends PINGs even to
//!   3.0 peers. We answer PINGs from anyone, but send none to a peer that greeted 3.0.
//! - **Where we are stricter than libzmq.** libzmq ignores the reserved flag bits (7-3). The
//!   [`Decoder`] refuses a frame that sets them, and checks every declared size against
//!   `maxmsgsize` (summed over a message's frames) or [`MAX_COMMAND_SIZE`] before buffering
//!   anything.
//! - **What a peer may cost, in bytes.** libzmq bounds none of these; we do, and close the
//!   connection with a protocol error past them:
//!   - a message has at most `max_frames` frames ([`DEFAULT_MAX_FRAMES`], 1024), so that
//!     empty frames (2 wire bytes, ~32 bytes of memory each) cannot amplify;
//!   - a handshake command (READY) is at most [`MAX_HANDSHAKE_COMMAND_SIZE`] (8 KiB) with at
//!     most [`MAX_PROPERTIES`] (64) properties, and the `Identity` at most 255 bytes (libzmq
//!     refuses longer ones too); [`PeerInfo`] keeps that metadata, so at most about 12 KiB
//!     per connection;
//!   - a frame's declared length is never reserved up front: a frame still arriving costs at
//!     most about twice what arrived of it plus 64 KiB of read buffer (so a 256 MiB frame
//!     trickled in holds only what was sent; there is no idle deadline, as in libzmq).
//! - **The as-server flag is not set.** libzmq 4.3 greets with as-server 0 even as a PLAIN or
//!   CURVE server, so the flag cannot tell roles apart: we send ours as RFC 37 says and do not
//!   check the peer's. Two clients (or two servers) fail on the mechanism's first command.
//! - **CURVE's MESSAGE is a data frame.** libzmq sends each encrypted MESSAGE in a frame
//!   without the COMMAND flag, and refuses nothing on that flag; we send it so and accept
//!   either. Inside the box, libzmq's flags byte uses bit 0 for MORE and bit 1 for COMMAND
//!   (PING, PONG, SUBSCRIBE and CANCEL are encrypted too), and an authenticator's refusal is
//!   an ERROR whose reason is the 3-digit ZAP status code alone (`400`): that is what libzmq's
//!   monitor reports as `HANDSHAKE_FAILED_AUTH` with the code.
//! - **UDP has no RFC.** libzmq's UDP engine defines the format: one datagram per message,
//!   `[group length][group][body]`, with no greeting or commands. A datagram over 8192 octets
//!   is dropped ([`crate::datagram`]).
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

mod auth;
mod codec;
mod command;
mod curve;
mod error;
mod greeting;
mod handshake;
mod mechanism;
mod plain;
#[cfg(test)]
mod security_tests;
mod session;

pub use auth::{Credentials, Verdict};
pub use codec::{
    encode_command, encode_message, Decoder, Inbound, DEFAULT_MAX_FRAMES, MAX_COMMAND_SIZE,
    MAX_HANDSHAKE_COMMAND_SIZE,
};
pub use command::{Command, Metadata, MAX_PROPERTIES};
pub use curve::{CurveClient, CurveKeyPair, CurvePublicKey, CurveSecretKey, CurveServer, KeyError};
pub use error::ProtocolError;
pub use greeting::{Greeting, GREETING_LEN};
pub use handshake::{check_peer, Handshake, PeerInfo};
pub use mechanism::{encode_command_body, Mechanism, MechanismStep, NullMechanism, Unwrapped};
pub use plain::{PlainClient, PlainServer};
pub use session::{CloseReason, Event, Session, SessionConfig};

/// Flag bit: more frames follow in this message.
pub const FLAG_MORE: u8 = 0x01;
/// Flag bit: the size field is 8 octets.
pub const FLAG_LONG: u8 = 0x02;
/// Flag bit: this frame is a command.
pub const FLAG_COMMAND: u8 = 0x04;
