//! A feed relay: one subscriber actor fed by two publishers, republishing everything on
//! `ipc://`, where local clients read one merged feed.
//!
//! ```text
//! cargo run --example feed_relay
//! ```
#![allow(dead_code)]

use std::collections::BTreeSet;

use actix::prelude::*;
use actormq::typed::{Publisher, Subscriber};
use actormq::{Received, Socket, SocketType, Topic};
use serde::{Deserialize, Serialize};

/// A price quote.
#[derive(Serialize, Deserialize, Topic, Debug, Clone)]
#[topic = "quote.{symbol}"]
pub struct Quote {
    pub symbol: String,
    pub price: f64,
    pub source: String,
}

/// Subscribed to both feeds; republishes every quote on its own ipc socket.
#[derive(actormq::Subscriber)]
#[subscribe(Quote, connect = "tcp://127.0.0.1:15561, tcp://127.0.0.1:15562")]
pub struct Relay {
    pub out: Publisher<Quote>,
}

impl Handler<Received<Quote>> for Relay {
    type Result = ();
    fn handle(&mut self, msg: Received<Quote>, _ctx: &mut Self::Context) {
        if let Ok(quote) = msg.value {
            let _ = self.out.try_publish(&quote);
        }
    }
}

/// The ipc endpoint the relay republishes on.
pub fn relay_endpoint() -> String {
    format!("ipc:///tmp/actormq-feed-relay-{}.ipc", std::process::id())
}

/// Runs two feeds through the relay until a client on ipc has seen `want` quotes from each.
pub async fn demo(want: usize) -> actormq::Result<BTreeSet<(String, String)>> {
    let mut feeds = Vec::new();
    for (port, source) in [(15561, "nyse"), (15562, "lse")] {
        let p = Publisher::<Quote>::new(Socket::new(SocketType::Pub)?);
        p.socket().bind(format!("tcp://127.0.0.1:{port}")).await?;
        feeds.push((p, source));
    }
    let out = Publisher::<Quote>::new(Socket::new(SocketType::Pub)?);
    out.socket().bind(relay_endpoint()).await?;
    Relay { out }.start();
    let client_socket = Socket::new(SocketType::Sub)?;
    client_socket.connect(relay_endpoint()).await?;
    let client = Subscriber::<Quote>::new(client_socket, "quote.").await?;
    let mut seen = BTreeSet::new();
    let mut tick = 0u32;
    while ["nyse", "lse"]
        .iter()
        .any(|s| seen.iter().filter(|(src, _)| src == s).count() < want)
    {
        tick += 1;
        for (feed, source) in &feeds {
            let symbol = ["AAPL", "MSFT", "VOD"][tick as usize % 3].to_string();
            feed.publish(&Quote {
                symbol,
                price: f64::from(tick),
                source: source.to_string(),
            })
            .await?;
        }
        if let Ok(Ok(got)) =
            tokio::time::timeout(std::time::Duration::from_millis(20), client.recv()).await
        {
            let q = got.value?;
            seen.insert((q.source.clone(), format!("{}@{}", q.symbol, q.price)));
        }
    }
    println!(
        "the ipc client saw {} distinct quotes from both feeds",
        seen.len()
    );
    Ok(seen)
}

#[actix::main]
async fn main() {
    if let Err(e) = demo(10).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
