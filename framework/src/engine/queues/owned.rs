//! A value that only one thread touches (the thread where a socket's actor runs), kept in a
//! structure that handles on every thread share: the owner reaches it with no lock and no
//! atomic read-modify-write, other threads pass it by.

use std::cell::{RefCell, RefMut};

use thread_local::ThreadLocal;

/// A value only the thread that made it may borrow: [`Owned::borrow`] answers `None` on any
/// other thread, and while the value is already borrowed (so a re-entrant call passes it by
/// too). It is the one entry of a [`ThreadLocal`], the entry of the thread that made it.
pub(crate) struct Owned<T: Send> {
    slot: ThreadLocal<RefCell<T>>,
}

impl<T: Send> Owned<T> {
    /// Owned by the calling thread.
    pub(crate) fn new(value: T) -> Self {
        let slot = ThreadLocal::new();
        slot.get_or(|| RefCell::new(value));
        Owned { slot }
    }

    /// The value, if this is the owner thread and nobody on it holds the value now.
    ///
    /// A thread's number may be given to a new thread once it has ended: after the owner
    /// thread (and with it the socket's actor) is gone, a later thread may find the value.
    #[inline]
    pub(crate) fn borrow(&self) -> Option<RefMut<'_, T>> {
        self.slot.get()?.try_borrow_mut().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn only_the_owner_thread_borrows_and_never_twice() {
        let owned = Arc::new(Owned::new(5));
        {
            let mut v = owned.borrow().unwrap();
            *v += 1;
            assert!(owned.borrow().is_none(), "borrowed twice");
        }
        let elsewhere = owned.clone();
        let seen = std::thread::spawn(move || elsewhere.borrow().map(|v| *v))
            .join()
            .unwrap();
        assert_eq!(seen, None);
        assert_eq!(owned.borrow().map(|v| *v), Some(6));
    }
}
