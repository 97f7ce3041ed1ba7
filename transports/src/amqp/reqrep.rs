//! REQ/REP through a durable queue and RabbitMQ's direct reply-to.
//!
//! A requester publishes each request to the queue with the reply address
//! `amq.rabbitmq.reply-to` and a correlation id of its own, and keeps the request's envelope
//! (the delimiter, and with `req_correlate` the request id) by that id; the reply comes back
//! on the requester's channel and is delivered with its envelope. Requests wait in the queue
//! until a replier takes them. A replier consumes the queue (prefetch `rcvhwm`), delivers each
//! request as `[reply-to, correlation, "", frames...]` so that REP keeps both as the envelope,
//! publishes each reply to its reply-to address, and acknowledges a request once the
//! application has received it.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicPublishOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel};

use super::queue::{acknowledge, consume, deliver, refuse, PERSISTENT};
use super::{declare_queue, decode, encode};
use crate::broker::split_envelope;
use crate::link::{Inbox, Outbox, QueueOutbox};
use crate::{BoxFuture, Multipart};

/// RabbitMQ's pseudo-queue for replies straight to the requester's channel.
pub const DIRECT_REPLY_TO: &str = "amq.rabbitmq.reply-to";

/// Requests a requester remembers awaiting their replies; beyond, the oldest is forgotten (a
/// REQ waits for one reply at a time, and one that moved on with `req_relaxed` abandoned the
/// older requests), and a reply to it is skipped.
pub const PENDING_REQUESTS: usize = 16;

/// Publishes `frames` to the default exchange with `routing_key`.
async fn send(
    channel: &Channel,
    routing_key: &str,
    frames: &[Bytes],
    with: impl FnOnce(BasicProperties) -> BasicProperties,
) -> Result<(), String> {
    let (payload, properties) = encode(frames);
    channel
        .basic_publish(
            "".into(),
            routing_key.into(),
            BasicPublishOptions::default(),
            &payload,
            with(properties),
        )
        .await
        .map(|_| ())
        .map_err(|e| format!("amqp: {e}"))
}

/// A requester.
pub(super) async fn request(
    channel: Channel,
    queue: String,
    outbox: Arc<QueueOutbox>,
    inbox: Arc<dyn Inbox>,
) -> Result<impl Future<Output = String> + Send + 'static, String> {
    declare_queue(&channel, &queue).await?;
    let options = BasicConsumeOptions {
        no_ack: true,
        ..BasicConsumeOptions::default()
    };
    let mut replies = channel
        .basic_consume(
            DIRECT_REPLY_TO.into(),
            "".into(),
            options,
            FieldTable::default(),
        )
        .await
        .map_err(|e| format!("amqp: consuming {DIRECT_REPLY_TO}: {e}"))?;
    Ok(async move {
        let mut pending: BTreeMap<u64, Vec<Bytes>> = BTreeMap::new();
        let mut next_id = 0u64;
        let mut batch = VecDeque::new();
        loop {
            let full = inbox.len() >= inbox.capacity();
            tokio::select! {
                requests = outbox.next_batch() => {
                    for msg in &requests {
                        let (envelope, body) = split_envelope(msg);
                        next_id += 1;
                        let id = next_id.to_string();
                        let sent = send(&channel, &queue, &body, |p| {
                            p.with_reply_to(DIRECT_REPLY_TO.into())
                                .with_correlation_id(id.as_str().into())
                                .with_delivery_mode(PERSISTENT)
                        })
                        .await;
                        if let Err(why) = sent {
                            return why;
                        }
                        pending.insert(next_id, envelope);
                        while pending.len() > PENDING_REQUESTS {
                            pending.pop_first();
                        }
                    }
                }
                next = replies.next(), if !full => {
                    let d = match next {
                        Some(Ok(d)) => d,
                        Some(Err(e)) => return format!("amqp: {e}"),
                        None => return "amqp: the reply consumer was cancelled".into(),
                    };
                    let id = d.properties.correlation_id().as_ref().and_then(|c| c.as_str().parse::<u64>().ok());
                    let Some(envelope) = id.and_then(|id| pending.remove(&id)) else {
                        tracing::debug!(%queue, "amqp: a reply to a forgotten request was skipped");
                        continue;
                    };
                    match decode(d.data, &d.properties) {
                        Ok(body) => {
                            let mut msg = Multipart::from(envelope);
                            for frame in body {
                                msg.push(frame);
                            }
                            batch.push_back(msg);
                            inbox.deliver(&mut batch, 1);
                        }
                        Err(why) => inbox.discarded(1, &format!("amqp: a reply from {queue} was skipped: {why}")),
                    }
                }
                _ = inbox.room(), if full => {}
            }
        }
    })
}

/// The envelope frame that carries a request's correlation id: never empty (REP's envelope
/// ends at the first empty frame), `c` then the id.
fn correlation_frame(id: Option<&str>) -> Bytes {
    Bytes::from(format!("c{}", id.unwrap_or_default()))
}

/// A replier.
pub(super) async fn reply(
    channel: Channel,
    queue: String,
    outbox: Arc<QueueOutbox>,
    inbox: Arc<dyn Inbox>,
) -> Result<(Arc<dyn Outbox>, BoxFuture<'static, String>), String> {
    let (mut consumer, acks, hooked) = consume(&channel, &queue, &*inbox).await?;
    let replying = {
        let (channel, acks, outbox) = (channel.clone(), acks.clone(), outbox.clone());
        async move {
            let mut batch = VecDeque::new();
            loop {
                let full = inbox.len() >= inbox.capacity();
                tokio::select! {
                    replies = outbox.next_batch() => {
                        for msg in &replies {
                            let [to, correlation, delimiter, body @ ..] = msg.frames() else {
                                tracing::warn!("amqp: a reply without its envelope was skipped");
                                continue;
                            };
                            if !delimiter.is_empty() {
                                tracing::warn!("amqp: a reply without its envelope was skipped");
                                continue;
                            }
                            let to = String::from_utf8_lossy(to).into_owned();
                            let id = String::from_utf8_lossy(correlation.get(1..).unwrap_or_default()).into_owned();
                            let sent = send(&channel, &to, body, |p| {
                                if id.is_empty() { p } else { p.with_correlation_id(id.as_str().into()) }
                            })
                            .await;
                            if let Err(why) = sent {
                                return why;
                            }
                        }
                    }
                    next = consumer.next(), if !full => {
                        let mut d = match next {
                            Some(Ok(d)) => d,
                            Some(Err(e)) => return format!("amqp: {e}"),
                            None => return "amqp: the consumer was cancelled".into(),
                        };
                        let Some(to) = d.properties.reply_to().as_ref().map(|r| r.as_str().to_string()) else {
                            if let Err(e) = refuse(&channel, &*inbox, &d, "a message without reply-to is not a request").await {
                                return e;
                            }
                            continue;
                        };
                        let correlation = correlation_frame(d.properties.correlation_id().as_ref().map(|c| c.as_str()));
                        match decode(std::mem::take(&mut d.data), &d.properties) {
                            Ok(body) => {
                                let mut msg = Multipart::from(vec![Bytes::from(to), correlation, Bytes::new()]);
                                for frame in body {
                                    msg.push(frame);
                                }
                                deliver(&*inbox, &mut batch, &acks, hooked, d.delivery_tag, msg);
                            }
                            Err(why) => if let Err(e) = refuse(&channel, &*inbox, &d, &why).await { return e },
                        }
                    }
                    _ = inbox.room(), if full => {}
                }
            }
        }
    };
    let acking = acknowledge(channel, acks);
    let driver = async move {
        tokio::select! {
            why = replying => why,
            why = acking => why,
        }
    };
    Ok((outbox, Box::pin(driver)))
}
