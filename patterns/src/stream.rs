//! STREAM (libzmq's `ZMQ_STREAM`): raw byte streams to plain TCP peers, no ZMTP. Inbound
//! chunks arrive prefixed with their peer's id; an outbound message's first frame names the
//! peer its other frames are written to.

use actormq_transports::{Frame, Multipart, SocketType};

use crate::ids::{take_id, RoutingIds};
use crate::{Capacity, Outbox, Pattern, Peer, PeerId, SendOutcome};

/// The STREAM pattern.
///
/// Each connection gets a fresh 5-byte id (0x00 and a 32-bit counter, as libzmq's). What the
/// connection passes up (a chunk of bytes, or an empty frame when the peer connects or goes)
/// reaches the application behind that id. `[id, bytes...]` is written to that peer (the
/// frames one after the other), `[id, ""]` closes its connection and `[id]` alone shuts our
/// side for writing (a half-close). To an unknown id, a send is refused (libzmq's
/// `EHOSTUNREACH`); to a peer whose queue is full it waits.
///
/// ```
/// use actormq_patterns::{Outbox, Pattern, Peer, SendOutcome, Stream};
/// use actormq_transports::{Multipart, SocketType};
///
/// let mut s = Stream::default();
/// let mut out = Outbox::default();
/// s.peer_joined(Peer::new(7, SocketType::Stream), &mut out).unwrap();
/// let got = s.recv(7, Multipart::from("hello\n"), &mut out).unwrap();
/// let id = got.frames()[0].clone();
/// let mut reply = Multipart::from("hi\n");
/// reply.push_front(id);
/// assert_eq!(s.send(reply, &|_| true, &mut out), SendOutcome::Sent);
/// assert_eq!(out.drain().collect::<Vec<_>>(), [(7, Multipart::from("hi\n"))]);
/// ```
#[derive(Debug, Default)]
pub struct Stream {
    ids: RoutingIds,
}

impl Stream {
    /// The id of a connected peer.
    pub fn routing_id(&self, peer: PeerId) -> Option<&Frame> {
        self.ids.id(peer)
    }
}

impl Pattern for Stream {
    fn socket_type(&self) -> SocketType {
        SocketType::Stream
    }

    fn peer_joined(&mut self, peer: Peer, _out: &mut Outbox) -> Result<(), String> {
        let id = self.ids.generate();
        self.ids.insert(id, peer.id);
        Ok(())
    }

    fn peer_left(&mut self, peer: PeerId) -> Vec<Multipart> {
        self.ids.remove(peer);
        Vec::new()
    }

    fn send(&mut self, msg: Multipart, room: &dyn Capacity, out: &mut Outbox) -> SendOutcome {
        let (id, frames) = match take_id(msg, "STREAM") {
            Ok(split) => split,
            Err(refused) => return refused,
        };
        let Some(peer) = self.ids.peer(&id) else {
            let why = format!("STREAM: no peer with id {id:02x?} (host unreachable)");
            let mut msg = Multipart::from(frames);
            msg.push_front(id);
            return SendOutcome::Refused(msg, why);
        };
        if !room.has_room(peer) {
            let mut msg = Multipart::from(frames);
            msg.push_front(id);
            return SendOutcome::Wait(msg);
        }
        out.push(peer, Multipart::from(frames));
        SendOutcome::Sent
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

    #[test]
    fn ids_route_both_ways_and_unknown_ids_are_refused() {
        let mut s = Stream::default();
        let mut out = Outbox::default();
        s.peer_joined(Peer::new(1, SocketType::Stream), &mut out)
            .unwrap();
        s.peer_joined(Peer::new(2, SocketType::Stream), &mut out)
            .unwrap();
        let (a, b) = (
            s.routing_id(1).unwrap().clone(),
            s.routing_id(2).unwrap().clone(),
        );
        assert_ne!(a, b);
        assert_eq!((a.len(), a[0]), (5, 0));
        let got = s.recv(2, Multipart::from("x"), &mut out).unwrap();
        assert_eq!(got.frames(), [b.clone(), Bytes::from("x")]);
        // close ([id, ""]) and half-close ([id]) pass through as what is left
        let close = Multipart::from(vec![b.clone(), Bytes::new()]);
        assert_eq!(s.send(close, &|_| true, &mut out), SendOutcome::Sent);
        let half = Multipart::from(vec![a.clone()]);
        assert_eq!(s.send(half, &|_| true, &mut out), SendOutcome::Sent);
        let sent: Vec<_> = out.drain().collect();
        assert_eq!(sent[0], (2, Multipart::from(vec![Bytes::new()])));
        assert_eq!(sent[1], (1, Multipart::new()));
        // a full peer waits; a gone one is refused
        let msg = Multipart::from(vec![a.clone(), Bytes::from("y")]);
        assert!(matches!(s.send(msg, &|_| false, &mut out), SendOutcome::Wait(m) if m.len() == 2));
        s.peer_left(1);
        let msg = Multipart::from(vec![a, Bytes::from("y")]);
        assert!(
            matches!(s.send(msg, &|_| true, &mut out), SendOutcome::Refused(_, why) if why.contains("host unreachable"))
        );
        assert!(s.recv(1, Multipart::from("late"), &mut out).is_none());
    }
}
