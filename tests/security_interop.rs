//! PLAIN and CURVE against real libzmq (pyzmq's bundled libzmq has CURVE, which the `zmq`
//! crate's build may not): our client with a libzmq server and a libzmq client with our
//! server, in both mechanisms; a wrong server key, an unknown client key and a wrong password
//! are each refused, with the reason on our side. Needs `pip install pyzmq`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use actormq::security::{write_certificate, Auth, CurveKeyPair};
use actormq::{Multipart, Socket, SocketEvent, SocketOptions, SocketType};
use common::*;

const PEER: &str = "tests/python/security_peer.py";

/// A pyzmq server; killed (by closing its stdin) when dropped.
struct PyServer {
    child: Child,
    endpoint: String,
}

impl PyServer {
    fn start(args: &[&str]) -> PyServer {
        let mut child = Command::new("python3")
            .arg(PEER)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with pyzmq (pip install pyzmq)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let endpoint = line
            .strip_prefix("bound ")
            .unwrap_or_else(|| panic!("the python server said {line:?}"))
            .trim()
            .to_string();
        PyServer { child, endpoint }
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a pyzmq client to completion: (exit status 0?, its one line).
async fn py_client(args: Vec<String>) -> (bool, String) {
    tokio::task::spawn_blocking(move || {
        let out = Command::new("python3")
            .arg(PEER)
            .args(&args)
            .stderr(Stdio::inherit())
            .output()
            .expect("python3 with pyzmq");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )
    })
    .await
    .unwrap()
}

/// Our REQ with `opts` asks `ep`: the reply within `ms`, and the reason of the first
/// disconnection if there is no reply.
async fn our_client(opts: SocketOptions, ep: &str, ms: u64) -> Result<Multipart, String> {
    let req = Socket::with_options(SocketType::Req, opts.linger(Some(Duration::ZERO))).unwrap();
    let mut monitor = req.monitor();
    req.connect(ep).await.unwrap();
    req.send("hello").await.unwrap();
    match recv_within(&req, ms).await {
        Some(reply) => Ok(reply),
        None => Err(
            tokio::time::timeout(Duration::from_secs(5), disconnect_reason(&mut monitor))
                .await
                .unwrap_or_else(|_| "no disconnection either".into()),
        ),
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("actormq-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn our_curve_client_with_a_libzmq_server_that_checks_client_certificates() {
    run(60, async {
        let server = CurveKeyPair::generate();
        let client = CurveKeyPair::generate();
        // libzmq reads our certificate format (zmq.auth.load_certificates)
        let certs = temp_dir("py-certs");
        write_certificate(certs.join("client"), &client).unwrap();
        // only the public one goes to the server, named as pyzmq's loader wants (`*.key`)
        std::fs::rename(certs.join("client.pub"), certs.join("client.key")).unwrap();
        std::fs::remove_file(certs.join("client")).unwrap();
        let py = PyServer::start(&[
            "curve-server",
            "tcp://127.0.0.1:*",
            server.secret.to_z85().as_str(),
            certs.to_str().unwrap(),
        ]);
        let opts = SocketOptions::default().curve_client(server.public, client.clone());
        let reply = our_client(opts, &py.endpoint, 10_000).await.unwrap();
        assert_eq!(
            reply,
            Multipart::from(["hello".to_string(), client.public.to_z85()])
        );
        // an unknown client key: libzmq's authenticator refuses it, and we hear its 400
        let stranger =
            SocketOptions::default().curve_client(server.public, CurveKeyPair::generate());
        let why = our_client(stranger, &py.endpoint, 1000).await.unwrap_err();
        assert!(why.contains("400"), "{why}");
        // the wrong server key: libzmq cannot open our HELLO and hangs up
        let wrong = SocketOptions::default().curve_client(CurveKeyPair::generate().public, client);
        let why = our_client(wrong, &py.endpoint, 1000).await.unwrap_err();
        assert!(
            why.contains("its public key is not our curve_serverkey"),
            "{why}"
        );
        drop(py);
        std::fs::remove_dir_all(&certs).unwrap();
    });
}

#[test]
fn a_libzmq_curve_client_with_echo_server() {
    run(60, async {
        let server = CurveKeyPair::generate();
        let client = CurveKeyPair::generate();
        let opts = SocketOptions::default()
            .curve_server(server.clone())
            .auth(Auth::new().curve_key(client.public));
        let (rep, ep) = echo_server(opts).await;
        let mut monitor = rep.monitor();
        let (ok, line) = py_client(vec![
            "curve-client".into(),
            ep.clone(),
            server.public.to_z85(),
            client.secret.to_z85().to_string(),
        ])
        .await;
        assert!(ok, "{line}");
        let frames: Vec<String> = serde_json::from_str(&line).unwrap();
        assert_eq!(frames, ["hello".to_string(), client.public.to_z85()]);
        // an unknown key: refused with the reason here, and libzmq's monitor sees status 400
        let (ok, line) = py_client(vec![
            "curve-client".into(),
            ep.clone(),
            server.public.to_z85(),
            CurveKeyPair::generate().secret.to_z85().to_string(),
        ])
        .await;
        assert!(!ok);
        assert_eq!(line, "failed auth 400");
        loop {
            if let SocketEvent::AuthenticationFailed {
                reason, mechanism, ..
            } = monitor.recv().await.unwrap()
            {
                assert_eq!(mechanism, "CURVE");
                assert!(reason.contains("is not allowed"), "{reason}");
                break;
            }
        }
        // the wrong server key: we cannot open its HELLO, and say so
        let (ok, _) = py_client(vec![
            "curve-client".into(),
            ep.clone(),
            CurveKeyPair::generate().public.to_z85(),
            client.secret.to_z85().to_string(),
        ])
        .await;
        assert!(!ok);
        loop {
            let why = disconnect_reason(&mut monitor).await;
            if why.contains("HELLO box does not open") {
                break;
            }
            assert!(why.contains("is not allowed"), "{why}"); // the unknown key's, before
        }
    });
}

#[test]
fn plain_with_libzmq_both_ways() {
    run(60, async {
        // our client, libzmq's server
        let py = PyServer::start(&["plain-server", "tcp://127.0.0.1:*", "admin", "secret"]);
        let reply = our_client(
            SocketOptions::default().plain_client("admin", "secret"),
            &py.endpoint,
            10_000,
        )
        .await
        .unwrap();
        assert_eq!(reply, Multipart::from(["hello", "admin"]));
        let why = our_client(
            SocketOptions::default().plain_client("admin", "guess"),
            &py.endpoint,
            1000,
        )
        .await
        .unwrap_err();
        assert!(why.contains("400"), "{why}");
        drop(py);
        // libzmq's client, our server
        let opts = SocketOptions::default()
            .plain_server(true)
            .auth(Auth::new().plain_user("admin", "secret"));
        let (rep, ep) = echo_server(opts).await;
        let mut monitor = rep.monitor();
        let (ok, line) = py_client(vec![
            "plain-client".into(),
            ep.clone(),
            "admin".into(),
            "secret".into(),
        ])
        .await;
        assert!(ok, "{line}");
        assert_eq!(line, r#"["hello", "admin"]"#);
        let (ok, line) = py_client(vec![
            "plain-client".into(),
            ep.clone(),
            "admin".into(),
            "guess".into(),
        ])
        .await;
        assert!(!ok);
        assert_eq!(line, "failed auth 400");
        loop {
            if let SocketEvent::AuthenticationFailed { reason, .. } = monitor.recv().await.unwrap()
            {
                assert!(reason.contains("wrong password"), "{reason}");
                break;
            }
        }
    });
}
