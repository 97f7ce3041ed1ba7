#[derive(actormq::Responder)]
struct Echo;

fn main() {}
