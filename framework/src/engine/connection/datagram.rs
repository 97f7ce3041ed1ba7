//! A session over datagrams: one message per datagram, no handshake.

use std::sync::Arc;

use actormq_patterns::Peer;
use actormq_transports::{datagram, Datagrams, SocketType};

use crate::engine::connection::{next_batch, Runner};
use crate::engine::signals::PeerReadable;

impl Runner {
    /// One message per datagram, no handshake. The sending end (a PUB connected to a
    /// destination) sends everything: its "peer" subscribes to all. The receiving end (a bound
    /// SUB) takes datagrams from anyone; one that does not decode is logged and skipped.
    pub(super) async fn datagram_session(
        &self,
        socket: Arc<dyn Datagrams>,
        peer_addr: &str,
    ) -> String {
        let sender = socket.is_sender();
        let peer_type = if sender {
            SocketType::Sub
        } else {
            SocketType::Pub
        };
        let peer = Peer {
            id: self.id,
            socket_type: peer_type,
            identity: Default::default(),
        };
        let (out, inq) = match self.join(peer, peer_addr).await {
            Ok(queues) => queues,
            Err(reason) => return format!("refused by the socket: {reason}"),
        };
        if sender && inq.push_batch(vec![actormq_patterns::subscribe_message(b"")]) {
            self.socket.readable.do_send(PeerReadable);
        }
        let rcvhwm = self.info.options.rcvhwm;
        let reader = async {
            if sender {
                return std::future::pending::<String>().await;
            }
            let mut buf = vec![0u8; datagram::MAX_DATAGRAM + 1];
            loop {
                let (n, from) = match socket.recv(&mut buf).await {
                    Ok(got) => got,
                    Err(e) => return format!("receive error: {e}"),
                };
                match datagram::decode(&buf[..n]) {
                    Ok(msg) => {
                        if inq.push_batch(vec![msg]) {
                            self.socket.readable.do_send(PeerReadable);
                        }
                        inq.wait_below(rcvhwm).await;
                    }
                    Err(reason) => tracing::warn!(%from, %reason, "dropped a malformed datagram"),
                }
            }
        };
        let writer = async {
            loop {
                let Some(batch) = next_batch(self, &out).await else {
                    return "closed by the socket".to_string();
                };
                // a receiving end cannot send subscriptions upstream: there is no upstream
                if !sender {
                    continue;
                }
                for msg in batch {
                    match datagram::encode(&msg) {
                        Ok(bytes) => {
                            if let Err(e) = socket.send(&bytes).await {
                                tracing::debug!(error = %e, "datagram not sent");
                            }
                        }
                        Err(reason) => tracing::warn!(%reason, "message not sent as a datagram"),
                    }
                }
            }
        };
        let reason = tokio::select! {
            r = reader => r,
            r = writer => r,
        };
        self.leave(&out);
        reason
    }
}
