//! Every socket of the process, for metrics: a socket registers when it is made and leaves
//! the list once its last handle is dropped.

use std::sync::{Arc, Mutex, Weak};

use crate::engine::ctx::{Shared, SocketInfo};

/// The sockets made so far that may still be alive.
static SOCKETS: Mutex<Vec<(Weak<SocketInfo>, Weak<Shared>)>> = Mutex::new(Vec::new());

/// Registers a new socket.
pub(crate) fn register(info: &Arc<SocketInfo>, shared: &Arc<Shared>) {
    let mut all = SOCKETS.lock().unwrap_or_else(|e| e.into_inner());
    // forget dropped sockets now and then, so that the list stays as long as the live ones
    if all.len() >= 64 && all.len().is_power_of_two() {
        all.retain(|(info, _)| info.strong_count() > 0);
    }
    all.push((Arc::downgrade(info), Arc::downgrade(shared)));
}

/// The sockets alive now, oldest first.
pub(crate) fn live() -> Vec<(Arc<SocketInfo>, Arc<Shared>)> {
    let mut all = SOCKETS.lock().unwrap_or_else(|e| e.into_inner());
    all.retain(|(info, _)| info.strong_count() > 0);
    all.iter()
        .filter_map(|(info, shared)| Some((info.upgrade()?, shared.upgrade()?)))
        .collect()
}
