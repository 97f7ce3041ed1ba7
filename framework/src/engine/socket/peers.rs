//! Admitting and removing peers, binding and connecting.

use actix::prelude::*;
use actormq_patterns::PeerId;
use actormq_transports::{transport_for, Endpoint};

use crate::engine::connection::Origin;
use crate::engine::ctx::PeerView;
use crate::engine::listener::ListenerActor;
use crate::engine::messages::{Accepted, Bind, Connect, ConnectionEnded, PeerGone, PeerUp};
use crate::engine::socket::{PeerEntry, SocketActor};
use crate::event::SocketEvent;
use crate::Error;

impl SocketActor {
    pub(super) fn remove_peer(&mut self, id: PeerId) {
        let Some(entry) = self.peers.remove(&id) else {
            return;
        };
        self.retire(id);
        // first, so that no application takes from this peer while its last messages are queued
        self.refresh_inlet();
        // Messages that arrived before the peer left are still delivered.
        let mut ready = Vec::new();
        while let Some(msg) = entry.inq.pop(usize::MAX) {
            if let Some(msg) = self.pattern.recv(id, msg, &mut self.outbox) {
                ready.push((id, msg));
            }
        }
        self.fair.remove(id);
        let told = self.pattern.peer_left(id);
        ready.extend(told.into_iter().map(|m| (id, m)));
        if self.held.is_empty() {
            self.shared.recv.push_batch(ready);
        } else {
            // after what already waits, so that the application hears in order (XPUB: a
            // subscription before its cancel); bounded by rcvhwm and the peer's subscriptions
            self.held.extend(ready);
        }
        self.shared
            .addresses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        self.staged_peers.retain(|&p| p != id);
    }
}

impl SocketActor {
    /// Forgets a departed peer's view, adding what it carried to the socket's retired totals
    /// (the counts start again at zero in a queue that is kept for the peer's next session).
    fn retire(&self, id: PeerId) {
        // under the lock a snapshot takes, so that it sees the peer's counts once: live or
        // retired
        let mut views = self.shared.peers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(view) = views.remove(&id) {
            let (mi, bi) = view.inq.take_totals();
            let (mo, bo) = view.out.take_totals();
            self.info.counters.retired.add((mi, bi, mo, bo));
        }
    }
}

impl Handler<Bind> for SocketActor {
    type Result = ResponseActFuture<Self, Result<Endpoint, Error>>;

    fn handle(&mut self, Bind(endpoint): Bind, _ctx: &mut Self::Context) -> Self::Result {
        if self.closing {
            return Box::pin(fut::ready(Err(Error::Closed(self.info.socket_type))));
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
                return Err(Error::Closed(act.info.socket_type));
            }
            let endpoint = listener.local_endpoint().clone();
            act.listeners.push(
                ListenerActor::new(
                    listener,
                    ctx.address().recipient(),
                    act.info.options.max_connections,
                )
                .start(),
            );
            act.info.emit(SocketEvent::Listening {
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
            return Err(Error::Closed(self.info.socket_type));
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
            slot,
            peer,
            endpoint,
        } = msg;
        self.start_connection(
            ctx,
            Origin::Accepted {
                link,
                slot,
                peer,
                endpoint,
            },
        );
    }
}

impl Handler<PeerUp> for SocketActor {
    type Result = Result<(), String>;

    fn handle(&mut self, msg: PeerUp, ctx: &mut Self::Context) -> Self::Result {
        // a closing socket still takes back a peer that has messages waiting for it
        if self.told_conns_to_close && msg.out.waiting() == 0 {
            return Err("the socket is closing".into());
        }
        let id = msg.peer.id;
        let peer_type = msg.peer.socket_type;
        self.peers.insert(
            id,
            PeerEntry {
                out: msg.out,
                inq: msg.inq,
                staged: Vec::new(),
                queued: 0,
                found_full: std::cell::Cell::new(false),
            },
        );
        self.fair.add(id);
        if let Err(reason) = self.pattern.peer_joined(msg.peer, &mut self.outbox) {
            self.peers.remove(&id);
            self.fair.remove(id);
            self.outbox.drain();
            return Err(reason);
        }
        self.shared
            .addresses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                id,
                crate::peer_label::PeerLabel {
                    address: msg.address.clone(),
                    user_id: msg.user_id,
                },
            );
        self.shared
            .peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                id,
                PeerView {
                    address: msg.address,
                    peer_type,
                    since: std::time::Instant::now(),
                    inq: self.peers[&id].inq.clone(),
                    out: self.peers[&id].out.clone(),
                },
            );
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
    fn handle(&mut self, msg: PeerGone, ctx: &mut Self::Context) {
        self.remove_peer(msg.id);
        self.reroute_waiting(ctx);
    }
}

impl Handler<ConnectionEnded> for SocketActor {
    type Result = ();
    fn handle(&mut self, msg: ConnectionEnded, ctx: &mut Self::Context) {
        self.conns.remove(&msg.id);
        self.remove_peer(msg.id);
        self.reroute_waiting(ctx);
        if self.aborting {
            self.finish(ctx);
        } else {
            self.try_finish(ctx);
        }
    }
}
