//! Where a message goes: ZeroMQ's socket patterns as sans-IO state machines.
//!
//! A [`Pattern`] is told of peers joining and leaving and of inbound messages, and decides the
//! targets of outbound ones. It does no I/O and owns no queue of its own: the socket that hosts
//! it keeps one bounded queue per peer and answers [`Capacity::has_room`]. Each socket type is one
//! file; [`for_type`] builds the pattern of a [`SocketType`].
//!
//! ```
//! use actormq_patterns::{for_type, Outbox, Peer, SendOutcome};
//! use actormq_transports::{Multipart, SocketType};
//!
//! let mut push = for_type(SocketType::Push);
//! let mut out = Outbox::default();
//! push.peer_joined(Peer::new(1, SocketType::Pull), &mut out);
//! push.peer_joined(Peer::new(2, SocketType::Pull), &mut out);
//! for _ in 0..4 {
//!     assert!(matches!(push.send(Multipart::from("task"), &|_| true, &mut out), SendOutcome::Sent));
//! }
//! let targets: Vec<u64> = out.drain().map(|(peer, _)| peer).collect();
//! assert_eq!(targets, [1, 2, 1, 2]);
//! ```

use actormq_transports::{Frame, Multipart, SocketType};
use bytes::Bytes;

mod fair;
mod r#pub;
mod pull;
mod push;
mod sub;
mod subscriptions;

pub use fair::FairQueue;
pub use pull::Pull;
pub use push::Push;
pub use r#pub::Pub;
pub use sub::Sub;
pub use subscriptions::Subscriptions;

/// Identifies one live connection of a socket.
pub type PeerId = u64;

/// A peer as the pattern sees it after the handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The connection's id, unique within the process.
    pub id: PeerId,
    /// The peer's socket type.
    pub socket_type: SocketType,
    /// The identity the peer announced (empty for none).
    pub identity: Bytes,
}

impl Peer {
    /// A peer with no identity.
    pub fn new(id: PeerId, socket_type: SocketType) -> Self {
        Peer {
            id,
            socket_type,
            identity: Bytes::new(),
        }
    }
}

/// Whether a peer's outbound queue has room (below its high-water mark).
pub trait Capacity {
    /// True when a message can be queued to `peer` now.
    fn has_room(&self, peer: PeerId) -> bool;
}

impl<F: Fn(PeerId) -> bool> Capacity for F {
    fn has_room(&self, peer: PeerId) -> bool {
        self(peer)
    }
}

/// Messages the pattern wants sent, each to one peer. The socket drains it after every call.
/// Messages a pattern emits itself (subscriptions) are queued even past the high-water mark.
#[derive(Debug, Default)]
pub struct Outbox(Vec<(PeerId, Multipart)>);

impl Outbox {
    /// Queues `msg` for `peer`.
    pub fn push(&mut self, peer: PeerId, msg: Multipart) {
        self.0.push((peer, msg));
    }

    /// Takes everything queued, in order.
    pub fn drain(&mut self) -> std::vec::Drain<'_, (PeerId, Multipart)> {
        self.0.drain(..)
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What became of an application's outbound message.
#[derive(Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// Queued to one or more peers (in the [`Outbox`]).
    Sent,
    /// Dropped by the pattern's policy (PUB with no matching subscriber with room).
    Dropped,
    /// No peer can take it now: the socket keeps it and tries again when a peer has room or
    /// joins (PUSH, DEALER: a send waits when the socket's own queue is full).
    Wait(Multipart),
    /// This socket type cannot send this message; the reason goes back to the application.
    Refused(Multipart, String),
}

/// A socket pattern: the routing rules of one socket type.
pub trait Pattern: Send + 'static {
    /// The socket type it implements.
    fn socket_type(&self) -> SocketType;

    /// A peer completed its handshake. The pattern may queue messages to it (SUB sends its
    /// subscriptions).
    fn peer_joined(&mut self, peer: Peer, out: &mut Outbox);

    /// A peer is gone; forget it.
    fn peer_left(&mut self, peer: PeerId);

    /// Routes an application message: queue it to peers in `out`, or say why not.
    fn send(&mut self, msg: Multipart, room: &dyn Capacity, out: &mut Outbox) -> SendOutcome;

    /// An inbound message from `peer`: returns what the application should receive, if
    /// anything (PUB consumes subscriptions; SUB filters by its subscriptions).
    fn recv(&mut self, peer: PeerId, msg: Multipart, out: &mut Outbox) -> Option<Multipart>;

    /// Whether the socket should take the next inbound message from `peer` now (REQ only
    /// listens to the peer it asked). Default: yes.
    fn accepts_from(&self, _peer: PeerId) -> bool {
        true
    }

    /// Subscribes to a topic prefix (SUB, XSUB). Default: not supported by this type.
    fn subscribe(&mut self, _topic: Frame, _out: &mut Outbox) -> Result<(), String> {
        Err(format!(
            "{} sockets do not subscribe (only SUB and XSUB do)",
            self.socket_type()
        ))
    }

    /// Cancels one subscription to a topic prefix (SUB, XSUB).
    fn unsubscribe(&mut self, _topic: Frame, _out: &mut Outbox) -> Result<(), String> {
        Err(format!(
            "{} sockets do not subscribe (only SUB and XSUB do)",
            self.socket_type()
        ))
    }
}

/// The subscription message of ZMTP 3.0 (and the form XPUB users see): `0x01topic`.
pub fn subscribe_message(topic: &[u8]) -> Multipart {
    let mut v = Vec::with_capacity(topic.len() + 1);
    v.push(1u8);
    v.extend_from_slice(topic);
    Multipart::from(v)
}

/// The cancellation message: `0x00topic`.
pub fn cancel_message(topic: &[u8]) -> Multipart {
    let mut v = Vec::with_capacity(topic.len() + 1);
    v.push(0u8);
    v.extend_from_slice(topic);
    Multipart::from(v)
}

/// Builds the pattern of a socket type. Types not implemented yet (see [`is_supported`]) get a
/// stand-in that refuses every send and drops every receive; the framework refuses to create
/// sockets of those types before it gets here.
pub fn for_type(socket_type: SocketType) -> Box<dyn Pattern> {
    match socket_type {
        SocketType::Pub => Box::new(Pub::default()),
        SocketType::Sub => Box::new(Sub::default()),
        SocketType::Push => Box::new(Push::default()),
        SocketType::Pull => Box::new(Pull),
        other => Box::new(Unsupported(other)),
    }
}

/// Whether this crate implements the pattern of a socket type yet.
pub fn is_supported(socket_type: SocketType) -> bool {
    matches!(
        socket_type,
        SocketType::Pub | SocketType::Sub | SocketType::Push | SocketType::Pull
    )
}

/// Stands in for a type not implemented yet: refuses every send, drops every receive.
struct Unsupported(SocketType);

impl Pattern for Unsupported {
    fn socket_type(&self) -> SocketType {
        self.0
    }
    fn peer_joined(&mut self, _peer: Peer, _out: &mut Outbox) {}
    fn peer_left(&mut self, _peer: PeerId) {}
    fn send(&mut self, msg: Multipart, _room: &dyn Capacity, _out: &mut Outbox) -> SendOutcome {
        SendOutcome::Refused(msg, format!("{} sockets are not implemented yet", self.0))
    }
    fn recv(&mut self, _peer: PeerId, _msg: Multipart, _out: &mut Outbox) -> Option<Multipart> {
        None
    }
}
