#[derive(actormq::Subscriber)]
#[subscribe(Reading, connect = "@tcp://*:5556")]
struct Dashboard;

fn main() {}
