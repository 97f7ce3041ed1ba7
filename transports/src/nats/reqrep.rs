//! REQ/REP through NATS request/reply: a requester publishes each request on the endpoint's
//! subject with a reply subject of its own inbox; repliers subscribe to the subject in the
//! queue group named after it, so one of them answers, on that reply subject.
//!
//! A requester's envelope (the empty delimiter, and with `req_correlate` the request id before
//! it) stays here, keyed by the reply subject, and comes back on the reply; a replier's request
//! arrives as `[reply subject, "", frames...]`, so REP keeps the reply subject as the envelope
//! and the reply goes back to it. A request that finds no replier (the server answers "no
//! responders") is published again every [`RETRY_NO_RESPONDERS`], as a REQ waits for a peer.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use async_nats::StatusCode;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::publish::{next_batch, publish_batch, until_lost, Outgoing, LOST};
use super::queue::{deliver, join_queue};
use crate::broker::split_envelope;
use crate::link::{Inbox, QueueOutbox};

/// How long a request that found no replier waits before it is published again.
pub const RETRY_NO_RESPONDERS: Duration = Duration::from_millis(100);

/// Requests a requester remembers awaiting their replies; beyond, the oldest is forgotten (a
/// REQ waits for one reply at a time, and one that moved on with `req_relaxed` abandoned the
/// older requests), and a reply to it is skipped.
pub const PENDING_REQUESTS: usize = 16;

/// A request awaiting its reply.
struct Pending {
    envelope: Vec<Bytes>,
    body: Vec<Bytes>,
    /// When to publish it again, after "no responders".
    retry: Option<Instant>,
}

/// A requester: publishes each request with the reply subject `<inbox>.<n>`, and delivers
/// each reply with its request's envelope.
pub(super) async fn request(
    client: async_nats::Client,
    subject: String,
    outbox: Arc<QueueOutbox>,
    inbox: Arc<dyn Inbox>,
    lost: Arc<Notify>,
) -> String {
    let replies = client.new_inbox();
    let mut sub = match client.subscribe(format!("{replies}.*")).await {
        Ok(sub) => sub,
        Err(e) => return format!("nats: subscribing to {replies}.*: {e}"),
    };
    let mut pending: BTreeMap<u64, Pending> = BTreeMap::new();
    let mut next_id = 0u64;
    let mut batch = VecDeque::new();
    loop {
        let full = inbox.len() >= inbox.capacity();
        let retry_at = pending.values().filter_map(|p| p.retry).min();
        tokio::select! {
            requests = next_batch(&outbox, &lost) => {
                let requests = match requests {
                    Ok(requests) => requests,
                    Err(why) => return why,
                };
                let sent = publish_batch(&client, &*inbox, &lost, &requests, |msg| {
                    let (envelope, body) = split_envelope(msg);
                    next_id += 1;
                    let mut out = Outgoing::frames(subject.clone(), &body);
                    out.reply = Some(format!("{replies}.{next_id}"));
                    pending.insert(next_id, Pending { envelope, body, retry: None });
                    while pending.len() > PENDING_REQUESTS {
                        pending.pop_first();
                    }
                    Some(out)
                });
                if let Err(why) = sent.await {
                    return why;
                }
            }
            _ = tokio::time::sleep_until(retry_at.unwrap_or_else(Instant::now)), if retry_at.is_some() => {
                let now = Instant::now();
                for (id, p) in pending.iter_mut().filter(|(_, p)| p.retry.is_some_and(|t| t <= now)) {
                    p.retry = None;
                    let mut out = Outgoing::frames(subject.clone(), &p.body);
                    out.reply = Some(format!("{replies}.{id}"));
                    let sent = async {
                        out.send(&client).await.map_err(|e| format!("nats: {e}"))?;
                        client.flush().await.map_err(|e| format!("nats: {e}"))
                    };
                    if let Err(why) = until_lost(sent, &lost).await {
                        return why;
                    }
                }
            }
            next = sub.next(), if !full => {
                let Some(m) = next else { return "nats: the connection closed".into() };
                let Some(id) = m.subject.rsplit('.').next().and_then(|n| n.parse::<u64>().ok()) else {
                    continue;
                };
                if m.status == Some(StatusCode::NO_RESPONDERS) {
                    if let Some(p) = pending.get_mut(&id) {
                        tracing::debug!(%subject, "nats: no replier yet; the request waits");
                        p.retry = Some(Instant::now() + RETRY_NO_RESPONDERS);
                    }
                    continue;
                }
                let Some(p) = pending.remove(&id) else {
                    tracing::debug!(%subject, "nats: a reply to a forgotten request was skipped");
                    continue;
                };
                deliver(&*inbox, &mut batch, p.envelope, m, "a reply");
            }
            _ = inbox.room(), if full => {}
            _ = lost.notified() => return LOST.into(),
        }
    }
}

/// A replier: a member of the queue group `subject`; delivers each request as
/// `[reply subject, "", frames...]` and publishes each reply on the subject it starts with.
pub(super) async fn reply(
    client: async_nats::Client,
    subject: String,
    outbox: Arc<QueueOutbox>,
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
            replies = next_batch(&outbox, &lost) => {
                let replies = match replies {
                    Ok(replies) => replies,
                    Err(why) => return why,
                };
                let sent = publish_batch(&client, &*inbox, &lost, &replies, |msg| match msg.frames() {
                    [to, delimiter, body @ ..] if delimiter.is_empty() => {
                        Some(Outgoing::frames(String::from_utf8_lossy(to).into_owned(), body))
                    }
                    _ => {
                        inbox.lost(1, "nats: a reply without its reply subject was skipped");
                        None
                    }
                });
                if let Err(why) = sent.await {
                    return why;
                }
            }
            next = sub.next(), if !full => {
                let Some(m) = next else { return "nats: the connection closed".into() };
                let Some(to) = m.reply.clone() else {
                    tracing::warn!(%subject, "nats: a message without a reply subject is not a request; skipped");
                    continue;
                };
                let envelope = vec![Bytes::from(to.to_string()), Bytes::new()];
                deliver(&*inbox, &mut batch, envelope, m, "a request");
            }
            _ = inbox.room(), if full => {}
            _ = lost.notified() => return LOST.into(),
        }
    }
}
