//! One connection → socket actor: a peer's inbound queue, `rcvhwm` deep.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::ThreadId;

use actormq_transports::{BoxFuture, Inbox, Multipart, Taken, Wake};
use tokio::sync::Notify;

use crate::engine::pack::{cost, segments, weigh, Segment};
use crate::engine::queues::counts::Tally;
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
    /// A mirror of the queue's bytes (see [`cost`]), written under its lock with `len`.
    bytes: AtomicUsize,
    /// The socket's `rcvhwm_bytes`: the reader pauses while the queue holds this many.
    rcvhwm_bytes: usize,
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
    /// The link's callback for messages the application took ([`Inbox::on_taken`]); the
    /// connection registers it with the socket once the link has started.
    taken: OnceLock<Taken>,
    /// Where a link's losses are counted ([`Inbox::lost`], [`Inbox::discarded`]).
    losses: Option<Losses>,
    /// Messages and bytes that arrived here since [`PeerIn::take_totals`] (for metrics).
    arrived: Tally,
}

/// Counts what a link reports lost ([`Loss`]), `n` messages, and logs why.
pub(crate) type Losses = std::sync::Arc<dyn Fn(Loss, usize, &str) + Send + Sync>;

/// Which way a link lost messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Loss {
    /// The socket's messages, not passed on ([`Inbox::lost`]).
    Sent,
    /// Arriving messages, dropped before the inbox ([`Inbox::discarded`]).
    Arrived,
}

/// The messages of a [`PeerIn`], as the batches they came in (so that a batch is queued
/// without copying it), oldest first; none is empty.
#[derive(Default)]
struct Segments {
    segments: VecDeque<Segment>,
    /// Messages in all segments.
    len: usize,
    /// What they count for against `rcvhwm_bytes` (the sum of their [`cost`]s).
    bytes: usize,
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

    /// Takes up to `n` messages, oldest first, stopping once they count for `budget` bytes (at
    /// least one is taken), keeping an emptied buffer as `spare` if asked (only an in-process
    /// sender has a use for it). Returns how many.
    fn take(
        &mut self,
        n: usize,
        budget: usize,
        keep_spare: bool,
        mut into: impl FnMut(Multipart),
    ) -> usize {
        let mut taken = 0;
        let mut spent = 0usize;
        while taken < n && spent < budget {
            let Some(front) = self.segments.front_mut() else {
                break;
            };
            if let Some(msg) = front.pop() {
                let c = cost(&msg);
                spent = spent.saturating_add(c);
                self.bytes = self.bytes.saturating_sub(c);
                self.len -= 1;
                taken += 1;
                into(msg);
            }
            if front.len() == 0 {
                match self.segments.pop_front() {
                    Some(Segment::Plain(empty)) if keep_spare => {
                        self.spare.get_or_insert(empty);
                    }
                    _ => {}
                }
            }
        }
        taken
    }
}

impl PeerIn {
    /// An empty queue of a socket running on this thread, with the socket's `rcvhwm` and
    /// `rcvhwm_bytes`; when a link delivers into it and it was empty, it calls `readable`.
    pub(crate) fn new(rcvhwm: usize, rcvhwm_bytes: usize, readable: Wake) -> Self {
        PeerIn {
            queue: Mutex::default(),
            len: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            rcvhwm_bytes,
            space: Notify::new(),
            rcvhwm,
            readable,
            thread: std::thread::current().id(),
            sender: OnceLock::new(),
            wake_below: AtomicUsize::new(0),
            taken: OnceLock::new(),
            losses: None,
            arrived: Default::default(),
        }
    }

    /// Messages and bytes that arrived since the last call of [`PeerIn::take_totals`].
    pub(crate) fn totals(&self) -> (u64, u64) {
        self.arrived.get()
    }

    /// Returns [`PeerIn::totals`] and starts counting again from zero.
    pub(crate) fn take_totals(&self) -> (u64, u64) {
        self.arrived.take()
    }

    /// Counts the link's losses with `losses` (without it they are only logged).
    pub(crate) fn counting_losses(mut self, losses: Losses) -> Self {
        self.losses = Some(losses);
        self
    }

    /// Reports a loss to the counter, or logs it.
    fn report(&self, loss: Loss, n: usize, why: &str) {
        match &self.losses {
            Some(count) if n > 0 => count(loss, n, why),
            Some(_) => {}
            None if n > 0 => tracing::warn!(messages = n, ?loss, "{why}"),
            None => {}
        }
    }

    /// The link's callback for messages the application took, if it asked for one.
    pub(crate) fn taken_hook(&self) -> Option<Taken> {
        self.taken.get().cloned()
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

    /// After a pop: `before` and `after` are (messages, bytes).
    fn drained(
        &self,
        before: (usize, usize),
        after: (usize, usize),
        hwm: usize,
        wake_sender: bool,
    ) {
        if !self.low(before, hwm) && self.low(after, hwm) {
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

    /// What the queued messages count for against `rcvhwm_bytes` (see [`cost`]).
    pub(crate) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    /// Whether (messages, bytes) is at most half of `hwm` and of `rcvhwm_bytes`: where a
    /// paused reader resumes (not at the mark itself, so that it resumes with room for many
    /// messages rather than stopping again after every read).
    fn low(&self, (len, bytes): (usize, usize), hwm: usize) -> bool {
        len <= hwm / 2 && bytes <= self.rcvhwm_bytes / 2
    }

    /// Whether a reader must pause: `hwm` messages, or `rcvhwm_bytes` bytes, are queued.
    pub(crate) fn is_full(&self, hwm: usize) -> bool {
        self.len() >= hwm || self.bytes() >= self.rcvhwm_bytes
    }

    /// Appends a batch; true when the queue was empty (the socket actor must be told).
    pub(crate) fn push_batch(&self, msgs: Vec<Multipart>) -> bool {
        let weight = weigh(msgs.iter());
        self.push_counted([Segment::Plain(msgs.into())], weight)
    }

    /// Appends an in-process sender's batch, made by [`segments`]; true when the queue was
    /// empty (the socket actor must be told). The lock, which the receiving side wants too, is
    /// held only to link the segments in.
    pub(crate) fn push_segments(&self, segments: Vec<Segment>) -> bool {
        // counted before the lock is taken
        let weight = segments
            .iter()
            .map(Segment::weigh)
            .fold((0usize, 0usize), |a, w| {
                (a.0.saturating_add(w.0), a.1.saturating_add(w.1))
            });
        self.push_counted(segments, weight)
    }

    /// Appends segments that count for `cost` and hold `bytes` in all.
    fn push_counted(
        &self,
        segments: impl IntoIterator<Item = Segment>,
        (cost, bytes): (usize, usize),
    ) -> bool {
        let mut q = lock(&self.queue);
        let was_empty = q.len == 0;
        let before = q.len;
        segments.into_iter().for_each(|s| q.push(s));
        q.bytes = q.bytes.saturating_add(cost);
        self.bytes.store(q.bytes, Ordering::Release);
        self.len.store(q.len, Ordering::Release);
        let arrived = q.len - before;
        drop(q);
        self.arrived.add(arrived, bytes);
        was_empty && arrived > 0
    }

    /// An emptied batch buffer, if there is one, for the sender's next batch.
    pub(crate) fn take_spare(&self) -> Option<VecDeque<Multipart>> {
        lock(&self.queue).spare.take()
    }

    /// Pops one message, waking the reader when this takes the queue below `hwm`.
    pub(crate) fn pop(&self, hwm: usize) -> Option<Multipart> {
        let mut msg = None;
        self.pop_within(1, usize::MAX, hwm, |m| msg = Some(m));
        msg
    }

    /// Pops up to `n` messages into `into` under one lock, stopping once they count for
    /// `budget` bytes (at least one, if any, is taken), waking the reader when this takes the
    /// queue below its marks; returns how many.
    pub(crate) fn pop_within(
        &self,
        n: usize,
        budget: usize,
        hwm: usize,
        into: impl FnMut(Multipart),
    ) -> usize {
        let mut q = lock(&self.queue);
        let before = (q.len, q.bytes);
        let moved = q.take(n, budget.max(1), self.sender.get().is_some(), into);
        let after = (q.len, q.bytes);
        self.bytes.store(after.1, Ordering::Release);
        self.len.store(after.0, Ordering::Release);
        let wake_sender = moved > 0 && self.sender_to_wake(after.0);
        drop(q);
        self.drained(before, after, hwm, wake_sender);
        moved
    }

    /// Waits until the queue has drained to half of `hwm` messages and of `rcvhwm_bytes`
    /// bytes (a reader paused at the mark resumes there).
    pub(crate) async fn wait_below(&self, hwm: usize) {
        let now = || (self.len(), self.bytes());
        while !self.low(now(), hwm) {
            let notified = self.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.low(now(), hwm) {
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

    fn on_taken(&self, taken: Taken) -> bool {
        let _ = self.taken.set(taken);
        true
    }

    fn lost(&self, n: usize, why: &str) {
        self.report(Loss::Sent, n, why);
    }

    fn discarded(&self, n: usize, why: &str) {
        self.report(Loss::Arrived, n, why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_in_counts() {
        let q = PeerIn::new(3, usize::MAX, std::sync::Arc::new(|| {}));
        assert!(q.push_batch(vec![Multipart::from("a"), Multipart::from("b")]));
        assert!(!q.push_batch(vec![Multipart::from("c")]));
        assert_eq!(q.len(), 3);
        assert_eq!(q.pop(3), Some(Multipart::from("a")));
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn peer_in_counts_bytes_and_is_full_at_either_mark() {
        let q = PeerIn::new(1000, 100, std::sync::Arc::new(|| {}));
        // 10 bytes + 32 per frame
        q.push_batch(vec![
            Multipart::from("0123456789"),
            Multipart::from(["ab", ""]),
        ]);
        assert_eq!(q.bytes(), 42 + 66);
        assert!(q.is_full(1000), "108 bytes >= 100");
        assert_eq!(q.pop(1000), Some(Multipart::from("0123456789")));
        assert_eq!(q.bytes(), 66);
        assert!(!q.is_full(1000));
        // a budget stops a batch pop, after at least one message
        q.push_batch(vec![Multipart::from("x"), Multipart::from("y")]);
        let mut got = Vec::new();
        assert_eq!(q.pop_within(10, 1, 1000, |m| got.push(m)), 1);
        assert_eq!(q.pop_within(10, usize::MAX, 1000, |m| got.push(m)), 2);
        assert_eq!(q.bytes(), 0);
        assert_eq!(q.len(), 0);
        // packed segments (an in-process sender on another thread) count the same
        let mut batch: VecDeque<Multipart> = (0..5u8)
            .map(|i| Multipart::from([vec![b'0' + i], vec![b'x']]))
            .collect();
        q.push_segments(segments(&mut batch, 5, true));
        assert_eq!(q.bytes(), 5 * (2 + 64));
        while q.pop(1000).is_some() {}
        assert_eq!(q.bytes(), 0);
    }
}
