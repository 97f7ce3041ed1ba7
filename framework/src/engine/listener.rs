//! The listener actor: one per bound endpoint; hands each accepted connection to its socket.

use std::time::Duration;

use actix::prelude::*;
use actormq_transports::Listener;

use crate::engine::messages::{Accepted, StopListening};

/// Accepts connections on one bound endpoint.
pub(crate) struct ListenerActor {
    /// The bound endpoint, until `started` moves it into the accept loop.
    listener: Option<Box<dyn Listener>>,
    /// Where accepted connections go: the socket actor.
    socket: Recipient<Accepted>,
}

impl ListenerActor {
    pub(crate) fn new(listener: Box<dyn Listener>, socket: Recipient<Accepted>) -> Self {
        ListenerActor {
            listener: Some(listener),
            socket,
        }
    }
}

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
