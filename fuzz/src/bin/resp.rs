//! The Redis (RESP) decoder on arbitrary server bytes: it never panics, and bytes decode to the
//! same values whether they arrive at once or in two reads.

use actormq_transports::resp::decode;
use bytes::BytesMut;

/// Values decoded from `buf` until it needs more bytes or fails; whether it failed.
fn drain(buf: &mut BytesMut, into: &mut Vec<actormq_transports::resp::Value>) -> bool {
    loop {
        match decode(buf) {
            Ok(Some(v)) => into.push(v),
            Ok(None) => return false,
            Err(_) => return true,
        }
    }
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some(&first) = data.first() else { return };
        let mut whole = Vec::new();
        let whole_failed = drain(&mut BytesMut::from(data), &mut whole);
        let cut = first as usize % data.len();
        let mut split = Vec::new();
        let mut buf = BytesMut::from(&data[..cut]);
        if drain(&mut buf, &mut split) {
            return; // a limit passed within the first read
        }
        buf.extend_from_slice(&data[cut..]);
        let split_failed = drain(&mut buf, &mut split);
        assert_eq!(
            whole, split,
            "the same values, read at once or in two reads"
        );
        assert_eq!(whole_failed, split_failed);
    });
}
