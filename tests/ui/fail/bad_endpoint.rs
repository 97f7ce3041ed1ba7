#[derive(actormq::Subscriber)]
#[subscribe(Reading, connect = "localhost:5556")]
struct Dashboard;

fn main() {}
