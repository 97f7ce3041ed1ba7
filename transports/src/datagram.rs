//! Datagram framing, sans-IO: one message per datagram, `[topic length][topic][body]`, the
//! framing libzmq's UDP engine uses for RADIO/DISH (RFC 48). No handshake, no commands.

use bytes::{BufMut, Bytes, BytesMut};

use crate::Multipart;

/// Largest datagram sent or accepted, as in libzmq (`MAX_UDP_MSG`).
pub const MAX_DATAGRAM: usize = 8192;

/// Why a message cannot travel as one datagram, if it cannot.
///
/// ```
/// use actormq_transports::datagram::{check, decode, encode};
/// use actormq_transports::Multipart;
///
/// let msg = Multipart::from(["weather", "21C"]);
/// assert!(check(&msg).is_ok());
/// assert_eq!(decode(&encode(&msg).unwrap()).unwrap(), msg);
/// assert!(check(&Multipart::from(["a", "b", "c"])).unwrap_err().contains("3 frames"));
/// ```
pub fn check(msg: &Multipart) -> Result<(), String> {
    let frames = msg.frames();
    if frames.is_empty() || frames.len() > 2 {
        return Err(format!(
            "a datagram carries a topic and at most one body frame; this message has {} frames",
            frames.len()
        ));
    }
    if frames[0].len() > 255 {
        return Err(format!(
            "a datagram topic is at most 255 bytes; this one is {}",
            frames[0].len()
        ));
    }
    let size = 1 + msg.byte_len();
    if size > MAX_DATAGRAM {
        return Err(format!(
            "the message needs a {size}-byte datagram; the limit is {MAX_DATAGRAM} bytes"
        ));
    }
    Ok(())
}

/// Encodes a message as one datagram (see [`check`]).
pub fn encode(msg: &Multipart) -> Result<Bytes, String> {
    check(msg)?;
    let frames = msg.frames();
    let mut out = BytesMut::with_capacity(1 + msg.byte_len());
    out.put_u8(frames[0].len() as u8);
    out.put_slice(&frames[0]);
    if let Some(body) = frames.get(1) {
        out.put_slice(body);
    }
    Ok(out.freeze())
}

/// Decodes one datagram: `[topic, body]`, or `[topic]` when the body is empty.
pub fn decode(datagram: &[u8]) -> Result<Multipart, String> {
    let Some((&len, rest)) = datagram.split_first() else {
        return Err("empty datagram".into());
    };
    let len = len as usize;
    if rest.len() < len {
        return Err(format!(
            "datagram topic length {len} exceeds the datagram's {} bytes",
            rest.len()
        ));
    }
    let (topic, body) = rest.split_at(len);
    let mut msg = Multipart::from(Bytes::copy_from_slice(topic));
    if !body.is_empty() {
        msg.push(Bytes::copy_from_slice(body));
    }
    Ok(msg)
}

/// Largest payload of a plain datagram (a DGRAM socket's): what one IPv4 UDP datagram holds.
pub const MAX_RAW_PAYLOAD: usize = 65_507;

/// Where a DGRAM socket's message `[address, payload...]` goes, and the payload (the frames
/// after the address, one after the other), or why it cannot be sent.
///
/// ```
/// use actormq_transports::datagram::raw_parts;
/// use actormq_transports::Multipart;
///
/// let (to, payload) = raw_parts(&Multipart::from(["127.0.0.1:5555", "hello"])).unwrap();
/// assert_eq!((to.port(), &payload[..]), (5555, &b"hello"[..]));
/// assert!(raw_parts(&Multipart::from(["localhost", "x"])).unwrap_err().contains("IP:port"));
/// ```
pub fn raw_parts(msg: &Multipart) -> Result<(std::net::SocketAddr, Bytes), String> {
    let frames = msg.frames();
    if frames.len() < 2 {
        return Err(format!(
            "a DGRAM message is [address, payload]; this one has {} frame(s)",
            frames.len()
        ));
    }
    let to = std::str::from_utf8(&frames[0])
        .ok()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| {
            format!(
                "a DGRAM address is IP:port (`127.0.0.1:5555`), not {:?}",
                String::from_utf8_lossy(&frames[0])
            )
        })?;
    let payload = match &frames[1..] {
        [one] => one.clone(),
        many => {
            let mut all = BytesMut::with_capacity(many.iter().map(Bytes::len).sum());
            many.iter().for_each(|f| all.put_slice(f));
            all.freeze()
        }
    };
    if payload.len() > MAX_RAW_PAYLOAD {
        return Err(format!(
            "a datagram holds at most {MAX_RAW_PAYLOAD} bytes; this payload has {}",
            payload.len()
        ));
    }
    Ok((to, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn byte_layout_and_limits() {
        assert_eq!(
            &encode(&Multipart::from(["ab", "xyz"])).unwrap()[..],
            b"\x02abxyz"
        );
        assert_eq!(decode(b"\x02ab").unwrap(), Multipart::from("ab"));
        assert!(decode(b"").is_err());
        assert!(decode(b"\x05ab").unwrap_err().contains("exceeds"));
        let big = Multipart::from(["t".to_string(), "x".repeat(MAX_DATAGRAM)]);
        assert!(check(&big).unwrap_err().contains("limit is 8192"));
        assert!(check(&Multipart::from("t".repeat(256)))
            .unwrap_err()
            .contains("255"));
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes);
        }
    }
}
