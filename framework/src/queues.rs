//! The bounded queues of the hot path.
//!
//! Per `shared/perf-notes.md`, an actor message per frame caps throughput, so messages move
//! between the application, the socket actor and the connections through shared bounded queues
//! that the receiving side drains in batches; an actor message is sent only when a queue turns
//! non-empty (one wake-up per batch). Each queue has one consumer.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use actix::Addr;

use actormq_patterns::PeerId;
use actormq_transports::zmtp::Command;
use actormq_transports::Multipart;
use tokio::sync::Notify;

use crate::pack::{segments, Segment};
use crate::socket_actor::{PeerReadable, PeerWritable, SocketActor};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks cannot leave the queue inconsistent (every
    // critical section is a push or a pop), so a poisoned lock is used as it is.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Default)]
struct SendInner {
    queue: VecDeque<Multipart>,
    /// Messages the socket actor took and has not routed yet; they count against the cap.
    taken: usize,
}

/// Application → socket actor: the socket's send queue, `sndhwm` deep.
pub(crate) struct SendQueue {
    inner: Mutex<SendInner>,
    cap: usize,
    space: Notify,
    /// A `Flush` is on its way to the socket actor.
    pub(crate) scheduled: AtomicBool,
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

    pub(crate) fn try_push(&self, msg: Multipart) -> Pushed {
        let mut inner = lock(&self.inner);
        if self.closed.load(Ordering::Acquire) {
            return Pushed::Closed;
        }
        if inner.queue.len() + inner.taken >= self.cap {
            return Pushed::Full(msg);
        }
        inner.queue.push_back(msg);
        drop(inner);
        Pushed::Queued {
            // a load first: the common case (already scheduled) needs no read-modify-write
            wake: !self.scheduled.load(Ordering::Acquire)
                && !self.scheduled.swap(true, Ordering::AcqRel),
        }
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

    /// Takes every queued message for routing.
    pub(crate) fn take_all(&self) -> VecDeque<Multipart> {
        let mut inner = lock(&self.inner);
        let batch = std::mem::take(&mut inner.queue);
        inner.taken = batch.len();
        batch
    }

    /// Puts back what could not be routed (in front: it is older), releasing the rest.
    pub(crate) fn give_back(&self, mut rest: VecDeque<Multipart>) {
        let mut inner = lock(&self.inner);
        let freed = inner.taken > rest.len();
        inner.taken = 0;
        // `rest` keeps the batch's buffer: reusing it spares the queue regrowing every batch
        rest.append(&mut inner.queue);
        inner.queue = rest;
        drop(inner);
        if freed {
            self.space.notify_waiters();
        }
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

/// Socket actor → application: messages ready to be received, already fair-queued.
pub(crate) struct RecvQueue {
    queue: Mutex<VecDeque<(PeerId, Multipart)>>,
    data: Notify,
    /// Peers hold more than fitted: ask the socket actor to pump when this drains.
    pub(crate) backlog: AtomicBool,
    closed: AtomicBool,
}

/// How many ready messages the socket actor keeps for the application before it stops taking
/// from the peers' queues. Small, so that fair queueing happens where the messages wait.
pub(crate) const RECV_BATCH: usize = 64;

impl RecvQueue {
    pub(crate) fn new() -> Self {
        RecvQueue {
            queue: Mutex::default(),
            data: Notify::new(),
            backlog: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.queue).len()
    }

    pub(crate) fn push_batch(&self, msgs: Vec<(PeerId, Multipart)>) {
        if msgs.is_empty() {
            return;
        }
        lock(&self.queue).extend(msgs);
        // every receiver waiting now may take one; receivers register before they look
        // (`wait`), so none misses this
        self.data.notify_waiters();
    }

    /// Moves messages of a peer whose messages reach the application unchanged straight into
    /// this queue, up to [`RECV_BATCH`], under this queue's lock (so that whoever does it, the
    /// socket actor or a receiving application, the peer's order holds). True when that filled
    /// the queue.
    pub(crate) fn refill_from(&self, id: PeerId, inq: &PeerIn, hwm: usize) -> bool {
        let mut q = lock(&self.queue);
        let room = RECV_BATCH.saturating_sub(q.len());
        let moved = inq.pop_into(room, hwm, |msg| q.push_back((id, msg)));
        drop(q);
        if moved > 0 {
            self.data.notify_waiters();
        }
        moved >= room
    }

    /// Pops a message; the flag says the socket actor should pump more.
    pub(crate) fn try_pop(&self) -> Option<((PeerId, Multipart), bool)> {
        let mut q = lock(&self.queue);
        let msg = q.pop_front()?;
        let left = q.len();
        drop(q);
        let pump = left <= RECV_BATCH / 2 && self.backlog.swap(false, Ordering::AcqRel);
        Some((msg, pump))
    }

    pub(crate) async fn wait(&self) {
        let notified = self.data.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if !lock(&self.queue).is_empty() || self.closed.load(Ordering::Acquire) {
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

/// What a connection writes: an application message or a command.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Message(Multipart),
    Command(Command),
}

/// Where an in-process connection delivers: the receiving socket's inbound queue for this
/// peer, and that socket, to wake when the queue turns non-empty.
pub(crate) struct Direct {
    pub(crate) inbox: Arc<PeerIn>,
    pub(crate) socket: Addr<SocketActor>,
    /// The receiving socket's `rcvhwm`: as in libzmq, an in-process pipe holds the sender's
    /// `sndhwm` plus the receiver's `rcvhwm`.
    pub(crate) rcvhwm: usize,
    /// The thread the receiving socket runs on. Small messages are packed only for a socket on
    /// another thread: on the sender's own thread, freeing them there costs nothing extra.
    pub(crate) thread: std::thread::ThreadId,
}

impl Direct {
    /// Whether the receiving socket runs on another thread than the caller.
    fn elsewhere(&self) -> bool {
        self.thread != std::thread::current().id()
    }
}

/// Delivers messages into an in-process peer's inbound queue, small ones packed (see
/// [`crate::pack`]), and wakes its socket when the queue was empty.
fn deliver(direct: &Direct, msgs: impl IntoIterator<Item = Multipart>) {
    let mut msgs: VecDeque<Multipart> = msgs.into_iter().collect();
    let n = msgs.len();
    if direct
        .inbox
        .push_segments(segments(&mut msgs, n, direct.elsewhere()))
    {
        direct.socket.do_send(PeerReadable);
    }
}

/// The application messages among a connection's outgoing items (an in-process peer needs no
/// commands).
fn messages(items: impl IntoIterator<Item = Outgoing>) -> impl Iterator<Item = Multipart> {
    items.into_iter().filter_map(|item| match item {
        Outgoing::Message(m) => Some(m),
        Outgoing::Command(_) => None,
    })
}

/// Socket actor → one connection's writer; or, for an in-process connection once attached,
/// straight into the receiving socket's inbound queue.
pub(crate) struct PeerOut {
    queue: Mutex<VecDeque<Outgoing>>,
    len: AtomicUsize,
    pub(crate) wake: Notify,
    closed: AtomicBool,
    direct: OnceLock<Direct>,
}

impl PeerOut {
    pub(crate) fn new() -> Self {
        PeerOut {
            queue: Mutex::default(),
            len: AtomicUsize::new(0),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
            direct: OnceLock::new(),
        }
    }

    /// Messages queued toward the peer: for a direct connection, what its inbound queue holds.
    pub(crate) fn len(&self) -> usize {
        match self.direct.get() {
            Some(direct) => direct.inbox.len().saturating_sub(direct.rcvhwm),
            None => self.len.load(Ordering::Acquire),
        }
    }

    /// The socket found this peer full: true when there is room after all; otherwise the
    /// socket hears `PeerWritable` when there is (from the writer, or for an in-process peer
    /// from its socket's pops).
    pub(crate) fn want_room(&self, hwm: usize) -> bool {
        match self.direct.get() {
            Some(direct) => direct.inbox.want_room(hwm + direct.rcvhwm),
            None => false,
        }
    }

    /// From now on deliver straight into the peer's inbound queue, starting with what waits
    /// here. Done under this queue's lock, so no batch can overtake another.
    pub(crate) fn go_direct(&self, direct: Direct) {
        let mut q = lock(&self.queue);
        let pending = std::mem::take(&mut *q);
        self.len.store(0, Ordering::Release);
        deliver(&direct, messages(pending));
        let _ = self.direct.set(direct);
    }

    pub(crate) fn push_batch(&self, items: impl IntoIterator<Item = Outgoing>) {
        let mut q = lock(&self.queue);
        if let Some(direct) = self.direct.get() {
            deliver(direct, messages(items));
            return;
        }
        q.extend(items);
        // the mirror of the length is written under the lock, so it never disagrees with it
        self.len.store(q.len(), Ordering::Release);
        let any = !q.is_empty();
        drop(q);
        if any {
            self.wake.notify_one();
        }
    }

    /// Moves messages from the front of `batch` while this peer stays under `hwm` (for an
    /// in-process peer: `hwm` plus its `rcvhwm`), under one lock and with one wake-up.
    pub(crate) fn take_from(&self, batch: &mut VecDeque<Multipart>, hwm: usize) {
        let mut q = lock(&self.queue);
        if let Some(direct) = self.direct.get() {
            let room = (hwm + direct.rcvhwm).saturating_sub(direct.inbox.len());
            let n = room.min(batch.len());
            if direct
                .inbox
                .push_segments(segments(batch, n, direct.elsewhere()))
            {
                direct.socket.do_send(PeerReadable);
            }
            if batch.capacity() == 0 {
                // the batch went whole: carry on in one of the peer's emptied buffers
                *batch = direct.inbox.take_spare().unwrap_or_default();
            }
            return;
        }
        let n = hwm.saturating_sub(q.len()).min(batch.len());
        q.extend(batch.drain(..n).map(Outgoing::Message));
        self.len.store(q.len(), Ordering::Release);
        drop(q);
        if n > 0 {
            self.wake.notify_one();
        }
    }

    pub(crate) fn push(&self, item: Outgoing) {
        self.push_batch(std::iter::once(item));
    }

    /// Takes everything queued; returns it with the queue length before.
    pub(crate) fn take_all(&self) -> (VecDeque<Outgoing>, usize) {
        let mut q = lock(&self.queue);
        let batch = std::mem::take(&mut *q);
        self.len.store(0, Ordering::Release);
        let before = batch.len();
        (batch, before)
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

/// One connection's reader → socket actor, `rcvhwm` deep (the reader pauses at the mark).
/// An in-process sender fills it directly, up to its own `sndhwm`, and is told when it drains
/// below that.
pub(crate) struct PeerIn {
    queue: Mutex<Inbox>,
    len: AtomicUsize,
    pub(crate) space: Notify,
    sender: OnceLock<Addr<SocketActor>>,
    /// The in-process sender found this queue full and waits to hear of room: it is told once
    /// the queue is shorter than this (half its mark, so that it then moves a large batch
    /// rather than a message at a time), or 0 when nobody waits. Written and read under the
    /// queue's lock, so the wake-up cannot slip between a check and a pop.
    wake_below: AtomicUsize,
}

/// The messages of a [`PeerIn`], as the batches they came in (so that a batch is queued
/// without copying it), oldest first; none is empty.
#[derive(Default)]
struct Inbox {
    segments: VecDeque<Segment>,
    /// Messages in all segments.
    len: usize,
    /// The buffer of an emptied plain segment, for an in-process sender to queue its next
    /// batch in (a buffer grown to a batch's size, rather than one that grows every time).
    spare: Option<VecDeque<Multipart>>,
}

impl Inbox {
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
    pub(crate) fn new() -> Self {
        PeerIn {
            queue: Mutex::default(),
            len: AtomicUsize::new(0),
            space: Notify::new(),
            sender: OnceLock::new(),
            wake_below: AtomicUsize::new(0),
        }
    }

    /// An in-process sender fills this queue directly: its socket is told when room appears
    /// after it found the queue full.
    pub(crate) fn set_sender(&self, socket: Addr<SocketActor>) {
        let _ = self.sender.set(socket);
    }

    /// The in-process sender found this queue at `hwm`: true when there is room after all,
    /// else the sender will be told when there is.
    pub(crate) fn want_room(&self, hwm: usize) -> bool {
        let q = lock(&self.queue);
        if q.len < hwm {
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
            if let Some(socket) = self.sender.get() {
                socket.do_send(PeerWritable);
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
    fn peer_in_counts() {
        let q = PeerIn::new();
        assert!(q.push_batch(vec![Multipart::from("a"), Multipart::from("b")]));
        assert!(!q.push_batch(vec![Multipart::from("c")]));
        assert_eq!(q.len(), 3);
        assert_eq!(q.pop(3), Some(Multipart::from("a")));
        assert_eq!(q.len(), 2);
    }
}
