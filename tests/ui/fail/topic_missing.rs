#[derive(actormq::Topic)]
struct Reading {
    zipcode: u32,
}

fn main() {}
