//! Receiving: fair-queues what the peers sent into the application's ready queue.

use std::sync::atomic::Ordering;

use actix::prelude::*;
use actormq_patterns::PeerId;
use actormq_transports::Multipart;

use crate::engine::ctx::Inlet;
use crate::engine::messages::PeerReadable;
use crate::engine::messages::Pump;
use crate::engine::pack::cost;
use crate::engine::socket::SocketActor;

impl SocketActor {
    /// Opens the inlet (see [`Shared::inlet`]) when the socket has one peer whose messages pass
    /// unchanged, or filtered by subscriptions alone, and closes it otherwise.
    pub(super) fn refresh_inlet(&self) {
        let inlet = match (self.peers.iter().next(), self.peers.len()) {
            (Some((&id, entry)), 1) => {
                let filter = self.pattern.inbound_filter();
                (filter.is_some() || self.pattern.passes_inbound()).then(|| Inlet {
                    id,
                    inq: entry.inq.clone(),
                    filter,
                })
            }
            _ => None,
        };
        *self.shared.inlet.lock().unwrap_or_else(|e| e.into_inner()) = inlet;
    }

    /// Fair-queues inbound messages into the application's ready queue.
    pub(super) fn pump(&mut self) {
        loop {
            let full = if let Some(full) = self.shared.refill(self.info.options.rcvhwm) {
                full
            } else {
                let (room, budget) = self.shared.recv.room();
                // what waited while the application did not read goes first
                let mut ready: Vec<_> = self.held.drain(..room.min(self.held.len())).collect();
                let mut spent = 0;
                if room > 0 && budget > 0 {
                    if self.peers.len() == 1 {
                        spent = self.pump_single(room, budget, &mut ready);
                    } else {
                        spent = self.pump_fair(room, budget, &mut ready);
                    }
                }
                let full = ready.len() >= room || spent >= budget;
                self.shared.recv.push_batch(ready);
                if full && self.pattern.applies_inbound() {
                    self.absorb();
                }
                full
            };
            self.stage_outbox();
            self.commit();
            let more = !self.held.is_empty() || self.peers.values().any(|e| e.inq.len() > 0);
            if !full || !more {
                return;
            }
            self.shared.recv.backlog.store(true, Ordering::Release);
            // The application (maybe on another thread) may have drained the ready queue before
            // it could see the flag: if so, nobody would ask again, so go on pumping now.
            if self.shared.recv.more_than_half_full()
                || !self.shared.recv.backlog.swap(false, Ordering::AcqRel)
            {
                return;
            }
        }
    }

    /// The application's ready queue is full, but the pattern must see what the peers send as
    /// it arrives (XPUB: a subscription applies at once, whether or not the application reads
    /// its notice): takes everything queued from every peer into the pattern. What the pattern
    /// returns for the application waits in `held`, at most `rcvhwm` messages; beyond that it
    /// is dropped and counted in [`crate::Socket::dropped_unread`] (the first drop is logged), so an application that never reads
    /// costs bounded memory. libzmq's XPUB keeps such notices in an unbounded queue instead.
    fn absorb(&mut self) {
        let rcvhwm = self.info.options.rcvhwm;
        let ids: Vec<PeerId> = self.peers.keys().copied().collect();
        let mut batch = Vec::new();
        for id in ids {
            let Some(inq) = self.peers.get(&id).map(|e| e.inq.clone()) else {
                continue;
            };
            loop {
                inq.pop_within(rcvhwm, usize::MAX, rcvhwm, |m| batch.push(m));
                if batch.is_empty() {
                    break;
                }
                for msg in batch.drain(..) {
                    let Some(msg) = self.pattern.recv(id, msg, &mut self.outbox) else {
                        continue;
                    };
                    if self.held.len() < rcvhwm {
                        self.held.push_back((id, msg));
                    } else {
                        if self.info.dropped_unread.fetch_add(1, Ordering::Relaxed) == 0 {
                            tracing::warn!(
                                rcvhwm,
                                "the application does not read: messages for it beyond rcvhwm \
                                 are dropped (subscriptions still apply)"
                            );
                        }
                    }
                }
            }
        }
    }

    /// Fair queueing: one message from each peer with messages, in turn, until `room`
    /// messages or `budget` bytes (see [`cost`]) are taken; returns the bytes taken.
    pub(super) fn pump_fair(
        &mut self,
        room: usize,
        budget: usize,
        ready: &mut Vec<(PeerId, Multipart)>,
    ) -> usize {
        let rcvhwm = self.info.options.rcvhwm;
        let mut spent = 0usize;
        while ready.len() < room && spent < budget {
            let peers = &self.peers;
            let pattern = &self.pattern;
            let next = self.fair.next_where(|p| {
                peers.get(&p).is_some_and(|e| e.inq.len() > 0) && pattern.accepts_from(p)
            });
            let Some(id) = next else { break };
            let Some(msg) = self.peers.get(&id).and_then(|e| e.inq.pop(rcvhwm)) else {
                break;
            };
            spent = spent.saturating_add(cost(&msg));
            if let Some(msg) = self.pattern.recv(id, msg, &mut self.outbox) {
                ready.push((id, msg));
            }
        }
        spent
    }

    /// One peer: nobody to be fair to, so take its messages in batches, one lock each, until
    /// `room` messages or `budget` bytes are taken; returns the bytes taken.
    pub(super) fn pump_single(
        &mut self,
        room: usize,
        budget: usize,
        ready: &mut Vec<(PeerId, Multipart)>,
    ) -> usize {
        let rcvhwm = self.info.options.rcvhwm;
        let Some((&id, entry)) = self.peers.iter().next() else {
            return 0;
        };
        if !self.pattern.accepts_from(id) {
            return 0;
        }
        let inq = entry.inq.clone();
        let mut batch = Vec::new();
        let mut spent = 0usize;
        while ready.len() < room && spent < budget {
            inq.pop_within(room - ready.len(), budget - spent, rcvhwm, |m| {
                batch.push(m)
            });
            if batch.is_empty() {
                break;
            }
            for msg in batch.drain(..) {
                spent = spent.saturating_add(cost(&msg));
                if let Some(msg) = self.pattern.recv(id, msg, &mut self.outbox) {
                    ready.push((id, msg));
                }
            }
        }
        spent
    }
}

impl SocketActor {
    /// Pumps, then, where what arrived changes where messages go (PUB/XPUB: a cancel), routes
    /// again what waits to be sent.
    fn pump_and_reroute(&mut self, ctx: &mut Context<Self>) {
        self.pump();
        if self.pattern.applies_inbound() {
            self.reroute_waiting(ctx);
        }
    }
}

impl Handler<Pump> for SocketActor {
    type Result = ();
    fn handle(&mut self, _: Pump, ctx: &mut Self::Context) {
        self.pump_and_reroute(ctx);
    }
}

impl Handler<PeerReadable> for SocketActor {
    type Result = ();
    fn handle(&mut self, _: PeerReadable, ctx: &mut Self::Context) {
        self.pump_and_reroute(ctx);
    }
}
