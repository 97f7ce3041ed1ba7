//! PAIR (RFC 31/EXPAIR): exactly one peer at a time; a second is refused.

use actormq_transports::{Multipart, SocketType};

use crate::{Capacity, Outbox, Pattern, Peer, PeerId, SendOutcome};

/// The PAIR pattern.
#[derive(Debug, Default)]
pub struct Pair {
    peer: Option<PeerId>,
}

impl Pattern for Pair {
    fn socket_type(&self) -> SocketType {
        SocketType::Pair
    }

    fn peer_joined(&mut self, peer: Peer, _out: &mut Outbox) -> Result<(), String> {
        if self.peer.is_some() {
            return Err("PAIR already has its peer; a PAIR socket talks to one peer only".into());
        }
        self.peer = Some(peer.id);
        Ok(())
    }

    fn peer_left(&mut self, peer: PeerId) -> Vec<Multipart> {
        if self.peer == Some(peer) {
            self.peer = None;
        }
        Vec::new()
    }

    fn send(&mut self, msg: Multipart, room: &dyn Capacity, out: &mut Outbox) -> SendOutcome {
        match self.peer {
            Some(p) if room.has_room(p) => {
                out.push(p, msg);
                SendOutcome::Sent
            }
            _ => SendOutcome::Wait(msg),
        }
    }

    fn recv(&mut self, peer: PeerId, msg: Multipart, _out: &mut Outbox) -> Option<Multipart> {
        (self.peer == Some(peer)).then_some(msg)
    }

    fn sole_route(&self) -> Option<PeerId> {
        self.peer
    }

    fn passes_inbound(&self) -> bool {
        // the socket holds no peer but the one this pattern accepted
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_peer_at_a_time() {
        let mut p = Pair::default();
        let mut out = Outbox::default();
        assert!(matches!(
            p.send(Multipart::from("x"), &|_| true, &mut out),
            SendOutcome::Wait(_)
        ));
        p.peer_joined(Peer::new(1, SocketType::Pair), &mut out)
            .unwrap();
        assert!(p
            .peer_joined(Peer::new(2, SocketType::Pair), &mut out)
            .unwrap_err()
            .contains("one peer"));
        assert_eq!(
            p.send(Multipart::from("x"), &|_| true, &mut out),
            SendOutcome::Sent
        );
        assert!(matches!(
            p.send(Multipart::from("x"), &|_| false, &mut out),
            SendOutcome::Wait(_)
        ));
        p.peer_left(1);
        p.peer_joined(Peer::new(3, SocketType::Pair), &mut out)
            .unwrap();
        assert_eq!(
            p.recv(3, Multipart::from("y"), &mut out),
            Some(Multipart::from("y"))
        );
    }
}
