//! PLAIN and CURVE between actormq sockets, and the authenticator: who gets in, who is refused
//! and why, what the application learns of a peer. (Interop with libzmq: `security_interop.rs`.)

mod common;

use std::time::Duration;

use actormq::security::{Auth, AuthRequest, Credentials, CurveKeyPair, Verdict};
use actormq::{Multipart, Socket, SocketEvent, SocketOptions, SocketType};
use common::*;
use tokio::sync::broadcast;

/// The next `AuthenticationFailed` reason on a monitor.
async fn auth_failure(monitor: &mut broadcast::Receiver<SocketEvent>) -> String {
    loop {
        if let SocketEvent::AuthenticationFailed { reason, .. } = monitor.recv().await.unwrap() {
            return reason;
        }
    }
}

/// A REQ with `opts` asks `ep` once; the reply, or None within `ms`.
async fn ask(opts: SocketOptions, ep: &str, ms: u64) -> (Option<Multipart>, Socket) {
    let req = Socket::with_options(SocketType::Req, opts.linger(Some(Duration::ZERO))).unwrap();
    req.connect(ep).await.unwrap();
    req.send("ping").await.unwrap();
    (recv_within(&req, ms).await, req)
}

#[test]
fn curve_req_rep_with_the_client_key_as_user_id() {
    run(20, async {
        let server = CurveKeyPair::generate();
        let client = CurveKeyPair::generate();
        let (_rep, ep) = echo_server(SocketOptions::default().curve_server(server.clone())).await;
        let opts = SocketOptions::default().curve_client(server.public, client.clone());
        let (reply, _req) = ask(opts, &ep, 5000).await;
        let reply = reply.expect("a reply over CURVE");
        assert_eq!(reply.frames()[0], "ping");
        // no authenticator: any client that proves its key gets in, known by it
        assert_eq!(text(&reply.frames()[1]), client.public.to_z85());
    });
}

#[test]
fn curve_carries_large_multipart_messages_and_subscriptions() {
    run(30, async {
        let server = CurveKeyPair::generate();
        let publisher = Socket::with_options(
            SocketType::Pub,
            SocketOptions::default().curve_server(server.clone()),
        )
        .unwrap();
        let ep = publisher.bind("tcp://127.0.0.1:0").await.unwrap();
        let sub = Socket::with_options(
            SocketType::Sub,
            SocketOptions::default().curve_client(server.public, CurveKeyPair::generate()),
        )
        .unwrap();
        sub.connect(&ep).await.unwrap();
        sub.subscribe("big").await.unwrap();
        sync_subscription(&publisher, &sub, "big").await;
        let body = vec![0xa5u8; 4 << 20];
        // a topic not subscribed to is filtered at the publisher, then the big one
        publisher
            .send(["other".to_string(), "x".into()])
            .await
            .unwrap();
        publisher
            .send(Multipart::from(vec![
                bytes::Bytes::from_static(b"big"),
                bytes::Bytes::from(body.clone()),
                bytes::Bytes::new(),
            ]))
            .await
            .unwrap();
        let got = loop {
            let m = recv_within(&sub, 10_000).await.expect("the big message");
            if m.frames().get(1).is_some_and(|f| f == "probe") {
                continue;
            }
            break m;
        };
        assert_eq!(got.len(), 3);
        assert_eq!(got.frames()[0], "big");
        assert_eq!(&got.frames()[1][..], &body[..]);
        assert!(got.frames()[2].is_empty());
    });
}

#[test]
fn a_client_with_the_wrong_server_key_is_refused_and_the_server_says_why() {
    run(20, async {
        let server = CurveKeyPair::generate();
        let (rep, ep) = echo_server(SocketOptions::default().curve_server(server.clone())).await;
        let mut monitor = rep.monitor();
        let impostor = CurveKeyPair::generate().public;
        let opts = SocketOptions::default().curve_client(impostor, CurveKeyPair::generate());
        let (reply, _req) = ask(opts, &ep, 500).await;
        assert!(reply.is_none());
        let reason = disconnect_reason(&mut monitor).await;
        assert!(reason.contains("HELLO box does not open"), "{reason}");
        // the server goes on with a good client
        let good = SocketOptions::default().curve_client(server.public, CurveKeyPair::generate());
        assert!(ask(good, &ep, 5000).await.0.is_some());
    });
}

#[test]
fn the_authenticator_refuses_an_unknown_client_key_and_the_client_learns_400() {
    run(20, async {
        let server = CurveKeyPair::generate();
        let known = CurveKeyPair::generate();
        let opts = SocketOptions::default()
            .curve_server(server.clone())
            .auth(Auth::new().curve_key(known.public));
        let (rep, ep) = echo_server(opts).await;
        let mut monitor = rep.monitor();
        let stranger =
            SocketOptions::default().curve_client(server.public, CurveKeyPair::generate());
        let (reply, req) = ask(stranger, &ep, 300).await;
        let mut client_monitor = req.monitor();
        assert!(reply.is_none());
        let reason = auth_failure(&mut monitor).await;
        assert!(reason.contains("is not allowed"), "{reason}");
        // the client keeps retrying; each attempt ends with the server's 400
        let theirs = disconnect_reason(&mut client_monitor).await;
        assert!(theirs.contains("400"), "{theirs}");
        let (reply, _) = ask(
            SocketOptions::default().curve_client(server.public, known.clone()),
            &ep,
            5000,
        )
        .await;
        assert_eq!(text(&reply.unwrap().frames()[1]), known.public.to_z85());
    });
}

#[test]
fn plain_passwords_are_checked_and_the_user_name_is_the_user_id() {
    run(20, async {
        let opts = SocketOptions::default()
            .plain_server(true)
            .auth(Auth::new().plain_user("admin", "secret"));
        let (rep, ep) = echo_server(opts).await;
        let mut monitor = rep.monitor();
        let (reply, _) = ask(
            SocketOptions::default().plain_client("admin", "secret"),
            &ep,
            5000,
        )
        .await;
        assert_eq!(text(&reply.unwrap().frames()[1]), "admin");
        let (reply, _) = ask(
            SocketOptions::default().plain_client("admin", "guess"),
            &ep,
            300,
        )
        .await;
        assert!(reply.is_none());
        let reason = auth_failure(&mut monitor).await;
        assert!(reason.contains("wrong password"), "{reason}");
    });
}

#[test]
fn a_callback_authenticator_names_the_user_and_may_refuse_by_address() {
    run(20, async {
        let callback = |req: AuthRequest| async move {
            tokio::time::sleep(Duration::from_millis(5)).await; // it may take its time
            match (&req.credentials, req.ip()) {
                (Credentials::Plain { username, .. }, Some(ip)) if ip.is_loopback() => {
                    Verdict::Allow {
                        user_id: Some(format!("{username}@local")),
                    }
                }
                _ => Verdict::deny("not from here"),
            }
        };
        let opts = SocketOptions::default()
            .plain_server(true)
            .authenticator(callback);
        let (_rep, ep) = echo_server(opts).await;
        let (reply, _) = ask(SocketOptions::default().plain_client("ann", "x"), &ep, 5000).await;
        assert_eq!(text(&reply.unwrap().frames()[1]), "ann@local");
    });
}

#[test]
fn null_sockets_can_be_filtered_by_address() {
    run(20, async {
        let opts = SocketOptions::default().auth(Auth::new().deny("127.0.0.1"));
        let (rep, ep) = echo_server(opts).await;
        let mut monitor = rep.monitor();
        let (reply, _) = ask(SocketOptions::default(), &ep, 300).await;
        assert!(reply.is_none());
        assert!(auth_failure(&mut monitor)
            .await
            .contains("127.0.0.1 is denied"));
        // allowed, it works, with no user id
        let opts = SocketOptions::default().auth(Auth::new().allow("127.0.0.1"));
        let (_rep, ep) = echo_server(opts).await;
        let (reply, _) = ask(SocketOptions::default(), &ep, 5000).await;
        assert_eq!(text(&reply.unwrap().frames()[1]), "-");
    });
}

#[test]
fn a_null_client_of_a_curve_server_is_refused_with_a_mechanism_mismatch() {
    run(20, async {
        let (rep, ep) =
            echo_server(SocketOptions::default().curve_server(CurveKeyPair::generate())).await;
        let mut monitor = rep.monitor();
        let (reply, _) = ask(SocketOptions::default(), &ep, 300).await;
        assert!(reply.is_none());
        let reason = disconnect_reason(&mut monitor).await;
        assert!(reason.contains("mechanism mismatch"), "{reason}");
        assert!(reason.contains("\"CURVE\""), "{reason}");
    });
}

#[test]
fn a_domain_authenticator_serves_every_socket_of_its_domain() {
    run(20, async {
        actormq::security::install("test-domain", Auth::new().plain_user("u", "p"));
        let opts = SocketOptions::default()
            .plain_server(true)
            .zap_domain("test-domain");
        let (_rep, ep) = echo_server(opts).await;
        let (reply, _) = ask(SocketOptions::default().plain_client("u", "p"), &ep, 5000).await;
        assert_eq!(text(&reply.unwrap().frames()[1]), "u");
        let (reply, _) = ask(SocketOptions::default().plain_client("u", "q"), &ep, 300).await;
        assert!(reply.is_none());
        actormq::security::uninstall("test-domain");
    });
}

#[test]
fn security_options_by_name_read_secrets_from_files_and_the_environment() {
    let dir = std::env::temp_dir().join(format!("actormq-secopts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let keys = CurveKeyPair::generate();
    actormq::security::write_certificate(dir.join("server"), &keys).unwrap();
    let mut o = SocketOptions::default();
    o.set("curve_server", "true").unwrap();
    o.set("curve_secretkey_file", dir.join("server").to_str().unwrap())
        .unwrap();
    assert_eq!(o.curve_keys.as_ref().unwrap().public, keys.public);
    assert!(o.validate().is_ok());
    std::env::set_var("ACTORMQ_TEST_SECRET", keys.secret.to_z85().as_str());
    let mut o = SocketOptions::default();
    o.set("curve_secretkey_env", "ACTORMQ_TEST_SECRET").unwrap();
    o.set("curve_serverkey", &keys.public.to_z85()).unwrap();
    assert_eq!(o.curve_keys.as_ref().unwrap().public, keys.public);
    // a server without its key, or both roles, is refused
    let mut o = SocketOptions::default();
    o.set("curve_server", "true").unwrap();
    assert!(o.validate().unwrap_err().to_string().contains("secret key"));
    assert!(SocketOptions::default()
        .set("curve_serverkey", "not a key")
        .is_err());
    // the debug form never shows a secret
    let shown = format!(
        "{:?}",
        SocketOptions::default().plain_client("u", "hunter2")
    );
    assert!(!shown.contains("hunter2"), "{shown}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- the derives: options(...) in the attribute, secrets from the environment ----

#[derive(serde::Serialize, serde::Deserialize, actormq::Topic, Debug, Clone, PartialEq)]
#[topic = "secure.reading"]
struct Reading {
    n: u32,
}

#[derive(actormq::Publisher)]
#[publish(
    Reading,
    bind = "tcp://127.0.0.1:1",
    on_start = "feed",
    options(
        curve_server = true,
        curve_secretkey_env = "ACTORMQ_TEST_FEED_SECRET",
        sndhwm = 100
    )
)]
struct SecureFeed {
    out: actormq::typed::Outlet<Reading>,
}

impl SecureFeed {
    fn feed(&mut self, ctx: &mut actix::Context<Self>) {
        use actix::AsyncContext;
        ctx.run_interval(Duration::from_millis(5), |act, _ctx| {
            if let Some(p) = act.out.publisher() {
                actix::spawn(async move {
                    let _ = p.publish(&Reading { n: 7 }).await;
                });
            }
        });
    }
}

#[derive(actormq::Subscriber)]
#[subscribe(
    Reading,
    connect = "tcp://127.0.0.1:1",
    options(curve_secretkey_env = "ACTORMQ_TEST_READER_SECRET")
)]
struct SecureReader {
    tx: tokio::sync::mpsc::UnboundedSender<u32>,
}

impl actix::Handler<actormq::Received<Reading>> for SecureReader {
    type Result = ();
    fn handle(&mut self, msg: actormq::Received<Reading>, _ctx: &mut Self::Context) {
        if let Ok(r) = msg.value {
            let _ = self.tx.send(r.n);
        }
    }
}

#[test]
fn derived_actors_take_security_options_and_their_secrets_from_the_environment() {
    use actix::Actor;
    let server = CurveKeyPair::generate();
    let reader = CurveKeyPair::generate();
    let port = free_port();
    std::env::set_var("ACTORMQ_TEST_FEED_SECRET", server.secret.to_z85().as_str());
    std::env::set_var(
        "ACTORMQ_TEST_READER_SECRET",
        reader.secret.to_z85().as_str(),
    );
    std::env::set_var(
        "ACTORMQ__SECUREFEED__ENDPOINTS",
        format!("@tcp://127.0.0.1:{port}"),
    );
    std::env::set_var(
        "ACTORMQ__SECUREREADER__ENDPOINTS",
        format!(">tcp://127.0.0.1:{port}"),
    );
    // the server's public key is no secret: given at run time through the environment
    std::env::set_var(
        "ACTORMQ__SECUREREADER__OPTIONS",
        format!("curve_serverkey={}", server.public.to_z85()),
    );
    run(20, async {
        SecureFeed {
            out: actormq::typed::Outlet::default(),
        }
        .start();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        SecureReader { tx }.start();
        assert_eq!(rx.recv().await.unwrap(), 7);
    });
}

#[test]
fn hostile_raw_peers_close_only_their_own_connection() {
    use tokio::io::AsyncWriteExt;
    run(20, async {
        let server = CurveKeyPair::generate();
        let opts = SocketOptions::default()
            .curve_server(server.clone())
            .handshake_ivl(Duration::from_millis(300));
        let (rep, ep) = echo_server(opts).await;
        let mut monitor = rep.monitor();
        let addr = ep.trim_start_matches("tcp://").to_string();
        let mut greeting = [0u8; 64];
        greeting[0] = 0xff;
        greeting[9] = 0x7f;
        greeting[10] = 3;
        greeting[11] = 1;
        greeting[12..17].copy_from_slice(b"CURVE");
        // a HELLO of the wrong length
        let mut short = tokio::net::TcpStream::connect(&addr).await.unwrap();
        short.write_all(&greeting).await.unwrap();
        let mut hello = vec![0x04, 100, 5];
        hello.extend_from_slice(b"HELLO");
        hello.resize(2 + 100, 0);
        short.write_all(&hello).await.unwrap();
        let reason = disconnect_reason(&mut monitor).await;
        assert!(reason.contains("not 194"), "{reason}");
        // a peer that stalls after its greeting: closed at handshake_ivl
        let mut stall = tokio::net::TcpStream::connect(&addr).await.unwrap();
        stall.write_all(&greeting).await.unwrap();
        let reason = disconnect_reason(&mut monitor).await;
        assert!(reason.contains("handshake not completed"), "{reason}");
        // meanwhile a real client is served
        let good = SocketOptions::default().curve_client(server.public, CurveKeyPair::generate());
        assert!(ask(good, &ep, 5000).await.0.is_some());
        drop((short, stall));
    });
}
