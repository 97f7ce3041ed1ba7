//! The ZMTP frame decoder on arbitrary bytes, fed in two pieces split where the input says.

use actormq_transports::zmtp::Decoder;
use bytes::BytesMut;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&split, rest)) = data.split_first() else {
            return;
        };
        let cut = usize::from(split).min(rest.len());
        let mut decoder = Decoder::new(Some(1 << 20));
        let mut buf = BytesMut::new();
        for piece in [&rest[..cut], &rest[cut..]] {
            buf.extend_from_slice(piece);
            loop {
                match decoder.decode(&mut buf) {
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
        }
    });
}
