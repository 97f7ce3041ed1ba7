//! The application → link path of acknowledgements: links that asked to hear when the
//! application takes their messages ([`actormq_transports::Inbox::on_taken`]), by peer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use actormq_patterns::PeerId;
use actormq_transports::Taken;
use rustc_hash::FxHashMap;

use crate::engine::queues::lock::lock;

/// The callbacks of a socket's links that acknowledge what the application takes. Empty for
/// every transport but a durable broker's, so the receive path pays one atomic load for it.
#[derive(Default)]
pub(crate) struct TakenHooks {
    /// How many hooks are registered: 0 skips the lookup.
    count: AtomicUsize,
    hooks: Mutex<FxHashMap<PeerId, Taken>>,
}

impl TakenHooks {
    /// Registers the hook of the link of peer `id`, once that link has started.
    pub(crate) fn register(&self, id: PeerId, hook: Taken) {
        let mut hooks = lock(&self.hooks);
        hooks.insert(id, hook);
        self.count.store(hooks.len(), Ordering::Release);
    }

    /// Forgets peer `id`'s hook: its link is gone, and what it delivered and the application
    /// takes later is not acknowledged (the broker gives it again, to whoever claims it).
    pub(crate) fn unregister(&self, id: PeerId) {
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut hooks = lock(&self.hooks);
        hooks.remove(&id);
        self.count.store(hooks.len(), Ordering::Release);
    }

    /// Whether any hook is registered (when not, what the application takes needs no report).
    #[inline]
    pub(crate) fn any(&self) -> bool {
        self.count.load(Ordering::Acquire) != 0
    }

    /// The application took a message that came from peer `id`.
    #[inline]
    pub(crate) fn took(&self, id: PeerId) {
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let hook = lock(&self.hooks).get(&id).cloned();
        if let Some(hook) = hook {
            hook(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn only_registered_peers_hear_of_their_messages() {
        let hooks = TakenHooks::default();
        let seen = Arc::new(AtomicUsize::new(0));
        let s = seen.clone();
        let (a, b): (PeerId, PeerId) = (1, 2);
        hooks.took(a);
        hooks.register(
            a,
            Arc::new(move |n| {
                s.fetch_add(n, Ordering::Relaxed);
            }),
        );
        hooks.took(a);
        hooks.took(b);
        hooks.took(a);
        assert_eq!(seen.load(Ordering::Relaxed), 2);
        hooks.unregister(a);
        hooks.took(a);
        assert_eq!(seen.load(Ordering::Relaxed), 2);
    }
}
