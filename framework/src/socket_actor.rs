//! The socket actor: hosts one [`Pattern`], owns the per-peer queues, routes what the
//! application sends and fair-queues what the peers send.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use actormq_patterns::{FairQueue, Outbox, Pattern, Peer, PeerId, SendOutcome};
use actormq_transports::{transport_for, Endpoint, Frame, Link, Multipart, SocketType};
use rustc_hash::FxHashMap;
use tokio::sync::{broadcast, oneshot};

use crate::connection::{Abort, Close, ConnId, ConnectionActor, Origin};
use crate::event::SocketEvent;
use crate::listener::{ListenerActor, StopListening};
use crate::queues::{Outgoing, PeerIn, PeerOut, RecvQueue, SendQueue, RECV_BATCH};
use crate::{Error, SocketOptions};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A process-unique id for a socket or a connection.
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// What the socket's actors share: its type, options and event channel.
pub(crate) struct SocketCtx {
    pub(crate) socket_type: SocketType,
    pub(crate) options: SocketOptions,
    pub(crate) events: broadcast::Sender<SocketEvent>,
    /// The `socket` tracing span (type, id): parent of every connection span.
    pub(crate) span: tracing::Span,
}

impl SocketCtx {
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
            SocketEvent::HandshakeSucceeded { peer, peer_type } => {
                tracing::debug!(%peer, %peer_type, "handshake done")
            }
            SocketEvent::Disconnected { peer, reason } => {
                if reason.starts_with("protocol error") || reason.starts_with("handshake failed") {
                    tracing::warn!(%peer, %reason, "connection dropped")
                } else {
                    tracing::info!(%peer, %reason, "disconnected")
                }
            }
            SocketEvent::Closed => tracing::debug!("socket closed"),
        }
        let _ = self.events.send(event);
    }
}

/// The queues the application's handle shares with the actor.
pub(crate) struct Shared {
    pub(crate) send: SendQueue,
    pub(crate) recv: RecvQueue,
    /// Each live peer's address, for `recv_from`.
    pub(crate) addresses: std::sync::Mutex<FxHashMap<PeerId, Arc<str>>>,
    /// The only peer, when its messages reach the application unchanged
    /// ([`Pattern::passes_inbound`]): a receiving application whose ready queue ran dry takes
    /// from it directly, without waiting for the actor to pump.
    pub(crate) inlet: std::sync::Mutex<Option<(PeerId, Arc<PeerIn>)>>,
}

impl Shared {
    /// Refills the ready queue from the inlet: `None` when there is none, else whether that
    /// filled the queue.
    pub(crate) fn refill(&self, rcvhwm: usize) -> Option<bool> {
        let inlet = self.inlet.lock().unwrap_or_else(|e| e.into_inner());
        let (id, inq) = inlet.as_ref()?;
        Some(self.recv.refill_from(*id, inq, rcvhwm))
    }
}

struct PeerEntry {
    out: Arc<PeerOut>,
    inq: Arc<PeerIn>,
    /// Routed in this batch, not yet handed to the writer.
    staged: Vec<Outgoing>,
    /// The writer's queue length, read once per routing pass: the counter may live on another
    /// core (an in-process peer's inbound queue), and reading it per message would bounce its
    /// cache line. Between reads the queue only shrinks, so the check stays safe.
    queued: usize,
}

/// Whether a peer can take one more message: its writer's queue (as of this routing pass) plus
/// what this pass staged for it stays under the high-water mark.
fn room_in(peers: &FxHashMap<PeerId, PeerEntry>, hwm: usize) -> impl Fn(PeerId) -> bool + '_ {
    move |p| {
        peers
            .get(&p)
            .is_some_and(|e| e.queued + e.staged.len() < hwm)
    }
}

/// Starts a routing pass: reads every peer's queue length once.
fn snapshot(peers: &mut FxHashMap<PeerId, PeerEntry>) {
    for e in peers.values_mut() {
        e.queued = e.out.len();
    }
}

/// The actor behind a [`crate::Socket`].
pub(crate) struct SocketActor {
    ctx: Arc<SocketCtx>,
    shared: Arc<Shared>,
    pattern: Box<dyn Pattern>,
    peers: FxHashMap<PeerId, PeerEntry>,
    readable: FairQueue,
    conns: FxHashMap<ConnId, Addr<ConnectionActor>>,
    listeners: Vec<Addr<ListenerActor>>,
    outbox: Outbox,
    dirty: Vec<PeerId>,
    closing: bool,
    close_sent: bool,
    close_waiters: Vec<oneshot::Sender<()>>,
}

impl SocketActor {
    pub(crate) fn new(ctx: Arc<SocketCtx>, shared: Arc<Shared>, pattern: Box<dyn Pattern>) -> Self {
        SocketActor {
            ctx,
            shared,
            pattern,
            peers: FxHashMap::default(),
            readable: FairQueue::default(),
            conns: FxHashMap::default(),
            listeners: Vec::new(),
            outbox: Outbox::default(),
            dirty: Vec::new(),
            closing: false,
            close_sent: false,
            close_waiters: Vec::new(),
        }
    }

    /// Moves what the pattern queued into the peers' staging areas.
    fn stage_outbox(&mut self) {
        for (peer, msg) in self.outbox.drain() {
            if let Some(entry) = self.peers.get_mut(&peer) {
                if entry.staged.is_empty() {
                    self.dirty.push(peer);
                }
                entry.staged.push(Outgoing::Message(msg));
            }
        }
    }

    /// Hands each peer's staged batch to its writer (one lock and one wake-up per peer).
    fn commit(&mut self) {
        for id in self.dirty.drain(..) {
            if let Some(entry) = self.peers.get_mut(&id) {
                entry.out.push_batch(entry.staged.drain(..));
            }
        }
    }

    /// Routes what the application queued, as far as the peers have room.
    fn route_pending(&mut self, ctx: &mut Context<Self>) {
        let mut batch = self.shared.send.take_all();
        let hwm = self.ctx.options.sndhwm;
        let waiting = match self.route_whole(&mut batch, hwm) {
            Some(waiting) => waiting,
            None => self.route_each(&mut batch, hwm),
        };
        self.shared.send.give_back(batch);
        if waiting {
            // Ask every full peer to say when it has room; one may have room already (an
            // in-process peer drained while we routed): then route again at once.
            let room_now = self.peers.values().any(|e| e.out.want_room(hwm));
            if room_now {
                ctx.notify(PeerWritable);
            }
        }
        self.try_finish(ctx);
    }

    /// When every message goes to one peer (see [`Pattern::sole_route`]), moves the batch to it
    /// as a whole, as far as it has room. `None` when the pattern must route message by message;
    /// otherwise whether messages are left waiting for room.
    fn route_whole(&mut self, batch: &mut VecDeque<Multipart>, hwm: usize) -> Option<bool> {
        let entry = self.peers.get(&self.pattern.sole_route()?)?;
        if !entry.staged.is_empty() {
            return None;
        }
        entry.out.take_from(batch, hwm);
        Some(!batch.is_empty())
    }

    /// Asks the pattern where each message goes; returns whether messages are left waiting
    /// for room.
    fn route_each(&mut self, batch: &mut VecDeque<Multipart>, hwm: usize) -> bool {
        snapshot(&mut self.peers);
        let mut waiting = false;
        while let Some(msg) = batch.pop_front() {
            let outcome = self
                .pattern
                .send(msg, &room_in(&self.peers, hwm), &mut self.outbox);
            match outcome {
                SendOutcome::Sent | SendOutcome::Dropped => {}
                SendOutcome::Wait(msg) => {
                    batch.push_front(msg);
                    waiting = true;
                    break;
                }
                SendOutcome::Refused(_, reason) => tracing::warn!(%reason, "message refused"),
            }
            self.stage_outbox();
        }
        self.commit();
        waiting
    }

    /// Opens the inlet (see [`Shared::inlet`]) when the socket has one peer whose messages pass
    /// unchanged, and closes it otherwise.
    fn refresh_inlet(&self) {
        let inlet = match (self.peers.iter().next(), self.peers.len()) {
            (Some((&id, entry)), 1) if self.pattern.passes_inbound() => {
                Some((id, entry.inq.clone()))
            }
            _ => None,
        };
        *self.shared.inlet.lock().unwrap_or_else(|e| e.into_inner()) = inlet;
    }

    /// Fair-queues inbound messages into the application's ready queue.
    fn pump(&mut self) {
        loop {
            let full = if let Some(full) = self.shared.refill(self.ctx.options.rcvhwm) {
                full
            } else {
                let room = RECV_BATCH.saturating_sub(self.shared.recv.len());
                let mut ready = Vec::new();
                if self.peers.len() == 1 {
                    self.pump_single(room, &mut ready);
                } else {
                    self.pump_fair(room, &mut ready);
                }
                let full = ready.len() >= room;
                self.shared.recv.push_batch(ready);
                full
            };
            self.stage_outbox();
            self.commit();
            if !full || !self.peers.values().any(|e| e.inq.len() > 0) {
                return;
            }
            self.shared.recv.backlog.store(true, Ordering::Release);
            // The application (maybe on another thread) may have drained the ready queue before
            // it could see the flag: if so, nobody would ask again, so go on pumping now.
            if self.shared.recv.len() > RECV_BATCH / 2
                || !self.shared.recv.backlog.swap(false, Ordering::AcqRel)
            {
                return;
            }
        }
    }

    /// Fair queueing: one message from each peer with messages, in turn.
    fn pump_fair(&mut self, room: usize, ready: &mut Vec<(PeerId, Multipart)>) {
        let rcvhwm = self.ctx.options.rcvhwm;
        while ready.len() < room {
            let peers = &self.peers;
            let pattern = &self.pattern;
            let next = self.readable.next_where(|p| {
                peers.get(&p).is_some_and(|e| e.inq.len() > 0) && pattern.accepts_from(p)
            });
            let Some(id) = next else { break };
            let Some(msg) = self.peers.get(&id).and_then(|e| e.inq.pop(rcvhwm)) else {
                break;
            };
            if let Some(msg) = self.pattern.recv(id, msg, &mut self.outbox) {
                ready.push((id, msg));
            }
        }
    }

    /// One peer: nobody to be fair to, so take its messages in batches, one lock each.
    fn pump_single(&mut self, room: usize, ready: &mut Vec<(PeerId, Multipart)>) {
        let rcvhwm = self.ctx.options.rcvhwm;
        let Some((&id, entry)) = self.peers.iter().next() else {
            return;
        };
        if !self.pattern.accepts_from(id) {
            return;
        }
        let inq = entry.inq.clone();
        let mut batch = Vec::new();
        while ready.len() < room {
            inq.pop_up_to(room - ready.len(), rcvhwm, &mut batch);
            if batch.is_empty() {
                break;
            }
            for msg in batch.drain(..) {
                if let Some(msg) = self.pattern.recv(id, msg, &mut self.outbox) {
                    ready.push((id, msg));
                }
            }
        }
    }

    fn try_finish(&mut self, ctx: &mut Context<Self>) {
        if !self.closing || !self.shared.send.is_empty() {
            return;
        }
        if !self.close_sent {
            self.close_sent = true;
            for conn in self.conns.values() {
                conn.do_send(Close);
            }
        }
        if self.conns.is_empty() {
            self.finish(ctx);
        }
    }

    fn finish(&mut self, ctx: &mut Context<Self>) {
        for conn in self.conns.values() {
            conn.do_send(Abort);
        }
        self.shared.send.close();
        self.shared.recv.close();
        self.ctx.emit(SocketEvent::Closed);
        for w in self.close_waiters.drain(..) {
            let _ = w.send(());
        }
        ctx.stop();
    }

    fn start_connection(&mut self, ctx: &mut Context<Self>, origin: Origin) {
        let id = next_id();
        let conn = ConnectionActor::new(id, ctx.address(), self.ctx.clone(), origin).start();
        self.conns.insert(id, conn);
    }

    fn remove_peer(&mut self, id: PeerId) {
        let Some(entry) = self.peers.remove(&id) else {
            return;
        };
        // first, so that no application takes from this peer while its last messages are queued
        self.refresh_inlet();
        // Messages that arrived before the peer left are still delivered.
        let mut ready = Vec::new();
        while let Some(msg) = entry.inq.pop(usize::MAX) {
            if let Some(msg) = self.pattern.recv(id, msg, &mut self.outbox) {
                ready.push((id, msg));
            }
        }
        self.shared.recv.push_batch(ready);
        self.readable.remove(id);
        let told = self.pattern.peer_left(id);
        self.shared
            .recv
            .push_batch(told.into_iter().map(|m| (id, m)).collect());
        self.shared
            .addresses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        self.dirty.retain(|&p| p != id);
    }
}

impl Actor for SocketActor {
    type Context = Context<Self>;
}

/// Bind an endpoint; answers the endpoint actually bound.
#[derive(Message)]
#[rtype(result = "Result<Endpoint, Error>")]
pub(crate) struct Bind(pub(crate) Endpoint);

/// Connect to an endpoint (retrying until it is there).
#[derive(Message)]
#[rtype(result = "Result<(), Error>")]
pub(crate) struct Connect(pub(crate) Endpoint);

/// The application queued messages.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Flush;

/// Route one message now and report whether the pattern refused it (ROUTER with
/// `router_mandatory`, whose errors the application must see).
#[derive(Message)]
#[rtype(result = "Result<(), Error>")]
pub(crate) struct SendNow(pub(crate) actormq_transports::Multipart);

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

/// A connection completed its handshake; the socket may refuse it.
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub(crate) struct PeerUp {
    pub(crate) peer: Peer,
    pub(crate) address: Arc<str>,
    pub(crate) out: Arc<PeerOut>,
    pub(crate) inq: Arc<PeerIn>,
}

/// A connection's session ended.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct PeerGone {
    pub(crate) id: ConnId,
}

/// A peer's inbound queue turned non-empty.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct PeerReadable;

/// A peer's outbound queue dropped below the high-water mark.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct PeerWritable;

/// A listener accepted a connection.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Accepted {
    pub(crate) link: Link,
    pub(crate) peer: String,
    pub(crate) endpoint: Endpoint,
}

/// A connection actor stopped.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct ConnectionEnded {
    pub(crate) id: ConnId,
}

impl Handler<Bind> for SocketActor {
    type Result = ResponseActFuture<Self, Result<Endpoint, Error>>;

    fn handle(&mut self, Bind(endpoint): Bind, _ctx: &mut Self::Context) -> Self::Result {
        if self.closing {
            return Box::pin(fut::ready(Err(Error::Closed(self.ctx.socket_type))));
        }
        let transport = match transport_for(&endpoint) {
            Ok(t) => t,
            Err(e) => return Box::pin(fut::ready(Err(e.into()))),
        };
        let bind = async move { transport.bind(&endpoint).await };
        Box::pin(bind.into_actor(self).map(|res, act, ctx| {
            let listener = res?;
            if act.closing {
                // closed while binding: release the endpoint at once
                return Err(Error::Closed(act.ctx.socket_type));
            }
            let endpoint = listener.local_endpoint().clone();
            act.listeners
                .push(ListenerActor::new(listener, ctx.address()).start());
            act.ctx.emit(SocketEvent::Listening {
                endpoint: endpoint.clone(),
            });
            Ok(endpoint)
        }))
    }
}

impl Handler<Connect> for SocketActor {
    type Result = Result<(), Error>;

    fn handle(&mut self, Connect(endpoint): Connect, ctx: &mut Self::Context) -> Self::Result {
        if self.closing {
            return Err(Error::Closed(self.ctx.socket_type));
        }
        transport_for(&endpoint)?;
        self.start_connection(ctx, Origin::Connect { endpoint });
        Ok(())
    }
}

impl Handler<Accepted> for SocketActor {
    type Result = ();

    fn handle(&mut self, msg: Accepted, ctx: &mut Self::Context) {
        if self.closing {
            return;
        }
        let Accepted {
            link,
            peer,
            endpoint,
        } = msg;
        self.start_connection(
            ctx,
            Origin::Accepted {
                link,
                peer,
                endpoint,
            },
        );
    }
}

impl Handler<Flush> for SocketActor {
    type Result = ();

    fn handle(&mut self, _: Flush, ctx: &mut Self::Context) {
        self.shared.send.scheduled.store(false, Ordering::Release);
        self.route_pending(ctx);
    }
}

impl Handler<SendNow> for SocketActor {
    type Result = Result<(), Error>;

    fn handle(&mut self, SendNow(msg): SendNow, ctx: &mut Self::Context) -> Self::Result {
        if self.closing {
            return Err(Error::Closed(self.ctx.socket_type));
        }
        // whatever was queued before goes first
        self.route_pending(ctx);
        let hwm = self.ctx.options.sndhwm;
        snapshot(&mut self.peers);
        let outcome = self
            .pattern
            .send(msg, &room_in(&self.peers, hwm), &mut self.outbox);
        self.stage_outbox();
        self.commit();
        match outcome {
            SendOutcome::Sent | SendOutcome::Dropped => Ok(()),
            SendOutcome::Wait(_) => Err(Error::WouldBlock(self.ctx.socket_type)),
            SendOutcome::Refused(_, reason) => Err(Error::Refused {
                socket_type: self.ctx.socket_type,
                reason,
            }),
        }
    }
}

impl Handler<Pump> for SocketActor {
    type Result = ();
    fn handle(&mut self, _: Pump, _ctx: &mut Self::Context) {
        self.pump();
    }
}

impl Handler<Subscribe> for SocketActor {
    type Result = Result<(), Error>;

    fn handle(&mut self, msg: Subscribe, _ctx: &mut Self::Context) -> Self::Result {
        let result = if msg.on {
            self.pattern.subscribe(msg.topic, &mut self.outbox)
        } else {
            self.pattern.unsubscribe(msg.topic, &mut self.outbox)
        };
        self.stage_outbox();
        self.commit();
        result.map_err(|reason| Error::Refused {
            socket_type: self.ctx.socket_type,
            reason,
        })
    }
}

impl Handler<PeerUp> for SocketActor {
    type Result = Result<(), String>;

    fn handle(&mut self, msg: PeerUp, ctx: &mut Self::Context) -> Self::Result {
        if self.close_sent {
            return Err("the socket is closing".into());
        }
        let id = msg.peer.id;
        self.peers.insert(
            id,
            PeerEntry {
                out: msg.out,
                inq: msg.inq,
                staged: Vec::new(),
                queued: 0,
            },
        );
        self.readable.add(id);
        if let Err(reason) = self.pattern.peer_joined(msg.peer, &mut self.outbox) {
            self.peers.remove(&id);
            self.readable.remove(id);
            self.outbox.drain();
            return Err(reason);
        }
        self.shared
            .addresses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, msg.address);
        self.refresh_inlet();
        self.stage_outbox();
        self.commit();
        // messages queued while no peer could take them go now
        self.route_pending(ctx);
        Ok(())
    }
}

impl Handler<PeerGone> for SocketActor {
    type Result = ();
    fn handle(&mut self, msg: PeerGone, _ctx: &mut Self::Context) {
        self.remove_peer(msg.id);
    }
}

impl Handler<PeerReadable> for SocketActor {
    type Result = ();
    fn handle(&mut self, _: PeerReadable, _ctx: &mut Self::Context) {
        self.pump();
    }
}

impl Handler<PeerWritable> for SocketActor {
    type Result = ();
    fn handle(&mut self, _: PeerWritable, ctx: &mut Self::Context) {
        self.route_pending(ctx);
    }
}

impl Handler<ConnectionEnded> for SocketActor {
    type Result = ();
    fn handle(&mut self, msg: ConnectionEnded, ctx: &mut Self::Context) {
        self.conns.remove(&msg.id);
        self.remove_peer(msg.id);
        self.try_finish(ctx);
    }
}

impl Handler<CloseSocket> for SocketActor {
    type Result = ();

    fn handle(&mut self, CloseSocket(reply): CloseSocket, ctx: &mut Self::Context) {
        if let Some(reply) = reply {
            self.close_waiters.push(reply);
        }
        if self.closing {
            return;
        }
        self.closing = true;
        // what was sent before close is still delivered; nothing after it is taken
        self.shared.send.seal();
        for l in self.listeners.drain(..) {
            l.do_send(StopListening);
        }
        if let Some(linger) = self.ctx.options.linger {
            ctx.run_later(linger, |act, ctx| act.finish(ctx));
        }
        self.route_pending(ctx);
    }
}
