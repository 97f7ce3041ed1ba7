use actix::prelude::*;
use actormq::typed::{Outlet, Request, Work};
use actormq::{Received, Topic};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Topic)]
#[topic = "weather.{zipcode}.{city}"]
struct Reading {
    zipcode: u32,
    city: String,
}

#[derive(actormq::Publisher)]
#[publish(Reading, bind = "tcp://*:5556, ipc:///tmp/weather")]
struct Station {
    out: Outlet<Reading>,
}

#[derive(actormq::Subscriber)]
#[subscribe(Reading, connect = ">tcp://localhost:5556", prefix = "weather.100", on_decode_error = "deliver")]
struct Dashboard;

impl Handler<Received<Reading>> for Dashboard {
    type Result = ();
    fn handle(&mut self, _msg: Received<Reading>, _ctx: &mut Self::Context) {}
}

#[derive(actormq::Worker)]
#[worker(input = Reading, output = Reading, pull = ">tcp://localhost:5557", push = "tcp://localhost:5558", concurrency = 8)]
struct Relay;

impl Handler<Work<Reading, Reading>> for Relay {
    type Result = MessageResult<Work<Reading, Reading>>;
    fn handle(&mut self, w: Work<Reading, Reading>, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(w.0)
    }
}

#[derive(actormq::Responder)]
#[respond(request = Reading, reply = Reading, bind = "tcp://*:5555", on_start = "ready")]
struct Echo;

impl Echo {
    fn ready(&mut self, _ctx: &mut Context<Self>) {}
}

impl Handler<Request<Reading, Reading>> for Echo {
    type Result = MessageResult<Request<Reading, Reading>>;
    fn handle(&mut self, r: Request<Reading, Reading>, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(r.0)
    }
}

/// A generic message type, named with its parameters and a path.
#[derive(Serialize, Deserialize, Topic)]
#[topic = "envelope"]
struct Envelope<T> {
    body: T,
}

mod msgs {
    pub type Numbers = super::Envelope<Vec<u32>>;
}

#[derive(actormq::Subscriber)]
#[subscribe(crate::msgs::Numbers, connect = "inproc://numbers")]
struct Counter;

impl Handler<Received<Envelope<Vec<u32>>>> for Counter {
    type Result = ();
    fn handle(&mut self, _msg: Received<Envelope<Vec<u32>>>, _ctx: &mut Self::Context) {}
}

fn main() {
    let _ = Counter;
    let _ = (Station { out: Outlet::default() }, Dashboard, Relay, Echo);
}
