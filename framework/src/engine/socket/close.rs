//! Closing in order: stop listening, route what was queued (within `linger`), tell every
//! connection to flush and close, then stop.

use actix::prelude::*;

use crate::engine::messages::{Abort, Close, CloseSocket, StopListening};
use crate::engine::socket::SocketActor;
use crate::event::SocketEvent;

impl SocketActor {
    pub(super) fn try_finish(&mut self, ctx: &mut Context<Self>) {
        if !self.closing || !self.shared.send.is_empty() {
            return;
        }
        if !self.told_conns_to_close {
            self.told_conns_to_close = true;
            for conn in self.conns.values() {
                conn.do_send(Close);
            }
        }
        if self.conns.is_empty() {
            self.finish(ctx);
        }
    }

    /// Ends the socket now (linger expired, or nothing left to deliver): every connection is
    /// aborted, counting what it still held, and once the last has ended the socket stops and
    /// whoever waits in `close()` is told.
    pub(super) fn finish(&mut self, ctx: &mut Context<Self>) {
        if !self.conns.is_empty() {
            if !self.aborting {
                self.aborting = true;
                for conn in self.conns.values() {
                    conn.do_send(Abort);
                }
            }
            return; // each ConnectionEnded comes back here
        }
        self.info.dropped(
            self.shared.send.len(),
            "messages the application sent were dropped: no peer took them before linger expired",
        );
        self.shared.send.close();
        self.shared.recv.close();
        self.info.emit(SocketEvent::Closed);
        for w in self.close_waiters.drain(..) {
            let _ = w.send(());
        }
        ctx.stop();
    }
}

impl Handler<CloseSocket> for SocketActor {
    type Result = ();

    fn handle(&mut self, CloseSocket(reply): CloseSocket, ctx: &mut Self::Context) {
        if let Some(reply) = reply {
            self.close_waiters.push(reply);
        }
        if self.closing {
            return;
        }
        self.closing = true;
        // what was sent before close is still delivered; nothing after it is taken
        self.shared.send.seal();
        for l in self.listeners.drain(..) {
            l.do_send(StopListening);
        }
        if let Some(linger) = self.info.options.linger {
            ctx.run_later(linger, |act, ctx| act.finish(ctx));
        }
        self.route_pending(ctx);
    }
}
