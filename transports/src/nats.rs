//! `nats://[user:password@]host:port`: NATS subjects as a broker for publish/subscribe.
//!
//! A PUB (or XPUB) connected to NATS publishes each message `[subject, body]` on that subject
//! (a message of the subject alone publishes an empty body; more frames, or a subject NATS
//! would not take, are refused at `send`). A SUB (or XSUB) turns each prefix subscription into
//! a NATS subscription: a prefix that ends at a dot (`cats.`) becomes `cats.>`, filtered by the
//! server exactly; any other is widened to the subject up to its last dot (`cats.pers` →
//! `cats.>`, `pers` → `>`), and the SUB filters the rest itself, so ZeroMQ's prefix semantics
//! hold exactly. A message that matches several of its subscriptions is delivered once. Core
//! NATS keeps nothing: what is published while no subscriber is connected is lost.

use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use futures_util::Stream;

use crate::broker::{broker_hello, check_publication, check_pubsub, refuse_bind};
use crate::link::{Hello, Inbox, MessageLink, QueueOutbox, Started, Wake};
use crate::subscription::{parse_subscription, subscribe_message};
use crate::{
    BoxFuture, Endpoint, Error, Link, Listener, Multipart, Result, SocketType, Transport,
    TransportKind,
};

/// Messages a NATS subscription holds for a subscriber that does not keep up; beyond, the client
/// drops them and reports a slow consumer.
pub const SUBSCRIPTION_CAPACITY: usize = 1024;

/// The NATS transport.
#[derive(Debug, Default, Clone, Copy)]
pub struct NatsTransport;

/// The NATS subject a ZeroMQ prefix subscription listens on: the prefix up to its last dot,
/// then `>` (everything below), or `>` alone.
///
/// ```
/// use actormq_transports::nats::subject_for_prefix;
/// assert_eq!(subject_for_prefix(b"cats."), "cats.>");
/// assert_eq!(subject_for_prefix(b"cats.pers"), "cats.>");
/// assert_eq!(subject_for_prefix(b"pers"), ">");
/// assert_eq!(subject_for_prefix(b"a b.c"), ">");
/// ```
pub fn subject_for_prefix(prefix: &[u8]) -> String {
    let Ok(prefix) = std::str::from_utf8(prefix) else {
        return ">".into();
    };
    let Some(dot) = prefix.rfind('.') else {
        return ">".into();
    };
    let head = &prefix[..=dot];
    if head[..dot].split('.').all(literal_token) {
        format!("{head}>")
    } else {
        ">".into()
    }
}

/// A subject token with no wildcard or space: one NATS matches literally.
fn literal_token(t: &str) -> bool {
    !t.is_empty() && t != "*" && t != ">" && !t.contains(char::is_whitespace)
}

/// Why `subject` cannot be published on, if it cannot.
fn check_subject(subject: &[u8]) -> std::result::Result<(), String> {
    let text =
        std::str::from_utf8(subject).map_err(|_| "a NATS subject is UTF-8 text".to_string())?;
    if text.split('.').all(literal_token) {
        Ok(())
    } else {
        Err(format!(
            "{text:?} is not a NATS subject to publish on (dot-separated tokens, none empty, no spaces or wildcards)"
        ))
    }
}

/// Whether a subscription subject made by [`subject_for_prefix`] matches `subject`.
fn covers(pattern: &str, subject: &str) -> bool {
    match pattern.strip_suffix('>') {
        Some(head) => subject.len() > head.len() && subject.starts_with(head),
        None => pattern == subject,
    }
}

/// The subscriber's prefixes, counted, and the NATS subscriptions they map to, counted too.
#[derive(Default)]
struct Subjects {
    prefixes: BTreeMap<Vec<u8>, usize>,
    subjects: BTreeMap<String, usize>,
}

impl Subjects {
    /// Counts a subscription (`on`) or a cancellation; the subject to subscribe (true) or
    /// unsubscribe (false), if the NATS subscriptions change.
    fn apply(&mut self, on: bool, prefix: &[u8]) -> Option<(bool, String)> {
        let subject = subject_for_prefix(prefix);
        if on {
            *self.prefixes.entry(prefix.to_vec()).or_insert(0) += 1;
            let n = self.subjects.entry(subject.clone()).or_insert(0);
            *n += 1;
            return (*n == 1).then_some((true, subject));
        }
        let held = self.prefixes.get_mut(prefix)?;
        *held -= 1;
        if *held == 0 {
            self.prefixes.remove(prefix);
        }
        let n = self.subjects.get_mut(&subject)?;
        *n -= 1;
        if *n == 0 {
            self.subjects.remove(&subject);
            return Some((false, subject));
        }
        None
    }

    /// Whether a message on `subject` that came through the subscription `via` is the one to
    /// deliver: that of the widest held subscription that matches it.
    fn delivers(&self, via: &str, subject: &str) -> bool {
        self.subjects
            .keys()
            .filter(|s| covers(s, subject))
            .min_by_key(|s| s.len())
            .is_some_and(|s| s == via)
    }
}

/// A connection to NATS, of a publisher or a subscriber (which, is known at the hello).
struct NatsLink {
    client: async_nats::Client,
    /// Told when the client loses its connection: the link ends, and the socket reconnects.
    lost: Arc<tokio::sync::Notify>,
    publisher: bool,
}

impl MessageLink for NatsLink {
    /// No hello on the wire: a publisher's peer stands for a subscriber to everything (the
    /// server routes), a subscriber's for a publisher.
    fn handshake(&mut self, ours: Hello) -> BoxFuture<'_, std::result::Result<Hello, String>> {
        let (publisher, peer) = broker_hello(&ours);
        self.publisher = publisher;
        Box::pin(async move { Ok(peer) })
    }

    fn start(
        self: Box<Self>,
        inbox: Arc<dyn Inbox>,
        wake: Wake,
    ) -> BoxFuture<'static, std::result::Result<Started, String>> {
        Box::pin(async move {
            let NatsLink {
                client,
                lost,
                publisher,
            } = *self;
            let outbox = QueueOutbox::new(wake);
            let driver: BoxFuture<'static, String> = if publisher {
                let mut all: VecDeque<Multipart> = [subscribe_message(b"")].into();
                inbox.deliver(&mut all, 1);
                Box::pin(publish(client, outbox.clone(), lost))
            } else {
                Box::pin(subscribe(client, outbox.clone(), inbox, lost))
            };
            Ok(Started { outbox, driver })
        })
    }
}

/// Publishes what the socket queues; ends when the connection is lost (also while a batch is
/// being published). A message over the server's `max_payload` is skipped with a warning, not
/// the end of the connection.
async fn publish(
    client: async_nats::Client,
    outbox: Arc<QueueOutbox>,
    lost: Arc<tokio::sync::Notify>,
) -> String {
    loop {
        let batch = tokio::select! {
            batch = outbox.next_batch() => batch,
            _ = lost.notified() => return "nats: connection lost".into(),
        };
        let sent = async {
            for (i, msg) in batch.iter().enumerate() {
                let subject = msg
                    .first()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .unwrap_or_default();
                let body = msg.frames().get(1).cloned().unwrap_or_default();
                match client.publish(subject, body).await {
                    Ok(()) => {}
                    Err(e)
                        if e.kind() == async_nats::client::PublishErrorKind::MaxPayloadExceeded =>
                    {
                        tracing::warn!(
                            bytes = msg.byte_len(),
                            "a message over the NATS server's max_payload was not published"
                        );
                    }
                    Err(e) => {
                        tracing::warn!(lost = batch.len() - i, error = %e, "publications to nats failed");
                        return Err(format!("nats: {e}"));
                    }
                }
            }
            client.flush().await.map_err(|e| format!("nats: {e}"))
        };
        tokio::select! {
            sent = sent => if let Err(why) = sent { return why },
            _ = lost.notified() => return "nats: connection lost".into(),
        }
    }
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
async fn subscribe(
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
                if subjects.delivers(&via, &m.subject) {
                    batch.push_back(Multipart::from(vec![Bytes::from(m.subject.to_string()), m.payload]));
                    inbox.deliver(&mut batch, 1);
                }
            }
            _ = inbox.room(), if full => {}
            _ = lost.notified() => return "nats: connection lost".into(),
        }
    }
}

impl Transport for NatsTransport {
    fn scheme(&self) -> &'static str {
        "nats"
    }

    fn kind(&self) -> TransportKind {
        TransportKind::Broker
    }

    fn check_socket(
        &self,
        socket_type: SocketType,
        binding: bool,
    ) -> std::result::Result<(), String> {
        check_pubsub("nats", socket_type, binding)
    }

    fn check_message(
        &self,
        socket_type: SocketType,
        msg: &Multipart,
    ) -> std::result::Result<(), String> {
        check_publication("a NATS message", socket_type, msg)?;
        match socket_type {
            SocketType::Pub | SocketType::XPub => check_subject(&msg.frames()[0]),
            _ => Ok(()),
        }
    }

    fn bind<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<Box<dyn Listener>>> {
        Box::pin(async move { refuse_bind(endpoint) })
    }

    fn connect<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<(Link, String)>> {
        Box::pin(async move {
            let Endpoint::Other { address, .. } = endpoint else {
                return Err(Error::Endpoint {
                    endpoint: endpoint.to_string(),
                    reason: "not a nats:// endpoint".into(),
                });
            };
            let lost = Arc::new(tokio::sync::Notify::new());
            let told = lost.clone();
            let client = async_nats::ConnectOptions::new()
                .subscription_capacity(SUBSCRIPTION_CAPACITY)
                .event_callback(move |event| {
                    let told = told.clone();
                    async move {
                        if matches!(
                            event,
                            async_nats::Event::Disconnected | async_nats::Event::Closed
                        ) {
                            // stored if nobody waits yet: the driver sees it when it looks
                            told.notify_one();
                        }
                    }
                })
                .connect(format!("nats://{address}"))
                .await
                .map_err(|e| Error::Io {
                    action: "connect",
                    endpoint: endpoint.to_string(),
                    source: std::io::Error::other(e.to_string()),
                })?;
            let host = address.rsplit('@').next().unwrap_or(address).to_string();
            let link = NatsLink {
                client,
                lost,
                publisher: true,
            };
            Ok((Link::Messages(Box::new(link)), format!("nats {host}")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_map_to_subjects_and_overlaps_deliver_once() {
        let mut s = Subjects::default();
        assert_eq!(s.apply(true, b"cats.pers"), Some((true, "cats.>".into())));
        assert_eq!(
            s.apply(true, b"cats.sia"),
            None,
            "the same NATS subscription"
        );
        assert_eq!(s.apply(true, b"c"), Some((true, ">".into())));
        assert!(s.delivers(">", "cats.persian"));
        assert!(!s.delivers("cats.>", "cats.persian"));
        assert_eq!(s.apply(false, b"c"), Some((false, ">".into())));
        assert!(s.delivers("cats.>", "cats.persian"));
        assert_eq!(s.apply(false, b"cats.pers"), None);
        assert_eq!(s.apply(false, b"cats.sia"), Some((false, "cats.>".into())));
        assert_eq!(s.apply(false, b"never"), None);
        assert!(covers(">", "a") && !covers("a.>", "a.") && covers("a.>", "a.b"));
    }

    #[test]
    fn publish_subjects_are_checked() {
        assert!(check_subject(b"cats.persian").is_ok());
        for bad in [&b""[..], b"a..b", b"a.*", b"a b", b"a.>", b"\xff"] {
            assert!(check_subject(bad).is_err(), "{bad:?}");
        }
    }
}
