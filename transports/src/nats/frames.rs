//! A multipart message as one NATS message, which carries one payload.
//!
//! A message of one frame is that frame, unchanged, so that any NATS client (`nats pub`,
//! `nats sub`, nats-py) reads and writes it as it is. A message of several frames is their
//! bytes one after the other, with the header `Actormq-Frames` listing each frame's length in
//! order (`Actormq-Frames: 5,0,12`). A received message whose header does not add up to its
//! payload is refused ([`decode`]), and the receiver skips it with a warning.

use async_nats::HeaderMap;
use bytes::Bytes;

use crate::broker::{join_frames, split_frames};
use crate::Multipart;

/// The header that lists the lengths of a multipart message's frames.
pub const FRAMES_HEADER: &str = "Actormq-Frames";

/// The headers (none for one frame) and payload that carry `frames`.
///
/// ```
/// use actormq_transports::nats::frames::{decode, encode};
/// use bytes::Bytes;
///
/// let one = [Bytes::from("bowler")];
/// let (headers, payload) = encode(&one);
/// assert!(headers.is_none() && payload == "bowler");
///
/// let three = [Bytes::from("a"), Bytes::new(), Bytes::from("bcd")];
/// let (headers, payload) = encode(&three);
/// assert_eq!(headers.as_ref().unwrap().get("Actormq-Frames").unwrap().as_str(), "1,0,3");
/// assert_eq!(payload, "abcd");
/// assert_eq!(decode(headers.as_ref(), payload).unwrap().frames(), &three);
/// ```
pub fn encode(frames: &[Bytes]) -> (Option<HeaderMap>, Bytes) {
    if let [one] = frames {
        return (None, one.clone());
    }
    let (lengths, payload) = join_frames(frames);
    let mut headers = HeaderMap::new();
    headers.insert(FRAMES_HEADER, lengths.as_str());
    (Some(headers), payload)
}

/// The frames a received message carries (slices of its payload, not copies); why not, when
/// its `Actormq-Frames` header is malformed or does not add up to the payload's length.
pub fn decode(headers: Option<&HeaderMap>, payload: Bytes) -> Result<Multipart, String> {
    match headers.and_then(|h| h.get(FRAMES_HEADER)) {
        Some(lengths) => split_frames(FRAMES_HEADER, lengths.as_str(), payload),
        None => Ok(Multipart::from(payload)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_headers_are_refused() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(FRAMES_HEADER, v);
            h
        };
        let payload = Bytes::from("abcd");
        for bad in ["", "1,x", "5", "1,1", "-1,5", "2,18446744073709551615"] {
            assert!(decode(Some(&with(bad)), payload.clone()).is_err(), "{bad}");
        }
        assert_eq!(decode(Some(&with("4")), payload.clone()).unwrap().len(), 1);
        assert_eq!(
            decode(None, payload).unwrap().frames(),
            &[Bytes::from("abcd")]
        );
    }
}
