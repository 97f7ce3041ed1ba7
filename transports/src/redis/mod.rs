//! `redis://[user:password@]host:port[/STREAM]`: Redis as a broker, for publish/subscribe
//! and for durable work queues.
//!
//! - **PUB/SUB** (`redis://host:port`, nothing after it: pub/sub has no database, and each
//!   message names its channel): a PUB (or XPUB) publishes each message `[topic, body]` as `PUBLISH topic body` (a
//!   message of the topic alone publishes an empty body; more frames are refused at `send`, as
//!   a publication carries one payload). A SUB (or XSUB) turns each prefix subscription into
//!   `PSUBSCRIBE prefix*` (glob characters escaped) and receives each publication as
//!   `[channel, data]`, once even when several of its prefixes match ([`pubsub`]). Redis
//!   pub/sub keeps nothing: what is published while no subscriber is connected, or while one
//!   is reconnecting, is lost.
//! - **PUSH/PULL** (`redis://host:port/STREAM[?group=NAME&claim_idle_ms=N]`): a durable work
//!   queue on the stream STREAM with a consumer group ([`stream`]): a PUSH appends each message
//!   (`XADD`), the PULLs of the group share the entries (`XREADGROUP`), each acknowledged and
//!   deleted (`XACK`, `XDEL`) once the application has received it, and what a crashed puller
//!   held is claimed by the others once it has waited `claim_idle_ms` (`XAUTOCLAIM`).

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::net::TcpStream;

use crate::broker::{
    broker_hello, check_publication, check_pubsub, counterpart, refuse_bind, refuse_binding,
};
use crate::link::{Hello, Inbox, MessageLink, QueueOutbox, Started, Wake};
use crate::subscription::subscribe_message;
use crate::{
    BoxFuture, Endpoint, Error, Link, Listener, Multipart, Result, SocketType, Transport,
    TransportKind,
};

pub mod pubsub;
pub mod stream;

use pubsub::{authenticate, publish, subscribe};
pub use stream::{StreamQueue, CLAIM_IDLE, GROUP};

/// The Redis transport.
#[derive(Debug, Default, Clone, Copy)]
pub struct RedisTransport;

/// What a `redis://` address holds.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Address {
    /// `host:port`.
    host_port: String,
    /// `AUTH` arguments: a password, or a user and a password.
    auth: Vec<String>,
    /// The stream of a work queue (PUSH/PULL), from the path.
    queue: Option<StreamQueue>,
}

impl Address {
    /// The address as the `redis` crate takes it.
    fn url(&self) -> String {
        let mut url = String::from("redis://");
        match &self.auth[..] {
            [password] => url.push_str(&format!(":{password}@")),
            [user, password] => url.push_str(&format!("{user}:{password}@")),
            _ => {}
        }
        url.push_str(&self.host_port);
        url
    }
}

fn parse_address(endpoint: &Endpoint) -> Result<Address> {
    let invalid = |reason: &str| Error::Endpoint {
        endpoint: endpoint.to_string(),
        reason: reason.into(),
    };
    let Endpoint::Other { address, .. } = endpoint else {
        return Err(invalid("not a redis:// endpoint"));
    };
    let (credentials, rest) = match address.rsplit_once('@') {
        Some((credentials, rest)) => (Some(credentials), rest),
        None => (None, address.as_str()),
    };
    let (host_port, path) = rest.split_once('/').unwrap_or((rest, ""));
    let auth = match credentials.map(|c| c.split_once(':').ok_or(c)) {
        None => Vec::new(),
        Some(Ok(("", password))) => vec![password.to_string()],
        Some(Ok((user, password))) => vec![user.to_string(), password.to_string()],
        Some(Err(password)) => vec![password.to_string()],
    };
    if host_port
        .rsplit_once(':')
        .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
    {
        return Err(invalid("write redis://HOST:PORT (the port is required)"));
    }
    Ok(Address {
        host_port: host_port.to_string(),
        auth,
        queue: StreamQueue::parse(path).map_err(|why| invalid(&why))?,
    })
}

/// A connection to Redis, of a publisher or a subscriber (which, is known at the hello).
struct RedisLink {
    address: Address,
    stream: TcpStream,
    ours: SocketType,
}

impl MessageLink for RedisLink {
    /// No hello on the wire: Redis stands for the peer our socket expects ([`counterpart`]).
    fn handshake(&mut self, ours: Hello) -> BoxFuture<'_, std::result::Result<Hello, String>> {
        let peer = broker_hello(&ours);
        self.ours = ours.socket_type;
        Box::pin(async move { Ok(peer) })
    }

    fn start(
        self: Box<Self>,
        inbox: Arc<dyn Inbox>,
        wake: Wake,
    ) -> BoxFuture<'static, std::result::Result<Started, String>> {
        Box::pin(async move {
            let RedisLink {
                address,
                mut stream,
                ours,
            } = *self;
            let outbox = QueueOutbox::new(wake);
            if let Some(queue) = address.queue.clone() {
                drop(stream);
                let client = ::redis::Client::open(address.url()).map_err(|e| e.to_string())?;
                if ours == SocketType::Push {
                    let conn = stream::connection(&client).await?;
                    return Ok(Started {
                        outbox: outbox.clone(),
                        driver: Box::pin(stream::push(conn, queue, outbox, inbox)),
                    });
                }
                let (outbox, driver) = stream::pull(client, queue, inbox).await?;
                return Ok(Started { outbox, driver });
            }
            if counterpart(ours) == SocketType::Sub {
                drop(stream);
                let client = ::redis::Client::open(address.url()).map_err(|e| e.to_string())?;
                let conn = stream::connection(&client).await?;
                // the "peer" subscribes to everything: Redis does the routing
                let mut all: VecDeque<Multipart> = [subscribe_message(b"")].into();
                inbox.deliver(&mut all, 1);
                return Ok(Started {
                    outbox: outbox.clone(),
                    driver: Box::pin(publish(conn, outbox, inbox)),
                });
            }
            if !address.auth.is_empty() {
                authenticate(&mut stream, &address.auth).await?;
            }
            Ok(Started {
                outbox: outbox.clone(),
                driver: Box::pin(subscribe(stream, outbox, inbox)),
            })
        })
    }
}

impl Transport for RedisTransport {
    fn scheme(&self) -> &'static str {
        "redis"
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
        use SocketType::*;
        refuse_binding("redis", binding)?;
        let queue = parse_address(endpoint)
            .map_err(|e| e.to_string())?
            .queue
            .is_some();
        match (socket_type, queue) {
            (Push | Pull, true) => Ok(()),
            (Push | Pull, false) => Err(format!(
                "{socket_type} over Redis is a work queue on a stream: connect to redis://HOST:PORT/STREAM"
            )),
            (Pub | XPub | Sub | XSub, true) => Err(
                "publish/subscribe take the channel from each message's topic: connect to redis://HOST:PORT (a stream is for PUSH/PULL)".into(),
            ),
            (other, _) => check_pubsub("redis", other, binding).map_err(|_| {
                format!("redis:// carries PUB/SUB, XPUB/XSUB and PUSH/PULL, not {other}")
            }),
        }
    }

    fn check_message(
        &self,
        socket_type: SocketType,
        msg: &Multipart,
    ) -> std::result::Result<(), String> {
        check_publication("a Redis publication", socket_type, msg)
    }

    fn bind<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<Box<dyn Listener>>> {
        Box::pin(async move { refuse_bind(endpoint) })
    }

    fn connect<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<(Link, String)>> {
        Box::pin(async move {
            let address = parse_address(endpoint)?;
            let stream = TcpStream::connect(&address.host_port)
                .await
                .map_err(|source| Error::Io {
                    action: "connect",
                    endpoint: endpoint.to_string(),
                    source,
                })?;
            let _ = stream.set_nodelay(true);
            let peer = format!("redis {}", address.host_port);
            let link = RedisLink {
                address,
                stream,
                ours: SocketType::Pub,
            };
            Ok((Link::Messages(Box::new(link)), peer))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn addresses_with_and_without_credentials() {
        let ep = |s: &str| s.parse::<Endpoint>().unwrap();
        let a = parse_address(&ep("redis://127.0.0.1:6379")).unwrap();
        assert_eq!((a.host_port.as_str(), a.auth.len()), ("127.0.0.1:6379", 0));
        let a = parse_address(&ep("redis://bob:s3cret@cache:6380")).unwrap();
        assert_eq!(a.host_port, "cache:6380");
        assert_eq!(a.auth, ["bob", "s3cret"]);
        assert_eq!(parse_address(&ep("redis://:pw@h:1")).unwrap().auth, ["pw"]);
        assert!(parse_address(&ep("redis://nohost")).is_err());
        assert_eq!(a_queue(&ep("redis://h:1")), None);
        let q = a_queue(&ep("redis://u:p@h:1/tasks?group=workers&claim_idle_ms=500")).unwrap();
        assert_eq!((q.key.as_str(), q.group.as_str()), ("tasks", "workers"));
        assert_eq!(q.claim_idle, Duration::from_millis(500));
        let q = a_queue(&ep("redis://h:1/tasks")).unwrap();
        assert_eq!((q.group.as_str(), q.claim_idle), (GROUP, CLAIM_IDLE));
        assert!(parse_address(&ep("redis://h:1/tasks?claim_idle_ms=x")).is_err());
        assert!(parse_address(&ep("redis://h:1/tasks?colour=red")).is_err());
    }

    fn a_queue(ep: &Endpoint) -> Option<StreamQueue> {
        parse_address(ep).unwrap().queue
    }

    #[test]
    fn sockets_are_checked_against_the_endpoint() {
        let ep = |s: &str| s.parse::<Endpoint>().unwrap();
        let check = |t, s: &str| RedisTransport.check_socket(t, &ep(s), false);
        use SocketType::*;
        assert!(check(Pub, "redis://h:1").is_ok() && check(Pull, "redis://h:1/q").is_ok());
        assert!(check(Push, "redis://h:1").unwrap_err().contains("STREAM"));
        assert!(check(Sub, "redis://h:1/q").unwrap_err().contains("topic"));
        assert!(check(Req, "redis://h:1/q").unwrap_err().contains("not REQ"));
    }
}
