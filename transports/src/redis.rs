//! `redis://[user:password@]host:port`: Redis publish/subscribe as a broker.
//!
//! A PUB (or XPUB) connected to Redis publishes each message `[topic, body]` as
//! `PUBLISH topic body` (a message of the topic alone publishes an empty body; more frames are
//! refused at `send`, as Redis carries one payload). A SUB (or XSUB) turns each prefix
//! subscription into `PSUBSCRIBE prefix*` (glob characters escaped) and receives each
//! publication as `[channel, data]`, once even when several of its prefixes match. Redis
//! pub/sub keeps nothing: what is published while no subscriber is connected, or while one is
//! reconnecting, is lost.
//!
//! The publisher speaks through the `redis` crate's multiplexed connection (pipelined
//! `PUBLISH`es, each batch acknowledged). The subscriber speaks RESP itself ([`crate::resp`])
//! over its own TCP connection, so that it stops reading while the socket's inbound queue is
//! at its mark and Redis's own `client-output-buffer-limit pubsub` applies, rather than
//! buffering without bound in the client.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::broker::{broker_hello, check_publication, check_pubsub, refuse_bind};
use crate::link::{Hello, Inbox, MessageLink, QueueOutbox, Started, Wake};
use crate::resp::{self, Value};
use crate::subscription::{parse_subscription, subscribe_message};
use crate::{
    BoxFuture, Endpoint, Error, Link, Listener, Multipart, Result, SocketType, Transport,
    TransportKind,
};

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
}

fn parse_address(endpoint: &Endpoint) -> Result<Address> {
    let invalid = |reason: &str| Error::Endpoint {
        endpoint: endpoint.to_string(),
        reason: reason.into(),
    };
    let Endpoint::Other { address, .. } = endpoint else {
        return Err(invalid("not a redis:// endpoint"));
    };
    // a database number after `/` does not matter to pub/sub
    let address = address.split('/').next().unwrap_or_default();
    let (auth, host_port) = match address.rsplit_once('@') {
        Some((credentials, host_port)) => {
            let auth = match credentials.split_once(':') {
                Some(("", password)) => vec![password.to_string()],
                Some((user, password)) => vec![user.to_string(), password.to_string()],
                None => vec![credentials.to_string()],
            };
            (auth, host_port)
        }
        None => (Vec::new(), address),
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
    })
}

/// A connection to Redis, of a publisher or a subscriber (which, is known at the hello).
struct RedisLink {
    address: Address,
    stream: TcpStream,
    publisher: bool,
}

impl MessageLink for RedisLink {
    /// No hello on the wire: a publisher's peer stands for a subscriber to everything (Redis
    /// routes), a subscriber's for a publisher.
    fn handshake(&mut self, ours: Hello) -> BoxFuture<'_, std::result::Result<Hello, String>> {
        let peer = broker_hello(&ours);
        self.publisher = !ours.socket_type.is_subscriber();
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
                publisher,
            } = *self;
            let outbox = QueueOutbox::new(wake);
            if publisher {
                drop(stream);
                let mut url = String::from("redis://");
                match &address.auth[..] {
                    [password] => url.push_str(&format!(":{password}@")),
                    [user, password] => url.push_str(&format!("{user}:{password}@")),
                    _ => {}
                }
                url.push_str(&address.host_port);
                let client = ::redis::Client::open(url).map_err(|e| e.to_string())?;
                let conn = client
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(|e| format!("redis: {e}"))?;
                // the "peer" subscribes to everything: Redis does the routing
                let mut all: VecDeque<Multipart> = [subscribe_message(b"")].into();
                inbox.deliver(&mut all, 1);
                return Ok(Started {
                    outbox: outbox.clone(),
                    driver: Box::pin(publish(conn, outbox)),
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

/// `AUTH` on a subscriber's connection, before anything else.
async fn authenticate(stream: &mut TcpStream, auth: &[String]) -> std::result::Result<(), String> {
    let mut out = BytesMut::new();
    let mut args: Vec<&[u8]> = vec![b"AUTH"];
    args.extend(auth.iter().map(|a| a.as_bytes()));
    resp::encode_command(&args, &mut out);
    stream
        .write_all(&out)
        .await
        .map_err(|e| format!("redis: {e}"))?;
    let mut buf = BytesMut::with_capacity(256);
    loop {
        if let Some(reply) = resp::decode(&mut buf).map_err(|e| format!("redis: {e}"))? {
            return match reply {
                Value::Error(why) => Err(format!("redis AUTH: {}", String::from_utf8_lossy(&why))),
                _ => Ok(()),
            };
        }
        if stream.read_buf(&mut buf).await.map_err(|e| e.to_string())? == 0 {
            return Err("redis closed the connection during AUTH".into());
        }
    }
}

/// The body a message publishes: its second frame, or nothing (checked at `send`).
fn body(msg: &Multipart) -> &[u8] {
    msg.frames().get(1).map_or(&[][..], |b| &b[..])
}

/// Publishes each batch the socket queues as one pipeline of `PUBLISH`es; ends when Redis
/// fails one (the connection then reconnects; that batch may be lost, as publications to a
/// broker that is gone are).
async fn publish(
    mut conn: ::redis::aio::MultiplexedConnection,
    outbox: Arc<QueueOutbox>,
) -> String {
    loop {
        let batch = outbox.next_batch().await;
        let mut pipe = ::redis::pipe();
        for msg in &batch {
            let topic = msg.first().map_or(&[][..], |t| &t[..]);
            pipe.cmd("PUBLISH").arg(topic).arg(body(msg)).ignore();
        }
        if let Err(e) = pipe.query_async::<()>(&mut conn).await {
            tracing::warn!(lost = batch.len(), error = %e, "publications to redis failed");
            return format!("redis: {e}");
        }
    }
}

/// The subscriber's prefixes, counted, and which of its Redis patterns stands for a channel:
/// Redis delivers a publication once per matching pattern, and the socket must see it once.
#[derive(Default)]
struct Prefixes(BTreeMap<Vec<u8>, usize>);

impl Prefixes {
    /// Counts a subscription (`on`) or a cancellation; the Redis command it takes, if any.
    fn apply(&mut self, on: bool, prefix: &[u8]) -> Option<&'static [u8]> {
        if on {
            let n = self.0.entry(prefix.to_vec()).or_insert(0);
            *n += 1;
            (*n == 1).then_some(&b"PSUBSCRIBE"[..])
        } else {
            let n = self.0.get_mut(prefix)?;
            *n -= 1;
            if *n == 0 {
                self.0.remove(prefix);
                return Some(b"PUNSUBSCRIBE");
            }
            None
        }
    }

    /// Whether a publication on `channel` that came through `pattern` is the one to deliver:
    /// the one of the shortest held prefix that matches the channel.
    fn delivers(&self, pattern: &[u8], channel: &[u8]) -> bool {
        self.0
            .keys()
            .filter(|p| channel.starts_with(p))
            .min_by_key(|p| p.len())
            .is_some_and(|p| resp::prefix_pattern(p) == pattern)
    }
}

/// A subscriber connection: the socket's subscriptions become `PSUBSCRIBE`s, publications
/// become `[channel, data]`; reading pauses while the socket's inbound queue is at its mark.
async fn subscribe(stream: TcpStream, outbox: Arc<QueueOutbox>, inbox: Arc<dyn Inbox>) -> String {
    let (mut rd, mut wr) = stream.into_split();
    let mut prefixes = Prefixes::default();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut batch = VecDeque::new();
    loop {
        let full = inbox.len() >= inbox.capacity();
        tokio::select! {
            subs = outbox.next_batch() => {
                let mut out = BytesMut::new();
                for msg in &subs {
                    let Some((on, prefix)) = parse_subscription(msg) else {
                        continue; // a SUB sends nothing else
                    };
                    if let Some(command) = prefixes.apply(on, prefix) {
                        resp::encode_command(&[command, &resp::prefix_pattern(prefix)], &mut out);
                    }
                }
                if let Err(e) = wr.write_all(&out).await {
                    return format!("redis: {e}");
                }
            }
            read = rd.read_buf(&mut buf), if !full => match read {
                Ok(0) => return "redis closed the connection".into(),
                Err(e) => return format!("redis: {e}"),
                Ok(_) => loop {
                    match resp::decode(&mut buf) {
                        Err(e) => return format!("redis broke the protocol: {e}"),
                        Ok(None) => break,
                        Ok(Some(Value::Error(why))) => {
                            return format!("redis: {}", String::from_utf8_lossy(&why))
                        }
                        Ok(Some(value)) => {
                            if let Some(msg) = publication(&prefixes, value) {
                                batch.push_back(msg);
                                inbox.deliver(&mut batch, 1);
                            }
                        }
                    }
                },
            },
            _ = inbox.room(), if full => {}
        }
    }
}

/// A pushed `pmessage` as the socket receives it, if it is one this subscriber delivers.
fn publication(prefixes: &Prefixes, value: Value) -> Option<Multipart> {
    let Value::Array(Some(items)) = value else {
        return None;
    };
    match &items[..] {
        [kind, pattern, channel, data] if kind.bytes().is_some_and(|k| &k[..] == b"pmessage") => {
            let (pattern, channel, data) = (pattern.bytes()?, channel.bytes()?, data.bytes()?);
            prefixes
                .delivers(pattern, channel)
                .then(|| Multipart::from(vec![channel.clone(), data.clone()]))
        }
        _ => None, // a (un)subscription's confirmation
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
        _endpoint: &Endpoint,
        binding: bool,
    ) -> std::result::Result<(), String> {
        check_pubsub("redis", socket_type, binding)
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
                publisher: true,
            };
            Ok((Link::Messages(Box::new(link)), peer))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_with_and_without_credentials() {
        let ep = |s: &str| s.parse::<Endpoint>().unwrap();
        let a = parse_address(&ep("redis://127.0.0.1:6379")).unwrap();
        assert_eq!((a.host_port.as_str(), a.auth.len()), ("127.0.0.1:6379", 0));
        let a = parse_address(&ep("redis://bob:s3cret@cache:6380/2")).unwrap();
        assert_eq!(a.host_port, "cache:6380");
        assert_eq!(a.auth, ["bob", "s3cret"]);
        assert_eq!(parse_address(&ep("redis://:pw@h:1")).unwrap().auth, ["pw"]);
        assert!(parse_address(&ep("redis://nohost")).is_err());
    }

    #[test]
    fn overlapping_prefixes_deliver_once_and_subscriptions_are_counted() {
        let mut p = Prefixes::default();
        assert_eq!(p.apply(true, b"pers"), Some(&b"PSUBSCRIBE"[..]));
        assert_eq!(p.apply(true, b"persian"), Some(&b"PSUBSCRIBE"[..]));
        assert_eq!(p.apply(true, b"pers"), None);
        // "persian" matches both: only the shortest prefix's pattern delivers
        assert!(p.delivers(b"pers*", b"persian"));
        assert!(!p.delivers(b"persian*", b"persian"));
        assert!(p.delivers(b"pers*", b"person"));
        assert_eq!(p.apply(false, b"pers"), None);
        assert_eq!(p.apply(false, b"pers"), Some(&b"PUNSUBSCRIBE"[..]));
        assert!(
            p.delivers(b"persian*", b"persian"),
            "once pers is gone, persian delivers"
        );
        assert!(!p.delivers(b"pers*", b"person"));
        assert_eq!(p.apply(false, b"nothing"), None);
    }
}
