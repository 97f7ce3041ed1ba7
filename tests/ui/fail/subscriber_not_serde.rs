use actix::prelude::*;
use actormq::{Received, Topic};

#[derive(Topic)]
#[topic = "weather"]
struct Reading {
    zipcode: u32,
}

#[derive(actormq::Subscriber)]
#[subscribe(Reading, connect = "tcp://localhost:5556")]
struct Dashboard;

impl Handler<Received<Reading>> for Dashboard {
    type Result = ();
    fn handle(&mut self, _msg: Received<Reading>, _ctx: &mut Self::Context) {}
}

fn main() {}
