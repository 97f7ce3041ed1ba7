//! REQ (RFC 28/REQREP): one request at a time, round-robin over the peers, each request in an
//! envelope of one empty delimiter frame; only the reply from the peer asked is accepted.

use actormq_transports::{Frame, Multipart, SocketType};
use bytes::Bytes;

use crate::envelope::wrap;
use crate::{Capacity, FairQueue, Outbox, Pattern, Peer, PeerId, SendOutcome, Turn};

/// The REQ pattern.
///
/// With `relaxed` a new request may be sent before the reply to the last one: the earlier
/// request is abandoned. With `correlate` each request carries a 4-byte request id in front of
/// the delimiter and only a reply that brings it back is accepted, so a late reply to an
/// abandoned request can never be taken for the current one. Together they give the "lazy
/// pirate" client: send, wait a while, send again (to the next peer) if no reply came.
///
/// Whose turn it is (send or receive) is a [`Turn`], checked by [`Pattern::send`] and ended by
/// accepting the reply, until a host takes it over ([`Pattern::take_turn`]) to check it where
/// the application calls.
#[derive(Debug)]
pub struct Req {
    peers: FairQueue,
    /// The peer asked last and the request id expected back: where a reply may come from.
    expecting: Option<(PeerId, Option<Frame>)>,
    /// The alternation, while this pattern enforces it (not taken by a host).
    turn: Option<Turn>,
    correlate: bool,
    next_request_id: u32,
}

impl Req {
    /// A REQ with libzmq's `req_relaxed` and `req_correlate` behaviours on or off.
    pub fn new(relaxed: bool, correlate: bool) -> Self {
        Req {
            peers: FairQueue::default(),
            expecting: None,
            turn: Some(Turn::new(SocketType::Req, relaxed)),
            correlate,
            next_request_id: 1,
        }
    }
}

impl Pattern for Req {
    fn socket_type(&self) -> SocketType {
        SocketType::Req
    }

    fn peer_joined(&mut self, peer: Peer, _out: &mut Outbox) -> Result<(), String> {
        self.peers.add(peer.id);
        Ok(())
    }

    fn peer_left(&mut self, peer: PeerId) -> Vec<Multipart> {
        self.peers.remove(peer);
        Vec::new()
    }

    fn send(&mut self, msg: Multipart, room: &dyn Capacity, out: &mut Outbox) -> SendOutcome {
        if let Some(Err(why)) = self.turn.as_ref().map(Turn::check_send) {
            return SendOutcome::Refused(msg, format!("REQ: {why}"));
        }
        let Some(peer) = self.peers.next_where(|p| room.has_room(p)) else {
            return SendOutcome::Wait(msg);
        };
        let mut envelope = Vec::with_capacity(2);
        let id = self.correlate.then(|| {
            let id = Bytes::copy_from_slice(&self.next_request_id.to_be_bytes());
            self.next_request_id = self.next_request_id.wrapping_add(1);
            id
        });
        if let Some(id) = &id {
            envelope.push(id.clone());
        }
        envelope.push(Bytes::new());
        out.push(peer, wrap(envelope, msg));
        self.expecting = Some((peer, id));
        if let Some(turn) = &self.turn {
            turn.sent();
        }
        SendOutcome::Sent
    }

    fn recv(&mut self, peer: PeerId, msg: Multipart, _out: &mut Outbox) -> Option<Multipart> {
        let (asked, id) = self.expecting.as_ref()?;
        if *asked != peer {
            return None;
        }
        let mut frames = msg.into_iter();
        if let Some(id) = id {
            if frames.next().as_ref() != Some(id) {
                return None;
            }
        }
        if !frames.next()?.is_empty() {
            return None;
        }
        self.expecting = None;
        if let Some(turn) = &self.turn {
            turn.received();
        }
        Some(frames.collect())
    }

    fn take_turn(&mut self) -> Option<Turn> {
        self.turn.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_peers(req: &mut Req) {
        let mut out = Outbox::default();
        req.peer_joined(Peer::new(1, SocketType::Rep), &mut out)
            .unwrap();
        req.peer_joined(Peer::new(2, SocketType::Rep), &mut out)
            .unwrap();
    }

    #[test]
    fn strict_alternation_envelope_and_round_robin() {
        let mut r = Req::new(false, false);
        two_peers(&mut r);
        let mut out = Outbox::default();
        assert_eq!(
            r.send(Multipart::from("a"), &|_| true, &mut out),
            SendOutcome::Sent
        );
        assert_eq!(
            out.drain().collect::<Vec<_>>(),
            [(1, Multipart::from(["", "a"]))]
        );
        assert!(matches!(
            r.send(Multipart::from("b"), &|_| true, &mut out),
            SendOutcome::Refused(..)
        ));
        // a reply from the wrong peer, or without a delimiter, is dropped
        assert_eq!(r.recv(2, Multipart::from(["", "x"]), &mut out), None);
        assert_eq!(r.recv(1, Multipart::from(["x"]), &mut out), None);
        assert_eq!(
            r.recv(1, Multipart::from(["", "A"]), &mut out),
            Some(Multipart::from("A"))
        );
        // no second reply accepted
        assert_eq!(r.recv(1, Multipart::from(["", "A"]), &mut out), None);
        r.send(Multipart::from("b"), &|_| true, &mut out);
        assert_eq!(out.drain().next().map(|(p, _)| p), Some(2));
    }

    #[test]
    fn relaxed_and_correlated_ignores_the_late_reply() {
        let mut r = Req::new(true, true);
        two_peers(&mut r);
        let mut out = Outbox::default();
        r.send(Multipart::from("q"), &|_| true, &mut out);
        let (_, first) = out.drain().next().unwrap();
        assert_eq!(first.len(), 3);
        assert_eq!(first.frames()[0].len(), 4);
        // no answer: ask again, this time peer 2
        assert_eq!(
            r.send(Multipart::from("q"), &|_| true, &mut out),
            SendOutcome::Sent
        );
        let (peer, second) = out.drain().next().unwrap();
        assert_eq!(peer, 2);
        assert_ne!(first.frames()[0], second.frames()[0]);
        // the late reply to the first request is not taken
        let late = Multipart::from([first.frames()[0].clone(), Bytes::new(), Bytes::from("old")]);
        assert_eq!(r.recv(1, late, &mut out), None);
        let wrong_id =
            Multipart::from([first.frames()[0].clone(), Bytes::new(), Bytes::from("old")]);
        assert_eq!(r.recv(2, wrong_id, &mut out), None);
        let right = Multipart::from([second.frames()[0].clone(), Bytes::new(), Bytes::from("new")]);
        assert_eq!(r.recv(2, right, &mut out), Some(Multipart::from("new")));
    }
}
