//! Typed request/reply.

use std::future::Future;
use std::marker::PhantomData;

use actix::{Actor, Addr, Handler, Message};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::typed::subscriber::decode_message;
use crate::typed::{encode, Encoding};
use bytes::Bytes;

use crate::{Error, Result, Socket, SocketType};

/// A request as an actix message: an actor answers it with a `Rep`
/// (`type Result = MessageResult<Request<Req, Rep>>`, or a future of one).
pub struct Request<Req, Rep>(pub Req, PhantomData<fn() -> Rep>);

impl<Req: std::fmt::Debug, Rep> std::fmt::Debug for Request<Req, Rep> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Request").field(&self.0).finish()
    }
}

impl<Req, Rep> Request<Req, Rep> {
    /// Wraps a request.
    pub fn new(req: Req) -> Self {
        Request(req, PhantomData)
    }
}

impl<Req: 'static, Rep: 'static> Message for Request<Req, Rep> {
    type Result = Rep;
}

/// The reply a responder sends when a request does not decode: the requester's decode of it as
/// `Rep` then fails with this text, so the client learns what was wrong.
#[derive(Serialize, Deserialize)]
struct ErrorReply {
    error: String,
}

/// Sends typed requests on a REQ (or DEALER) socket and decodes the replies.
///
/// One request at a time: `request` takes `&mut self`. If a call is abandoned between request
/// and reply (dropped under a timeout), a plain REQ is left waiting for that reply; to give up
/// and ask again, use a REQ with `req_relaxed` and `req_correlate`, which discards the late
/// reply.
pub struct Requester<Req, Rep> {
    socket: Socket,
    encoding: Encoding,
    _types: PhantomData<fn(&Req) -> Rep>,
}

impl<Req, Rep> std::fmt::Debug for Requester<Req, Rep> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Requester")
            .field("socket", &self.socket)
            .field("encoding", &self.encoding)
            .finish_non_exhaustive()
    }
}

impl<Req: Serialize, Rep: DeserializeOwned + 'static> Requester<Req, Rep> {
    /// A requester on `socket`.
    pub fn new(socket: Socket) -> Self {
        Requester {
            socket,
            encoding: Encoding::Named,
            _types: PhantomData,
        }
    }

    /// The socket underneath.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Sends a request and waits for its reply.
    pub async fn request(&mut self, req: &Req) -> Result<Rep> {
        let payload = encode(req, self.encoding)?;
        if self.socket.socket_type() == SocketType::Dealer {
            // a DEALER adds the envelope's delimiter itself (a REQ does it for us)
            self.socket.send([Bytes::new(), payload]).await?;
        } else {
            self.socket.send(payload).await?;
        }
        let (reply, peer) = self.socket.recv_from().await?;
        decode_message::<Rep>(&reply, &peer)
            .value
            .map_err(Error::Decode)
    }
}

/// Answers typed requests on a REP socket with `handler`, until the socket closes.
///
/// A request that does not decode is logged and answered with `{"error": "..."}`, so that the
/// client is not left waiting.
pub async fn serve<Req, Rep, F, Fut>(socket: Socket, mut handler: F) -> Result<()>
where
    Req: DeserializeOwned + 'static,
    Rep: Serialize,
    F: FnMut(Req) -> Fut,
    Fut: Future<Output = Rep>,
{
    serve_until(socket, |req| {
        let reply = handler(req);
        async move { Some(reply.await) }
    })
    .await
}

/// The loop of [`serve`]; a handler answering `None` stops it.
async fn serve_until<Req, Rep, F, Fut>(socket: Socket, mut handler: F) -> Result<()>
where
    Req: DeserializeOwned + 'static,
    Rep: Serialize,
    F: FnMut(Req) -> Fut,
    Fut: Future<Output = Option<Rep>>,
{
    loop {
        let (msg, peer) = socket.recv_from().await?;
        let reply = match decode_message::<Req>(&msg, &peer).value {
            Ok(req) => match handler(req).await {
                Some(rep) => encode(&rep, Encoding::Named),
                None => return Ok(()),
            },
            Err(failure) => {
                tracing::warn!(peer = %failure.peer, reason = %failure.reason, "request does not decode");
                Err(Error::Decode(failure))
            }
        };
        // A REP owes every request a reply: a failure becomes an error reply, never a silence.
        let reply = reply.or_else(|e| {
            encode(
                &ErrorReply {
                    error: e.to_string(),
                },
                Encoding::Named,
            )
        })?;
        socket.send(reply).await?;
    }
}

/// Serves typed requests with an actor: each request goes to its `Handler<Request<Req, Rep>>`.
#[derive(Debug)]
pub struct Responder;

impl Responder {
    /// Answers requests arriving on `socket` (a REP) with `actor`, in the background, until the
    /// socket closes or the actor stops.
    pub fn start<Req, Rep, A>(socket: Socket, actor: Addr<A>)
    where
        Req: DeserializeOwned + Send + 'static,
        Rep: Serialize + Send + 'static,
        A: Actor + Handler<Request<Req, Rep>>,
        A::Context: actix::dev::ToEnvelope<A, Request<Req, Rep>>,
    {
        actix::spawn(async move {
            let served = serve_until(socket, |req: Req| {
                let actor = actor.clone();
                async move { actor.send(Request::new(req)).await.ok() }
            });
            if let Err(e) = served.await {
                tracing::debug!(error = %e, "responder stopped");
            }
        });
    }
}
