//! Receiving: fair-queues what the peers sent into the application's ready queue.

use std::sync::atomic::Ordering;

use actix::prelude::*;
use actormq_patterns::PeerId;
use actormq_transports::Multipart;

use crate::engine::messages::PeerReadable;
use crate::engine::messages::Pump;
use crate::engine::queues::recv::RECV_BATCH;
use crate::engine::socket::SocketActor;

impl SocketActor {
    /// Opens the inlet (see [`Shared::inlet`]) when the socket has one peer whose messages pass
    /// unchanged, and closes it otherwise.
    pub(super) fn refresh_inlet(&self) {
        let inlet = match (self.peers.iter().next(), self.peers.len()) {
            (Some((&id, entry)), 1) if self.pattern.passes_inbound() => {
                Some((id, entry.inq.clone()))
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
                let room = RECV_BATCH.saturating_sub(self.shared.recv.len());
                // what waited while the application did not read goes first
                let mut ready: Vec<_> = self.held.drain(..room.min(self.held.len())).collect();
                if self.peers.len() == 1 {
                    self.pump_single(room, &mut ready);
                } else {
                    self.pump_fair(room, &mut ready);
                }
                let full = ready.len() >= room;
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
            if self.shared.recv.len() > RECV_BATCH / 2
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
    /// is dropped and counted (the first drop is logged), so an application that never reads
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
                inq.pop_up_to(rcvhwm, rcvhwm, &mut batch);
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
                        if self.held_dropped == 0 {
                            tracing::warn!(
                                rcvhwm,
                                "the application does not read: messages for it beyond rcvhwm \
                                 are dropped (subscriptions still apply)"
                            );
                        }
                        self.held_dropped += 1;
                    }
                }
            }
        }
    }

    /// Fair queueing: one message from each peer with messages, in turn.
    pub(super) fn pump_fair(&mut self, room: usize, ready: &mut Vec<(PeerId, Multipart)>) {
        let rcvhwm = self.info.options.rcvhwm;
        while ready.len() < room {
            let peers = &self.peers;
            let pattern = &self.pattern;
            let next = self.fair.next_where(|p| {
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
    pub(super) fn pump_single(&mut self, room: usize, ready: &mut Vec<(PeerId, Multipart)>) {
        let rcvhwm = self.info.options.rcvhwm;
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
}

impl Handler<Pump> for SocketActor {
    type Result = ();
    fn handle(&mut self, _: Pump, _ctx: &mut Self::Context) {
        self.pump();
    }
}

impl Handler<PeerReadable> for SocketActor {
    type Result = ();
    fn handle(&mut self, _: PeerReadable, _ctx: &mut Self::Context) {
        self.pump();
    }
}
