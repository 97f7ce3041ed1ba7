//! `actormq keygen` and the PLAIN/CURVE flags, run as a user runs them: the exact keygen
//! contract, an encrypted REQ/REP with an allow-list, an authenticated PUB/SUB with the secret
//! from the environment, PLAIN with a password file, refusals reported on stderr while the
//! command goes on, and `bench --curve`.
#![allow(clippy::unwrap_used)] // a failed step is a failed test

mod common;

use std::path::{Path, PathBuf};

use actormq::security::{read_public_key, read_secret_key, CurveKeyPair, CurvePublicKey};
use common::*;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("actormq-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn keygen_to(path: &Path) -> CurveKeyPair {
    let out = run_with(&["keygen", "--out", path.to_str().unwrap()], "");
    assert!(out.status.success(), "{out:?}");
    read_secret_key(path).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn keygen_prints_a_public_then_a_secret_key_and_nothing_else() {
    let out = run_with(&["keygen"], "");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text:?}");
    assert!(lines.iter().all(|l| l.len() == 40), "{text:?}");
    let keys = CurveKeyPair::from_secret_z85(lines[1]).unwrap();
    assert_eq!(keys.public, CurvePublicKey::from_z85(lines[0]).unwrap());
    // a new pair each time
    let again = run_with(&["keygen"], "");
    assert_ne!(again.stdout, text.as_bytes());
}

#[test]
fn keygen_out_writes_a_secret_certificate_0600_and_a_public_one() {
    let dir = temp_dir("keygen");
    let keys = keygen_to(&dir.join("server"));
    assert_eq!(
        read_public_key(dir.join("server.pub")).unwrap(),
        keys.public
    );
    let public_text = std::fs::read_to_string(dir.join("server.pub")).unwrap();
    assert!(!public_text.contains("secret-key"), "{public_text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("server"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn curve_req_rep_with_an_allow_list_refuses_a_stranger_and_serves_the_known() {
    let dir = temp_dir("curve");
    let server = keygen_to(&dir.join("server"));
    keygen_to(&dir.join("client"));
    let allowed = dir.join("allowed");
    std::fs::create_dir(&allowed).unwrap();
    std::fs::copy(dir.join("client.pub"), allowed.join("client.pub")).unwrap();
    let rep = spawn(&[
        "rep",
        "--bind",
        "tcp://127.0.0.1:0",
        "--echo",
        "--count",
        "1",
        "--curve-server",
        "--curve-secret-file",
        s(&dir.join("server")),
        "--curve-allow",
        s(&allowed),
    ]);
    let ep = rep.bound();
    let z85 = server.public.to_z85();
    // a stranger (a fresh key): refused, says so, exits 2 at its timeout
    let out = run_with(
        &[
            "req",
            "--connect",
            &ep,
            "--curve-serverkey",
            &z85,
            "--timeout-ms",
            "1500",
        ],
        "\"hi\"\n",
    );
    assert_eq!(out.status.code(), Some(2));
    let theirs = String::from_utf8_lossy(&out.stderr);
    assert!(theirs.contains("400"), "{theirs}");
    // the known client: answered
    let out = run_with(
        &[
            "req",
            "--connect",
            &ep,
            "--curve-serverkey",
            &z85,
            "--curve-secret-file",
            s(&dir.join("client")),
            "--timeout-ms",
            "10000",
        ],
        "\"hi\"\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "\"hi\"\n");
    let (code, _, stderr) = rep.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("refused") && stderr.contains("is not allowed"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn curve_pub_sub_with_the_secret_from_the_environment() {
    let server = CurveKeyPair::generate();
    let mut sub = actormq();
    sub.args([
        "sub",
        "--bind",
        "tcp://127.0.0.1:0",
        "--count",
        "1",
        "--curve-server",
    ])
    .env("ACTORMQ_CURVE_SECRET", server.secret.to_z85().as_str());
    let sub = spawn_command(sub);
    let ep = sub.bound();
    let out = run_with(
        &[
            "pub",
            "--connect",
            &ep,
            "--topic",
            "news",
            "--wait-subscribers",
            "1",
            "--curve-serverkey",
            &server.public.to_z85(),
            "--timeout-ms",
            "10000",
        ],
        "{\"n\":1}\n",
    );
    assert!(out.status.success(), "{out:?}");
    let (code, stdout, stderr) = sub.finish();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "news\t{\"n\":1}\n");
}

#[test]
fn plain_users_from_a_password_file() {
    let dir = temp_dir("plain");
    std::fs::write(dir.join("passwords"), "# users\nadmin=secret\n").unwrap();
    std::fs::write(dir.join("good"), "secret\n").unwrap();
    std::fs::write(dir.join("bad"), "guess\n").unwrap();
    let rep = spawn(&[
        "rep",
        "--bind",
        "tcp://127.0.0.1:0",
        "--echo",
        "--count",
        "1",
        "--plain-server",
        "--plain-passwords",
        s(&dir.join("passwords")),
    ]);
    let ep = rep.bound();
    let ask = |file: &str, timeout: &str| {
        run_with(
            &[
                "req",
                "--connect",
                &ep,
                "--plain-user",
                "admin",
                "--plain-password-file",
                s(&dir.join(file)),
                "--timeout-ms",
                timeout,
            ],
            "\"hi\"\n",
        )
    };
    assert_eq!(ask("bad", "1500").status.code(), Some(2));
    let out = ask("good", "10000");
    assert!(out.status.success(), "{out:?}");
    let (code, _, stderr) = rep.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("wrong password for user \"admin\""),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_server_key_that_starts_with_a_hyphen_is_a_value() {
    // Z85 has `-` in its alphabet: one key in 85 starts with it
    let key = loop {
        let k = CurveKeyPair::generate();
        if k.public.to_z85().starts_with('-') {
            break k;
        }
    };
    let out = run_with(
        &[
            "req",
            "--connect",
            "tcp://127.0.0.1:1",
            "--curve-serverkey",
            &key.public.to_z85(),
            "--timeout-ms",
            "200",
        ],
        "",
    );
    // it parsed: the request had nothing to send and nobody to reach, and ended
    assert_ne!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn a_secret_is_never_taken_from_the_command_line() {
    // there is no flag for one: clap refuses it
    let out = run_with(
        &["rep", "--bind", "tcp://127.0.0.1:0", "--curve-secret", "x"],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    // a server without its secret says what is missing
    let out = run_with(
        &["rep", "--bind", "tcp://127.0.0.1:0", "--curve-server"],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("secret key"));
}

#[test]
fn bench_measures_curve_and_plain() {
    for flag in ["--curve", "--plain"] {
        for kind in ["throughput", "latency"] {
            let out = run_with(&["bench", kind, "--count", "2000", flag], "");
            assert!(out.status.success(), "{out:?}");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains(&flag[2..].to_uppercase()), "{text}");
        }
    }
}

#[test]
fn a_proxy_with_a_curve_frontend_and_a_plain_backend() {
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (front, back) = (free(), free());
    let server = CurveKeyPair::generate();
    let mut proxy = actormq();
    proxy
        .args([
            "proxy",
            &format!("--frontend=router=@tcp://127.0.0.1:{front}"),
            &format!("--backend=dealer=@tcp://127.0.0.1:{back}"),
            "--curve-server",
        ])
        .env("ACTORMQ_CURVE_SECRET", server.secret.to_z85().as_str());
    let proxy = spawn_command(proxy);
    let worker = spawn(&[
        "rep",
        "--connect",
        &format!("tcp://127.0.0.1:{back}"),
        "--echo",
        "--count",
        "1",
    ]);
    let out = run_with(
        &[
            "req",
            "--connect",
            &format!("tcp://127.0.0.1:{front}"),
            "--curve-serverkey",
            &server.public.to_z85(),
            "--timeout-ms",
            "10000",
        ],
        "\"through\"\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "\"through\"\n");
    // a NULL client at the frontend is refused, and the proxy says so
    let out = run_with(
        &[
            "req",
            "--connect",
            &format!("tcp://127.0.0.1:{front}"),
            "--timeout-ms",
            "1000",
        ],
        "\"x\"\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(worker.finish().0, 0);
    let mut proxy = proxy;
    let _ = proxy.child.kill();
    let _ = proxy.child.wait();
    let stderr = proxy.stderr.lock().unwrap().clone();
    assert!(stderr.contains("mechanism mismatch"), "{stderr}");
}
