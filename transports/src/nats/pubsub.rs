//! The publish/subscribe drivers: a publisher's messages become NATS publications, a
//! subscriber's subscriptions NATS subscriptions.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use futures_util::{FutureExt, Stream};

use super::publish::{publish_all, Outgoing};
use super::subjects::Subjects;
use crate::link::{Inbox, QueueOutbox};
use crate::subscription::parse_subscription;
use crate::Multipart;

/// Publishes what the socket queues, each `[subject, body]` on its subject; ends when the
/// connection is lost.
pub(super) async fn publish(
    client: async_nats::Client,
    outbox: Arc<QueueOutbox>,
    inbox: Arc<dyn Inbox>,
    lost: Arc<tokio::sync::Notify>,
) -> String {
    publish_all(&client, &outbox, &*inbox, &lost, |msg| {
        let subject = msg
            .first()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default();
        let body = msg.frames().get(1).cloned().unwrap_or_default();
        Some(Outgoing::new(subject, body))
    })
    .await
}

/// The next message of any of the subscriptions, with the subject it came through; `None`
/// when one ended (the connection is closed).
fn next_message<'a>(
    subs: &'a mut [(String, async_nats::Subscriber)],
    start: usize,
) -> impl std::future::Future<Output = Option<(String, async_nats::Message)>> + 'a {
    std::future::poll_fn(move |cx| {
        let n = subs.len();
        for k in 0..n {
            let (via, sub) = &mut subs[(start + k) % n];
            match Pin::new(sub).poll_next(cx) {
                Poll::Ready(Some(m)) => return Poll::Ready(Some((via.clone(), m))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => {}
            }
        }
        Poll::Pending
    })
}

/// A subscriber: the socket's subscriptions become NATS subscriptions, messages become
/// `[subject, payload]`; taking pauses while the socket's inbound queue is at its mark.
pub(super) async fn subscribe(
    client: async_nats::Client,
    outbox: Arc<QueueOutbox>,
    inbox: Arc<dyn Inbox>,
    lost: Arc<tokio::sync::Notify>,
) -> String {
    let mut subjects = Subjects::default();
    let mut subs: Vec<(String, async_nats::Subscriber)> = Vec::new();
    let mut batch = VecDeque::new();
    let mut turn = 0usize;
    loop {
        let full = inbox.len() >= inbox.capacity();
        let taking = !full && !subs.is_empty();
        tokio::select! {
            changes = outbox.next_batch() => {
                for msg in &changes {
                    let Some((on, prefix)) = parse_subscription(msg) else { continue };
                    match subjects.apply(on, prefix) {
                        Some((true, subject)) => match client.subscribe(subject.clone()).await {
                            Ok(sub) => subs.push((subject, sub)),
                            Err(e) => return format!("nats: subscribing to {subject}: {e}"),
                        },
                        Some((false, subject)) => {
                            if let Some(i) = subs.iter().position(|(s, _)| *s == subject) {
                                let (_, mut sub) = subs.remove(i);
                                let _ = sub.unsubscribe().await;
                            }
                        }
                        None => {}
                    }
                }
            }
            next = next_message(&mut subs, turn), if taking => {
                turn = turn.wrapping_add(1);
                let Some((via, m)) = next else {
                    return "nats: the connection closed".into();
                };
                let keep = |via: String, m: async_nats::Message, batch: &mut VecDeque<Multipart>| {
                    if subjects.delivers(&via, &m.subject) {
                        batch.push_back(Multipart::from(vec![Bytes::from(m.subject.to_string()), m.payload]));
                    }
                };
                keep(via, m, &mut batch);
                // and what else the client already holds, up to the room left, in one delivery
                let room = inbox.capacity().saturating_sub(inbox.len());
                let mut closed = false;
                while batch.len() < room {
                    match next_message(&mut subs, turn).now_or_never() {
                        Some(Some((via, m))) => {
                            turn = turn.wrapping_add(1);
                            keep(via, m, &mut batch);
                        }
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
            _ = lost.notified() => return "nats: connection lost".into(),
        }
    }
}
