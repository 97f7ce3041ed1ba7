//! In-process pipes: whole messages between two sockets of one process, never encoded.

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::SocketType;

/// What travels through a pipe: a greeting that stands in for the ZMTP handshake, then each
/// side's attachment (the framework hands over its inbound queue, into which the other side's
/// socket then delivers directly). Messages themselves never travel through the pipe; it stays
/// open only to tell each end when the other goes.
pub enum PipeMsg {
    /// The sender's socket type and identity (first, from each side).
    Hello {
        /// Socket type.
        socket_type: SocketType,
        /// Identity (empty for none).
        identity: Bytes,
    },
    /// The sender refuses the connection, and why.
    Refused(String),
    /// Something the two ends agree on beyond messages (the framework hands over its queues
    /// so that the sender delivers straight into the receiver's, with no hop between).
    Attach(Box<dyn std::any::Any + Send>),
}

impl std::fmt::Debug for PipeMsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PipeMsg::Hello { socket_type, .. } => write!(f, "Hello({socket_type})"),
            PipeMsg::Refused(r) => write!(f, "Refused({r})"),
            PipeMsg::Attach(_) => f.write_str("Attach"),
        }
    }
}

/// One end of an in-process connection.
#[derive(Debug)]
pub struct Pipe {
    /// Toward the other end.
    pub tx: mpsc::Sender<PipeMsg>,
    /// From the other end.
    pub rx: mpsc::Receiver<PipeMsg>,
}

impl Pipe {
    /// Two connected ends, each holding at most `batches` batches in flight.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use actormq_transports::{Pipe, PipeMsg};
    ///
    /// let (a, mut b) = Pipe::pair(4);
    /// a.tx.send(PipeMsg::Refused("busy".into())).await.unwrap();
    /// assert!(matches!(b.rx.recv().await, Some(PipeMsg::Refused(r)) if r == "busy"));
    /// # });
    /// ```
    pub fn pair(batches: usize) -> (Pipe, Pipe) {
        let (atx, brx) = mpsc::channel(batches.max(1));
        let (btx, arx) = mpsc::channel(batches.max(1));
        (Pipe { tx: atx, rx: arx }, Pipe { tx: btx, rx: brx })
    }
}
