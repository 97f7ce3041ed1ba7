//! Socket actor → one connection: what is queued toward a peer, or for an attached in-process
//! peer, delivered straight into its socket's inbound queue.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use actix::Recipient;
use actormq_transports::Multipart;
use tokio::sync::Notify;

use crate::engine::pack::segments;
use crate::engine::queues::lock::lock;
use crate::engine::queues::peer_in::PeerIn;
use crate::engine::signals::PeerReadable;

/// Where an in-process connection delivers: the receiving socket's inbound queue for this
/// peer, and that socket, to wake when the queue turns non-empty.
pub(crate) struct Direct {
    pub(crate) inbox: Arc<PeerIn>,
    pub(crate) socket: Recipient<PeerReadable>,
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
/// [`crate::engine::pack`]), and wakes its socket when the queue was empty.
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

/// Socket actor → one connection's writer; or, for an in-process connection once attached,
/// straight into the receiving socket's inbound queue.
pub(crate) struct PeerOut {
    queue: Mutex<VecDeque<Multipart>>,
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
        deliver(&direct, pending);
        let _ = self.direct.set(direct);
    }

    pub(crate) fn push_batch(&self, items: impl IntoIterator<Item = Multipart>) {
        let mut q = lock(&self.queue);
        if let Some(direct) = self.direct.get() {
            deliver(direct, items);
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
        q.extend(batch.drain(..n));
        self.len.store(q.len(), Ordering::Release);
        drop(q);
        if n > 0 {
            self.wake.notify_one();
        }
    }

    /// Takes everything queued; returns it with the queue length before.
    pub(crate) fn take_all(&self) -> (VecDeque<Multipart>, usize) {
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
