//! `amqp://[user:password@]host:port[/vhost][?queue=NAME | ?exchange=NAME]`: RabbitMQ (AMQP
//! 0-9-1, with `lapin`) as a broker.
//!
//! - **PUB/SUB** (`?exchange=NAME`, `amq.topic` by default): a PUB publishes each message
//!   `[topic, body]` to the topic exchange with the topic as routing key; a SUB has a queue of
//!   its own (exclusive, deleted with its connection) bound to the exchange for each prefix, with
//!   ZeroMQ's prefix semantics exactly ([`topics`]).
//! - **PUSH/PULL** (`?queue=NAME`): a durable queue with competing consumers. A PUSH publishes
//!   persistent messages and waits for the broker's confirms; each PULL consumes with the
//!   socket's `rcvhwm` as its prefetch and acknowledges a message only once the application
//!   has received it, so a killed puller loses nothing: RabbitMQ gives what it held to the
//!   others ([`queue`]).
//! - **REQ/REP** (`?queue=NAME`): requests go through the durable queue NAME; replies come back
//!   through RabbitMQ's direct reply-to ([`reqrep`]).
//!
//! A message of one frame is one AMQP message, unchanged; one of several frames is their bytes
//! one after the other, with the header `actormq-frames` listing the lengths (`5,0,12`).

pub mod pubsub;
pub mod queue;
pub mod reqrep;
pub mod topics;

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use lapin::options::{BasicQosOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};

use crate::broker::{
    broker_hello, check_publication, counterpart, join_frames, refuse_bind, refuse_binding,
    split_frames,
};
use crate::link::{Hello, Inbox, MessageLink, QueueOutbox, Started, Wake};
use crate::{
    BoxFuture, Endpoint, Error, Link, Listener, Multipart, Result, SocketType, Transport,
    TransportKind,
};

/// The exchange publish/subscribe uses when the endpoint names none.
pub const EXCHANGE: &str = "amq.topic";

/// The header that lists the lengths of a multipart message's frames.
pub const FRAMES_HEADER: &str = "actormq-frames";

/// The RabbitMQ transport.
#[derive(Debug, Default, Clone, Copy)]
pub struct AmqpTransport;

/// What an `amqp://` endpoint holds.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Address {
    /// The URI `lapin` connects to: the endpoint without our query.
    uri: String,
    /// `host:port`, for the peer's name.
    host_port: String,
    /// `?queue=`: the queue of PUSH/PULL and REQ/REP.
    queue: Option<String>,
    /// `?exchange=`: the topic exchange of PUB/SUB.
    exchange: Option<String>,
}

fn parse_address(endpoint: &Endpoint) -> std::result::Result<Address, String> {
    let Endpoint::Other { address, .. } = endpoint else {
        return Err("not an amqp:// endpoint".into());
    };
    let (base, query) = address.split_once('?').unwrap_or((address, ""));
    let server = base.rsplit_once('@').map_or(base, |(_, s)| s);
    let host_port = server.split('/').next().unwrap_or_default();
    if host_port
        .rsplit_once(':')
        .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
    {
        return Err("write amqp://[user:password@]HOST:PORT[/vhost] (the port is required)".into());
    }
    let mut parsed = Address {
        uri: format!("amqp://{base}"),
        host_port: host_port.to_string(),
        queue: None,
        exchange: None,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("queue", q)) if !q.is_empty() => parsed.queue = Some(q.to_string()),
            Some(("exchange", x)) if !x.is_empty() => parsed.exchange = Some(x.to_string()),
            _ => {
                return Err(format!(
                    "{pair:?}: an amqp:// endpoint takes ?queue=NAME (PUSH/PULL, REQ/REP) or ?exchange=NAME (PUB/SUB)"
                ))
            }
        }
    }
    Ok(parsed)
}

/// Which sockets may connect `endpoint`: publish/subscribe through an exchange, PUSH/PULL and
/// REQ/REP through a queue.
fn check_endpoint(
    socket_type: SocketType,
    endpoint: &Endpoint,
    binding: bool,
) -> std::result::Result<(), String> {
    use SocketType::*;
    refuse_binding("amqp", binding)?;
    let address = parse_address(endpoint)?;
    match (socket_type, address.queue.is_some()) {
        (Pub | XPub | Sub | XSub, false) => Ok(()),
        (Pub | XPub | Sub | XSub, true) => Err(
            "publish/subscribe go through an exchange: connect to amqp://HOST:PORT[/vhost][?exchange=NAME], without ?queue=".into(),
        ),
        (Push | Pull | Req | Rep, true) if address.exchange.is_none() => Ok(()),
        (Push | Pull | Req | Rep, _) => Err(format!(
            "{socket_type} over RabbitMQ goes through a queue: connect to amqp://HOST:PORT[/vhost]?queue=NAME"
        )),
        (other, _) => Err(format!(
            "amqp:// carries PUB/SUB, XPUB/XSUB, PUSH/PULL and REQ/REP, not {other}"
        )),
    }
}

/// The payload and headers that carry `frames`.
fn encode(frames: &[Bytes]) -> (Bytes, BasicProperties) {
    if let [one] = frames {
        return (one.clone(), BasicProperties::default());
    }
    let (lengths, payload) = join_frames(frames);
    let mut headers = FieldTable::default();
    headers.insert(
        FRAMES_HEADER.into(),
        AMQPValue::LongString(LongString::from(lengths)),
    );
    (payload, BasicProperties::default().with_headers(headers))
}

/// The frames a delivery carries; why not, when its frames header is malformed.
fn decode(data: Vec<u8>, properties: &BasicProperties) -> std::result::Result<Multipart, String> {
    let payload = Bytes::from(data);
    let lengths = properties
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get(FRAMES_HEADER));
    match lengths {
        None => Ok(Multipart::from(payload)),
        Some(AMQPValue::LongString(l)) => split_frames(
            FRAMES_HEADER,
            &String::from_utf8_lossy(l.as_bytes()),
            payload,
        ),
        Some(other) => Err(format!(
            "{FRAMES_HEADER}: {other:?} is not a list of lengths"
        )),
    }
}

/// Declares the durable queue `name` (as every PUSH, PULL, REQ and REP of it does, so that
/// whichever comes first creates it and messages wait there for the others).
async fn declare_queue(channel: &Channel, name: &str) -> std::result::Result<(), String> {
    let options = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(name.into(), options, FieldTable::default())
        .await
        .map(|_| ())
        .map_err(|e| format!("amqp: declaring the queue {name}: {e}"))
}

/// Asks the broker for at most `prefetch` unacknowledged deliveries on `channel`.
async fn prefetch(channel: &Channel, prefetch: usize) -> std::result::Result<(), String> {
    let n = prefetch.clamp(1, u16::MAX as usize) as u16;
    channel
        .basic_qos(n, BasicQosOptions::default())
        .await
        .map_err(|e| format!("amqp: {e}"))
}

/// Completes with the reason once the connection fails.
async fn lost(connection: &Connection) -> String {
    let mut events = connection.events_listener();
    while let Some(event) = events.next().await {
        if let lapin::Event::Error(e) = event {
            return format!("amqp: {e}");
        }
    }
    "amqp: the connection closed".into()
}

/// A connection to RabbitMQ; what it does is known at the hello, from our socket type.
struct AmqpLink {
    connection: Arc<Connection>,
    address: Address,
    ours: SocketType,
}

impl MessageLink for AmqpLink {
    /// No hello on the wire: the broker stands for the peer our socket expects
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
            let AmqpLink {
                connection,
                address,
                ours,
            } = *self;
            let channel = connection
                .create_channel()
                .await
                .map_err(|e| format!("amqp: {e}"))?;
            let outbox = QueueOutbox::new(wake);
            let queue = address.queue.clone().unwrap_or_default();
            let exchange = address.exchange.unwrap_or_else(|| EXCHANGE.to_string());
            use SocketType::*;
            let (outbox, driver): (Arc<dyn crate::link::Outbox>, BoxFuture<'static, String>) =
                match ours {
                    Push => {
                        let run = queue::push(channel, queue, outbox.clone(), inbox).await?;
                        (outbox, Box::pin(run))
                    }
                    Pull => queue::pull(channel, queue, inbox).await?,
                    Req => {
                        let run = reqrep::request(channel, queue, outbox.clone(), inbox).await?;
                        (outbox, Box::pin(run))
                    }
                    Rep => reqrep::reply(channel, queue, outbox, inbox).await?,
                    _ if counterpart(ours) == Sub => {
                        let run = pubsub::publish(channel, exchange, outbox.clone(), inbox);
                        (outbox, Box::pin(run))
                    }
                    _ => {
                        let run =
                            pubsub::subscribe(channel, exchange, outbox.clone(), inbox).await?;
                        (outbox, Box::pin(run))
                    }
                };
            // the connection lives as long as the driver, and its failure ends it
            let driver = Box::pin(async move {
                tokio::select! {
                    why = driver => why,
                    why = lost(&connection) => why,
                }
            });
            Ok(Started { outbox, driver })
        })
    }
}

impl Transport for AmqpTransport {
    fn scheme(&self) -> &'static str {
        "amqp"
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
        check_publication("an AMQP publication", socket_type, msg)?;
        match socket_type {
            SocketType::Pub | SocketType::XPub => topics::check_routing_key(&msg.frames()[0]),
            _ => Ok(()),
        }
    }

    fn bind<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<Box<dyn Listener>>> {
        Box::pin(async move { refuse_bind(endpoint) })
    }

    fn connect<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<(Link, String)>> {
        Box::pin(async move {
            let address = parse_address(endpoint).map_err(|reason| Error::Endpoint {
                endpoint: endpoint.to_string(),
                reason,
            })?;
            let connection = Connection::connect(&address.uri, ConnectionProperties::default())
                .await
                .map_err(|e| Error::Io {
                    action: "connect",
                    endpoint: endpoint.to_string(),
                    source: std::io::Error::other(e.to_string()),
                })?;
            let peer = format!("amqp {}", address.host_port);
            let link = AmqpLink {
                connection: Arc::new(connection),
                address,
                ours: SocketType::Pub,
            };
            Ok((Link::Messages(Box::new(link)), peer))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_name_a_queue_or_an_exchange() {
        let ep = |s: &str| s.parse::<Endpoint>().unwrap();
        let a = parse_address(&ep("amqp://guest:guest@h:5672/%2f?queue=tasks")).unwrap();
        assert_eq!(a.uri, "amqp://guest:guest@h:5672/%2f");
        assert_eq!(
            (a.host_port.as_str(), a.queue.as_deref()),
            ("h:5672", Some("tasks"))
        );
        assert!(parse_address(&ep("amqp://h")).is_err());
        assert!(parse_address(&ep("amqp://h:1?colour=red")).is_err());
        use SocketType::*;
        let check = |t, s: &str| check_endpoint(t, &ep(s), false);
        assert!(check(Pub, "amqp://h:1").is_ok() && check(Sub, "amqp://h:1?exchange=x").is_ok());
        assert!(
            check(Push, "amqp://h:1?queue=q").is_ok() && check(Rep, "amqp://h:1?queue=q").is_ok()
        );
        assert!(check(Pull, "amqp://h:1")
            .unwrap_err()
            .contains("?queue=NAME"));
        assert!(check(Sub, "amqp://h:1?queue=q")
            .unwrap_err()
            .contains("exchange"));
        assert!(check(Dealer, "amqp://h:1?queue=q")
            .unwrap_err()
            .contains("not DEALER"));
        assert!(check_endpoint(Pull, &ep("amqp://h:1?queue=q"), true).is_err());
    }

    #[test]
    fn frames_travel_in_one_message() {
        let three = [Bytes::from("a"), Bytes::new(), Bytes::from("bcd")];
        let (payload, props) = encode(&three);
        assert_eq!(decode(payload.to_vec(), &props).unwrap().frames(), &three);
        let (payload, props) = encode(&[Bytes::from("plain")]);
        assert!(props.headers().is_none());
        assert_eq!(
            decode(payload.to_vec(), &props).unwrap(),
            Multipart::from("plain")
        );
    }
}
