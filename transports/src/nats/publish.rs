//! Sending to NATS, shared by every driver: a batch of the socket's messages published, then
//! flushed, while watching for the connection's loss.

use std::collections::VecDeque;
use std::future::Future;

use async_nats::client::PublishErrorKind;
use async_nats::HeaderMap;
use bytes::Bytes;
use tokio::sync::Notify;

use crate::link::{Inbox, QueueOutbox};
use crate::Multipart;

/// The reason a driver ends when the client loses its connection.
pub(super) const LOST: &str = "nats: connection lost";

/// One NATS publication.
pub(super) struct Outgoing {
    pub subject: String,
    pub reply: Option<String>,
    pub headers: Option<HeaderMap>,
    pub payload: Bytes,
}

impl Outgoing {
    /// A plain publication: no reply subject, no headers.
    pub fn new(subject: String, payload: Bytes) -> Self {
        Outgoing {
            subject,
            reply: None,
            headers: None,
            payload,
        }
    }

    /// A publication of `frames` ([`super::frames::encode`]).
    pub fn frames(subject: String, frames: &[Bytes]) -> Self {
        let (headers, payload) = super::frames::encode(frames);
        Outgoing {
            subject,
            reply: None,
            headers,
            payload,
        }
    }

    pub(super) async fn send(
        self,
        client: &async_nats::Client,
    ) -> Result<(), async_nats::PublishError> {
        let Outgoing {
            subject,
            reply,
            headers,
            payload,
        } = self;
        match (reply, headers) {
            (None, None) => client.publish(subject, payload).await,
            (None, Some(h)) => client.publish_with_headers(subject, h, payload).await,
            (Some(r), None) => client.publish_with_reply(subject, r, payload).await,
            (Some(r), Some(h)) => {
                client
                    .publish_with_reply_and_headers(subject, r, h, payload)
                    .await
            }
        }
    }
}

/// The socket's next batch, or [`LOST`].
pub(super) async fn next_batch(
    outbox: &QueueOutbox,
    lost: &Notify,
) -> Result<VecDeque<Multipart>, String> {
    tokio::select! {
        batch = outbox.next_batch() => Ok(batch),
        _ = lost.notified() => Err(LOST.into()),
    }
}

/// `work`, unless the connection is lost first.
pub(super) async fn until_lost(
    work: impl Future<Output = Result<(), String>>,
    lost: &Notify,
) -> Result<(), String> {
    tokio::select! {
        done = work => done,
        _ = lost.notified() => Err(LOST.into()),
    }
}

/// Publishes each message of `batch` as `to_nats` makes it (`None` skips it), then flushes,
/// unless the connection is lost first. A message over the server's `max_payload` is skipped,
/// not the end of the connection; any other failure is. Whatever is not published (or not
/// flushed) is reported to `inbox` as lost ([`Inbox::lost`]).
pub(super) async fn publish_batch(
    client: &async_nats::Client,
    inbox: &dyn Inbox,
    lost: &Notify,
    batch: &VecDeque<Multipart>,
    mut to_nats: impl FnMut(&Multipart) -> Option<Outgoing>,
) -> Result<(), String> {
    for (i, msg) in batch.iter().enumerate() {
        let Some(out) = to_nats(msg) else { continue };
        let sent = tokio::select! {
            sent = out.send(client) => sent.map_err(|e| (e.kind() == PublishErrorKind::MaxPayloadExceeded, format!("nats: {e}"))),
            _ = lost.notified() => Err((false, LOST.to_string())),
        };
        match sent {
            Ok(()) => {}
            Err((true, _)) => inbox.lost(
                1,
                &format!(
                    "a message of {} bytes is over the NATS server's max_payload: not published",
                    msg.byte_len()
                ),
            ),
            Err((false, why)) => {
                inbox.lost(batch.len() - i, &format!("not published to nats: {why}"));
                return Err(why);
            }
        }
    }
    let flushed = tokio::select! {
        flushed = client.flush() => flushed.map_err(|e| format!("nats: {e}")),
        _ = lost.notified() => Err(LOST.to_string()),
    };
    flushed.inspect_err(|why| {
        inbox.lost(
            batch.len(),
            &format!("published to nats but not flushed to the server: {why}"),
        )
    })
}

/// Publishes what the socket queues, each message as `to_nats` makes it, until the connection
/// is lost; returns the reason.
pub(super) async fn publish_all(
    client: &async_nats::Client,
    outbox: &QueueOutbox,
    inbox: &dyn Inbox,
    lost: &Notify,
    mut to_nats: impl FnMut(&Multipart) -> Option<Outgoing>,
) -> String {
    loop {
        let batch = match next_batch(outbox, lost).await {
            Ok(batch) => batch,
            Err(why) => return why,
        };
        if let Err(why) = publish_batch(client, inbox, lost, &batch, &mut to_nats).await {
            return why;
        }
    }
}
