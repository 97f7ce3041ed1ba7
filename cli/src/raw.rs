//! The raw commands: `stream` (plain TCP, a STREAM socket, like `nc`) and `dgram` (plain UDP,
//! a DGRAM socket, like `nc -u`), each with an echo server.

use std::collections::HashSet;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::time::Duration;

use actormq::{Frame, Multipart, Socket, SocketEvent, SocketType};
use bytes::Bytes;

use crate::commands::{attach, err, socket, Interrupts};
use crate::Common;

/// Raw lines of stdin, each with its newline (the last one without, if stdin ends without
/// one), read on a thread of their own.
fn stdin_raw_lines() -> tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>> {
    use std::io::BufRead;
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut line = Vec::new();
            let got = match stdin.read_until(b'\n', &mut line) {
                Ok(0) => return,
                Ok(_) => Ok(line),
                Err(e) => Err(e),
            };
            let failed = got.is_err();
            if tx.blocking_send(got).is_err() || failed {
                return;
            }
        }
    });
    rx
}

fn write_out(bytes: &[u8]) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| format!("writing stdout: {e}"))
}

fn to(id: &Frame, body: Bytes) -> Multipart {
    Multipart::from(vec![id.clone(), body])
}

/// The two frames of what a STREAM socket receives: the peer's id and its bytes.
fn split(msg: Multipart) -> Result<(Frame, Frame), String> {
    let mut frames = msg.into_vec().into_iter();
    match (frames.next(), frames.next()) {
        (Some(id), Some(body)) => Ok((id, body)),
        _ => Err("a STREAM message without its two frames".into()),
    }
}

/// `actormq stream`: with `--connect`, like `nc`; with `--bind --echo`, an echo server.
pub async fn stream(common: Common, echo: bool) -> Result<(), String> {
    let mut interrupts = Interrupts::new();
    let socket = socket(SocketType::Stream, &common, false)?;
    let work = async {
        if echo {
            attach(&socket, &common).await?;
            return echo_clients(&socket, common.count).await;
        }
        if common.connect.len() != 1 || !common.bind.is_empty() || !common.endpoints.is_empty() {
            return Err(
                "stream: give one --connect tcp://HOST:PORT, or --bind EP --echo for an echo server"
                    .into(),
            );
        }
        let mut events = socket.monitor();
        attach(&socket, &common).await?;
        talk(&socket, &mut events, common.count).await
    };
    interrupts.run_then_close(&socket, work).await
}

/// Like `nc HOST PORT`: stdin lines to the peer, the peer's bytes to stdout; at the end of
/// stdin our side is shut for writing; done when the peer has closed, or after `count` lines.
async fn talk(
    socket: &Socket,
    events: &mut tokio::sync::broadcast::Receiver<SocketEvent>,
    count: Option<u64>,
) -> Result<(), String> {
    // the connection is announced by an empty message; a refused one fails the command
    let id = loop {
        tokio::select! {
            msg = socket.recv() => break split(msg.map_err(err)?)?.0,
            event = events.recv() => {
                if let Ok(SocketEvent::ConnectRetried { error, .. }) = event {
                    return Err(format!("cannot connect: {error}"));
                }
            }
        }
    };
    let mut lines = stdin_raw_lines();
    let mut stdin_open = true;
    let mut newlines = 0u64;
    // a send waits for room while the peer does not read: meanwhile we go on reading what it
    // sends (else two sides that both write before they read would wait for each other)
    let mut sending: Option<Pin<Box<dyn Future<Output = actormq::Result<()>> + '_>>> = None;
    loop {
        if count.is_some_and(|n| newlines >= n) {
            return Ok(());
        }
        tokio::select! {
            sent = async { sending.as_mut().expect("guarded").await }, if sending.is_some() => {
                sending = None;
                sent.map_err(err)?;
            }
            line = lines.recv(), if stdin_open && sending.is_none() => match line {
                Some(line) => {
                    let line = line.map_err(|e| format!("reading stdin: {e}"))?;
                    sending = Some(Box::pin(socket.send(to(&id, Bytes::from(line)))));
                }
                None => {
                    // a half-close, as `ncat` does: the peer still answers
                    stdin_open = false;
                    sending = Some(Box::pin(socket.send(Multipart::from(vec![id.clone()]))));
                }
            },
            msg = socket.recv() => {
                let (from, body) = split(msg.map_err(err)?)?;
                if from != id {
                    continue;
                }
                if body.is_empty() {
                    return Ok(()); // the peer closed
                }
                write_out(&body)?;
                newlines += body.iter().filter(|&&b| b == b'\n').count() as u64;
            }
        }
    }
}

/// How long the echo server waits for room toward a client that does not read before it
/// stops echoing to it (so that one such client cannot hold up the others).
const ECHO_PATIENCE: Duration = Duration::from_secs(5);

/// An echo server for any number of plain TCP clients: each client's bytes go back to it; a
/// client that shuts its side is closed once its bytes are echoed. Returns after `count`
/// clients have come and gone, if given.
async fn echo_clients(socket: &Socket, count: Option<u64>) -> Result<(), String> {
    let mut live: HashSet<Frame> = HashSet::new();
    // clients that did not read their echo in time: not written to any more
    let mut deaf: HashSet<Frame> = HashSet::new();
    let mut gone = 0u64;
    while count.is_none_or(|n| gone < n) {
        let (id, body) = split(socket.recv().await.map_err(err)?)?;
        let reply = if !body.is_empty() {
            if deaf.contains(&id) {
                continue;
            }
            to(&id, body)
        } else if live.insert(id.clone()) {
            continue; // a new client
        } else {
            live.remove(&id);
            gone += 1;
            if deaf.remove(&id) {
                continue;
            }
            // what it sent before is echoed: now close our side too
            to(&id, Bytes::new())
        };
        match tokio::time::timeout(ECHO_PATIENCE, socket.send(reply)).await {
            Ok(Ok(())) => {}
            // a client may be gone before its echo is written: that is its loss, not an error
            Ok(Err(e)) => tracing::debug!(error = %e, "echo to a gone client"),
            Err(_) => {
                tracing::warn!("a client does not read its echo: no longer echoing to it");
                deaf.insert(id);
            }
        }
    }
    Ok(())
}

/// `actormq dgram`: plain UDP. With `--connect`, each stdin line one datagram to the peer and
/// each datagram received one line; with `--bind --echo`, each datagram answered with itself.
pub async fn dgram(common: Common, echo: bool) -> Result<(), String> {
    let mut interrupts = Interrupts::new();
    let socket = socket(SocketType::Dgram, &common, false)?;
    let work = async {
        if echo {
            attach(&socket, &common).await?;
            return echo_datagrams(&socket, common.count).await;
        }
        let [ep] = &common.connect[..] else {
            return Err(
                "dgram: give one --connect udp://HOST:PORT, or --bind EP --echo for an echo server"
                    .into(),
            );
        };
        let to = resolve_udp(ep).await?;
        attach(&socket, &common).await?;
        exchange(&socket, &to, common.count).await
    };
    interrupts.run_then_close(&socket, work).await
}

/// The `IP:port` a `udp://HOST:PORT` endpoint names, as DGRAM messages address it.
async fn resolve_udp(ep: &str) -> Result<String, String> {
    let endpoint: actormq::Endpoint = ep.parse().map_err(err)?;
    let actormq::Endpoint::Udp { addr, .. } = &endpoint else {
        return Err(format!("dgram: {ep} is not a udp:// endpoint"));
    };
    tokio::net::lookup_host(addr.to_string())
        .await
        .map_err(|e| format!("resolving {ep}: {e}"))?
        .find(std::net::SocketAddr::is_ipv4)
        .map(|a| a.to_string())
        .ok_or_else(|| format!("resolving {ep}: no IPv4 address"))
}

/// Stdin lines out as datagrams to `to`, datagrams in as lines, until `count` came in.
async fn exchange(socket: &Socket, to: &str, count: Option<u64>) -> Result<(), String> {
    let mut lines = stdin_raw_lines();
    let mut stdin_open = true;
    let mut received = 0u64;
    while count.is_none_or(|n| received < n) {
        tokio::select! {
            line = lines.recv(), if stdin_open => match line {
                Some(line) => {
                    let mut line = line.map_err(|e| format!("reading stdin: {e}"))?;
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    let msg = Multipart::from(vec![Bytes::from(to.to_string()), Bytes::from(line)]);
                    socket.send(msg).await.map_err(err)?;
                }
                None => stdin_open = false,
            },
            msg = socket.recv() => {
                let (_from, mut payload) = split(msg.map_err(err)?)?;
                if payload.last() == Some(&b'\n') {
                    payload.truncate(payload.len() - 1);
                }
                let mut line = payload.to_vec();
                line.push(b'\n');
                write_out(&line)?;
                received += 1;
            }
        }
    }
    Ok(())
}

/// Answers each datagram with its own bytes, to its sender, `count` times if given.
async fn echo_datagrams(socket: &Socket, count: Option<u64>) -> Result<(), String> {
    let mut answered = 0u64;
    while count.is_none_or(|n| answered < n) {
        let msg = socket.recv().await.map_err(err)?;
        socket.send(msg).await.map_err(err)?;
        answered += 1;
    }
    Ok(())
}
