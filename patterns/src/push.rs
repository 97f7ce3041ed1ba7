//! PUSH (RFC 30/PIPELINE): round-robin to the pullers that have room; wait when none has.

use actormq_transports::{Multipart, SocketType};

use crate::{Capacity, Dealer, Outbox, Pattern, Peer, PeerId, SendOutcome};

/// The PUSH pattern: a DEALER's outbound half.
#[derive(Debug, Default)]
pub struct Push(Dealer);

impl Pattern for Push {
    fn socket_type(&self) -> SocketType {
        SocketType::Push
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

    fn recv(&mut self, _peer: PeerId, _msg: Multipart, _out: &mut Outbox) -> Option<Multipart> {
        // A PUSH socket never delivers inbound messages (RFC 30): drop them.
        None
    }

    fn sole_route(&self) -> Option<PeerId> {
        self.0.sole_route()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_skips_full_peers_and_waits_when_all_are_full() {
        let mut p = Push::default();
        let mut out = Outbox::default();
        assert_eq!(
            p.send(Multipart::from("x"), &|_| true, &mut out),
            SendOutcome::Wait(Multipart::from("x"))
        );
        for id in 1..=3 {
            p.peer_joined(Peer::new(id, SocketType::Pull), &mut out)
                .unwrap();
        }
        for _ in 0..6 {
            assert_eq!(
                p.send(Multipart::from("x"), &|peer| peer != 2, &mut out),
                SendOutcome::Sent
            );
        }
        let to: Vec<_> = out.drain().map(|(p, _)| p).collect();
        assert_eq!(to, [1, 3, 1, 3, 1, 3]);
        assert!(matches!(
            p.send(Multipart::from("x"), &|_| false, &mut out),
            SendOutcome::Wait(_)
        ));
        p.peer_left(1);
        p.peer_left(3);
        assert_eq!(
            p.send(Multipart::from("y"), &|_| true, &mut out),
            SendOutcome::Sent
        );
        assert_eq!(out.drain().next().map(|(p, _)| p), Some(2));
        assert_eq!(p.recv(2, Multipart::from("z"), &mut out), None);
    }
}
