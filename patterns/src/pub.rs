//! PUB (RFC 29/PUBSUB): fan out to the subscribers whose prefixes match the first frame; drop
//! for a subscriber whose queue is full.

use std::collections::HashMap;

use actormq_transports::{Multipart, SocketType};

use crate::{Capacity, Outbox, Pattern, Peer, PeerId, SendOutcome, Subscriptions};

/// The PUB pattern. Subscriptions arrive as messages `0x01prefix` / `0x00prefix` (ZMTP 3.0
/// form; the connection turns 3.1 SUBSCRIBE/CANCEL commands into the same).
#[derive(Debug, Default)]
pub struct Pub {
    subscribers: HashMap<PeerId, Subscriptions>,
    order: Vec<PeerId>,
}

impl Pub {
    /// Applies a subscription message from a peer; true when it was one.
    pub(crate) fn apply_subscription(subs: &mut Subscriptions, msg: &Multipart) -> bool {
        let Some(first) = msg.first() else {
            return false;
        };
        match first.first() {
            Some(1) => {
                subs.add(&first[1..]);
                true
            }
            Some(0) => {
                subs.remove_all(&first[1..]);
                true
            }
            _ => false,
        }
    }
}

impl Pattern for Pub {
    fn socket_type(&self) -> SocketType {
        SocketType::Pub
    }

    fn peer_joined(&mut self, peer: Peer, _out: &mut Outbox) {
        self.subscribers.entry(peer.id).or_default();
        self.order.push(peer.id);
    }

    fn peer_left(&mut self, peer: PeerId) {
        self.subscribers.remove(&peer);
        self.order.retain(|&p| p != peer);
    }

    fn send(&mut self, msg: Multipart, room: &dyn Capacity, out: &mut Outbox) -> SendOutcome {
        let topic: &[u8] = msg.first().map(|f| &f[..]).unwrap_or(&[]);
        let mut sent = false;
        for &peer in &self.order {
            let matches = self
                .subscribers
                .get(&peer)
                .is_some_and(|s| s.matches(topic));
            if matches && room.has_room(peer) {
                out.push(peer, msg.clone());
                sent = true;
            }
        }
        if sent {
            SendOutcome::Sent
        } else {
            SendOutcome::Dropped
        }
    }

    fn recv(&mut self, peer: PeerId, msg: Multipart, _out: &mut Outbox) -> Option<Multipart> {
        if let Some(subs) = self.subscribers.get_mut(&peer) {
            Pub::apply_subscription(subs, &msg);
        }
        // Anything else a subscriber sends is ignored, as in libzmq.
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{cancel_message, subscribe_message};

    #[test]
    fn fans_out_by_prefix_and_drops_for_full_peers() {
        let mut p = Pub::default();
        let mut out = Outbox::default();
        for id in 1..=3 {
            p.peer_joined(Peer::new(id, SocketType::Sub), &mut out);
        }
        p.recv(1, subscribe_message(b"weather"), &mut out);
        p.recv(2, subscribe_message(b""), &mut out);
        p.recv(3, subscribe_message(b"sport"), &mut out);
        assert!(out.is_empty());
        assert_eq!(
            p.send(Multipart::from(["weather.1", "x"]), &|_| true, &mut out),
            SendOutcome::Sent
        );
        let to: Vec<_> = out.drain().map(|(p, _)| p).collect();
        assert_eq!(to, [1, 2]);
        // peer 2 is full: only 1 gets it
        assert_eq!(
            p.send(Multipart::from("weather.2"), &|peer| peer != 2, &mut out),
            SendOutcome::Sent
        );
        assert_eq!(out.drain().map(|(p, _)| p).collect::<Vec<_>>(), [1]);
        // cancel, and a message nobody wants is dropped
        p.recv(1, cancel_message(b"weather"), &mut out);
        p.recv(2, cancel_message(b""), &mut out);
        assert_eq!(
            p.send(Multipart::from("weather.3"), &|_| true, &mut out),
            SendOutcome::Dropped
        );
        p.peer_left(3);
        assert_eq!(
            p.send(Multipart::from("sport"), &|_| true, &mut out),
            SendOutcome::Dropped
        );
    }
}
