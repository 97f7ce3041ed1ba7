//! A session over a byte stream: the ZMTP [`Session`] (sans-IO, in `actormq-transports`)
//! driven by three loops of one task: a reader that feeds it what arrives and queues the
//! messages it decodes, a writer that encodes the socket's batches after what the session has
//! to send of its own (PONG, PING), and a timer for its heartbeat deadlines. This file only
//! moves bytes and tells the time; every ZMTP decision is the session's.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use actormq_patterns::Peer;
use actormq_transports::zmtp::{Event, Session, SessionConfig, Verdict};
use actormq_transports::{BoxedStream, Multipart};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::Notify;

use crate::engine::connection::Runner;
use crate::engine::messages::{PeerReadable, PeerWritable};
use crate::engine::queues::peer_in::PeerIn;
use crate::engine::queues::peer_out::PeerOut;
use crate::event::DisconnectReason;

/// Bytes gathered before a write is issued mid-batch.
const WRITE_CHUNK: usize = 256 * 1024;

/// The session's clock: tokio's, so that a paused test clock drives the heartbeats too.
fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

/// The session and what its three loops share, all in the connection's one task.
struct Driver<'a> {
    session: RefCell<Session>,
    /// Messages the writer took from the peer's queue and has not encoded yet.
    taken: RefCell<VecDeque<Multipart>>,
    /// Messages in the chunk being written.
    in_flight: Cell<usize>,
    /// The session's next deadline moved earlier: the timer must look again.
    timer_moved: Notify,
    runner: &'a Runner,
}

impl Driver<'_> {
    /// Runs `f` on the session, then kicks the timer when `f` brought its deadline forward.
    fn with<T>(&self, f: impl FnOnce(&mut Session) -> T) -> T {
        let mut session = self.session.borrow_mut();
        let before = session.poll_timeout();
        let out = f(&mut session);
        let after = session.poll_timeout();
        if after.is_some_and(|a| before.is_none_or(|b| a < b)) {
            self.timer_moved.notify_one();
        }
        out
    }
}

impl Runner {
    /// ZMTP over a byte stream: handshake, then the reader, writer and timer until one of
    /// them ends the connection; returns why.
    pub(super) async fn zmtp_session(
        &self,
        stream: BoxedStream,
        peer_addr: &str,
    ) -> DisconnectReason {
        let opts = &self.info.options;
        let config = SessionConfig {
            socket_type: self.info.socket_type,
            identity: opts.routing_id.clone(),
            maxmsgsize: opts.maxmsgsize,
            handshake_ivl: opts.handshake_ivl,
            max_frames: opts.max_frames,
            heartbeat_ivl: opts.heartbeat_ivl,
            heartbeat_timeout: opts.heartbeat_timeout,
            heartbeat_ttl: opts.heartbeat_ttl,
        };
        let (mechanism, auth) = crate::security::mechanism_for(opts);
        let driver = Driver {
            session: RefCell::new(Session::new(config, mechanism, now())),
            taken: RefCell::default(),
            in_flight: Cell::new(0),
            timer_moved: Notify::new(),
            runner: self,
        };
        let (mut rd, mut wr) = tokio::io::split(stream);
        let mut buf = BytesMut::with_capacity(8 * 1024);
        let mut wbuf = BytesMut::with_capacity(64 * 1024);
        // messages that came in the same read as the peer's READY
        let mut early = Vec::new();
        let io = Handshaking {
            auth: auth.as_deref(),
            peer_addr,
            buf: &mut buf,
            wbuf: &mut wbuf,
            early: &mut early,
        };
        let info = match driver.handshake(&mut rd, &mut wr, io).await {
            Ok(info) => info,
            Err(reason) => return reason,
        };
        let peer = Peer {
            id: self.id,
            socket_type: info.socket_type,
            identity: info.identity.clone(),
        };
        let (out, inq) = match self.join(peer, peer_addr, info.user_id.clone()).await {
            Ok((out, inq, joined)) => {
                self.live(peer_addr, joined);
                (out, inq)
            }
            Err(reason) => {
                // tell the peer why before hanging up, as a handshake refusal does
                let refused = driver.with(|s| {
                    s.refuse(&reason);
                    s.poll_transmit(&mut wbuf);
                    s.close_reason().cloned()
                });
                let _ = wr.write_all(&wbuf).await;
                let _ = wr.flush().await;
                return refused.map_or(DisconnectReason::Refused(reason), DisconnectReason::from);
            }
        };
        let reason = tokio::select! {
            r = driver.read_loop(rd, buf, early, &inq, &out) => r,
            r = driver.write_loop(wr, wbuf, &out) => r,
            r = driver.timer(&out) => r,
        };
        driver.keep_unsent(&out);
        self.leave(&out);
        reason
    }
}

/// What the handshake works with besides the stream.
struct Handshaking<'a> {
    /// The authenticator that judges the peer, if any.
    auth: Option<&'a dyn crate::security::Authenticator>,
    peer_addr: &'a str,
    buf: &'a mut BytesMut,
    wbuf: &'a mut BytesMut,
    /// Messages that came in the same read as the end of the handshake.
    early: &'a mut Vec<Multipart>,
}

impl Driver<'_> {
    /// Asks the authenticator about the credentials the peer presented (within the handshake
    /// deadline), and tells the session. Without an authenticator the peer is let in, as
    /// libzmq does without a ZAP handler.
    async fn judge(
        &self,
        io: &mut Handshaking<'_>,
        credentials: crate::security::Credentials,
        deadline: Option<std::time::Instant>,
    ) {
        let mechanism = credentials.mechanism();
        let verdict = match io.auth {
            None => {
                if mechanism == "PLAIN" {
                    tracing::warn!(
                        peer = io.peer_addr,
                        "a PLAIN server without an authenticator lets every user in"
                    );
                }
                Verdict::allow()
            }
            Some(auth) => {
                let request = crate::security::AuthRequest {
                    domain: self.runner.info.options.zap_domain.clone(),
                    address: io.peer_addr.to_string(),
                    credentials,
                };
                let deadline = deadline.map(tokio::time::Instant::from_std);
                tokio::select! {
                    verdict = auth.authenticate(request) => verdict,
                    _ = sleep_until(deadline) => {
                        self.with(|s| s.handle_timeout(now()));
                        return;
                    }
                }
            }
        };
        if let Verdict::Deny { reason, .. } = &verdict {
            self.runner
                .info
                .emit(crate::event::SocketEvent::AuthenticationFailed {
                    peer: io.peer_addr.to_string(),
                    mechanism,
                    reason: reason.clone(),
                });
        }
        self.with(|s| {
            s.authenticated(verdict, now());
            // what arrived meanwhile (the peer's next command) is in the buffer
            let _ = s.handle_input(io.buf, now(), io.early);
        });
    }

    /// Exchanges greetings and handshake commands until the peer is known, or the reason the
    /// handshake failed (after sending the peer an ERROR when the session has one for it).
    async fn handshake(
        &self,
        rd: &mut ReadHalf<BoxedStream>,
        wr: &mut WriteHalf<BoxedStream>,
        mut io: Handshaking<'_>,
    ) -> Result<actormq_transports::zmtp::PeerInfo, DisconnectReason> {
        let local = self.runner.info.socket_type;
        loop {
            let (event, deadline) = self.with(|s| {
                s.poll_transmit(io.wbuf);
                (s.poll_event(), s.poll_timeout())
            });
            if !io.wbuf.is_empty() {
                let written = wr.write_all(io.wbuf).await;
                io.wbuf.clear();
                if let Err(e) = written {
                    return Err(DisconnectReason::WriteError {
                        during_handshake: true,
                        error: e.to_string(),
                    });
                }
            }
            match event {
                Some(Event::Ready(info)) => return Ok(info),
                Some(Event::Closed(reason)) => {
                    let _ = wr.flush().await;
                    return Err(reason.into());
                }
                Some(Event::Authenticate(credentials)) => {
                    self.judge(&mut io, credentials, deadline).await;
                    continue;
                }
                None => {}
            }
            let deadline = deadline.map(tokio::time::Instant::from_std);
            tokio::select! {
                read = rd.read_buf(io.buf) => match read {
                    Ok(0) => {
                        return Err(if self.runner.info.options.curve_serverkey.is_some() {
                            DisconnectReason::PeerClosedDuringCurveHandshake(local)
                        } else {
                            DisconnectReason::PeerClosedDuringHandshake(local)
                        })
                    }
                    Ok(_) => {
                        // a failure comes back as Event::Closed
                        let _ = self.with(|s| s.handle_input(io.buf, now(), io.early));
                    }
                    Err(e) => {
                        return Err(DisconnectReason::ReadError {
                            during_handshake: true,
                            error: e.to_string(),
                        })
                    }
                },
                _ = sleep_until(deadline) => self.with(|s| s.handle_timeout(now())),
            }
        }
    }

    /// Feeds what the peer sends to the session and queues the messages it decodes, pausing
    /// at `rcvhwm` messages or `rcvhwm_bytes` bytes (TCP then pushes back on the peer), so a
    /// peer's queue holds at most a mark plus one read's messages.
    async fn read_loop(
        &self,
        mut rd: ReadHalf<BoxedStream>,
        mut buf: BytesMut,
        early: Vec<Multipart>,
        inq: &PeerIn,
        out: &PeerOut,
    ) -> DisconnectReason {
        let rcvhwm = self.runner.info.options.rcvhwm;
        let readable = &self.runner.socket.readable;
        let mut batch = early;
        loop {
            // A peer that broke the protocol (or sent ERROR) is dropped with the messages of
            // the read that ended it, as before this session took over the decoding.
            if let Some(reason) = self.session.borrow().close_reason() {
                return reason.clone().into();
            }
            if !batch.is_empty() && inq.push_batch(std::mem::take(&mut batch)) {
                readable.do_send(PeerReadable);
            }
            if inq.is_full(rcvhwm) {
                self.with(|s| s.set_paused(true, now()));
                inq.wait_below(rcvhwm).await;
                self.with(|s| s.set_paused(false, now()));
            }
            buf.reserve(64 * 1024);
            match rd.read_buf(&mut buf).await {
                Ok(0) => return DisconnectReason::PeerClosed,
                Ok(_) => {}
                Err(e) => {
                    return DisconnectReason::ReadError {
                        during_handshake: false,
                        error: e.to_string(),
                    }
                }
            }
            let answer = self.with(|s| {
                // an error closes the session: seen at the top of the loop
                let _ = s.handle_input(&mut buf, now(), &mut batch);
                s.wants_transmit()
            });
            if answer {
                out.wake.notify_one(); // the writer sends the session's PONG
            }
        }
    }

    /// Writes what the session has to send of its own, then the socket's messages, one
    /// buffer per batch; ends when the socket closed the queue and it is drained.
    async fn write_loop(
        &self,
        mut wr: WriteHalf<BoxedStream>,
        mut wbuf: BytesMut,
        out: &PeerOut,
    ) -> DisconnectReason {
        let sndhwm = self.runner.info.options.sndhwm;
        loop {
            self.with(|s| s.poll_transmit(&mut wbuf));
            let idle = {
                let mut taken = self.taken.borrow_mut();
                if taken.is_empty() && out.take_batch(&mut taken) >= sndhwm {
                    self.runner.socket.writable.do_send(PeerWritable);
                }
                taken.is_empty()
            };
            if idle && wbuf.is_empty() {
                if out.is_closed() {
                    let _ = wr.flush().await;
                    let _ = wr.shutdown().await;
                    return DisconnectReason::ClosedBySocket;
                }
                // woken by the socket (messages, close) or by the reader and timer (PONG, PING)
                out.wake.notified().await;
                continue;
            }
            // one chunk at a time out of `taken`, so that whatever ends the session leaves the
            // rest there (see `keep_unsent`)
            {
                let mut taken = self.taken.borrow_mut();
                let mut session = self.session.borrow_mut();
                let mut in_chunk = 0;
                while let Some(msg) = taken.pop_front() {
                    session.encode_message(&msg, &mut wbuf);
                    in_chunk += 1;
                    if wbuf.len() >= WRITE_CHUNK {
                        break;
                    }
                }
                self.in_flight.set(in_chunk);
            }
            let written = wr.write_all(&wbuf).await;
            wbuf.clear();
            if let Err(e) = written {
                return DisconnectReason::WriteError {
                    during_handshake: false,
                    error: e.to_string(),
                };
            }
            self.in_flight.set(0);
        }
    }

    /// After the session: what the writer took and had not encoded goes back to the front of
    /// the queue, for the connection's next session; the chunk it was writing may or may not
    /// have reached the peer, and is counted as lost.
    fn keep_unsent(&self, out: &PeerOut) {
        out.requeue(std::mem::take(&mut *self.taken.borrow_mut()));
        self.runner.info.dropped(
            self.in_flight.replace(0),
            "messages lost in flight: the connection ended while they were being written",
        );
    }

    /// Runs the session's timers (handshake over, so: heartbeats); returns when one closes
    /// the connection.
    async fn timer(&self, out: &PeerOut) -> DisconnectReason {
        loop {
            let deadline = self.session.borrow().poll_timeout();
            let deadline = deadline.map(tokio::time::Instant::from_std);
            tokio::select! {
                _ = sleep_until(deadline) => {}
                _ = self.timer_moved.notified() => continue,
            }
            let (closed, ping) = self.with(|s| {
                s.handle_timeout(now());
                (s.close_reason().cloned(), s.wants_transmit())
            });
            if let Some(reason) = closed {
                return reason.into();
            }
            if ping {
                out.wake.notify_one(); // the writer sends the PING
            }
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
