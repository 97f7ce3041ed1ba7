//! RESP, the Redis protocol, sans-IO: what a subscriber connection needs. Commands are encoded
//! as arrays of bulk strings; replies and pushed messages are decoded from a buffer, one whole
//! value at a time, every length checked against a limit before anything is buffered for it.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Largest bulk string accepted from the server (a pushed message's payload): 64 MiB.
pub const MAX_BULK: usize = 64 << 20;

/// Most elements accepted in one array (a pushed message has 3 or 4).
pub const MAX_ARRAY: usize = 64;

/// Most bytes one reply may take, all its parts together: one largest bulk string and room
/// for the rest of a pushed message.
pub const MAX_REPLY: usize = MAX_BULK + 64 * 1024;

/// Deepest nesting of arrays accepted.
const MAX_DEPTH: usize = 4;

/// Longest line (a simple string, an error, a length) accepted.
const MAX_LINE: usize = 64 * 1024;

/// A RESP value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `+OK`
    Simple(Bytes),
    /// `-ERR ...`
    Error(Bytes),
    /// `:1`
    Int(i64),
    /// `$3 abc`, or `$-1` (none).
    Bulk(Option<Bytes>),
    /// `*2 ...`, or `*-1` (none).
    Array(Option<Vec<Value>>),
}

impl Value {
    /// The bytes of a bulk or simple string.
    pub fn bytes(&self) -> Option<&Bytes> {
        match self {
            Value::Bulk(Some(b)) | Value::Simple(b) => Some(b),
            _ => None,
        }
    }
}

/// Appends a command (its arguments as an array of bulk strings) to `out`.
///
/// ```
/// let mut out = bytes::BytesMut::new();
/// actormq_transports::resp::encode_command(&[b"PSUBSCRIBE", b"news*"], &mut out);
/// assert_eq!(&out[..], b"*2\r\n$10\r\nPSUBSCRIBE\r\n$5\r\nnews*\r\n");
/// ```
pub fn encode_command(args: &[&[u8]], out: &mut BytesMut) {
    out.put_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.put_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.put_slice(arg);
        out.put_slice(b"\r\n");
    }
}

/// Decodes the next whole value at the front of `buf`, removing its bytes; `Ok(None)` when more
/// bytes are needed; an error when the server broke the protocol or a limit (a reply still
/// incomplete past [`MAX_REPLY`] bytes is one).
///
/// ```
/// use actormq_transports::resp::{decode, Value};
/// let mut buf = bytes::BytesMut::from(&b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n:5"[..]);
/// let v = decode(&mut buf).unwrap().unwrap();
/// assert!(matches!(v, Value::Array(Some(ref items)) if items.len() == 3));
/// assert_eq!(decode(&mut buf).unwrap(), None); // ":5" has no CRLF yet
/// ```
pub fn decode(buf: &mut BytesMut) -> Result<Option<Value>, String> {
    match parse(&buf[..], 0)? {
        None if buf.len() > MAX_REPLY => {
            Err(format!("a RESP reply of more than {MAX_REPLY} bytes"))
        }
        None => Ok(None),
        Some((value, used)) => {
            buf.advance(used);
            Ok(Some(value))
        }
    }
}

/// A line ending at CRLF from `at`: its bytes and where the next begins.
fn line(buf: &[u8], at: usize) -> Result<Option<(&[u8], usize)>, String> {
    let rest = &buf[at..];
    match rest.windows(2).position(|w| w == b"\r\n") {
        Some(end) => Ok(Some((&rest[..end], at + end + 2))),
        None if rest.len() > MAX_LINE => Err(format!("a RESP line longer than {MAX_LINE} bytes")),
        None => Ok(None),
    }
}

fn number(text: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| format!("not a RESP number: {:?}", String::from_utf8_lossy(text)))
}

/// A length: -1 for none, else at most `max`.
fn length(text: &[u8], max: usize, what: &str) -> Result<Option<usize>, String> {
    match number(text)? {
        -1 => Ok(None),
        n if n < 0 => Err(format!("a negative RESP {what} length: {n}")),
        n if n as u64 > max as u64 => Err(format!("a RESP {what} of {n}, over the limit of {max}")),
        n => Ok(Some(n as usize)),
    }
}

fn parse(buf: &[u8], depth: usize) -> Result<Option<(Value, usize)>, String> {
    let Some(&kind) = buf.first() else {
        return Ok(None);
    };
    let Some((text, next)) = line(buf, 1)? else {
        return Ok(None);
    };
    let value = match kind {
        b'+' => Value::Simple(Bytes::copy_from_slice(text)),
        b'-' => Value::Error(Bytes::copy_from_slice(text)),
        b':' => Value::Int(number(text)?),
        b'$' => match length(text, MAX_BULK, "bulk string")? {
            None => Value::Bulk(None),
            Some(n) => {
                if buf.len() < next + n + 2 {
                    return Ok(None);
                }
                if &buf[next + n..next + n + 2] != b"\r\n" {
                    return Err("a RESP bulk string without its CRLF".into());
                }
                let value = Value::Bulk(Some(Bytes::copy_from_slice(&buf[next..next + n])));
                return Ok(Some((value, next + n + 2)));
            }
        },
        b'*' => {
            if depth >= MAX_DEPTH {
                return Err(format!("RESP arrays nested deeper than {MAX_DEPTH}"));
            }
            match length(text, MAX_ARRAY, "array")? {
                None => Value::Array(None),
                Some(n) => {
                    let (mut items, mut at) = (Vec::with_capacity(n), next);
                    for _ in 0..n {
                        match parse(&buf[at..], depth + 1)? {
                            None => return Ok(None),
                            Some((item, used)) => {
                                items.push(item);
                                at += used;
                            }
                        }
                    }
                    return Ok(Some((Value::Array(Some(items)), at)));
                }
            }
        }
        other => return Err(format!("not a RESP type: byte 0x{other:02x}")),
    };
    Ok(Some((value, next)))
}

/// Escapes Redis glob characters (`*`, `?`, `[`, `]`, `\`) so that `prefix` matches itself
/// only, and appends `*`: the PSUBSCRIBE pattern of a ZeroMQ prefix subscription.
///
/// ```
/// assert_eq!(actormq_transports::resp::prefix_pattern(b"a*b"), b"a\\*b*");
/// ```
pub fn prefix_pattern(prefix: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + 2);
    for &b in prefix {
        if matches!(b, b'*' | b'?' | b'[' | b']' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'*');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pushed(pattern: &[u8], channel: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode_command(&[b"pmessage", pattern, channel, payload], &mut out);
        out.to_vec()
    }

    #[test]
    fn decodes_pushed_messages_replies_and_errors() {
        let mut buf = BytesMut::new();
        buf.put_slice(&pushed(b"pers*", b"persian", b"bowler"));
        buf.put_slice(b"-ERR wrong\r\n:1\r\n$-1\r\n*-1\r\n+OK\r\n");
        let first = decode(&mut buf).unwrap().unwrap();
        let Value::Array(Some(items)) = first else {
            panic!()
        };
        let texts: Vec<_> = items.iter().map(|v| v.bytes().unwrap().clone()).collect();
        assert_eq!(texts, ["pmessage", "pers*", "persian", "bowler"]);
        assert_eq!(
            decode(&mut buf).unwrap(),
            Some(Value::Error("ERR wrong".into()))
        );
        assert_eq!(decode(&mut buf).unwrap(), Some(Value::Int(1)));
        assert_eq!(decode(&mut buf).unwrap(), Some(Value::Bulk(None)));
        assert_eq!(decode(&mut buf).unwrap(), Some(Value::Array(None)));
        assert_eq!(decode(&mut buf).unwrap(), Some(Value::Simple("OK".into())));
        assert!(buf.is_empty());
    }

    #[test]
    fn limits_are_checked_before_buffering() {
        for bad in [
            &b"$99999999999\r\n"[..],
            b"*100000\r\n",
            b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n",
            b"$-5\r\n",
            b"?what\r\n",
            b"$2\r\nabcd",
        ] {
            assert!(decode(&mut BytesMut::from(bad)).is_err(), "{bad:?}");
        }
        let endless = vec![b'+'; MAX_LINE + 10];
        assert!(decode(&mut BytesMut::from(&endless[..])).is_err());
        // each bulk string within its limit, the reply as a whole past its own
        let half = MAX_BULK / 2 + 1024;
        let mut big = BytesMut::new();
        big.put_slice(format!("*3\r\n${half}\r\n").as_bytes());
        big.put_slice(&vec![b'x'; half]);
        big.put_slice(format!("\r\n${half}\r\n").as_bytes());
        big.put_slice(&vec![b'y'; half]);
        big.put_slice(format!("\r\n${half}\r\n").as_bytes());
        big.put_slice(&vec![b'z'; 128 * 1024]);
        assert!(big.len() > MAX_REPLY);
        assert!(decode(&mut big).unwrap_err().contains("more than"));
    }

    proptest! {
        #[test]
        fn any_split_decodes_the_same(payload in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..400) {
            let bytes = pushed(b"t*", b"topic", &payload);
            let cut = cut.min(bytes.len());
            let mut buf = BytesMut::from(&bytes[..cut]);
            let early = decode(&mut buf).unwrap();
            if cut < bytes.len() {
                prop_assert!(early.is_none());
                buf.put_slice(&bytes[cut..]);
                let v = decode(&mut buf).unwrap().unwrap();
                let Value::Array(Some(items)) = v else { panic!() };
                prop_assert_eq!(&items[3].bytes().unwrap()[..], &payload[..]);
            } else {
                prop_assert!(early.is_some());
            }
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = decode(&mut buf) {}
        }
    }
}
