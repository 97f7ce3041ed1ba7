//! PUB (RFC 29/PUBSUB): fan out to the subscribers whose prefixes match the first frame; drop
//! for a subscriber whose queue is full. It is an XPUB that keeps subscriptions to itself.

use actormq_transports::{Multipart, SocketType};

use crate::{Capacity, Outbox, Pattern, Peer, PeerId, SendOutcome, XPub};

/// The PUB pattern. Subscriptions arrive as messages `0x01prefix` / `0x00prefix` (ZMTP 3.0
/// form; the connection turns 3.1 SUBSCRIBE/CANCEL commands into the same).
#[derive(Debug)]
pub struct Pub(XPub);

impl Default for Pub {
    fn default() -> Self {
        Pub(XPub::silent())
    }
}

impl Pub {
    /// A PUB whose peers may each hold at most `max_subscriptions` prefixes of at most
    /// `max_subscription_bytes` bytes in total (see [`XPub`]).
    pub fn with_limits(max_subscriptions: usize, max_subscription_bytes: usize) -> Self {
        Pub(XPub::silent().with_limits(max_subscriptions, max_subscription_bytes))
    }

    /// With `nodrop`, a message waits for room at every matching subscriber instead of being
    /// dropped for the full ones (see [`XPub::with_nodrop`]).
    pub fn with_nodrop(self, nodrop: bool) -> Self {
        Pub(self.0.with_nodrop(nodrop))
    }
}

impl Pattern for Pub {
    fn socket_type(&self) -> SocketType {
        SocketType::Pub
    }

    fn applies_inbound(&self) -> bool {
        true
    }

    fn peer_joined(&mut self, peer: Peer, out: &mut Outbox) -> Result<(), String> {
        self.0.peer_joined(peer, out)
    }

    fn peer_left(&mut self, peer: PeerId) -> Vec<Multipart> {
        self.0.peer_left(peer)
    }

    fn send(&mut self, msg: Multipart, room: &dyn Capacity, out: &mut Outbox) -> SendOutcome {
        self.0.send(msg, room, out)
    }

    fn take_dropped(&mut self) -> u64 {
        self.0.take_dropped()
    }

    fn recv(&mut self, peer: PeerId, msg: Multipart, out: &mut Outbox) -> Option<Multipart> {
        // anything a subscriber sends besides subscriptions is ignored, as in libzmq
        self.0.recv(peer, msg, out)
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
            p.peer_joined(Peer::new(id, SocketType::Sub), &mut out)
                .unwrap();
        }
        assert_eq!(p.recv(1, subscribe_message(b"weather"), &mut out), None);
        p.recv(2, subscribe_message(b""), &mut out);
        p.recv(3, subscribe_message(b"sport"), &mut out);
        assert_eq!(p.recv(3, Multipart::from("chatter"), &mut out), None);
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
        assert!(p.peer_left(3).is_empty());
        assert_eq!(
            p.send(Multipart::from("sport"), &|_| true, &mut out),
            SendOutcome::Dropped
        );
    }
}
