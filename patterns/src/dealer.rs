//! DEALER (RFC 28/REQREP): round-robin out to the peers that have room, fair-queued in, no
//! envelope handling.

use actormq_transports::{Multipart, SocketType};

use crate::{Capacity, FairQueue, Outbox, Pattern, Peer, PeerId, SendOutcome};

/// The DEALER pattern (and the outbound half of PUSH).
#[derive(Debug, Default)]
pub struct Dealer {
    peers: FairQueue,
}

impl Pattern for Dealer {
    fn socket_type(&self) -> SocketType {
        SocketType::Dealer
    }

    fn peer_joined(&mut self, peer: Peer, _out: &mut Outbox) -> Result<(), String> {
        self.peers.add(peer.id);
        Ok(())
    }

    fn peer_left(&mut self, peer: PeerId) -> Vec<Multipart> {
        self.peers.remove(peer);
        Vec::new()
    }

    fn send(&mut self, msg: Multipart, room: &dyn Capacity, out: &mut Outbox) -> SendOutcome {
        match self.peers.next_where(|p| room.has_room(p)) {
            Some(peer) => {
                out.push(peer, msg);
                SendOutcome::Sent
            }
            None => SendOutcome::Wait(msg),
        }
    }

    fn recv(&mut self, _peer: PeerId, msg: Multipart, _out: &mut Outbox) -> Option<Multipart> {
        Some(msg)
    }

    fn sole_route(&self) -> Option<PeerId> {
        match self.peers.peers() {
            [only] => Some(*only),
            _ => None,
        }
    }

    fn passes_inbound(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_out_and_everything_in() {
        let mut d = Dealer::default();
        let mut out = Outbox::default();
        assert!(matches!(
            d.send(Multipart::from("x"), &|_| true, &mut out),
            SendOutcome::Wait(_)
        ));
        d.peer_joined(Peer::new(1, SocketType::Router), &mut out)
            .unwrap();
        d.peer_joined(Peer::new(2, SocketType::Rep), &mut out)
            .unwrap();
        for _ in 0..4 {
            d.send(Multipart::from(["", "x"]), &|_| true, &mut out);
        }
        assert_eq!(
            out.drain().map(|(p, m)| (p, m.len())).collect::<Vec<_>>(),
            [(1, 2), (2, 2), (1, 2), (2, 2)]
        );
        assert_eq!(
            d.recv(2, Multipart::from(["", "y"]), &mut out),
            Some(Multipart::from(["", "y"]))
        );
    }
}
