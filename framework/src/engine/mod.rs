//! The engine behind every [`crate::Socket`]: actors, queues and links. Crate-private.
//!
//! The files are layered: each uses only files declared above it here (a test,
//! `framework/tests/engine_layers.rs`, fails if one reaches down the list). Actors do not hold
//! one another's addresses across that order; a queue or a connection holds `Recipient`s of the
//! messages it sends.
//!
//! | file | holds |
//! |---|---|
//! | `signals` | the two wake-ups queues send: `PeerReadable`, `PeerWritable` |
//! | `pack` | how runs of small messages cross between threads in one buffer (inproc) |
//! | `queues/` | the bounded queues of the hot path (send, ready, per-peer in and out) |
//! | `ctx` | what a socket's actors share: `SocketInfo` (type, options, events, span), `Shared` (queues) |
//! | `messages` | every other actor message, by the actor that handles it |
//! | `connection/` | the connection actor: connect loop, sessions over streams, pipes, datagrams |
//! | `listener` | the listener actor: accepts on one bound endpoint |
//! | `socket/` | the socket actor: routing, pumping, peers, closing |

// 1. the wake-ups queues send
pub(crate) mod signals;

// 2. small messages packed for another thread
pub(crate) mod pack;

// 3. the bounded queues of the hot path
pub(crate) mod queues;

// 4. what a socket's actors share
pub(crate) mod ctx;

// 5. actor messages
pub(crate) mod messages;

// 6. the connection actor
pub(crate) mod connection;

// 7. the listener actor
pub(crate) mod listener;

// 8. the socket actor
pub(crate) mod socket;
