//! The subscription frame of ZMTP 3.0 (and the form XPUB applications see): one frame whose
//! first byte is 1 (subscribe) or 0 (cancel), followed by the topic prefix.
//!
//! ZMTP 3.1 peers send SUBSCRIBE / CANCEL commands instead; the ZMTP session translates
//! between the two, so sockets and patterns only ever see this form.
//!
//! ```
//! use actormq_transports::subscription::{cancel_message, parse_subscription, subscribe_message};
//!
//! let sub = subscribe_message(b"weather");
//! assert_eq!(sub.frames()[0], &b"\x01weather"[..]);
//! assert_eq!(parse_subscription(&sub), Some((true, &b"weather"[..])));
//! assert_eq!(parse_subscription(&cancel_message(b"")), Some((false, &b""[..])));
//! ```

use crate::Multipart;

/// The subscription message: `0x01topic`.
pub fn subscribe_message(topic: &[u8]) -> Multipart {
    prefixed(1, topic)
}

/// The cancellation message: `0x00topic`.
pub fn cancel_message(topic: &[u8]) -> Multipart {
    prefixed(0, topic)
}

fn prefixed(kind: u8, topic: &[u8]) -> Multipart {
    let mut v = Vec::with_capacity(topic.len() + 1);
    v.push(kind);
    v.extend_from_slice(topic);
    Multipart::from(v)
}

/// Whether a message is a subscription (`0x01topic`, `Some((true, topic))`) or cancellation
/// (`0x00topic`, `Some((false, topic))`): one frame whose first byte is 1 or 0.
pub fn parse_subscription(msg: &Multipart) -> Option<(bool, &[u8])> {
    if msg.len() != 1 {
        return None;
    }
    let frame = msg.first()?;
    match frame.first() {
        Some(1) => Some((true, &frame[1..])),
        Some(0) => Some((false, &frame[1..])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn byte_exact_forms() {
        assert_eq!(subscribe_message(b"ab"), Multipart::from("\x01ab"));
        assert_eq!(cancel_message(b"ab"), Multipart::from("\x00ab"));
        assert_eq!(subscribe_message(b""), Multipart::from("\x01"));
    }

    #[test]
    fn other_messages_are_not_subscriptions() {
        assert_eq!(parse_subscription(&Multipart::from("\x02ab")), None);
        assert_eq!(parse_subscription(&Multipart::from("")), None);
        assert_eq!(parse_subscription(&Multipart::new()), None);
        assert_eq!(
            parse_subscription(&Multipart::from([&b"\x01a"[..], &b"b"[..]])),
            None
        );
    }

    proptest! {
        #[test]
        fn round_trip(topic in proptest::collection::vec(any::<u8>(), 0..64)) {
            let sub = subscribe_message(&topic);
            prop_assert_eq!(parse_subscription(&sub), Some((true, &topic[..])));
            let cancel = cancel_message(&topic);
            prop_assert_eq!(parse_subscription(&cancel), Some((false, &topic[..])));
        }
    }
}
