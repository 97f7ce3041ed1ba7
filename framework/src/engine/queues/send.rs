//! Application → socket actor: the socket's send queue.
//!
//! It has two lanes. Sends on the thread where the socket actor runs (an actor of the same
//! arbiter, the usual case) go into a lane only that thread touches, with no lock; sends from
//! other threads go into a lane behind a lock. The actor takes from both. Each sender's order
//! holds (a sender stays on its thread's lane); the order between threads was never defined.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use actormq_transports::Multipart;
use tokio::sync::Notify;

use crate::engine::queues::compact::{Compactor, TAKE_MAX};
use crate::engine::queues::lock::lock;
use crate::engine::queues::owned::Owned;

/// The lane of sends from other threads, and what the actor holds.
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

/// The lane of sends on the socket actor's own thread.
#[derive(Default)]
struct Local {
    queue: VecDeque<Multipart>,
    compactor: Compactor,
}

/// Application → socket actor: the socket's send queue, `sndhwm` deep.
pub(crate) struct SendQueue {
    inner: Mutex<SendInner>,
    local: Owned<Local>,
    /// `inner`'s queued plus taken messages (written under its lock).
    shared_len: AtomicUsize,
    /// The local lane's length (written by the actor's thread only).
    local_len: AtomicUsize,
    /// `sndhwm`: queued plus taken messages never exceed it by more than one (a send from
    /// another thread racing those on the actor's thread: the other threads' sends take turns
    /// under the lock, and each sees the actor thread's lane as it stood when it looked).
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
    /// A queue of `cap` messages whose actor runs on the calling thread.
    pub(crate) fn new(cap: usize) -> Self {
        SendQueue {
            inner: Mutex::default(),
            local: Owned::new(Local::default()),
            shared_len: AtomicUsize::new(0),
            local_len: AtomicUsize::new(0),
            cap,
            space: Notify::new(),
            scheduled: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }
    }

    pub(crate) fn try_push(&self, mut msg: Multipart) -> Pushed {
        if let Some(mut local) = self.local.borrow() {
            if self.closed.load(Ordering::Acquire) {
                return Pushed::Closed;
            }
            let queued = local.queue.len();
            if queued + self.shared_len.load(Ordering::Acquire) >= self.cap {
                return Pushed::Full(msg);
            }
            local.compactor.joining(queued, &mut msg);
            local.queue.push_back(msg);
            self.local_len.store(queued + 1, Ordering::Release);
        } else {
            let mut inner = lock(&self.inner);
            if self.closed.load(Ordering::Acquire) {
                return Pushed::Closed;
            }
            let held = inner.queue.len() + inner.taken;
            if held + self.local_len.load(Ordering::Acquire) >= self.cap {
                return Pushed::Full(msg);
            }
            let queued = inner.queue.len();
            inner.compactor.joining(queued, &mut msg);
            inner.queue.push_back(msg);
            self.shared_len.store(held + 1, Ordering::Release);
        }
        Pushed::Queued {
            // a load first: the common case (already scheduled) needs no read-modify-write
            wake: !self.scheduled.load(Ordering::Acquire)
                && !self.scheduled.swap(true, Ordering::AcqRel),
        }
    }

    /// Whether a message would be queued now: there is room, or the queue is closed (then a
    /// push reports that).
    pub(crate) fn has_room_or_closed(&self) -> bool {
        self.len() < self.cap || self.closed.load(Ordering::Acquire)
    }

    /// Waits until there may be room (or the socket closed).
    pub(crate) async fn wait_for_space(&self) {
        let notified = self.space.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        // room is made only where `space` is told after the lengths changed
        if self.has_room_or_closed() {
            return;
        }
        notified.await;
    }

    /// Takes the queued messages for routing, the other threads' lane first: all of them, or
    /// from a deep queue the oldest [`TAKE_MAX`] (so that routing never holds a second copy of a
    /// deep queue's buffer). Called on the socket actor's thread.
    pub(crate) fn take_all(&self) -> VecDeque<Multipart> {
        let mut inner = lock(&self.inner);
        let mut batch = if inner.queue.len() <= TAKE_MAX {
            let spare = std::mem::take(&mut inner.spare);
            std::mem::replace(&mut inner.queue, spare)
        } else {
            inner.queue.drain(..TAKE_MAX).collect()
        };
        if let Some(mut local) = self.local.borrow() {
            let room = TAKE_MAX - batch.len();
            if batch.is_empty() && local.queue.len() <= TAKE_MAX {
                std::mem::swap(&mut batch, &mut local.queue);
            } else {
                let n = room.min(local.queue.len());
                batch.extend(local.queue.drain(..n));
            }
            self.local_len.store(local.queue.len(), Ordering::Release);
        }
        inner.taken = batch.len();
        self.shared_len
            .store(inner.queue.len() + inner.taken, Ordering::Release);
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
        self.shared_len.store(inner.queue.len(), Ordering::Release);
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
        self.shared_len.load(Ordering::Acquire) + self.local_len.load(Ordering::Acquire)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Refuses further sends; what is queued stays to be delivered.
    pub(crate) fn seal(&self) {
        let _inner = lock(&self.inner);
        self.closed.store(true, Ordering::Release);
        self.space.notify_waiters();
    }

    /// Refuses further sends and drops what is queued. Called on the socket actor's thread.
    pub(crate) fn close(&self) {
        let mut inner = lock(&self.inner);
        self.closed.store(true, Ordering::Release);
        let dropped = std::mem::take(&mut inner.queue);
        self.shared_len.store(inner.taken, Ordering::Release);
        drop(inner);
        let local = self
            .local
            .borrow()
            .map(|mut local| std::mem::take(&mut local.queue));
        self.local_len.store(0, Ordering::Release);
        // dropped outside the locks and borrows (a frame's owner may run code when freed)
        drop((dropped, local));
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

    #[test]
    fn both_lanes_count_against_the_cap_and_each_keeps_its_order() {
        let q = std::sync::Arc::new(SendQueue::new(6));
        for m in ["a1", "a2"] {
            assert!(matches!(q.try_push(m.into()), Pushed::Queued { .. }));
        }
        let other = q.clone();
        std::thread::spawn(move || {
            for m in ["b1", "b2", "b3"] {
                assert!(matches!(other.try_push(m.into()), Pushed::Queued { .. }));
            }
        })
        .join()
        .unwrap();
        assert_eq!(q.len(), 5);
        assert!(matches!(q.try_push("a3".into()), Pushed::Queued { .. }));
        // six queued: full on this thread and on another
        assert!(matches!(q.try_push("a4".into()), Pushed::Full(_)));
        let other = q.clone();
        let full =
            std::thread::spawn(move || matches!(other.try_push("b4".into()), Pushed::Full(_)))
                .join()
                .unwrap();
        assert!(full);
        let mut batch = q.take_all();
        assert_eq!(q.len(), 6, "taken still counts");
        let text = |b: &VecDeque<Multipart>| -> Vec<String> {
            b.iter()
                .map(|m| String::from_utf8_lossy(&m.frames()[0]).into_owned())
                .collect()
        };
        assert_eq!(text(&batch), ["b1", "b2", "b3", "a1", "a2", "a3"]);
        // b1 and a1 routed, the rest given back, then a newer send from this thread
        batch.retain(|m| m.frames()[0] != "b1" && m.frames()[0] != "a1");
        q.give_back(batch);
        assert_eq!(q.len(), 4);
        assert!(matches!(q.try_push("a4".into()), Pushed::Queued { .. }));
        assert_eq!(text(&q.take_all()), ["b2", "b3", "a2", "a3", "a4"]);
        q.give_back(VecDeque::new());
        assert!(q.is_empty());
        q.try_push("a5".into());
        q.close();
        assert!(q.is_empty());
        assert!(matches!(q.try_push("a6".into()), Pushed::Closed));
    }
}
