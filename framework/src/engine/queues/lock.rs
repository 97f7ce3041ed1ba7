//! The one way the queues take their locks.

use std::sync::{Mutex, MutexGuard};

/// Locks a queue. A panic while holding one of these locks cannot leave a queue inconsistent
/// (every critical section is a push or a pop), so a poisoned lock is used as it is.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
