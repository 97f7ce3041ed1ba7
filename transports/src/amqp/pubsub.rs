//! Publish/subscribe through a topic exchange: a publisher's `[topic, body]` is published with
//! the topic as routing key; a subscriber's queue is bound for its prefixes ([`super::topics`]).

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel};

use super::prefetch;
use super::topics::Prefixes;
use crate::link::{Inbox, QueueOutbox};
use crate::subscription::{parse_subscription, subscribe_message};
use crate::Multipart;

/// A publisher: its peer, the broker, subscribes to everything (the exchange routes). Publishes
/// each batch the socket queues; ends when the channel fails (the batch's rest is lost, and
/// said so).
pub(super) fn publish(
    channel: Channel,
    exchange: String,
    outbox: Arc<QueueOutbox>,
    inbox: Arc<dyn Inbox>,
) -> impl Future<Output = String> + Send + 'static {
    let mut all: VecDeque<Multipart> = [subscribe_message(b"")].into();
    inbox.deliver(&mut all, 1);
    async move {
        loop {
            let batch = outbox.next_batch().await;
            for (i, msg) in batch.iter().enumerate() {
                let key = String::from_utf8_lossy(&msg.frames()[0]).into_owned();
                let body = msg.frames().get(1).cloned().unwrap_or_default();
                let sent = channel
                    .basic_publish(
                        exchange.as_str().into(),
                        key.into(),
                        BasicPublishOptions::default(),
                        &body,
                        BasicProperties::default(),
                    )
                    .await;
                if let Err(e) = sent {
                    inbox.lost(
                        batch.len() - i,
                        &format!("publications to amqp failed: {e}"),
                    );
                    return format!("amqp: {e}");
                }
            }
        }
    }
}

/// A subscriber: a queue of its own (exclusive, deleted with the connection), bound to the
/// exchange for its prefixes; delivers `[routing key, body]`, taking no more than the socket
/// has room for (the prefetch is its `rcvhwm`, and each delivery is acknowledged as it enters
/// the socket).
pub(super) async fn subscribe(
    channel: Channel,
    exchange: String,
    outbox: Arc<QueueOutbox>,
    inbox: Arc<dyn Inbox>,
) -> Result<impl Future<Output = String> + Send + 'static, String> {
    let options = QueueDeclareOptions {
        exclusive: true,
        auto_delete: true,
        ..QueueDeclareOptions::default()
    };
    let queue = channel
        .queue_declare("".into(), options, FieldTable::default())
        .await
        .map_err(|e| format!("amqp: declaring the subscriber's queue: {e}"))?;
    let queue = queue.name().as_str().to_string();
    prefetch(&channel, inbox.capacity()).await?;
    let mut consumer = channel
        .basic_consume(
            queue.as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| format!("amqp: {e}"))?;
    Ok(async move {
        let mut prefixes = Prefixes::default();
        let mut batch = VecDeque::new();
        loop {
            let full = inbox.len() >= inbox.capacity();
            tokio::select! {
                changes = outbox.next_batch() => {
                    for msg in &changes {
                        let Some((on, prefix)) = parse_subscription(msg) else { continue };
                        let Some((bind, key)) = prefixes.apply(on, prefix) else { continue };
                        let done = if bind {
                            channel.queue_bind(queue.as_str().into(), exchange.as_str().into(), key.as_str().into(), QueueBindOptions::default(), FieldTable::default()).await
                        } else {
                            channel.queue_unbind(queue.as_str().into(), exchange.as_str().into(), key.as_str().into(), FieldTable::default()).await
                        };
                        if let Err(e) = done {
                            return format!("amqp: binding {key} to {exchange}: {e}");
                        }
                    }
                }
                next = consumer.next(), if !full => {
                    let d = match next {
                        Some(Ok(d)) => d,
                        Some(Err(e)) => return format!("amqp: {e}"),
                        None => return "amqp: the subscription ended".into(),
                    };
                    let key = d.routing_key.as_str().as_bytes();
                    if prefixes.matches(key) {
                        batch.push_back(Multipart::from(vec![Bytes::copy_from_slice(key), Bytes::from(d.data)]));
                        inbox.deliver(&mut batch, 1);
                    }
                    if let Err(e) = channel.basic_ack(d.delivery_tag, BasicAckOptions::default()).await {
                        return format!("amqp: {e}");
                    }
                }
                _ = inbox.room(), if full => {}
            }
        }
    })
}
