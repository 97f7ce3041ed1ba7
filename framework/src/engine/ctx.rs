//! What a socket's actors share: its type, options, event channel and tracing span
//! ([`SocketInfo`]), and the queues between the application's handle and the socket actor
//! ([`Shared`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use actormq_patterns::{PeerId, SharedSubscriptions};
use actormq_transports::{Multipart, SocketType};
use rustc_hash::FxHashMap;
use tokio::sync::broadcast;

use crate::engine::counters::Counters;
use crate::engine::queues::peer_in::PeerIn;
use crate::engine::queues::recv::RecvQueue;
use crate::engine::queues::send::SendQueue;
use crate::engine::queues::taken::TakenHooks;
use crate::event::SocketEvent;
use crate::SocketOptions;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A process-unique id for a socket or a connection.
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// What the socket's actors share: its type, options and event channel.
pub(crate) struct SocketInfo {
    /// The socket's process-unique id (also in its tracing span).
    pub(crate) id: u64,
    pub(crate) socket_type: SocketType,
    pub(crate) options: SocketOptions,
    /// Monitors' channel ([`crate::Socket::monitor`]).
    pub(crate) events: broadcast::Sender<SocketEvent>,
    /// The `socket` tracing span (type, id): parent of every connection span.
    pub(crate) span: tracing::Span,
    /// Messages this socket gave up on ([`crate::Socket::undelivered`]).
    pub(crate) dropped: AtomicU64,
    /// Messages for the application dropped unread ([`crate::Socket::dropped_unread`]).
    pub(crate) dropped_unread: AtomicU64,
    /// Messages that arrived and a link dropped before the socket had them
    /// ([`crate::Socket::discarded`]).
    pub(crate) discarded: AtomicU64,
    /// Links told when the application takes their messages (a durable broker's queue).
    pub(crate) taken: TakenHooks,
    /// Copies dropped at a peer's high-water mark (part of `dropped`).
    pub(crate) dropped_hwm: AtomicU64,
    /// Connection counters, endpoints and name, for metrics.
    pub(crate) counters: Counters,
}

impl SocketInfo {
    /// Counts `n` copies a pattern dropped for a full peer (PUB/XPUB at a subscriber's
    /// high-water mark, XSUB toward a full publisher): the pattern's policy, so only at debug.
    pub(crate) fn dropped_by_policy(&self, n: u64) {
        if n > 0 {
            self.dropped.fetch_add(n, Ordering::Relaxed);
            self.dropped_hwm.fetch_add(n, Ordering::Relaxed);
            tracing::debug!(copies = n, "dropped for peers at their high-water mark");
        }
    }

    /// Counts `n` messages given up on, and says so (unless `n` is 0).
    pub(crate) fn dropped(&self, n: usize, why: &str) {
        self.count_and_warn(&self.dropped, n, why);
    }

    /// Counts `n` messages a link dropped on arrival, and says why (unless `n` is 0).
    pub(crate) fn discarded(&self, n: usize, why: &str) {
        self.count_and_warn(&self.discarded, n, why);
    }

    /// Adds `n` to `counter` and logs `why` as a warning in the socket's span (unless `n` is 0).
    fn count_and_warn(&self, counter: &AtomicU64, n: usize, why: &str) {
        if n == 0 {
            return;
        }
        counter.fetch_add(n as u64, Ordering::Relaxed);
        let _entered = tracing::Span::current()
            .is_none()
            .then(|| self.span.enter());
        tracing::warn!(messages = n, "{why}");
    }

    /// Publishes an event to monitors and to `tracing`.
    pub(crate) fn emit(&self, event: SocketEvent) {
        // Inside a connection's span the event is already in the socket's; elsewhere enter it.
        let _entered = tracing::Span::current()
            .is_none()
            .then(|| self.span.enter());
        match &event {
            SocketEvent::Listening { endpoint } => tracing::info!(%endpoint, "listening"),
            SocketEvent::Accepted { endpoint, peer } => {
                tracing::info!(%endpoint, %peer, "accepted")
            }
            SocketEvent::Connected { endpoint, peer } => {
                tracing::info!(%endpoint, %peer, "connected")
            }
            SocketEvent::ConnectRetried {
                endpoint,
                error,
                delay,
            } => {
                tracing::debug!(%endpoint, %error, ?delay, "connect failed, will retry")
            }
            SocketEvent::HandshakeSucceeded {
                peer,
                peer_type,
                user_id,
            } => {
                tracing::debug!(%peer, %peer_type, ?user_id, "handshake done")
            }
            SocketEvent::AuthenticationFailed {
                peer,
                mechanism,
                reason,
            } => {
                tracing::warn!(%peer, mechanism, %reason, "peer refused by the authenticator")
            }
            SocketEvent::Disconnected { peer, reason } => {
                if reason.is_protocol_failure() {
                    tracing::warn!(%peer, %reason, "connection dropped")
                } else {
                    tracing::info!(%peer, %reason, "disconnected")
                }
            }
            SocketEvent::Closed => tracing::debug!("socket closed"),
        }
        self.counters.count(&event);
        let _ = self.events.send(event);
    }
}

/// The queues the application's handle shares with the actor.
pub(crate) struct Shared {
    pub(crate) send: SendQueue,
    pub(crate) recv: RecvQueue,
    /// Each live peer's address and authenticated identity, for `recv_from`.
    pub(crate) addresses: Mutex<FxHashMap<PeerId, crate::peer_label::PeerLabel>>,
    /// The only peer, when its messages reach the application unchanged
    /// ([`actormq_patterns::Pattern::passes_inbound`]) or filtered by subscriptions alone
    /// ([`actormq_patterns::Pattern::inbound_filter`]): a receiving application whose ready
    /// queue ran dry takes from it directly, without waiting for the actor to pump.
    pub(crate) inlet: Mutex<Option<Inlet>>,
    /// Each live peer's queues and description, for metrics.
    pub(crate) peers: Mutex<FxHashMap<PeerId, PeerView>>,
}

/// A live peer as metrics see it.
pub(crate) struct PeerView {
    pub(crate) address: Arc<str>,
    pub(crate) peer_type: SocketType,
    pub(crate) since: std::time::Instant,
    pub(crate) inq: Arc<PeerIn>,
    pub(crate) out: Arc<crate::engine::queues::peer_out::PeerOut>,
}

/// The only peer's inbound queue, opened to the receiving application.
pub(crate) struct Inlet {
    pub(crate) id: PeerId,
    pub(crate) inq: Arc<PeerIn>,
    /// Only messages whose topic these match are for the application (SUB); the others are
    /// dropped as the pattern would drop them.
    pub(crate) filter: Option<SharedSubscriptions>,
}

impl Shared {
    /// Refills the ready queue from the inlet: `None` when there is none, else whether that
    /// filled the queue.
    /// With an inlet and nothing ready, moves up to `max` of the peer's messages straight to
    /// the receiving application (see [`RecvQueue::take_direct`]); how many.
    pub(crate) fn take_direct(
        &self,
        rcvhwm: usize,
        max: usize,
        into: impl FnMut(PeerId, Multipart),
    ) -> usize {
        let inlet = self.inlet.lock().unwrap_or_else(|e| e.into_inner());
        let Some(inlet) = inlet.as_ref() else {
            return 0;
        };
        self.recv.take_direct(
            inlet.id,
            &inlet.inq,
            rcvhwm,
            inlet.filter.as_ref(),
            max,
            into,
        )
    }

    pub(crate) fn refill(&self, rcvhwm: usize) -> Option<bool> {
        let inlet = self.inlet.lock().unwrap_or_else(|e| e.into_inner());
        let inlet = inlet.as_ref()?;
        Some(
            self.recv
                .refill_from(inlet.id, &inlet.inq, rcvhwm, inlet.filter.as_ref()),
        )
    }
}
