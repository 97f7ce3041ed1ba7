//! What the broker transports (`redis://`, `nats://`, `amqp://`) share: which sockets may use
//! them, the hello that stands for the broker, the shape of a publication, a multipart message
//! as one broker payload, and a request's envelope.

use bytes::{Bytes, BytesMut};

use crate::link::Hello;
use crate::{Endpoint, Error, Listener, Multipart, Result, SocketType};

/// Publish/subscribe sockets, connecting only: the `check_socket` of a broker transport.
pub(crate) fn check_pubsub(
    scheme: &str,
    socket_type: SocketType,
    binding: bool,
) -> std::result::Result<(), String> {
    use SocketType::*;
    refuse_binding(scheme, binding)?;
    match socket_type {
        Pub | XPub | Sub | XSub => Ok(()),
        other => Err(format!(
            "{scheme}:// carries publish/subscribe (PUB, XPUB, SUB, XSUB), not {other}"
        )),
    }
}

/// A broker is connected to: the reason a socket may not bind it.
pub(crate) fn refuse_binding(scheme: &str, binding: bool) -> std::result::Result<(), String> {
    if binding {
        return Err(format!(
            "a broker is connected to, not bound: connect to {scheme}://HOST:PORT"
        ));
    }
    Ok(())
}

/// A broker transport's `bind`: refused.
pub(crate) fn refuse_bind(endpoint: &Endpoint) -> Result<Box<dyn Listener>> {
    Err(Error::Endpoint {
        endpoint: endpoint.to_string(),
        reason: "a broker is connected to, not bound".into(),
    })
}

/// The socket type the broker stands for, as the peer of a socket of `ours`: a subscriber to
/// everything for a publisher (the broker routes), a publisher for a subscriber, a puller for
/// a pusher, a replier for a requester, and the other way round.
pub(crate) fn counterpart(ours: SocketType) -> SocketType {
    use SocketType::*;
    match ours {
        Pub | XPub => Sub,
        Sub | XSub => Pub,
        Push => Pull,
        Pull => Push,
        Req => Rep,
        Rep => Req,
        other => other,
    }
}

/// The hello of the broker as the peer of a socket whose hello is `ours` ([`counterpart`]).
pub(crate) fn broker_hello(ours: &Hello) -> Hello {
    Hello::new(counterpart(ours.socket_type))
}

/// A publication is `[topic]` or `[topic, body]`: `what` names the broker's message.
pub(crate) fn check_publication(
    what: &str,
    socket_type: SocketType,
    msg: &Multipart,
) -> std::result::Result<(), String> {
    if matches!(socket_type, SocketType::Pub | SocketType::XPub) && !(1..=2).contains(&msg.len()) {
        return Err(format!(
            "{what} is [topic, body]; this message has {} frames",
            msg.len()
        ));
    }
    Ok(())
}

/// The frames of a multipart message, concatenated into one broker payload, and the lengths
/// that split it again (`"5,0,12"`), carried in a header beside it.
pub(crate) fn join_frames(frames: &[Bytes]) -> (String, Bytes) {
    let lengths: Vec<String> = frames.iter().map(|f| f.len().to_string()).collect();
    let mut payload = BytesMut::with_capacity(frames.iter().map(Bytes::len).sum());
    for frame in frames {
        payload.extend_from_slice(frame);
    }
    (lengths.join(","), payload.freeze())
}

/// The frames `payload` holds by the `lengths` header `header` carried (slices of it, not
/// copies); why not, when the header is malformed or does not add up to the payload's length.
pub(crate) fn split_frames(
    header: &str,
    lengths: &str,
    payload: Bytes,
) -> std::result::Result<Multipart, String> {
    let mut frames = Multipart::new();
    let mut at = 0usize;
    for length in lengths.split(',') {
        let n: usize = length
            .trim()
            .parse()
            .map_err(|_| format!("{header}: {lengths:?} is not a list of lengths"))?;
        let end = at
            .checked_add(n)
            .filter(|end| *end <= payload.len())
            .ok_or_else(|| {
                format!(
                    "{header}: {lengths:?} is longer than the payload ({} bytes)",
                    payload.len()
                )
            })?;
        frames.push(payload.slice(at..end));
        at = end;
    }
    if at != payload.len() {
        return Err(format!(
            "{header}: {lengths:?} is shorter than the payload ({} bytes)",
            payload.len()
        ));
    }
    Ok(frames)
}

/// A REQ's message split into its envelope (the frames up to and including the first empty
/// one: the delimiter, and with `req_correlate` the request id before it), which stays with
/// the requester, and the body, which travels.
pub(crate) fn split_envelope(msg: &Multipart) -> (Vec<Bytes>, Vec<Bytes>) {
    let frames = msg.frames();
    let at = frames.iter().position(Bytes::is_empty).map_or(0, |i| i + 1);
    (frames[..at].to_vec(), frames[at..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_join_and_split_and_malformed_lengths_are_refused() {
        let frames = [Bytes::from("a"), Bytes::new(), Bytes::from("bcd")];
        let (lengths, payload) = join_frames(&frames);
        assert_eq!((lengths.as_str(), &payload[..]), ("1,0,3", &b"abcd"[..]));
        assert_eq!(
            split_frames("h", &lengths, payload.clone())
                .unwrap()
                .frames(),
            &frames
        );
        for bad in ["", "1,x", "5", "1,1", "-1,5", "2,18446744073709551615"] {
            assert!(split_frames("h", bad, payload.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn envelopes_end_at_the_first_empty_frame() {
        let msg = Multipart::from(["id", "", "a", "", "b"]);
        let (envelope, body) = split_envelope(&msg);
        assert_eq!(envelope, [Bytes::from("id"), Bytes::new()]);
        assert_eq!(body, [Bytes::from("a"), Bytes::new(), Bytes::from("b")]);
        let (envelope, body) = split_envelope(&Multipart::from(["x"]));
        assert!(envelope.is_empty() && body.len() == 1);
    }
}
