//! Topic prefixes in a byte trie: adding, removing and matching cost time in the length of the
//! topic, whatever the number of other topics.

use bytes::Bytes;

/// The root node's index; it stands for the empty prefix and is never freed.
const ROOT: u32 = 0;

#[derive(Clone, Debug)]
struct Node<V> {
    /// The children, sorted by their byte (a binary search finds one in at most 8 steps).
    children: Vec<(u8, u32)>,
    /// The value stored at the prefix that leads here, if any.
    value: Option<V>,
}

impl<V> Node<V> {
    fn empty() -> Self {
        Node {
            children: Vec::new(),
            value: None,
        }
    }

    fn child(&self, byte: u8) -> Option<u32> {
        self.children
            .binary_search_by_key(&byte, |&(b, _)| b)
            .ok()
            .map(|i| self.children[i].1)
    }
}

/// A map from byte strings (topic prefixes) to values, as a trie in one arena.
///
/// Each operation walks the key's bytes once: finding, inserting and removing a prefix cost
/// `O(len(prefix))`, and visiting every stored prefix of a topic costs `O(len(topic))` at most
/// (the walk stops where the trie has no deeper node), however many other prefixes are stored.
/// Removal frees the nodes that no longer lead to a value, so memory follows what is stored:
/// about one node (a few dozen bytes) per stored byte that no other prefix shares.
#[derive(Debug)]
pub(crate) struct Trie<V> {
    nodes: Vec<Node<V>>,
    /// Indices of freed nodes, reused before the arena grows.
    free: Vec<u32>,
    /// How many keys hold a value.
    len: usize,
    /// Nodes visited by lookups and walks, so that tests can check the work done.
    #[cfg(test)]
    pub(crate) visits: std::sync::atomic::AtomicU64,
}

impl<V> Default for Trie<V> {
    fn default() -> Self {
        Trie {
            nodes: vec![Node::empty()],
            free: Vec::new(),
            len: 0,
            #[cfg(test)]
            visits: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl<V> Trie<V> {
    #[inline]
    fn visit(&self) {
        #[cfg(test)]
        self.visits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The node of `key`, if the trie has one.
    fn find(&self, key: &[u8]) -> Option<u32> {
        let mut at = ROOT;
        for &b in key {
            self.visit();
            at = self.nodes[at as usize].child(b)?;
        }
        Some(at)
    }

    /// The value stored at `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<&V> {
        self.find(key)
            .and_then(|n| self.nodes[n as usize].value.as_ref())
    }

    /// The value at `key`, inserted with `make` when there is none.
    pub(crate) fn get_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> V) -> &mut V {
        let mut at = ROOT;
        for &b in key {
            self.visit();
            let node = &self.nodes[at as usize];
            at = match node.children.binary_search_by_key(&b, |&(c, _)| c) {
                Ok(i) => node.children[i].1,
                Err(i) => {
                    let new = match self.free.pop() {
                        Some(n) => n,
                        None => {
                            self.nodes.push(Node::empty());
                            u32::try_from(self.nodes.len() - 1).unwrap_or(u32::MAX)
                        }
                    };
                    self.nodes[at as usize].children.insert(i, (b, new));
                    new
                }
            };
        }
        let slot = &mut self.nodes[at as usize].value;
        if slot.is_none() {
            self.len += 1;
        }
        slot.get_or_insert_with(make)
    }

    /// Calls `change` on the value at `key`; when it answers true the value is removed (and
    /// the nodes that led only to it are freed). Returns `None` when `key` holds no value,
    /// otherwise whether it was removed.
    pub(crate) fn update_or_remove(
        &mut self,
        key: &[u8],
        change: impl FnOnce(&mut V) -> bool,
    ) -> Option<bool> {
        // the path: (node, byte taken from it) for every step
        let mut path: Vec<(u32, u8)> = Vec::with_capacity(key.len());
        let mut at = ROOT;
        for &b in key {
            self.visit();
            let next = self.nodes[at as usize].child(b)?;
            path.push((at, b));
            at = next;
        }
        let value = self.nodes[at as usize].value.as_mut()?;
        if !change(value) {
            return Some(false);
        }
        self.nodes[at as usize].value = None;
        self.len -= 1;
        // free the nodes that now lead nowhere, from the deepest up
        let mut child = at;
        while let Some((parent, b)) = path.pop() {
            let node = &self.nodes[child as usize];
            if node.value.is_some() || !node.children.is_empty() {
                break;
            }
            let siblings = &mut self.nodes[parent as usize].children;
            if let Ok(i) = siblings.binary_search_by_key(&b, |&(c, _)| c) {
                siblings.remove(i);
            }
            self.nodes[child as usize].children = Vec::new();
            self.free.push(child);
            child = parent;
        }
        Some(true)
    }

    /// Calls `each` with every stored value whose key is a prefix of `topic`, shortest first.
    pub(crate) fn for_each_prefix_of<'a>(&'a self, topic: &[u8], mut each: impl FnMut(&'a V)) {
        let mut at = ROOT;
        if let Some(v) = &self.nodes[ROOT as usize].value {
            each(v);
        }
        for &b in topic {
            self.visit();
            match self.nodes[at as usize].child(b) {
                Some(next) => at = next,
                None => return,
            }
            if let Some(v) = &self.nodes[at as usize].value {
                each(v);
            }
        }
    }

    /// Whether some stored key is a prefix of `topic`.
    pub(crate) fn has_prefix_of(&self, topic: &[u8]) -> bool {
        let mut at = ROOT;
        if self.nodes[ROOT as usize].value.is_some() {
            return true;
        }
        for &b in topic {
            self.visit();
            match self.nodes[at as usize].child(b) {
                Some(next) => at = next,
                None => return false,
            }
            if self.nodes[at as usize].value.is_some() {
                return true;
            }
        }
        false
    }

    /// Every stored key with its value, in byte order.
    pub(crate) fn entries(&self) -> Vec<(Bytes, &V)> {
        let mut found = Vec::with_capacity(self.len);
        let mut key = Vec::new();
        // depth-first, without recursion (a key may be long): (node, next child index)
        let mut stack: Vec<(u32, usize)> = vec![(ROOT, 0)];
        if let Some(v) = &self.nodes[ROOT as usize].value {
            found.push((Bytes::new(), v));
        }
        while let Some(top) = stack.last_mut() {
            let node = &self.nodes[top.0 as usize];
            if let Some(&(b, child)) = node.children.get(top.1) {
                top.1 += 1;
                key.push(b);
                if let Some(v) = &self.nodes[child as usize].value {
                    found.push((Bytes::copy_from_slice(&key), v));
                }
                stack.push((child, 0));
            } else {
                stack.pop();
                key.pop();
            }
        }
        found
    }

    /// How many keys hold a value.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Nodes in use, the root included (for tests of the freeing).
    #[cfg(test)]
    fn nodes_in_use(&self) -> usize {
        self.nodes.len() - self.free.len()
    }
}

/// Topic prefixes with a count each: subscribing twice needs two cancels. Matching is by
/// prefix; the empty prefix matches everything.
///
/// The prefixes live in a byte trie, so adding, removing and matching cost time in the length
/// of the prefix or topic, never in the number of other prefixes.
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
#[derive(Debug, Default)]
pub struct Subscriptions {
    trie: Trie<u32>,
}

impl Subscriptions {
    /// Adds one reference to `prefix`; true when it is new.
    pub fn add(&mut self, prefix: &[u8]) -> bool {
        let count = self.trie.get_or_insert_with(prefix, || 0);
        *count = count.saturating_add(1);
        *count == 1
    }

    /// Removes one reference to `prefix`; true when its last reference went.
    pub fn remove(&mut self, prefix: &[u8]) -> bool {
        self.trie
            .update_or_remove(prefix, |count| {
                *count -= 1;
                *count == 0
            })
            .unwrap_or(false)
    }

    /// Drops `prefix` whatever its count.
    pub fn remove_all(&mut self, prefix: &[u8]) -> bool {
        self.trie
            .update_or_remove(prefix, |_| true)
            .unwrap_or(false)
    }

    /// Whether `prefix` itself is subscribed.
    pub fn contains(&self, prefix: &[u8]) -> bool {
        self.trie.get(prefix).is_some()
    }

    /// Whether some prefix matches the start of `topic`.
    pub fn matches(&self, topic: &[u8]) -> bool {
        self.trie.has_prefix_of(topic)
    }

    /// The distinct prefixes, in byte order.
    pub fn prefixes(&self) -> std::vec::IntoIter<Bytes> {
        let keys: Vec<Bytes> = self.trie.entries().into_iter().map(|(p, _)| p).collect();
        keys.into_iter()
    }

    /// How many distinct prefixes there are.
    pub fn len(&self) -> usize {
        self.trie.len()
    }

    /// Whether there is no subscription.
    pub fn is_empty(&self) -> bool {
        self.trie.len() == 0
    }
}

/// A subscriber's [`Subscriptions`], shared with whoever filters its inbound messages outside
/// the pattern: a receiving application that takes a single publisher's messages itself keeps
/// those they match, exactly what [`crate::Pattern::recv`] would let through.
///
/// ```
/// use actormq_patterns::SharedSubscriptions;
///
/// let shared = SharedSubscriptions::default();
/// shared.write().add(b"weather.");
/// assert!(shared.read().matches(b"weather.10001"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct SharedSubscriptions(std::sync::Arc<std::sync::RwLock<Subscriptions>>);

impl SharedSubscriptions {
    /// The subscriptions, to read (for as short a while as possible: the pattern waits for
    /// this to change them).
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, Subscriptions> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The subscriptions, to change.
    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, Subscriptions> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    #[test]
    fn removal_frees_nodes() {
        let mut t: Trie<u32> = Trie::default();
        t.get_or_insert_with(b"abc", || 1);
        t.get_or_insert_with(b"abd", || 2);
        assert_eq!(t.nodes_in_use(), 5);
        assert_eq!(t.update_or_remove(b"abc", |_| true), Some(true));
        assert_eq!(t.nodes_in_use(), 4);
        assert_eq!(t.update_or_remove(b"ab", |_| true), None);
        assert_eq!(t.update_or_remove(b"abd", |_| true), Some(true));
        assert_eq!(t.nodes_in_use(), 1);
        t.get_or_insert_with(b"xyz", || 3);
        assert_eq!(t.nodes.len(), 5, "freed nodes are reused");
    }

    /// 100 000 subscriptions from one peer are applied and matched in work linear in their
    /// bytes: adding a prefix visits one node per byte, and matching a topic at most one per
    /// byte of the topic, whatever else is stored.
    #[test]
    fn work_is_independent_of_other_topics() {
        let mut s = Subscriptions::default();
        let topics: Vec<Vec<u8>> = (0..100_000u32)
            .map(|i| format!("topic.{i:06}").into_bytes())
            .collect();
        let bytes: u64 = topics.iter().map(|t| t.len() as u64).sum();
        for t in &topics {
            assert!(s.add(t));
        }
        assert_eq!(
            s.trie.visits.load(std::sync::atomic::Ordering::Relaxed),
            bytes,
            "one node visit per byte added"
        );
        assert_eq!(s.len(), 100_000);
        s.trie.visits.store(0, std::sync::atomic::Ordering::Relaxed);
        assert!(s.matches(b"topic.099999.payload"));
        assert!(!s.matches(b"topic.1"));
        assert!(!s.matches(b"other"));
        assert!(
            s.trie.visits.load(std::sync::atomic::Ordering::Relaxed) <= 12 + 7 + 1,
            "matching walks the topic once: {} visits",
            s.trie.visits.load(std::sync::atomic::Ordering::Relaxed)
        );
        s.trie.visits.store(0, std::sync::atomic::Ordering::Relaxed);
        for t in &topics {
            assert!(s.remove(t));
        }
        assert_eq!(
            s.trie.visits.load(std::sync::atomic::Ordering::Relaxed),
            bytes
        );
        assert!(s.is_empty());
        assert_eq!(s.trie.nodes_in_use(), 1);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(Vec<u8>),
        Remove(Vec<u8>),
        RemoveAll(Vec<u8>),
        Match(Vec<u8>),
    }

    fn key() -> impl Strategy<Value = Vec<u8>> {
        // a small alphabet, so that prefixes are shared and collide often
        proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(0u8)], 0..5)
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            key().prop_map(Op::Add),
            key().prop_map(Op::Remove),
            key().prop_map(Op::RemoveAll),
            proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(0u8)], 0..8)
                .prop_map(Op::Match),
        ]
    }

    proptest! {
        /// The trie answers as a plain list of (prefix, count) would.
        #[test]
        fn agrees_with_a_naive_model(ops in proptest::collection::vec(op(), 0..200)) {
            let mut s = Subscriptions::default();
            let mut model: Vec<(Vec<u8>, u32)> = Vec::new();
            for op in ops {
                match op {
                    Op::Add(k) => {
                        let new = match model.iter_mut().find(|(p, _)| *p == k) {
                            Some(e) => { e.1 += 1; false }
                            None => { model.push((k.clone(), 1)); true }
                        };
                        prop_assert_eq!(s.add(&k), new);
                    }
                    Op::Remove(k) => {
                        let gone = match model.iter().position(|(p, _)| *p == k) {
                            Some(i) => {
                                model[i].1 -= 1;
                                if model[i].1 == 0 { model.swap_remove(i); true } else { false }
                            }
                            None => false,
                        };
                        prop_assert_eq!(s.remove(&k), gone);
                    }
                    Op::RemoveAll(k) => {
                        let before = model.len();
                        model.retain(|(p, _)| *p != k);
                        prop_assert_eq!(s.remove_all(&k), before != model.len());
                    }
                    Op::Match(t) => {
                        let want = model.iter().any(|(p, _)| t.starts_with(p));
                        prop_assert_eq!(s.matches(&t), want);
                    }
                }
                let mut want: Vec<Vec<u8>> = model.iter().map(|(p, _)| p.clone()).collect();
                want.sort();
                let got: Vec<Vec<u8>> = s.prefixes().map(|p| p.to_vec()).collect();
                prop_assert_eq!(got, want);
                prop_assert_eq!(s.len(), model.len());
                for (p, _) in &model {
                    prop_assert!(s.contains(p));
                }
            }
            // everything removed: only the root is left
            for (p, _) in model {
                s.remove_all(&p);
            }
            prop_assert_eq!(s.trie.nodes_in_use(), 1);
        }
    }
}
