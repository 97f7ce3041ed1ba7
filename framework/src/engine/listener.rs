//! The listener actor: one per bound endpoint; hands each accepted connection to its socket.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use actormq_transports::Listener;

use crate::engine::messages::{Accepted, ConnSlot, StopListening};

/// Accepts connections on one bound endpoint.
pub(crate) struct ListenerActor {
    /// The bound endpoint, until `started` moves it into the accept loop.
    listener: Option<Box<dyn Listener>>,
    /// Where accepted connections go: the socket actor.
    socket: Recipient<Accepted>,
    /// The socket's `max_connections`: accepted connections alive at once on this endpoint.
    max_connections: usize,
}

impl ListenerActor {
    pub(crate) fn new(
        listener: Box<dyn Listener>,
        socket: Recipient<Accepted>,
        max_connections: usize,
    ) -> Self {
        ListenerActor {
            listener: Some(listener),
            socket,
            max_connections,
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
        let max = self.max_connections;
        let live = Arc::new(AtomicUsize::new(0));
        let accept_loop = async move {
            loop {
                match listener.accept().await {
                    Ok((link, peer)) => match ConnSlot::take(&live, max) {
                        Some(slot) => socket.do_send(Accepted {
                            link,
                            slot,
                            peer,
                            endpoint: endpoint.clone(),
                        }),
                        None => {
                            // dropping the link closes it: the peer sees EOF at once
                            tracing::warn!(%endpoint, %peer, "max_connections ({max}) reached on {endpoint}");
                            drop(link);
                        }
                    },
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
