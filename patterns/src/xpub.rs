//! XPUB (RFC 29/PUBSUB): a publisher that shows the application its subscribers'
//! subscriptions, as `0x01topic` / `0x00topic` messages.

use bytes::Bytes;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use actormq_transports::{Multipart, SocketType};

use crate::subscriptions::Trie;
use crate::{
    cancel_message, parse_subscription, subscribe_message, Capacity, Outbox, Pattern,
    PatternOptions, Peer, PeerId, SendOutcome,
};

/// One subscriber's subscriptions, as a set (subscribing twice to a topic is one subscription).
#[derive(Debug)]
struct Subscriber {
    /// When the peer joined, relative to the others: messages go out in this order.
    seq: u64,
    /// The prefixes it holds.
    prefixes: HashSet<Bytes>,
    /// Their total length.
    bytes: usize,
    /// Subscriptions refused because the peer was at a limit.
    refused: u64,
}

/// The XPUB pattern (and, without delivery to the application, the PUB pattern).
///
/// Each subscriber's subscriptions are a set; across subscribers a topic is counted, so the
/// application hears of a topic when its first subscriber comes (every time, with
/// `xpub_verbose`) and of its cancellation when its last one goes or disconnects.
///
/// Subscriptions live in one byte trie for the whole socket, mapping each prefix to the peers
/// that hold it: applying a subscription costs time in its length, and routing a message walks
/// its topic once and finds the subscribers, whatever the number of other topics and peers.
///
/// **Limits.** A peer holds at most [`PatternOptions::max_subscriptions`] prefixes of at most
/// [`PatternOptions::max_subscription_bytes`] bytes in total. A subscription beyond a limit is
/// refused: it is not stored, the peer receives nothing for it, and the application does not
/// hear of it. The first refusal for a peer is logged (`tracing` warning); the peer stays
/// connected and its other subscriptions keep working, as a cancel makes room again.
#[derive(Debug)]
pub struct XPub {
    /// Prefix → the peers holding it (in no order; never empty).
    routes: Trie<Vec<PeerId>>,
    subscribers: HashMap<PeerId, Subscriber>,
    next_seq: u64,
    verbose: bool,
    deliver: bool,
    /// Wait for room at every matching subscriber instead of dropping (`ZMQ_XPUB_NODROP`).
    nodrop: bool,
    max_subscriptions: usize,
    max_subscription_bytes: usize,
    /// The matching peers of the message being routed, by join order (kept for its capacity).
    scratch: Vec<(u64, PeerId)>,
    /// Copies dropped for a matching subscriber at its high-water mark, not yet reported.
    dropped: u64,
}

impl XPub {
    /// An XPUB; `verbose` passes on every subscribe, not only the first of a topic. Each peer
    /// has the default limits of [`PatternOptions`].
    pub fn new(verbose: bool) -> Self {
        let defaults = PatternOptions::default();
        XPub {
            routes: Trie::default(),
            subscribers: HashMap::default(),
            next_seq: 0,
            verbose,
            deliver: true,
            nodrop: false,
            max_subscriptions: defaults.max_subscriptions,
            max_subscription_bytes: defaults.max_subscription_bytes,
            dropped: 0,
            scratch: Vec::new(),
        }
    }

    /// Sets the limits per peer: how many prefixes, and how many bytes of them in total.
    pub fn with_limits(mut self, max_subscriptions: usize, max_subscription_bytes: usize) -> Self {
        self.max_subscriptions = max_subscriptions;
        self.max_subscription_bytes = max_subscription_bytes;
        self
    }

    /// With `nodrop`, a message whose matching subscribers are not all below their high-water
    /// mark is not sent to any of them: [`Pattern::send`] answers [`SendOutcome::Wait`], and the
    /// socket offers it again when they have room (`ZMQ_XPUB_NODROP`). Without, it goes to
    /// those with room and is dropped (and counted) for the others.
    pub fn with_nodrop(mut self, nodrop: bool) -> Self {
        self.nodrop = nodrop;
        self
    }

    /// A PUB: subscriptions are applied, never delivered.
    pub(crate) fn silent() -> Self {
        XPub {
            deliver: false,
            ..XPub::new(false)
        }
    }

    /// How many subscriptions of `peer` were refused because it was at a limit.
    pub fn refused(&self, peer: PeerId) -> u64 {
        self.subscribers.get(&peer).map_or(0, |s| s.refused)
    }

    fn apply(&mut self, peer: PeerId, subscribe: bool, topic: &[u8]) -> Option<Multipart> {
        let subs = self.subscribers.get_mut(&peer)?;
        let tell = if subscribe {
            if subs.prefixes.contains(topic) {
                self.verbose
            } else if subs.prefixes.len() >= self.max_subscriptions
                || subs.bytes.saturating_add(topic.len()) > self.max_subscription_bytes
            {
                if subs.refused == 0 {
                    tracing::warn!(
                        peer,
                        subscriptions = subs.prefixes.len(),
                        bytes = subs.bytes,
                        max_subscriptions = self.max_subscriptions,
                        max_subscription_bytes = self.max_subscription_bytes,
                        "subscriber at its limit: further subscriptions are ignored"
                    );
                }
                subs.refused += 1;
                false
            } else {
                subs.prefixes.insert(Bytes::copy_from_slice(topic));
                subs.bytes += topic.len();
                let holders = self.routes.get_or_insert_with(topic, Vec::new);
                holders.push(peer);
                holders.len() == 1 || self.verbose
            }
        } else if subs.prefixes.remove(topic) {
            subs.bytes -= topic.len();
            self.routes
                .update_or_remove(topic, |holders| {
                    holders.retain(|&p| p != peer);
                    holders.is_empty()
                })
                .unwrap_or(false)
        } else {
            false
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

    fn applies_inbound(&self) -> bool {
        true
    }

    fn peer_joined(&mut self, peer: Peer, _out: &mut Outbox) -> Result<(), String> {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.subscribers.entry(peer.id).or_insert(Subscriber {
            seq,
            prefixes: HashSet::default(),
            bytes: 0,
            refused: 0,
        });
        Ok(())
    }

    fn peer_left(&mut self, peer: PeerId) -> Vec<Multipart> {
        let Some(subs) = self.subscribers.remove(&peer) else {
            return Vec::new();
        };
        let mut gone = Vec::new();
        for topic in subs.prefixes {
            let last = self
                .routes
                .update_or_remove(&topic, |holders| {
                    holders.retain(|&p| p != peer);
                    holders.is_empty()
                })
                .unwrap_or(false);
            if last && self.deliver {
                gone.push(cancel_message(&topic));
            }
        }
        gone
    }

    fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }

    fn send(&mut self, msg: Multipart, room: &dyn Capacity, out: &mut Outbox) -> SendOutcome {
        let topic: &[u8] = msg.first().map(|f| &f[..]).unwrap_or(&[]);
        let scratch = &mut self.scratch;
        let subscribers = &self.subscribers;
        scratch.clear();
        self.routes.for_each_prefix_of(topic, |holders| {
            for &p in holders {
                if let Some(s) = subscribers.get(&p) {
                    scratch.push((s.seq, p));
                }
            }
        });
        if scratch.len() > 1 {
            // a peer may hold several prefixes of the topic: once each, in join order
            scratch.sort_unstable();
            scratch.dedup();
        }
        if self.nodrop && scratch.iter().any(|&(_, peer)| !room.has_room(peer)) {
            return SendOutcome::Wait(msg);
        }
        // the last recipient takes the message itself, the others a clone
        let mut last = None;
        for &(_, peer) in scratch.iter() {
            if self.nodrop || room.has_room(peer) {
                if let Some(earlier) = last.replace(peer) {
                    out.push(earlier, msg.clone());
                }
            } else {
                self.dropped += 1;
            }
        }
        match last {
            Some(peer) => {
                out.push(peer, msg);
                SendOutcome::Sent
            }
            None => SendOutcome::Dropped,
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

    #[test]
    fn a_peer_matching_several_prefixes_gets_a_message_once_in_join_order() {
        let mut x = XPub::new(false);
        let mut out = Outbox::default();
        join(&mut x, &[7, 3, 5]);
        for t in [&b"a"[..], b"ab", b""] {
            x.recv(5, subscribe_message(t), &mut out);
        }
        x.recv(3, subscribe_message(b"abc"), &mut out);
        x.recv(7, subscribe_message(b"ab"), &mut out);
        x.send(Multipart::from("abcd"), &|_| true, &mut out);
        assert_eq!(out.drain().map(|(p, _)| p).collect::<Vec<_>>(), [7, 3, 5]);
        x.send(Multipart::from("b"), &|_| true, &mut out);
        assert_eq!(out.drain().map(|(p, _)| p).collect::<Vec<_>>(), [5]);
        // a peer's cancel removes only its own hold
        x.recv(7, cancel_message(b"ab"), &mut out);
        x.send(Multipart::from("abcd"), &|_| true, &mut out);
        assert_eq!(out.drain().map(|(p, _)| p).collect::<Vec<_>>(), [3, 5]);
    }

    #[test]
    fn nodrop_waits_until_every_matching_subscriber_has_room() {
        let mut x = XPub::new(false).with_nodrop(true);
        let mut out = Outbox::default();
        join(&mut x, &[1, 2, 3]);
        x.recv(1, subscribe_message(b"a"), &mut out);
        x.recv(2, subscribe_message(b""), &mut out);
        x.recv(3, subscribe_message(b"b"), &mut out);
        // peer 3 is full, but does not match "a": 1 and 2 get it
        assert_eq!(
            x.send(Multipart::from("a1"), &|p| p != 3, &mut out),
            SendOutcome::Sent
        );
        assert_eq!(out.drain().map(|(p, _)| p).collect::<Vec<_>>(), [1, 2]);
        // peer 2 is full and matches: nobody gets it, the message comes back to wait
        assert_eq!(
            x.send(Multipart::from("a2"), &|p| p != 2, &mut out),
            SendOutcome::Wait(Multipart::from("a2"))
        );
        assert!(out.is_empty());
        assert_eq!(x.take_dropped(), 0, "nothing was dropped");
        // without nodrop the same message is dropped for peer 2 alone, and counted
        let mut lossy = XPub::new(false);
        join(&mut lossy, &[1, 2]);
        lossy.recv(1, subscribe_message(b"a"), &mut out);
        lossy.recv(2, subscribe_message(b""), &mut out);
        assert_eq!(
            lossy.send(Multipart::from("a2"), &|p| p != 2, &mut out),
            SendOutcome::Sent
        );
        assert_eq!(out.drain().map(|(p, _)| p).collect::<Vec<_>>(), [1]);
        assert_eq!(lossy.take_dropped(), 1);
    }

    #[test]
    fn a_peer_beyond_its_limits_is_refused_further_subscriptions() {
        let mut x = XPub::new(false).with_limits(3, 8);
        let mut out = Outbox::default();
        join(&mut x, &[1, 2]);
        for t in [&b"a"[..], b"b", b"c"] {
            assert!(x.recv(1, subscribe_message(t), &mut out).is_some());
        }
        // a fourth prefix is over the count: not stored, not delivered
        assert_eq!(x.recv(1, subscribe_message(b"d"), &mut out), None);
        assert_eq!(x.refused(1), 1);
        x.send(Multipart::from("d"), &|_| true, &mut out);
        assert!(out.is_empty());
        // the same prefix again is no new subscription
        assert_eq!(x.recv(1, subscribe_message(b"a"), &mut out), None);
        assert_eq!(x.refused(1), 1);
        // a cancel makes room again
        assert!(x.recv(1, cancel_message(b"c"), &mut out).is_some());
        assert!(x.recv(1, subscribe_message(b"d"), &mut out).is_some());
        // bytes: 8 in all, for peer 2 ("12345678" fits, one more byte does not)
        assert!(x
            .recv(2, subscribe_message(b"12345678"), &mut out)
            .is_some());
        assert_eq!(x.recv(2, subscribe_message(b"x"), &mut out), None);
        assert_eq!(x.refused(2), 1);
        // the other peer's subscriptions are not affected
        x.send(Multipart::from("d1"), &|_| true, &mut out);
        assert_eq!(out.drain().map(|(p, _)| p).collect::<Vec<_>>(), [1]);
    }

    /// 100 000 subscriptions from one peer (at a raised limit) leave another peer's routing
    /// unaffected: matching walks the topic once (asserted on the trie's node visits).
    #[test]
    fn many_subscriptions_from_one_peer_do_not_slow_another() {
        let mut x = XPub::new(false).with_limits(200_000, 8 << 20);
        let mut out = Outbox::default();
        join(&mut x, &[1, 2]);
        let mut bytes = 0u64;
        for i in 0..100_000u32 {
            let t = format!("t{i:06}");
            bytes += t.len() as u64;
            assert!(x
                .recv(1, subscribe_message(t.as_bytes()), &mut out)
                .is_some());
        }
        assert!(
            x.routes.visits.load(std::sync::atomic::Ordering::Relaxed) <= bytes,
            "applying visits each prefix byte once"
        );
        x.recv(2, subscribe_message(b"news"), &mut out);
        x.routes
            .visits
            .store(0, std::sync::atomic::Ordering::Relaxed);
        x.send(Multipart::from("news.today"), &|_| true, &mut out);
        assert_eq!(out.drain().map(|(p, _)| p).collect::<Vec<_>>(), [2]);
        x.send(Multipart::from("t012345"), &|_| true, &mut out);
        assert_eq!(out.drain().map(|(p, _)| p).collect::<Vec<_>>(), [1]);
        assert!(
            x.routes.visits.load(std::sync::atomic::Ordering::Relaxed) <= 10 + 7,
            "{}",
            x.routes.visits.load(std::sync::atomic::Ordering::Relaxed)
        );
        // the subscriber leaves: everything it held goes, with a cancel for each
        assert_eq!(x.peer_left(1).len(), 100_000);
        assert_eq!(x.routes.len(), 1);
    }
}
