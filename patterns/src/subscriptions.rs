//! A counted set of topic prefixes with prefix matching.

use bytes::Bytes;

/// Topic prefixes with a count each: subscribing twice needs two cancels. Matching is by
/// prefix; the empty prefix matches everything.
///
/// ```
/// use actormq_patterns::Subscriptions;
///
/// let mut s = Subscriptions::default();
/// s.add(b"weather.");
/// assert!(s.matches(b"weather.10001"));
/// assert!(!s.matches(b"sport"));
/// s.add(b"");
/// assert!(s.matches(b"sport"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Subscriptions {
    entries: Vec<(Bytes, u32)>,
}

impl Subscriptions {
    /// Adds one reference to `prefix`; true when it is new.
    pub fn add(&mut self, prefix: &[u8]) -> bool {
        if let Some(e) = self.entries.iter_mut().find(|(p, _)| p == prefix) {
            e.1 += 1;
            false
        } else {
            self.entries.push((Bytes::copy_from_slice(prefix), 1));
            true
        }
    }

    /// Removes one reference to `prefix`; true when its last reference went.
    pub fn remove(&mut self, prefix: &[u8]) -> bool {
        let Some(i) = self.entries.iter().position(|(p, _)| p == prefix) else {
            return false;
        };
        self.entries[i].1 -= 1;
        if self.entries[i].1 == 0 {
            self.entries.swap_remove(i);
            true
        } else {
            false
        }
    }

    /// Drops `prefix` whatever its count (a per-peer set, as PUB keeps it).
    pub fn remove_all(&mut self, prefix: &[u8]) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(p, _)| p != prefix);
        before != self.entries.len()
    }

    /// Whether `prefix` itself is subscribed.
    pub fn contains(&self, prefix: &[u8]) -> bool {
        self.entries.iter().any(|(p, _)| p == prefix)
    }

    /// Whether some prefix matches the start of `topic`.
    pub fn matches(&self, topic: &[u8]) -> bool {
        self.entries.iter().any(|(p, _)| topic.starts_with(p))
    }

    /// The distinct prefixes.
    pub fn prefixes(&self) -> impl Iterator<Item = &Bytes> {
        self.entries.iter().map(|(p, _)| p)
    }

    /// Whether there is no subscription.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted() {
        let mut s = Subscriptions::default();
        assert!(s.add(b"A"));
        assert!(!s.add(b"A"));
        assert!(!s.remove(b"A"));
        assert!(s.matches(b"AB"));
        assert!(s.remove(b"A"));
        assert!(!s.matches(b"AB"));
        assert!(!s.remove(b"A"));
    }
}
