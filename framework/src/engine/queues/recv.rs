//! Socket actor → application: the ready queue the application receives from.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use actormq_patterns::PeerId;
use actormq_transports::Multipart;
use tokio::sync::Notify;

use crate::engine::queues::lock::lock;
use crate::engine::queues::peer_in::PeerIn;

/// Socket actor → application: messages ready to be received, already fair-queued.
pub(crate) struct RecvQueue {
    queue: Mutex<VecDeque<(PeerId, Multipart)>>,
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
