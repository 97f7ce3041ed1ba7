//! Round-robin over a changing set of peers: PUSH's load balancing and the socket's fair
//! queueing of inbound messages share it.

use crate::PeerId;

/// A round-robin cursor over peers.
///
/// ```
/// use actormq_patterns::FairQueue;
///
/// let mut rr = FairQueue::default();
/// rr.add(1);
/// rr.add(2);
/// rr.add(3);
/// assert_eq!(rr.next_where(|p| p != 2), Some(1));
/// assert_eq!(rr.next_where(|p| p != 2), Some(3));
/// assert_eq!(rr.next_where(|p| p != 2), Some(1));
/// ```
#[derive(Clone, Debug, Default)]
pub struct FairQueue {
    peers: Vec<PeerId>,
    next: usize,
}

impl FairQueue {
    /// Adds a peer at the end of the rotation.
    pub fn add(&mut self, peer: PeerId) {
        if !self.peers.contains(&peer) {
            self.peers.push(peer);
        }
    }

    /// Removes a peer.
    pub fn remove(&mut self, peer: PeerId) {
        if let Some(i) = self.peers.iter().position(|&p| p == peer) {
            self.peers.remove(i);
            if i < self.next {
                self.next -= 1;
            }
            if self.next >= self.peers.len() {
                self.next = 0;
            }
        }
    }

    /// The next peer in turn for which `eligible` holds; the turn moves past it.
    pub fn next_where(&mut self, eligible: impl Fn(PeerId) -> bool) -> Option<PeerId> {
        let n = self.peers.len();
        for k in 0..n {
            let i = (self.next + k) % n;
            let p = self.peers[i];
            if eligible(p) {
                self.next = (i + 1) % n;
                return Some(p);
            }
        }
        None
    }

    /// The peers, in rotation order from the first added.
    pub fn peers(&self) -> &[PeerId] {
        &self.peers
    }

    /// Number of peers.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// Whether there is no peer.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_keeps_the_turn() {
        let mut rr = FairQueue::default();
        for p in 1..=3 {
            rr.add(p);
        }
        assert_eq!(rr.next_where(|_| true), Some(1));
        rr.remove(1);
        assert_eq!(rr.next_where(|_| true), Some(2));
        assert_eq!(rr.next_where(|_| true), Some(3));
        rr.remove(3);
        assert_eq!(rr.next_where(|_| true), Some(2));
        rr.remove(2);
        assert_eq!(rr.next_where(|_| true), None);
    }
}
