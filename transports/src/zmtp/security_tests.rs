//! PLAIN and CURVE sessions back to back in memory: handshakes, encrypted traffic, and what a
//! hostile peer can do to them (tamper, replay, truncate, stall, garbage), never a panic.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::{
    CloseReason, Credentials, CurveClient, CurveKeyPair, CurveServer, Event, Mechanism,
    PlainClient, PlainServer, ProtocolError, Session, SessionConfig, Verdict,
};
use crate::{Multipart, SocketType};

fn session(t: SocketType, m: Box<dyn Mechanism>, now: Instant) -> Session {
    Session::new(SessionConfig::new(t), m, now)
}

/// A client and a server session; the server's authenticator is `judge`.
struct Pair {
    client: Session,
    server: Session,
    client_got: Vec<Multipart>,
    server_got: Vec<Multipart>,
    judge: fn(&Credentials) -> Verdict,
    /// What the server was asked to judge.
    judged: Vec<Credentials>,
}

impl Pair {
    fn new(client: Box<dyn Mechanism>, server: Box<dyn Mechanism>, now: Instant) -> Pair {
        Pair {
            client: session(SocketType::Push, client, now),
            server: session(SocketType::Pull, server, now),
            client_got: Vec::new(),
            server_got: Vec::new(),
            judge: |_| Verdict::allow(),
            judged: Vec::new(),
        }
    }

    fn curve(now: Instant) -> (Pair, CurveKeyPair, CurveKeyPair) {
        let server = CurveKeyPair::generate();
        let client = CurveKeyPair::generate();
        let pair = Pair::new(
            Box::new(CurveClient::new(server.public, client.clone())),
            Box::new(CurveServer::new(server.clone())),
            now,
        );
        (pair, server, client)
    }

    /// Moves bytes both ways, answering the server's questions, until nothing moves.
    fn pump(&mut self, now: Instant) {
        loop {
            let mut to_server = BytesMut::new();
            let mut to_client = BytesMut::new();
            let c = self.client.poll_transmit(&mut to_server);
            let s = self.server.poll_transmit(&mut to_client);
            let mut moved = c || s;
            if !to_server.is_empty() {
                let _ = self
                    .server
                    .handle_input(&mut to_server, now, &mut self.server_got);
            }
            if !to_client.is_empty() {
                let _ = self
                    .client
                    .handle_input(&mut to_client, now, &mut self.client_got);
            }
            while let Some(e) = self.server.poll_event() {
                if let Event::Authenticate(c) = e {
                    let verdict = (self.judge)(&c);
                    self.judged.push(c);
                    self.server.authenticated(verdict, now);
                    let _ =
                        self.server
                            .handle_input(&mut BytesMut::new(), now, &mut self.server_got);
                    moved = true;
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn ready(&self) -> bool {
        self.client.peer().is_some() && self.server.peer().is_some()
    }

    /// The bytes of `msgs` as the client would send them.
    fn client_wire(&mut self, msgs: &[Multipart]) -> BytesMut {
        let mut wire = BytesMut::new();
        for m in msgs {
            self.client.encode_message(m, &mut wire);
        }
        wire
    }
}

fn closed(s: &Session) -> String {
    s.close_reason().map(|r| r.to_string()).unwrap_or_default()
}

fn msg(frames: &[&[u8]]) -> Multipart {
    Multipart::from(
        frames
            .iter()
            .map(|f| Bytes::copy_from_slice(f))
            .collect::<Vec<_>>(),
    )
}

#[test]
fn curve_handshake_then_encrypted_messages_both_ways() {
    let now = Instant::now();
    let (mut p, _, client) = Pair::curve(now);
    p.pump(now);
    assert!(
        p.ready(),
        "{:?} / {:?}",
        p.client.close_reason(),
        p.server.close_reason()
    );
    assert_eq!(
        p.judged,
        [Credentials::Curve {
            client_key: client.public
        }]
    );
    assert_eq!(
        p.server.peer().unwrap().user_id,
        Some(client.public.to_z85())
    );
    let msgs = [msg(&[b"a", b"", &[7u8; 70_000]]), msg(&[b"secret text"])];
    let mut wire = p.client_wire(&msgs);
    // nothing of the plaintext is on the wire
    assert!(!wire.windows(11).any(|w| w == b"secret text"));
    p.server
        .handle_input(&mut wire, now, &mut p.server_got)
        .unwrap();
    assert_eq!(p.server_got, msgs);
}

#[test]
fn a_tampered_message_box_closes_the_connection() {
    let now = Instant::now();
    let (mut p, _, _) = Pair::curve(now);
    p.pump(now);
    let mut wire = p.client_wire(&[msg(&[b"pay me 100"])]);
    let last = wire.len() - 1;
    wire[last] ^= 0x01;
    let r = p.server.handle_input(&mut wire, now, &mut p.server_got);
    assert!(r.is_err());
    assert!(p.server_got.is_empty());
    assert!(
        closed(&p.server).contains("tampered"),
        "{}",
        closed(&p.server)
    );
}

#[test]
fn a_replayed_message_box_closes_the_connection() {
    let now = Instant::now();
    let (mut p, _, _) = Pair::curve(now);
    p.pump(now);
    let wire = p.client_wire(&[msg(&[b"once"])]);
    let mut twice = wire.clone();
    twice.extend_from_slice(&wire);
    let _ = p.server.handle_input(&mut twice, now, &mut p.server_got);
    assert_eq!(p.server_got, [msg(&[b"once"])]);
    assert!(
        closed(&p.server).contains("replayed"),
        "{}",
        closed(&p.server)
    );
}

#[test]
fn an_unencrypted_command_after_the_handshake_is_refused() {
    let now = Instant::now();
    let (mut p, _, _) = Pair::curve(now);
    p.pump(now);
    let mut wire = BytesMut::new();
    super::encode_command(
        &super::Command::Ping {
            ttl: 0,
            context: Bytes::new(),
        },
        &mut wire,
    );
    assert!(p
        .server
        .handle_input(&mut wire, now, &mut p.server_got)
        .is_err());
    assert!(
        closed(&p.server).contains("unencrypted PING"),
        "{}",
        closed(&p.server)
    );
}

#[test]
fn a_hello_of_the_wrong_length_is_refused() {
    let now = Instant::now();
    let server = CurveKeyPair::generate();
    let mut s = session(SocketType::Pull, Box::new(CurveServer::new(server)), now);
    let mut c = session(
        SocketType::Push,
        Box::new(CurveClient::new(
            CurveKeyPair::generate().public,
            CurveKeyPair::generate(),
        )),
        now,
    );
    // the client sends HELLO once the server has greeted it with CURVE
    let mut greeting = BytesMut::new();
    s.poll_transmit(&mut greeting);
    c.handle_input(&mut greeting, now, &mut Vec::new()).unwrap();
    let mut wire = BytesMut::new();
    c.poll_transmit(&mut wire);
    // greeting (64) then the HELLO command: cut its body short, fixing the size octet
    let mut hello = wire.split_off(64);
    let body_len = hello[1] as usize;
    hello.truncate(2 + body_len - 10);
    hello[1] = (body_len - 10) as u8;
    wire.extend_from_slice(&hello);
    assert!(s.handle_input(&mut wire, now, &mut Vec::new()).is_err());
    assert!(closed(&s).contains("not 194"), "{}", closed(&s));
}

#[test]
fn the_wrong_server_key_fails_at_hello_on_the_server() {
    let now = Instant::now();
    let mut p = Pair::new(
        Box::new(CurveClient::new(
            CurveKeyPair::generate().public,
            CurveKeyPair::generate(),
        )),
        Box::new(CurveServer::new(CurveKeyPair::generate())),
        now,
    );
    p.pump(now);
    assert!(!p.ready());
    assert!(
        closed(&p.server).contains("HELLO box does not open"),
        "{}",
        closed(&p.server)
    );
}

#[test]
fn a_denied_client_is_told_400_and_the_server_keeps_the_reason() {
    let now = Instant::now();
    let (mut p, _, _) = Pair::curve(now);
    p.judge = |_| Verdict::deny("not on the list");
    p.pump(now);
    assert!(!p.ready());
    assert_eq!(
        p.server.close_reason(),
        Some(&CloseReason::Unauthorized {
            status: 400,
            reason: "not on the list".into()
        })
    );
    assert!(closed(&p.client).contains("400"), "{}", closed(&p.client));
}

#[test]
fn plain_handshake_checks_the_password() {
    let now = Instant::now();
    let mut p = Pair::new(
        Box::new(PlainClient::new("admin", "secret")),
        Box::new(PlainServer::new()),
        now,
    );
    p.judge = |c| match c {
        Credentials::Plain { username, password }
            if username == "admin" && **password == "secret" =>
        {
            Verdict::allow()
        }
        _ => Verdict::deny("no"),
    };
    p.pump(now);
    assert!(p.ready());
    assert_eq!(p.server.peer().unwrap().user_id.as_deref(), Some("admin"));
    let mut bad = Pair::new(
        Box::new(PlainClient::new("admin", "guess")),
        Box::new(PlainServer::new()),
        now,
    );
    bad.judge = p.judge;
    bad.pump(now);
    assert!(!bad.ready());
    assert!(
        closed(&bad.client).contains("400"),
        "{}",
        closed(&bad.client)
    );
}

#[test]
fn a_peer_that_stalls_mid_handshake_is_closed_at_the_deadline() {
    let now = Instant::now();
    let mut s = session(
        SocketType::Pull,
        Box::new(CurveServer::new(CurveKeyPair::generate())),
        now,
    );
    // a greeting, then nothing
    let mut greeting = BytesMut::from(
        &super::Greeting {
            major: 3,
            minor: 1,
            mechanism: "CURVE".into(),
            as_server: false,
        }
        .encode()[..],
    );
    s.handle_input(&mut greeting, now, &mut Vec::new()).unwrap();
    s.handle_timeout(now + Duration::from_secs(31));
    assert!(matches!(
        s.close_reason(),
        Some(CloseReason::HandshakeTimeout(_))
    ));
}

#[test]
fn two_clients_fail_on_the_first_command() {
    let now = Instant::now();
    let server = CurveKeyPair::generate();
    let mut p = Pair::new(
        Box::new(CurveClient::new(server.public, CurveKeyPair::generate())),
        Box::new(CurveClient::new(server.public, CurveKeyPair::generate())),
        now,
    );
    p.pump(now);
    assert!(!p.ready());
    assert!(
        closed(&p.client).contains("expected WELCOME"),
        "{}",
        closed(&p.client)
    );
}

proptest! {
    /// The handshake and the traffic survive any way the bytes are cut into reads.
    #[test]
    fn curve_survives_any_split(
        msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..8),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let now = Instant::now();
        let server = CurveKeyPair::generate();
        let mut client = session(SocketType::Push, Box::new(CurveClient::new(server.public, CurveKeyPair::generate())), now);
        let mut serv = session(SocketType::Pull, Box::new(CurveServer::new(server)), now);
        // the client's side of the conversation, fed to the server in arbitrary pieces
        let mut got = Vec::new();
        for _round in 0..6 {
            let mut to_server = BytesMut::new();
            client.poll_transmit(&mut to_server);
            if client.peer().is_some() {
                for m in &msgs {
                    client.encode_message(&Multipart::from(vec![Bytes::from(m.clone())]), &mut to_server);
                }
            }
            let wire = to_server.freeze();
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
            points.push(wire.len());
            points.sort_unstable();
            let mut buf = BytesMut::new();
            let mut at = 0;
            for p in points {
                buf.extend_from_slice(&wire[at..p]);
                at = p;
                prop_assert!(serv.handle_input(&mut buf, now, &mut got).is_ok(), "{:?}", serv.close_reason());
                while let Some(e) = serv.poll_event() {
                    if let Event::Authenticate(_) = e {
                        serv.authenticated(Verdict::allow(), now);
                        prop_assert!(serv.handle_input(&mut buf, now, &mut got).is_ok());
                    }
                }
            }
            let mut to_client = BytesMut::new();
            serv.poll_transmit(&mut to_client);
            prop_assert!(client.handle_input(&mut to_client, now, &mut Vec::new()).is_ok());
            if !got.is_empty() {
                break;
            }
        }
        let expected: Vec<Multipart> = msgs.iter().map(|m| Multipart::from(vec![Bytes::from(m.clone())])).collect();
        prop_assert_eq!(got, expected);
    }

    /// Whatever follows a CURVE greeting, the server closes or waits; it never panics, and
    /// what it buffers stays within the handshake's command limit.
    #[test]
    fn garbage_after_a_curve_greeting_never_panics(garbage in proptest::collection::vec(any::<u8>(), 0..600)) {
        let now = Instant::now();
        let mut s = session(SocketType::Pull, Box::new(CurveServer::new(CurveKeyPair::generate())), now);
        let mut buf = BytesMut::from(
            &super::Greeting { major: 3, minor: 1, mechanism: "CURVE".into(), as_server: false }.encode()[..],
        );
        buf.extend_from_slice(&garbage);
        let _ = s.handle_input(&mut buf, now, &mut Vec::new());
        prop_assert!(buf.len() <= 9 + super::MAX_HANDSHAKE_COMMAND_SIZE as usize);
        let mut plain = session(SocketType::Pull, Box::new(PlainServer::new()), now);
        let mut buf = BytesMut::from(
            &super::Greeting { major: 3, minor: 1, mechanism: "PLAIN".into(), as_server: false }.encode()[..],
        );
        buf.extend_from_slice(&garbage);
        let _ = plain.handle_input(&mut buf, now, &mut Vec::new());
    }
}

#[test]
fn crypto_errors_name_curve() {
    let e = ProtocolError::Crypto("x".into());
    assert_eq!(e.to_string(), "CURVE: x");
}

#[test]
fn a_client_key_of_small_order_is_refused() {
    let now = Instant::now();
    let mut s = session(
        SocketType::Pull,
        Box::new(CurveServer::new(CurveKeyPair::generate())),
        now,
    );
    let mut wire = BytesMut::from(
        &super::Greeting {
            major: 3,
            minor: 1,
            mechanism: "CURVE".into(),
            as_server: false,
        }
        .encode()[..],
    );
    // HELLO: version 1.0, padding, C' = 0 (small order), nonce, a box
    let mut body = b"\x05HELLO\x01\x00".to_vec();
    body.resize(8 + 72 + 32 + 8 + 80, 0);
    wire.extend_from_slice(&[0x04, body.len() as u8]);
    wire.extend_from_slice(&body);
    assert!(s.handle_input(&mut wire, now, &mut Vec::new()).is_err());
    assert!(closed(&s).contains("small order"), "{}", closed(&s));
}

#[test]
fn a_plain_client_says_nothing_of_its_password_before_the_peer_greets_with_plain() {
    let now = Instant::now();
    let mut c = session(
        SocketType::Push,
        Box::new(PlainClient::new("admin", "hunter2")),
        now,
    );
    let mut out = BytesMut::new();
    c.poll_transmit(&mut out);
    assert_eq!(out.len(), 64, "only our greeting");
    // a NULL peer: refused, and it never sees the password
    let mut null = BytesMut::from(&super::Greeting::null().encode()[..]);
    let _ = c.handle_input(&mut null, now, &mut Vec::new());
    out.clear();
    c.poll_transmit(&mut out);
    assert!(!out.windows(7).any(|w| w == b"hunter2"));
    assert!(closed(&c).contains("mechanism mismatch"), "{}", closed(&c));
}

#[test]
fn a_temporary_failure_hangs_up_without_error() {
    let now = Instant::now();
    let (mut p, _, _) = Pair::curve(now);
    p.judge = |_| Verdict::Deny {
        status: 300,
        reason: "try later".into(),
    };
    p.pump(now);
    assert!(matches!(
        p.server.close_reason(),
        Some(CloseReason::Unauthorized { status: 300, .. })
    ));
    // the client heard no ERROR: it is still waiting for READY
    assert!(p.client.close_reason().is_none());
}

#[test]
fn an_incompatible_peer_gets_the_error_and_no_ready() {
    let now = Instant::now();
    let mut c = session(SocketType::Push, Box::new(PlainClient::new("u", "p")), now);
    let mut s = session(SocketType::Push, Box::new(PlainServer::new()), now);
    let (mut to_s, mut to_c) = (BytesMut::new(), BytesMut::new());
    let mut server_said = Vec::new();
    for _ in 0..6 {
        c.poll_transmit(&mut to_s);
        let _ = s.handle_input(&mut to_s, now, &mut Vec::new());
        while let Some(e) = s.poll_event() {
            if let Event::Authenticate(_) = e {
                s.authenticated(Verdict::allow(), now);
                let _ = s.handle_input(&mut to_s, now, &mut Vec::new());
            }
        }
        s.poll_transmit(&mut to_c);
        server_said.extend_from_slice(&to_c);
        let _ = c.handle_input(&mut to_c, now, &mut Vec::new());
    }
    assert!(
        closed(&s).contains("incompatible socket types"),
        "{}",
        closed(&s)
    );
    assert!(!server_said.windows(6).any(|w| w == b"\x05READY"));
    assert!(server_said.windows(5).any(|w| w == b"\x5eRROR"));
}
