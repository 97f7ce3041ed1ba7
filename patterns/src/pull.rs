//! PULL (RFC 30/PIPELINE): receives from every pusher; the socket fair-queues between them.

use actormq_transports::{Multipart, SocketType};

use crate::{Capacity, Outbox, Pattern, Peer, PeerId, SendOutcome};

/// The PULL pattern.
#[derive(Debug, Default)]
pub struct Pull;

impl Pattern for Pull {
    fn socket_type(&self) -> SocketType {
        SocketType::Pull
    }

    fn peer_joined(&mut self, _peer: Peer, _out: &mut Outbox) -> Result<(), String> {
        Ok(())
    }

    fn peer_left(&mut self, _peer: PeerId) -> Vec<Multipart> {
        Vec::new()
    }

    fn send(&mut self, msg: Multipart, _room: &dyn Capacity, _out: &mut Outbox) -> SendOutcome {
        SendOutcome::Refused(msg, "PULL sockets cannot send (use PUSH)".into())
    }

    fn recv(&mut self, _peer: PeerId, msg: Multipart, _out: &mut Outbox) -> Option<Multipart> {
        Some(msg)
    }

    fn passes_inbound(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivers_and_refuses_to_send() {
        let mut p = Pull;
        let mut out = Outbox::default();
        assert_eq!(
            p.recv(1, Multipart::from("a"), &mut out),
            Some(Multipart::from("a"))
        );
        assert!(
            matches!(p.send(Multipart::from("a"), &|_| true, &mut out), SendOutcome::Refused(_, r) if r.contains("PULL"))
        );
    }
}
