//! Cats wear hats over Redis: a Python service publishes MessagePack cats on the Redis channels
//! `cats.<breed>` (`examples/redis_cats.py`, with redis-py), and a typed actormq subscriber of
//! `CatInHat` — the same type as in `cats_wear_hats` — receives the Persians, through
//! `PSUBSCRIBE cats.persian*`. Only the endpoint says it is Redis.
//!
//! ```text
//! redis-server --port 6379 &
//! cargo run --example redis_cats &            # or: ACTORMQ_REDIS=redis://HOST:PORT
//! python3 examples/redis_cats.py 6379 30
//! ```
#![allow(dead_code)]

use actormq::typed::Subscriber;
use actormq::{Socket, SocketType, Topic};
use serde::{Deserialize, Serialize};

/// A cat, in a hat (as in `cats_wear_hats`).
#[derive(Serialize, Deserialize, Topic, Debug, Clone, PartialEq)]
#[topic = "cats.{breed}"]
pub struct CatInHat {
    pub breed: String,
    pub name: String,
    pub hat: String,
}

/// Subscribes to the Persians on the Redis server at `endpoint` and returns the first `n`
/// cats the Python publisher sends.
pub async fn demo(endpoint: &str, n: usize) -> actormq::Result<Vec<CatInHat>> {
    let socket = Socket::new(SocketType::Sub)?;
    socket.connect(endpoint).await?;
    let persians = Subscriber::<CatInHat>::new(socket, "cats.persian").await?;
    let mut cats = Vec::new();
    while cats.len() < n {
        if let Ok(cat) = persians.recv().await?.value {
            println!("{} wears a {}", cat.name, cat.hat);
            cats.push(cat);
        }
    }
    Ok(cats)
}

#[actix::main]
async fn main() -> actormq::Result<()> {
    let endpoint =
        std::env::var("ACTORMQ_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    println!("waiting for Persian cats on {endpoint} (python3 examples/redis_cats.py)");
    demo(&endpoint, 5).await?;
    Ok(())
}
