//! MessagePack encoding of typed messages.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Error, Result};

/// How a typed message is laid out in MessagePack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Encoding {
    /// Structs as maps of field names to values, so that Python, JavaScript or Go read them as
    /// dictionaries. The default.
    #[default]
    Named,
    /// Structs as arrays of values in field order: smaller, but the reader must know the order.
    Compact,
}

/// Encodes a value as MessagePack.
///
/// ```
/// use actormq::typed::{decode, encode, Encoding};
///
/// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
/// struct Point { x: i32, y: i32 }
///
/// let named = encode(&Point { x: 1, y: 2 }, Encoding::Named).unwrap();
/// assert_eq!(&named[..], b"\x82\xa1x\x01\xa1y\x02"); // {"x": 1, "y": 2}
/// let compact = encode(&Point { x: 1, y: 2 }, Encoding::Compact).unwrap();
/// assert_eq!(&compact[..], b"\x92\x01\x02"); // [1, 2]
/// // either form decodes
/// assert_eq!(decode::<Point>(&named).unwrap(), Point { x: 1, y: 2 });
/// assert_eq!(decode::<Point>(&compact).unwrap(), Point { x: 1, y: 2 });
/// ```
pub fn encode<T: Serialize + ?Sized>(value: &T, encoding: Encoding) -> Result<Bytes> {
    let bytes = match encoding {
        Encoding::Named => rmp_serde::to_vec_named(value),
        Encoding::Compact => rmp_serde::to_vec(value),
    };
    bytes.map(Bytes::from).map_err(|e| Error::Encode {
        type_name: std::any::type_name::<T>(),
        reason: e.to_string(),
    })
}

/// Decodes MessagePack (either [`Encoding`]) into a value.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> std::result::Result<T, String> {
    rmp_serde::from_slice(bytes).map_err(|e| e.to_string())
}

/// A received message that did not decode as the expected type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("message on topic {topic:?} from {peer} is not a valid {type_name}: {reason}")]
pub struct DecodeFailure {
    /// The message's topic frame (lossy UTF-8).
    pub topic: String,
    /// The peer it came from.
    pub peer: String,
    /// The type it should have been.
    pub type_name: &'static str,
    /// What was wrong.
    pub reason: String,
}
