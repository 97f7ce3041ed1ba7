//! SUB (RFC 29/PUBSUB): sends its subscriptions to every publisher, including ones that arrive
//! later, and receives what matches them.

use actormq_transports::{Frame, Multipart, SocketType};

use crate::{
    cancel_message, subscribe_message, Capacity, Outbox, Pattern, Peer, PeerId, SendOutcome,
    Subscriptions,
};

/// The SUB pattern.
#[derive(Debug, Default)]
pub struct Sub {
    subscriptions: Subscriptions,
    peers: Vec<PeerId>,
}

impl Pattern for Sub {
    fn socket_type(&self) -> SocketType {
        SocketType::Sub
    }

    fn peer_joined(&mut self, peer: Peer, out: &mut Outbox) {
        for prefix in self.subscriptions.prefixes() {
            out.push(peer.id, subscribe_message(prefix));
        }
        self.peers.push(peer.id);
    }

    fn peer_left(&mut self, peer: PeerId) {
        self.peers.retain(|&p| p != peer);
    }

    fn send(&mut self, msg: Multipart, _room: &dyn Capacity, _out: &mut Outbox) -> SendOutcome {
        SendOutcome::Refused(
            msg,
            "SUB sockets cannot send (use subscribe, or an XSUB socket)".into(),
        )
    }

    fn recv(&mut self, _peer: PeerId, msg: Multipart, _out: &mut Outbox) -> Option<Multipart> {
        // Publishers filter already; filter again so a foreign publisher cannot flood us with
        // topics we did not ask for.
        let topic: &[u8] = msg.first().map(|f| &f[..]).unwrap_or(&[]);
        self.subscriptions.matches(topic).then_some(msg)
    }

    fn subscribe(&mut self, topic: Frame, out: &mut Outbox) -> Result<(), String> {
        self.subscriptions.add(&topic);
        for &peer in &self.peers {
            out.push(peer, subscribe_message(&topic));
        }
        Ok(())
    }

    fn unsubscribe(&mut self, topic: Frame, out: &mut Outbox) -> Result<(), String> {
        if self.subscriptions.remove(&topic) {
            for &peer in &self.peers {
                out.push(peer, cancel_message(&topic));
            }
        }
        Ok(())
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
        s.peer_joined(Peer::new(1, SocketType::Pub), &mut out);
        s.subscribe(Bytes::from_static(b"A"), &mut out).unwrap();
        assert_eq!(
            out.drain().collect::<Vec<_>>(),
            [(1, Multipart::from(vec![1u8, b'A']))]
        );
        s.peer_joined(Peer::new(2, SocketType::Pub), &mut out);
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
