#[derive(actormq::Subscriber)]
#[subscribe(Reading, conect = "tcp://localhost:5556")]
struct Dashboard;

fn main() {}
