//! PUSH/PULL as a durable work queue on a Redis stream with a consumer group.
//!
//! A PUSH appends each message to the stream (`XADD`, pipelined per batch and acknowledged by
//! Redis before the next). Each PULL is a consumer of the group (created at the stream's start
//! if it is not there, so entries appended before any puller came are taken too) with a name
//! of its own, and reads new entries (`XREADGROUP ... >`) only as far as the socket has room
//! for. An entry stays pending in the group until the application has received its message
//! (the socket reports it through [`crate::Inbox::on_taken`]); then it is acknowledged and
//! deleted (`XACK`, `XDEL`), so the stream holds only the work not yet done. An entry that
//! stays pending for [`StreamQueue::claim_idle`] (its puller crashed, or holds it unread) is
//! claimed by another puller (`XAUTOCLAIM`) and delivered again: delivery is at least once.
//!
//! An entry is a message: a message of one frame is the field `body`; one of several frames
//! is the fields `frame0`, `frame1`, … in order. Read back, an entry's field values, in order,
//! are the frames, whatever the fields are named (so an entry another client appended as
//! `XADD tasks * task resize file cat.png` arrives as `["resize", "cat.png"]`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::MultiplexedConnection;
use ::redis::Value;
use bytes::Bytes;
use tokio::time::Instant;

use crate::ack::{AckOutbox, Acks};
use crate::link::{Inbox, Outbox, QueueOutbox};
use crate::{BoxFuture, Multipart};

/// The consumer group when the endpoint names none.
pub const GROUP: &str = "actormq";

/// How long an entry may stay pending with one puller before another claims it, when the
/// endpoint does not say (`claim_idle_ms`).
pub const CLAIM_IDLE: Duration = Duration::from_secs(30);

/// The most entries one read asks for.
pub const READ_COUNT: usize = 256;

/// How long a read waits for new entries before the puller looks for entries to claim.
const BLOCK: Duration = Duration::from_millis(1000);

/// A work queue on a Redis stream: `redis://HOST:PORT/STREAM[?group=G&claim_idle_ms=N]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamQueue {
    /// The stream's key.
    pub key: String,
    /// The consumer group the pullers share.
    pub group: String,
    /// How long an entry may stay pending before another puller claims it.
    pub claim_idle: Duration,
}

impl StreamQueue {
    /// The queue an endpoint's path names: none for an empty path.
    ///
    /// ```
    /// use actormq_transports::redis::StreamQueue;
    /// let q = StreamQueue::parse("tasks?group=resizers").unwrap().unwrap();
    /// assert_eq!((q.key.as_str(), q.group.as_str()), ("tasks", "resizers"));
    /// assert!(StreamQueue::parse("").unwrap().is_none());
    /// ```
    pub fn parse(path: &str) -> std::result::Result<Option<StreamQueue>, String> {
        let (key, query) = path.split_once('?').unwrap_or((path, ""));
        if key.is_empty() {
            return Ok(None);
        }
        let mut queue = StreamQueue {
            key: key.to_string(),
            group: GROUP.to_string(),
            claim_idle: CLAIM_IDLE,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("group", g)) if !g.is_empty() => queue.group = g.to_string(),
                Some(("claim_idle_ms", ms)) => {
                    let ms: u64 = ms
                        .parse()
                        .map_err(|_| format!("claim_idle_ms={ms} is not a number of ms"))?;
                    queue.claim_idle = Duration::from_millis(ms.max(1));
                }
                _ => {
                    return Err(format!(
                        "{pair:?}: a Redis stream takes group=NAME and claim_idle_ms=N"
                    ))
                }
            }
        }
        Ok(Some(queue))
    }
}

/// A connection of the `redis` crate, with no response timeout (reads block on the server).
pub(super) async fn connection(
    client: &::redis::Client,
) -> std::result::Result<MultiplexedConnection, String> {
    client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| format!("redis: {e}"))
}

/// The fields of the entry that carries `msg`.
fn fields(msg: &Multipart) -> Vec<(String, &[u8])> {
    match msg.frames() {
        [one] => vec![("body".to_string(), &one[..])],
        frames => frames
            .iter()
            .enumerate()
            .map(|(i, f)| (format!("frame{i}"), &f[..]))
            .collect(),
    }
}

/// Appends each batch the socket queues to the stream, one pipeline of `XADD`s; ends when
/// Redis fails one (the connection then reconnects; that batch may be lost: it is counted in
/// the socket's `undelivered`, though Redis may have appended part of it).
pub(super) async fn push(
    mut conn: MultiplexedConnection,
    queue: StreamQueue,
    outbox: Arc<QueueOutbox>,
    inbox: Arc<dyn Inbox>,
) -> String {
    loop {
        let batch = outbox.next_batch().await;
        let mut pipe = ::redis::pipe();
        for msg in &batch {
            let cmd = pipe.cmd("XADD").arg(&queue.key).arg("*");
            for (name, value) in fields(msg) {
                cmd.arg(name).arg(value);
            }
            cmd.ignore();
        }
        if let Err(e) = pipe.query_async::<()>(&mut conn).await {
            inbox.lost(
                batch.len(),
                &format!("appending to the redis stream failed: {e}"),
            );
            return format!("redis: {e}");
        }
    }
}

/// Bytes of a bulk or simple string.
fn bytes_of(v: &Value) -> Option<Bytes> {
    match v {
        Value::BulkString(b) => Some(Bytes::copy_from_slice(b)),
        Value::SimpleString(s) => Some(Bytes::copy_from_slice(s.as_bytes())),
        _ => None,
    }
}

/// The entries of a reply's list `[[id, [field, value, ...]], ...]`: their ids and messages.
/// An entry deleted meanwhile (no fields) has no message.
fn entries(list: &Value) -> Vec<(Bytes, Option<Multipart>)> {
    let Value::Array(list) = list else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|entry| {
            let Value::Array(parts) = entry else {
                return None;
            };
            let id = bytes_of(parts.first()?)?;
            let msg = match parts.get(1) {
                Some(Value::Array(kv)) if !kv.is_empty() => {
                    Some(kv.iter().skip(1).step_by(2).filter_map(bytes_of).collect())
                }
                _ => None,
            };
            Some((id, msg))
        })
        .collect()
}

/// Starts a puller: joins the group (creating it, and the stream, if need be) and returns its
/// outbox and its driver, which reads, delivers, claims and acknowledges until the connection
/// fails.
pub(super) async fn pull(
    client: ::redis::Client,
    queue: StreamQueue,
    inbox: Arc<dyn Inbox>,
) -> std::result::Result<(Arc<dyn Outbox>, BoxFuture<'static, String>), String> {
    let mut reader = connection(&client).await?;
    let acker = connection(&client).await?;
    let created: ::redis::RedisResult<()> = ::redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&queue.key)
        .arg(&queue.group)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut reader)
        .await;
    if let Err(e) = created {
        if e.code() != Some("BUSYGROUP") {
            return Err(format!("redis: creating the group {}: {e}", queue.group));
        }
    }
    let acks = Acks::new();
    let hooked = inbox.on_taken(acks.hook());
    let consumer = consumer_name();
    let reading = read(reader, queue.clone(), consumer, inbox, acks.clone(), hooked);
    let acking = acknowledge(acker, queue, acks.clone());
    let driver = async move {
        tokio::select! {
            why = reading => why,
            why = acking => why,
        }
    };
    Ok((Arc::new(AckOutbox(acks)), Box::pin(driver)))
}

/// A consumer name of our own: host, process and a count, so that two pullers never share
/// one (each has its own pending entries).
fn consumer_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "actormq".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{host}-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Reads new entries, and every half `claim_idle` claims entries idle that long, as far as the
/// socket has room; delivers them, remembering their ids for [`acknowledge`] (or, when the
/// socket cannot say what the application took, acknowledging on delivery).
async fn read(
    mut conn: MultiplexedConnection,
    queue: StreamQueue,
    consumer: String,
    inbox: Arc<dyn Inbox>,
    acks: Arc<Acks<Bytes>>,
    hooked: bool,
) -> String {
    let mut cursor = Bytes::from_static(b"0-0");
    let mut next_claim = Instant::now();
    let mut batch = VecDeque::new();
    loop {
        while inbox.len() >= inbox.capacity() {
            inbox.room().await;
        }
        let room = (inbox.capacity() - inbox.len()).clamp(1, READ_COUNT);
        let (got, claimed) = if Instant::now() >= next_claim {
            next_claim = Instant::now() + queue.claim_idle / 2;
            let reply: ::redis::RedisResult<Value> = ::redis::cmd("XAUTOCLAIM")
                .arg(&queue.key)
                .arg(&queue.group)
                .arg(&consumer)
                .arg(queue.claim_idle.as_millis() as u64)
                .arg(&cursor[..])
                .arg("COUNT")
                .arg(room)
                .query_async(&mut conn)
                .await;
            match reply {
                Ok(Value::Array(parts)) if parts.len() >= 2 => {
                    cursor = bytes_of(&parts[0]).unwrap_or_else(|| Bytes::from_static(b"0-0"));
                    if cursor[..] != b"0-0"[..] {
                        // more to claim: come back at once
                        next_claim = Instant::now();
                    }
                    (entries(&parts[1]), true)
                }
                Ok(_) => (Vec::new(), true),
                Err(e) => return format!("redis: {e}"),
            }
        } else {
            let block = BLOCK.min(next_claim.saturating_duration_since(Instant::now()));
            let reply: ::redis::RedisResult<Value> = ::redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg(&queue.group)
                .arg(&consumer)
                .arg("COUNT")
                .arg(room)
                .arg("BLOCK")
                .arg(block.as_millis().max(1) as u64)
                .arg("STREAMS")
                .arg(&queue.key)
                .arg(">")
                .query_async(&mut conn)
                .await;
            match reply {
                Ok(Value::Array(streams)) => {
                    let list = streams.first().and_then(|s| match s {
                        Value::Array(kv) => kv.get(1).cloned(),
                        _ => None,
                    });
                    (list.map(|l| entries(&l)).unwrap_or_default(), false)
                }
                Ok(_) => (Vec::new(), false), // nothing new within the block
                Err(e) => return format!("redis: {e}"),
            }
        };
        if claimed && !got.is_empty() {
            tracing::info!(
                entries = got.len(),
                stream = %queue.key,
                "claimed entries another puller left pending"
            );
        }
        let mut ids = Vec::with_capacity(got.len());
        // an entry deleted while pending has no message: nothing to deliver or wait for
        for (id, msg) in got {
            if let Some(msg) = msg {
                ids.push(id);
                batch.push_back(msg);
            }
        }
        if batch.is_empty() {
            continue;
        }
        let n = batch.len();
        // known before the socket can report them taken
        acks.delivered(ids);
        if !hooked {
            acks.took(n);
        }
        inbox.deliver(&mut batch, n);
    }
}

/// Acknowledges and deletes the entries whose messages the application received.
async fn acknowledge(
    mut conn: MultiplexedConnection,
    queue: StreamQueue,
    acks: Arc<Acks<Bytes>>,
) -> String {
    loop {
        let ids = acks.next_taken().await;
        if !ids.is_empty() {
            if let Err(why) = ack_and_delete(&mut conn, &queue, &ids).await {
                return why;
            }
        }
        acks.settled();
    }
}

/// `XACK` and `XDEL` of `ids`, in one pipeline.
async fn ack_and_delete(
    conn: &mut MultiplexedConnection,
    queue: &StreamQueue,
    ids: &[Bytes],
) -> std::result::Result<(), String> {
    let mut pipe = ::redis::pipe();
    let ack = pipe.cmd("XACK").arg(&queue.key).arg(&queue.group);
    for id in ids {
        ack.arg(&id[..]);
    }
    ack.ignore();
    let del = pipe.cmd("XDEL").arg(&queue.key);
    for id in ids {
        del.arg(&id[..]);
    }
    del.ignore();
    pipe.query_async::<()>(conn).await.map_err(|e| {
        // not lost: they stay pending, and are claimed again after claim_idle
        tracing::warn!(entries = ids.len(), error = %e, "acknowledging to redis failed");
        format!("redis: {e}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_their_field_values_in_order() {
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let list = Value::Array(vec![
            Value::Array(vec![
                bulk("1-0"),
                Value::Array(vec![
                    bulk("task"),
                    bulk("resize"),
                    bulk("file"),
                    bulk("a.png"),
                ]),
            ]),
            Value::Array(vec![bulk("2-0"), Value::Nil]),
            Value::Nil,
        ]);
        let got = entries(&list);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "1-0");
        assert_eq!(got[0].1, Some(Multipart::from(["resize", "a.png"])));
        assert_eq!(got[1], (Bytes::from("2-0"), None));
        let one = Multipart::from("x");
        assert_eq!(fields(&one)[0].0, "body");
        let two = Multipart::from(["a", "b"]);
        let f = fields(&two);
        assert_eq!((f[0].0.as_str(), f[1].0.as_str()), ("frame0", "frame1"));
    }

    #[test]
    fn queues_take_a_group_and_a_claim_time() {
        assert!(StreamQueue::parse("q?group=").is_err());
        assert!(StreamQueue::parse("q?claim_idle_ms=-1").is_err());
        let q = StreamQueue::parse("q?claim_idle_ms=0").unwrap().unwrap();
        assert_eq!(q.claim_idle, Duration::from_millis(1));
    }
}
