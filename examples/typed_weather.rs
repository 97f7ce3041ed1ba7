//! A typed weather feed: a publisher actor and two subscriber actors declared with derives.
//! Readings travel as MessagePack maps under the topic `weather.<zipcode>`, so subscribing to
//! `weather.100` gets zipcodes 10000-10099 and nothing else.
//!
//! ```text
//! cargo run --example typed_weather
//! ```
#![allow(dead_code)]

use std::time::Duration;

use actix::prelude::*;
use actormq::typed::Outlet;
use actormq::{Received, Topic};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// One weather reading.
#[derive(Serialize, Deserialize, Topic, Debug, Clone)]
#[topic = "weather.{zipcode}"]
pub struct Reading {
    pub zipcode: u32,
    pub celsius: f32,
    pub humidity: u8,
}

/// Publishes readings for zipcodes 10000-10199.
#[derive(actormq::Publisher)]
#[publish(Reading, bind = "tcp://127.0.0.1:15556", on_start = "feed")]
pub struct Station {
    out: Outlet<Reading>,
    seed: u64,
}

impl Station {
    fn next(&mut self) -> Reading {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let r = self.seed;
        Reading {
            zipcode: 10000 + (r % 200) as u32,
            celsius: (r >> 8) as f32 % 40.0 - 5.0,
            humidity: (r >> 16) as u8 % 100,
        }
    }

    fn feed(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(Duration::from_millis(2), |act, _ctx| {
            for _ in 0..100 {
                let reading = act.next();
                let _ = act.out.try_publish(&reading); // a full queue drops, as a PUB does
            }
        });
    }
}

/// Collects a number of readings, then reports them.
pub struct Tally {
    want: usize,
    seen: Vec<Reading>,
    done: Option<oneshot::Sender<Vec<Reading>>>,
}

impl Tally {
    pub fn new(want: usize) -> (Self, oneshot::Receiver<Vec<Reading>>) {
        let (tx, rx) = oneshot::channel();
        (
            Tally {
                want,
                seen: Vec::new(),
                done: Some(tx),
            },
            rx,
        )
    }

    fn add(&mut self, msg: Received<Reading>) {
        if let Ok(reading) = msg.value {
            self.seen.push(reading);
        }
        if self.seen.len() == self.want {
            if let Some(done) = self.done.take() {
                let _ = done.send(std::mem::take(&mut self.seen));
            }
        }
    }
}

/// Zipcodes 10000-10099.
#[derive(actormq::Subscriber)]
#[subscribe(Reading, connect = "tcp://127.0.0.1:15556", prefix = "weather.100")]
pub struct Downtown(pub Tally);

impl Handler<Received<Reading>> for Downtown {
    type Result = ();
    fn handle(&mut self, msg: Received<Reading>, _ctx: &mut Self::Context) {
        self.0.add(msg);
    }
}

/// Zipcodes 10190-10199.
#[derive(actormq::Subscriber)]
#[subscribe(Reading, connect = "tcp://127.0.0.1:15556", prefix = "weather.1019")]
pub struct Uptown(pub Tally);

impl Handler<Received<Reading>> for Uptown {
    type Result = ();
    fn handle(&mut self, msg: Received<Reading>, _ctx: &mut Self::Context) {
        self.0.add(msg);
    }
}

/// Runs the feed until each subscriber has `want` readings; returns them per prefix.
pub async fn demo(want: usize) -> Vec<(&'static str, Vec<Reading>)> {
    Station {
        out: Outlet::default(),
        seed: 0x9e37_79b9_7f4a_7c15,
    }
    .start();
    let (downtown, d) = Tally::new(want);
    let (uptown, u) = Tally::new(want);
    Downtown(downtown).start();
    Uptown(uptown).start();
    let mut out = Vec::new();
    for (prefix, rx) in [("weather.100", d), ("weather.1019", u)] {
        let readings = rx.await.expect("subscriber stopped");
        let average = readings.iter().map(|r| r.celsius).sum::<f32>() / readings.len() as f32;
        println!(
            "{prefix}*: {} readings, average {average:.1} C",
            readings.len()
        );
        out.push((prefix, readings));
    }
    out
}

#[actix::main]
async fn main() {
    demo(50).await;
}
