//! Socket actor → one connection: what is queued toward a peer for its connection's writer
//! (a ZMTP stream), or, once a message-level link started, handed straight to the link's
//! [`Outbox`] (for an in-process peer: its socket's inbound queue).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use actormq_transports::{Multipart, Outbox};
use tokio::sync::Notify;

use crate::engine::queues::compact::{Compactor, COMPACT_FROM, TAKE_MAX};
use crate::engine::queues::counts::Tally;
use crate::engine::queues::lock::lock;

/// Socket actor → one connection's writer; or, once a message-level link started, straight
/// into the link's outbox.
pub(crate) struct PeerOut {
    /// Messages for the connection's writer (a stream session), oldest first.
    queue: Mutex<VecDeque<Multipart>>,
    /// A mirror of the queue's length, written under its lock, read without it.
    len: AtomicUsize,
    /// Wakes the connection: messages were queued, or the queue was closed.
    pub(crate) wake: Notify,
    /// The socket closed this queue: flush what is left, then end the connection.
    closed: AtomicBool,
    /// The started message-level link's outbox: every batch goes there, not to the queue.
    direct: OnceLock<Arc<dyn Outbox>>,
    /// Keeps the small frames of a deep queue in shared chunks (used under `queue`'s lock).
    compactor: Mutex<Compactor>,
    /// Messages and bytes routed to this peer since [`PeerOut::take_totals`] (for metrics).
    routed: Tally,
}

impl PeerOut {
    pub(crate) fn new() -> Self {
        PeerOut {
            queue: Mutex::default(),
            len: AtomicUsize::new(0),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
            direct: OnceLock::new(),
            compactor: Mutex::default(),
            routed: Default::default(),
        }
    }

    /// Messages and bytes routed here since the last call of [`PeerOut::take_totals`].
    pub(crate) fn totals(&self) -> (u64, u64) {
        self.routed.get()
    }

    /// Returns [`PeerOut::totals`] and starts counting again from zero (a connecting socket
    /// keeps this queue for the peer's next session).
    pub(crate) fn take_totals(&self) -> (u64, u64) {
        self.routed.take()
    }

    /// Counts `n` messages of `bytes` routed here.
    fn routed(&self, n: usize, bytes: usize) {
        self.routed.add(n, bytes);
    }

    /// Messages queued toward the peer (for a started link: as its outbox counts them).
    pub(crate) fn len(&self) -> usize {
        match self.direct.get() {
            Some(outbox) => outbox.len(),
            None => self.len.load(Ordering::Acquire),
        }
    }

    /// The socket found this peer full: true when there is room after all; otherwise the
    /// socket hears `PeerWritable` when there is (from the writer, or from the link).
    pub(crate) fn want_room(&self, hwm: usize) -> bool {
        match self.direct.get() {
            Some(outbox) => outbox.want_room(hwm),
            None => false,
        }
    }

    /// From now on hand every batch to a started link's outbox, starting with what waits
    /// here. Done under this queue's lock, so no batch can overtake another.
    pub(crate) fn go_direct(&self, outbox: Arc<dyn Outbox>) {
        let mut q = lock(&self.queue);
        let mut pending = std::mem::take(&mut *q);
        self.len.store(0, Ordering::Release);
        let n = pending.len();
        outbox.send(&mut pending, n);
        let _ = self.direct.set(outbox);
    }

    pub(crate) fn push_batch(&self, items: impl IntoIterator<Item = Multipart>) {
        let (mut n, mut bytes) = (0usize, 0usize);
        let items = items.into_iter().inspect(|m| {
            n += 1;
            bytes += m.byte_len();
        });
        let mut q = lock(&self.queue);
        if let Some(outbox) = self.direct.get() {
            let mut batch: VecDeque<Multipart> = items.collect();
            let len = batch.len();
            outbox.send(&mut batch, len);
            drop(q);
            self.routed(n, bytes);
            return;
        }
        self.append(&mut q, items);
        self.routed(n, bytes);
        // the mirror of the length is written under the lock, so it never disagrees with it
        self.len.store(q.len(), Ordering::Release);
        let any = !q.is_empty();
        drop(q);
        if any {
            self.wake.notify_one();
        }
    }

    /// Moves messages from the front of `batch` while this peer stays under `hwm` (for a
    /// started link: as much as its outbox has room for), under one lock and with one wake-up.
    pub(crate) fn take_from(&self, batch: &mut VecDeque<Multipart>, hwm: usize) {
        let bytes = |batch: &VecDeque<Multipart>, n: usize| -> usize {
            batch.iter().take(n).map(Multipart::byte_len).sum()
        };
        let mut q = lock(&self.queue);
        if let Some(outbox) = self.direct.get() {
            let n = outbox.room(hwm).min(batch.len());
            self.routed(n, bytes(batch, n));
            outbox.send(batch, n);
            return;
        }
        let n = hwm.saturating_sub(q.len()).min(batch.len());
        self.routed(n, bytes(batch, n));
        self.append(&mut q, batch.drain(..n));
        self.len.store(q.len(), Ordering::Release);
        drop(q);
        if n > 0 {
            self.wake.notify_one();
        }
    }

    /// Appends to the locked queue, compacting what joins a deep one.
    fn append(&self, q: &mut VecDeque<Multipart>, items: impl IntoIterator<Item = Multipart>) {
        let mut items = items.into_iter();
        if q.len() + items.size_hint().1.unwrap_or(usize::MAX) < COMPACT_FROM {
            q.extend(items);
            return;
        }
        let mut compactor = lock(&self.compactor);
        for mut msg in items.by_ref() {
            compactor.joining(q.len(), &mut msg);
            q.push_back(msg);
        }
    }

    /// Takes what is queued for the writer into `into` (which must be empty): all of it, or
    /// from a deep queue the oldest [`TAKE_MAX`], so that what the writer holds beyond the
    /// high-water mark stays small; returns the queue length before. Taking it all swaps the
    /// two buffers, so that neither regrows from nothing every batch.
    pub(crate) fn take_batch(&self, into: &mut VecDeque<Multipart>) -> usize {
        debug_assert!(into.is_empty());
        let mut q = lock(&self.queue);
        let before = q.len();
        if before <= TAKE_MAX {
            std::mem::swap(&mut *q, into);
        } else {
            into.extend(q.drain(..TAKE_MAX));
        }
        self.len.store(q.len(), Ordering::Release);
        before
    }

    /// Puts messages a writer took but could not send back in front of the queue, oldest
    /// first, for the next session of the connection.
    pub(crate) fn requeue(&self, mut front: VecDeque<Multipart>) {
        if front.is_empty() {
            return;
        }
        let mut q = lock(&self.queue);
        front.append(&mut q);
        *q = front;
        self.len.store(q.len(), Ordering::Release);
    }

    /// Whether batches go to a started message link's outbox (such a queue belongs to that
    /// link's session and is not kept for another).
    pub(crate) fn is_direct(&self) -> bool {
        self.direct.get().is_some()
    }

    /// Messages waiting in this queue for a writer (none once a link's outbox takes them).
    pub(crate) fn waiting(&self) -> usize {
        if self.is_direct() {
            0
        } else {
            self.len.load(Ordering::Acquire)
        }
    }

    /// Opens the queue again for a new session of the same connection (after [`PeerOut::close`]
    /// ended the last one), keeping what waits in it.
    pub(crate) fn reopen(&self) {
        self.closed.store(false, Ordering::Release);
    }

    /// The writer flushes what is queued, then ends the connection.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}
