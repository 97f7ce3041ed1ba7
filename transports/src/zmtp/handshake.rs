//! The NULL-mechanism handshake: greeting, then READY both ways.

use bytes::{Buf, Bytes, BytesMut};

use super::codec::Raw;
use super::mechanism::{Mechanism, MechanismStep, NullMechanism};
use super::{encode_command, Command, Decoder, Greeting, Metadata, ProtocolError, GREETING_LEN};
use crate::SocketType;

/// What the handshake learned of the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's socket type.
    pub socket_type: SocketType,
    /// The peer's identity (empty when it sent none).
    pub identity: Bytes,
    /// The peer's ZMTP version (major, minor).
    pub version: (u8, u8),
    /// All of the peer's READY properties (at most [`super::MAX_PROPERTIES`], in a READY of at
    /// most [`super::MAX_HANDSHAKE_COMMAND_SIZE`] bytes).
    pub metadata: Metadata,
    /// Who the authenticator said the peer is (ZAP's `User-Id`: by default the PLAIN user
    /// name or the CURVE client key in Z85); `None` when no authenticator judged it.
    pub user_id: Option<String>,
}

impl PeerInfo {
    /// Whether the peer speaks ZMTP 3.1 or later (subscriptions as commands, heartbeats).
    pub fn is_3_1(&self) -> bool {
        self.version.0 > 3 || self.version.1 >= 1
    }
}

#[derive(Debug)]
enum State {
    Greeting,
    Ready { version: (u8, u8) },
    Done,
}

/// The handshake of one connection as a sans-IO state machine.
///
/// Send [`Handshake::initial_bytes`] at once, without waiting for the peer (libzmq waits for
/// part of our greeting before it sends the rest of its own), then feed what arrives to
/// [`Handshake::feed`] until it yields the peer's [`PeerInfo`]. Bytes after the peer's READY
/// stay in the buffer for the frame [`Decoder`].
///
/// ```
/// use actormq_transports::zmtp::Handshake;
/// use actormq_transports::SocketType;
/// use bytes::BytesMut;
///
/// let mut pub_side = Handshake::new(SocketType::Pub, Default::default());
/// let mut sub_side = Handshake::new(SocketType::Sub, Default::default());
/// let mut to_sub = pub_side.initial_bytes();
/// let mut to_pub = sub_side.initial_bytes();
/// let sub_seen = sub_side.feed(&mut to_sub).unwrap().unwrap();
/// let pub_seen = pub_side.feed(&mut to_pub).unwrap().unwrap();
/// assert_eq!(sub_seen.socket_type, SocketType::Pub);
/// assert_eq!(pub_seen.socket_type, SocketType::Sub);
/// ```
#[derive(Debug)]
pub struct Handshake {
    local: SocketType,
    identity: Bytes,
    state: State,
    decoder: Decoder,
}

impl Handshake {
    /// A handshake for a socket of type `local` with an optional identity (empty for none).
    pub fn new(local: SocketType, identity: Bytes) -> Self {
        Handshake {
            local,
            identity,
            state: State::Greeting,
            decoder: Decoder::new(Some(0))
                .with_max_command_size(super::codec::MAX_HANDSHAKE_COMMAND_SIZE),
        }
    }

    /// Our greeting followed by our READY: everything we send before hearing from the peer.
    pub fn initial_bytes(&self) -> BytesMut {
        let mut out = BytesMut::with_capacity(128);
        out.extend_from_slice(&Greeting::null().encode());
        NullMechanism::new().start(&local_metadata(self.local, &self.identity), &mut out);
        out
    }

    /// Feeds received bytes. Returns `Ok(None)` until the peer's READY has arrived, then the
    /// peer's info. On `Err` the connection must close; when [`ProtocolError::is_refusal`] holds,
    /// send [`Handshake::error_bytes`] first so the peer learns why.
    pub fn feed(&mut self, buf: &mut BytesMut) -> Result<Option<PeerInfo>, ProtocolError> {
        loop {
            match self.state {
                State::Greeting => {
                    let Some(greeting) = read_greeting(buf, "NULL")? else {
                        return Ok(None);
                    };
                    self.state = State::Ready {
                        version: (greeting.major, greeting.minor),
                    };
                }
                State::Ready { version } => {
                    if buf
                        .first()
                        .is_some_and(|flags| flags & super::FLAG_COMMAND == 0)
                    {
                        return Err(ProtocolError::ExpectedReady {
                            got: "a message frame".into(),
                        });
                    }
                    let Some(item) = self.decoder.decode_raw(buf)? else {
                        return Ok(None);
                    };
                    let meta = match item {
                        Raw::Command(body) => {
                            match NullMechanism::new().handle_command(body, &mut BytesMut::new())? {
                                MechanismStep::Done(meta) => meta,
                                MechanismStep::Continue | MechanismStep::Authenticate(_) => {
                                    unreachable!("NULL without an authenticator takes one READY")
                                }
                            }
                        }
                        Raw::Message(_) => {
                            return Err(ProtocolError::ExpectedReady {
                                got: "a message".into(),
                            })
                        }
                    };
                    self.state = State::Done;
                    return peer_info(self.local, meta, version).map(Some);
                }
                State::Done => return Ok(None),
            }
        }
    }

    /// The ERROR command telling the peer why we refuse it.
    pub fn error_bytes(err: &ProtocolError) -> BytesMut {
        let mut out = BytesMut::new();
        encode_command(&Command::Error(err.to_string()), &mut out);
        out
    }
}

/// Our READY properties: `Socket-Type`, and `Identity` for the types libzmq sends it for.
pub(crate) fn local_metadata(local: SocketType, identity: &Bytes) -> Metadata {
    let mut meta = Metadata::default();
    meta.insert("Socket-Type", local.as_str());
    if local.sends_identity() {
        meta.insert("Identity", identity.clone());
    }
    meta
}

/// Consumes the peer's 64-octet greeting from the front of `buf` once it is all there, checking
/// that it names `mechanism`. The signature is checked as soon as its octets are here, so
/// that a non-ZMTP peer is refused without waiting for 64 bytes it may never send.
pub(crate) fn read_greeting(
    buf: &mut BytesMut,
    mechanism: &str,
) -> Result<Option<Greeting>, ProtocolError> {
    if !buf.is_empty() && buf[0] != 0xff {
        return Err(ProtocolError::BadSignature {
            got: [buf[0], buf.get(9).copied().unwrap_or(0)],
        });
    }
    if buf.len() >= 10 && buf[9] & 1 != 1 {
        return Err(ProtocolError::BadSignature {
            got: [buf[0], buf[9]],
        });
    }
    if buf.len() < GREETING_LEN {
        return Ok(None);
    }
    let mut g = [0u8; GREETING_LEN];
    g.copy_from_slice(&buf[..GREETING_LEN]);
    buf.advance(GREETING_LEN);
    let greeting = Greeting::decode(&g)?;
    if greeting.mechanism != mechanism {
        return Err(ProtocolError::MechanismMismatch {
            theirs: greeting.mechanism,
            ours: mechanism.to_string(),
        });
    }
    Ok(Some(greeting))
}

/// The peer as its metadata describes it, if a socket of type `local` accepts it.
pub(crate) fn peer_info(
    local: SocketType,
    metadata: Metadata,
    version: (u8, u8),
) -> Result<PeerInfo, ProtocolError> {
    let raw = metadata
        .get("Socket-Type")
        .ok_or_else(|| ProtocolError::UnknownSocketType {
            value: "(missing)".into(),
        })?;
    let socket_type =
        SocketType::from_wire(raw).ok_or_else(|| ProtocolError::UnknownSocketType {
            value: String::from_utf8_lossy(raw).into_owned(),
        })?;
    let identity = metadata.get("Identity").cloned().unwrap_or_default();
    check_peer(local, socket_type, &identity)?;
    Ok(PeerInfo {
        socket_type,
        identity,
        version,
        metadata,
        user_id: None,
    })
}

/// Whether a socket of type `local` accepts a peer of type `peer` announcing `identity`: the
/// rules of the handshake, for transports that have no ZMTP handshake of their own (inproc).
pub fn check_peer(
    local: SocketType,
    peer: SocketType,
    identity: &[u8],
) -> Result<(), ProtocolError> {
    if !local.is_compatible(peer) {
        return Err(ProtocolError::IncompatibleSocketType {
            ours: local,
            theirs: peer,
        });
    }
    if identity.first() == Some(&0) {
        return Err(ProtocolError::InvalidIdentity);
    }
    if identity.len() > 255 {
        return Err(ProtocolError::IdentityTooLong {
            len: identity.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zmtp::Inbound;
    use proptest::prelude::*;

    fn run(
        a: SocketType,
        b: SocketType,
    ) -> (
        Result<Option<PeerInfo>, ProtocolError>,
        Result<Option<PeerInfo>, ProtocolError>,
    ) {
        let mut ha = Handshake::new(a, Bytes::from_static(b"A"));
        let mut hb = Handshake::new(b, Bytes::from_static(b"B"));
        let mut to_b = ha.initial_bytes();
        let mut to_a = hb.initial_bytes();
        (ha.feed(&mut to_a), hb.feed(&mut to_b))
    }

    #[test]
    fn compatible_types_complete_and_carry_identity() {
        let (a, b) = run(SocketType::Dealer, SocketType::Router);
        let a = a.unwrap().unwrap();
        let b = b.unwrap().unwrap();
        assert_eq!(a.socket_type, SocketType::Router);
        assert_eq!(b.socket_type, SocketType::Dealer);
        assert_eq!(b.identity, "A");
        assert!(a.is_3_1());
    }

    #[test]
    fn incompatible_types_are_refused_naming_both() {
        let (a, _) = run(SocketType::Req, SocketType::Pub);
        let err = a.unwrap_err();
        assert!(err.is_refusal());
        assert_eq!(
            err.to_string(),
            "incompatible socket types: we are REQ, the peer is PUB"
        );
        let mut bytes = Handshake::error_bytes(&err);
        assert!(bytes.starts_with(b"\x04"));
        let mut d = Decoder::new(None);
        assert!(
            matches!(d.decode(&mut bytes), Ok(Some(Inbound::Command(Command::Error(r)))) if r.contains("REQ"))
        );
    }

    #[test]
    fn libzmq_sub_ready_and_3_0_greeting() {
        // A libzmq 4.3.2 SUB: 3.0 greeting with a length in the padding, READY without Identity.
        let mut wire = BytesMut::new();
        let mut g = Greeting::null().encode();
        g[8] = 1;
        g[11] = 0;
        wire.extend_from_slice(&g);
        wire.extend_from_slice(b"\x04\x19\x05READY\x0bSocket-Type\x00\x00\x00\x03SUB");
        wire.extend_from_slice(b"\x00\x03\x01ab"); // a 3.0 subscription right behind it
        let mut h = Handshake::new(SocketType::Pub, Bytes::new());
        let info = h.feed(&mut wire).unwrap().unwrap();
        assert_eq!(info.socket_type, SocketType::Sub);
        assert_eq!(info.version, (3, 0));
        assert!(!info.is_3_1());
        assert_eq!(&wire[..], b"\x00\x03\x01ab");
    }

    #[test]
    fn handshake_failures() {
        let mut h = Handshake::new(SocketType::Pub, Bytes::new());
        assert!(matches!(
            h.feed(&mut BytesMut::from(&b"GET / HTTP/1.1\r\n"[..])),
            Err(ProtocolError::BadSignature { .. })
        ));
        let mut g = Greeting::null().encode();
        g[12..17].copy_from_slice(b"CURVE");
        let mut h = Handshake::new(SocketType::Pub, Bytes::new());
        assert!(matches!(
            h.feed(&mut BytesMut::from(&g[..])),
            Err(ProtocolError::MechanismMismatch { .. })
        ));
        // a message instead of READY
        let mut wire = BytesMut::from(&Greeting::null().encode()[..]);
        wire.extend_from_slice(b"\x00\x01x");
        let mut h = Handshake::new(SocketType::Pub, Bytes::new());
        assert!(matches!(
            h.feed(&mut wire),
            Err(ProtocolError::ExpectedReady { .. })
        ));
        // an ERROR from the peer
        let mut wire = BytesMut::from(&Greeting::null().encode()[..]);
        wire.extend_from_slice(b"\x04\x09\x05ERROR\x02no");
        let mut h = Handshake::new(SocketType::Pub, Bytes::new());
        assert_eq!(
            h.feed(&mut wire),
            Err(ProtocolError::PeerError {
                reason: "no".into()
            })
        );
        // lower-case type on the wire is unknown, as in libzmq
        let mut wire = BytesMut::from(&Greeting::null().encode()[..]);
        wire.extend_from_slice(b"\x04\x19\x05READY\x0bSocket-Type\x00\x00\x00\x03sub");
        let mut h = Handshake::new(SocketType::Pub, Bytes::new());
        assert!(matches!(
            h.feed(&mut wire),
            Err(ProtocolError::UnknownSocketType { .. })
        ));
    }

    /// A greeting and a READY from a peer of type PUSH with these extra properties.
    fn ready_with(props: &[(&str, Vec<u8>)]) -> BytesMut {
        let mut meta = Metadata::default();
        meta.insert("Socket-Type", "DEALER");
        for (name, value) in props {
            meta.insert(*name, value.clone());
        }
        let mut wire = BytesMut::from(&Greeting::null().encode()[..]);
        encode_command(&Command::Ready(meta), &mut wire);
        wire
    }

    #[test]
    fn ready_is_bounded_in_bytes_properties_and_identity() {
        let feed =
            |mut wire: BytesMut| Handshake::new(SocketType::Router, Bytes::new()).feed(&mut wire);
        // a READY of ~9 KiB: refused before it is buffered
        let big = feed(ready_with(&[("X-Big", vec![b'x'; 9000])]));
        assert!(
            matches!(big, Err(ProtocolError::CommandTooLarge { max: 8192, .. })),
            "{big:?}"
        );
        // just under the limit is fine
        let ok = feed(ready_with(&[("X-Big", vec![b'x'; 8000])]));
        assert!(ok.unwrap().is_some());
        // 65 properties in all: too many (each tiny)
        let names: Vec<String> = (0..64).map(|i| format!("X-{i}")).collect();
        let many: Vec<(&str, Vec<u8>)> = names.iter().map(|n| (n.as_str(), vec![])).collect();
        let r = feed(ready_with(&many));
        assert!(
            matches!(&r, Err(ProtocolError::MalformedCommand { reason, .. }) if reason.contains("more than 64 properties")),
            "{r:?}"
        );
        let r = feed(ready_with(&many[..63]));
        assert_eq!(r.unwrap().unwrap().metadata.iter().count(), 64);
        // an Identity over 255 bytes is refused (with an ERROR), as libzmq does
        let r = feed(ready_with(&[("Identity", vec![b'i'; 256])]));
        assert_eq!(r, Err(ProtocolError::IdentityTooLong { len: 256 }));
        assert!(r.unwrap_err().is_refusal());
        let r = feed(ready_with(&[("Identity", vec![b'i'; 255])]));
        assert_eq!(r.unwrap().unwrap().identity.len(), 255);
    }

    proptest! {
        #[test]
        fn split_anywhere_same_result(cut in 0usize..200) {
            let ha = Handshake::new(SocketType::Push, Bytes::new());
            let wire = ha.initial_bytes();
            let cut = cut.min(wire.len());
            let mut h = Handshake::new(SocketType::Pull, Bytes::new());
            let mut buf = BytesMut::from(&wire[..cut]);
            let first = h.feed(&mut buf).unwrap();
            buf.extend_from_slice(&wire[cut..]);
            let info = match first { Some(i) => i, None => h.feed(&mut buf).unwrap().unwrap() };
            prop_assert_eq!(info.socket_type, SocketType::Push);
        }

        #[test]
        fn garbage_after_signature_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut wire = BytesMut::from(&Greeting::null().encode()[..]);
            wire.extend_from_slice(&bytes);
            let mut h = Handshake::new(SocketType::Sub, Bytes::new());
            let _ = h.feed(&mut wire);
        }
    }
}
