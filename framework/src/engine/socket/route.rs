//! Routing what the application sends: the pattern picks the peers, as far as they have room.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;

use actix::prelude::*;
use actormq_patterns::{PeerId, SendOutcome};
use actormq_transports::Multipart;
use rustc_hash::FxHashMap;

use crate::engine::messages::PeerWritable;
use crate::engine::messages::{Flush, SendNow, Subscribe};
use crate::engine::queues::compact::TAKE_MAX;
use crate::engine::socket::{PeerEntry, SocketActor};
use crate::Error;

/// Whether a peer can take one more message: its writer's queue (as of this routing pass) plus
/// what this pass staged for it stays under the high-water mark. A peer without room is marked
/// (`found_full`).
fn room_in(peers: &FxHashMap<PeerId, PeerEntry>, hwm: usize) -> impl Fn(PeerId) -> bool + '_ {
    move |p| {
        peers.get(&p).is_some_and(|e| {
            let room = e.queued + e.staged.len() < hwm;
            if !room {
                e.found_full.set(true);
            }
            room
        })
    }
}

/// Starts a routing pass: reads every peer's queue length once.
fn snapshot(peers: &mut FxHashMap<PeerId, PeerEntry>) {
    for e in peers.values_mut() {
        e.queued = e.out.len();
        e.found_full.set(false);
    }
}

impl SocketActor {
    /// Routes what the application queued, as far as the peers have room.
    pub(super) fn route_pending(&mut self, ctx: &mut Context<Self>) {
        let hwm = self.info.options.sndhwm;
        // a deep queue is taken a part at a time: as many parts as it held when this began,
        // then the rest in a later turn, so that an application sending as fast as we route
        // cannot keep the actor here
        let mut passes = self.shared.send.len().div_ceil(TAKE_MAX).max(1);
        let waiting = loop {
            let mut batch = self.shared.send.take_all();
            let whole = batch.len() == TAKE_MAX;
            let waiting = match self.route_whole(&mut batch, hwm) {
                Some(waiting) => waiting,
                None => self.route_each(&mut batch, hwm),
            };
            self.shared.send.give_back(batch);
            passes -= 1;
            if waiting || !whole {
                break waiting;
            }
            if passes == 0 {
                ctx.notify(PeerWritable);
                break false;
            }
        };
        if waiting {
            // Ask every peer found full to say when it has room; one may have room already (an
            // in-process peer drained while we routed): then route again at once.
            let room_now = self
                .peers
                .values()
                .filter(|e| e.found_full.take())
                .any(|e| e.out.want_room(hwm));
            if room_now {
                ctx.notify(PeerWritable);
            }
        }
        self.try_finish(ctx);
    }

    /// Routes again what waits in the send queue, after something other than room may have
    /// freed it: a peer left, or a subscriber cancelled (a message waiting for a full
    /// subscriber under `xpub_nodrop` no longer has to).
    pub(super) fn reroute_waiting(&mut self, ctx: &mut Context<Self>) {
        if !self.shared.send.is_empty() && !self.aborting {
            self.route_pending(ctx);
        }
    }

    /// When every message goes to one peer (see [`Pattern::sole_route`]), moves the batch to it
    /// as a whole, as far as it has room. `None` when the pattern must route message by message;
    /// otherwise whether messages are left waiting for room.
    pub(super) fn route_whole(
        &mut self,
        batch: &mut VecDeque<Multipart>,
        hwm: usize,
    ) -> Option<bool> {
        let entry = self.peers.get(&self.pattern.sole_route()?)?;
        if !entry.staged.is_empty() {
            return None;
        }
        entry.out.take_from(batch, hwm);
        entry.found_full.set(!batch.is_empty());
        Some(!batch.is_empty())
    }

    /// Asks the pattern where each message goes; returns whether messages are left waiting
    /// for room.
    pub(super) fn route_each(&mut self, batch: &mut VecDeque<Multipart>, hwm: usize) -> bool {
        snapshot(&mut self.peers);
        // A message goes at most once to each peer: when every peer has room for the whole
        // batch, no room check can fail, and the batch is routed first and staged after.
        let roomy = self.peers.values().all(|e| e.queued + batch.len() <= hwm);
        let mut waiting = false;
        while let Some(msg) = batch.pop_front() {
            let outcome = if roomy {
                self.pattern.send(msg, &|_| true, &mut self.outbox)
            } else {
                self.pattern
                    .send(msg, &room_in(&self.peers, hwm), &mut self.outbox)
            };
            match outcome {
                SendOutcome::Sent | SendOutcome::Dropped => {}
                SendOutcome::Wait(msg) => {
                    batch.push_front(msg);
                    waiting = true;
                    break;
                }
                SendOutcome::Refused(_, reason) => tracing::warn!(%reason, "message refused"),
            }
            if !roomy {
                self.stage_outbox();
            }
        }
        self.stage_outbox();
        self.commit();
        self.info.dropped_by_policy(self.pattern.take_dropped());
        waiting
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
            return Err(Error::Closed(self.info.socket_type));
        }
        // whatever was queued before goes first
        self.route_pending(ctx);
        let hwm = self.info.options.sndhwm;
        snapshot(&mut self.peers);
        let outcome = self
            .pattern
            .send(msg, &room_in(&self.peers, hwm), &mut self.outbox);
        self.stage_outbox();
        self.commit();
        self.info.dropped_by_policy(self.pattern.take_dropped());
        match outcome {
            SendOutcome::Sent | SendOutcome::Dropped => Ok(()),
            SendOutcome::Wait(_) => Err(Error::WouldBlock(self.info.socket_type)),
            SendOutcome::Refused(_, reason) => Err(Error::Refused {
                socket_type: self.info.socket_type,
                reason,
            }),
        }
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
            socket_type: self.info.socket_type,
            reason,
        })
    }
}

impl Handler<PeerWritable> for SocketActor {
    type Result = ();
    fn handle(&mut self, _: PeerWritable, ctx: &mut Self::Context) {
        self.route_pending(ctx);
    }
}
