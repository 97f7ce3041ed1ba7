//! Deep queues keep small frames in shared chunks.
//!
//! A queued message costs its [`Multipart`] (72 bytes) plus its frames' buffers. An application
//! builds each frame in a buffer of its own: for a 16-byte frame the C allocator hands out 32
//! bytes, and the frame's storage is more than its bytes. While a queue is short (the default
//! high-water mark is 1000) that does not matter, and the hot path copies nothing. Once a queue
//! holds [`COMPACT_FROM`] messages (a large `sndhwm` toward a slow or absent peer), each small
//! frame that joins it is copied into a shared chunk of [`CHUNK`] bytes and its own buffer
//! freed: such a queue costs its messages' structures plus their bytes (`actormq bench queue`
//! reports the bytes of RSS per queued message).

use actormq_transports::Multipart;
use bytes::BytesMut;

/// Queue length from which small frames joining the queue are compacted.
pub(crate) const COMPACT_FROM: usize = 1024;

/// Frames of at most this many bytes are compacted (larger ones cost little beyond their bytes).
pub(crate) const SMALL_FRAME: usize = 64;

/// The most messages a consumer takes from a deep queue at once (so that it never holds a
/// second copy of a deep queue's buffer, nor many messages beyond the high-water mark).
pub(crate) const TAKE_MAX: usize = 4096;

/// Bytes per shared chunk; a chunk is freed once no frame in it is left.
pub(crate) const CHUNK: usize = 64 * 1024;

/// Copies small frames into shared chunks.
#[derive(Default)]
pub(crate) struct Compactor {
    chunk: BytesMut,
}

impl Compactor {
    /// Moves `msg`'s small frames into the current chunk. A frame that shares its buffer with
    /// others (a fan-out copy, a slice of a read buffer, a chunk already) stays as it is, and so
    /// does a static one: copying those would cost memory, not save it.
    pub(crate) fn compact(&mut self, msg: &mut Multipart) {
        for frame in msg.frames_mut() {
            if frame.is_empty() || frame.len() > SMALL_FRAME || !frame.is_unique() {
                continue;
            }
            if self.chunk.capacity() - self.chunk.len() < frame.len() {
                self.chunk = BytesMut::with_capacity(CHUNK);
            }
            self.chunk.extend_from_slice(frame);
            *frame = self.chunk.split().freeze();
        }
    }

    /// Compacts `msg` when the queue it joins already holds `queued` messages.
    pub(crate) fn joining(&mut self, queued: usize, msg: &mut Multipart) {
        if queued >= COMPACT_FROM {
            self.compact(msg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn small_unique_frames_move_into_a_chunk_and_keep_their_bytes() {
        let mut c = Compactor::default();
        let shared = Bytes::from(vec![9u8; 8]);
        let keep = shared.clone();
        let mut msg = Multipart::from([
            Bytes::from(vec![1u8; 16]),
            Bytes::from(vec![2u8; 100]),
            shared,
        ]);
        let expected = Multipart::from([vec![1u8; 16], vec![2u8; 100], vec![9u8; 8]]);
        c.joining(COMPACT_FROM - 1, &mut msg);
        assert!(msg.frames()[0].is_unique(), "a short queue copies nothing");
        c.compact(&mut msg);
        assert_eq!(msg, expected, "the bytes are the same");
        // the small frame now lives in the chunk: no longer unique; the large and the shared
        // frame were left alone
        assert!(!msg.frames()[0].is_unique());
        assert!(msg.frames()[1].is_unique());
        assert!(!msg.frames()[2].is_unique());
        drop(keep);
        let mut next = Multipart::from(Bytes::from(vec![3u8; 16]));
        c.compact(&mut next);
        let (a, b) = (msg.frames()[0].as_ptr(), next.frames()[0].as_ptr());
        assert_eq!(
            a as usize + 16,
            b as usize,
            "one after the other in one chunk"
        );
        // a chunk that is full gives way to a new one
        for _ in 0..(CHUNK / 16 + 1) {
            let mut m = Multipart::from(Bytes::from(vec![4u8; 16]));
            c.compact(&mut m);
            assert_eq!(m.frames()[0], vec![4u8; 16]);
        }
    }
}
