//! DGRAM (libzmq's draft `ZMQ_DGRAM`): plain datagrams with their addresses. The link puts the
//! sender's address in front of each payload it receives; an outbound `[address, payload]`
//! goes out through the link that reaches that address best.

use actormq_transports::{Multipart, SocketType};

use crate::{Capacity, Outbox, Pattern, Peer, PeerId, SendOutcome};

/// The DGRAM pattern.
///
/// Its peers are the socket's datagram endpoints, not remote parties: one per bind (which may
/// send anywhere, its [`Peer::identity`] empty) and one per connect (its identity the address it
/// is connected to, the only one it hears from). `[address, payload...]` goes through the
/// endpoint connected to that address if there is one, else through the first bound one, else
/// the first connected one (which sends to other addresses too); with no endpoint yet, or at the
/// chosen one's high-water mark, the send waits. Inbound messages pass unchanged.
///
/// ```
/// use actormq_patterns::{Dgram, Outbox, Pattern, Peer, SendOutcome};
/// use actormq_transports::{Multipart, SocketType};
///
/// let mut d = Dgram::default();
/// let mut out = Outbox::default();
/// d.peer_joined(Peer::new(1, SocketType::Dgram), &mut out).unwrap();
/// let msg = Multipart::from(["127.0.0.1:9999", "hello"]);
/// assert_eq!(d.send(msg.clone(), &|_| true, &mut out), SendOutcome::Sent);
/// assert_eq!(out.drain().collect::<Vec<_>>(), [(1, msg)]);
/// ```
#[derive(Debug, Default)]
pub struct Dgram {
    /// The endpoints, in the order they came up.
    peers: Vec<Peer>,
}

impl Dgram {
    /// The endpoint a message to `address` goes through.
    fn route(&self, address: &[u8]) -> Option<PeerId> {
        let connected = self.peers.iter().find(|p| p.identity == address);
        let bound = self.peers.iter().find(|p| p.identity.is_empty());
        connected.or(bound).or(self.peers.first()).map(|p| p.id)
    }
}

impl Pattern for Dgram {
    fn socket_type(&self) -> SocketType {
        SocketType::Dgram
    }

    fn peer_joined(&mut self, peer: Peer, _out: &mut Outbox) -> Result<(), String> {
        self.peers.push(peer);
        Ok(())
    }

    fn peer_left(&mut self, peer: PeerId) -> Vec<Multipart> {
        self.peers.retain(|p| p.id != peer);
        Vec::new()
    }

    fn send(&mut self, msg: Multipart, room: &dyn Capacity, out: &mut Outbox) -> SendOutcome {
        if msg.len() < 2 {
            return SendOutcome::Refused(
                msg,
                "DGRAM: a message is [address, payload], e.g. [\"127.0.0.1:5555\", \"hi\"]".into(),
            );
        }
        match self.route(&msg.frames()[0]) {
            Some(peer) if room.has_room(peer) => {
                out.push(peer, msg);
                SendOutcome::Sent
            }
            _ => SendOutcome::Wait(msg),
        }
    }

    fn recv(&mut self, _peer: PeerId, msg: Multipart, _out: &mut Outbox) -> Option<Multipart> {
        Some(msg)
    }

    fn passes_inbound(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn endpoint(id: PeerId, connected_to: &'static str) -> Peer {
        Peer {
            id,
            socket_type: SocketType::Dgram,
            identity: Bytes::from_static(connected_to.as_bytes()),
        }
    }

    #[test]
    fn routes_to_the_connected_endpoint_else_a_bound_one_and_waits_without_any() {
        let mut d = Dgram::default();
        let mut out = Outbox::default();
        let to = |addr: &'static str| Multipart::from([addr, "x"]);
        assert!(matches!(
            d.send(to("10.0.0.1:1"), &|_| true, &mut out),
            SendOutcome::Wait(_)
        ));
        d.peer_joined(endpoint(1, "10.0.0.1:1"), &mut out).unwrap();
        // only a connected endpoint: it sends elsewhere too
        d.send(to("10.0.0.2:2"), &|_| true, &mut out);
        d.peer_joined(endpoint(2, ""), &mut out).unwrap();
        d.send(to("10.0.0.1:1"), &|_| true, &mut out);
        d.send(to("10.0.0.3:3"), &|_| true, &mut out);
        let routed: Vec<PeerId> = out.drain().map(|(p, _)| p).collect();
        assert_eq!(routed, [1, 1, 2]);
        assert!(matches!(
            d.send(to("10.0.0.3:3"), &|_| false, &mut out),
            SendOutcome::Wait(_)
        ));
        assert!(matches!(
            d.send(Multipart::from("no address"), &|_| true, &mut out),
            SendOutcome::Refused(_, why) if why.contains("[address, payload]")
        ));
        d.peer_left(2);
        d.send(to("10.0.0.3:3"), &|_| true, &mut out);
        assert_eq!(out.drain().next().map(|(p, _)| p), Some(1));
    }
}
