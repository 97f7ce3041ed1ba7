//! Routing ids, as ROUTER and STREAM keep them: each peer's id both ways, and fresh ids made
//! as libzmq makes them.

use rustc_hash::FxHashMap as HashMap;

use actormq_transports::{Frame, Multipart};
use bytes::Bytes;

use crate::{PeerId, SendOutcome};

/// The ids of a socket's peers, both ways.
#[derive(Debug)]
pub(crate) struct RoutingIds {
    by_id: HashMap<Frame, PeerId>,
    ids: HashMap<PeerId, Frame>,
    next: u32,
}

impl Default for RoutingIds {
    fn default() -> Self {
        // libzmq starts its counter at a random value; any start will do as long as it is
        // unlikely to repeat across restarts of a peer's counterpart
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0x1234_5678);
        RoutingIds {
            by_id: HashMap::default(),
            ids: HashMap::default(),
            next: seed,
        }
    }
}

impl RoutingIds {
    /// A fresh id no peer holds: 5 bytes, 0x00 and a 32-bit counter, as libzmq's.
    pub(crate) fn generate(&mut self) -> Frame {
        loop {
            self.next = self.next.wrapping_add(1);
            let mut id = vec![0u8];
            id.extend_from_slice(&self.next.to_be_bytes());
            let id = Bytes::from(id);
            if !self.by_id.contains_key(&id) {
                return id;
            }
        }
    }

    /// The peer holding `id`.
    pub(crate) fn peer(&self, id: &Frame) -> Option<PeerId> {
        self.by_id.get(id).copied()
    }

    /// The id of `peer`.
    pub(crate) fn id(&self, peer: PeerId) -> Option<&Frame> {
        self.ids.get(&peer)
    }

    /// Gives `id` to `peer`; a peer that held it before keeps its connection but can no longer
    /// be addressed.
    pub(crate) fn insert(&mut self, id: Frame, peer: PeerId) {
        if let Some(holder) = self.by_id.insert(id.clone(), peer) {
            self.ids.remove(&holder);
        }
        self.ids.insert(peer, id);
    }

    /// Forgets `peer` and its id.
    pub(crate) fn remove(&mut self, peer: PeerId) {
        if let Some(id) = self.ids.remove(&peer) {
            self.by_id.remove(&id);
        }
    }
}

/// Splits an outbound message into the id it is addressed to and the rest; a message without
/// frames is refused, the reason naming the socket type (`what`).
pub(crate) fn take_id(msg: Multipart, what: &str) -> Result<(Frame, Vec<Frame>), SendOutcome> {
    let mut frames = msg.into_vec();
    if frames.is_empty() {
        return Err(SendOutcome::Refused(
            Multipart::new(),
            format!("{what}: a message needs a routing id frame first"),
        ));
    }
    let id = frames.remove(0);
    Ok((id, frames))
}
