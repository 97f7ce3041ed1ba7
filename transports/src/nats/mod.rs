//! `nats://[user:password@]host:port[/SUBJECT]`: NATS as a broker, for publish/subscribe,
//! work queues and request/reply.
//!
//! - **PUB/SUB** (`nats://host:port`): a PUB (or XPUB) publishes each message `[subject, body]`
//!   on that subject (a message of the subject alone publishes an empty body; more frames, or a
//!   subject NATS would not take, are refused at `send`). A SUB (or XSUB) turns each prefix
//!   subscription into a NATS subscription: a prefix that ends at a dot (`cats.`) becomes
//!   `cats.>`, filtered by the server exactly; any other is widened to the subject up to its
//!   last dot (`cats.pers` → `cats.>`, `pers` → `>`), and the SUB filters the rest itself, so
//!   ZeroMQ's prefix semantics hold exactly. A message that matches several of its
//!   subscriptions is delivered once.
//! - **PUSH/PULL** (`nats://host:port/SUBJECT`): a PUSH publishes each message on SUBJECT;
//!   every PULL of SUBJECT is a member of the queue group named SUBJECT, so each message goes
//!   to one of them ([`queue`]). With `?stream=NAME` (`nats://host:port/SUBJECT?stream=NAME`),
//!   a durable work queue on a JetStream stream instead ([`jetstream`]): acknowledged once the
//!   application has a message, redelivered after a puller's crash, and flow-controlled.
//! - **REQ/REP** (`nats://host:port/SUBJECT`): NATS request/reply; repliers share the work as a
//!   queue group, and a request waits until a replier is there ([`reqrep`]).
//!
//! A message of one frame is one NATS payload, unchanged; more frames are carried as
//! [`frames`] describes. Core NATS keeps nothing: what is published while no subscriber (or
//! puller, or replier) is connected is lost, and delivery is at most once (JetStream keeps
//! what it stored until a puller acknowledges it).

pub mod frames;
pub mod jetstream;
mod publish;
mod pubsub;
pub mod queue;
pub mod reqrep;
mod subjects;

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};

pub use subjects::subject_for_prefix;

use crate::broker::{
    broker_hello, check_publication, check_pubsub, counterpart, refuse_bind, refuse_binding,
};
use crate::link::{Discard, Hello, Inbox, MessageLink, QueueOutbox, Started, Wake};
use crate::subscription::subscribe_message;
use crate::{
    BoxFuture, Endpoint, Error, Link, Listener, Multipart, Result, SocketType, Transport,
    TransportKind,
};

/// Messages a NATS subscription holds for a subscriber that does not keep up; beyond, the client
/// drops them and reports a slow consumer (logged as a warning).
pub const SUBSCRIPTION_CAPACITY: usize = 1024;

/// The NATS transport.
#[derive(Debug, Default, Clone, Copy)]
pub struct NatsTransport;

/// A `nats://` address: the server part, the subject after `/` (if any) and the query after
/// `?` (or `""`).
fn split_address(endpoint: &Endpoint) -> Result<(&str, Option<&str>, &str)> {
    let Endpoint::Other { address, .. } = endpoint else {
        return Err(Error::Endpoint {
            endpoint: endpoint.to_string(),
            reason: "not a nats:// endpoint".into(),
        });
    };
    let at = address.rfind('@').map_or(0, |i| i + 1);
    let (address, query) = match address[at..].find('?') {
        Some(q) => (&address[..at + q], &address[at + q + 1..]),
        None => (address.as_str(), ""),
    };
    Ok(match address[at..].find('/') {
        Some(slash) => {
            let subject = &address[at + slash + 1..];
            (
                &address[..at + slash],
                (!subject.is_empty()).then_some(subject),
                query,
            )
        }
        None => (address, None, query),
    })
}

/// Which sockets may connect `endpoint`: publish/subscribe on the bare server, PUSH/PULL and
/// REQ/REP on a subject (which a pusher or requester must be able to publish on; a puller or
/// replier may use wildcards).
fn check_endpoint(
    socket_type: SocketType,
    endpoint: &Endpoint,
    binding: bool,
) -> std::result::Result<(), String> {
    use SocketType::*;
    refuse_binding("nats", binding)?;
    let (_, subject, query) = split_address(endpoint).map_err(|e| e.to_string())?;
    let durable = jetstream::Durable::parse(query)?;
    if durable.is_some() && !matches!(socket_type, Push | Pull) {
        return Err(format!(
            "a JetStream stream (?stream=) carries PUSH/PULL, not {socket_type}"
        ));
    }
    match (socket_type, subject) {
        (Pub | XPub | Sub | XSub, None) => check_pubsub("nats", socket_type, binding),
        (Pub | XPub | Sub | XSub, Some(_)) => Err(format!(
            "publish/subscribe take the subject from each message's topic: connect to nats://HOST:PORT, without /{}",
            subject.unwrap_or_default()
        )),
        (Push | Pull | Req | Rep, None) => Err(format!(
            "{socket_type} over NATS needs a subject: connect to nats://HOST:PORT/SUBJECT"
        )),
        (Push | Req, Some(s)) => subjects::check_subject(s.as_bytes()),
        (Pull | Rep, Some(s)) => subjects::check_pattern(s),
        (other, _) => Err(format!(
            "nats:// carries PUB/SUB, XPUB/XSUB, PUSH/PULL and REQ/REP, not {other}"
        )),
    }
}

/// A connection to NATS; what it does is known at the hello, from our socket type.
struct NatsLink {
    client: async_nats::Client,
    /// Told when the client loses its connection: the link ends, and the socket reconnects.
    lost: Arc<tokio::sync::Notify>,
    /// The endpoint's subject, for PUSH/PULL and REQ/REP.
    subject: Option<String>,
    /// The JetStream work queue the endpoint names (`?stream=`), for PUSH/PULL.
    durable: Option<jetstream::Durable>,
    ours: SocketType,
    /// Where the client's slow-consumer drops are reported, once the link has started.
    drops: Arc<OnceLock<Arc<dyn Inbox>>>,
}

impl MessageLink for NatsLink {
    /// No hello on the wire: the server stands for the peer our socket expects
    /// ([`counterpart`]).
    fn handshake(&mut self, ours: Hello) -> BoxFuture<'_, std::result::Result<Hello, String>> {
        self.ours = ours.socket_type;
        let peer = broker_hello(&ours);
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
                subject,
                durable,
                ours,
                drops,
            } = *self;
            let _ = drops.set(inbox.clone());
            let outbox = QueueOutbox::new(wake);
            let subject = subject.unwrap_or_default();
            use SocketType::*;
            let (outbox, driver): (Arc<dyn crate::link::Outbox>, BoxFuture<'static, String>) =
                match (ours, durable) {
                    (Push, Some(durable)) => (
                        outbox.clone(),
                        Box::pin(jetstream::push(
                            client, subject, durable, outbox, inbox, lost,
                        )),
                    ),
                    (Pull, Some(durable)) => {
                        jetstream::pull(client, subject, durable, inbox, lost).await?
                    }
                    (Push, _) => (
                        outbox.clone(),
                        Box::pin(queue::push(client, subject, outbox, inbox, lost)),
                    ),
                    (Pull, _) => (
                        Arc::new(Discard),
                        Box::pin(queue::pull(client, subject, inbox, lost)),
                    ),
                    (Req, _) => (
                        outbox.clone(),
                        Box::pin(reqrep::request(client, subject, outbox, inbox, lost)),
                    ),
                    (Rep, _) => (
                        outbox.clone(),
                        Box::pin(reqrep::reply(client, subject, outbox, inbox, lost)),
                    ),
                    _ if counterpart(ours) == Sub => {
                        let mut all: VecDeque<Multipart> = [subscribe_message(b"")].into();
                        inbox.deliver(&mut all, 1);
                        (
                            outbox.clone(),
                            Box::pin(pubsub::publish(client, outbox, inbox, lost)),
                        )
                    }
                    _ => (
                        outbox.clone(),
                        Box::pin(pubsub::subscribe(client, outbox, inbox, lost)),
                    ),
                };
            Ok(Started { outbox, driver })
        })
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
        endpoint: &Endpoint,
        binding: bool,
    ) -> std::result::Result<(), String> {
        check_endpoint(socket_type, endpoint, binding)
    }

    fn check_message(
        &self,
        socket_type: SocketType,
        msg: &Multipart,
    ) -> std::result::Result<(), String> {
        check_publication("a NATS message", socket_type, msg)?;
        match socket_type {
            SocketType::Pub | SocketType::XPub => subjects::check_subject(&msg.frames()[0]),
            _ => Ok(()),
        }
    }

    fn bind<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<Box<dyn Listener>>> {
        Box::pin(async move { refuse_bind(endpoint) })
    }

    fn connect<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<(Link, String)>> {
        Box::pin(async move {
            let (server, subject, query) = split_address(endpoint)?;
            let durable = jetstream::Durable::parse(query).map_err(|reason| Error::Endpoint {
                endpoint: endpoint.to_string(),
                reason,
            })?;
            let lost = Arc::new(tokio::sync::Notify::new());
            let told = lost.clone();
            let drops: Arc<OnceLock<Arc<dyn Inbox>>> = Arc::default();
            let dropped = drops.clone();
            let client = async_nats::ConnectOptions::new()
                .subscription_capacity(SUBSCRIPTION_CAPACITY)
                .event_callback(move |event| {
                    let told = told.clone();
                    let dropped = dropped.clone();
                    async move {
                        match event {
                            async_nats::Event::Disconnected | async_nats::Event::Closed => {
                                // stored if nobody waits yet: the driver sees it when it looks
                                told.notify_one();
                            }
                            async_nats::Event::SlowConsumer(_) => {
                                let why = format!("nats: a subscription fell {SUBSCRIPTION_CAPACITY} messages behind; the client dropped a message (slow consumer)");
                                match dropped.get() {
                                    Some(inbox) => inbox.discarded(1, &why),
                                    None => tracing::warn!("{why}"),
                                }
                            }
                            _ => {}
                        }
                    }
                })
                .connect(format!("nats://{server}"))
                .await
                .map_err(|e| Error::Io {
                    action: "connect",
                    endpoint: endpoint.to_string(),
                    source: std::io::Error::other(e.to_string()),
                })?;
            let host = server.rsplit('@').next().unwrap_or(server).to_string();
            let link = NatsLink {
                client,
                lost,
                subject: subject.map(str::to_string),
                durable,
                ours: SocketType::Pub,
                drops,
            };
            Ok((Link::Messages(Box::new(link)), format!("nats {host}")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_name_a_subject_for_queues_and_requests_only() {
        let ep = |s: &str| s.parse::<Endpoint>().unwrap();
        assert_eq!(
            split_address(&ep("nats://u:p/w@h:4222/tasks.a")).unwrap(),
            ("u:p/w@h:4222", Some("tasks.a"), "")
        );
        assert_eq!(
            split_address(&ep("nats://h:1/")).unwrap(),
            ("h:1", None, "")
        );
        assert_eq!(
            split_address(&ep("nats://h:1/jobs?stream=JOBS")).unwrap(),
            ("h:1", Some("jobs"), "stream=JOBS")
        );
        use SocketType::*;
        let ok = |t, s: &str| check_endpoint(t, &ep(s), false);
        assert!(ok(Pub, "nats://h:1").is_ok() && ok(Sub, "nats://h:1").is_ok());
        assert!(ok(Sub, "nats://h:1/x").unwrap_err().contains("without /x"));
        assert!(ok(Push, "nats://h:1")
            .unwrap_err()
            .contains("needs a subject"));
        assert!(ok(Push, "nats://h:1/tasks").is_ok() && ok(Rep, "nats://h:1/svc.*").is_ok());
        assert!(ok(Req, "nats://h:1/svc.*").is_err() && ok(Pull, "nats://h:1/a b").is_err());
        assert!(ok(Dealer, "nats://h:1/x")
            .unwrap_err()
            .contains("not DEALER"));
        assert!(check_endpoint(Pull, &ep("nats://h:1/x"), true).is_err());
        assert!(ok(Pull, "nats://h:1/x?stream=X&group=g&ack_wait_ms=500").is_ok());
        assert!(ok(Req, "nats://h:1/x?stream=X")
            .unwrap_err()
            .contains("carries PUSH/PULL"));
        assert!(ok(Push, "nats://h:1/x?stream=a.b").is_err());
        assert!(ok(Push, "nats://h:1/x?ack_wait_ms=5").is_err());
    }
}
