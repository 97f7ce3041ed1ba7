//! `actormq stream`: plain TCP with peers that know nothing of ZeroMQ (std sockets and
//! Python's `socket`), with the contract scripts depend on.
#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;

mod common;

use common::*;

/// A plain echo server on a thread: echoes one client until it shuts its side, then closes.
fn std_echo_server() -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    let srv = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = srv.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut c, _) = srv.accept().unwrap();
        let (mut seen, mut buf) = (Vec::new(), [0u8; 4096]);
        loop {
            let n = c.read(&mut buf).unwrap();
            if n == 0 {
                return seen;
            }
            seen.extend_from_slice(&buf[..n]);
            c.write_all(&buf[..n]).unwrap();
        }
    });
    (port, server)
}

#[test]
fn stream_connect_is_like_nc_lines_out_bytes_in_half_close_at_end_of_stdin() {
    let (port, server) = std_echo_server();
    let out = run_with(
        &["stream", "--connect", &format!("tcp://127.0.0.1:{port}")],
        "one\ntwo\nno newline",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"one\ntwo\nno newline");
    assert_eq!(server.join().unwrap(), b"one\ntwo\nno newline");
}

#[test]
fn stream_connect_exits_after_count_lines_and_at_timeout_with_2() {
    let srv = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = srv.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        // two lines and a half, then silence with the connection open
        let (mut c, _) = srv.accept().unwrap();
        c.write_all(b"a\nb\nc").unwrap();
        let (mut c2, _) = srv.accept().unwrap();
        c2.write_all(b"partial").unwrap();
        std::thread::sleep(std::time::Duration::from_secs(3));
    });
    let ep = format!("tcp://127.0.0.1:{port}");
    let mut counted = spawn(&["stream", "--connect", &ep, "--count", "2"]);
    let _stdin_open = counted.child.stdin.take();
    let (code, out, err) = counted.finish();
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("a\nb\n"), "{out:?}");
    let mut timed = spawn(&["stream", "--connect", &ep, "--timeout-ms", "500"]);
    let _stdin_open = timed.child.stdin.take();
    let (code, out, err) = timed.finish();
    assert_eq!(code, 2, "{err}");
    assert_eq!(out, "partial");
    server.join().unwrap();
    let refused = run_with(
        &[
            "stream",
            "--connect",
            &format!("tcp://127.0.0.1:{}", free_port()),
        ],
        "",
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("cannot connect"));
}

#[test]
fn stream_echo_server_serves_plain_clients_and_counts_them() {
    let port = free_port();
    let ep = format!("tcp://127.0.0.1:{port}");
    let server = spawn(&["stream", "--bind", &ep, "--echo", "--count", "3"]);
    let mut connected = None;
    for _ in 0..100 {
        if let Ok(c) = TcpStream::connect(("127.0.0.1", port)) {
            connected = Some(c);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // a std client that half-closes and reads the echo to the end
    let mut c = connected.expect("the echo server listens");
    c.write_all(b"ping\n").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"ping\n");
    // two Python clients at once, a large body each
    let script = r#"
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
body = (sys.argv[2] * 100000).encode()
c.sendall(body)
c.shutdown(socket.SHUT_WR)
got = b""
while True:
    x = c.recv(65536)
    if not x:
        break
    got += x
sys.exit(0 if got == body else 1)
"#;
    let clients: Vec<_> = ["x", "y"]
        .iter()
        .map(|letter| {
            Command::new("python3")
                .args(["-c", script, &port.to_string(), letter])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut client in clients {
        assert!(
            client.wait().unwrap().success(),
            "a python client got its bytes back"
        );
    }
    let (code, _, err) = server.finish();
    assert_eq!(code, 0, "exits after 3 clients came and went: {err}");
}

#[test]
fn dgram_connect_sends_lines_as_datagrams_and_prints_each_answer_as_a_line() {
    let srv = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = srv.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        let mut got = Vec::new();
        for _ in 0..2 {
            let (n, from) = srv.recv_from(&mut buf).unwrap();
            got.push(buf[..n].to_vec());
            srv.send_to(&buf[..n].to_ascii_uppercase(), from).unwrap();
        }
        got
    });
    let ep = format!("udp://127.0.0.1:{port}");
    let out = run_with(
        &["dgram", "--connect", &ep, "--count", "2"],
        "cats\nwear hats\n",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"CATS\nWEAR HATS\n");
    assert_eq!(
        server.join().unwrap(),
        [b"cats".to_vec(), b"wear hats".to_vec()],
        "no newline sent"
    );
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let ep = format!("udp://{}", silent.local_addr().unwrap());
    let out = run_with(
        &["dgram", "--connect", &ep, "--timeout-ms", "300"],
        "anyone?\n",
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn dgram_echo_server_answers_each_sender_and_counts() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = spawn(&[
        "dgram",
        "--bind",
        &format!("udp://127.0.0.1:{port}"),
        "--echo",
        "--count",
        "2",
    ]);
    let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(std::time::Duration::from_millis(300)))
        .unwrap();
    let mut answers = Vec::new();
    for text in [&b"one"[..], b"two"] {
        // datagrams may be lost (and the server may not be up yet): retry as a UDP client does
        for _ in 0..50 {
            client.send_to(text, ("127.0.0.1", port)).unwrap();
            let mut buf = [0u8; 100];
            if let Ok((n, _)) = client.recv_from(&mut buf) {
                answers.push(buf[..n].to_vec());
                break;
            }
        }
    }
    assert_eq!(answers, [b"one".to_vec(), b"two".to_vec()]);
    let (code, _, err) = server.finish();
    assert_eq!(code, 0, "exits after 2: {err}");
}

#[test]
fn stream_connect_reads_while_it_writes_so_a_large_input_to_an_echo_server_completes() {
    // an echo server that writes back before it reads on: with 8 MiB each way, a client that
    // stopped reading while it waited to write would wait for ever
    let (port, server) = std_echo_server();
    let line = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n";
    let input = line.repeat(8 * 1024 * 1024 / line.len());
    let mut child = actormq()
        .args(["stream", "--connect", &format!("tcp://127.0.0.1:{port}")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feed = input.clone();
    let writer = std::thread::spawn(move || stdin.write_all(feed.as_bytes()).unwrap());
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    writer.join().unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(out.len(), input.len());
    assert!(
        out == input.as_bytes(),
        "the echo came back whole and in order"
    );
    assert_eq!(server.join().unwrap().len(), input.len());
}
