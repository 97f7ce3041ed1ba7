//! SUB (RFC 29/PUBSUB): sends its subscriptions to every publisher, including ones that arrive
//! later, and receives what matches them. It is an XSUB that the application cannot send on.

use actormq_transports::{Frame, Multipart, SocketType};

use crate::{Capacity, Outbox, Pattern, Peer, PeerId, SendOutcome, SharedSubscriptions, XSub};

/// The SUB pattern.
#[derive(Debug, Default)]
pub struct Sub(XSub);

impl Pattern for Sub {
    fn socket_type(&self) -> SocketType {
        SocketType::Sub
    }

    fn peer_joined(&mut self, peer: Peer, out: &mut Outbox) -> Result<(), String> {
        self.0.peer_joined(peer, out)
    }

    fn peer_left(&mut self, peer: PeerId) -> Vec<Multipart> {
        self.0.peer_left(peer)
    }

    fn send(&mut self, msg: Multipart, _room: &dyn Capacity, _out: &mut Outbox) -> SendOutcome {
        SendOutcome::Refused(
            msg,
            "SUB sockets cannot send (use subscribe, or an XSUB socket)".into(),
        )
    }

    fn recv(&mut self, peer: PeerId, msg: Multipart, out: &mut Outbox) -> Option<Multipart> {
        self.0.recv(peer, msg, out)
    }

    fn inbound_filter(&self) -> Option<SharedSubscriptions> {
        self.0.inbound_filter()
    }

    fn subscribe(&mut self, topic: Frame, out: &mut Outbox) -> Result<(), String> {
        self.0.subscribe(topic, out)
    }

    fn unsubscribe(&mut self, topic: Frame, out: &mut Outbox) -> Result<(), String> {
        self.0.unsubscribe(topic, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn subscriptions_reach_current_and_later_peers_and_filter() {
        let mut s = Sub::default();
        let mut out = Outbox::default();
        s.peer_joined(Peer::new(1, SocketType::Pub), &mut out)
            .unwrap();
        s.subscribe(Bytes::from_static(b"A"), &mut out).unwrap();
        assert_eq!(
            out.drain().collect::<Vec<_>>(),
            [(1, Multipart::from(vec![1u8, b'A']))]
        );
        s.peer_joined(Peer::new(2, SocketType::Pub), &mut out)
            .unwrap();
        assert_eq!(
            out.drain().collect::<Vec<_>>(),
            [(2, Multipart::from(vec![1u8, b'A']))]
        );
        assert_eq!(
            s.recv(1, Multipart::from("AB"), &mut out),
            Some(Multipart::from("AB"))
        );
        assert_eq!(s.recv(1, Multipart::from("B"), &mut out), None);
        // counted: two subscribes need two unsubscribes before CANCEL goes out
        s.subscribe(Bytes::from_static(b"A"), &mut out).unwrap();
        out.drain().count();
        s.unsubscribe(Bytes::from_static(b"A"), &mut out).unwrap();
        assert!(out.is_empty());
        s.unsubscribe(Bytes::from_static(b"A"), &mut out).unwrap();
        let cancels: Vec<_> = out.drain().collect();
        assert_eq!(cancels.len(), 2);
        assert_eq!(cancels[0].1, Multipart::from(vec![0u8, b'A']));
        assert_eq!(s.recv(1, Multipart::from("AB"), &mut out), None);
        assert!(matches!(
            s.send(Multipart::from("x"), &|_| true, &mut out),
            SendOutcome::Refused(..)
        ));
    }
}
