//! A raw session over a byte stream, for STREAM sockets (libzmq's `ZMQ_STREAM`): no ZMTP, no
//! handshake. Each read is one message of the bytes it brought; each message the socket queues
//! for the peer is written as its frames' bytes, one after the other. An empty message
//! (`[""]`) closes the connection, a message of no frames shuts our side for writing. The
//! application hears of the connection and of its end as an empty message.

use std::cell::Cell;
use std::collections::VecDeque;
use std::time::Duration;

use actormq_patterns::Peer;
use actormq_transports::{BoxedStream, Multipart, SocketType};
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};

use crate::engine::connection::Runner;
use crate::engine::messages::{PeerReadable, PeerWritable};
use crate::engine::queues::peer_in::PeerIn;
use crate::engine::queues::peer_out::PeerOut;
use crate::event::DisconnectReason;

/// Bytes asked of the stream per read: the largest chunk one message carries.
const READ_CHUNK: usize = 64 * 1024;

/// Bytes gathered before a write is issued mid-batch.
const WRITE_CHUNK: usize = 256 * 1024;

/// After the peer shut its side (end of stream), how long our side stays open for what the
/// application still sends it; the application's `[id, ""]` closes it sooner.
pub(crate) const AFTER_PEER_EOF: Duration = Duration::from_secs(1);

/// What the reader and the writer of one raw session tell each other.
#[derive(Default)]
struct Ends {
    /// The peer shut its side: nothing more will be read.
    peer_eof: Cell<bool>,
    /// We shut our side for writing.
    shut: Cell<bool>,
    /// The application was told the peer is gone (an empty message).
    told_gone: Cell<bool>,
    /// Messages the writer took and had not written when the session ended.
    unwritten: Cell<usize>,
}

impl Runner {
    /// Runs a STREAM socket's connection: no handshake; the reader and the writer until the
    /// connection is closed on either side; returns why it ended.
    pub(super) async fn raw_session(
        &self,
        stream: BoxedStream,
        peer_addr: &str,
    ) -> DisconnectReason {
        let peer = Peer::new(self.id, SocketType::Stream);
        let (out, inq) = match self.join(peer, peer_addr, None).await {
            Ok((out, inq, joined)) => {
                self.live(peer_addr, joined);
                (out, inq)
            }
            Err(reason) => return DisconnectReason::Refused(reason),
        };
        // the application hears of a new peer as an empty message from it, as with libzmq
        self.deliver(&inq, Bytes::new());
        let ends = Ends::default();
        let (rd, wr) = tokio::io::split(stream);
        let reason = tokio::select! {
            r = self.raw_read(rd, &inq, &out, &ends) => r,
            r = self.raw_write(wr, &out, &ends) => r,
        };
        self.info.dropped(
            ends.unwritten.get(),
            "messages lost: the raw connection ended before they were written",
        );
        if !ends.told_gone.get() {
            self.deliver(&inq, Bytes::new());
        }
        self.leave(&out);
        reason
    }

    /// Queues one message of `bytes` from the peer for the socket.
    fn deliver(&self, inq: &PeerIn, bytes: Bytes) {
        if inq.push_batch(vec![Multipart::from(bytes)]) {
            self.socket.readable.do_send(PeerReadable);
        }
    }

    /// Queues each read as one message, pausing at `rcvhwm` messages or `rcvhwm_bytes` bytes
    /// (TCP then pushes back on the peer). At the end of the stream the application is told,
    /// and the writer carries on for a while ([`AFTER_PEER_EOF`]); returns on a read error, or
    /// at the end of the stream once our side is shut too.
    async fn raw_read(
        &self,
        mut rd: ReadHalf<BoxedStream>,
        inq: &PeerIn,
        out: &PeerOut,
        ends: &Ends,
    ) -> DisconnectReason {
        let rcvhwm = self.info.options.rcvhwm;
        let mut buf = BytesMut::with_capacity(READ_CHUNK);
        loop {
            if inq.is_full(rcvhwm) {
                inq.wait_below(rcvhwm).await;
            }
            match rd.read_buf(&mut buf).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    return DisconnectReason::ReadError {
                        during_handshake: false,
                        error: e.to_string(),
                    }
                }
            }
            // copied out, so that a chunk costs its length and the buffer is reused (a slice of
            // it would keep the whole buffer alive)
            let chunk = Bytes::copy_from_slice(&buf);
            buf.clear();
            self.deliver(inq, chunk);
        }
        ends.peer_eof.set(true);
        ends.told_gone.set(true);
        self.deliver(inq, Bytes::new());
        if ends.shut.get() {
            return DisconnectReason::PeerClosed;
        }
        out.wake.notify_one(); // the writer starts counting down
        std::future::pending().await
    }

    /// Writes what the socket queues for the peer, one buffer per batch; ends when the
    /// application closes the connection, when the socket closes and the queue is drained, on
    /// a write error, or a while after the peer's end of stream.
    async fn raw_write(
        &self,
        mut wr: WriteHalf<BoxedStream>,
        out: &PeerOut,
        ends: &Ends,
    ) -> DisconnectReason {
        let sndhwm = self.info.options.sndhwm;
        let mut taken = VecDeque::new();
        let mut wbuf = BytesMut::new();
        let mut closing_at = None;
        loop {
            if out.take_batch(&mut taken) >= sndhwm {
                self.socket.writable.do_send(PeerWritable);
            }
            if taken.is_empty() {
                if out.is_closed() {
                    let _ = wr.shutdown().await;
                    return DisconnectReason::ClosedBySocket;
                }
                if ends.peer_eof.get() {
                    // counted from the end of the stream, once: writing does not extend it
                    let deadline = *closing_at
                        .get_or_insert_with(|| tokio::time::Instant::now() + AFTER_PEER_EOF);
                    tokio::select! {
                        _ = out.wake.notified() => continue,
                        _ = tokio::time::sleep_until(deadline) => {
                            let _ = wr.shutdown().await;
                            return DisconnectReason::PeerClosed;
                        }
                    }
                }
                out.wake.notified().await;
                continue;
            }
            ends.unwritten.set(taken.len());
            while let Some(msg) = taken.pop_front() {
                let close = !msg.is_empty() && msg.byte_len() == 0;
                if msg.is_empty() || close {
                    // [id] shuts our side for writing, [id, ""] closes: what came before goes
                    // first
                    let written = wr.write_all(&wbuf).await;
                    wbuf.clear();
                    if let Err(e) = written {
                        return write_error(e);
                    }
                    let _ = wr.shutdown().await;
                    ends.shut.set(true);
                    ends.unwritten.set(taken.len());
                    if close {
                        self.info.dropped(
                            std::mem::take(&mut taken).len(),
                            "messages sent to a raw peer after the message that closed it",
                        );
                        ends.unwritten.set(0);
                        return DisconnectReason::ClosedByApplication;
                    }
                    if ends.peer_eof.get() {
                        return DisconnectReason::PeerClosed;
                    }
                    continue;
                }
                if ends.shut.get() {
                    self.info.dropped(
                        1,
                        "a message sent to a raw peer after our side was shut for writing",
                    );
                    ends.unwritten.set(taken.len());
                    continue;
                }
                for frame in msg.iter() {
                    wbuf.extend_from_slice(frame);
                }
                if wbuf.len() >= WRITE_CHUNK {
                    let written = wr.write_all(&wbuf).await;
                    wbuf.clear();
                    if let Err(e) = written {
                        return write_error(e);
                    }
                    ends.unwritten.set(taken.len());
                }
            }
            let written = wr.write_all(&wbuf).await;
            wbuf.clear();
            if let Err(e) = written {
                return write_error(e);
            }
            ends.unwritten.set(0);
        }
    }
}

fn write_error(e: std::io::Error) -> DisconnectReason {
    DisconnectReason::WriteError {
        during_handshake: false,
        error: e.to_string(),
    }
}
