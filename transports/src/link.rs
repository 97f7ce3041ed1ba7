//! What a transport yields per connection: a [`Link`], either a byte stream that ZMTP runs
//! over, or a [`MessageLink`] that carries whole messages itself.
//!
//! A message-level link is how every transport that is not a ZMTP byte stream plugs in: the
//! in-process transport, datagrams, brokers, a shared-memory ring, a test double. The socket
//! drives it in three steps:
//!
//! 1. [`MessageLink::handshake`]: each side learns the other's [`Hello`] (socket type and
//!    identity), which the socket checks as ZMTP's READY would be checked. A link with no real
//!    peer (a broker, a datagram socket) answers with the peer it stands for.
//! 2. The socket admits the peer, or calls [`MessageLink::refuse`] with the reason.
//! 3. [`MessageLink::start`] hands the link the socket's [`Inbox`] for this peer, where
//!    everything that arrives goes, and a [`Wake`] to call when its [`Outbox`] has room again;
//!    it returns that outbox, through which the socket sends, and a driver future that the
//!    socket runs for the life of the connection and that ends, with the reason, when the peer
//!    is gone.
//!
//! Both queues are synchronous and bounded: the socket moves a batch into an outbox in one call,
//! never waiting, after asking how much room there is; a link delivers a batch into the inbox
//! the same way, and waits for [`Inbox::room`] when it is full. So backpressure runs end to end
//! with no task between the two sockets of an in-process link: each delivers straight into the
//! other's inbox.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use crate::{BoxFuture, BoxedStream, Multipart, SocketType};

/// One connection, as a transport yields it.
pub enum Link {
    /// A byte stream: ZMTP runs over it.
    Stream(BoxedStream),
    /// Whole messages, carried by the link itself.
    Messages(Box<dyn MessageLink>),
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Link::Stream(_) => "Link::Stream",
            Link::Messages(_) => "Link::Messages",
        })
    }
}

/// What one end of a message link says of itself, as ZMTP's READY does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// The socket type.
    pub socket_type: SocketType,
    /// The identity (`routing_id`); empty for none.
    pub identity: Bytes,
}

impl Hello {
    /// A hello with no identity.
    pub fn new(socket_type: SocketType) -> Self {
        Hello {
            socket_type,
            identity: Bytes::new(),
        }
    }
}

/// A callback that a queue calls to say it has room again.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// A callback told how many more of a link's messages the application has taken (received):
/// a link to a durable queue acknowledges them to the broker then ([`Inbox::on_taken`]).
pub type Taken = Arc<dyn Fn(usize) + Send + Sync>;

/// A connection that carries whole messages (see the module docs for the order of calls).
pub trait MessageLink: Send + 'static {
    /// Sends our hello and returns the peer's, or why the link ended first. The socket bounds
    /// this with its `handshake_ivl`.
    fn handshake(&mut self, ours: Hello) -> BoxFuture<'_, Result<Hello, String>>;

    /// Tells the peer it is refused, and why (a second PAIR peer, an incompatible socket type),
    /// before the link is dropped. Default: nothing to tell.
    fn refuse(&mut self, reason: String) -> BoxFuture<'_, ()> {
        let _ = reason;
        Box::pin(async {})
    }

    /// Starts carrying messages: what arrives goes into `inbox`; `wake` is to be called when
    /// the returned [`Outbox`] has room after [`Outbox::want_room`] said it had none. Returns
    /// the outbox and the link's driver: a future the socket runs until it ends, with the
    /// reason the connection ended ("peer closed the connection", ...). The socket drops the
    /// driver (and the link) when it closes the connection itself.
    fn start(
        self: Box<Self>,
        inbox: Arc<dyn Inbox>,
        wake: Wake,
    ) -> BoxFuture<'static, Result<Started, String>>;
}

/// What [`MessageLink::start`] returns.
pub struct Started {
    /// Where the socket sends.
    pub outbox: Arc<dyn Outbox>,
    /// Runs the link; ends with the reason the connection ended.
    pub driver: BoxFuture<'static, String>,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started").finish_non_exhaustive()
    }
}

/// A socket's inbound queue for one peer, as a message link sees it: the link delivers what
/// arrives into it. Implemented by the framework.
pub trait Inbox: Send + Sync + 'static {
    /// Moves the first `n` messages of `batch` into the queue (the caller checked the room
    /// with [`Inbox::len`] and [`Inbox::capacity`], or it may go over the mark by what it
    /// knows it may) and wakes the socket if the queue was empty. `batch` may come back with
    /// another buffer of the same kind, to be reused for the next batch.
    fn deliver(&self, batch: &mut VecDeque<Multipart>, n: usize);
    /// Messages in the queue.
    fn len(&self) -> usize;
    /// Whether the queue is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The queue's high-water mark (the socket's `rcvhwm`).
    fn capacity(&self) -> usize;
    /// Completes once the queue holds fewer than [`Inbox::capacity`] messages: a link's
    /// reader waits here at the mark, so that the peer is pushed back.
    fn room(&self) -> BoxFuture<'_, ()>;
    /// For a sender that delivers straight into this queue (another socket, in-process): it
    /// found the queue holding `limit` messages or more. True if there is room after all;
    /// otherwise the [`Wake`] set with [`Inbox::on_room`] is called once the queue has
    /// drained to half of `limit`. Without such a callback there is no one to tell, and the
    /// answer is true.
    fn want_room(&self, limit: usize) -> bool;
    /// Sets the callback of [`Inbox::want_room`] (once, by the sender that delivers here).
    fn on_room(&self, wake: Wake);
    /// Asks to be told, through `taken`, each time the application takes messages this link
    /// delivered (in the order they were delivered): for a link that acknowledges its messages
    /// to a durable broker only once the application has them. True if the socket will call
    /// it; false (the default, for an inbox that cannot tell) if the link must acknowledge on
    /// delivery instead. Messages the socket drops unread (at close) are never reported.
    fn on_taken(&self, taken: Taken) -> bool {
        let _ = taken;
        false
    }
    /// Reports `n` of the socket's messages that this link took from its [`Outbox`] and could
    /// not pass on: the broker refused them, the connection failed in the middle of a batch, a
    /// datagram could not be sent. The socket counts them in its `undelivered` count and logs
    /// `why`. Default (an inbox that keeps no count): logged only.
    fn lost(&self, n: usize, why: &str) {
        if n > 0 {
            tracing::warn!(messages = n, "{why}");
        }
    }
    /// Reports `n` messages that arrived for the socket and that this link dropped before they
    /// reached the inbox: malformed, over a size limit, or dropped by a broker client whose
    /// buffer the link did not empty in time. The socket counts them in its `discarded` count
    /// and logs `why`. Default: logged only.
    fn discarded(&self, n: usize, why: &str) {
        if n > 0 {
            tracing::warn!(messages = n, "{why}");
        }
    }
}

/// Where a socket sends over a message link: a bounded, synchronous queue toward the peer.
/// Implemented by each message-level transport.
pub trait Outbox: Send + Sync + 'static {
    /// Messages queued toward the peer that count against the socket's `sndhwm`.
    fn len(&self) -> usize;
    /// Whether nothing is queued toward the peer.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// How many more messages the link takes now, for a socket whose high-water mark is
    /// `hwm` (an in-process link adds the receiver's `rcvhwm`, as libzmq's pipes do).
    fn room(&self, hwm: usize) -> usize;
    /// Takes the first `n` messages of `batch` (at most what [`Outbox::room`] allowed, or any
    /// number when the socket already checked message by message). Never waits.
    fn send(&self, batch: &mut VecDeque<Multipart>, n: usize);
    /// The socket found no room for `hwm`: true if there is room after all; otherwise the link
    /// calls the [`Wake`] it was started with once there is.
    fn want_room(&self, hwm: usize) -> bool;
    /// Completes once everything sent has left: a closing socket waits for it (within its
    /// `linger`) before it drops the link. Default: at once (nothing is held back).
    fn flushed(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// A ready-made [`Outbox`] for a link that sends from its own driver (datagrams, a broker
/// client): the socket queues into it, bounded by its `sndhwm`, and the driver takes whole
/// batches out with [`QueueOutbox::next_batch`], which also tells the socket of room.
///
/// The driver must come back to `next_batch` once it has sent a batch: that is how
/// [`Outbox::flushed`] learns that everything left, and a closing socket waits for it (within
/// its `linger`).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::collections::VecDeque;
/// use std::sync::Arc;
/// use actormq_transports::link::{Outbox, QueueOutbox};
/// use actormq_transports::Multipart;
///
/// let outbox = QueueOutbox::new(Arc::new(|| {}));
/// let mut batch: VecDeque<Multipart> = ["a", "b", "c"].into_iter().map(Multipart::from).collect();
/// assert_eq!(outbox.room(2), 2);
/// outbox.send(&mut batch, 2);
/// assert_eq!((outbox.len(), batch.len()), (2, 1));
/// assert!(!outbox.want_room(2));
/// assert_eq!(outbox.next_batch().await.len(), 2); // and the socket is woken
/// # });
/// ```
pub struct QueueOutbox {
    state: std::sync::Mutex<QueueState>,
    /// Told when messages are queued.
    ready: tokio::sync::Notify,
    /// Told when the driver comes back for more with nothing queued.
    drained: tokio::sync::Notify,
    wake: Wake,
}

struct QueueState {
    queue: VecDeque<Multipart>,
    /// The socket found the queue full and waits for its wake-up.
    wanted: bool,
    /// The driver is back for more (inside [`QueueOutbox::next_batch`]): whatever it took
    /// before has left.
    idle: bool,
}

impl std::fmt::Debug for QueueOutbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueOutbox")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl QueueOutbox {
    /// An empty queue that calls `wake` (the one [`MessageLink::start`] was given) when the
    /// socket waits for room and the driver takes a batch.
    pub fn new(wake: Wake) -> Arc<Self> {
        Arc::new(QueueOutbox {
            state: std::sync::Mutex::new(QueueState {
                queue: VecDeque::new(),
                wanted: false,
                idle: false,
            }),
            ready: tokio::sync::Notify::new(),
            drained: tokio::sync::Notify::new(),
            wake,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Completes once messages are queued, without taking them: for a driver that still
    /// waits for earlier batches to be confirmed and must not call [`QueueOutbox::next_batch`]
    /// (which says that everything before has left) with nothing queued.
    pub async fn queued(&self) {
        loop {
            let notified = self.ready.notified();
            if !self.lock().queue.is_empty() {
                return;
            }
            notified.await;
        }
    }

    /// Waits until messages are queued, then takes them all (oldest first). Calling it again
    /// says that the batch before has left (see [`Outbox::flushed`]).
    pub async fn next_batch(&self) -> VecDeque<Multipart> {
        loop {
            let notified = self.ready.notified();
            let (batch, wanted) = {
                let mut state = self.lock();
                let batch = std::mem::take(&mut state.queue);
                state.idle = batch.is_empty();
                let wanted = !batch.is_empty() && std::mem::take(&mut state.wanted);
                (batch, wanted)
            };
            if wanted {
                (self.wake)();
            }
            if !batch.is_empty() {
                return batch;
            }
            self.drained.notify_waiters();
            notified.await;
        }
    }
}

impl Outbox for QueueOutbox {
    fn len(&self) -> usize {
        self.lock().queue.len()
    }

    fn room(&self, hwm: usize) -> usize {
        hwm.saturating_sub(self.len())
    }

    fn send(&self, batch: &mut VecDeque<Multipart>, n: usize) {
        let n = n.min(batch.len());
        if n == 0 {
            return;
        }
        self.lock().queue.extend(batch.drain(..n));
        self.ready.notify_one();
    }

    fn want_room(&self, hwm: usize) -> bool {
        let mut state = self.lock();
        if state.queue.len() < hwm {
            return true;
        }
        state.wanted = true;
        false
    }

    fn flushed(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            loop {
                let drained = self.drained.notified();
                tokio::pin!(drained);
                drained.as_mut().enable();
                {
                    let state = self.lock();
                    if state.idle && state.queue.is_empty() {
                        return;
                    }
                }
                drained.await;
            }
        })
    }
}

/// An [`Outbox`] that takes everything and sends nothing, for a link that only receives (a
/// bound datagram socket has no one to send its subscriptions to).
#[derive(Debug, Default, Clone, Copy)]
pub struct Discard;

impl Outbox for Discard {
    fn len(&self) -> usize {
        0
    }
    fn room(&self, hwm: usize) -> usize {
        hwm
    }
    fn send(&self, batch: &mut VecDeque<Multipart>, n: usize) {
        batch.drain(..n.min(batch.len()));
    }
    fn want_room(&self, _hwm: usize) -> bool {
        true
    }
}
