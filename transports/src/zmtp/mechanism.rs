//! The security-mechanism seam of a ZMTP session: NULL here, PLAIN and CURVE beside it.
//!
//! A [`Mechanism`] owns what RFC 37 leaves to the mechanism: its name and the as-server flag in
//! the greeting, the commands exchanged after the greeting until both sides are ready (for
//! NULL: one READY each way, carrying the socket's metadata), and, for mechanisms that protect
//! traffic (CURVE's MESSAGE command), the wrapping of every frame after the handshake.

use bytes::{Bytes, BytesMut};

use super::codec::put_frame_header;
use super::{encode_command, Command, Credentials, Metadata, ProtocolError, FLAG_COMMAND};

/// Where a mechanism's handshake stands after a command from the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MechanismStep {
    /// More commands are needed (CURVE: HELLO, WELCOME, INITIATE, READY).
    Continue,
    /// The peer presented these credentials: the session asks the authenticator and, once it
    /// allows the peer, calls [`Mechanism::allowed`] (a denial ends the handshake with an
    /// ERROR). Nothing more is read from the peer meanwhile.
    Authenticate(Credentials),
    /// The handshake is complete; these are the peer's metadata properties (its READY).
    Done(Metadata),
}

/// A ZMTP security mechanism, as a sans-IO state machine.
///
/// The [`Session`](super::Session) drives it: it sends the greeting with [`Mechanism::name`]
/// and [`Mechanism::as_server`], checks the peer's greeting names the same mechanism, calls
/// [`Mechanism::start`] (at once for NULL, whose READY carries nothing secret; after the
/// peer's greeting named the same mechanism when [`Mechanism::starts_after_greeting`], as
/// libzmq does for every mechanism), then hands every
/// command body that arrives to [`Mechanism::handle_command`] until it returns
/// [`MechanismStep::Done`] with the peer's metadata.
///
/// Commands travel as raw bodies (`name-len name data`, see
/// [`Command::decode_body`]) so that a mechanism can define its own (HELLO, WELCOME, ...):
/// write them with [`encode_command`] or [`encode_command_body`].
///
/// After the handshake a mechanism may wrap frames ([`Mechanism::wraps_frames`]): the session
/// then passes every outgoing frame through [`Mechanism::encode_frame`] and every incoming
/// command through [`Mechanism::decode_frame`]. The defaults leave frames as they are, which
/// is what NULL and PLAIN do; the session keeps its fast path when `wraps_frames` is false.
pub trait Mechanism: Send + std::fmt::Debug {
    /// The mechanism name in the greeting (ASCII, at most 20 octets): `NULL`, `PLAIN`, `CURVE`.
    fn name(&self) -> &str;

    /// The greeting's as-server flag (always false for NULL).
    fn as_server(&self) -> bool {
        false
    }

    /// Called once, right after our greeting is queued: appends the commands we send without
    /// waiting for the peer. `ours` is our metadata (`Socket-Type`, `Identity`), to be sent in
    /// whichever command the mechanism carries it (NULL: READY at once). Returns
    /// [`MechanismStep::Authenticate`] when the peer is to be judged before anything else
    /// (NULL with an authenticator: by its address alone), else `Continue`.
    fn start(&mut self, ours: &Metadata, out: &mut BytesMut) -> MechanismStep;

    /// Whether [`Mechanism::start`] waits for the peer's greeting (PLAIN and CURVE clients:
    /// their first command, with a password or a key, goes only to a peer that named the
    /// same mechanism, as in libzmq). Default: no (NULL's READY goes at once).
    fn starts_after_greeting(&self) -> bool {
        false
    }

    /// The authenticator allowed the peer whose credentials the last step presented: append
    /// what follows (PLAIN: WELCOME; CURVE: READY) and say where the handshake stands.
    fn allowed(&mut self, out: &mut BytesMut) -> Result<MechanismStep, ProtocolError> {
        let _ = out;
        Ok(MechanismStep::Continue)
    }

    /// A command from the peer during the handshake (its body, `name-len name data`). May
    /// append replies to `out`. An `Err` fails the handshake; when
    /// [`ProtocolError::is_refusal`] holds, the session sends the peer an ERROR first.
    fn handle_command(
        &mut self,
        body: Bytes,
        out: &mut BytesMut,
    ) -> Result<MechanismStep, ProtocolError>;

    /// Whether frames after the handshake are wrapped (CURVE: each frame becomes a MESSAGE
    /// command). Default: no; the session then writes and reads plain ZMTP frames.
    fn wraps_frames(&self) -> bool {
        false
    }

    /// Appends the ERROR command that refuses the peer during the handshake (an
    /// authenticator's status code, `400`). Default: ZMTP's ERROR.
    fn encode_error(&self, reason: &str, out: &mut BytesMut) {
        encode_command(&Command::Error(reason.to_string()), out);
    }

    /// The bytes wrapping adds to a frame at most (CURVE: 33), so that the decoder admits
    /// a wrapped frame of `maxmsgsize` bytes. Default 0.
    fn frame_overhead(&self) -> u64 {
        0
    }

    /// Appends one outgoing frame after the handshake: `flags` holds [`FLAG_MORE`] and/or
    /// [`FLAG_COMMAND`] (never `FLAG_LONG`, which is a matter of encoding). Called only when
    /// [`Mechanism::wraps_frames`]; the default writes the plain frame.
    ///
    /// [`FLAG_MORE`]: super::FLAG_MORE
    fn encode_frame(&mut self, flags: u8, frame: &[u8], out: &mut BytesMut) {
        put_frame_header(out, flags, frame.len());
        out.extend_from_slice(frame);
    }

    /// An incoming frame's body after the handshake, when [`Mechanism::wraps_frames`]: the
    /// frame it carries ([`Unwrapped::Frame`]: a command frame has [`FLAG_COMMAND`] in its
    /// flags and its body as data), or the body back when it is not a wrapped frame
    /// ([`Unwrapped::Not`]: the session handles a command as a command and refuses a message
    /// frame). Taking the body by value lets a mechanism decrypt in place when it holds the
    /// only reference. Default: [`Unwrapped::Not`].
    fn decode_frame(&mut self, body: Bytes) -> Result<Unwrapped, ProtocolError> {
        Ok(Unwrapped::Not(body))
    }
}

/// What [`Mechanism::decode_frame`] makes of an incoming body.
#[derive(Debug)]
pub enum Unwrapped {
    /// The frame it carried: its flags ([`FLAG_COMMAND`], `FLAG_MORE`) and data.
    Frame(u8, Bytes),
    /// Not a wrapped frame: the body as it came.
    Not(Bytes),
}

/// Appends a command frame whose body (`name-len name data`) is already encoded: for a
/// mechanism's own commands.
pub fn encode_command_body(body: &[u8], out: &mut BytesMut) {
    put_frame_header(out, FLAG_COMMAND, body.len());
    out.extend_from_slice(body);
}

/// The NULL mechanism (RFC 37): no security; each side sends READY with its metadata right
/// after the greeting and the handshake is done when the peer's READY arrives.
///
/// ```
/// use actormq_transports::zmtp::{Mechanism, MechanismStep, Metadata, NullMechanism};
/// use bytes::{Bytes, BytesMut};
///
/// let mut null = NullMechanism::default();
/// assert_eq!(null.name(), "NULL");
/// let mut ours = Metadata::default();
/// ours.insert("Socket-Type", "PUB");
/// let mut out = BytesMut::new();
/// assert_eq!(null.start(&ours, &mut out), MechanismStep::Continue);
/// assert!(out.starts_with(b"\x04\x19\x05READY"));
/// // the peer's READY, as a command body
/// let body = Bytes::copy_from_slice(&out[2..]);
/// assert_eq!(null.handle_command(body, &mut out).unwrap(), MechanismStep::Done(ours));
/// ```
#[derive(Clone, Debug, Default)]
pub struct NullMechanism {
    /// Judge the peer (by its address) before our READY goes out, as libzmq does when a ZAP
    /// handler is installed; holds our metadata until then.
    authenticate: Option<Metadata>,
}

impl NullMechanism {
    /// The NULL mechanism.
    pub fn new() -> Self {
        Self::default()
    }

    /// NULL with an authenticator: the peer is judged by its address first, and our READY
    /// goes out only once it is allowed.
    pub fn authenticating() -> Self {
        NullMechanism {
            authenticate: Some(Metadata::default()),
        }
    }
}

impl Mechanism for NullMechanism {
    fn name(&self) -> &str {
        "NULL"
    }

    fn start(&mut self, ours: &Metadata, out: &mut BytesMut) -> MechanismStep {
        match &mut self.authenticate {
            Some(held) => {
                *held = ours.clone();
                MechanismStep::Authenticate(Credentials::Null)
            }
            None => {
                encode_command(&Command::Ready(ours.clone()), out);
                MechanismStep::Continue
            }
        }
    }

    fn allowed(&mut self, out: &mut BytesMut) -> Result<MechanismStep, ProtocolError> {
        if let Some(ours) = self.authenticate.take() {
            encode_command(&Command::Ready(ours), out);
        }
        Ok(MechanismStep::Continue)
    }

    fn handle_command(
        &mut self,
        body: Bytes,
        _out: &mut BytesMut,
    ) -> Result<MechanismStep, ProtocolError> {
        match Command::decode_body(&body)? {
            Command::Ready(meta) => Ok(MechanismStep::Done(meta)),
            Command::Error(reason) => Err(ProtocolError::PeerError { reason }),
            other => Err(ProtocolError::ExpectedReady {
                got: format!("{} command", other.name()),
            }),
        }
    }
}
