//! CURVE keys: 32-byte Curve25519 keys, written as 40 characters of Z85 as libzmq prints them.

use std::fmt;
use std::str::FromStr;

use crypto_box::aead::OsRng;
use zeroize::Zeroizing;

/// Why a text is not a CURVE key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not 40 characters of Z85 (nor 32 raw bytes).
    #[error("a CURVE key is 40 characters of Z85 (or 32 bytes); got {0}")]
    Length(String),
    /// 40 characters, but not Z85.
    #[error("not a Z85-encoded CURVE key: {0}")]
    NotZ85(String),
}

fn decode_z85(text: &str) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let text = text.trim();
    if text.len() != 40 {
        return Err(KeyError::Length(format!("{} characters", text.len())));
    }
    // z85's error names the offending character: of a secret, that is too much to log
    let bytes = Zeroizing::new(
        z85::decode(text).map_err(|_| KeyError::NotZ85("a character outside Z85".into()))?,
    );
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return Err(KeyError::Length(format!("{} bytes", bytes.len())));
    }
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// A CURVE public key (a server's `curve_serverkey`, a client's `curve_publickey`).
///
/// ```
/// use actormq_transports::zmtp::CurvePublicKey;
///
/// // libzmq's test key (tests/testutil_security.cpp prints it so)
/// let key: CurvePublicKey = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7".parse().unwrap();
/// assert_eq!(key.to_z85(), "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
/// assert_eq!(key.as_bytes().len(), 32);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CurvePublicKey([u8; 32]);

impl CurvePublicKey {
    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        CurvePublicKey(bytes)
    }

    /// The key from its 40 Z85 characters.
    pub fn from_z85(text: &str) -> Result<Self, KeyError> {
        Ok(CurvePublicKey(*decode_z85(text)?))
    }

    /// Its 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Its 40 Z85 characters.
    pub fn to_z85(&self) -> String {
        z85::encode(self.0)
    }

    pub(crate) fn to_box_key(self) -> crypto_box::PublicKey {
        crypto_box::PublicKey::from(self.0)
    }
}

impl FromStr for CurvePublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::from_z85(s)
    }
}

impl fmt::Display for CurvePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_z85())
    }
}

impl fmt::Debug for CurvePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CurvePublicKey({})", self.to_z85())
    }
}

/// A CURVE secret key. Its bytes are wiped from memory when it is dropped, and neither
/// `Debug` nor `Display` shows them.
#[derive(Clone)]
pub struct CurveSecretKey(crypto_box::SecretKey);

impl CurveSecretKey {
    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let bytes = Zeroizing::new(bytes);
        CurveSecretKey(crypto_box::SecretKey::from(*bytes))
    }

    /// The key from its 40 Z85 characters.
    pub fn from_z85(text: &str) -> Result<Self, KeyError> {
        Ok(CurveSecretKey(crypto_box::SecretKey::from(*decode_z85(
            text,
        )?)))
    }

    /// Its 40 Z85 characters (to write a certificate; handle with care).
    pub fn to_z85(&self) -> Zeroizing<String> {
        Zeroizing::new(z85::encode(self.0.to_bytes()))
    }

    /// The public key that goes with it.
    pub fn public_key(&self) -> CurvePublicKey {
        CurvePublicKey(*self.0.public_key().as_bytes())
    }

    pub(crate) fn box_key(&self) -> &crypto_box::SecretKey {
        &self.0
    }
}

impl PartialEq for CurveSecretKey {
    fn eq(&self, other: &Self) -> bool {
        // both derive the same public key exactly when they are the same key
        self.public_key() == other.public_key()
    }
}

impl Eq for CurveSecretKey {}

impl fmt::Debug for CurveSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CurveSecretKey(of {})", self.public_key())
    }
}

/// A CURVE key pair: a public key and its secret key.
///
/// ```
/// use actormq_transports::zmtp::CurveKeyPair;
///
/// let keys = CurveKeyPair::generate();
/// let again = CurveKeyPair::from_secret_z85(&keys.secret.to_z85()).unwrap();
/// assert_eq!(again.public, keys.public);
/// assert_eq!(keys.public.to_z85().len(), 40);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurveKeyPair {
    /// The public key, to give to peers.
    pub public: CurvePublicKey,
    /// The secret key, to keep.
    pub secret: CurveSecretKey,
}

impl CurveKeyPair {
    /// A new random key pair (from the operating system's random source).
    pub fn generate() -> Self {
        Self::from_secret(CurveSecretKey(crypto_box::SecretKey::generate(&mut OsRng)))
    }

    /// The pair of a secret key.
    pub fn from_secret(secret: CurveSecretKey) -> Self {
        CurveKeyPair {
            public: secret.public_key(),
            secret,
        }
    }

    /// The pair of a secret key given as 40 Z85 characters.
    pub fn from_secret_z85(text: &str) -> Result<Self, KeyError> {
        Ok(Self::from_secret(CurveSecretKey::from_z85(text)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_libzmqs_test_pair() {
        // the server pair libzmq's own tests use (tests/testutil_security.cpp)
        let pair =
            CurveKeyPair::from_secret_z85("JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6").unwrap();
        assert_eq!(
            pair.public.to_z85(),
            "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
        );
    }

    #[test]
    fn bad_keys_are_refused_with_a_reason() {
        assert!(matches!(
            CurvePublicKey::from_z85("short"),
            Err(KeyError::Length(_))
        ));
        let not_z85 = "\"".repeat(40);
        assert!(matches!(
            CurvePublicKey::from_z85(&not_z85),
            Err(KeyError::NotZ85(_))
        ));
    }

    #[test]
    fn a_secret_never_shows_in_debug() {
        let pair = CurveKeyPair::generate();
        let shown = format!("{pair:?}");
        assert!(!shown.contains(pair.secret.to_z85().as_str()));
        assert!(shown.contains(&pair.public.to_z85()));
    }
}
