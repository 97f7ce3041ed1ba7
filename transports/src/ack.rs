//! Acknowledging a durable broker's deliveries once the application has them: what a link to
//! a durable queue (a Redis stream group, a RabbitMQ queue) shares between the task that
//! delivers and the task that acknowledges.
//!
//! The delivering task records each delivery's id ([`Acks::delivered`]) before it hands the
//! message to the socket; the socket reports messages the application took through the hook
//! ([`Acks::hook`], given to [`crate::Inbox::on_taken`]), in delivery order; the acknowledging
//! task takes the ids of those ([`Acks::next_taken`]), acknowledges them to the broker and says
//! so ([`Acks::settled`]). A closing socket waits on [`AckOutbox::flushed`] (within its
//! `linger`) until everything taken has been acknowledged.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::link::{Discard, Outbox, Taken};
use crate::{BoxFuture, Multipart};

/// Deliveries awaiting acknowledgement, by their broker ids `T`.
pub(crate) struct Acks<T> {
    /// Ids of the messages delivered to the socket and not yet taken, oldest first.
    delivered: Mutex<VecDeque<T>>,
    /// Messages taken since the acknowledging task last looked.
    taken: AtomicUsize,
    /// Told when `taken` grows.
    told: Notify,
    /// The acknowledging task is acknowledging.
    busy: AtomicBool,
    /// Told when it is done.
    settled: Notify,
}

impl<T: Send + 'static> Acks<T> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Acks {
            delivered: Mutex::new(VecDeque::new()),
            taken: AtomicUsize::new(0),
            told: Notify::new(),
            busy: AtomicBool::new(false),
            settled: Notify::new(),
        })
    }

    /// The callback for [`crate::Inbox::on_taken`].
    pub(crate) fn hook(self: &Arc<Self>) -> Taken {
        let acks = self.clone();
        Arc::new(move |n| acks.took(n))
    }

    /// `n` more messages were taken (by the application, or on delivery by a link whose
    /// socket cannot say).
    pub(crate) fn took(&self, n: usize) {
        self.taken.fetch_add(n, Ordering::AcqRel);
        self.told.notify_one();
    }

    /// Records the ids of messages about to be delivered, in delivery order.
    pub(crate) fn delivered(&self, ids: impl IntoIterator<Item = T>) {
        self.delivered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(ids);
    }

    /// Waits until messages were taken; the ids of those (possibly none, when they were
    /// taken before their ids were known to this link). The caller acknowledges them, then
    /// calls [`Acks::settled`].
    pub(crate) async fn next_taken(&self) -> Vec<T> {
        self.told.notified().await;
        self.busy.store(true, Ordering::Release);
        let n = self.taken.swap(0, Ordering::AcqRel);
        let mut delivered = self.delivered.lock().unwrap_or_else(|e| e.into_inner());
        let n = n.min(delivered.len());
        delivered.drain(..n).collect()
    }

    /// What [`Acks::next_taken`] gave has been acknowledged.
    pub(crate) fn settled(&self) {
        self.busy.store(false, Ordering::Release);
        self.settled.notify_waiters();
    }

    /// Whether everything taken has been acknowledged.
    fn idle(&self) -> bool {
        self.taken.load(Ordering::Acquire) == 0 && !self.busy.load(Ordering::Acquire)
    }
}

/// The [`Outbox`] of a link that only receives from a durable queue: it sends nothing, as
/// [`Discard`], and a closing socket waits on it until what the application took has been
/// acknowledged.
pub(crate) struct AckOutbox<T>(pub(crate) Arc<Acks<T>>);

impl<T: Send + 'static> Outbox for AckOutbox<T> {
    fn len(&self) -> usize {
        Discard.len()
    }
    fn room(&self, hwm: usize) -> usize {
        Discard.room(hwm)
    }
    fn send(&self, batch: &mut VecDeque<Multipart>, n: usize) {
        Discard.send(batch, n)
    }
    fn want_room(&self, hwm: usize) -> bool {
        Discard.want_room(hwm)
    }
    fn flushed(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            loop {
                let settled = self.0.settled.notified();
                tokio::pin!(settled);
                settled.as_mut().enable();
                if self.0.idle() {
                    return;
                }
                settled.await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn taken_ids_come_in_order_and_close_waits_for_them() {
        let acks = Acks::<u32>::new();
        let outbox = AckOutbox(acks.clone());
        outbox.flushed().await; // nothing taken: at once
        acks.delivered([1, 2, 3]);
        (acks.hook())(2);
        assert_eq!(acks.next_taken().await, [1, 2]);
        let waiting = tokio::spawn({
            let acks = acks.clone();
            async move { AckOutbox(acks).flushed().await }
        });
        tokio::task::yield_now().await;
        assert!(
            !waiting.is_finished(),
            "closing waits for the acknowledgement"
        );
        acks.settled();
        waiting.await.unwrap();
        acks.took(5);
        assert_eq!(acks.next_taken().await, [3], "no more than were delivered");
    }
}
