use actormq::Topic;

#[derive(serde::Serialize, Topic)]
#[topic = "weather"]
struct Reading {
    zipcode: u32,
}

#[derive(actormq::Publisher)]
#[publish(Reading, bind = "tcp://*:5556")]
struct Station {
    count: u64,
}

fn main() {}
