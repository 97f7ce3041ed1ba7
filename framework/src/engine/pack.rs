//! What an in-process pipe carries: runs of small messages packed, others as they are.
//!
//! A message's buffers are usually allocated by the sending thread and, over `inproc://`, would
//! be freed by the receiving one. For small messages that cross-thread free costs more than the
//! message itself: the allocator's per-thread caches run dry on the sender and overflow on the
//! receiver (glibc then takes an arena lock on every call). A stream transport never pays this:
//! the sender frees its buffers once they are encoded, and the receiver's frames are slices of
//! its read buffer. The in-process pipe does the same for small messages, much as libzmq keeps
//! messages of up to 33 bytes inside the message itself: the sender copies a run of small
//! messages into one buffer, with each frame's length beside it, and frees the originals where
//! they were allocated; the receiver rebuilds the messages as slices of that buffer. Only the
//! bytes and the lengths cross between the threads' caches, not the message structures, and
//! the sender is spared cutting the slices (a reference count each): it is usually the busier
//! of the two, as it also builds every message. Larger messages cross as they are, without a
//! copy.

use std::collections::VecDeque;

use actormq_transports::Multipart;
use bytes::{Bytes, BytesMut};

/// What a message counts for against `rcvhwm_bytes`: its bytes, plus
/// [`crate::options::FRAME_OVERHEAD`] per frame.
#[inline]
pub(crate) fn cost(msg: &Multipart) -> usize {
    msg.byte_len()
        .saturating_add(msg.len().saturating_mul(crate::options::FRAME_OVERHEAD))
}

/// What messages count for (the sum of their [`cost`]s), and their bytes, in one pass.
pub(crate) fn weigh<'a>(msgs: impl Iterator<Item = &'a Multipart>) -> (usize, usize) {
    msgs.fold((0usize, 0usize), |(c, b), m| {
        let bytes = m.byte_len();
        (
            c.saturating_add(bytes.saturating_add(m.len() * crate::options::FRAME_OVERHEAD)),
            b.saturating_add(bytes),
        )
    })
}

/// Messages of at most this many bytes (all frames together) are packed.
pub(crate) const PACK_MAX: usize = 512;

/// In a packed frame length: another frame of the same message follows.
const MORE: u32 = 1 << 31;

/// Whether a message is packed (one with no frame at all has nothing to pack, and its absence
/// of frames could not be written down as frame lengths).
fn small(msg: &Multipart) -> bool {
    !msg.is_empty() && msg.byte_len() <= PACK_MAX
}

/// Messages packed into one buffer, rebuilt one at a time on the receiving side.
pub(crate) struct Packed {
    payload: Bytes,
    /// Each frame's length, with [`MORE`] on all but a message's last.
    lens: Vec<u32>,
    /// The index in `lens` of the next message's first frame.
    next: usize,
    /// Messages not yet taken.
    msgs: usize,
}

impl Packed {
    fn pop(&mut self) -> Option<Multipart> {
        self.msgs = self.msgs.checked_sub(1)?;
        let mut msg = Multipart::new();
        while let Some(&len) = self.lens.get(self.next) {
            self.next += 1;
            let n = (len & !MORE) as usize;
            msg.push(if n >= self.payload.len() {
                std::mem::take(&mut self.payload)
            } else {
                self.payload.split_to(n)
            });
            if len & MORE == 0 {
                break;
            }
        }
        Some(msg)
    }
}

/// A stretch of an in-process peer's inbound queue, in the order the messages were sent.
pub(crate) enum Segment {
    /// Messages as they were sent.
    Plain(VecDeque<Multipart>),
    /// Small messages, packed.
    Packed(Packed),
}

impl Segment {
    /// Messages left in this stretch.
    pub(crate) fn len(&self) -> usize {
        match self {
            Segment::Plain(q) => q.len(),
            Segment::Packed(p) => p.msgs,
        }
    }

    /// What the messages left count for (the sum of their [`cost`]s), and their bytes.
    pub(crate) fn weigh(&self) -> (usize, usize) {
        match self {
            Segment::Plain(q) => weigh(q.iter()),
            Segment::Packed(p) => (
                p.payload.len().saturating_add(
                    (p.lens.len() - p.next).saturating_mul(crate::options::FRAME_OVERHEAD),
                ),
                p.payload.len(),
            ),
        }
    }

    /// Takes the next message.
    pub(crate) fn pop(&mut self) -> Option<Multipart> {
        match self {
            Segment::Plain(q) => q.pop_front(),
            Segment::Packed(p) => p.pop(),
        }
    }
}

/// Takes the first `n` messages of `batch` and returns them as segments, runs of at least two
/// small messages packed if `pack`. A whole batch with nothing to pack is taken by exchanging
/// buffers.
pub(crate) fn segments(batch: &mut VecDeque<Multipart>, n: usize, pack: bool) -> Vec<Segment> {
    let n = n.min(batch.len());
    let (smalls, bytes, frames) = batch
        .iter()
        .take(n)
        .filter(|m| small(m))
        .fold((0, 0, 0), |(count, bytes, frames), m| {
            (count + 1, bytes + m.byte_len(), frames + m.len())
        });
    if n == 0 {
        return Vec::new();
    }
    if smalls < 2 || !pack {
        let plain = if n == batch.len() {
            std::mem::take(batch)
        } else {
            batch.drain(..n).collect()
        };
        return vec![Segment::Plain(plain)];
    }
    let mut out = Vec::new();
    let mut payload = BytesMut::with_capacity(bytes);
    let mut run = Packed {
        payload: Bytes::new(),
        lens: Vec::with_capacity(frames),
        next: 0,
        msgs: 0,
    };
    let mut plain = VecDeque::new();
    for msg in batch.drain(..n) {
        if !small(&msg) {
            if run.msgs > 0 {
                out.push(Segment::Packed(finish(&mut run, &mut payload)));
            }
            plain.push_back(msg);
            continue;
        }
        if !plain.is_empty() {
            out.push(Segment::Plain(std::mem::take(&mut plain)));
        }
        let last = msg.len().saturating_sub(1);
        for (i, frame) in msg.iter().enumerate() {
            payload.extend_from_slice(frame);
            // a small message's frames fit in a u32 by far
            let len = frame.len() as u32;
            run.lens.push(if i < last { len | MORE } else { len });
        }
        run.msgs += 1;
    }
    if run.msgs > 0 {
        out.push(Segment::Packed(finish(&mut run, &mut payload)));
    }
    if !plain.is_empty() {
        out.push(Segment::Plain(plain));
    }
    out
}

/// Closes a run: its bytes so far become its payload, and `run` starts afresh.
fn finish(run: &mut Packed, payload: &mut BytesMut) -> Packed {
    let lens = std::mem::take(&mut run.lens);
    let msgs = std::mem::take(&mut run.msgs);
    Packed {
        payload: payload.split().freeze(),
        lens,
        next: 0,
        msgs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unpack(segments: Vec<Segment>) -> Vec<Multipart> {
        let mut out = Vec::new();
        for mut s in segments {
            while let Some(m) = s.pop() {
                out.push(m);
            }
            assert_eq!(s.len(), 0);
        }
        out
    }

    #[test]
    fn small_messages_come_back_whole_in_order_and_large_ones_are_not_copied() {
        let big = Bytes::from(vec![7u8; PACK_MAX + 1]);
        let mut msgs: VecDeque<Multipart> = (0..500u32)
            .map(|i| Multipart::from(Bytes::from(i.to_le_bytes().repeat(i as usize % 40))))
            .collect();
        msgs.insert(250, Multipart::from(big.clone()));
        msgs.push_back(Multipart::from(["", "topic", "body"]));
        msgs.push_back(Multipart::new());
        msgs.push_back(Multipart::from(big.clone()));
        let before: Vec<Multipart> = msgs.iter().cloned().collect();
        let segs = segments(&mut msgs, before.len(), true);
        assert!(msgs.is_empty());
        // packed, large, packed, no frame and large
        let kinds: Vec<bool> = segs
            .iter()
            .map(|s| matches!(s, Segment::Packed(_)))
            .collect();
        assert_eq!(kinds, [true, false, true, false]);
        let after = unpack(segs);
        assert_eq!(after, before);
        // the large messages are the very buffer, not a copy
        assert_eq!(after[250].frames()[0].as_ptr(), big.as_ptr());
        // the small ones are slices of one buffer: consecutive frames are adjacent
        let (a, b) = (&after[1].frames()[0], &after[2].frames()[0]);
        assert_eq!(a.as_ptr().wrapping_add(a.len()), b.as_ptr());
    }

    #[test]
    fn only_the_first_n_are_taken() {
        let mut msgs: VecDeque<Multipart> = ["a", "b", "c", "d"].map(Multipart::from).into();
        let segs = segments(&mut msgs, 3, true);
        assert_eq!(unpack(segs), ["a", "b", "c"].map(Multipart::from));
        assert_eq!(msgs, [Multipart::from("d")]);
    }

    proptest::proptest! {
        /// Whatever the mix of sizes and frame counts, and wherever the batch is cut, the
        /// messages taken come back as they were sent and the rest stay queued in order.
        #[test]
        fn any_batch_comes_back_as_sent(
            msgs in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::collection::vec(proptest::num::u8::ANY, 0..300),
                    0..4,
                ),
                0..40,
            ),
            cut in 0usize..45,
        ) {
            let msgs: Vec<Multipart> = msgs
                .into_iter()
                .map(|frames| frames.into_iter().map(Bytes::from).collect())
                .collect();
            let mut batch: VecDeque<Multipart> = msgs.iter().cloned().collect();
            let taken = unpack(segments(&mut batch, cut, true));
            let n = cut.min(msgs.len());
            proptest::prop_assert_eq!(&taken[..], &msgs[..n]);
            proptest::prop_assert!(batch.iter().eq(&msgs[n..]));
        }
    }

    #[test]
    fn a_lone_small_message_is_left_alone() {
        let body = Bytes::from_static(b"only one");
        let mut msgs = VecDeque::from([Multipart::from(body.clone())]);
        let segs = segments(&mut msgs, 1, true);
        assert!(matches!(segs[..], [Segment::Plain(_)]));
        assert_eq!(unpack(segs)[0].frames()[0].as_ptr(), body.as_ptr());
    }
}
