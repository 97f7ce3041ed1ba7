//! REP (RFC 28/REQREP): fair-queued requests; each request's envelope (everything up to the
//! empty delimiter) is kept and put back on its reply, so replies find their way back through
//! any number of ROUTER/DEALER hops.

use std::collections::VecDeque;

use actormq_transports::{Frame, Multipart, SocketType};

use crate::envelope::{split_envelope, wrap};
use crate::{Capacity, Outbox, Pattern, Peer, PeerId, SendOutcome};

/// The REP pattern. Requests are handed to the application in order and answered in the same
/// order (the host enforces receive/send alternation with a [`crate::Turn`] where the
/// application calls), so the envelopes wait in a queue. REP keeps no turn of its own: a reply
/// when no envelope is left is refused because it has nowhere to go.
#[derive(Debug, Default)]
pub struct Rep {
    envelopes: VecDeque<(PeerId, Vec<Frame>)>,
}

impl Pattern for Rep {
    fn socket_type(&self) -> SocketType {
        SocketType::Rep
    }

    fn peer_joined(&mut self, _peer: Peer, _out: &mut Outbox) -> Result<(), String> {
        Ok(())
    }

    fn peer_left(&mut self, _peer: PeerId) -> Vec<Multipart> {
        // Requests already handed to the application keep their place; their replies will find
        // no peer and be dropped, as in libzmq.
        Vec::new()
    }

    fn send(&mut self, msg: Multipart, room: &dyn Capacity, out: &mut Outbox) -> SendOutcome {
        let Some((peer, envelope)) = self.envelopes.pop_front() else {
            return SendOutcome::Refused(
                msg,
                "REP: there is no request to reply to; receive one first".into(),
            );
        };
        if !room.has_room(peer) {
            return SendOutcome::Dropped;
        }
        out.push(peer, wrap(envelope, msg));
        SendOutcome::Sent
    }

    fn recv(&mut self, peer: PeerId, msg: Multipart, _out: &mut Outbox) -> Option<Multipart> {
        // a request without a delimiter is malformed: drop it, as libzmq does
        let (envelope, body) = split_envelope(msg)?;
        self.envelopes.push_back((peer, envelope));
        Some(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_carry_their_requests_envelopes_in_order() {
        let mut r = Rep::default();
        let mut out = Outbox::default();
        assert!(matches!(
            r.send(Multipart::from("x"), &|_| true, &mut out),
            SendOutcome::Refused(..)
        ));
        assert_eq!(
            r.recv(1, Multipart::from(["c1", "", "q1"]), &mut out),
            Some(Multipart::from("q1"))
        );
        assert_eq!(
            r.recv(2, Multipart::from(["", "q2"]), &mut out),
            Some(Multipart::from("q2"))
        );
        assert_eq!(r.recv(2, Multipart::from("no delimiter"), &mut out), None);
        r.send(Multipart::from("a1"), &|_| true, &mut out);
        r.send(Multipart::from("a2"), &|_| true, &mut out);
        assert_eq!(
            out.drain().collect::<Vec<_>>(),
            [
                (1, Multipart::from(["c1", "", "a1"])),
                (2, Multipart::from(["", "a2"]))
            ]
        );
    }
}
