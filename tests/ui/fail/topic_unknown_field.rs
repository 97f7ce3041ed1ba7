#[derive(actormq::Topic)]
#[topic = "weather.{zip}"]
struct Reading {
    zipcode: u32,
}

fn main() {}
