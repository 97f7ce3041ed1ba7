//! The engine behind every [`crate::Socket`]: actors, queues and links. Crate-private.
//!
//! The files are layered: each uses only files declared above it here (a test,
//! `framework/tests/engine_layers.rs`, fails if one reaches down the list). Actors do not hold
//! one another's addresses across that order; a connection holds `Recipient`s of the messages it
//! sends, and a queue only `Wake` callbacks.
//!
//! | file | holds |
//! |---|---|
//! | `pack` | how runs of small messages cross between threads in one buffer (inproc) |
//! | `queues/` | the bounded queues of the hot path (send, ready, per-peer in and out) |
//! | `counters` | a socket's connection counters (from its events) and departed peers' totals |
//! | `ctx` | what a socket's actors share: `SocketInfo` (type, options, events, span), `Shared` (queues) |
//! | `registry` | every live socket of the process, for metrics |
//! | `messages` | every actor message, by the actor that handles it |
//! | `connection/` | the connection actor: connect loop, ZMTP stream sessions, message-link sessions |
//! | `listener` | the listener actor: accepts on one bound endpoint |
//! | `socket/` | the socket actor: routing, pumping, peers, closing |

// 1. small messages packed for another thread
pub(crate) mod pack;

// 2. the bounded queues of the hot path
pub(crate) mod queues;

// 3. what a socket counts of its connections (for metrics)
pub(crate) mod counters;

// 4. what a socket's actors share
pub(crate) mod ctx;

// 5. every socket of the process (for metrics)
pub(crate) mod registry;

// 6. actor messages
pub(crate) mod messages;

// 7. the connection actor
pub(crate) mod connection;

// 8. the listener actor
pub(crate) mod listener;

// 9. the socket actor
pub(crate) mod socket;
