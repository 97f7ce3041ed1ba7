//! Application → socket actor: the socket's send queue.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use actormq_transports::Multipart;
use tokio::sync::Notify;

use crate::engine::queues::compact::{Compactor, TAKE_MAX};
use crate::engine::queues::lock::lock;

#[derive(Default)]
struct SendInner {
    queue: VecDeque<Multipart>,
    /// Messages the socket actor took and has not routed yet; they count against the cap.
    taken: usize,
    /// Keeps the small frames of a deep queue in shared chunks.
    compactor: Compactor,
    /// The buffer of the last batch routed whole, empty, for the queue to carry on in (so
    /// that neither regrows from nothing every batch).
    spare: VecDeque<Multipart>,
}

/// Application → socket actor: the socket's send queue, `sndhwm` deep.
pub(crate) struct SendQueue {
    inner: Mutex<SendInner>,
    /// `sndhwm`: queued plus taken messages never exceed it.
    cap: usize,
    /// Wakes senders waiting for room.
    space: Notify,
    /// A `Flush` is on its way to the socket actor.
    pub(crate) scheduled: AtomicBool,
    /// No more sends are taken (the socket is closing or closed).
    closed: AtomicBool,
}

pub(crate) enum Pushed {
    /// Queued; the caller must wake the socket actor when this is true.
    Queued { wake: bool },
    /// The queue is full.
    Full(Multipart),
    /// The socket is closed.
    Closed,
}

impl SendQueue {
    pub(crate) fn new(cap: usize) -> Self {
        SendQueue {
            inner: Mutex::default(),
            cap,
            space: Notify::new(),
            scheduled: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }
    }

    pub(crate) fn try_push(&self, mut msg: Multipart) -> Pushed {
        let mut inner = lock(&self.inner);
        if self.closed.load(Ordering::Acquire) {
            return Pushed::Closed;
        }
        if inner.queue.len() + inner.taken >= self.cap {
            return Pushed::Full(msg);
        }
        let queued = inner.queue.len();
        inner.compactor.joining(queued, &mut msg);
        inner.queue.push_back(msg);
        drop(inner);
        Pushed::Queued {
            // a load first: the common case (already scheduled) needs no read-modify-write
            wake: !self.scheduled.load(Ordering::Acquire)
                && !self.scheduled.swap(true, Ordering::AcqRel),
        }
    }

    /// Whether a message would be queued now: there is room, or the queue is closed (then a
    /// push reports that).
    pub(crate) fn has_room_or_closed(&self) -> bool {
        let inner = lock(&self.inner);
        inner.queue.len() + inner.taken < self.cap || self.closed.load(Ordering::Acquire)
    }

    /// Waits until there may be room (or the socket closed).
    pub(crate) async fn wait_for_space(&self) {
        let notified = self.space.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let inner = lock(&self.inner);
            if inner.queue.len() + inner.taken < self.cap || self.closed.load(Ordering::Acquire) {
                return;
            }
        }
        notified.await;
    }

    /// Takes the queued messages for routing: all of them, or from a deep queue the oldest
    /// [`TAKE_MAX`] (so that routing never holds a second copy of a deep queue's buffer).
    pub(crate) fn take_all(&self) -> VecDeque<Multipart> {
        let mut inner = lock(&self.inner);
        let batch = if inner.queue.len() <= TAKE_MAX {
            let spare = std::mem::take(&mut inner.spare);
            std::mem::replace(&mut inner.queue, spare)
        } else {
            inner.queue.drain(..TAKE_MAX).collect()
        };
        inner.taken = batch.len();
        batch
    }

    /// Puts back what could not be routed (in front: it is older), releasing the rest.
    pub(crate) fn give_back(&self, mut rest: VecDeque<Multipart>) {
        let mut inner = lock(&self.inner);
        let freed = inner.taken > rest.len();
        inner.taken = 0;
        if rest.is_empty() {
            // all routed: the batch's buffer is the spare for the next one
            if rest.capacity() > inner.spare.capacity() {
                inner.spare = rest;
            }
        } else if rest.len() >= inner.queue.len() {
            rest.append(&mut inner.queue);
            inner.queue = rest;
        } else {
            // a deep queue keeps its own buffer: the few left go back in front of it
            while let Some(msg) = rest.pop_back() {
                inner.queue.push_front(msg);
            }
        }
        drop(inner);
        if freed {
            self.space.notify_waiters();
        }
    }

    /// Whether the queue refuses further sends (the socket is closing).
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Messages queued or taken and not yet routed.
    pub(crate) fn len(&self) -> usize {
        let inner = lock(&self.inner);
        inner.queue.len() + inner.taken
    }

    pub(crate) fn is_empty(&self) -> bool {
        let inner = lock(&self.inner);
        inner.queue.is_empty() && inner.taken == 0
    }

    /// Refuses further sends; what is queued stays to be delivered.
    pub(crate) fn seal(&self) {
        let _inner = lock(&self.inner);
        self.closed.store(true, Ordering::Release);
        self.space.notify_waiters();
    }

    /// Refuses further sends and drops what is queued.
    pub(crate) fn close(&self) {
        let mut inner = lock(&self.inner);
        self.closed.store(true, Ordering::Release);
        inner.queue.clear();
        drop(inner);
        self.space.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_queue_is_bounded_and_keeps_order_when_given_back() {
        let q = SendQueue::new(3);
        assert!(matches!(
            q.try_push(Multipart::from("a")),
            Pushed::Queued { wake: true }
        ));
        assert!(matches!(
            q.try_push(Multipart::from("b")),
            Pushed::Queued { wake: false }
        ));
        let mut taken = q.take_all();
        assert!(matches!(
            q.try_push(Multipart::from("c")),
            Pushed::Queued { .. }
        ));
        // a and b are still counted while the actor holds them
        assert!(matches!(q.try_push(Multipart::from("d")), Pushed::Full(_)));
        taken.pop_front();
        q.give_back(taken);
        let order: Vec<_> = q.take_all().into_iter().collect();
        assert_eq!(order, [Multipart::from("b"), Multipart::from("c")]);
    }
}
