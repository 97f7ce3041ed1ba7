//! Cats wear hats over Redis: a Python service publishes MessagePack cats on the Redis channels
//! `cats.<breed>` (`examples/redis_cats.py`, with redis-py), and a derived actormq subscriber
//! of `CatInHat` — the same type as in `cats_wear_hats` — receives the Persians, through
//! `PSUBSCRIBE cats.persian*`. Only the endpoint in the attribute says it is Redis (and
//! `ACTORMQ__PERSIANFAN__ENDPOINTS` overrides it, as for any derived actor).
//!
//! ```text
//! redis-server --port 6379 &
//! cargo run --example redis_cats &
//! python3 examples/redis_cats.py 6379 30
//! ```
#![allow(dead_code)]

use actix::prelude::*;
use actormq::{Received, Topic};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// A cat, in a hat (as in `cats_wear_hats`).
#[derive(Serialize, Deserialize, Topic, Debug, Clone, PartialEq)]
#[topic = "cats.{breed}"]
pub struct CatInHat {
    pub breed: String,
    pub name: String,
    pub hat: String,
}

/// Likes Persian cats, and hears of them through Redis.
#[derive(actormq::Subscriber)]
#[subscribe(CatInHat, connect = "redis://127.0.0.1:6379", prefix = "cats.persian")]
pub struct PersianFan(pub mpsc::UnboundedSender<CatInHat>);

impl Handler<Received<CatInHat>> for PersianFan {
    type Result = ();
    fn handle(&mut self, msg: Received<CatInHat>, _ctx: &mut Self::Context) {
        if let Ok(cat) = msg.value {
            let _ = self.0.send(cat);
        }
    }
}

/// Starts the fan and returns the first `n` cats the Python publisher sends it.
pub async fn demo(n: usize) -> Vec<CatInHat> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _fan = PersianFan(tx).start();
    let mut cats = Vec::new();
    while cats.len() < n {
        let cat = rx.recv().await.expect("the fan stopped");
        println!("{} wears a {}", cat.name, cat.hat);
        cats.push(cat);
    }
    cats
}

#[actix::main]
async fn main() {
    println!("waiting for Persian cats on Redis (python3 examples/redis_cats.py)");
    demo(5).await;
}
