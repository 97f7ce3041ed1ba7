//! Socket handles typed by socket kind: [`TypedSocket<K>`], e.g. [`PushSocket`], on which only
//! what the kind can do compiles (`push.subscribe(..)`, `pull.send(..)` do not).
//!
//! An addition over [`Socket`], not a replacement: a `TypedSocket` is a [`Socket`] underneath
//! ([`TypedSocket::socket`], `Socket::from(typed)`), and the dynamic `Socket`, whose type is a
//! run-time value (graph files, the CLI, proxies), keeps every method and reports misuse as
//! [`crate::Error::Refused`] as before.
//!
//! ```
//! use actormq::{PullSocket, PushSocket};
//!
//! # actix::System::new().block_on(async {
//! let pull = PullSocket::new()?;
//! let endpoint = pull.bind("tcp://127.0.0.1:0").await?;
//! let push = PushSocket::new()?;
//! push.connect(&endpoint).await?;
//! push.send("task").await?;
//! assert_eq!(pull.recv().await?.frames()[0], "task");
//! // push.recv() and pull.send(..) would not compile
//! # Ok::<(), actormq::Error>(())
//! # }).unwrap();
//! ```

use std::marker::PhantomData;
use std::sync::Arc;

use futures_util::Stream;
use tokio::sync::broadcast;

use crate::socket::SocketSink;
use crate::{Endpoint, Frame, Multipart, Result, Socket, SocketEvent, SocketOptions, SocketType};

/// The socket kinds as types, and what each can do, for [`TypedSocket`].
pub mod kind {
    use crate::SocketType;

    mod sealed {
        pub trait Sealed {}
    }

    /// A socket kind: its [`SocketType`]. Sealed: the kinds are the types of this module.
    pub trait Kind: sealed::Sealed + Send + Sync + 'static {
        /// The socket type of this kind.
        const TYPE: SocketType;
    }

    /// A kind that sends (all but SUB and PULL).
    pub trait Sends: Kind {}

    /// A kind that receives (all but PUB and PUSH).
    pub trait Receives: Kind {}

    /// A kind that subscribes (SUB, XSUB).
    pub trait Subscribes: Kind {}

    macro_rules! kinds {
        ($($name:ident: $($cap:ident),*;)*) => {$(
            #[doc = concat!("The ", stringify!($name), " kind (a marker type, never a value).")]
            #[derive(Debug)]
            pub enum $name {}
            impl sealed::Sealed for $name {}
            impl Kind for $name {
                const TYPE: SocketType = SocketType::$name;
            }
            $(impl $cap for $name {})*
        )*};
    }

    kinds! {
        Pub: Sends;
        Sub: Receives, Subscribes;
        XPub: Sends, Receives;
        XSub: Sends, Receives, Subscribes;
        Push: Sends;
        Pull: Receives;
        Req: Sends, Receives;
        Rep: Sends, Receives;
        Dealer: Sends, Receives;
        Router: Sends, Receives;
        Pair: Sends, Receives;
    }
}

use kind::{Kind, Receives, Sends, Subscribes};

/// A [`Socket`] whose kind `K` is known at compile time: only the methods the kind can use
/// exist (sending for [`kind::Sends`], receiving for [`kind::Receives`], subscribing for
/// [`kind::Subscribes`]). Each behaves as the [`Socket`] method of the same name. Cheap to
/// clone, like a `Socket`.
pub struct TypedSocket<K: Kind> {
    socket: Socket,
    _kind: PhantomData<fn() -> K>,
}

/// A PUB handle: sends only.
pub type PubSocket = TypedSocket<kind::Pub>;
/// A SUB handle: subscribes and receives.
pub type SubSocket = TypedSocket<kind::Sub>;
/// An XPUB handle.
pub type XPubSocket = TypedSocket<kind::XPub>;
/// An XSUB handle.
pub type XSubSocket = TypedSocket<kind::XSub>;
/// A PUSH handle: sends only.
pub type PushSocket = TypedSocket<kind::Push>;
/// A PULL handle: receives only.
pub type PullSocket = TypedSocket<kind::Pull>;
/// A REQ handle.
pub type ReqSocket = TypedSocket<kind::Req>;
/// A REP handle.
pub type RepSocket = TypedSocket<kind::Rep>;
/// A DEALER handle.
pub type DealerSocket = TypedSocket<kind::Dealer>;
/// A ROUTER handle.
pub type RouterSocket = TypedSocket<kind::Router>;
/// A PAIR handle.
pub type PairSocket = TypedSocket<kind::Pair>;

impl<K: Kind> Clone for TypedSocket<K> {
    fn clone(&self) -> Self {
        TypedSocket {
            socket: self.socket.clone(),
            _kind: PhantomData,
        }
    }
}

impl<K: Kind> std::fmt::Debug for TypedSocket<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TypedSocket").field(&self.socket).finish()
    }
}

impl<K: Kind> From<TypedSocket<K>> for Socket {
    fn from(typed: TypedSocket<K>) -> Socket {
        typed.socket
    }
}

impl<K: Kind> TryFrom<Socket> for TypedSocket<K> {
    /// A socket of another type comes back as it was.
    type Error = Socket;

    fn try_from(socket: Socket) -> std::result::Result<Self, Socket> {
        if socket.socket_type() == K::TYPE {
            Ok(TypedSocket {
                socket,
                _kind: PhantomData,
            })
        } else {
            Err(socket)
        }
    }
}

impl<K: Kind> TypedSocket<K> {
    /// A socket of this kind with default options.
    pub fn new() -> Result<Self> {
        Self::with_options(SocketOptions::default())
    }

    /// A socket of this kind with the given options.
    pub fn with_options(options: SocketOptions) -> Result<Self> {
        Ok(TypedSocket {
            socket: Socket::with_options(K::TYPE, options)?,
            _kind: PhantomData,
        })
    }

    /// The untyped handle on the same socket.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The socket's type (`K::TYPE`).
    pub fn socket_type(&self) -> SocketType {
        K::TYPE
    }

    /// The socket's options.
    pub fn options(&self) -> &SocketOptions {
        self.socket.options()
    }

    /// See [`Socket::bind`].
    pub async fn bind<E>(&self, endpoint: E) -> Result<Endpoint>
    where
        E: TryInto<Endpoint, Error = actormq_transports::Error>,
    {
        self.socket.bind(endpoint).await
    }

    /// See [`Socket::connect`].
    pub async fn connect<E>(&self, endpoint: E) -> Result<()>
    where
        E: TryInto<Endpoint, Error = actormq_transports::Error>,
    {
        self.socket.connect(endpoint).await
    }

    /// See [`Socket::monitor`].
    pub fn monitor(&self) -> broadcast::Receiver<SocketEvent> {
        self.socket.monitor()
    }

    /// See [`Socket::close`].
    pub async fn close(&self) {
        self.socket.close().await
    }
}

impl<K: Sends> TypedSocket<K> {
    /// See [`Socket::send`].
    pub async fn send(&self, msg: impl Into<Multipart>) -> Result<()> {
        self.socket.send(msg).await
    }

    /// See [`Socket::try_send`].
    pub fn try_send(&self, msg: impl Into<Multipart>) -> Result<()> {
        self.socket.try_send(msg)
    }

    /// See [`Socket::sink`].
    pub fn sink(&self) -> SocketSink {
        self.socket.sink()
    }
}

impl<K: Receives> TypedSocket<K> {
    /// See [`Socket::recv`].
    pub async fn recv(&self) -> Result<Multipart> {
        self.socket.recv().await
    }

    /// See [`Socket::try_recv`].
    pub fn try_recv(&self) -> Result<Multipart> {
        self.socket.try_recv()
    }

    /// See [`Socket::recv_from`].
    pub async fn recv_from(&self) -> Result<(Multipart, Arc<str>)> {
        self.socket.recv_from().await
    }

    /// See [`Socket::stream`].
    pub fn stream(&self) -> impl Stream<Item = Multipart> + Unpin + 'static {
        self.socket.stream()
    }
}

impl<K: Subscribes> TypedSocket<K> {
    /// See [`Socket::subscribe`].
    pub async fn subscribe(&self, prefix: impl Into<Frame>) -> Result<()> {
        self.socket.subscribe(prefix).await
    }

    /// See [`Socket::unsubscribe`].
    pub async fn unsubscribe(&self, prefix: impl Into<Frame>) -> Result<()> {
        self.socket.unsubscribe(prefix).await
    }
}
