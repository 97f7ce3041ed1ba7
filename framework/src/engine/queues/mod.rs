//! The bounded queues of the hot path.
//!
//! An actor message per frame would cap throughput (a mailbox push and a wake-up each), so
//! messages move between the application, the socket actor and the connections through shared
//! bounded queues that the receiving side drains in batches; an actor message is sent only when
//! a queue turns non-empty (one wake-up per batch). Each queue has one consumer.
//!
//! ```text
//!  application ──SendQueue──▶ socket actor ──PeerOut──▶ connection ──▶ wire
//!  application ◀──RecvQueue── socket actor ◀──PeerIn─── connection ◀── wire
//! ```
//!
//! Files, each using only those above it: `lock`, `compact`, `counts` (messages and bytes that
//! passed, for metrics), `owned` (a value only the socket actor's thread touches), `peer_in`,
//! `peer_out`, `send` (two lanes: the actor's own thread's, without a lock, and the others'),
//! `recv`, `taken` (acknowledgements back to the links that asked for them).

pub(crate) mod compact;
pub(crate) mod counts;
pub(crate) mod lock;
pub(crate) mod owned;
pub(crate) mod peer_in;
pub(crate) mod peer_out;
pub(crate) mod recv;
pub(crate) mod send;
pub(crate) mod taken;
