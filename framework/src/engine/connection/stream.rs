//! A session over a byte stream: the ZMTP handshake, then a reader, a writer and the heartbeat
//! watch, until one of them ends the connection.

use actormq_patterns::{cancel_message, subscribe_message, Peer};
use actormq_transports::zmtp::{
    encode_command, encode_message, Command, Decoder, Handshake, Inbound,
};
use actormq_transports::{BoxedStream, Multipart, SocketType};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};

use crate::engine::connection::{next_batch, Runner};
use crate::engine::heartbeat::{self, Liveness};
use crate::engine::queues::peer_in::PeerIn;
use crate::engine::queues::peer_out::{Outgoing, PeerOut};
use crate::engine::signals::PeerReadable;

impl Runner {
    /// ZMTP over a byte stream.
    pub(super) async fn zmtp_session(&self, stream: BoxedStream, peer_addr: &str) -> String {
        let local = self.info.socket_type;
        let opts = &self.info.options;
        let (mut rd, mut wr) = tokio::io::split(stream);
        let mut handshake = Handshake::new(local, opts.routing_id.clone());
        if let Err(e) = wr.write_all(&handshake.initial_bytes()).await {
            return format!("write error during handshake: {e}");
        }
        let mut buf = BytesMut::with_capacity(8 * 1024);
        let shake = async {
            loop {
                match handshake.feed(&mut buf) {
                    Ok(Some(info)) => return Ok(info),
                    Ok(None) => {}
                    Err(e) => {
                        if e.is_refusal() {
                            let _ = wr.write_all(&Handshake::error_bytes(&e)).await;
                            let _ = wr.flush().await;
                        }
                        return Err(format!("handshake failed: {e}"));
                    }
                }
                match rd.read_buf(&mut buf).await {
                    Ok(0) => {
                        return Err(format!(
                            "peer closed the connection during the handshake \
                             (libzmq does this when it refuses our socket type, {local})"
                        ))
                    }
                    Ok(_) => {}
                    Err(e) => return Err(format!("read error during handshake: {e}")),
                }
            }
        };
        let info = match tokio::time::timeout(opts.handshake_ivl, shake).await {
            Ok(Ok(info)) => info,
            Ok(Err(reason)) => return reason,
            Err(_) => {
                return format!(
                    "handshake not completed within handshake_ivl ({:?})",
                    opts.handshake_ivl
                )
            }
        };
        let peer = Peer {
            id: self.id,
            socket_type: info.socket_type,
            identity: info.identity.clone(),
        };
        let (out, inq) = match self.join(peer, peer_addr).await {
            Ok(queues) => queues,
            Err(reason) => {
                // tell the peer why before hanging up, as a handshake refusal does
                let mut error = BytesMut::new();
                encode_command(&Command::Error(reason.clone()), &mut error);
                let _ = wr.write_all(&error).await;
                let _ = wr.flush().await;
                return format!("refused by the socket: {reason}");
            }
        };
        let encode_subs = local.is_subscriber() && info.is_3_1();
        let alive = Liveness::new();
        // PING and PONG are ZMTP 3.1: a 3.0 peer gets no heartbeats
        let heartbeats = async {
            if !info.is_3_1() {
                return std::future::pending().await;
            }
            heartbeat::watch(opts, &alive, |ping| out.push(Outgoing::Command(ping))).await
        };
        let reason = tokio::select! {
            r = read_loop(self, rd, buf, &inq, &out, &alive) => r,
            r = write_loop(self, wr, &out, encode_subs) => r,
            r = heartbeats => r,
        };
        self.leave(&out);
        reason
    }
}

async fn read_loop(
    link: &Runner,
    mut rd: ReadHalf<BoxedStream>,
    mut buf: BytesMut,
    inq: &PeerIn,
    out: &PeerOut,
    alive: &Liveness,
) -> String {
    let local = link.info.socket_type;
    let rcvhwm = link.info.options.rcvhwm;
    let mut decoder = Decoder::new(link.info.options.maxmsgsize);
    let publisher = matches!(local, SocketType::Pub | SocketType::XPub);
    loop {
        let mut batch = Vec::new();
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(Inbound::Message(m))) => batch.push(m),
                Ok(Some(Inbound::Command(cmd))) => match cmd {
                    Command::Ping { ttl, context } => {
                        alive.peer_ping(ttl);
                        out.push(Outgoing::Command(Command::Pong(context)))
                    }
                    Command::Subscribe(topic) if publisher => batch.push(subscribe_message(&topic)),
                    Command::Cancel(topic) if publisher => batch.push(cancel_message(&topic)),
                    Command::Error(reason) => return format!("peer sent ERROR: {reason}"),
                    Command::Ready(_) => {
                        return "protocol error: READY after the handshake".to_string()
                    }
                    other => tracing::trace!(command = other.name(), "ignored command"),
                },
                Ok(None) => break,
                Err(e) => return format!("protocol error: {e}"),
            }
        }
        if !batch.is_empty() && inq.push_batch(batch) {
            link.socket.readable.do_send(PeerReadable);
        }
        if inq.len() >= rcvhwm {
            alive.paused_until(inq.wait_below(rcvhwm)).await;
        }
        buf.reserve(64 * 1024);
        match rd.read_buf(&mut buf).await {
            Ok(0) => return "peer closed the connection".to_string(),
            Ok(_) => alive.seen(),
            Err(e) => return format!("read error: {e}"),
        }
    }
}

/// Writes a subscription message as a ZMTP 3.1 command, or returns it unchanged.
fn as_subscription_command(msg: Multipart) -> Result<Command, Multipart> {
    if msg.len() != 1 {
        return Err(msg);
    }
    match msg.first().and_then(|f| f.first()) {
        Some(1) => Ok(Command::Subscribe(msg.frames()[0].slice(1..))),
        Some(0) => Ok(Command::Cancel(msg.frames()[0].slice(1..))),
        _ => Err(msg),
    }
}

/// Bytes gathered before a write is issued mid-batch.
const WRITE_CHUNK: usize = 256 * 1024;

async fn write_loop(
    link: &Runner,
    mut wr: WriteHalf<BoxedStream>,
    out: &PeerOut,
    encode_subs: bool,
) -> String {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        let Some(batch) = next_batch(link, out).await else {
            let _ = wr.flush().await;
            let _ = wr.shutdown().await;
            return "closed by the socket".to_string();
        };
        for item in batch {
            match item {
                Outgoing::Message(msg) if encode_subs => match as_subscription_command(msg) {
                    Ok(cmd) => encode_command(&cmd, &mut buf),
                    Err(msg) => encode_message(&msg, &mut buf),
                },
                Outgoing::Message(msg) => encode_message(&msg, &mut buf),
                Outgoing::Command(cmd) => encode_command(&cmd, &mut buf),
            }
            if buf.len() >= WRITE_CHUNK {
                if let Err(e) = wr.write_all(&buf).await {
                    return format!("write error: {e}");
                }
                buf.clear();
            }
        }
        if !buf.is_empty() {
            if let Err(e) = wr.write_all(&buf).await {
                return format!("write error: {e}");
            }
            buf.clear();
        }
    }
}
