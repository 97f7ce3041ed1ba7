//! A session over a message-level link (in-process, datagrams, a broker, a user's own): the
//! link's hello stands in for the ZMTP handshake (same compatibility rules), then the link
//! delivers into the peer's inbound queue and takes the socket's batches through its outbox,
//! with no task of ours between. The link's driver runs until the peer is gone.

use std::sync::Arc;

use actormq_patterns::Peer;
use actormq_transports::zmtp::check_peer;
use actormq_transports::{Hello, MessageLink, Wake};

use crate::engine::connection::Runner;
use crate::engine::signals::PeerWritable;

impl Runner {
    /// Whole messages over a [`MessageLink`]; returns why the connection ended.
    pub(super) async fn message_session(
        &self,
        mut link: Box<dyn MessageLink>,
        peer_addr: &str,
    ) -> String {
        let local = self.info.socket_type;
        let opts = &self.info.options;
        let ours = Hello {
            socket_type: local,
            identity: opts.routing_id.clone(),
        };
        let theirs = match tokio::time::timeout(opts.handshake_ivl, link.handshake(ours)).await {
            Ok(Ok(theirs)) => theirs,
            Ok(Err(reason)) => return reason,
            Err(_) => return "handshake not completed within handshake_ivl".to_string(),
        };
        if let Err(e) = check_peer(local, theirs.socket_type, &theirs.identity) {
            link.refuse(e.to_string()).await;
            return format!("handshake failed: {e}");
        }
        let peer = Peer {
            id: self.id,
            socket_type: theirs.socket_type,
            identity: theirs.identity,
        };
        let (out, inq) = match self.join(peer, peer_addr).await {
            Ok(queues) => queues,
            Err(reason) => {
                link.refuse(reason.clone()).await;
                return format!("refused by the socket: {reason}");
            }
        };
        let writable = self.socket.writable.clone();
        let wake: Wake = Arc::new(move || writable.do_send(PeerWritable));
        let started = match link.start(inq, wake).await {
            Ok(started) => started,
            Err(reason) => {
                self.leave(&out);
                return reason;
            }
        };
        let outbox = started.outbox.clone();
        out.go_direct(started.outbox);
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
            "closed by the socket".to_string()
        };
        let reason = tokio::select! {
            r = started.driver => r,
            r = closed => r,
        };
        self.leave(&out);
        reason
    }
}
