//! PUSH/PULL through a NATS queue group: a pusher publishes each message on the endpoint's
//! subject; every puller of that subject subscribes in the queue group named after it, so the
//! server hands each message to one of them.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use tokio::sync::Notify;

use super::frames;
use super::publish::{publish_all, Outgoing, LOST};
use crate::link::{Inbox, QueueOutbox};
use crate::Multipart;

/// Publishes what the socket queues on `subject`; ends when the connection is lost.
pub(super) async fn push(
    client: async_nats::Client,
    subject: String,
    outbox: Arc<QueueOutbox>,
    inbox: Arc<dyn Inbox>,
    lost: Arc<Notify>,
) -> String {
    publish_all(&client, &outbox, &*inbox, &lost, |msg| {
        Some(Outgoing::frames(subject.clone(), msg.frames()))
    })
    .await
}

/// Subscribes as a member of the queue group named `subject`.
pub(super) async fn join_queue(
    client: &async_nats::Client,
    subject: &str,
) -> Result<async_nats::Subscriber, String> {
    client
        .queue_subscribe(subject.to_string(), subject.to_string())
        .await
        .map_err(|e| format!("nats: subscribing to {subject}: {e}"))
}

/// Queues the frames `m` carries after `envelope` in `batch`; discards it (naming it `what`)
/// when its frames header is malformed ([`Inbox::discarded`]).
fn queue_frames(
    inbox: &dyn Inbox,
    batch: &mut VecDeque<Multipart>,
    envelope: Vec<Bytes>,
    m: async_nats::Message,
    what: &str,
) {
    match frames::decode(m.headers.as_ref(), m.payload) {
        Ok(body) => {
            let mut msg = Multipart::from(envelope);
            for frame in body {
                msg.push(frame);
            }
            batch.push_back(msg);
        }
        Err(why) => inbox.discarded(
            1,
            &format!("nats: {what} on {} was skipped: {why}", m.subject),
        ),
    }
}

/// Delivers the frames `m` carries after `envelope` ([`queue_frames`]).
pub(super) fn deliver(
    inbox: &dyn Inbox,
    batch: &mut VecDeque<Multipart>,
    envelope: Vec<Bytes>,
    m: async_nats::Message,
    what: &str,
) {
    queue_frames(inbox, batch, envelope, m, what);
    let n = batch.len();
    if n > 0 {
        inbox.deliver(batch, n);
    }
}

/// Takes the messages the server gives this member of the queue group `subject` and delivers
/// them; taking pauses while the socket's inbound queue is at its mark.
pub(super) async fn pull(
    client: async_nats::Client,
    subject: String,
    inbox: Arc<dyn Inbox>,
    lost: Arc<Notify>,
) -> String {
    let mut sub = match join_queue(&client, &subject).await {
        Ok(sub) => sub,
        Err(why) => return why,
    };
    let mut batch = VecDeque::new();
    loop {
        let full = inbox.len() >= inbox.capacity();
        tokio::select! {
            next = sub.next(), if !full => {
                let Some(m) = next else { return "nats: the connection closed".into() };
                queue_frames(&*inbox, &mut batch, Vec::new(), m, "a message");
                // and what else the client already holds, up to the room left: one delivery
                // per burst keeps up with the client, whose buffer drops what overflows it
                let room = inbox.capacity().saturating_sub(inbox.len());
                let mut closed = false;
                while batch.len() < room {
                    match sub.next().now_or_never() {
                        Some(Some(m)) => queue_frames(&*inbox, &mut batch, Vec::new(), m, "a message"),
                        Some(None) => {
                            closed = true;
                            break;
                        }
                        None => break,
                    }
                }
                let n = batch.len();
                if n > 0 {
                    inbox.deliver(&mut batch, n);
                }
                if closed {
                    return "nats: the connection closed".into();
                }
            }
            _ = inbox.room(), if full => {}
            _ = lost.notified() => return LOST.into(),
        }
    }
}
