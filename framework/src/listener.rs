//! The listener actor: one per bound endpoint; hands each accepted connection to its socket.

use std::time::Duration;

use actix::prelude::*;
use actormq_transports::Listener;

use crate::socket_actor::{Accepted, SocketActor};

/// Accepts connections on one bound endpoint.
pub(crate) struct ListenerActor {
    listener: Option<Box<dyn Listener>>,
    socket: Addr<SocketActor>,
}

impl ListenerActor {
    pub(crate) fn new(listener: Box<dyn Listener>, socket: Addr<SocketActor>) -> Self {
        ListenerActor {
            listener: Some(listener),
            socket,
        }
    }
}

/// Stop accepting and release the endpoint.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct StopListening;

impl Actor for ListenerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some(mut listener) = self.listener.take() else {
            return;
        };
        let socket = self.socket.clone();
        let endpoint = listener.local_endpoint().clone();
        let accept_loop = async move {
            loop {
                match listener.accept().await {
                    Ok((link, peer)) => socket.do_send(Accepted {
                        link,
                        peer,
                        endpoint: endpoint.clone(),
                    }),
                    Err(e) => {
                        // Out of file descriptors and the like: log, wait a little, go on.
                        tracing::warn!(%endpoint, error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        };
        ctx.spawn(accept_loop.into_actor(self));
    }
}

impl Handler<StopListening> for ListenerActor {
    type Result = ();
    fn handle(&mut self, _: StopListening, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
