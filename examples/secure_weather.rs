//! An encrypted, authenticated weather feed: the publisher is a CURVE server that lets in only
//! the subscribers whose public keys it knows; a stranger's subscription is refused, with the
//! reason, while the known subscriber gets every reading, encrypted on the wire.
//!
//! ```text
//! cargo run --example secure_weather
//! ```
#![allow(dead_code)]

use actormq::security::{Auth, CurveKeyPair};
use actormq::{Socket, SocketEvent, SocketOptions, SocketType};
use std::time::Duration;

/// Publishes `n` readings to a known subscriber while a stranger is refused; returns what the
/// known subscriber received and the reason the stranger was refused for.
pub async fn demo(n: usize) -> actormq::Result<(Vec<String>, String)> {
    // the keys: in real life from `actormq keygen --out` and `read_secret_key`
    let server = CurveKeyPair::generate();
    let reader = CurveKeyPair::generate();

    let publisher = Socket::with_options(
        SocketType::Pub,
        SocketOptions::default()
            .curve_server(server.clone())
            .auth(Auth::new().curve_key(reader.public)),
    )?;
    let mut events = publisher.monitor();
    let endpoint = publisher.bind("tcp://127.0.0.1:0").await?;

    let known = Socket::with_options(
        SocketType::Sub,
        SocketOptions::default().curve_client(server.public, reader),
    )?;
    known.connect(&endpoint).await?;
    known.subscribe("weather").await?;

    let stranger = Socket::with_options(
        SocketType::Sub,
        SocketOptions::default().curve_client(server.public, CurveKeyPair::generate()),
    )?;
    stranger.connect(&endpoint).await?;
    stranger.subscribe("").await?;
    let refused = loop {
        if let Ok(SocketEvent::AuthenticationFailed { peer, reason, .. }) = events.recv().await {
            println!("refused {peer}: {reason}");
            break reason;
        }
    };

    // publish until the known subscriber's subscription has arrived, then the readings
    let mut got = Vec::new();
    while got.len() < n {
        publisher
            .send(["weather".to_string(), format!("{} C", 20 + got.len())])
            .await?;
        if let Ok(Ok(m)) = tokio::time::timeout(Duration::from_millis(20), known.recv()).await {
            let reading = String::from_utf8_lossy(&m.frames()[1]).into_owned();
            println!("received {reading}");
            got.push(reading);
        }
    }
    Ok((got, refused))
}

#[actix::main]
async fn main() -> actormq::Result<()> {
    demo(5).await?;
    Ok(())
}
