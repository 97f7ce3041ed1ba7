//! How frames move: the vocabulary of actormq (frames, messages, socket types, endpoints),
//! the ZMTP 3.1 wire protocol as a sans-IO codec, and the transports that carry it.
//!
//! ```
//! use actormq_transports::{Endpoint, Multipart, SocketType};
//!
//! let ep: Endpoint = "tcp://127.0.0.1:5556".parse().unwrap();
//! assert_eq!(ep.to_string(), "tcp://127.0.0.1:5556");
//! assert!(SocketType::Pub.is_compatible(SocketType::Sub));
//! let msg = Multipart::from(["weather", "sunny"]);
//! assert_eq!(msg.len(), 2);
//! ```
#![warn(missing_debug_implementations)]

#[cfg(any(feature = "redis", feature = "amqp"))]
mod ack;
#[cfg(feature = "amqp")]
pub mod amqp;
#[cfg(any(feature = "redis", feature = "nats", feature = "amqp"))]
mod broker;
pub mod datagram;
mod endpoint;
mod endpoint_list;
mod error;
mod frame;
pub mod link;
#[cfg(feature = "nats")]
pub mod nats;
#[cfg(feature = "redis")]
pub mod redis;
pub mod resp;
mod socket_type;
pub mod subscription;
mod transport;
pub mod zmtp;

#[cfg(feature = "inproc")]
pub mod inproc;
#[cfg(feature = "ipc")]
pub mod ipc;
#[cfg(feature = "tcp")]
pub mod tcp;
#[cfg(feature = "udp")]
pub mod udp;

pub use endpoint::{Endpoint, Host, HostPort};
pub use endpoint_list::{parse_endpoint_list, parse_endpoint_list_as, Attach};
pub use error::{Error, Result};
pub use frame::{Frame, Multipart};
pub use link::{Hello, Inbox, Link, MessageLink, Outbox, Started, Taken, Wake};
pub use socket_type::SocketType;
pub use transport::{
    register_transport, transport_for, BoxFuture, BoxedStream, Listener, Stream, Transport,
    TransportKind,
};
