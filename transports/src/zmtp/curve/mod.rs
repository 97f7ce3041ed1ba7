//! The CURVE mechanism (RFC 25/ZMTP-CURVE over RFC 26/CurveZMQ): a handshake that proves
//! both sides' long-term keys and agrees on short-term ones, then every frame encrypted and
//! authenticated in a MESSAGE box.
//!
//! The boxes are NaCl's `crypto_box` (Curve25519, XSalsa20, Poly1305) and, for the server's
//! cookie, `crypto_secretbox`, both from RustCrypto; nothing cryptographic is written here.
//! Each box on the wire is its 16-byte tag followed by the ciphertext, as libzmq writes it.
//!
//! Nonces, as libzmq builds them: a 16-byte text prefix (`CurveZMQHELLO---`,
//! `CurveZMQINITIATE`, `CurveZMQREADY---`, `CurveZMQMESSAGEC` from the client,
//! `CurveZMQMESSAGES` from the server) and an 8-byte big-endian counter that starts at 1 on
//! each side and grows by one per box (HELLO, INITIATE, then the MESSAGEs from the client;
//! READY, then the MESSAGEs from the server), or an 8-byte prefix (`WELCOME-`, `COOKIE--`,
//! `VOUCH---`) and 16 random bytes. A received counter must grow, so a replayed or reordered
//! MESSAGE closes the connection.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use crypto_box::aead::generic_array::GenericArray;
use crypto_box::aead::rand_core::RngCore;
use crypto_box::aead::{AeadCore, AeadInPlace, OsRng};
use crypto_box::SalsaBox;

use super::codec::put_frame_header;
use super::{ProtocolError, Unwrapped, FLAG_COMMAND, FLAG_MORE};

/// The [`Mechanism`](super::Mechanism) methods of a CURVE side once its handshake is done,
/// the same for the client and the server: every frame goes through its `traffic`.
macro_rules! traffic_methods {
    () => {
        fn wraps_frames(&self) -> bool {
            true
        }

        fn frame_overhead(&self) -> u64 {
            super::MESSAGE_OVERHEAD
        }

        fn encode_frame(&mut self, flags: u8, frame: &[u8], out: &mut bytes::BytesMut) {
            if let Some(t) = &mut self.traffic {
                t.encode_frame(flags, frame, out);
            }
        }

        fn decode_frame(
            &mut self,
            body: bytes::Bytes,
        ) -> Result<crate::zmtp::Unwrapped, crate::zmtp::ProtocolError> {
            match &mut self.traffic {
                Some(t) => t.decode_frame(body),
                None => Err(super::crypto("a MESSAGE before the handshake completed")),
            }
        }
    };
}

mod client;
mod keys;
mod server;

pub use client::CurveClient;
pub use keys::{CurveKeyPair, CurvePublicKey, CurveSecretKey, KeyError};
pub use server::CurveServer;

/// The bytes of a box beyond its plaintext: the Poly1305 tag.
const TAG: usize = 16;

/// What a MESSAGE adds to a frame: `\x07MESSAGE`, the nonce, the tag and the flags byte.
pub(crate) const MESSAGE_OVERHEAD: u64 = 8 + 8 + TAG as u64 + 1;

/// Inner flags of a MESSAGE box (libzmq's): more frames follow; the frame is a command.
const INNER_MORE: u8 = 0x01;
const INNER_COMMAND: u8 = 0x02;

fn crypto(what: impl Into<String>) -> ProtocolError {
    ProtocolError::Crypto(what.into())
}

/// The Curve25519 points of small order, as libsodium lists them (`has_small_order`): a
/// public key among them makes the shared secret predictable (all zeros), which libsodium's
/// `crypto_box` refuses and RustCrypto's does not check. Compared with the top bit cleared,
/// as X25519 ignores it.
const SMALL_ORDER: [[u8; 32]; 7] = [
    [0; 32],
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00,
    ],
    [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
        0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
        0x11, 0x57,
    ],
    small_order_near_p(0xec),
    small_order_near_p(0xed),
    small_order_near_p(0xee),
];

/// p - 1, p and p + 1 (p = 2^255 - 19), by their first octet.
const fn small_order_near_p(first: u8) -> [u8; 32] {
    let mut k = [0xff; 32];
    k[0] = first;
    k[31] = 0x7f;
    k
}

/// A peer's public key, unless it is of small order.
fn peer_key(bytes: &[u8], whose: &str) -> Result<crypto_box::PublicKey, ProtocolError> {
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes[..32]);
    let mut masked = key;
    masked[31] &= 0x7f;
    if SMALL_ORDER.contains(&masked) {
        return Err(crypto(format!("{whose} is a point of small order")));
    }
    Ok(crypto_box::PublicKey::from(key))
}

/// 24 bytes of nonce from a prefix and a tail.
fn nonce(prefix: &[u8], tail: &[u8]) -> [u8; 24] {
    let mut n = [0u8; 24];
    n[..prefix.len()].copy_from_slice(prefix);
    n[prefix.len()..].copy_from_slice(tail);
    n
}

/// 16 random bytes, for a long nonce.
fn random16() -> [u8; 16] {
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    b
}

/// Appends `tag || ciphertext` of `plain` under `cipher` and the nonce `prefix ++ tail`.
fn seal<A: AeadInPlace>(cipher: &A, prefix: &[u8], tail: &[u8], plain: &[u8], out: &mut BytesMut) {
    let start = out.len();
    out.put_bytes(0, TAG);
    out.put_slice(plain);
    let n = nonce(prefix, tail);
    let tag = cipher
        .encrypt_in_place_detached(
            GenericArray::from_slice(&n[..<A as AeadCore>::NonceSize::to_usize()]),
            b"",
            &mut out[start + TAG..],
        )
        .expect("a box of any length seals");
    out[start..start + TAG].copy_from_slice(&tag);
}

/// Opens `tag || ciphertext` under `cipher` and the nonce `prefix ++ tail`.
fn open<A: AeadInPlace>(cipher: &A, prefix: &[u8], tail: &[u8], sealed: &[u8]) -> Option<BytesMut> {
    if sealed.len() < TAG {
        return None;
    }
    let mut plain = BytesMut::from(&sealed[TAG..]);
    let n = nonce(prefix, tail);
    cipher
        .decrypt_in_place_detached(
            GenericArray::from_slice(&n[..<A as AeadCore>::NonceSize::to_usize()]),
            b"",
            &mut plain,
            GenericArray::from_slice(&sealed[..TAG]),
        )
        .ok()?;
    Some(plain)
}

use crypto_box::aead::generic_array::typenum::Unsigned;

/// The traffic keys and counters of a connection once its handshake is done: encrypts each
/// outgoing frame into a MESSAGE and opens each incoming one.
struct Traffic {
    /// `crypto_box` precomputed from our short-term secret and the peer's short-term public.
    cipher: SalsaBox,
    /// `CurveZMQMESSAGEC` or `CurveZMQMESSAGES`: ours, and the peer's.
    ours: &'static [u8; 16],
    theirs: &'static [u8; 16],
    /// The counter of our next box.
    next_nonce: u64,
    /// The counter of the peer's last box: the next must be greater.
    peer_nonce: u64,
}

impl std::fmt::Debug for Traffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traffic")
            .field("next_nonce", &self.next_nonce)
            .field("peer_nonce", &self.peer_nonce)
            .finish_non_exhaustive()
    }
}

impl Traffic {
    fn encode_frame(&mut self, flags: u8, frame: &[u8], out: &mut BytesMut) {
        let mut inner = 0;
        if flags & FLAG_MORE != 0 {
            inner |= INNER_MORE;
        }
        if flags & FLAG_COMMAND != 0 {
            inner |= INNER_COMMAND;
        }
        let n = self.next_nonce;
        self.next_nonce += 1;
        let size = MESSAGE_OVERHEAD as usize + frame.len();
        // a data frame, as libzmq sends it (the body says it is a MESSAGE)
        put_frame_header(out, 0, size);
        out.put_slice(b"\x07MESSAGE");
        out.put_u64(n);
        let start = out.len();
        out.put_bytes(0, TAG);
        out.put_u8(inner);
        out.put_slice(frame);
        let full = nonce(self.ours, &n.to_be_bytes());
        let tag = self
            .cipher
            .encrypt_in_place_detached(
                GenericArray::from_slice(&full),
                b"",
                &mut out[start + TAG..],
            )
            .expect("a box of any length seals");
        out[start..start + TAG].copy_from_slice(&tag);
    }

    fn decode_frame(&mut self, body: Bytes) -> Result<Unwrapped, ProtocolError> {
        if !body.starts_with(b"\x07MESSAGE") {
            let name = super::plain::split_command(&body).map_or_else(
                || "malformed".to_string(),
                |(n, _)| String::from_utf8_lossy(n).into_owned(),
            );
            return Err(crypto(format!(
                "an unencrypted {name} command after the handshake (only MESSAGE boxes may come)"
            )));
        }
        if body.len() < MESSAGE_OVERHEAD as usize {
            return Err(crypto("a MESSAGE shorter than its box"));
        }
        let mut counter = [0u8; 8];
        counter.copy_from_slice(&body[8..16]);
        let n = u64::from_be_bytes(counter);
        if n <= self.peer_nonce {
            return Err(crypto(format!(
                "MESSAGE nonce {n} after {}: replayed or reordered",
                self.peer_nonce
            )));
        }
        // decrypted in place when this is the only reference (a small frame the decoder
        // copied out), else in a copy
        let mut plain = body
            .try_into_mut()
            .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
        let (head, sealed) = plain.split_at_mut(16 + TAG);
        let tag = GenericArray::clone_from_slice(&head[16..]);
        let full = nonce(self.theirs, &counter);
        self.cipher
            .decrypt_in_place_detached(GenericArray::from_slice(&full), b"", sealed, &tag)
            .map_err(|_| crypto("a MESSAGE box does not open: tampered, or not from this peer"))?;
        self.peer_nonce = n;
        plain.advance(16 + TAG);
        let inner = plain[0];
        if inner & !(INNER_MORE | INNER_COMMAND) != 0 {
            return Err(crypto(format!(
                "MESSAGE flags {inner:#04x} use reserved bits"
            )));
        }
        let mut flags = 0;
        if inner & INNER_MORE != 0 {
            flags |= FLAG_MORE;
        }
        if inner & INNER_COMMAND != 0 {
            flags |= FLAG_COMMAND;
        }
        plain.advance(1);
        Ok(Unwrapped::Frame(flags, plain.freeze()))
    }
}
