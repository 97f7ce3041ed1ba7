//! The udp:// datagram decoder on arbitrary datagrams; what decodes must encode back the same.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(msg) = actormq_transports::datagram::decode(data) {
            let again = actormq_transports::datagram::encode(&msg).expect("a decoded message re-encodes");
            assert_eq!(actormq_transports::datagram::decode(&again).ok(), Some(msg));
        }
    });
}
