//! The two wake-ups that queues send to a socket actor, as actor messages of their own: a queue
//! holds a `Recipient` of them, never the socket actor's address, so the queues do not depend
//! on the actor that drains them.

use actix::Message;

/// A peer's inbound queue turned non-empty: the socket actor should pump it.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub(crate) struct PeerReadable;

/// A peer's outbound queue fell below its high-water mark: the socket actor should route
/// what waits.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub(crate) struct PeerWritable;
