//! actormq: ZeroMQ-compatible, brokerless messaging for Rust, built on actix actors.
//!
//! A [`Socket`] of a [`SocketType`] binds and connects [`Endpoint`]s and sends and receives
//! [`Multipart`] messages. On `tcp://` it speaks ZMTP 3.1, so any libzmq program is a peer.
//! Behind each socket are actix actors: a socket actor hosting the pattern (PUB, SUB, PUSH,
//! PULL, ...), one connection actor per peer, one listener actor per bound endpoint.
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
mod options;
pub mod proxy;
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
