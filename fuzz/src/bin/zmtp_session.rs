//! A whole ZMTP session (greeting, NULL handshake, READY metadata, commands, messages,
//! heartbeats) fed arbitrary bytes in pieces, as a PUB and as a SUB, with time moving on.

use std::time::{Duration, Instant};

use actormq_transports::zmtp::{NullMechanism, Session, SessionConfig};
use actormq_transports::SocketType;
use bytes::BytesMut;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&mode, rest)) = data.split_first() else {
            return;
        };
        let socket_type = if mode & 1 == 0 { SocketType::Pub } else { SocketType::Sub };
        let mut config = SessionConfig::new(socket_type);
        config.maxmsgsize = Some(1 << 20);
        config.heartbeat_ivl = Some(Duration::from_millis(100));
        let mut now = Instant::now();
        let mut session = Session::new(config, Box::new(NullMechanism::new()), now);
        let (mut out, mut buf, mut messages) = (BytesMut::new(), BytesMut::new(), Vec::new());
        for piece in rest.chunks(usize::from(mode >> 1).max(1)) {
            buf.extend_from_slice(piece);
            let _ = session.handle_input(&mut buf, now, &mut messages);
            while session.poll_event().is_some() {}
            session.poll_transmit(&mut out);
            out.clear();
            now += Duration::from_millis(30);
            session.handle_timeout(now);
            if session.is_closed() {
                break;
            }
            messages.clear();
        }
    });
}
