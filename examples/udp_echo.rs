//! Datagram request/reply: a classic UDP echo server and client, over actormq's `udp://`.
//!
//! Datagrams carry publish/subscribe, so each direction is a PUB → SUB hop: the client binds a
//! SUB for replies and names it in each request; the server's SUB receives requests and its PUB
//! answers to the address the request named. Datagrams may be lost, so the client retries, as a
//! UDP client does.
//!
//! ```text
//! cargo run --example udp_echo                                   # server + client, 5 round trips
//! cargo run --example udp_echo -- server udp://*:5555            # echo forever
//! cargo run --example udp_echo -- client udp://127.0.0.1:5555 hello
//! ```

use std::collections::HashMap;
use std::time::Duration;

use actormq::{Endpoint, Multipart, Socket, SocketType};

/// Answers every request `["echo", "<reply endpoint> <text>"]` with `["echo", "<text>"]`.
async fn server(requests: Socket) -> actormq::Result<()> {
    let mut repliers: HashMap<String, Socket> = HashMap::new();
    loop {
        let msg = requests.recv().await?;
        let body = String::from_utf8_lossy(msg.frames().get(1).map(|f| &f[..]).unwrap_or(b""))
            .into_owned();
        let Some((reply_to, text)) = body.split_once(' ') else {
            eprintln!("ignored a request without a reply address: {body:?}");
            continue;
        };
        if !repliers.contains_key(reply_to) {
            let publisher = Socket::new(SocketType::Pub)?;
            publisher.connect(reply_to).await?;
            repliers.insert(reply_to.to_string(), publisher);
        }
        repliers[reply_to]
            .send(["echo".to_string(), text.to_string()])
            .await?;
    }
}

/// Sends `text` and waits for its echo, retrying up to 5 times.
async fn client(server: &Endpoint, text: &str) -> actormq::Result<Option<String>> {
    let replies = Socket::new(SocketType::Sub)?;
    let reply_to = replies.bind("udp://127.0.0.1:0").await?;
    replies.subscribe("echo").await?;
    let requests = Socket::new(SocketType::Pub)?;
    requests.connect(server).await?;
    for _attempt in 0..5 {
        requests
            .send(["echo".to_string(), format!("{reply_to} {text}")])
            .await?;
        if let Ok(reply) = tokio::time::timeout(Duration::from_millis(300), replies.recv()).await {
            let reply: Multipart = reply?;
            return Ok(Some(
                String::from_utf8_lossy(&reply.frames()[1]).into_owned(),
            ));
        }
    }
    Ok(None)
}

async fn demo() -> actormq::Result<()> {
    let requests = Socket::new(SocketType::Sub)?;
    let endpoint = requests.bind("udp://127.0.0.1:0").await?;
    requests.subscribe("echo").await?;
    println!("echo server on {endpoint}");
    actix::spawn(server(requests));
    for n in 1..=5 {
        let text = format!("datagram #{n}");
        match client(&endpoint, &text).await? {
            Some(echo) => println!("sent {text:?}, echoed {echo:?}"),
            None => println!("sent {text:?}, no echo after 5 tries"),
        }
    }
    Ok(())
}

#[actix::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None => demo().await,
        Some("server") => {
            async {
                let requests = Socket::new(SocketType::Sub)?;
                let ep = requests
                    .bind(args.get(1).map(String::as_str).unwrap_or("udp://*:5555"))
                    .await?;
                requests.subscribe("echo").await?;
                println!("echo server on {ep}");
                server(requests).await
            }
            .await
        }
        Some("client") => {
            async {
                let ep: Endpoint = args
                    .get(1)
                    .map(String::as_str)
                    .unwrap_or("udp://127.0.0.1:5555")
                    .parse()?;
                let text = args.get(2).map(String::as_str).unwrap_or("hello");
                match client(&ep, text).await? {
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
