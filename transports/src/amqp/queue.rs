//! PUSH/PULL through a durable queue with competing consumers: a pusher publishes persistent
//! messages and waits for the broker's confirms; each puller takes at most its `rcvhwm`
//! unacknowledged messages (the prefetch) and acknowledges each once the application has
//! received it. A puller that dies leaves its unacknowledged messages to RabbitMQ, which gives
//! them to another: nothing is lost, and a message may come twice (marked redelivered).

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;

use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicRejectOptions,
    ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Consumer, PublisherConfirm};

use super::{declare_queue, decode, encode, prefetch};
use crate::ack::{AckOutbox, Acks};
use crate::link::{Inbox, Outbox, QueueOutbox};
use crate::{BoxFuture, Multipart};

/// The delivery mode of a message RabbitMQ keeps on disk.
pub(super) const PERSISTENT: u8 = 2;

/// Messages a pusher publishes before it waits for RabbitMQ to confirm the oldest.
pub const CONFIRM_WINDOW: usize = 10_000;

/// A pusher: publishes each batch the socket queues to the queue, persistent, while earlier
/// ones await RabbitMQ's confirms (at most [`CONFIRM_WINDOW`] messages unconfirmed); ends when
/// the channel fails. It tells the socket that everything has left only once everything is
/// confirmed, so a closing socket waits (within its `linger`) for the confirms.
pub(super) async fn push(
    channel: Channel,
    queue: String,
    outbox: Arc<QueueOutbox>,
    inbox: Arc<dyn Inbox>,
) -> Result<impl Future<Output = String> + Send + 'static, String> {
    declare_queue(&channel, &queue).await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| format!("amqp: {e}"))?;
    Ok(async move {
        let mut unconfirmed: VecDeque<PublisherConfirm> = VecDeque::new();
        loop {
            let batch = if unconfirmed.is_empty() {
                outbox.next_batch().await
            } else if unconfirmed.len() >= CONFIRM_WINDOW {
                if let Err(why) = confirmed(&mut unconfirmed, &queue, &*inbox).await {
                    return why;
                }
                continue;
            } else {
                tokio::select! {
                    _ = outbox.queued() => outbox.next_batch().await,
                    done = confirmed(&mut unconfirmed, &queue, &*inbox) => {
                        if let Err(why) = done {
                            return why;
                        }
                        continue;
                    }
                }
            };
            for (i, msg) in batch.iter().enumerate() {
                let (payload, properties) = encode(msg.frames());
                let sent = channel
                    .basic_publish(
                        "".into(),
                        queue.as_str().into(),
                        BasicPublishOptions::default(),
                        &payload,
                        properties.with_delivery_mode(PERSISTENT),
                    )
                    .await;
                match sent {
                    Ok(confirm) => unconfirmed.push_back(confirm),
                    Err(e) => {
                        inbox.lost(batch.len() - i, &format!("publishing to amqp failed: {e}"));
                        inbox.lost(
                            unconfirmed.len(),
                            &format!("amqp: messages were not confirmed: {e}"),
                        );
                        return format!("amqp: {e}");
                    }
                }
            }
        }
    })
}

/// Waits for the oldest unconfirmed message's confirm; a refusal (nack), or the end of the
/// channel with messages unconfirmed, is reported lost.
async fn confirmed(
    unconfirmed: &mut VecDeque<PublisherConfirm>,
    queue: &str,
    inbox: &dyn Inbox,
) -> Result<(), String> {
    let Some(confirm) = unconfirmed.front_mut() else {
        return Ok(());
    };
    let result = confirm.await;
    unconfirmed.pop_front();
    match result {
        Ok(c) if c.is_nack() => {
            inbox.lost(1, &format!("RabbitMQ refused a message for {queue} (nack)"));
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e) => {
            inbox.lost(
                unconfirmed.len() + 1,
                &format!("amqp: messages for {queue} were not confirmed: {e}"),
            );
            Err(format!("amqp: {e}"))
        }
    }
}

/// Starts consuming `queue` with the socket's `rcvhwm` as the prefetch; the acknowledgements
/// that the application's receiving triggers (or each delivery, if the socket cannot say).
pub(super) async fn consume(
    channel: &Channel,
    queue: &str,
    inbox: &dyn Inbox,
) -> Result<(Consumer, Arc<Acks<u64>>, bool), String> {
    declare_queue(channel, queue).await?;
    prefetch(channel, inbox.capacity()).await?;
    let consumer = channel
        .basic_consume(
            queue.into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| format!("amqp: consuming {queue}: {e}"))?;
    let acks = Acks::new();
    let hooked = inbox.on_taken(acks.hook());
    Ok((consumer, acks, hooked))
}

/// Delivers `msg` (the message of delivery `d`) and remembers its tag for acknowledgement.
pub(super) fn deliver(
    inbox: &dyn Inbox,
    batch: &mut VecDeque<Multipart>,
    acks: &Acks<u64>,
    hooked: bool,
    tag: u64,
    msg: Multipart,
) {
    acks.delivered([tag]);
    if !hooked {
        acks.took(1);
    }
    batch.push_back(msg);
    inbox.deliver(batch, 1);
}

/// Refuses a delivery that cannot be delivered (malformed, or not a request), for good: it is
/// not given again, and is counted as discarded.
pub(super) async fn refuse(
    channel: &Channel,
    inbox: &dyn Inbox,
    d: &Delivery,
    why: &str,
) -> Result<(), String> {
    inbox.discarded(
        1,
        &format!("amqp: a message ({}) was dropped: {why}", d.routing_key),
    );
    channel
        .basic_reject(d.delivery_tag, BasicRejectOptions { requeue: false })
        .await
        .map_err(|e| format!("amqp: {e}"))
}

/// Acknowledges what the application took: all deliveries up to the last one taken, at once.
pub(super) async fn acknowledge(channel: Channel, acks: Arc<Acks<u64>>) -> String {
    loop {
        let tags = acks.next_taken().await;
        if let Some(last) = tags.last() {
            let acked = channel
                .basic_ack(*last, BasicAckOptions { multiple: true })
                .await;
            if let Err(e) = acked {
                // not lost: RabbitMQ gives them again once this connection is gone
                return format!("amqp: {e}");
            }
        }
        acks.settled();
    }
}

/// A puller: consumes the queue, delivering as far as the socket has room; its outbox waits,
/// at close, until what the application took is acknowledged.
pub(super) async fn pull(
    channel: Channel,
    queue: String,
    inbox: Arc<dyn Inbox>,
) -> Result<(Arc<dyn Outbox>, BoxFuture<'static, String>), String> {
    let (mut consumer, acks, hooked) = consume(&channel, &queue, &*inbox).await?;
    let reading = {
        let (channel, acks) = (channel.clone(), acks.clone());
        async move {
            let mut batch = VecDeque::new();
            loop {
                let full = inbox.len() >= inbox.capacity();
                tokio::select! {
                    next = consumer.next(), if !full => {
                        let mut d = match next {
                            Some(Ok(d)) => d,
                            Some(Err(e)) => return format!("amqp: {e}"),
                            None => return "amqp: the consumer was cancelled".into(),
                        };
                        match decode(std::mem::take(&mut d.data), &d.properties) {
                            Ok(msg) => deliver(&*inbox, &mut batch, &acks, hooked, d.delivery_tag, msg),
                            Err(why) => if let Err(e) = refuse(&channel, &*inbox, &d, &why).await { return e },
                        }
                    }
                    _ = inbox.room(), if full => {}
                }
            }
        }
    };
    let acking = acknowledge(channel, acks.clone());
    let driver = async move {
        tokio::select! {
            why = reading => why,
            why = acking => why,
        }
    };
    Ok((Arc::new(AckOutbox(acks)), Box::pin(driver)))
}
