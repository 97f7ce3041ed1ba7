//! The 64-octet ZMTP greeting.

use super::ProtocolError;

/// Length of a ZMTP 3.x greeting.
pub const GREETING_LEN: usize = 64;

/// A ZMTP 3.x greeting: version, security mechanism and the as-server flag.
///
/// ```
/// use actormq_transports::zmtp::Greeting;
///
/// let g = Greeting::null();
/// let bytes = g.encode();
/// assert_eq!(&bytes[..12], b"\xff\0\0\0\0\0\0\0\0\x7f\x03\x01");
/// assert_eq!(&bytes[12..16], b"NULL");
/// assert_eq!(Greeting::decode(&bytes).unwrap(), g);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Greeting {
    /// Major version (3).
    pub major: u8,
    /// Minor version (1 for ZMTP 3.1, 0 for 3.0).
    pub minor: u8,
    /// Mechanism name without the NUL padding (`NULL`).
    pub mechanism: String,
    /// The as-server flag (always false for NULL).
    pub as_server: bool,
}

impl Greeting {
    /// Our greeting: ZMTP 3.1, NULL mechanism.
    pub fn null() -> Self {
        Greeting {
            major: 3,
            minor: 1,
            mechanism: "NULL".into(),
            as_server: false,
        }
    }

    /// The 64 octets on the wire.
    pub fn encode(&self) -> [u8; GREETING_LEN] {
        let mut out = [0u8; GREETING_LEN];
        out[0] = 0xff;
        out[9] = 0x7f;
        out[10] = self.major;
        out[11] = self.minor;
        let mech = self.mechanism.as_bytes();
        let n = mech.len().min(20);
        out[12..12 + n].copy_from_slice(&mech[..n]);
        out[32] = u8::from(self.as_server);
        out
    }

    /// Parses a peer's greeting. The padding (octets 1-8) is not validated, as libzmq puts a
    /// length there; any version from 3.0 on is accepted.
    pub fn decode(bytes: &[u8; GREETING_LEN]) -> Result<Self, ProtocolError> {
        if bytes[0] != 0xff || bytes[9] & 0x01 != 0x01 {
            return Err(ProtocolError::BadSignature {
                got: [bytes[0], bytes[9]],
            });
        }
        let (major, minor) = (bytes[10], bytes[11]);
        if major < 3 {
            return Err(ProtocolError::UnsupportedVersion { major, minor });
        }
        let mech = &bytes[12..32];
        let end = mech.iter().position(|&b| b == 0).unwrap_or(mech.len());
        let mechanism = String::from_utf8_lossy(&mech[..end]).into_owned();
        Ok(Greeting {
            major,
            minor,
            mechanism,
            as_server: bytes[32] != 0,
        })
    }

    /// Whether the peer speaks 3.1 or later (and so wants SUBSCRIBE/CANCEL as commands).
    pub fn is_3_1(&self) -> bool {
        self.major > 3 || self.minor >= 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_libzmq_padding_and_3_0() {
        // libzmq puts the routing-id length + 1 in the padding; 3.0 from libzmq <= 4.3.2.
        let mut g = Greeting::null().encode();
        g[1..9].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0, 3]);
        g[11] = 0;
        let d = Greeting::decode(&g).unwrap();
        assert_eq!((d.major, d.minor), (3, 0));
        assert!(!d.is_3_1());
        g[10] = 4;
        assert!(Greeting::decode(&g).unwrap().is_3_1());
    }

    #[test]
    fn rejects_bad_signature_and_old_versions() {
        let mut g = Greeting::null().encode();
        g[0] = b'G';
        assert!(matches!(
            Greeting::decode(&g),
            Err(ProtocolError::BadSignature { .. })
        ));
        let mut g = Greeting::null().encode();
        g[10] = 2;
        assert_eq!(
            Greeting::decode(&g),
            Err(ProtocolError::UnsupportedVersion { major: 2, minor: 1 })
        );
    }
}
