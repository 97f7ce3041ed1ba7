//! Redis pub/sub: a publisher's messages become pipelined `PUBLISH`es through the `redis`
//! crate; a subscriber speaks RESP itself ([`crate::resp`]) so that it reads only while the
//! socket has room.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::link::{Inbox, QueueOutbox};
use crate::resp::{self, Value};
use crate::subscription::parse_subscription;
use crate::Multipart;

/// `AUTH` on a subscriber's connection, before anything else.
pub(super) async fn authenticate(
    stream: &mut TcpStream,
    auth: &[String],
) -> std::result::Result<(), String> {
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
/// broker that is gone are, and is counted in the socket's `undelivered`).
pub(super) async fn publish(
    mut conn: ::redis::aio::MultiplexedConnection,
    outbox: Arc<QueueOutbox>,
    inbox: Arc<dyn Inbox>,
) -> String {
    loop {
        let batch = outbox.next_batch().await;
        let mut pipe = ::redis::pipe();
        for msg in &batch {
            let topic = msg.first().map_or(&[][..], |t| &t[..]);
            pipe.cmd("PUBLISH").arg(topic).arg(body(msg)).ignore();
        }
        if let Err(e) = pipe.query_async::<()>(&mut conn).await {
            inbox.lost(batch.len(), &format!("publications to redis failed: {e}"));
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
pub(super) async fn subscribe(
    stream: TcpStream,
    outbox: Arc<QueueOutbox>,
    inbox: Arc<dyn Inbox>,
) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
