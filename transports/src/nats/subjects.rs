//! Subjects: a ZeroMQ prefix subscription as the NATS subscription that carries it, and which
//! of overlapping subscriptions delivers a message.

use std::collections::BTreeMap;

/// The NATS subject a ZeroMQ prefix subscription listens on: the prefix up to its last dot,
/// then `>` (everything below), or `>` alone.
///
/// ```
/// use actormq_transports::nats::subject_for_prefix;
/// assert_eq!(subject_for_prefix(b"cats."), "cats.>");
/// assert_eq!(subject_for_prefix(b"cats.pers"), "cats.>");
/// assert_eq!(subject_for_prefix(b"pers"), ">");
/// assert_eq!(subject_for_prefix(b"a b.c"), ">");
/// ```
pub fn subject_for_prefix(prefix: &[u8]) -> String {
    let Ok(prefix) = std::str::from_utf8(prefix) else {
        return ">".into();
    };
    let Some(dot) = prefix.rfind('.') else {
        return ">".into();
    };
    let head = &prefix[..=dot];
    if head[..dot].split('.').all(literal_token) {
        format!("{head}>")
    } else {
        ">".into()
    }
}

/// A subject token with no wildcard or space: one NATS matches literally.
fn literal_token(t: &str) -> bool {
    !t.is_empty() && t != "*" && t != ">" && !t.contains(char::is_whitespace)
}

/// Why `subject` cannot be published on, if it cannot.
pub(crate) fn check_subject(subject: &[u8]) -> std::result::Result<(), String> {
    let text =
        std::str::from_utf8(subject).map_err(|_| "a NATS subject is UTF-8 text".to_string())?;
    if text.split('.').all(literal_token) {
        Ok(())
    } else {
        Err(format!(
            "{text:?} is not a NATS subject to publish on (dot-separated tokens, none empty, no spaces or wildcards)"
        ))
    }
}

/// Why `pattern` cannot be subscribed to, if it cannot: tokens as for publishing, where `*`
/// may stand for any one token and a last `>` for all that follow.
pub(crate) fn check_pattern(pattern: &str) -> std::result::Result<(), String> {
    let tokens: Vec<&str> = pattern.split('.').collect();
    let fine = tokens
        .iter()
        .enumerate()
        .all(|(i, t)| literal_token(t) || *t == "*" || (*t == ">" && i + 1 == tokens.len()));
    if fine {
        Ok(())
    } else {
        Err(format!(
            "{pattern:?} is not a NATS subject to subscribe to (dot-separated tokens, none empty, no spaces; `*` for a token, `>` last)"
        ))
    }
}

/// Whether a subscription subject made by [`subject_for_prefix`] matches `subject`.
fn covers(pattern: &str, subject: &str) -> bool {
    match pattern.strip_suffix('>') {
        Some(head) => subject.len() > head.len() && subject.starts_with(head),
        None => pattern == subject,
    }
}

/// The subscriber's prefixes, counted, and the NATS subscriptions they map to, counted too.
#[derive(Default)]
pub(crate) struct Subjects {
    prefixes: BTreeMap<Vec<u8>, usize>,
    subjects: BTreeMap<String, usize>,
}

impl Subjects {
    /// Counts a subscription (`on`) or a cancellation; the subject to subscribe (true) or
    /// unsubscribe (false), if the NATS subscriptions change.
    pub(crate) fn apply(&mut self, on: bool, prefix: &[u8]) -> Option<(bool, String)> {
        let subject = subject_for_prefix(prefix);
        if on {
            *self.prefixes.entry(prefix.to_vec()).or_insert(0) += 1;
            let n = self.subjects.entry(subject.clone()).or_insert(0);
            *n += 1;
            return (*n == 1).then_some((true, subject));
        }
        let held = self.prefixes.get_mut(prefix)?;
        *held -= 1;
        if *held == 0 {
            self.prefixes.remove(prefix);
        }
        let n = self.subjects.get_mut(&subject)?;
        *n -= 1;
        if *n == 0 {
            self.subjects.remove(&subject);
            return Some((false, subject));
        }
        None
    }

    /// Whether a message on `subject` that came through the subscription `via` is the one to
    /// deliver: that of the widest held subscription that matches it.
    pub(crate) fn delivers(&self, via: &str, subject: &str) -> bool {
        self.subjects
            .keys()
            .filter(|s| covers(s, subject))
            .min_by_key(|s| s.len())
            .is_some_and(|s| s == via)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_map_to_subjects_and_overlaps_deliver_once() {
        let mut s = Subjects::default();
        assert_eq!(s.apply(true, b"cats.pers"), Some((true, "cats.>".into())));
        assert_eq!(
            s.apply(true, b"cats.sia"),
            None,
            "the same NATS subscription"
        );
        assert_eq!(s.apply(true, b"c"), Some((true, ">".into())));
        assert!(s.delivers(">", "cats.persian"));
        assert!(!s.delivers("cats.>", "cats.persian"));
        assert_eq!(s.apply(false, b"c"), Some((false, ">".into())));
        assert!(s.delivers("cats.>", "cats.persian"));
        assert_eq!(s.apply(false, b"cats.pers"), None);
        assert_eq!(s.apply(false, b"cats.sia"), Some((false, "cats.>".into())));
        assert_eq!(s.apply(false, b"never"), None);
        assert!(covers(">", "a") && !covers("a.>", "a.") && covers("a.>", "a.b"));
    }

    #[test]
    fn publish_subjects_are_checked() {
        assert!(check_subject(b"cats.persian").is_ok());
        for bad in [&b""[..], b"a..b", b"a.*", b"a b", b"a.>", b"\xff"] {
            assert!(check_subject(bad).is_err(), "{bad:?}");
        }
        for good in ["a", "a.*", "a.*.c", "a.>", ">"] {
            assert!(check_pattern(good).is_ok(), "{good}");
        }
        for bad in ["", "a..b", "a.>.c", "a b"] {
            assert!(check_pattern(bad).is_err(), "{bad}");
        }
    }
}
