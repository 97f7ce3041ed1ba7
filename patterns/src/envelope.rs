//! The request/reply envelope (RFC 28): routing frames, then an empty delimiter, then the body.

use actormq_transports::{Frame, Multipart};

/// Splits a message after its first empty frame: `(envelope including the delimiter, body)`.
/// `None` when there is no delimiter (a malformed request, which REP drops).
///
/// ```
/// use actormq_patterns::split_envelope;
/// use actormq_transports::Multipart;
///
/// let (env, body) = split_envelope(Multipart::from(["id", "", "hello"])).unwrap();
/// assert_eq!(env.len(), 2);
/// assert_eq!(body, Multipart::from("hello"));
/// assert!(split_envelope(Multipart::from("no delimiter")).is_none());
/// ```
pub fn split_envelope(msg: Multipart) -> Option<(Vec<Frame>, Multipart)> {
    let at = msg.iter().position(|f| f.is_empty())?;
    let mut frames = msg.into_vec();
    let body = frames.split_off(at + 1);
    Some((frames, Multipart::from(body)))
}

/// `envelope` followed by the frames of `body`.
pub(crate) fn wrap(envelope: Vec<Frame>, body: Multipart) -> Multipart {
    let mut frames = envelope;
    frames.extend(body);
    Multipart::from(frames)
}
