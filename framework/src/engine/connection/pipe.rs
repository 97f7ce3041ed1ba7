//! A session over an in-process pipe: a `Hello` each way stands in for the handshake, then
//! each side hands the other its inbound queue and the two sockets deliver straight into each
//! other's queues; the pipe stays open only to tell each end when the other goes.

use actormq_patterns::Peer;
use actormq_transports::zmtp::check_peer;
use actormq_transports::{Pipe, PipeMsg};

use crate::engine::connection::Runner;
use crate::engine::queues::peer_out::Direct;
use crate::engine::signals::PeerWritable;

impl Runner {
    /// Whole messages through an in-process pipe: a `Hello` each way stands in for the
    /// handshake (same compatibility rules), then batches move as they are, never encoded.
    pub(super) async fn pipe_session(&self, pipe: Pipe, peer_addr: &str) -> String {
        let Pipe { tx, mut rx } = pipe;
        let local = self.info.socket_type;
        let hello = PipeMsg::Hello {
            socket_type: local,
            identity: self.info.options.routing_id.clone(),
        };
        if tx.send(hello).await.is_err() {
            return "peer closed the connection during the handshake".to_string();
        }
        let greeting = tokio::time::timeout(self.info.options.handshake_ivl, rx.recv()).await;
        let (peer_type, identity) = match greeting {
            Ok(Some(PipeMsg::Hello {
                socket_type,
                identity,
            })) => (socket_type, identity),
            Ok(Some(PipeMsg::Refused(reason))) => {
                return format!("peer refused the connection: {reason}")
            }
            Ok(Some(PipeMsg::Attach(_))) => {
                return "handshake failed: an attachment before the greeting".to_string()
            }
            Ok(None) => return "peer closed the connection during the handshake".to_string(),
            Err(_) => return "handshake not completed within handshake_ivl".to_string(),
        };
        if let Err(e) = check_peer(local, peer_type, &identity) {
            let _ = tx.send(PipeMsg::Refused(e.to_string())).await;
            return format!("handshake failed: {e}");
        }
        let (out, inq) = match self
            .join(
                Peer {
                    id: self.id,
                    socket_type: peer_type,
                    identity,
                },
                peer_addr,
            )
            .await
        {
            Ok(queues) => queues,
            Err(reason) => {
                let _ = tx.send(PipeMsg::Refused(reason.clone())).await;
                return format!("refused by the socket: {reason}");
            }
        };
        // Hand the peer our inbound queue: from now on its socket delivers straight into it,
        // and ours into its, with no task or channel between.
        let ours = Direct {
            inbox: inq.clone(),
            socket: self.socket.readable.clone(),
            rcvhwm: self.info.options.rcvhwm,
            thread: std::thread::current().id(),
        };
        if tx.send(PipeMsg::Attach(Box::new(ours))).await.is_err() {
            self.leave(&out);
            return "peer closed the connection".to_string();
        }
        let watch = async {
            loop {
                match rx.recv().await {
                    Some(PipeMsg::Attach(theirs)) => match theirs.downcast::<Direct>() {
                        Ok(theirs) => {
                            theirs.inbox.set_sender(self.socket.writable.clone());
                            out.go_direct(*theirs);
                            // The socket may have found this peer full before it attached, and
                            // nothing else would tell it of room: route again now.
                            self.socket.writable.do_send(PeerWritable);
                        }
                        Err(_) => {
                            return "protocol error: an attachment of an unknown kind".to_string()
                        }
                    },
                    Some(PipeMsg::Refused(reason)) => {
                        return format!("peer refused the connection: {reason}")
                    }
                    Some(PipeMsg::Hello { .. }) => {
                        return "protocol error: a second greeting".to_string()
                    }
                    None => return "peer closed the connection".to_string(),
                }
            }
        };
        // Delivery is direct, so closing only waits for the socket to say so.
        let closed = async {
            while !out.is_closed() {
                out.wake.notified().await;
            }
            "closed by the socket".to_string()
        };
        let reason = tokio::select! {
            r = watch => r,
            r = closed => r,
        };
        self.leave(&out);
        reason
    }
}
