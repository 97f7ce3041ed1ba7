#[derive(actormq::Worker)]
#[worker(input = Task, pull = "tcp://localhost:5557", push = "tcp://localhost:5558")]
struct Crunch;

fn main() {}
