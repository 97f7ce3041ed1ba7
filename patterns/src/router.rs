//! ROUTER (RFC 28/REQREP): prefixes each inbound message with its peer's routing id, and
//! routes each outbound message by its first frame.

use actormq_transports::{Frame, Multipart, SocketType};

use crate::ids::{take_id, RoutingIds};
use crate::{Capacity, Outbox, Pattern, Peer, PeerId, SendOutcome};

/// The ROUTER pattern.
///
/// A peer's routing id is the `Identity` it announced in its handshake, or else one generated
/// here as libzmq does (5 bytes: 0x00 and a 32-bit counter). A message to an unknown peer, or to
/// one whose queue is full, is dropped; with `mandatory` it is refused with the reason instead.
#[derive(Debug)]
pub struct Router {
    ids: RoutingIds,
    mandatory: bool,
    handover: bool,
}

impl Router {
    /// A ROUTER with libzmq's `router_mandatory` and `router_handover` behaviours on or off.
    pub fn new(mandatory: bool, handover: bool) -> Self {
        Router {
            ids: RoutingIds::default(),
            mandatory,
            handover,
        }
    }

    /// The routing id of a peer, if it is connected.
    pub fn routing_id(&self, peer: PeerId) -> Option<&Frame> {
        self.ids.id(peer)
    }
}

impl Pattern for Router {
    fn socket_type(&self) -> SocketType {
        SocketType::Router
    }

    fn peer_joined(&mut self, peer: Peer, _out: &mut Outbox) -> Result<(), String> {
        let id = if peer.identity.is_empty() {
            self.ids.generate()
        } else {
            peer.identity
        };
        if self.ids.peer(&id).is_some() && !self.handover {
            return Err(format!(
                "ROUTER: routing id {id:02x?} is already in use by another peer (set router_handover to let the new one take it)"
            ));
        }
        // with handover, the new peer takes the id over; the old one stays connected but
        // unaddressable
        self.ids.insert(id, peer.id);
        Ok(())
    }

    fn peer_left(&mut self, peer: PeerId) -> Vec<Multipart> {
        self.ids.remove(peer);
        Vec::new()
    }

    fn send(&mut self, msg: Multipart, room: &dyn Capacity, out: &mut Outbox) -> SendOutcome {
        let (id, frames) = match take_id(msg, "ROUTER") {
            Ok(split) => split,
            Err(refused) => return refused,
        };
        let target = self.ids.peer(&id);
        let refuse = |frames: Vec<Frame>, why: String| {
            let mut msg = Multipart::from(frames);
            msg.push_front(id.clone());
            SendOutcome::Refused(msg, why)
        };
        match target {
            Some(peer) if room.has_room(peer) => {
                out.push(peer, Multipart::from(frames));
                SendOutcome::Sent
            }
            Some(_) if self.mandatory => refuse(
                frames,
                format!("ROUTER: the queue to peer {id:02x?} is full"),
            ),
            None if self.mandatory => refuse(
                frames,
                format!("ROUTER: no peer with routing id {id:02x?} (host unreachable)"),
            ),
            _ => SendOutcome::Dropped,
        }
    }

    fn recv(&mut self, peer: PeerId, mut msg: Multipart, _out: &mut Outbox) -> Option<Multipart> {
        let id = self.ids.id(peer)?.clone();
        msg.push_front(id);
        Some(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn peer(id: PeerId, identity: &'static [u8]) -> Peer {
        Peer {
            id,
            socket_type: SocketType::Dealer,
            identity: Bytes::from_static(identity),
        }
    }

    #[test]
    fn routes_by_identity_and_generates_ids() {
        let mut r = Router::new(false, false);
        let mut out = Outbox::default();
        r.peer_joined(peer(1, b"alice"), &mut out).unwrap();
        r.peer_joined(peer(2, b""), &mut out).unwrap();
        let generated = r.routing_id(2).unwrap().clone();
        assert_eq!(generated.len(), 5);
        assert_eq!(generated[0], 0);
        assert_eq!(
            r.recv(1, Multipart::from("hi"), &mut out),
            Some(Multipart::from(["alice", "hi"]))
        );
        assert_eq!(
            r.send(Multipart::from(["alice", "yo"]), &|_| true, &mut out),
            SendOutcome::Sent
        );
        assert_eq!(
            out.drain().collect::<Vec<_>>(),
            [(1, Multipart::from("yo"))]
        );
        assert_eq!(
            r.send(Multipart::from(["bob", "yo"]), &|_| true, &mut out),
            SendOutcome::Dropped
        );
        assert!(r
            .peer_joined(peer(3, b"alice"), &mut out)
            .unwrap_err()
            .contains("already in use"));
        r.peer_left(1);
        assert_eq!(
            r.send(Multipart::from(["alice", "yo"]), &|_| true, &mut out),
            SendOutcome::Dropped
        );
    }

    #[test]
    fn mandatory_refuses_and_handover_takes_over() {
        let mut r = Router::new(true, true);
        let mut out = Outbox::default();
        let refused = r.send(Multipart::from(["bob", "x"]), &|_| true, &mut out);
        assert!(
            matches!(&refused, SendOutcome::Refused(m, why) if m.len() == 2 && why.contains("host unreachable"))
        );
        r.peer_joined(peer(1, b"bob"), &mut out).unwrap();
        assert!(
            matches!(r.send(Multipart::from(["bob", "x"]), &|_| false, &mut out), SendOutcome::Refused(_, w) if w.contains("full"))
        );
        r.peer_joined(peer(2, b"bob"), &mut out).unwrap();
        r.send(Multipart::from(["bob", "x"]), &|_| true, &mut out);
        assert_eq!(out.drain().next().map(|(p, _)| p), Some(2));
    }
}
