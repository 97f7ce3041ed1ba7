//! Receiving typed messages.

use std::marker::PhantomData;

use actix::Message;
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;

use crate::typed::{decode, DecodeFailure};
use crate::{Multipart, Result, Socket, SocketType};

/// What to do with a message that does not decode as the expected type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnDecodeError {
    /// Log a `tracing` warning naming the topic and peer, and go on. The default.
    #[default]
    Log,
    /// Hand it to the application as a [`Received`] whose `value` is the [`DecodeFailure`].
    Deliver,
}

/// A typed message as received, with its topic and the peer it came from. An actix message, so
/// an actor takes it in a `Handler<Received<T>>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Received<T> {
    /// The topic frame.
    pub topic: String,
    /// The peer's address.
    pub peer: String,
    /// The decoded message, or why it did not decode.
    pub value: std::result::Result<T, DecodeFailure>,
}

impl<T: 'static> Message for Received<T> {
    type Result = ();
}

/// Splits `[topic, payload]` (or a lone payload) and decodes the payload.
pub(crate) fn decode_message<T: DeserializeOwned>(msg: &Multipart, peer: &str) -> Received<T> {
    let frames = msg.frames();
    let (topic, payload): (&[u8], &[u8]) = match frames {
        [] => (b"", b""),
        [payload] => (b"", payload),
        [topic, payload, ..] => (topic, payload),
    };
    let topic = String::from_utf8_lossy(topic).into_owned();
    let value = decode::<T>(payload).map_err(|reason| DecodeFailure {
        topic: topic.clone(),
        peer: peer.to_string(),
        type_name: std::any::type_name::<T>(),
        reason,
    });
    Received {
        topic,
        peer: peer.to_string(),
        value,
    }
}

/// Receives `T`s from a socket (SUB, XSUB, PULL, DEALER, ...).
pub struct Subscriber<T> {
    socket: Socket,
    on_error: OnDecodeError,
    _type: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Subscriber<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("socket", &self.socket)
            .field("on_error", &self.on_error)
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned + 'static> Subscriber<T> {
    /// Receives from `socket`, subscribing it to `prefix` first if it is a SUB or XSUB.
    pub async fn new(socket: Socket, prefix: &str) -> Result<Self> {
        match socket.socket_type() {
            SocketType::Sub => socket.subscribe(prefix.to_string()).await?,
            SocketType::XSub => {
                socket
                    .send(actormq_patterns::subscribe_message(prefix.as_bytes()))
                    .await?
            }
            _ => {}
        }
        Ok(Subscriber {
            socket,
            on_error: OnDecodeError::Log,
            _type: PhantomData,
        })
    }

    /// Chooses what happens to messages that do not decode (default: [`OnDecodeError::Log`]).
    pub fn on_decode_error(mut self, policy: OnDecodeError) -> Self {
        self.on_error = policy;
        self
    }

    /// The socket underneath.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The next message, decoded or not (this ignores the policy: the caller sees both).
    pub async fn recv(&self) -> Result<Received<T>> {
        let (msg, peer) = self.socket.recv_from().await?;
        Ok(decode_message(&msg, &peer))
    }

    /// The messages as a stream, after the decode-error policy: for an actor,
    /// `ctx.add_message_stream(subscriber.into_stream())` delivers each to its
    /// `Handler<Received<T>>`. Ends when the socket closes.
    pub fn into_stream(self) -> impl Stream<Item = Received<T>> + Unpin + 'static {
        let policy = self.on_error;
        let messages = futures_util::stream::unfold(self, |sub| async move {
            let got = sub.recv().await.ok()?;
            Some((got, sub))
        });
        Box::pin(messages.filter(move |got| {
            let keep = match (&got.value, policy) {
                (Err(failure), OnDecodeError::Log) => {
                    tracing::warn!(topic = %failure.topic, peer = %failure.peer, reason = %failure.reason,
                        "dropped a message that does not decode as {}", failure.type_name);
                    false
                }
                _ => true,
            };
            std::future::ready(keep)
        }))
    }
}
