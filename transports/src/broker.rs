//! What the broker transports (`redis://`, `nats://`) share: which sockets may use them, the
//! hello that stands for the broker, and the shape of a publication.

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
