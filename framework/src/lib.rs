//! actormq: ZeroMQ-compatible, brokerless messaging for Rust, built on actix actors.
//!
//! A [`Socket`] of a [`SocketType`] binds and connects [`Endpoint`]s and sends and receives
//! [`Multipart`] messages. On `tcp://` and `ipc://` it speaks ZMTP 3.1, so any libzmq program
//! is a peer. Behind each socket are actix actors: a socket actor hosting the pattern (PUB,
//! SUB, PUSH, PULL, ...), one connection actor per peer, one listener actor per bound endpoint.
//!
//! # The path of one message
//!
//! ```text
//!  sender                                         receiver
//!  (1) Socket::send                               (9) Socket::recv / stream / typed handler
//!   │                                              ▲
//!  (2) SendQueue                                  (8) RecvQueue
//!   │                                              ▲
//!  (3) socket actor: Pattern::send                (7) socket actor: fair queue, Pattern::recv
//!   │                                              ▲
//!  (4) PeerOut, one per peer                      (6) PeerIn, one per peer
//!   │                                              ▲
//!  (5) connection: Session::encode_message ─wire─▶ connection: Session::handle_input
//! ```
//!
//! 1. [`Socket::send`] (or [`typed::Publisher::publish`]) puts the message in the socket's send
//!    queue, `sndhwm` deep.
//! 2. `framework/src/engine/queues/send.rs`: the socket actor takes the queue in batches; one
//!    actor message per batch, never one per message.
//! 3. `framework/src/engine/socket/route.rs`: the socket type's [`patterns::Pattern`] picks
//!    the peers that have room, or drops, or makes the sender wait.
//! 4. `framework/src/engine/queues/peer_out.rs`: each peer's outbound queue, `sndhwm` deep.
//! 5. `framework/src/engine/connection/stream.rs`: the connection encodes the batch with the
//!    sans-IO [`transports::zmtp::Session`] into one buffer and writes it to the
//!    [`transports::Link::Stream`] a [`transports::Transport`] yielded. On the far side it
//!    feeds the bytes to [`transports::zmtp::Session::handle_input`], which answers
//!    heartbeats itself and yields whole messages. Over a message-level link
//!    ([`transports::Link::Messages`]: `inproc://`, `udp://`, a user's own) the peer's queue
//!    hands each batch to the link's [`transports::Outbox`] instead
//!    (`framework/src/engine/connection/message.rs`), and the link delivers into step 6; over
//!    `inproc://` the outbox *is* the other socket's inbound queue.
//! 6. `framework/src/engine/queues/peer_in.rs`: each peer's inbound queue, `rcvhwm` deep
//!    (reading pauses there).
//! 7. `framework/src/engine/socket/pump.rs`: the socket actor fair-queues across peers
//!    ([`patterns::FairQueue`]), and the pattern filters ([`patterns::Pattern::recv`]).
//! 8. `framework/src/engine/queues/recv.rs`: the messages ready for the application.
//! 9. [`Socket::recv`], [`Socket::stream`] (for an actor's `StreamHandler`), or
//!    [`typed::Subscriber`].
//!
//! `ARCHITECTURE.md`, at the repository root, covers the rest: the crates, the engine's
//! layers, which actor runs where, the invariants, and where to start a change.
//!
//! # Example
//!
//! ```
//! use actormq::{Socket, SocketType};
//!
//! # actix::System::new().block_on(async {
//! let pull = Socket::new(SocketType::Pull)?;
//! let endpoint = pull.bind("tcp://127.0.0.1:0").await?;
//! let push = Socket::new(SocketType::Push)?;
//! push.connect(&endpoint).await?;
//! push.send(["task", "42"]).await?;
//! let task = pull.recv().await?;
//! assert_eq!(task.frames()[1], "42");
//! # Ok::<(), actormq::Error>(())
//! # }).unwrap();
//! ```
#![warn(missing_debug_implementations)]

mod engine;
mod error;
mod event;
pub mod graph;
pub mod metrics;
pub mod monitor;
mod options;
mod peer_label;
pub mod proxy;
pub mod security;
mod socket;
pub mod typed;
mod typed_socket;

pub use actormq_macros::{Publisher, Responder, Subscriber, Topic, Worker};
pub use actormq_patterns as patterns;
pub use actormq_transports as transports;
pub use actormq_transports::{parse_endpoint_list, Attach, Endpoint, Frame, Multipart, SocketType};
pub use error::{Error, Result};
pub use event::{DisconnectReason, SocketEvent};
pub use options::{OptionDef, OptionError, SocketOptions, DEFAULT_MAXMSGSIZE, OPTIONS};
pub use peer_label::PeerLabel;
pub use proxy::{proxy, Device, Proxy};
pub use socket::{Socket, SocketSink};
pub use typed::{Publisher, Received, Subscriber, Topic};
pub use typed_socket::{
    kind, DealerSocket, PairSocket, PubSocket, PullSocket, PushSocket, RepSocket, ReqSocket,
    RouterSocket, SubSocket, TypedSocket, XPubSocket, XSubSocket,
};

/// What the derive macros' generated code uses; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use actix;
    pub use serde;
    pub use tracing;
}
