use actormq::Topic;

#[derive(serde::Deserialize, Topic)]
#[topic = "weather"]
struct Reading {
    zipcode: u32,
}

#[derive(actormq::Subscriber)]
#[subscribe(Reading)]
struct Dashboard;

fn main() {}
