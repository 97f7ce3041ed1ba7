//! Small messages crossing an in-process pipe share one buffer per batch.
//!
//! A message's buffers are usually allocated by the sending thread and, over `inproc://`, freed
//! by the receiving one. For small messages that cross-thread free costs more than the message
//! itself: the allocator's per-thread caches run dry on the sender and overflow on the receiver
//! (glibc then takes an arena lock on every call). A stream transport never pays this: the
//! sender frees its buffers once they are encoded, and the receiver's frames are slices of its
//! read buffer. The in-process pipe does the same for small messages, much as libzmq keeps
//! messages of up to 33 bytes inside the message itself: a batch's small frames are copied into
//! one buffer, the originals are freed where they were allocated, and the receiver gets slices
//! of that buffer (one allocation, and one cross-thread free, per batch). Larger messages cross
//! as they are, without a copy.

use actormq_transports::Multipart;
use bytes::BytesMut;

/// Messages of at most this many bytes (all frames together) are packed.
pub(crate) const PACK_MAX: usize = 512;

fn small(msg: &Multipart) -> Option<usize> {
    let n = msg.byte_len();
    (n > 0 && n <= PACK_MAX).then_some(n)
}

/// Copies the frames of the small messages among `msgs` into one shared buffer, when there
/// are at least two of them; every message keeps its frames and their contents.
pub(crate) fn pack_small(msgs: &mut [Multipart]) {
    let (count, bytes) = msgs
        .iter()
        .filter_map(small)
        .fold((0, 0), |(count, bytes), n| (count + 1, bytes + n));
    if count < 2 {
        return;
    }
    let mut buffer = BytesMut::with_capacity(bytes);
    for msg in msgs.iter_mut().filter(|m| small(m).is_some()) {
        for frame in msg.frames_mut() {
            buffer.extend_from_slice(frame);
            *frame = buffer.split().freeze();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn small_messages_keep_their_frames_and_large_ones_are_not_copied() {
        let big = Bytes::from(vec![7u8; PACK_MAX + 1]);
        let mut msgs: Vec<Multipart> = (0..500u32)
            .map(|i| Multipart::from(Bytes::from(i.to_le_bytes().repeat(i as usize % 40))))
            .collect();
        msgs.push(Multipart::from(["", "topic", "body"]));
        msgs.push(Multipart::from(big.clone()));
        let before = msgs.clone();
        pack_small(&mut msgs);
        assert_eq!(msgs, before);
        // the large message is the very buffer, not a copy
        assert_eq!(msgs[501].frames()[0].as_ptr(), big.as_ptr());
        // the small ones now share one buffer: consecutive frames are adjacent
        let (a, b) = (&msgs[1].frames()[0], &msgs[2].frames()[0]);
        assert_eq!(a.as_ptr().wrapping_add(a.len()), b.as_ptr());
    }

    #[test]
    fn a_lone_small_message_is_left_alone() {
        let body = Bytes::from_static(b"only one");
        let mut msgs = vec![Multipart::from(body.clone())];
        pack_small(&mut msgs);
        assert_eq!(msgs[0].frames()[0].as_ptr(), body.as_ptr());
    }
}
