//! How many messages, and bytes, passed through a queue: counted once per batch, read by
//! metrics.

use std::sync::atomic::{AtomicU64, Ordering};

/// Messages and their bytes.
#[derive(Default)]
pub(crate) struct Tally {
    messages: AtomicU64,
    bytes: AtomicU64,
}

impl Tally {
    /// Counts `messages` more, of `bytes` in all.
    pub(crate) fn add(&self, messages: usize, bytes: usize) {
        self.messages.fetch_add(messages as u64, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// (messages, bytes) so far.
    pub(crate) fn get(&self) -> (u64, u64) {
        (
            self.messages.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }

    /// (messages, bytes) so far, and counts again from zero.
    pub(crate) fn take(&self) -> (u64, u64) {
        (
            self.messages.swap(0, Ordering::Relaxed),
            self.bytes.swap(0, Ordering::Relaxed),
        )
    }
}
