//! The socket actor: hosts one [`Pattern`], owns the per-peer queues, routes what the
//! application sends (`route`), fair-queues what the peers send (`pump`), admits and removes
//! peers (`peers`), and closes in order (`close`).

use std::collections::VecDeque;
use std::sync::Arc;

use actix::prelude::*;
use actormq_patterns::{FairQueue, Outbox, Pattern, PeerId};
use actormq_transports::Multipart;
use rustc_hash::FxHashMap;
use tokio::sync::oneshot;

use crate::engine::connection::{ConnectionActor, Origin, SocketPort};
use crate::engine::ctx::{next_id, Shared, SocketInfo};
use crate::engine::listener::ListenerActor;
use crate::engine::messages::ConnId;
use crate::engine::queues::peer_in::PeerIn;
use crate::engine::queues::peer_out::PeerOut;

mod close;
mod peers;
mod pump;
mod route;

/// One live peer, as the socket actor keeps it.
struct PeerEntry {
    /// Toward the peer (its connection's writer, or an in-process peer's inbound queue).
    out: Arc<PeerOut>,
    /// From the peer.
    inq: Arc<PeerIn>,
    /// Routed in this batch, not yet handed to the writer.
    staged: Vec<Multipart>,
    /// The writer's queue length, read once per routing pass: the counter may live on another
    /// core (an in-process peer's inbound queue), and reading it per message would bounce its
    /// cache line. Between reads the queue only shrinks, so the check stays safe.
    queued: usize,
    /// The pattern found this peer without room in the current routing pass: if messages are
    /// left waiting, this peer is asked to say when it has room (and only such peers are, so
    /// that a peer with room that the waiting message does not go to cannot wake us in a loop).
    found_full: std::cell::Cell<bool>,
}

/// The actor behind a [`crate::Socket`].
pub(crate) struct SocketActor {
    /// The socket's type, options, monitor channel and span (shared with its connections).
    info: Arc<SocketInfo>,
    /// The queues shared with the application's handle.
    shared: Arc<Shared>,
    /// Where messages go and which are delivered: the socket type's behaviour.
    pattern: Box<dyn Pattern>,
    /// Every peer that completed its handshake and was admitted.
    peers: FxHashMap<PeerId, PeerEntry>,
    /// The admitted peers in fair-queueing order, for receiving.
    fair: FairQueue,
    /// Every connection actor, live or reconnecting, by id.
    conns: FxHashMap<ConnId, Addr<ConnectionActor>>,
    /// One actor per bound endpoint.
    listeners: Vec<Addr<ListenerActor>>,
    /// What the pattern routed in the current pass, before it is staged per peer.
    outbox: Outbox,
    /// What the pattern returned for the application while its ready queue was full, when the
    /// pattern must see inbound messages as they arrive ([`Pattern::applies_inbound`]: XPUB's
    /// subscriptions); at most `rcvhwm`, delivered before anything newer.
    held: VecDeque<(PeerId, Multipart)>,
    /// The peers with something in `staged`, to commit at the end of the pass.
    staged_peers: Vec<PeerId>,
    /// `close()` was called (or the last handle dropped): no new sends, binds or connects;
    /// what was queued is still routed.
    closing: bool,
    /// Closing, and the send queue was empty: every connection was told to flush and close.
    told_conns_to_close: bool,
    /// Linger expired (or nothing was left): every connection was aborted; the socket stops
    /// when the last has ended.
    aborting: bool,
    /// Whoever waits in `close()`.
    close_waiters: Vec<oneshot::Sender<()>>,
}

impl SocketActor {
    pub(crate) fn new(
        info: Arc<SocketInfo>,
        shared: Arc<Shared>,
        pattern: Box<dyn Pattern>,
    ) -> Self {
        SocketActor {
            info,
            shared,
            pattern,
            peers: FxHashMap::default(),
            fair: FairQueue::default(),
            conns: FxHashMap::default(),
            listeners: Vec::new(),
            outbox: Outbox::default(),
            held: VecDeque::new(),
            staged_peers: Vec::new(),
            closing: false,
            told_conns_to_close: false,
            aborting: false,
            close_waiters: Vec::new(),
        }
    }

    /// Moves what the pattern queued into the peers' staging areas.
    pub(super) fn stage_outbox(&mut self) {
        let mut drain = self.outbox.drain().peekable();
        while let Some((peer, msg)) = drain.next() {
            let Some(entry) = self.peers.get_mut(&peer) else {
                continue;
            };
            if entry.staged.is_empty() {
                self.staged_peers.push(peer);
            }
            entry.staged.push(msg);
            // what follows for the same peer goes without another lookup
            while let Some((_, msg)) = drain.next_if(|(p, _)| *p == peer) {
                entry.staged.push(msg);
            }
        }
    }

    /// Hands each peer's staged batch to its writer (one lock and one wake-up per peer).
    pub(super) fn commit(&mut self) {
        for id in self.staged_peers.drain(..) {
            if let Some(entry) = self.peers.get_mut(&id) {
                entry.out.push_batch(entry.staged.drain(..));
            }
        }
    }

    /// Starts a connection actor (accepted or connecting).
    pub(super) fn start_connection(&mut self, ctx: &mut Context<Self>, origin: Origin) {
        let id = next_id();
        let conn = ConnectionActor::new(
            id,
            SocketPort::of(&ctx.address()),
            self.info.clone(),
            origin,
        )
        .start();
        self.conns.insert(id, conn);
    }
}

impl Actor for SocketActor {
    type Context = Context<Self>;
}
