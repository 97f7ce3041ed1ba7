//! ZeroMQ prefix subscriptions on an AMQP topic exchange.
//!
//! A topic exchange matches routing keys word by word (words are separated by dots; `#` in a
//! binding stands for any number of words, `*` for one). A prefix that ends at a dot (`cats.`)
//! binds `cats.#`; any other is widened to the words before its last dot (`cats.pers` →
//! `cats.#`, `pers` → `#`). The broker filters by the binding, and the subscriber keeps only the
//! messages one of its prefixes really starts (`cats.#` also matches `cats` itself, which the
//! prefix `cats.` does not), so ZeroMQ's prefix semantics hold exactly. A queue receives a
//! message once however many of its bindings match, so overlapping prefixes deliver once.

use std::collections::BTreeMap;

/// The binding key that carries the prefix subscription `prefix`.
///
/// ```
/// use actormq_transports::amqp::topics::binding_for_prefix;
/// assert_eq!(binding_for_prefix(b"cats."), "cats.#");
/// assert_eq!(binding_for_prefix(b"cats.pers"), "cats.#");
/// assert_eq!(binding_for_prefix(b"pers"), "#");
/// assert_eq!(binding_for_prefix(b""), "#");
/// ```
pub fn binding_for_prefix(prefix: &[u8]) -> String {
    let Ok(prefix) = std::str::from_utf8(prefix) else {
        return "#".into();
    };
    match prefix.rfind('.') {
        Some(dot) => format!("{}#", &prefix[..=dot]),
        None => "#".into(),
    }
}

/// Why `topic` cannot be a routing key, if it cannot: AMQP takes at most 255 bytes of UTF-8.
pub(crate) fn check_routing_key(topic: &[u8]) -> std::result::Result<(), String> {
    match std::str::from_utf8(topic) {
        Ok(_) if topic.len() <= 255 => Ok(()),
        Ok(_) => Err(format!(
            "an AMQP routing key is at most 255 bytes; this topic has {}",
            topic.len()
        )),
        Err(_) => Err("an AMQP routing key is UTF-8 text".into()),
    }
}

/// A subscriber's prefixes and the bindings they map to, both counted.
#[derive(Debug, Default)]
pub(crate) struct Prefixes {
    prefixes: BTreeMap<Vec<u8>, usize>,
    bindings: BTreeMap<String, usize>,
}

impl Prefixes {
    /// Counts a subscription (`on`) or a cancellation; the binding to add (true) or remove
    /// (false), if the bindings change.
    pub(crate) fn apply(&mut self, on: bool, prefix: &[u8]) -> Option<(bool, String)> {
        let binding = binding_for_prefix(prefix);
        if on {
            *self.prefixes.entry(prefix.to_vec()).or_insert(0) += 1;
            let n = self.bindings.entry(binding.clone()).or_insert(0);
            *n += 1;
            return (*n == 1).then_some((true, binding));
        }
        let held = self.prefixes.get_mut(prefix)?;
        *held -= 1;
        if *held == 0 {
            self.prefixes.remove(prefix);
        }
        let n = self.bindings.get_mut(&binding)?;
        *n -= 1;
        if *n == 0 {
            self.bindings.remove(&binding);
            return Some((false, binding));
        }
        None
    }

    /// Whether a message with this routing key is for the subscriber.
    pub(crate) fn matches(&self, routing_key: &[u8]) -> bool {
        self.prefixes.keys().any(|p| routing_key.starts_with(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_bind_once_and_filter_exactly() {
        let mut p = Prefixes::default();
        assert_eq!(p.apply(true, b"cats.pers"), Some((true, "cats.#".into())));
        assert_eq!(p.apply(true, b"cats."), None, "the same binding");
        assert!(p.matches(b"cats.persian") && p.matches(b"cats.x"));
        assert!(
            !p.matches(b"cats"),
            "cats.# matches cats; the prefix cats. does not"
        );
        assert_eq!(p.apply(false, b"cats."), None);
        assert!(!p.matches(b"cats.x"));
        assert_eq!(p.apply(false, b"cats.pers"), Some((false, "cats.#".into())));
        assert_eq!(p.apply(false, b"never"), None);
        assert!(check_routing_key(b"cats.persian").is_ok());
        assert!(check_routing_key(&[b'a'; 256]).is_err() && check_routing_key(b"\xff").is_err());
    }
}
