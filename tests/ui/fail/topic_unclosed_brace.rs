#[derive(actormq::Topic)]
#[topic = "weather.{zipcode"]
struct Reading {
    zipcode: u32,
}

fn main() {}
