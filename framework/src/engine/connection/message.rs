//! A session over a message-level link (in-process, datagrams, a broker, a user's own): the
//! link's hello stands in for the ZMTP handshake (same compatibility rules), then the link
//! delivers into the peer's inbound queue and takes the socket's batches through its outbox,
//! with no task of ours between. The link's driver runs until the peer is gone.

use std::sync::Arc;

use actormq_patterns::Peer;
use actormq_transports::zmtp::{check_peer, CloseReason};
use actormq_transports::{Hello, MessageLink, Wake};

use crate::engine::connection::Runner;
use crate::engine::messages::PeerWritable;
use crate::event::DisconnectReason;

/// A reason a link gave as text, as precisely as it can be told.
fn from_link(text: String) -> DisconnectReason {
    if text == DisconnectReason::PeerClosed.to_string() {
        return DisconnectReason::PeerClosed;
    }
    match text.strip_prefix("peer refused the connection: ") {
        Some(why) => DisconnectReason::PeerRefused(why.to_string()),
        None => DisconnectReason::Other(text),
    }
}

impl Runner {
    /// Whole messages over a [`MessageLink`]; returns why the connection ended.
    pub(super) async fn message_session(
        &self,
        mut link: Box<dyn MessageLink>,
        peer_addr: &str,
    ) -> DisconnectReason {
        let local = self.info.socket_type;
        let opts = &self.info.options;
        let ours = Hello {
            socket_type: local,
            identity: opts.routing_id.clone(),
        };
        let theirs = match within(opts.handshake_ivl, link.handshake(ours)).await {
            Some(Ok(theirs)) => theirs,
            Some(Err(reason)) => return from_link(reason),
            None => return CloseReason::HandshakeTimeout(opts.handshake_ivl).into(),
        };
        // telling a refused peer why may take no longer than a handshake
        let bounded = |f| within(opts.handshake_ivl, f);
        if let Err(e) = check_peer(local, theirs.socket_type, &theirs.identity) {
            let _ = bounded(link.refuse(e.to_string())).await;
            return CloseReason::HandshakeFailed(e).into();
        }
        let peer = Peer {
            id: self.id,
            socket_type: theirs.socket_type,
            identity: theirs.identity,
        };
        let (out, inq, joined) = match self.join(peer, peer_addr, None).await {
            Ok(queues) => queues,
            Err(reason) => {
                let _ = bounded(link.refuse(reason.clone())).await;
                return DisconnectReason::Refused(reason);
            }
        };
        let writable = self.socket.writable.clone();
        let wake: Wake = Arc::new(move || writable.do_send(PeerWritable));
        // Starting may wait for the peer (inproc: its inbox): within a handshake's time, and
        // not past the socket closing this connection.
        let socket_closed = async {
            while !out.is_closed() {
                out.wake.notified().await;
            }
        };
        let started = tokio::select! {
            started = within(opts.handshake_ivl, link.start(inq.clone(), wake)) => started,
            _ = socket_closed => {
                self.leave(&out);
                return DisconnectReason::ClosedBySocket;
            }
        };
        let started = match started {
            Some(Ok(started)) => started,
            Some(Err(reason)) => {
                self.leave(&out);
                return from_link(reason);
            }
            None => {
                self.leave(&out);
                return CloseReason::HandshakeTimeout(opts.handshake_ivl).into();
            }
        };
        if let Some(hook) = inq.taken_hook() {
            self.info.taken.register(self.id, hook);
        }
        let outbox = started.outbox.clone();
        out.go_direct(started.outbox);
        // live once started: what the link told the socket on starting (a broker's "subscribed
        // to everything") is in the socket's mailbox before anything the application does on
        // hearing of it
        self.live(peer_addr, joined);
        // The socket may have found this peer full before the link started, and nothing else
        // would tell it of room: route again now.
        self.socket.writable.do_send(PeerWritable);
        // Delivery is direct, so closing waits for the socket to say so, then for the link to
        // send what it holds.
        let closed = async {
            while !out.is_closed() {
                out.wake.notified().await;
            }
            outbox.flushed().await;
            DisconnectReason::ClosedBySocket
        };
        let reason = tokio::select! {
            r = started.driver => from_link(r),
            r = closed => r,
        };
        self.leave(&out);
        reason
    }
}

/// `f`, unless `ivl` (`handshake_ivl`) passes first: `None`. A zero `ivl` is no deadline, as
/// in libzmq.
async fn within<F: std::future::Future>(ivl: std::time::Duration, f: F) -> Option<F::Output> {
    if ivl.is_zero() {
        return Some(f.await);
    }
    tokio::time::timeout(ivl, f).await.ok()
}
