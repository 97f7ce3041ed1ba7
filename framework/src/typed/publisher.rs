//! Publishing typed messages.

use std::marker::PhantomData;
use std::sync::Mutex;

use bytes::Bytes;
use serde::Serialize;

use crate::typed::{encode, Encoding, Topic};
use crate::{Error, Result, Socket};

/// Sends `T`s on a socket (PUB, XPUB, PUSH, DEALER, ...) as `[topic, MessagePack]`, each
/// encoded once whatever the number of subscribers.
pub struct Publisher<T> {
    socket: Socket,
    encoding: Encoding,
    _type: PhantomData<fn(&T)>,
}

impl<T> std::fmt::Debug for Publisher<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("socket", &self.socket)
            .field("encoding", &self.encoding)
            .finish_non_exhaustive()
    }
}

impl<T> Clone for Publisher<T> {
    fn clone(&self) -> Self {
        Publisher {
            socket: self.socket.clone(),
            encoding: self.encoding,
            _type: PhantomData,
        }
    }
}

impl<T: Topic + Serialize> Publisher<T> {
    /// A publisher on `socket`, with field names (maps) in the MessagePack.
    pub fn new(socket: Socket) -> Self {
        Publisher {
            socket,
            encoding: Encoding::Named,
            _type: PhantomData,
        }
    }

    /// The same with another [`Encoding`].
    pub fn with_encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// The socket underneath (to bind, connect, monitor).
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Publishes one message.
    pub async fn publish(&self, msg: &T) -> Result<()> {
        let payload = encode(msg, self.encoding)?;
        self.socket.send([Bytes::from(msg.topic()), payload]).await
    }

    /// Publishes one message if the socket's queue has room now (for an actor's synchronous
    /// handler), else [`Error::WouldBlock`].
    pub fn try_publish(&self, msg: &T) -> Result<()> {
        let payload = encode(msg, self.encoding)?;
        self.socket.try_send([Bytes::from(msg.topic()), payload])
    }
}

/// A publisher slot in an actor, filled when the actor starts (and refilled if it is restarted):
/// the field that `#[derive(Publisher)]` asks for (`out: Outlet<Reading>`).
pub struct Outlet<T> {
    publisher: Mutex<Option<Publisher<T>>>,
}

impl<T> std::fmt::Debug for Outlet<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outlet")
            .field("publisher", &self.publisher)
            .finish_non_exhaustive()
    }
}

impl<T> Default for Outlet<T> {
    fn default() -> Self {
        Outlet {
            publisher: Mutex::new(None),
        }
    }
}

impl<T: Topic + Serialize> Outlet<T> {
    /// Fills the slot (done by the derive when the actor starts), replacing any earlier one.
    pub fn attach(&self, publisher: Publisher<T>) {
        *self.publisher.lock().unwrap_or_else(|e| e.into_inner()) = Some(publisher);
    }

    /// The publisher, once the actor has started (a cheap handle: clone it into futures).
    pub fn publisher(&self) -> Option<Publisher<T>> {
        self.publisher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn not_started() -> Error {
        Error::Refused {
            socket_type: actormq_transports::SocketType::Pub,
            reason: "the publisher's actor has not started yet".into(),
        }
    }

    /// Publishes one message (an error before the actor has started).
    pub async fn publish(&self, msg: &T) -> Result<()> {
        self.publisher()
            .ok_or_else(Self::not_started)?
            .publish(msg)
            .await
    }

    /// Publishes one message if there is room now, from a synchronous handler.
    pub fn try_publish(&self, msg: &T) -> Result<()> {
        self.publisher()
            .ok_or_else(Self::not_started)?
            .try_publish(msg)
    }
}
