//! Frames and multipart messages.

use bytes::Bytes;
use smallvec::SmallVec;

/// Frames a message holds without a heap allocation of its own (a topic and a body).
const INLINE_FRAMES: usize = 2;

/// One frame of a message: a reference-counted byte buffer. Cloning a frame never copies the
/// payload, so fan-out to many peers costs one reference count per peer.
pub type Frame = Bytes;

/// A message of one or more frames, delivered atomically and in order.
///
/// ```
/// use actormq_transports::Multipart;
///
/// let mut msg = Multipart::from("topic");
/// msg.push("body");
/// assert_eq!(msg.frames()[1], "body");
/// assert_eq!(msg.byte_len(), 9);
/// ```
///
/// Messages of up to two frames are stored inline: building, queueing and dropping one costs
/// no allocation beyond its frames'.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Multipart(SmallVec<[Frame; INLINE_FRAMES]>);

impl Multipart {
    /// An empty message (no frames yet).
    #[inline]
    pub fn new() -> Self {
        Self(SmallVec::new())
    }

    /// An empty message with room for `n` frames.
    pub fn with_capacity(n: usize) -> Self {
        Self(SmallVec::with_capacity(n))
    }

    /// Appends a frame.
    pub fn push(&mut self, frame: impl Into<Frame>) {
        self.0.push(frame.into());
    }

    /// Inserts a frame in front of the others (an envelope or a topic).
    pub fn push_front(&mut self, frame: impl Into<Frame>) {
        self.0.insert(0, frame.into());
    }

    /// Removes and returns the first frame.
    pub fn pop_front(&mut self) -> Option<Frame> {
        if self.0.is_empty() {
            None
        } else {
            Some(self.0.remove(0))
        }
    }

    /// The frames, in order.
    #[inline]
    pub fn frames(&self) -> &[Frame] {
        &self.0
    }

    /// The frames, in order, to change in place (the number of frames stays as it is).
    ///
    /// ```
    /// use actormq_transports::Multipart;
    ///
    /// let mut msg = Multipart::from(["topic", "body"]);
    /// msg.frames_mut()[1] = "new body".into();
    /// assert_eq!(msg, Multipart::from(["topic", "new body"]));
    /// ```
    pub fn frames_mut(&mut self) -> &mut [Frame] {
        &mut self.0
    }

    /// The first frame (the topic of a PUB/SUB message), if any.
    #[inline]
    pub fn first(&self) -> Option<&Frame> {
        self.0.first()
    }

    /// Number of frames.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the message has no frame.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Total payload bytes over all frames.
    #[inline]
    pub fn byte_len(&self) -> usize {
        self.0.iter().map(Bytes::len).sum()
    }

    /// Iterates over the frames.
    #[inline]
    pub fn iter(&self) -> std::slice::Iter<'_, Frame> {
        self.0.iter()
    }

    /// The frames as a vector.
    pub fn into_vec(self) -> Vec<Frame> {
        self.0.into_vec()
    }
}

impl From<Vec<Frame>> for Multipart {
    fn from(frames: Vec<Frame>) -> Self {
        Self(SmallVec::from_vec(frames))
    }
}

impl From<Frame> for Multipart {
    #[inline]
    fn from(frame: Frame) -> Self {
        Self(smallvec::smallvec![frame])
    }
}

impl From<&'static str> for Multipart {
    fn from(s: &'static str) -> Self {
        Self::from(Bytes::from_static(s.as_bytes()))
    }
}

impl From<String> for Multipart {
    fn from(s: String) -> Self {
        Self::from(Bytes::from(s))
    }
}

impl From<Vec<u8>> for Multipart {
    #[inline]
    fn from(v: Vec<u8>) -> Self {
        Self::from(Bytes::from(v))
    }
}

impl<T: Into<Frame>, const N: usize> From<[T; N]> for Multipart {
    fn from(frames: [T; N]) -> Self {
        Self(frames.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Frame>> FromIterator<T> for Multipart {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Self(iter.into_iter().map(Into::into).collect())
    }
}

impl IntoIterator for Multipart {
    type Item = Frame;
    type IntoIter = smallvec::IntoIter<[Frame; INLINE_FRAMES]>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Multipart {
    type Item = &'a Frame;
    type IntoIter = std::slice::Iter<'a, Frame>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
