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
//! let mut push = for_type(SocketType::Push, &Default::default());
//! let mut out = Outbox::default();
//! push.peer_joined(Peer::new(1, SocketType::Pull), &mut out).unwrap();
//! push.peer_joined(Peer::new(2, SocketType::Pull), &mut out).unwrap();
//! for _ in 0..4 {
//!     assert!(matches!(push.send(Multipart::from("task"), &|_| true, &mut out), SendOutcome::Sent));
//! }
//! let targets: Vec<u64> = out.drain().map(|(peer, _)| peer).collect();
//! assert_eq!(targets, [1, 2, 1, 2]);
//! ```
#![warn(missing_debug_implementations)]

use actormq_transports::{Frame, Multipart, SocketType};
use bytes::Bytes;

mod dealer;
mod dgram;
mod envelope;
mod fair;
mod ids;
mod pair;
mod r#pub;
mod pull;
mod push;
mod rep;
mod req;
mod router;
mod stream;
mod sub;
mod subscriptions;
mod turn;
mod xpub;
mod xsub;

pub use dealer::Dealer;
pub use dgram::Dgram;
pub use envelope::split_envelope;
pub use fair::FairQueue;
pub use pair::Pair;
pub use pull::Pull;
pub use push::Push;
pub use r#pub::Pub;
pub use rep::Rep;
pub use req::Req;
pub use router::Router;
pub use stream::Stream;
pub use sub::Sub;
pub use subscriptions::{SharedSubscriptions, Subscriptions};
pub use turn::Turn;
pub use xpub::XPub;
pub use xsub::XSub;

/// The subscription frame codec (`0x01topic` / `0x00topic`), re-exported from
/// [`actormq_transports::subscription`] where the ZMTP session uses it too.
pub use actormq_transports::subscription::{cancel_message, parse_subscription, subscribe_message};

/// The default of [`PatternOptions::max_subscriptions`].
pub const DEFAULT_MAX_SUBSCRIPTIONS: usize = 10_000;

/// The default of [`PatternOptions::max_subscription_bytes`] (1 MiB).
pub const DEFAULT_MAX_SUBSCRIPTION_BYTES: usize = 1 << 20;

/// Options that change a pattern's behaviour, named after libzmq's socket options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternOptions {
    /// REQ: allow a new request before the reply to the last one (`ZMQ_REQ_RELAXED`); the
    /// earlier request is abandoned and its reply, if it comes, is dropped.
    pub req_relaxed: bool,
    /// REQ: put a request id in front of each request and accept only the reply that carries
    /// it back (`ZMQ_REQ_CORRELATE`).
    pub req_correlate: bool,
    /// ROUTER: a message to an unknown or full peer is an error instead of silently dropped
    /// (`ZMQ_ROUTER_MANDATORY`).
    pub router_mandatory: bool,
    /// ROUTER: a new peer with a routing id already in use takes it over, instead of being
    /// refused (`ZMQ_ROUTER_HANDOVER`).
    pub router_handover: bool,
    /// XPUB: pass every subscription to the application, not only the first for a topic
    /// (`ZMQ_XPUB_VERBOSE`).
    pub xpub_verbose: bool,
    /// PUB/XPUB: a message whose matching subscribers are not all below their high-water mark
    /// waits ([`SendOutcome::Wait`]) instead of being dropped for the full ones
    /// (`ZMQ_XPUB_NODROP`); it then goes to all of them at once.
    pub xpub_nodrop: bool,
    /// PUB/XPUB: how many distinct subscriptions one peer may hold (default
    /// [`DEFAULT_MAX_SUBSCRIPTIONS`], 10 000). libzmq has no such limit; a peer's
    /// subscriptions beyond it are refused: not stored, not delivered to an XPUB
    /// application, and logged once per peer (see [`XPub`]).
    pub max_subscriptions: usize,
    /// PUB/XPUB: how many bytes of topic prefixes one peer's subscriptions may hold in total
    /// (default [`DEFAULT_MAX_SUBSCRIPTION_BYTES`], 1 MiB); beyond it, as for
    /// `max_subscriptions`. With both limits a peer's subscriptions cost at most about
    /// 1 MiB of prefixes plus their trie nodes, whatever it sends.
    pub max_subscription_bytes: usize,
}

impl Default for PatternOptions {
    fn default() -> Self {
        PatternOptions {
            req_relaxed: false,
            req_correlate: false,
            router_mandatory: false,
            router_handover: false,
            xpub_verbose: false,
            xpub_nodrop: false,
            max_subscriptions: DEFAULT_MAX_SUBSCRIPTIONS,
            max_subscription_bytes: DEFAULT_MAX_SUBSCRIPTION_BYTES,
        }
    }
}

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
    /// subscriptions), or refuse it with a reason (a second PAIR peer, a ROUTER peer whose
    /// routing id is taken); a refused peer is disconnected.
    fn peer_joined(&mut self, peer: Peer, out: &mut Outbox) -> Result<(), String>;

    /// A peer is gone; forget it. Returns messages for the application, if any (XPUB tells it
    /// of subscriptions that no peer holds any more).
    fn peer_left(&mut self, peer: PeerId) -> Vec<Multipart>;

    /// Routes an application message: queue it to peers in `out`, or say why not.
    fn send(&mut self, msg: Multipart, room: &dyn Capacity, out: &mut Outbox) -> SendOutcome;

    /// An inbound message from `peer`: returns what the application should receive, if
    /// anything (PUB consumes subscriptions; SUB filters by its subscriptions).
    fn recv(&mut self, peer: PeerId, msg: Multipart, out: &mut Outbox) -> Option<Multipart>;

    /// The one peer that every application message goes to, unchanged, as things stand (a
    /// PUSH, DEALER or PAIR with a single peer): the socket may then move whole batches to
    /// that peer without asking [`Pattern::send`] message by message. Default: none.
    fn sole_route(&self) -> Option<PeerId> {
        None
    }

    /// How many copies of messages this pattern dropped for a peer without room since it was
    /// last asked (PUB/XPUB: one per matching subscriber at its high-water mark; XSUB: one per
    /// publisher an upstream message did not reach), and starts counting again. Default: none.
    fn take_dropped(&mut self) -> u64 {
        0
    }

    /// Whether every inbound message reaches the application unchanged, from any peer, with no
    /// state kept ([`Pattern::recv`] returns `Some(msg)`: PULL, DEALER, PAIR): the socket may
    /// then hand messages over in batches without asking message by message. Default: no.
    fn passes_inbound(&self) -> bool {
        false
    }

    /// The subscriptions this pattern filters inbound messages by, when that is all its
    /// [`Pattern::recv`] does (SUB, XSUB: it returns a message unchanged when they match its
    /// topic, and drops it otherwise): a socket with a single peer may then let the receiving
    /// application take that peer's messages and filter them itself. Default: none.
    fn inbound_filter(&self) -> Option<SharedSubscriptions> {
        None
    }

    /// Whether inbound messages change where the socket's messages go (PUB and XPUB:
    /// subscriptions), so that the socket must hand every one to [`Pattern::recv`] as it
    /// arrives, even while the application does not read; only what `recv` returns for the
    /// application then waits (in a bounded queue). Default: no.
    fn applies_inbound(&self) -> bool {
        false
    }

    /// Whether the socket should take the next inbound message from `peer` now (REQ only
    /// listens to the peer it asked). Default: yes.
    fn accepts_from(&self, _peer: PeerId) -> bool {
        true
    }

    /// Hands the send/receive alternation over to the host (REQ), which from then on checks it
    /// where the application calls (see [`Turn`]); the pattern no longer checks or advances it.
    /// `None` for a type without a turn of its own (all but REQ), or once taken. Default: none.
    fn take_turn(&mut self) -> Option<Turn> {
        None
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

/// Builds the pattern of a socket type.
pub fn for_type(socket_type: SocketType, options: &PatternOptions) -> Box<dyn Pattern> {
    match socket_type {
        SocketType::Pub => Box::new(
            Pub::with_limits(options.max_subscriptions, options.max_subscription_bytes)
                .with_nodrop(options.xpub_nodrop),
        ),
        SocketType::Sub => Box::new(Sub::default()),
        SocketType::XPub => Box::new(
            XPub::new(options.xpub_verbose)
                .with_limits(options.max_subscriptions, options.max_subscription_bytes)
                .with_nodrop(options.xpub_nodrop),
        ),
        SocketType::XSub => Box::new(XSub::default()),
        SocketType::Push => Box::new(Push::default()),
        SocketType::Pull => Box::new(Pull),
        SocketType::Req => Box::new(Req::new(options.req_relaxed, options.req_correlate)),
        SocketType::Rep => Box::new(Rep::default()),
        SocketType::Dealer => Box::new(Dealer::default()),
        SocketType::Router => Box::new(Router::new(
            options.router_mandatory,
            options.router_handover,
        )),
        SocketType::Pair => Box::new(Pair::default()),
        SocketType::Stream => Box::new(Stream::default()),
        SocketType::Dgram => Box::new(Dgram::default()),
    }
}
