//! Every actor message of the engine, by the actor that handles it.
//!
//! - socket actor, from the application's handle: [`Bind`], [`Connect`], [`Flush`],
//!   [`SendNow`], [`Pump`], [`Subscribe`], [`CloseSocket`];
//! - socket actor, from its connections and listeners: [`Accepted`], [`PeerUp`], [`PeerGone`],
//!   [`ConnectionEnded`], and the two wake-ups of the hot path, [`PeerReadable`] and
//!   [`PeerWritable`] (which queues and links send through `Wake` callbacks, so that no queue
//!   names an actor);
//! - connection actor, from its socket: [`Close`], [`Abort`];
//! - listener actor, from its socket: [`StopListening`].

use std::sync::Arc;

use actix::Message;
use actormq_patterns::{Peer, PeerId};
use actormq_transports::{Endpoint, Frame, Link, Multipart};
use tokio::sync::oneshot;

use crate::engine::queues::peer_in::PeerIn;
use crate::engine::queues::peer_out::PeerOut;
use crate::Error;

/// Identifies a connection actor, and the peer of its current session to the pattern.
pub(crate) type ConnId = PeerId;

/// Bind an endpoint; answers the endpoint actually bound.
#[derive(Message)]
#[rtype(result = "Result<Endpoint, Error>")]
pub(crate) struct Bind(pub(crate) Endpoint);

/// Connect to an endpoint (retrying until it is there).
#[derive(Message)]
#[rtype(result = "Result<(), Error>")]
pub(crate) struct Connect(pub(crate) Endpoint);

/// The application queued messages in the send queue, which was empty.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Flush;

/// Route one message now and report whether the pattern refused it (ROUTER with
/// `router_mandatory`, whose errors the application must see).
#[derive(Message)]
#[rtype(result = "Result<(), Error>")]
pub(crate) struct SendNow(pub(crate) Multipart);

/// The application drained the ready queue and peers hold more.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Pump;

/// Subscribe (`on`) or unsubscribe a topic prefix.
#[derive(Message)]
#[rtype(result = "Result<(), Error>")]
pub(crate) struct Subscribe {
    pub(crate) topic: Frame,
    pub(crate) on: bool,
}

/// Close the socket; the sender is told when it is done.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct CloseSocket(pub(crate) Option<oneshot::Sender<()>>);

/// A listener accepted a connection.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Accepted {
    pub(crate) link: Link,
    /// Its place among the listener's `max_connections`, held for the connection's life.
    pub(crate) slot: ConnSlot,
    /// The peer's address, as the transport describes it.
    pub(crate) peer: String,
    /// The bound endpoint it arrived on.
    pub(crate) endpoint: Endpoint,
}

/// One accepted connection's place in its listener's count (`max_connections`): given back
/// when dropped, whether the connection ran and ended or never started.
pub(crate) struct ConnSlot(Arc<std::sync::atomic::AtomicUsize>);

impl ConnSlot {
    /// Takes a place in `count` if it holds fewer than `max`.
    pub(crate) fn take(count: &Arc<std::sync::atomic::AtomicUsize>, max: usize) -> Option<Self> {
        use std::sync::atomic::Ordering;
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| ConnSlot(count.clone()))
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// A connection completed its handshake; the socket may refuse it (a second PAIR peer, a
/// routing id in use), with the reason.
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub(crate) struct PeerUp {
    pub(crate) peer: Peer,
    pub(crate) address: Arc<str>,
    /// Who the authenticator said the peer is.
    pub(crate) user_id: Option<Arc<str>>,
    pub(crate) out: Arc<PeerOut>,
    pub(crate) inq: Arc<PeerIn>,
}

/// A connection's session ended (the connection may reconnect and come up again).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct PeerGone {
    pub(crate) id: ConnId,
}

/// A connection actor stopped for good.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct ConnectionEnded {
    pub(crate) id: ConnId,
}

/// Ask a connection to finish: flush what is queued, then close.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Close;

/// Stop a connection now, dropping what is queued (linger expired).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Abort;

/// Stop accepting and release the endpoint.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct StopListening;

/// A peer's inbound queue turned non-empty: the socket actor should pump it.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub(crate) struct PeerReadable;

/// A peer's outbound queue (or its link's outbox) has room again: the socket actor should
/// route what waits.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub(crate) struct PeerWritable;
