//! PUSH/PULL as a durable work queue on a JetStream stream:
//! `nats://HOST:PORT/SUBJECT?stream=NAME[&group=G&ack_wait_ms=N]`.
//!
//! - The stream NAME is created on first use (by a pusher or a puller), holding SUBJECT with
//!   work-queue retention: a message stays in it until a puller acknowledges it. A stream made
//!   beforehand (`nats stream add`) is used as it is.
//! - A pusher publishes each message to the stream and counts it sent only once JetStream has
//!   stored it (its publish acknowledgement); at most [`ACK_WINDOW`] publications await theirs,
//!   and a closing socket waits (within `linger`) for the last ones. A publication JetStream
//!   refuses is counted in the socket's `undelivered`.
//! - Pullers share the durable pull consumer G (`actormq` by default), taking no more than the
//!   socket has room for. A message is acknowledged only once the application has received it;
//!   one a puller took and did not acknowledge within `ack_wait_ms` (30 s by default; a killed
//!   puller's) is delivered again, to any puller. Delivery is at least once.
//!
//! So, unlike core NATS, work pushed while no puller is there waits for one, a puller's crash
//! loses nothing, and a pusher faster than its pullers is held back by the stream's
//! acknowledgements instead of overflowing a subscriber.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy};
use async_nats::jetstream::context::{PublishAckFuture, PublishErrorKind};
use async_nats::jetstream::message::Acker;
use async_nats::jetstream::stream::{Config, RetentionPolicy};
use async_nats::jetstream::{self, AckKind};
use futures_util::{FutureExt, StreamExt};
use tokio::sync::Notify;

use super::frames;
use super::publish::{next_batch, LOST};
use crate::ack::{AckOutbox, Acks};
use crate::link::{Inbox, Outbox, QueueOutbox};
use crate::{BoxFuture, Multipart};

/// The durable consumer the pullers share when the endpoint names none.
pub const GROUP: &str = "actormq";

/// How long a message may stay unacknowledged with one puller before JetStream delivers it
/// again, when the endpoint does not say (`ack_wait_ms`).
pub const ACK_WAIT: Duration = Duration::from_secs(30);

/// Publications a pusher has awaiting JetStream's acknowledgement before it waits for the
/// oldest.
pub const ACK_WINDOW: usize = 4096;

/// Messages the consumer may have delivered and not yet had acknowledged, over all its
/// pullers (JetStream's `max_ack_pending`, set when this transport creates the consumer).
pub const MAX_ACK_PENDING: i64 = 65_536;

/// The most messages one pull asks for (and the client buffers for a puller).
pub const PULL_BATCH: usize = 512;

/// A durable queue's settings, from the endpoint's query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Durable {
    /// The JetStream stream.
    pub stream: String,
    /// The durable consumer the pullers share.
    pub group: String,
    /// How long a delivered message may stay unacknowledged.
    pub ack_wait: Duration,
}

impl Durable {
    /// The settings a query (what follows `?`) names: none without `stream=`.
    ///
    /// ```
    /// use actormq_transports::nats::jetstream::Durable;
    /// let d = Durable::parse("stream=TASKS&group=resizers").unwrap().unwrap();
    /// assert_eq!((d.stream.as_str(), d.group.as_str()), ("TASKS", "resizers"));
    /// assert!(Durable::parse("").unwrap().is_none());
    /// assert!(Durable::parse("group=x").is_err()); // a group needs a stream
    /// ```
    pub fn parse(query: &str) -> Result<Option<Durable>, String> {
        let (mut stream, mut group, mut ack_wait) = (None, GROUP.to_string(), ACK_WAIT);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("stream", s)) if valid_name(s) => stream = Some(s.to_string()),
                Some(("group", g)) if valid_name(g) => group = g.to_string(),
                Some(("ack_wait_ms", ms)) => {
                    let ms: u64 = ms
                        .parse()
                        .map_err(|_| format!("ack_wait_ms={ms} is not a number of ms"))?;
                    ack_wait = Duration::from_millis(ms.max(1));
                }
                _ => {
                    return Err(format!(
                        "{pair:?}: a NATS endpoint takes stream=NAME, group=NAME and ack_wait_ms=N (names without spaces, dots, '*' or '>')"
                    ))
                }
            }
        }
        match stream {
            Some(stream) => Ok(Some(Durable {
                stream,
                group,
                ack_wait,
            })),
            None if query.is_empty() => Ok(None),
            None => Err("group= and ack_wait_ms= need a JetStream stream: add stream=NAME".into()),
        }
    }
}

/// Whether `name` may name a JetStream stream or consumer.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'))
}

/// The stream, created with `subject` and work-queue retention if it does not exist.
async fn open_stream(
    js: &jetstream::Context,
    durable: &Durable,
    subject: &str,
) -> Result<jetstream::stream::Stream, String> {
    js.get_or_create_stream(Config {
        name: durable.stream.clone(),
        subjects: vec![subject.to_string()],
        retention: RetentionPolicy::WorkQueue,
        ..Default::default()
    })
    .await
    .map_err(|e| format!("nats: opening the JetStream stream {}: {e}", durable.stream))
}

/// Waits for the oldest publication's acknowledgement; one JetStream refused is reported lost.
async fn acked(unacked: &mut VecDeque<PublishAckFuture>, inbox: &dyn Inbox) {
    if let Some(oldest) = unacked.pop_front() {
        if let Err(e) = oldest.await {
            inbox.lost(1, &format!("JetStream did not store a message: {e}"));
        }
    }
}

/// A pusher: opens the stream, then publishes each batch the socket queues while earlier
/// publications await their acknowledgements. It takes the socket's next batch only once
/// everything before is acknowledged or the window has room, so a closing socket waits for the
/// acknowledgements (within its `linger`).
pub(super) async fn push(
    client: async_nats::Client,
    subject: String,
    durable: Durable,
    outbox: Arc<QueueOutbox>,
    inbox: Arc<dyn Inbox>,
    lost: Arc<Notify>,
) -> String {
    let js = jetstream::new(client);
    if let Err(why) = open_stream(&js, &durable, &subject).await {
        return why;
    }
    let mut unacked: VecDeque<PublishAckFuture> = VecDeque::new();
    loop {
        let batch = if unacked.is_empty() {
            match next_batch(&outbox, &lost).await {
                Ok(batch) => batch,
                Err(why) => return why,
            }
        } else {
            tokio::select! {
                _ = outbox.queued(), if unacked.len() < ACK_WINDOW => outbox.next_batch().await,
                _ = acked(&mut unacked, &*inbox) => continue,
                _ = lost.notified() => {
                    inbox.lost(unacked.len(), "nats: JetStream publications unacknowledged when the connection was lost");
                    return LOST.into();
                }
            }
        };
        for (i, msg) in batch.iter().enumerate() {
            // a batch may be larger than the window (and the client's in-flight permits)
            while unacked.len() >= ACK_WINDOW {
                tokio::select! {
                    _ = acked(&mut unacked, &*inbox) => {}
                    _ = lost.notified() => {
                        inbox.lost(batch.len() - i + unacked.len(), "nats: JetStream publications cut off by the lost connection");
                        return LOST.into();
                    }
                }
            }
            let (headers, payload) = frames::encode(msg.frames());
            let published = async {
                match headers {
                    Some(h) => js.publish_with_headers(subject.clone(), h, payload).await,
                    None => js.publish(subject.clone(), payload).await,
                }
            };
            let published = tokio::select! {
                p = published => p,
                _ = lost.notified() => {
                    inbox.lost(batch.len() - i + unacked.len(), "nats: JetStream publications cut off by the lost connection");
                    return LOST.into();
                }
            };
            match published {
                Ok(ack) => unacked.push_back(ack),
                Err(e) if e.kind() == PublishErrorKind::MaxPayloadExceeded => inbox.lost(
                    1,
                    &format!(
                        "a message of {} bytes is over the NATS server's max_payload: not published",
                        msg.byte_len()
                    ),
                ),
                Err(e) => {
                    inbox.lost(
                        batch.len() - i + unacked.len(),
                        &format!("nats: publishing to JetStream failed: {e}"),
                    );
                    return format!("nats: {e}");
                }
            }
        }
    }
}

/// A puller: opens the stream and the durable consumer, and returns the link's outbox (which
/// waits, at close, for what the application took to be acknowledged) and its driver.
pub(super) async fn pull(
    client: async_nats::Client,
    subject: String,
    durable: Durable,
    inbox: Arc<dyn Inbox>,
    lost: Arc<Notify>,
) -> Result<(Arc<dyn Outbox>, BoxFuture<'static, String>), String> {
    let js = jetstream::new(client.clone());
    let stream = open_stream(&js, &durable, &subject).await?;
    let consumer: jetstream::consumer::PullConsumer = stream
        .get_or_create_consumer(
            &durable.group,
            pull::Config {
                durable_name: Some(durable.group.clone()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: durable.ack_wait,
                max_ack_pending: MAX_ACK_PENDING,
                filter_subject: subject.clone(),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| format!("nats: the JetStream consumer {}: {e}", durable.group))?;
    let messages = consumer
        .stream()
        .max_messages_per_batch(inbox.capacity().clamp(1, PULL_BATCH))
        .messages()
        .await
        .map_err(|e| format!("nats: pulling from {}: {e}", durable.stream))?;
    let acks = Acks::<Acker>::new();
    let hooked = inbox.on_taken(acks.hook());
    let outbox: Arc<dyn Outbox> = Arc::new(AckOutbox(acks.clone()));
    let driver = take(client, messages, acks, hooked, inbox, lost);
    Ok((outbox, Box::pin(driver)))
}

/// Queues `m` in `batch` and records its acknowledger; one that does not decode is discarded
/// and terminated (JetStream will not deliver it again).
async fn queue_message(
    m: jetstream::Message,
    batch: &mut VecDeque<Multipart>,
    acks: &Acks<Acker>,
    hooked: bool,
    inbox: &dyn Inbox,
) {
    let (m, acker) = m.split();
    match frames::decode(m.headers.as_ref(), m.payload) {
        Ok(msg) => {
            acks.delivered([acker]);
            if !hooked {
                acks.took(1);
            }
            batch.push_back(msg);
        }
        Err(why) => {
            inbox.discarded(
                1,
                &format!("nats: a message on {} was skipped: {why}", m.subject),
            );
            let _ = acker.ack_with(AckKind::Term).await;
        }
    }
}

/// Delivers what the consumer gives, in one delivery per burst and never more than the
/// socket has room for, and acknowledges what the application has taken.
async fn take(
    client: async_nats::Client,
    mut messages: pull::Stream,
    acks: Arc<Acks<Acker>>,
    hooked: bool,
    inbox: Arc<dyn Inbox>,
    lost: Arc<Notify>,
) -> String {
    let mut batch = VecDeque::new();
    loop {
        let full = inbox.len() >= inbox.capacity();
        tokio::select! {
            next = messages.next(), if !full => {
                match next {
                    None => return "nats: the JetStream consumer ended".into(),
                    Some(Err(e)) => return format!("nats: pulling from JetStream: {e}"),
                    Some(Ok(m)) => queue_message(m, &mut batch, &acks, hooked, &*inbox).await,
                }
                let room = inbox.capacity().saturating_sub(inbox.len());
                while batch.len() < room {
                    match messages.next().now_or_never() {
                        Some(Some(Ok(m))) => queue_message(m, &mut batch, &acks, hooked, &*inbox).await,
                        Some(Some(Err(e))) => return format!("nats: pulling from JetStream: {e}"),
                        Some(None) | None => break,
                    }
                }
                let n = batch.len();
                if n > 0 {
                    inbox.deliver(&mut batch, n);
                }
            }
            taken = acks.next_taken() => {
                for acker in &taken {
                    if let Err(e) = acker.ack().await {
                        acks.settled();
                        return format!("nats: acknowledging to JetStream: {e}");
                    }
                }
                if let Err(e) = client.flush().await {
                    acks.settled();
                    return format!("nats: acknowledging to JetStream: {e}");
                }
                acks.settled();
            }
            _ = inbox.room(), if full => {}
            _ = lost.notified() => return LOST.into(),
        }
    }
}
