//! Cats wear hats: a publisher of random cat/hat pairs, and subscribers interested in some
//! breeds only. The topic is `cats.<breed>`; each subscriber gets its breeds and no other.
//!
//! ```text
//! cargo run --example cats_wear_hats
//! ```
#![allow(dead_code)]

use std::time::Duration;

use actix::prelude::*;
use actormq::typed::Outlet;
use actormq::{Received, Topic};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// A cat, in a hat.
#[derive(Serialize, Deserialize, Topic, Debug, Clone, PartialEq)]
#[topic = "cats.{breed}"]
pub struct CatInHat {
    pub breed: String,
    pub name: String,
    pub hat: String,
}

const BREEDS: [&str; 5] = ["siamese", "sphynx", "persian", "maine-coon", "bengal"];
const HATS: [&str; 4] = ["fedora", "beret", "top hat", "sombrero"];
const NAMES: [&str; 4] = ["Tom", "Luna", "Milo", "Nala"];

/// Sends a cat every millisecond.
#[derive(actormq::Publisher)]
#[publish(CatInHat, bind = "tcp://127.0.0.1:15557", on_start = "parade")]
pub struct Catwalk {
    out: Outlet<CatInHat>,
    n: usize,
}

impl Catwalk {
    fn parade(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(Duration::from_millis(1), |act, _ctx| {
            act.n += 1;
            let n = act.n;
            let cat = CatInHat {
                breed: BREEDS[n % BREEDS.len()].into(),
                name: NAMES[(n / 3) % NAMES.len()].into(),
                hat: HATS[(n / 7) % HATS.len()].into(),
            };
            let _ = act.out.try_publish(&cat); // a full queue drops, as a PUB does
        });
    }
}

/// Likes Siamese cats.
#[derive(actormq::Subscriber)]
#[subscribe(CatInHat, connect = "tcp://127.0.0.1:15557", prefix = "cats.siamese")]
pub struct SiameseFan(pub mpsc::UnboundedSender<(&'static str, CatInHat)>);

impl Handler<Received<CatInHat>> for SiameseFan {
    type Result = ();
    fn handle(&mut self, msg: Received<CatInHat>, _ctx: &mut Self::Context) {
        if let Ok(cat) = msg.value {
            let _ = self.0.send(("siamese fan", cat));
        }
    }
}

/// Likes Sphynx cats.
#[derive(actormq::Subscriber)]
#[subscribe(CatInHat, connect = "tcp://127.0.0.1:15557", prefix = "cats.sphynx")]
pub struct SphynxFan(pub mpsc::UnboundedSender<(&'static str, CatInHat)>);

impl Handler<Received<CatInHat>> for SphynxFan {
    type Result = ();
    fn handle(&mut self, msg: Received<CatInHat>, _ctx: &mut Self::Context) {
        if let Ok(cat) = msg.value {
            let _ = self.0.send(("sphynx fan", cat));
        }
    }
}

/// Runs until each fan has seen `want` cats; returns what each saw.
pub async fn demo(want: usize) -> Vec<(&'static str, CatInHat)> {
    Catwalk {
        out: Outlet::default(),
        n: 0,
    }
    .start();
    let (tx, mut rx) = mpsc::unbounded_channel();
    SiameseFan(tx.clone()).start();
    SphynxFan(tx).start();
    let mut seen = Vec::new();
    let count =
        |seen: &Vec<(&str, CatInHat)>, fan: &str| seen.iter().filter(|(f, _)| *f == fan).count();
    while count(&seen, "siamese fan") < want || count(&seen, "sphynx fan") < want {
        let (fan, cat) = rx.recv().await.expect("fans stopped");
        println!("{fan} sees {} the {} in a {}", cat.name, cat.breed, cat.hat);
        seen.push((fan, cat));
    }
    seen
}

#[actix::main]
async fn main() {
    demo(5).await;
}
