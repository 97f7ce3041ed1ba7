//! ZMTP frames: the decoder of inbound bytes and the encoders of messages and commands.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::{Command, ProtocolError, FLAG_COMMAND, FLAG_LONG, FLAG_MORE};
use crate::Multipart;

/// Largest command body accepted after the handshake (subscriptions, PING): 1 MiB.
pub const MAX_COMMAND_SIZE: u64 = 1 << 20;

/// Largest command body accepted during the handshake (READY and its metadata, or a security
/// mechanism's commands): 8 KiB. libzmq's own READY is under 100 bytes.
pub const MAX_HANDSHAKE_COMMAND_SIZE: u64 = 8 * 1024;

/// Default cap on the frames of one inbound message (`max_frames`): 1024. libzmq has none; a
/// message of many empty frames would otherwise cost ~32 bytes of memory per 2 bytes of wire.
pub const DEFAULT_MAX_FRAMES: usize = 1024;

/// What a read buffer may reserve ahead for the rest of a frame at most, beyond what the frame
/// already holds: a declared length is never trusted, so a frame trickled in costs at most about
/// twice what has arrived of it, plus this.
const RESERVE_AHEAD: usize = 64 * 1024;

/// Frames smaller than this are copied out of the read buffer; larger ones are shared with it.
/// A read buffer that a frame still shares cannot be reused for the next read: a new one is
/// allocated, and at high rates that churn of large allocations can make the C allocator give
/// memory back and fault it in again (4 KiB messages over tcp ran at a third of their rate in
/// some runs, with hundreds of thousands of page faults; copied, they run at 1.6–1.7 M msg/s
/// every time). Frames of 8 KiB and more are shared: copying them costs more than it saves.
const COPY_BELOW: usize = 8 * 1024;

/// Frames smaller than this are copied into shared chunks (see [`SMALL_CHUNK`]); larger ones
/// (below [`COPY_BELOW`]) into a buffer each.
const SMALL_BELOW: usize = 1024;

/// Small frames are copied into shared chunks of this many bytes, one after the other: one
/// allocation per chunk rather than per frame. A chunk is freed when no frame in it is left, so
/// a small frame kept for long keeps at most this much alive (libzmq's received messages share
/// its read buffer likewise).
const SMALL_CHUNK: usize = 16 * 1024;

/// What the decoder produces: a whole message or a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A complete multipart message.
    Message(Multipart),
    /// A command frame.
    Command(Command),
}

/// Decodes ZMTP frames from a byte buffer, sans-IO.
///
/// Feed it whatever bytes have arrived; it returns `Ok(None)` when it needs more, and an error
/// when the peer broke the protocol (the connection must then close). Every declared size is
/// checked against the limits before anything is buffered for it.
#[derive(Debug)]
pub struct Decoder {
    max_msg_size: Option<u64>,
    max_frames: Option<usize>,
    max_command_size: u64,
    frames: Multipart,
    msg_size: u64,
    /// Where small frames are copied to (see [`SMALL_CHUNK`]).
    small: BytesMut,
}

impl Decoder {
    /// A decoder that rejects messages larger than `max_msg_size` bytes (summed over frames),
    /// messages of more than [`DEFAULT_MAX_FRAMES`] frames and commands larger than
    /// [`MAX_COMMAND_SIZE`].
    pub fn new(max_msg_size: Option<u64>) -> Self {
        Decoder {
            max_msg_size,
            max_frames: Some(DEFAULT_MAX_FRAMES),
            max_command_size: MAX_COMMAND_SIZE,
            frames: Multipart::new(),
            msg_size: 0,
            small: BytesMut::new(),
        }
    }

    /// Sets the cap on the frames of one message (`None`: no cap).
    #[must_use]
    pub fn with_max_frames(mut self, max_frames: Option<usize>) -> Self {
        self.max_frames = max_frames;
        self
    }

    /// Sets the largest command body accepted.
    #[must_use]
    pub fn with_max_command_size(mut self, max: u64) -> Self {
        self.max_command_size = max;
        self
    }

    /// The message being assembled: its frames so far and their bytes. Never more than the
    /// limits allow.
    pub fn partial(&self) -> (usize, u64) {
        (self.frames.len(), self.msg_size)
    }

    /// Decodes the next message or command from the front of `buf`, consuming its bytes.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Inbound>, ProtocolError> {
        Ok(match self.decode_raw(buf)? {
            Some(Raw::Message(m)) => Some(Inbound::Message(m)),
            Some(Raw::Command(body)) => Some(Inbound::Command(Command::decode_body(&body)?)),
            None => None,
        })
    }

    /// Like [`Decoder::decode`], but a command comes out as its unparsed body (`name-len name
    /// data`), for a security mechanism's own commands and the session's dispatch.
    pub(crate) fn decode_raw(&mut self, buf: &mut BytesMut) -> Result<Option<Raw>, ProtocolError> {
        loop {
            if buf.len() < 2 {
                return Ok(None);
            }
            let flags = buf[0];
            if flags & !(FLAG_MORE | FLAG_LONG | FLAG_COMMAND) != 0 {
                return Err(ProtocolError::ReservedFlags { flags });
            }
            let (header, size) = if flags & FLAG_LONG != 0 {
                if buf.len() < 9 {
                    return Ok(None);
                }
                let mut s = [0u8; 8];
                s.copy_from_slice(&buf[1..9]);
                (9usize, u64::from_be_bytes(s))
            } else {
                (2usize, u64::from(buf[1]))
            };
            let is_command = flags & FLAG_COMMAND != 0;
            if is_command {
                if flags & FLAG_MORE != 0 {
                    return Err(ProtocolError::CommandWithMore);
                }
                if size > self.max_command_size {
                    return Err(ProtocolError::CommandTooLarge {
                        size,
                        max: self.max_command_size,
                    });
                }
            } else {
                if let Some(max) = self.max_frames {
                    if self.frames.len() >= max {
                        return Err(ProtocolError::TooManyFrames { max });
                    }
                }
                let total = self.msg_size.saturating_add(size);
                let max = self.max_msg_size.unwrap_or(i64::MAX as u64);
                if total > max {
                    return Err(ProtocolError::MessageTooLarge { size: total, max });
                }
            }
            let Ok(size) = usize::try_from(size) else {
                // only on targets with a usize smaller than 64 bits
                return Err(ProtocolError::MessageTooLarge {
                    size,
                    max: usize::MAX as u64,
                });
            };
            let needed = header.saturating_add(size);
            if buf.len() < needed {
                // Ask for room for the rest of this frame in steps no larger than what has
                // arrived (or `RESERVE_AHEAD`): a declared length is not trusted with memory.
                buf.reserve((needed - buf.len()).min(buf.len().max(RESERVE_AHEAD)));
                return Ok(None);
            }
            buf.advance(header);
            let body = if (SMALL_BELOW..COPY_BELOW).contains(&size) {
                // A mid-sized frame is copied into a buffer of its own: the read buffer then
                // stays unshared and is reused by the next read, rather than reallocated
                let body = Bytes::copy_from_slice(&buf[..size]);
                buf.advance(size);
                body
            } else if size < COPY_BELOW {
                // A small frame is copied out, so that it does not keep the whole read buffer
                // alive while it waits in a queue: into the current chunk.
                if self.small.capacity() - self.small.len() < size {
                    self.small = BytesMut::with_capacity(SMALL_CHUNK);
                }
                self.small.extend_from_slice(&buf[..size]);
                buf.advance(size);
                self.small.split().freeze()
            } else {
                buf.split_to(size).freeze()
            };
            if is_command {
                return Ok(Some(Raw::Command(body)));
            }
            self.msg_size += size as u64;
            self.frames.push(body);
            if flags & FLAG_MORE == 0 {
                self.msg_size = 0;
                return Ok(Some(Raw::Message(std::mem::take(&mut self.frames))));
            }
        }
    }
}

/// A decoded item before command parsing.
pub(crate) enum Raw {
    Message(Multipart),
    /// A command body: `name-len name data`.
    Command(Bytes),
}

pub(crate) fn put_frame_header(out: &mut BytesMut, flags: u8, len: usize) {
    if len <= 255 {
        out.put_u8(flags);
        out.put_u8(len as u8);
    } else {
        out.put_u8(flags | FLAG_LONG);
        out.put_u64(len as u64);
    }
}

/// Appends a message's frames to `out` (short sizes up to 255 bytes, long above).
pub fn encode_message(msg: &Multipart, out: &mut BytesMut) {
    out.reserve(msg.byte_len() + 9 * msg.len());
    let last = msg.len().saturating_sub(1);
    for (i, frame) in msg.iter().enumerate() {
        let flags = if i < last { FLAG_MORE } else { 0 };
        put_frame_header(out, flags, frame.len());
        out.put_slice(frame);
    }
}

/// Appends a SUBSCRIBE (`subscribe`) or CANCEL command for `topic`, without an intermediate
/// buffer.
pub(crate) fn encode_subscription(subscribe: bool, topic: &[u8], out: &mut BytesMut) {
    let name: &[u8] = if subscribe { b"SUBSCRIBE" } else { b"CANCEL" };
    put_frame_header(out, FLAG_COMMAND, 1 + name.len() + topic.len());
    out.put_u8(name.len() as u8);
    out.put_slice(name);
    out.put_slice(topic);
}

/// Appends a command frame to `out`.
pub fn encode_command(cmd: &Command, out: &mut BytesMut) {
    let mut body = BytesMut::new();
    cmd.encode_body(&mut body);
    put_frame_header(out, FLAG_COMMAND, body.len());
    out.put_slice(&body);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zmtp::Metadata;
    use proptest::prelude::*;

    fn decode_all(
        decoder: &mut Decoder,
        buf: &mut BytesMut,
    ) -> Result<Vec<Inbound>, ProtocolError> {
        let mut out = Vec::new();
        while let Some(item) = decoder.decode(buf)? {
            out.push(item);
        }
        Ok(out)
    }

    #[test]
    fn short_and_long_frames_byte_exact() {
        let mut out = BytesMut::new();
        encode_message(&Multipart::from(["", "ab"]), &mut out);
        assert_eq!(&out[..], b"\x01\x00\x00\x02ab");
        let big = Bytes::from(vec![7u8; 256]);
        let mut out = BytesMut::new();
        encode_message(&Multipart::from(big.clone()), &mut out);
        assert_eq!(&out[..9], b"\x02\x00\x00\x00\x00\x00\x00\x01\x00");
        assert_eq!(out.len(), 9 + 256);
        let mut d = Decoder::new(None);
        assert_eq!(
            d.decode(&mut out).unwrap(),
            Some(Inbound::Message(Multipart::from(big)))
        );
    }

    #[test]
    fn long_frame_with_small_size_is_accepted() {
        let mut buf = BytesMut::from(&b"\x02\x00\x00\x00\x00\x00\x00\x00\x03abc"[..]);
        let mut d = Decoder::new(None);
        assert_eq!(
            d.decode(&mut buf).unwrap(),
            Some(Inbound::Message(Multipart::from("abc")))
        );
    }

    #[test]
    fn commands_byte_exact() {
        let cases: Vec<(Command, &[u8])> = vec![
            (
                Command::Subscribe(Bytes::from_static(b"ab")),
                b"\x04\x0c\x09SUBSCRIBE",
            ),
            (
                Command::Cancel(Bytes::from_static(b"ab")),
                b"\x04\x09\x06CANCEL",
            ),
            (
                Command::Ping {
                    ttl: 20,
                    context: Bytes::from_static(b"x"),
                },
                b"\x04\x08\x04PING\x00\x14x",
            ),
            (
                Command::Pong(Bytes::from_static(b"x")),
                b"\x04\x06\x04PONGx",
            ),
            (Command::Error("no".into()), b"\x04\x09\x05ERROR\x02no"),
        ];
        for (cmd, prefix) in cases {
            let mut out = BytesMut::new();
            encode_command(&cmd, &mut out);
            assert!(out.starts_with(prefix), "{cmd:?}: {:02x?}", &out[..]);
            let mut d = Decoder::new(None);
            assert_eq!(d.decode(&mut out).unwrap(), Some(Inbound::Command(cmd)));
        }
    }

    #[test]
    fn ready_matches_libzmq_bytes() {
        // DEALER with identity "AB", as libzmq 4.3.5 sends it.
        let wire =
            b"\x04\x2b\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x02AB";
        let mut meta = Metadata::default();
        meta.insert("Socket-Type", "DEALER");
        meta.insert("Identity", "AB");
        let mut out = BytesMut::new();
        encode_command(&Command::Ready(meta.clone()), &mut out);
        assert_eq!(&out[..], &wire[..]);
        let mut d = Decoder::new(None);
        assert_eq!(
            d.decode(&mut out).unwrap(),
            Some(Inbound::Command(Command::Ready(meta)))
        );
    }

    #[test]
    fn size_limit_is_checked_before_buffering() {
        // declares 2^40 bytes but sends only the header: rejected at once, nothing reserved.
        let mut buf = BytesMut::from(&b"\x02\x00\x00\x01\x00\x00\x00\x00\x00"[..]);
        let mut d = Decoder::new(Some(1 << 20));
        assert!(matches!(
            d.decode(&mut buf),
            Err(ProtocolError::MessageTooLarge { .. })
        ));
        assert!(buf.capacity() < 1 << 20);
        // the limit counts the whole multipart message
        let mut buf = BytesMut::new();
        encode_message(&Multipart::from([vec![0u8; 600], vec![0u8; 600]]), &mut buf);
        let mut d = Decoder::new(Some(1000));
        assert!(matches!(
            d.decode(&mut buf),
            Err(ProtocolError::MessageTooLarge { size: 1200, .. })
        ));
        // commands have their own cap
        let mut buf = BytesMut::from(&b"\x06\x00\x00\x00\x00\x10\x00\x00\x00"[..]);
        assert!(matches!(
            Decoder::new(None).decode(&mut buf),
            Err(ProtocolError::CommandTooLarge { .. })
        ));
    }

    #[test]
    fn empty_more_frames_stop_at_max_frames_and_never_hold_more() {
        let mut d = Decoder::new(None);
        let mut most = 0;
        let mut result = Ok(None);
        // a million empty MORE frames, fed 4 KiB at a time
        let chunk: Vec<u8> = b"\x01\x00".repeat(2048);
        for _ in 0..(1_000_000 / 2048) {
            let mut buf = BytesMut::from(&chunk[..]);
            result = decode_all(&mut d, &mut buf).map(|v| v.into_iter().next());
            most = most.max(d.partial().0);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(ProtocolError::TooManyFrames { max: 1024 }));
        assert!(most <= DEFAULT_MAX_FRAMES, "held {most} frames");
        assert_eq!(
            ProtocolError::TooManyFrames { max: 1024 }.to_string(),
            "message has more than max_frames (1024) frames"
        );
    }

    #[test]
    fn a_declared_frame_is_not_reserved_up_front() {
        // declares 256 MiB (no maxmsgsize), then trickles in: the buffer grows with what
        // arrived, never toward what was declared
        let mut buf = BytesMut::with_capacity(16);
        buf.extend_from_slice(b"\x02\x00\x00\x00\x00\x10\x00\x00\x00x");
        let mut d = Decoder::new(None);
        assert_eq!(d.decode(&mut buf).unwrap(), None);
        assert!(buf.capacity() <= 2 * RESERVE_AHEAD, "{}", buf.capacity());
        for _ in 0..100_000 {
            buf.extend_from_slice(b"y");
            assert_eq!(d.decode(&mut buf).unwrap(), None);
        }
        // about twice what arrived, plus the step
        assert!(
            buf.capacity() <= 2 * (buf.len() + RESERVE_AHEAD),
            "{} for {} received",
            buf.capacity(),
            buf.len()
        );
    }

    #[test]
    fn malformed_frames_are_errors() {
        let cases: &[&[u8]] = &[
            b"\x08\x00",                                  // reserved flag bit
            b"\x05\x05\x04PING",                          // command with MORE
            b"\x04\x00",                                  // empty command body
            b"\x04\x03\x09AB",                            // name longer than body
            b"\x04\x05\x04PING",                          // PING without TTL
            b"\x04\x06\x05ERROR",                         // ERROR without reason length
            b"\x04\x08\x05READY\x00\x00",                 // property with empty name
            b"\x04\x0b\x05READY\x03abc\x00",              // truncated property
            b"\x04\x0f\x05READY\x01a\x00\x00\x00\x09xyz", // value longer than command
            b"\x04\x03\x02\x01\x02",                      // non-alpha command name
        ];
        for case in cases {
            let mut buf = BytesMut::from(*case);
            let r = Decoder::new(None).decode(&mut buf);
            assert!(r.is_err(), "{case:02x?} gave {r:?}");
        }
    }

    fn arb_frame() -> impl Strategy<Value = Bytes> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..20),
            proptest::collection::vec(any::<u8>(), 250..300),
        ]
        .prop_map(Bytes::from)
    }

    fn arb_item() -> impl Strategy<Value = Inbound> {
        prop_oneof![
            proptest::collection::vec(arb_frame(), 1..5)
                .prop_map(|f| Inbound::Message(Multipart::from(f))),
            arb_frame().prop_map(|t| Inbound::Command(Command::Subscribe(t))),
            arb_frame().prop_map(|t| Inbound::Command(Command::Cancel(t))),
            (any::<u16>(), proptest::collection::vec(any::<u8>(), 0..16)).prop_map(|(ttl, c)| {
                Inbound::Command(Command::Ping {
                    ttl,
                    context: Bytes::from(c),
                })
            }),
        ]
    }

    proptest! {
        #[test]
        fn any_sequence_survives_any_split(items in proptest::collection::vec(arb_item(), 1..20),
                                           cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..30)) {
            let mut wire = BytesMut::new();
            for item in &items {
                match item {
                    Inbound::Message(m) => encode_message(m, &mut wire),
                    Inbound::Command(c) => encode_command(c, &mut wire),
                }
            }
            let wire = wire.freeze();
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
            points.push(wire.len());
            points.sort_unstable();
            let mut decoder = Decoder::new(None);
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            let mut at = 0;
            for p in points {
                buf.extend_from_slice(&wire[at..p]);
                at = p;
                got.extend(decode_all(&mut decoder, &mut buf).unwrap());
            }
            prop_assert_eq!(got, items);
            prop_assert!(buf.is_empty());
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut decoder = Decoder::new(Some(1 << 16));
            let mut buf = BytesMut::from(&bytes[..]);
            let _ = decode_all(&mut decoder, &mut buf);
        }
    }
}
