//! XSUB (RFC 29/PUBSUB): a subscriber whose subscriptions are messages the application sends
//! (`0x01topic`, `0x00topic`); they go to every publisher, including later ones.

use actormq_transports::{Frame, Multipart, SocketType};

use crate::{
    cancel_message, parse_subscription, subscribe_message, Capacity, Outbox, Pattern, Peer, PeerId,
    SendOutcome, SharedSubscriptions,
};

/// The XSUB pattern (and the core of SUB).
#[derive(Debug, Default)]
pub struct XSub {
    subscriptions: SharedSubscriptions,
    peers: Vec<PeerId>,
    /// Messages the application sent that a full publisher did not get.
    dropped: u64,
    /// How many of `dropped` [`Pattern::take_dropped`] has reported.
    reported: u64,
}

impl XSub {
    /// How many of the application's messages (subscriptions included) were dropped toward
    /// publishers whose queues were full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Adds a subscription and tells every publisher. Each subscribe is forwarded, as libzmq
    /// does, so that XPUB_VERBOSE works through chains of devices.
    pub(crate) fn add(&mut self, topic: &[u8], out: &mut Outbox) {
        self.subscriptions.write().add(topic);
        for &peer in &self.peers {
            out.push(peer, subscribe_message(topic));
        }
    }

    /// Removes one reference to a subscription; publishers hear of it when the last goes.
    pub(crate) fn remove(&mut self, topic: &[u8], out: &mut Outbox) {
        if self.subscriptions.write().remove(topic) {
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

    fn take_dropped(&mut self) -> u64 {
        let new = self.dropped - self.reported;
        self.reported = self.dropped;
        new
    }

    fn peer_joined(&mut self, peer: Peer, out: &mut Outbox) -> Result<(), String> {
        for prefix in self.subscriptions.read().prefixes() {
            out.push(peer.id, subscribe_message(&prefix));
        }
        self.peers.push(peer.id);
        Ok(())
    }

    fn peer_left(&mut self, peer: PeerId) -> Vec<Multipart> {
        self.peers.retain(|&p| p != peer);
        Vec::new()
    }

    /// What the application sends goes to every publisher that has room, as libzmq's XSUB
    /// does (its `dist_t`): toward a publisher whose queue stands at `sndhwm` the message is
    /// dropped, never queued past the mark, and sending never waits. A subscription still
    /// applies to what this socket lets through, and reaches every publisher that connects
    /// later; a publisher that missed one while full does not get it again.
    fn send(&mut self, msg: Multipart, room: &dyn Capacity, out: &mut Outbox) -> SendOutcome {
        let upstream = match parse_subscription(&msg) {
            Some((true, topic)) => {
                self.subscriptions.write().add(topic);
                true
            }
            Some((false, topic)) => self.subscriptions.write().remove(topic),
            // anything else goes upstream too, as libzmq's XSUB does
            None => true,
        };
        if upstream {
            for &peer in &self.peers {
                if room.has_room(peer) {
                    out.push(peer, msg.clone());
                } else {
                    self.dropped += 1;
                }
            }
        }
        SendOutcome::Sent
    }

    fn inbound_filter(&self) -> Option<SharedSubscriptions> {
        Some(self.subscriptions.clone())
    }

    fn recv(&mut self, _peer: PeerId, msg: Multipart, _out: &mut Outbox) -> Option<Multipart> {
        // Publishers filter already; filter again so a foreign publisher cannot flood us with
        // topics we did not ask for.
        let topic: &[u8] = msg.first().map(|f| &f[..]).unwrap_or(&[]);
        self.subscriptions.read().matches(topic).then_some(msg)
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

    /// A publisher that never reads: what goes toward it stays within its high-water mark
    /// (the room check the socket makes: queued < sndhwm), subscriptions and other messages
    /// alike, while a publisher that reads gets everything.
    #[test]
    fn sends_toward_a_full_publisher_respect_its_high_water_mark() {
        const SNDHWM: usize = 100;
        let mut x = XSub::default();
        let mut out = Outbox::default();
        x.peer_joined(Peer::new(1, SocketType::XPub), &mut out)
            .unwrap();
        x.peer_joined(Peer::new(2, SocketType::XPub), &mut out)
            .unwrap();
        let mut queued = [0usize; 3];
        for i in 0..10_000u32 {
            let msg = if i % 2 == 0 {
                subscribe_message(format!("topic{i}").as_bytes())
            } else {
                Multipart::from(["up", "stream"])
            };
            // peer 1 reads everything, peer 2 never reads
            let room = |p: PeerId| p == 1 || queued[2] < SNDHWM;
            assert_eq!(x.send(msg, &room, &mut out), SendOutcome::Sent);
            for (p, _) in out.drain() {
                queued[p as usize] += 1;
            }
        }
        assert_eq!(queued[1], 10_000);
        assert!(
            queued[2] <= SNDHWM,
            "{} queued toward a full peer",
            queued[2]
        );
        // the subscriptions still hold locally
        assert!(x.recv(1, Multipart::from("topic9998"), &mut out).is_some());
    }
}
