//! One connection → socket actor: a peer's inbound queue, `rcvhwm` deep.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::ThreadId;

use actormq_transports::{BoxFuture, Inbox, Multipart, Wake};
use tokio::sync::Notify;

use crate::engine::pack::{segments, Segment};
use crate::engine::queues::lock::lock;

/// One connection's reader → socket actor, `rcvhwm` deep (the reader pauses at the mark).
/// An in-process sender fills it directly, up to its own `sndhwm` on top of the `rcvhwm`, and
/// is told when it drains to half of that.
///
/// It is the [`Inbox`] a message-level link delivers into; an in-process link hands it to the
/// sending socket, which then delivers straight into it.
pub(crate) struct PeerIn {
    queue: Mutex<Segments>,
    /// A mirror of the queue's length, written under its lock, read without it.
    len: AtomicUsize,
    /// Told when the queue falls below the mark: a reader paused there resumes.
    pub(crate) space: Notify,
    /// The socket's `rcvhwm`.
    rcvhwm: usize,
    /// Tells the socket that receives from this queue that it turned non-empty.
    readable: Wake,
    /// The thread that socket runs on: small messages are packed only for a socket on another
    /// thread (see [`crate::engine::pack`]).
    thread: ThreadId,
    /// An in-process sender's callback for room (see [`Inbox::want_room`]).
    sender: OnceLock<Wake>,
    /// The in-process sender found this queue full and waits to hear of room: it is told once
    /// the queue is shorter than this (half its mark, so that it then moves a large batch
    /// rather than a message at a time), or 0 when nobody waits. Written and read under the
    /// queue's lock, so the wake-up cannot slip between a check and a pop.
    wake_below: AtomicUsize,
}

/// The messages of a [`PeerIn`], as the batches they came in (so that a batch is queued
/// without copying it), oldest first; none is empty.
#[derive(Default)]
struct Segments {
    segments: VecDeque<Segment>,
    /// Messages in all segments.
    len: usize,
    /// The buffer of an emptied plain segment, for an in-process sender to queue its next
    /// batch in (a buffer grown to a batch's size, rather than one that grows every time).
    spare: Option<VecDeque<Multipart>>,
}

impl Segments {
    fn push(&mut self, segment: Segment) {
        let n = segment.len();
        if n > 0 {
            self.segments.push_back(segment);
            self.len += n;
        }
    }

    /// Takes up to `n` messages, oldest first, keeping an emptied buffer as `spare` if asked
    /// (only an in-process sender has a use for it).
    fn take(&mut self, mut n: usize, keep_spare: bool, mut into: impl FnMut(Multipart)) {
        while n > 0 {
            let Some(front) = self.segments.front_mut() else {
                return;
            };
            let k = n.min(front.len());
            match front {
                Segment::Plain(q) => q.drain(..k).for_each(&mut into),
                Segment::Packed(_) => (0..k).filter_map(|_| front.pop()).for_each(&mut into),
            }
            self.len -= k;
            n -= k;
            if front.len() == 0 {
                match self.segments.pop_front() {
                    Some(Segment::Plain(empty)) if keep_spare => {
                        self.spare.get_or_insert(empty);
                    }
                    _ => {}
                }
            }
        }
    }
}

impl PeerIn {
    /// An empty queue of a socket running on this thread, with the socket's `rcvhwm`; when a
    /// link delivers into it and it was empty, it calls `readable`.
    pub(crate) fn new(rcvhwm: usize, readable: Wake) -> Self {
        PeerIn {
            queue: Mutex::default(),
            len: AtomicUsize::new(0),
            space: Notify::new(),
            rcvhwm,
            readable,
            thread: std::thread::current().id(),
            sender: OnceLock::new(),
            wake_below: AtomicUsize::new(0),
        }
    }

    /// The in-process sender found this queue at `hwm`: true when there is room after all,
    /// else the sender will be told when there is.
    fn want_room_below(&self, hwm: usize) -> bool {
        let q = lock(&self.queue);
        if q.len < hwm || self.sender.get().is_none() {
            return true;
        }
        self.wake_below.store(hwm / 2 + 1, Ordering::Relaxed);
        false
    }

    /// After a pop that left `len` queued, under the lock: whether the waiting sender must now
    /// be told.
    fn sender_to_wake(&self, len: usize) -> bool {
        if self.sender.get().is_none() || len >= self.wake_below.load(Ordering::Relaxed) {
            return false;
        }
        self.wake_below.store(0, Ordering::Relaxed);
        true
    }

    fn drained(&self, before: usize, after: usize, hwm: usize, wake_sender: bool) {
        if before >= hwm && after < hwm {
            self.space.notify_one();
        }
        if wake_sender {
            if let Some(wake) = self.sender.get() {
                wake();
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Appends a batch; true when the queue was empty (the socket actor must be told).
    pub(crate) fn push_batch(&self, msgs: Vec<Multipart>) -> bool {
        self.push_segments([Segment::Plain(msgs.into())])
    }

    /// Appends an in-process sender's batch, made by [`segments`]; true when the queue was
    /// empty (the socket actor must be told). The lock, which the receiving side wants too, is
    /// held only to link the segments in.
    pub(crate) fn push_segments(&self, segments: impl IntoIterator<Item = Segment>) -> bool {
        let mut q = lock(&self.queue);
        let was_empty = q.len == 0;
        segments.into_iter().for_each(|s| q.push(s));
        self.len.store(q.len, Ordering::Release);
        was_empty && q.len > 0
    }

    /// An emptied batch buffer, if there is one, for the sender's next batch.
    pub(crate) fn take_spare(&self) -> Option<VecDeque<Multipart>> {
        lock(&self.queue).spare.take()
    }

    /// Pops one message, waking the reader when this takes the queue below `hwm`.
    pub(crate) fn pop(&self, hwm: usize) -> Option<Multipart> {
        let mut q = lock(&self.queue);
        let mut msg = None;
        q.take(1, self.sender.get().is_some(), |m| msg = Some(m));
        let msg = msg?;
        let len = q.len;
        self.len.store(len, Ordering::Release);
        let wake_sender = self.sender_to_wake(len);
        drop(q);
        self.drained(len + 1, len, hwm, wake_sender);
        Some(msg)
    }

    /// Pops up to `n` messages into `into` under one lock, waking the reader when this takes
    /// the queue below `hwm`.
    pub(crate) fn pop_up_to(&self, n: usize, hwm: usize, into: &mut Vec<Multipart>) {
        self.pop_into(n, hwm, |msg| into.push(msg));
    }

    /// Pops up to `n` messages into `into` under one lock, waking the reader when this takes the
    /// queue below `hwm`; returns how many.
    pub(crate) fn pop_into(&self, n: usize, hwm: usize, into: impl FnMut(Multipart)) -> usize {
        let mut q = lock(&self.queue);
        let before = q.len;
        let moved = n.min(before);
        q.take(moved, self.sender.get().is_some(), into);
        self.len.store(before - moved, Ordering::Release);
        let wake_sender = moved > 0 && self.sender_to_wake(before - moved);
        drop(q);
        self.drained(before, before - moved, hwm, wake_sender);
        moved
    }

    /// Waits until the queue is below `hwm`.
    pub(crate) async fn wait_below(&self, hwm: usize) {
        while self.len() >= hwm {
            let notified = self.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.len() < hwm {
                return;
            }
            notified.await;
        }
    }
}

impl Inbox for PeerIn {
    /// Packs runs of small messages when the receiving socket runs on another thread than the
    /// deliverer (see [`crate::engine::pack`]); hands back an emptied buffer for the next batch
    /// when the batch went whole.
    fn deliver(&self, batch: &mut VecDeque<Multipart>, n: usize) {
        let elsewhere = self.thread != std::thread::current().id();
        if self.push_segments(segments(batch, n, elsewhere)) {
            (self.readable)();
        }
        if batch.capacity() == 0 {
            // the batch went whole: carry on in one of this queue's emptied buffers
            *batch = self.take_spare().unwrap_or_default();
        }
    }

    fn len(&self) -> usize {
        PeerIn::len(self)
    }

    fn capacity(&self) -> usize {
        self.rcvhwm
    }

    fn room(&self) -> BoxFuture<'_, ()> {
        // pops tell `space` when they take the queue below `rcvhwm` (the mark they are given)
        Box::pin(self.wait_below(self.rcvhwm))
    }

    fn want_room(&self, limit: usize) -> bool {
        self.want_room_below(limit)
    }

    fn on_room(&self, wake: Wake) {
        let _ = self.sender.set(wake);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_in_counts() {
        let q = PeerIn::new(3, std::sync::Arc::new(|| {}));
        assert!(q.push_batch(vec![Multipart::from("a"), Multipart::from("b")]));
        assert!(!q.push_batch(vec![Multipart::from("c")]));
        assert_eq!(q.len(), 3);
        assert_eq!(q.pop(3), Some(Multipart::from("a")));
        assert_eq!(q.len(), 2);
    }
}
