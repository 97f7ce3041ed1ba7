//! The typed layer's MessagePack decode on arbitrary bytes, into a struct and a dynamic value.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Weather {
    zipcode: u32,
    celsius: f64,
    tags: Vec<String>,
    station: Option<(String, i64)>,
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let _ = actormq::typed::decode::<Weather>(data);
        let _ = actormq::typed::decode::<rmpv::Value>(data);
    });
}
