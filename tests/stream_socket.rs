//! STREAM sockets (libzmq's `ZMQ_STREAM`) against plain TCP peers that know nothing of
//! ZeroMQ: Rust's std sockets, Python's `socket` and a C program on the BSD socket API, each
//! as client and as server.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};

use actormq::{Endpoint, Error, Frame, Multipart, Socket, SocketType};
use bytes::Bytes;
use common::*;

fn addr(ep: &Endpoint) -> String {
    ep.to_string().trim_start_matches("tcp://").to_string()
}

fn frames(msg: &Multipart) -> (Frame, Frame) {
    assert_eq!(msg.len(), 2, "a STREAM message is [id, bytes]: {msg:?}");
    (msg.frames()[0].clone(), msg.frames()[1].clone())
}

fn to(id: &Frame, body: &'static [u8]) -> Multipart {
    Multipart::from(vec![id.clone(), Bytes::from_static(body)])
}

/// Echoes every client, closing each once it has shut its side; returns after `clients` came
/// and went.
async fn echo(s: &Socket, clients: usize) {
    let (mut seen, mut done) = (HashSet::new(), 0);
    while done < clients {
        let (id, body) = frames(&s.recv().await.unwrap());
        if !body.is_empty() {
            s.send(Multipart::from(vec![id, body])).await.unwrap();
        } else if seen.insert(id.clone()) {
            // a new client
        } else {
            s.send(Multipart::from(vec![id, Bytes::new()]))
                .await
                .unwrap();
            done += 1;
        }
    }
}

/// Connects to a plain echo server, sends two lines, half-closes, and returns what came back
/// once the server closed.
async fn talk_to_echo_server(port: &str) -> Vec<u8> {
    let s = Socket::new(SocketType::Stream).unwrap();
    s.connect(format!("tcp://127.0.0.1:{port}").as_str())
        .await
        .unwrap();
    let (id, hello) = frames(&s.recv().await.unwrap());
    assert!(
        hello.is_empty(),
        "the connection is announced by an empty message"
    );
    s.send(to(&id, b"one\ntwo\n")).await.unwrap();
    s.send(Multipart::from(vec![id.clone()])).await.unwrap(); // half-close
    let mut got = Vec::new();
    loop {
        let (from, body) = frames(&s.recv().await.unwrap());
        assert_eq!(from, id);
        if body.is_empty() {
            return got; // the server closed
        }
        got.extend_from_slice(&body);
    }
}

fn spawn_server(cmd: &mut Command) -> (Child, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the echo server");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("READY ")
        .expect("READY <port>")
        .to_string();
    (child, port)
}

fn c_echo() -> std::path::PathBuf {
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("c_echo");
    let status = Command::new("cc")
        .args(["-O1", "-o"])
        .arg(&out)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/c/echo.c"))
        .status()
        .expect("a C compiler (cc)");
    assert!(status.success());
    out
}

fn python_echo() -> Command {
    let mut c = Command::new("python3");
    c.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/echo.py"));
    c
}

#[test]
fn std_client_connects_talks_half_closes_and_hears_the_end() {
    run(20, async {
        let s = Socket::new(SocketType::Stream).unwrap();
        let ep = s.bind("tcp://127.0.0.1:0").await.unwrap();
        let at = addr(&ep);
        let client = std::thread::spawn(move || {
            let mut c = TcpStream::connect(at).unwrap();
            c.write_all(b"hello\n").unwrap();
            let mut answer = [0u8; 6];
            c.read_exact(&mut answer).unwrap();
            c.shutdown(Shutdown::Write).unwrap();
            let mut rest = Vec::new();
            c.read_to_end(&mut rest).unwrap();
            (answer, rest)
        });
        let (id, hello) = frames(&s.recv().await.unwrap());
        assert!(
            hello.is_empty(),
            "a new peer is announced by an empty message"
        );
        assert_eq!((id.len(), id[0]), (5, 0), "libzmq's id shape");
        let mut got = Vec::new();
        while got.len() < 6 {
            let (from, body) = frames(&s.recv().await.unwrap());
            assert_eq!(from, id);
            got.extend_from_slice(&body);
        }
        assert_eq!(got, b"hello\n");
        s.send(to(&id, b"HELLO\n")).await.unwrap();
        // the client shut its side: announced by an empty message, and we may still answer
        let (from, end) = frames(&s.recv().await.unwrap());
        assert_eq!((from.clone(), end.len()), (id.clone(), 0));
        s.send(to(&id, b"bye\n")).await.unwrap();
        s.send(to(&id, b"")).await.unwrap(); // close
        let (answer, rest) = tokio::task::spawn_blocking(move || client.join().unwrap())
            .await
            .unwrap();
        assert_eq!(&answer, b"HELLO\n");
        assert_eq!(rest, b"bye\n");
        // the id is gone once the connection is: a send to it is refused, as libzmq's
        // EHOSTUNREACH
        let mut refused = None;
        for _ in 0..200 {
            match s.send(to(&id, b"late")).await {
                Err(e @ Error::Refused { .. }) => {
                    refused = Some(e);
                    break;
                }
                _ => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            }
        }
        let refused = refused
            .expect("a send to a gone peer is refused")
            .to_string();
        assert!(refused.contains("host unreachable"), "{refused}");
        assert!(
            s.try_send(to(&id, b"x")).is_err(),
            "STREAM sends with send().await"
        );
    });
}

#[test]
fn stream_connects_to_a_std_echo_server_and_closes_by_half_close() {
    let srv = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = srv.local_addr().unwrap().port().to_string();
    let server = std::thread::spawn(move || {
        let (mut c, _) = srv.accept().unwrap();
        let mut buf = [0u8; 4096];
        let mut total = 0;
        loop {
            let n = c.read(&mut buf).unwrap();
            if n == 0 {
                return total;
            }
            total += n;
            c.write_all(&buf[..n]).unwrap();
        }
    });
    run(20, async move {
        assert_eq!(talk_to_echo_server(&port).await, b"one\ntwo\n");
    });
    assert_eq!(
        server.join().unwrap(),
        8,
        "the server saw our half-close as end of stream"
    );
}

#[test]
fn python_socket_echo_server_and_client() {
    let (mut server, port) = spawn_server(python_echo().arg("server"));
    run(30, async move {
        assert_eq!(talk_to_echo_server(&port).await, b"one\ntwo\n");
    });
    assert!(server.wait().unwrap().success());
    run(30, async {
        let s = Socket::new(SocketType::Stream).unwrap();
        let ep = s.bind("tcp://127.0.0.1:0").await.unwrap();
        let port = ep.to_string().rsplit(':').next().unwrap().to_string();
        let client = python_echo()
            .args(["client", &port])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        echo(&s, 1).await;
        let out = tokio::task::spawn_blocking(move || client.wait_with_output().unwrap())
            .await
            .unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, b"one\ntwo\n");
    });
}

#[test]
fn c_echo_server_and_client() {
    let prog = c_echo();
    let (mut server, port) = spawn_server(Command::new(&prog).arg("server"));
    run(30, async move {
        assert_eq!(talk_to_echo_server(&port).await, b"one\ntwo\n");
    });
    assert!(server.wait().unwrap().success());
    run(30, async move {
        let s = Socket::new(SocketType::Stream).unwrap();
        let ep = s.bind("tcp://127.0.0.1:0").await.unwrap();
        let port = ep.to_string().rsplit(':').next().unwrap().to_string();
        let clients: Vec<_> = (0..3)
            .map(|_| {
                Command::new(&prog)
                    .args(["client", &port])
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        echo(&s, 3).await;
        for client in clients {
            let out = tokio::task::spawn_blocking(move || client.wait_with_output().unwrap())
                .await
                .unwrap();
            assert!(out.status.success());
            assert_eq!(out.stdout, b"one\ntwo\n");
        }
    });
}

#[test]
fn stream_refuses_non_byte_stream_transports() {
    run(10, async {
        let s = Socket::new(SocketType::Stream).unwrap();
        let err = s.bind("inproc://raw").await.unwrap_err().to_string();
        assert!(err.contains("byte-stream"), "{err}");
        assert!(s.connect("udp://127.0.0.1:5999").await.is_err());
    });
}

#[test]
fn after_the_peer_ends_its_stream_writing_does_not_keep_the_connection_open() {
    run(30, async {
        let s = Socket::new(SocketType::Stream).unwrap();
        let ep = s.bind("tcp://127.0.0.1:0").await.unwrap();
        let at = addr(&ep);
        let client = std::thread::spawn(move || {
            let mut c = TcpStream::connect(at).unwrap();
            c.shutdown(Shutdown::Write).unwrap();
            let mut got = Vec::new();
            c.read_to_end(&mut got).unwrap(); // returns once our side closes
            got.len()
        });
        let (id, _) = frames(&s.recv().await.unwrap());
        let (_, end) = frames(&s.recv().await.unwrap());
        assert!(end.is_empty(), "the end of its stream");
        // keep writing, more often than the grace: the connection still closes
        let mut refused = false;
        for _ in 0..100 {
            if s.send(to(&id, b"tick\n")).await.is_err() {
                refused = true; // the id is gone: the connection closed
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(refused, "the connection stayed open while we wrote");
        let got = tokio::task::spawn_blocking(move || client.join().unwrap())
            .await
            .unwrap();
        assert!(
            got > 0 && got % 5 == 0,
            "whole ticks before the close: {got}"
        );
    });
}
