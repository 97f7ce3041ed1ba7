use actormq::Topic;

#[derive(serde::Deserialize, Topic)]
#[topic = "weather"]
struct Reading {
    zipcode: u32,
}

#[derive(actormq::Subscriber)]
#[subscribe(Reading, connect = "tcp://localhost:5556")]
struct Dashboard<T> {
    state: T,
}

fn main() {}
