//! Socket actor → application: the ready queue the application receives from.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use actormq_patterns::{PeerId, SharedSubscriptions};
use actormq_transports::Multipart;
use tokio::sync::Notify;

use crate::engine::pack::cost;
use crate::engine::queues::lock::lock;
use crate::engine::queues::peer_in::PeerIn;

#[derive(Default)]
struct Ready {
    queue: VecDeque<(PeerId, Multipart)>,
    /// What the queued messages count for against `rcvhwm_bytes` (see [`cost`]).
    bytes: usize,
}

/// Socket actor → application: messages ready to be received, already fair-queued; at most
/// [`RECV_BATCH`] messages, and it stops taking more once they count for `rcvhwm_bytes`.
pub(crate) struct RecvQueue {
    queue: Mutex<Ready>,
    /// The socket's `rcvhwm_bytes`.
    max_bytes: usize,
    /// Wakes receiving applications: messages arrived, or the socket closed.
    data: Notify,
    /// Peers hold more than fitted: ask the socket actor to pump when this drains.
    pub(crate) backlog: AtomicBool,
    /// The socket closed: receivers get `Closed` once the queue is empty.
    closed: AtomicBool,
}

/// How many ready messages the socket actor keeps for the application before it stops taking
/// from the peers' queues. Small, so that fair queueing happens where the messages wait.
pub(crate) const RECV_BATCH: usize = 64;

impl RecvQueue {
    pub(crate) fn new(max_bytes: usize) -> Self {
        RecvQueue {
            queue: Mutex::default(),
            max_bytes,
            data: Notify::new(),
            backlog: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }
    }

    fn half_full(&self, len: usize, bytes: usize) -> bool {
        len > RECV_BATCH / 2 || bytes > self.max_bytes / 2
    }

    /// Messages ready for the application (for metrics: takes the lock).
    pub(crate) fn len(&self) -> usize {
        lock(&self.queue).queue.len()
    }

    /// Whether the queue holds more than half of what it takes, in messages or in bytes (the
    /// application will ask for a pump when it drains below).
    pub(crate) fn more_than_half_full(&self) -> bool {
        let q = lock(&self.queue);
        self.half_full(q.queue.len(), q.bytes)
    }

    /// What may still be taken in: messages, and bytes (see [`cost`]).
    pub(crate) fn room(&self) -> (usize, usize) {
        let q = lock(&self.queue);
        (
            RECV_BATCH.saturating_sub(q.queue.len()),
            self.max_bytes.saturating_sub(q.bytes),
        )
    }

    pub(crate) fn push_batch(&self, msgs: Vec<(PeerId, Multipart)>) {
        if msgs.is_empty() {
            return;
        }
        let mut q = lock(&self.queue);
        let bytes = msgs.iter().map(|(_, m)| cost(m)).sum::<usize>();
        q.bytes = q.bytes.saturating_add(bytes);
        q.queue.extend(msgs);
        drop(q);
        // every receiver waiting now may take one; receivers register before they look
        // (`wait`), so none misses this
        self.data.notify_waiters();
    }

    /// Moves messages of a peer whose messages reach the application unchanged (or, with a
    /// `filter`, those whose topic it matches; the others are dropped, as SUB drops them)
    /// straight into this queue, up to [`RECV_BATCH`], under this queue's lock (so that whoever
    /// does it, the socket actor or a receiving application, the peer's order holds). True when
    /// that filled the queue.
    pub(crate) fn refill_from(
        &self,
        id: PeerId,
        inq: &PeerIn,
        hwm: usize,
        filter: Option<&SharedSubscriptions>,
    ) -> bool {
        let mut q = lock(&self.queue);
        let room = RECV_BATCH.saturating_sub(q.queue.len());
        let budget = self.max_bytes.saturating_sub(q.bytes);
        if room == 0 || budget == 0 {
            return true;
        }
        let before = q.queue.len();
        let filter = filter.map(|f| f.read());
        // Filtered-out messages make no room: go on taking until the room is filled, the byte
        // budget is spent, or the peer has nothing more (so that messages the filter keeps are
        // never left behind ones it drops, with nobody to ask for them).
        loop {
            let ready = &mut *q;
            let (want, budget) = (
                RECV_BATCH.saturating_sub(ready.queue.len()),
                self.max_bytes.saturating_sub(ready.bytes),
            );
            if want == 0 || budget == 0 {
                break;
            }
            let moved = inq.pop_within(want, budget, hwm, |msg| {
                let topic = msg.first().map_or(&[][..], |f| &f[..]);
                if filter.as_ref().is_none_or(|f| f.matches(topic)) {
                    ready.bytes = ready.bytes.saturating_add(cost(&msg));
                    ready.queue.push_back((id, msg));
                }
            });
            if moved == 0 || filter.is_none() {
                break;
            }
        }
        drop(filter);
        let added = q.queue.len() - before;
        let full = added >= room || q.bytes >= self.max_bytes;
        drop(q);
        if added > 0 {
            self.data.notify_waiters();
        }
        full
    }

    /// Moves up to `max` messages of a peer whose messages reach the application unchanged (or
    /// only filtered, as in [`RecvQueue::refill_from`]) straight to a receiving application
    /// through `into`, if this queue is empty, under this queue's lock (so that the peer's
    /// order holds against whoever refills this queue); returns how many.
    pub(crate) fn take_direct(
        &self,
        id: PeerId,
        inq: &PeerIn,
        hwm: usize,
        filter: Option<&SharedSubscriptions>,
        max: usize,
        mut into: impl FnMut(PeerId, Multipart),
    ) -> usize {
        let q = lock(&self.queue);
        if !q.queue.is_empty() {
            return 0;
        }
        let filter = filter.map(|f| f.read());
        let mut taken = 0;
        // as in `refill_from`: what the filter drops makes no room, so go on taking
        while taken < max {
            let moved = inq.pop_within(max - taken, self.max_bytes, hwm, |msg| {
                let topic = msg.first().map_or(&[][..], |f| &f[..]);
                if filter.as_ref().is_none_or(|f| f.matches(topic)) {
                    taken += 1;
                    into(id, msg);
                }
            });
            if moved == 0 || filter.is_none() {
                break;
            }
        }
        drop(filter);
        drop(q);
        taken
    }

    /// Pops a message; the flag says the socket actor should pump more.
    #[inline]
    pub(crate) fn try_pop(&self) -> Option<((PeerId, Multipart), bool)> {
        let mut q = lock(&self.queue);
        let msg = q.queue.pop_front()?;
        q.bytes = q.bytes.saturating_sub(cost(&msg.1));
        let (left, bytes) = (q.queue.len(), q.bytes);
        drop(q);
        // a load first: the common case (no backlog) needs no read-modify-write
        let pump = !self.half_full(left, bytes)
            && self.backlog.load(Ordering::Acquire)
            && self.backlog.swap(false, Ordering::AcqRel);
        Some((msg, pump))
    }

    /// Pops up to `max` messages under one lock, handing each to `take` in order; returns how
    /// many, and whether the socket actor should pump more (as [`RecvQueue::try_pop`]).
    pub(crate) fn try_pop_many(
        &self,
        max: usize,
        mut take: impl FnMut(PeerId, Multipart),
    ) -> (usize, bool) {
        let mut q = lock(&self.queue);
        let n = max.min(q.queue.len());
        let mut freed = 0usize;
        for (id, msg) in q.queue.drain(..n) {
            freed = freed.saturating_add(cost(&msg));
            take(id, msg);
        }
        q.bytes = q.bytes.saturating_sub(freed);
        let (left, bytes) = (q.queue.len(), q.bytes);
        drop(q);
        let pump = n > 0
            && !self.half_full(left, bytes)
            && self.backlog.load(Ordering::Acquire)
            && self.backlog.swap(false, Ordering::AcqRel);
        (n, pump)
    }

    pub(crate) async fn wait(&self) {
        let notified = self.data.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if !lock(&self.queue).queue.is_empty() || self.closed.load(Ordering::Acquire) {
            return;
        }
        notified.await;
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.data.notify_waiters();
        self.data.notify_one();
    }
}
