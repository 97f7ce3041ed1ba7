//! XSUB (RFC 29/PUBSUB): a subscriber whose subscriptions are messages the application sends
//! (`0x01topic`, `0x00topic`); they go to every publisher, including later ones.

use actormq_transports::{Frame, Multipart, SocketType};

use crate::{
    cancel_message, parse_subscription, subscribe_message, Capacity, Outbox, Pattern, Peer, PeerId,
    SendOutcome, Subscriptions,
};

/// The XSUB pattern (and the core of SUB).
#[derive(Debug, Default)]
pub struct XSub {
    subscriptions: Subscriptions,
    peers: Vec<PeerId>,
}

impl XSub {
    /// Adds a subscription and tells every publisher. Each subscribe is forwarded, as libzmq
    /// does, so that XPUB_VERBOSE works through chains of devices.
    pub(crate) fn add(&mut self, topic: &[u8], out: &mut Outbox) {
        self.subscriptions.add(topic);
        for &peer in &self.peers {
            out.push(peer, subscribe_message(topic));
        }
    }

    /// Removes one reference to a subscription; publishers hear of it when the last goes.
    pub(crate) fn remove(&mut self, topic: &[u8], out: &mut Outbox) {
        if self.subscriptions.remove(topic) {
            for &peer in &self.peers {
                out.push(peer, cancel_message(topic));
            }
        }
    }
}

impl Pattern for XSub {
    fn socket_type(&self) -> SocketType {
        SocketType::XSub
    }

    fn peer_joined(&mut self, peer: Peer, out: &mut Outbox) -> Result<(), String> {
        for prefix in self.subscriptions.prefixes() {
            out.push(peer.id, subscribe_message(&prefix));
        }
        self.peers.push(peer.id);
        Ok(())
    }

    fn peer_left(&mut self, peer: PeerId) -> Vec<Multipart> {
        self.peers.retain(|&p| p != peer);
        Vec::new()
    }

    fn send(&mut self, msg: Multipart, _room: &dyn Capacity, out: &mut Outbox) -> SendOutcome {
        match parse_subscription(&msg) {
            Some((true, topic)) => {
                let topic = topic.to_vec();
                self.add(&topic, out);
            }
            Some((false, topic)) => {
                let topic = topic.to_vec();
                self.remove(&topic, out);
            }
            // anything else goes upstream to every publisher, as libzmq's XSUB does
            None => {
                for &peer in &self.peers {
                    out.push(peer, msg.clone());
                }
            }
        }
        SendOutcome::Sent
    }

    fn recv(&mut self, _peer: PeerId, msg: Multipart, _out: &mut Outbox) -> Option<Multipart> {
        // Publishers filter already; filter again so a foreign publisher cannot flood us with
        // topics we did not ask for.
        let topic: &[u8] = msg.first().map(|f| &f[..]).unwrap_or(&[]);
        self.subscriptions.matches(topic).then_some(msg)
    }

    fn subscribe(&mut self, topic: Frame, out: &mut Outbox) -> Result<(), String> {
        self.add(&topic, out);
        Ok(())
    }

    fn unsubscribe(&mut self, topic: Frame, out: &mut Outbox) -> Result<(), String> {
        self.remove(&topic, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_are_messages_the_application_sends() {
        let mut x = XSub::default();
        let mut out = Outbox::default();
        x.peer_joined(Peer::new(1, SocketType::Pub), &mut out)
            .unwrap();
        assert_eq!(
            x.send(subscribe_message(b"ab"), &|_| true, &mut out),
            SendOutcome::Sent
        );
        assert_eq!(
            out.drain().collect::<Vec<_>>(),
            [(1, subscribe_message(b"ab"))]
        );
        assert!(x.recv(1, Multipart::from("abc"), &mut out).is_some());
        assert!(x.recv(1, Multipart::from("x"), &mut out).is_none());
        // a later publisher gets the subscription too
        x.peer_joined(Peer::new(2, SocketType::XPub), &mut out)
            .unwrap();
        assert_eq!(
            out.drain().collect::<Vec<_>>(),
            [(2, subscribe_message(b"ab"))]
        );
        // other messages go upstream to all
        x.send(Multipart::from(["hello", "up"]), &|_| true, &mut out);
        assert_eq!(out.drain().count(), 2);
        x.send(cancel_message(b"ab"), &|_| true, &mut out);
        assert_eq!(
            out.drain().map(|(_, m)| m).collect::<Vec<_>>(),
            [cancel_message(b"ab"), cancel_message(b"ab")]
        );
        assert!(x.recv(1, Multipart::from("abc"), &mut out).is_none());
    }
}
