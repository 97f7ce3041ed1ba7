//! Datagram request/reply: a classic UDP echo server and client on DGRAM sockets (plain
//! datagrams, `[address, payload]`), each shown against Python's `socket.SOCK_DGRAM`.
//!
//! ```text
//! cargo run --example udp_echo                                   # both directions against Python
//! cargo run --example udp_echo -- server udp://*:5555            # echo forever
//! cargo run --example udp_echo -- client udp://127.0.0.1:5555 hello
//! ```

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use actormq::{Multipart, Socket, SocketType};

/// A UDP client in Python, as a user would write it: sends each argument, prints each answer.
const PYTHON_CLIENT: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
for text in sys.argv[2:]:
    for _ in range(10):
        s.sendto(text.encode(), ("127.0.0.1", int(sys.argv[1])))
        try:
            print("python client got", repr(s.recvfrom(65535)[0].decode()), flush=True)
            break
        except socket.timeout:
            pass
"#;

/// A UDP echo server in Python: answers `argv[1]` datagrams, each to its sender.
const PYTHON_SERVER: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
for _ in range(int(sys.argv[1])):
    data, sender = s.recvfrom(65535)
    s.sendto(data, sender)
"#;

/// Answers every datagram with itself, to its sender; `n` of them, or forever.
async fn server(socket: &Socket, n: Option<usize>) -> actormq::Result<()> {
    let mut answered = 0;
    while n.is_none_or(|n| answered < n) {
        let msg = socket.recv().await?; // [sender address, payload]
        socket.send(msg).await?;
        answered += 1;
    }
    Ok(())
}

/// Sends `text` to `to` (`IP:port`) and waits for its echo, retrying up to 5 times: datagrams
/// may be lost.
async fn client(socket: &Socket, to: &str, text: &str) -> actormq::Result<Option<String>> {
    for _attempt in 0..5 {
        socket
            .send(Multipart::from([to.to_string(), text.to_string()]))
            .await?;
        if let Ok(reply) = tokio::time::timeout(Duration::from_millis(300), socket.recv()).await {
            let reply: Multipart = reply?;
            return Ok(Some(
                String::from_utf8_lossy(&reply.frames()[1]).into_owned(),
            ));
        }
    }
    Ok(None)
}

async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    // 1. our server, a Python client
    let echo = Socket::new(SocketType::Dgram)?;
    let endpoint = echo.bind("udp://127.0.0.1:0").await?;
    let port = endpoint
        .to_string()
        .rsplit(':')
        .next()
        .unwrap_or("0")
        .to_string();
    println!("actormq echo server on {endpoint}");
    let python = Command::new("python3")
        .args(["-c", PYTHON_CLIENT, &port, "cats", "wear hats"])
        .spawn();
    let Ok(mut python) = python else {
        println!("python3 is not installed: nothing to show");
        return Ok(());
    };
    server(&echo, Some(2)).await?;
    let _ = tokio::task::spawn_blocking(move || python.wait()).await;

    // 2. a Python server, our client
    let mut python = Command::new("python3")
        .args(["-c", PYTHON_SERVER, "2"])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut port = String::new();
    if let Some(out) = python.stdout.as_mut() {
        BufReader::new(out).read_line(&mut port)?;
    }
    let to = format!("127.0.0.1:{}", port.trim());
    let me = Socket::new(SocketType::Dgram)?;
    me.connect(format!("udp://{to}").as_str()).await?;
    println!("python echo server on udp://{to}");
    for text in ["cats", "wear hats"] {
        match client(&me, &to, text).await? {
            Some(echo) => println!("actormq client sent {text:?}, got {echo:?}"),
            None => println!("actormq client sent {text:?}, no echo after 5 tries"),
        }
    }
    let _ = tokio::task::spawn_blocking(move || python.wait()).await;
    Ok(())
}

#[actix::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None => {
            if let Err(e) = demo().await {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
            Ok(())
        }
        Some("server") => {
            async {
                let socket = Socket::new(SocketType::Dgram)?;
                let ep = socket
                    .bind(args.get(1).map(String::as_str).unwrap_or("udp://*:5555"))
                    .await?;
                println!("echo server on {ep}");
                server(&socket, None).await
            }
            .await
        }
        Some("client") => {
            async {
                let ep = args
                    .get(1)
                    .map(String::as_str)
                    .unwrap_or("udp://127.0.0.1:5555");
                let to = ep.trim_start_matches("udp://").to_string();
                let text = args.get(2).map(String::as_str).unwrap_or("hello");
                let socket = Socket::new(SocketType::Dgram)?;
                socket.connect(ep).await?;
                match client(&socket, &to, text).await? {
                    Some(echo) => println!("{echo}"),
                    None => {
                        eprintln!("no echo from {ep} after 5 tries");
                        std::process::exit(2);
                    }
                }
                Ok(())
            }
            .await
        }
        Some(other) => {
            eprintln!("unknown mode `{other}`: use no argument, `server [ENDPOINT]` or `client [ENDPOINT] [TEXT]`");
            std::process::exit(1);
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
