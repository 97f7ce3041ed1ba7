//! DGRAM sockets: plain UDP datagrams with their addresses, against programs that know nothing
//! of ZeroMQ (std sockets and Python's `socket.SOCK_DGRAM`), as server and as client.

mod common;

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Command, Stdio};

use actormq::{Error, Multipart, Socket, SocketType};
use common::*;

fn python_udp_echo() -> Command {
    let mut c = Command::new("python3");
    c.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/udp_echo.py"
    ));
    c
}

/// Answers `n` datagrams with their own payload, to their senders.
async fn echo(s: &Socket, n: usize) {
    for _ in 0..n {
        let msg = s.recv().await.unwrap();
        assert_eq!(msg.len(), 2, "[sender, payload]");
        s.send(msg).await.unwrap();
    }
}

#[test]
fn a_bound_dgram_answers_plain_clients_std_and_python() {
    run(30, async {
        let s = Socket::new(SocketType::Dgram).unwrap();
        let ep = s.bind("udp://127.0.0.1:0").await.unwrap();
        let port = ep.to_string().rsplit(':').next().unwrap().to_string();
        let at = format!("127.0.0.1:{port}");
        let std_client = std::thread::spawn(move || {
            let c = UdpSocket::bind("127.0.0.1:0").unwrap();
            c.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
            c.send_to(b"hello", &at).unwrap();
            let mut buf = [0u8; 100];
            let (n, from) = c.recv_from(&mut buf).unwrap();
            (
                buf[..n].to_vec(),
                from.to_string(),
                c.local_addr().unwrap().to_string(),
            )
        });
        let first = s.recv().await.unwrap();
        assert_eq!(&first.frames()[1][..], b"hello");
        s.send(first.clone()).await.unwrap();
        let (answer, from, client) =
            tokio::task::spawn_blocking(move || std_client.join().unwrap())
                .await
                .unwrap();
        assert_eq!(answer, b"hello");
        assert_eq!(
            from,
            format!("127.0.0.1:{port}"),
            "answered from the bound port"
        );
        assert_eq!(
            &first.frames()[0][..],
            client.as_bytes(),
            "the sender's address"
        );
        let python = python_udp_echo()
            .args(["client", &port, "cats wear hats"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        echo(&s, 1).await;
        let out = tokio::task::spawn_blocking(move || python.wait_with_output().unwrap())
            .await
            .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "cats wear hats\n");
    });
}

#[test]
fn a_connected_dgram_talks_to_a_python_udp_server() {
    let mut server = python_udp_echo()
        .args(["server", "3"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().strip_prefix("READY ").unwrap().to_string();
    run(30, async move {
        let s = Socket::new(SocketType::Dgram).unwrap();
        s.connect(format!("udp://127.0.0.1:{port}").as_str())
            .await
            .unwrap();
        let to = format!("127.0.0.1:{port}");
        for text in ["one", "two", "three"] {
            let msg = Multipart::from([to.clone(), text.to_string()]);
            s.send(msg.clone()).await.unwrap();
            assert_eq!(s.recv().await.unwrap(), msg);
        }
    });
    assert!(server.wait().unwrap().success());
}

#[test]
fn dgram_checks_addresses_and_transports() {
    run(10, async {
        let s = Socket::new(SocketType::Dgram).unwrap();
        for bad in [
            Multipart::from("no address"),
            Multipart::from(["localhost:1", "x"]),
            Multipart::from(vec![
                bytes::Bytes::from("127.0.0.1:1"),
                bytes::Bytes::from(vec![0u8; 70_000]),
            ]),
        ] {
            assert!(matches!(s.send(bad).await, Err(Error::Refused { .. })));
        }
        let err = s.bind("tcp://127.0.0.1:0").await.unwrap_err().to_string();
        assert!(err.contains("udp://"), "{err}");
    });
}

#[test]
fn a_datagram_the_kernel_refuses_to_send_is_counted_undelivered() {
    run(10, async {
        let s = Socket::new(SocketType::Dgram).unwrap();
        s.bind("udp://127.0.0.1:0").await.unwrap();
        // a broadcast without SO_BROADCAST: the kernel refuses the send (EACCES)
        s.send(["255.255.255.255:9", "nobody hears this"])
            .await
            .unwrap();
        let peer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = peer.local_addr().unwrap().to_string();
        s.send([to, "this one goes".to_string()]).await.unwrap();
        let mut buf = [0u8; 64];
        let (n, _) = peer.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"this one goes");
        s.close().await;
        assert_eq!(s.undelivered(), 1, "the refused datagram is counted");
    });
}
