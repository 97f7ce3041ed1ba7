//! XPUB (RFC 29/PUBSUB): a publisher that shows the application its subscribers'
//! subscriptions, as `0x01topic` / `0x00topic` messages.

use rustc_hash::FxHashMap as HashMap;

use actormq_transports::{Multipart, SocketType};

use crate::{
    cancel_message, parse_subscription, subscribe_message, Capacity, Outbox, Pattern, Peer, PeerId,
    SendOutcome, Subscriptions,
};

/// The XPUB pattern (and, without delivery to the application, the PUB pattern).
///
/// Each subscriber's subscriptions are a set; across subscribers a topic is counted, so the
/// application hears of a topic when its first subscriber comes (every time, with
/// `xpub_verbose`) and of its cancellation when its last one goes or disconnects.
#[derive(Debug)]
pub struct XPub {
    subscribers: HashMap<PeerId, Subscriptions>,
    order: Vec<PeerId>,
    topics: Subscriptions,
    verbose: bool,
    deliver: bool,
}

impl XPub {
    /// An XPUB; `verbose` passes on every subscribe, not only the first of a topic.
    pub fn new(verbose: bool) -> Self {
        XPub {
            subscribers: HashMap::default(),
            order: Vec::new(),
            topics: Subscriptions::default(),
            verbose,
            deliver: true,
        }
    }

    /// A PUB: subscriptions are applied, never delivered.
    pub(crate) fn silent() -> Self {
        XPub {
            deliver: false,
            ..XPub::new(false)
        }
    }

    fn apply(&mut self, peer: PeerId, subscribe: bool, topic: &[u8]) -> Option<Multipart> {
        let subs = self.subscribers.get_mut(&peer)?;
        let tell = if subscribe {
            if subs.contains(topic) {
                self.verbose
            } else {
                subs.add(topic);
                self.topics.add(topic) || self.verbose
            }
        } else {
            subs.remove_all(topic) && self.topics.remove(topic)
        };
        let msg = if subscribe {
            subscribe_message(topic)
        } else {
            cancel_message(topic)
        };
        (tell && self.deliver).then_some(msg)
    }
}

impl Pattern for XPub {
    fn socket_type(&self) -> SocketType {
        if self.deliver {
            SocketType::XPub
        } else {
            SocketType::Pub
        }
    }

    fn peer_joined(&mut self, peer: Peer, _out: &mut Outbox) -> Result<(), String> {
        self.subscribers.entry(peer.id).or_default();
        self.order.push(peer.id);
        Ok(())
    }

    fn peer_left(&mut self, peer: PeerId) -> Vec<Multipart> {
        self.order.retain(|&p| p != peer);
        let Some(subs) = self.subscribers.remove(&peer) else {
            return Vec::new();
        };
        let mut gone = Vec::new();
        for topic in subs.prefixes() {
            if self.topics.remove(topic) && self.deliver {
                gone.push(cancel_message(topic));
            }
        }
        gone
    }

    fn send(&mut self, msg: Multipart, room: &dyn Capacity, out: &mut Outbox) -> SendOutcome {
        let topic: &[u8] = msg.first().map(|f| &f[..]).unwrap_or(&[]);
        let mut sent = false;
        for &peer in &self.order {
            let matches = self
                .subscribers
                .get(&peer)
                .is_some_and(|s| s.matches(topic));
            if matches && room.has_room(peer) {
                out.push(peer, msg.clone());
                sent = true;
            }
        }
        if sent {
            SendOutcome::Sent
        } else {
            SendOutcome::Dropped
        }
    }

    fn recv(&mut self, peer: PeerId, msg: Multipart, _out: &mut Outbox) -> Option<Multipart> {
        match parse_subscription(&msg) {
            Some((subscribe, topic)) => {
                let topic = topic.to_vec();
                self.apply(peer, subscribe, &topic)
            }
            // Other messages from subscribers reach an XPUB application (libzmq passes them on);
            // a PUB ignores them.
            None => self.deliver.then_some(msg),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(x: &mut XPub, ids: &[PeerId]) {
        let mut out = Outbox::default();
        for &id in ids {
            x.peer_joined(Peer::new(id, SocketType::Sub), &mut out)
                .unwrap();
        }
    }

    #[test]
    fn the_application_sees_first_subscriptions_and_last_cancels() {
        let mut x = XPub::new(false);
        let mut out = Outbox::default();
        join(&mut x, &[1, 2]);
        assert_eq!(
            x.recv(1, subscribe_message(b"a"), &mut out),
            Some(subscribe_message(b"a"))
        );
        assert_eq!(
            x.recv(2, subscribe_message(b"a"), &mut out),
            None,
            "not the first for `a`"
        );
        assert_eq!(
            x.recv(1, subscribe_message(b"a"), &mut out),
            None,
            "duplicate from the same peer"
        );
        assert_eq!(
            x.recv(1, cancel_message(b"a"), &mut out),
            None,
            "peer 2 still holds `a`"
        );
        assert_eq!(
            x.send(Multipart::from("a1"), &|_| true, &mut out),
            SendOutcome::Sent
        );
        assert_eq!(out.drain().map(|(p, _)| p).collect::<Vec<_>>(), [2]);
        // the last holder disconnects: the application hears the cancel
        assert_eq!(x.peer_left(2), vec![cancel_message(b"a")]);
        assert_eq!(
            x.recv(1, Multipart::from(["up", "stream"]), &mut out),
            Some(Multipart::from(["up", "stream"]))
        );
    }

    #[test]
    fn verbose_passes_every_subscribe() {
        let mut x = XPub::new(true);
        let mut out = Outbox::default();
        join(&mut x, &[1, 2]);
        assert!(x.recv(1, subscribe_message(b"a"), &mut out).is_some());
        assert!(x.recv(2, subscribe_message(b"a"), &mut out).is_some());
        assert!(x.recv(2, subscribe_message(b"a"), &mut out).is_some());
    }
}
