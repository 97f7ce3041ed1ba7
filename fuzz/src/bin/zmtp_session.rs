//! A whole ZMTP session (greeting, the NULL, PLAIN or CURVE handshake with its authenticator's
//! verdict, READY metadata, commands, messages, heartbeats) fed arbitrary bytes in pieces, as a
//! PUB and as a SUB, with time moving on.

use std::time::{Duration, Instant};

use actormq_transports::zmtp::{
    CurveKeyPair, CurveSecretKey, CurveServer, Event, Mechanism, NullMechanism, PlainServer,
    Session, SessionConfig, Verdict,
};
use actormq_transports::SocketType;
use bytes::BytesMut;

fn main() {
    // a fixed server key, so that a corpus entry means the same thing on every run
    let keys = CurveKeyPair::from_secret(CurveSecretKey::from_bytes([7; 32]));
    afl::fuzz!(|data: &[u8]| {
        let Some((&mode, rest)) = data.split_first() else {
            return;
        };
        let socket_type = if mode & 1 == 0 { SocketType::Pub } else { SocketType::Sub };
        // bits 1-2: the mechanism; bit 3: the authenticator's verdict; the rest: read size
        let mechanism: Box<dyn Mechanism> = match (mode >> 1) & 3 {
            0 => Box::new(NullMechanism::new()),
            1 => Box::new(PlainServer::new()),
            2 => Box::new(CurveServer::new(keys.clone())),
            _ => Box::new(NullMechanism::authenticating()),
        };
        let allow = mode & 8 == 0;
        let mut config = SessionConfig::new(socket_type);
        config.maxmsgsize = Some(1 << 20);
        config.heartbeat_ivl = Some(Duration::from_millis(100));
        let mut now = Instant::now();
        let mut session = Session::new(config, mechanism, now);
        let (mut out, mut buf, mut messages) = (BytesMut::new(), BytesMut::new(), Vec::new());
        for piece in rest.chunks(usize::from(mode >> 4).max(1)) {
            buf.extend_from_slice(piece);
            let _ = session.handle_input(&mut buf, now, &mut messages);
            while let Some(event) = session.poll_event() {
                if let Event::Authenticate(_) = event {
                    let verdict = if allow { Verdict::allow() } else { Verdict::deny("fuzz") };
                    session.authenticated(verdict, now);
                    let _ = session.handle_input(&mut buf, now, &mut messages);
                }
            }
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
