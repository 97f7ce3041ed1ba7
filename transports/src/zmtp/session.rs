//! One ZMTP connection as a sans-IO state machine, in the shape of quinn-proto's `Connection`.
//!
//! See [`Session`].

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};

use super::codec::{encode_subscription, put_frame_header, Raw};
use super::handshake::{local_metadata, peer_info, read_greeting};
use super::{
    encode_message as encode_plain, Command, Credentials, Decoder, Greeting, Mechanism,
    MechanismStep, PeerInfo, ProtocolError, Unwrapped, Verdict, FLAG_COMMAND, FLAG_MORE,
};
use crate::subscription::{cancel_message, parse_subscription, subscribe_message};
use crate::{Multipart, SocketType};

/// What a [`Session`] needs to know of its socket: libzmq's socket options that concern one
/// connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our socket type, announced in READY and checked against the peer's.
    pub socket_type: SocketType,
    /// Our identity (`ZMQ_ROUTING_ID`), sent by REQ, DEALER and ROUTER; empty for none.
    pub identity: Bytes,
    /// The largest inbound message accepted, summed over its frames (`ZMQ_MAXMSGSIZE`).
    pub maxmsgsize: Option<u64>,
    /// The time the handshake may take, from [`Session::new`] (`ZMQ_HANDSHAKE_IVL`); zero:
    /// no deadline, as in libzmq.
    pub handshake_ivl: Duration,
    /// The most frames one inbound message may have (ours; libzmq has no such cap); none: no
    /// cap.
    pub max_frames: Option<usize>,
    /// Send a PING this often (`ZMQ_HEARTBEAT_IVL`); none: no PINGs.
    pub heartbeat_ivl: Option<Duration>,
    /// Close when nothing at all arrives within this time of an unanswered PING
    /// (`ZMQ_HEARTBEAT_TIMEOUT`); none: `heartbeat_ivl`.
    pub heartbeat_timeout: Option<Duration>,
    /// The time-to-live our PINGs ask the peer to apply to us (`ZMQ_HEARTBEAT_TTL`), sent in
    /// whole deciseconds, rounded down as libzmq does but never to 0 (which would mean no
    /// TTL): a TTL under 100 ms is sent as 1 decisecond.
    pub heartbeat_ttl: Option<Duration>,
}

impl SessionConfig {
    /// libzmq's defaults for a socket of type `socket_type`: no identity, no size limit, a
    /// 30 s handshake, no heartbeats; and ours: at most [`super::DEFAULT_MAX_FRAMES`] frames
    /// per message.
    pub fn new(socket_type: SocketType) -> Self {
        SessionConfig {
            socket_type,
            identity: Bytes::new(),
            maxmsgsize: None,
            handshake_ivl: Duration::from_secs(30),
            max_frames: Some(super::DEFAULT_MAX_FRAMES),
            heartbeat_ivl: None,
            heartbeat_timeout: None,
            heartbeat_ttl: None,
        }
    }
}

/// Why a session ended. Its `Display` is the reason the framework reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The greeting or the mechanism handshake failed (a refusal sent the peer an ERROR).
    HandshakeFailed(ProtocolError),
    /// The handshake did not complete within `handshake_ivl`.
    HandshakeTimeout(Duration),
    /// The peer sent ERROR after the handshake.
    PeerError(String),
    /// The peer broke the protocol after the handshake.
    Protocol(ProtocolError),
    /// The peer sent READY a second time.
    ReadyAfterHandshake,
    /// Nothing came from the peer within `heartbeat_timeout` (the value) of a PING.
    HeartbeatTimeout(Duration),
    /// Nothing came from the peer within the time-to-live (the value) of its own PINGs.
    HeartbeatTtlExpired(Duration),
    /// We refused the peer after its handshake ([`Session::refuse`]); it was sent an ERROR.
    Refused(String),
    /// The authenticator denied the peer ([`Session::authenticated`]); it was sent an ERROR
    /// with the status code, as libzmq does.
    Unauthorized {
        /// ZAP's status code (300, 400, 500).
        status: u16,
        /// The authenticator's reason (logged here, not sent).
        reason: String,
    },
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::HandshakeFailed(e) => write!(f, "handshake failed: {e}"),
            CloseReason::HandshakeTimeout(ivl) => {
                write!(f, "handshake not completed within handshake_ivl ({ivl:?})")
            }
            CloseReason::PeerError(reason) => write!(f, "peer sent ERROR: {reason}"),
            CloseReason::Protocol(e) => write!(f, "protocol error: {e}"),
            CloseReason::ReadyAfterHandshake => {
                f.write_str("protocol error: READY after the handshake")
            }
            CloseReason::HeartbeatTimeout(timeout) => write!(
                f,
                "heartbeat timed out: nothing from the peer within heartbeat_timeout \
                 ({timeout:?}) of a PING"
            ),
            CloseReason::HeartbeatTtlExpired(t) => write!(
                f,
                "heartbeat TTL expired: nothing from the peer within the {t:?} its PINGs \
                 asked for"
            ),
            CloseReason::Refused(reason) => write!(f, "refused by the socket: {reason}"),
            CloseReason::Unauthorized { status, reason } => {
                write!(f, "authentication failed ({status}): {reason}")
            }
        }
    }
}

impl std::error::Error for CloseReason {}

/// What a session reports through [`Session::poll_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The handshake completed and the peer suits our socket: join it to the socket (which
    /// may still [`Session::refuse`] it). Reported once, before any message.
    Ready(PeerInfo),
    /// The session is over: close the link once [`Session::poll_transmit`] is drained (it may
    /// hold an ERROR for the peer). Reported once; nothing follows.
    Closed(CloseReason),
    /// The peer presented its credentials (or, for NULL with an authenticator, only
    /// connected): judge them, then call [`Session::authenticated`]. Until then the handshake
    /// waits and nothing more is read from the buffer.
    Authenticate(Credentials),
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Waiting for the peer's greeting.
    Greeting,
    /// The mechanism's handshake, with the version the peer greeted with.
    Handshake { version: (u8, u8) },
    /// Messages flow.
    Active,
}

/// One ZMTP connection as a sans-IO state machine, in the shape of quinn-proto's `Connection`.
///
/// A [`Session`] owns everything ZMTP on a byte stream: the greeting, the security
/// [`Mechanism`]'s handshake and the READY metadata, the check that the peer's socket type
/// suits ours, the choice between ZMTP 3.0 and 3.1 behaviour, heartbeats (PING / PONG and
/// their timers), the translation of subscriptions between the `0x01topic` message form and
/// the SUBSCRIBE / CANCEL commands, and the ERROR command when a peer is refused. It does no
/// I/O and reads no clock: the caller moves bytes and passes the time in.
///
/// The caller's loop:
/// - bytes read from the link go to [`Session::handle_input`], which decodes the messages in
///   them into the caller's `Vec`;
/// - [`Session::poll_event`] then reports the end of the handshake ([`Event::Ready`]) and the
///   end of the session ([`Event::Closed`]);
/// - [`Session::poll_transmit`] appends what the session itself has to send (greeting,
///   handshake commands, PONG, PING, ERROR), and [`Session::encode_message`] appends the
///   socket's messages;
/// - at [`Session::poll_timeout`], call [`Session::handle_timeout`]. Ask for the timeout again
///   after every call that fed the session: input, a timeout, [`Session::set_paused`].
///
/// ```
/// use std::time::Instant;
/// use actormq_transports::zmtp::{Event, NullMechanism, Session, SessionConfig};
/// use actormq_transports::{Multipart, SocketType};
/// use bytes::BytesMut;
///
/// let now = Instant::now();
/// let mut push = Session::new(SessionConfig::new(SocketType::Push), Box::new(NullMechanism::new()), now);
/// let mut pull = Session::new(SessionConfig::new(SocketType::Pull), Box::new(NullMechanism::new()), now);
/// let (mut to_pull, mut to_push) = (BytesMut::new(), BytesMut::new());
/// push.poll_transmit(&mut to_pull); // greeting and READY, sent at once
/// pull.poll_transmit(&mut to_push);
/// let mut inbox = Vec::new();
/// push.handle_input(&mut to_push, now, &mut inbox).unwrap();
/// push.encode_message(&Multipart::from("work"), &mut to_pull);
/// pull.handle_input(&mut to_pull, now, &mut inbox).unwrap();
/// assert!(matches!(pull.poll_event(), Some(Event::Ready(peer)) if peer.socket_type == SocketType::Push));
/// assert_eq!(inbox, [Multipart::from("work")]);
/// ```
pub struct Session {
    local: SocketType,
    maxmsgsize: Option<u64>,
    max_frames: Option<usize>,
    handshake_ivl: Duration,
    heartbeat_ivl: Option<Duration>,
    heartbeat_timeout: Duration,
    heartbeat_ttl: u16,
    mechanism: Box<dyn Mechanism>,
    /// Whether the mechanism wraps frames after the handshake (cached: on the hot path).
    wraps: bool,
    phase: Phase,
    decoder: Decoder,
    peer: Option<PeerInfo>,
    closed: Option<CloseReason>,
    events: VecDeque<Event>,
    /// Greeting, handshake commands and ERROR, in order.
    transmit: BytesMut,
    /// The context of the one PONG owed (libzmq keeps one: a newer PING replaces it).
    pong: Option<Bytes>,
    /// A PING is due.
    ping: bool,
    /// Outgoing `0x01topic` / `0x00topic` messages become SUBSCRIBE / CANCEL (a subscriber
    /// talking to a 3.1 peer).
    encode_subs: bool,
    /// Incoming SUBSCRIBE / CANCEL become messages (a publisher).
    publisher: bool,
    /// None: `handshake_ivl` is zero, no deadline.
    handshake_deadline: Option<Instant>,
    last_seen: Instant,
    paused: bool,
    next_ping: Option<Instant>,
    /// The oldest unanswered PING: when it went, and when silence since then closes.
    awaiting: Option<(Instant, Instant)>,
    peer_ttl: Option<Duration>,
    /// A message being assembled from frames a mechanism unwrapped, and its size so far.
    partial: Multipart,
    partial_size: u64,
    /// The credentials presented, while the authenticator judges them.
    judging: Option<Credentials>,
    /// The identity the authenticator gave the peer.
    user_id: Option<String>,
    /// Our metadata, until the mechanism starts after the peer's greeting
    /// ([`Mechanism::starts_after_greeting`]).
    deferred: Option<super::Metadata>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("local", &self.local)
            .field("mechanism", &self.mechanism)
            .field("phase", &self.phase)
            .field("peer", &self.peer)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

/// A PING's time-to-live field: whole deciseconds (rounded down, as libzmq does), at most
/// `u16::MAX`, and at least 1 for a non-zero TTL (0 would mean none).
fn ttl_deciseconds(ttl: Option<Duration>) -> u16 {
    ttl.filter(|t| !t.is_zero()).map_or(0, |t| {
        u16::try_from(t.as_millis() / 100)
            .unwrap_or(u16::MAX)
            .max(1)
    })
}

impl Session {
    /// A session for a new link, at `now`. Our greeting and the mechanism's first commands
    /// (NULL: READY) are queued for [`Session::poll_transmit`] at once, without waiting for
    /// the peer, as libzmq does; the handshake deadline runs from `now`.
    pub fn new(config: SessionConfig, mut mechanism: Box<dyn Mechanism>, now: Instant) -> Self {
        let mut transmit = BytesMut::with_capacity(128);
        let greeting = Greeting {
            major: 3,
            minor: 1,
            mechanism: mechanism.name().to_string(),
            as_server: mechanism.as_server(),
        };
        transmit.extend_from_slice(&greeting.encode());
        let ours = local_metadata(config.socket_type, &config.identity);
        let (first, deferred) = if mechanism.starts_after_greeting() {
            (MechanismStep::Continue, Some(ours))
        } else {
            (mechanism.start(&ours, &mut transmit), None)
        };
        let local = config.socket_type;
        let mut session = Session {
            local,
            maxmsgsize: config.maxmsgsize,
            max_frames: config.max_frames,
            handshake_ivl: config.handshake_ivl,
            heartbeat_ivl: config.heartbeat_ivl,
            heartbeat_timeout: config
                .heartbeat_timeout
                .or(config.heartbeat_ivl)
                .unwrap_or_default(),
            heartbeat_ttl: ttl_deciseconds(config.heartbeat_ttl),
            wraps: false,
            mechanism,
            phase: Phase::Greeting,
            // nothing but small commands until the handshake is done
            decoder: Decoder::new(Some(0)).with_max_command_size(super::MAX_HANDSHAKE_COMMAND_SIZE),
            peer: None,
            closed: None,
            events: VecDeque::new(),
            transmit,
            pong: None,
            ping: false,
            encode_subs: false,
            publisher: matches!(local, SocketType::Pub | SocketType::XPub),
            handshake_deadline: (!config.handshake_ivl.is_zero())
                .then(|| now + config.handshake_ivl),
            last_seen: now,
            paused: false,
            next_ping: None,
            awaiting: None,
            peer_ttl: None,
            partial: Multipart::new(),
            partial_size: 0,
            judging: None,
            user_id: None,
            deferred,
        };
        if let MechanismStep::Authenticate(credentials) = first {
            session.judge(credentials);
        }
        session
    }

    /// Asks the caller to judge `credentials` ([`Event::Authenticate`]).
    fn judge(&mut self, credentials: Credentials) {
        self.events
            .push_back(Event::Authenticate(credentials.clone()));
        self.judging = Some(credentials);
    }

    /// The authenticator's answer to [`Event::Authenticate`]. A denial queues an ERROR with
    /// its status code for the peer (`400`, as libzmq sends) and closes the session with
    /// [`CloseReason::Unauthorized`]; an allowance lets the handshake go on. Then call
    /// [`Session::handle_input`] again with what is buffered (it may already hold the
    /// peer's next command). Does nothing unless a verdict is awaited.
    pub fn authenticated(&mut self, verdict: Verdict, now: Instant) {
        if self.closed.is_some() {
            return;
        }
        let Some(credentials) = self.judging.take() else {
            return;
        };
        match verdict {
            Verdict::Deny { status, reason } => {
                // a temporary failure (300) hangs up without ERROR, as libzmq does
                if status != 300 {
                    self.mechanism
                        .encode_error(&status.to_string(), &mut self.transmit);
                }
                self.close(CloseReason::Unauthorized { status, reason });
            }
            Verdict::Allow { user_id } => {
                self.user_id = user_id.or_else(|| credentials.default_user_id());
                let mut out = BytesMut::new();
                let step = self.mechanism.allowed(&mut out);
                if let Err(e) = self.step(step, out, now) {
                    self.fail_handshake(e);
                }
            }
        }
    }

    /// Acts on a mechanism's step, whose commands for the peer are in `out`; true once the
    /// handshake is complete. The peer's socket type is checked before `out` (our READY) goes,
    /// so that a refused peer gets only the ERROR.
    fn step(
        &mut self,
        step: Result<MechanismStep, ProtocolError>,
        out: BytesMut,
        now: Instant,
    ) -> Result<bool, ProtocolError> {
        let step = step?;
        if let MechanismStep::Done(metadata) = step {
            let version = match self.phase {
                Phase::Handshake { version } => version,
                _ => (3, 0),
            };
            let mut info = peer_info(self.local, metadata, version)?;
            info.user_id = self.user_id.clone();
            self.transmit.extend_from_slice(&out);
            self.activate(info, now);
            return Ok(true);
        }
        self.transmit.extend_from_slice(&out);
        if let MechanismStep::Authenticate(credentials) = step {
            self.judge(credentials);
        }
        Ok(false)
    }

    /// Closes on a handshake error, telling the peer first (in the mechanism's ERROR) when it
    /// is a refusal.
    fn fail_handshake(&mut self, e: ProtocolError) -> CloseReason {
        if e.is_refusal() {
            self.mechanism
                .encode_error(&e.to_string(), &mut self.transmit);
        }
        self.close(CloseReason::HandshakeFailed(e))
    }

    /// Feeds bytes received from the peer (call it after each read; a non-empty `buf` counts
    /// as a sign of life). Consumes every complete frame from the front of `buf`, leaving a
    /// partial one for next time, and appends each decoded message to `messages`, with
    /// subscription commands turned into `0x01topic` / `0x00topic` messages for a publisher.
    /// Commands are answered here and never reach `messages`.
    ///
    /// When the handshake completes, [`Event::Ready`] is queued before any message is
    /// decoded, so that every message in `messages` comes after it; look at
    /// [`Session::poll_event`] after each call. On `Err` the session is closed (the same
    /// reason comes as [`Event::Closed`]); messages decoded before the error stay in
    /// `messages`. After the close, nothing more is consumed.
    pub fn handle_input(
        &mut self,
        buf: &mut BytesMut,
        now: Instant,
        messages: &mut Vec<Multipart>,
    ) -> Result<(), CloseReason> {
        if let Some(reason) = &self.closed {
            return Err(reason.clone());
        }
        if !buf.is_empty() {
            self.last_seen = now;
        }
        if !matches!(self.phase, Phase::Active) {
            match self.handshake(buf, now) {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) => return Err(self.fail_handshake(e)),
            }
        }
        if self.wraps {
            return self.read_wrapped(buf, messages);
        }
        loop {
            match self.decoder.decode_raw(buf) {
                Ok(Some(Raw::Message(msg))) => messages.push(msg),
                Ok(Some(Raw::Command(body))) => self.on_command_body(&body, messages)?,
                Ok(None) => return Ok(()),
                Err(e) => return Err(self.close(CloseReason::Protocol(e))),
            }
        }
    }

    /// Runs the greeting and the mechanism; true once the handshake is complete.
    fn handshake(&mut self, buf: &mut BytesMut, now: Instant) -> Result<bool, ProtocolError> {
        loop {
            if self.judging.is_some() {
                return Ok(false);
            }
            match self.phase {
                Phase::Greeting => {
                    let Some(greeting) = read_greeting(buf, self.mechanism.name())? else {
                        return Ok(false);
                    };
                    if let Some(ours) = self.deferred.take() {
                        let mut out = BytesMut::new();
                        let first = self.mechanism.start(&ours, &mut out);
                        self.step(Ok(first), out, now)?;
                    }
                    // The as-server flag is not checked: libzmq 4.3 sends 0 even from a CURVE
                    // server. Two clients or two servers fail on the mechanism's first command.
                    self.phase = Phase::Handshake {
                        version: (greeting.major, greeting.minor),
                    };
                }
                Phase::Handshake { version } => {
                    if buf.first().is_some_and(|flags| flags & FLAG_COMMAND == 0) {
                        return Err(ProtocolError::ExpectedReady {
                            got: "a message frame".into(),
                        });
                    }
                    let Some(item) = self.decoder.decode_raw(buf)? else {
                        return Ok(false);
                    };
                    let Raw::Command(body) = item else {
                        return Err(ProtocolError::ExpectedReady {
                            got: "a message".into(),
                        });
                    };
                    let _ = version;
                    let mut out = BytesMut::new();
                    let step = self.mechanism.handle_command(body, &mut out);
                    if self.step(step, out, now)? {
                        return Ok(true);
                    }
                }
                Phase::Active => return Ok(true),
            }
        }
    }

    fn activate(&mut self, info: PeerInfo, now: Instant) {
        self.phase = Phase::Active;
        self.wraps = self.mechanism.wraps_frames();
        self.decoder = if self.wraps {
            // each wrapped frame comes whole, as a frame (or command) of its own: allow the
            // largest message plus the wrapping; the session then counts the frames inside
            let overhead = self.mechanism.frame_overhead();
            let max = self.maxmsgsize.map(|m| m.saturating_add(overhead));
            Decoder::new(max)
                .with_max_frames(Some(1))
                .with_max_command_size(super::MAX_COMMAND_SIZE + overhead)
        } else {
            Decoder::new(self.maxmsgsize).with_max_frames(self.max_frames)
        };
        self.encode_subs = self.local.is_subscriber() && info.is_3_1();
        self.last_seen = now;
        // PING and PONG are ZMTP 3.1: a 3.0 peer gets no heartbeats
        if info.is_3_1() {
            self.next_ping = self.heartbeat_ivl.map(|ivl| now + ivl);
        }
        self.events.push_back(Event::Ready(info.clone()));
        self.peer = Some(info);
    }

    fn on_command_body(
        &mut self,
        body: &Bytes,
        messages: &mut Vec<Multipart>,
    ) -> Result<(), CloseReason> {
        let cmd = match Command::decode_body(body) {
            Ok(cmd) => cmd,
            Err(e) => return Err(self.close(CloseReason::Protocol(e))),
        };
        match cmd {
            Command::Ping { ttl, context } => {
                self.peer_ttl = (ttl > 0).then(|| Duration::from_millis(u64::from(ttl) * 100));
                self.pong = Some(context);
            }
            Command::Subscribe(topic) if self.publisher => messages.push(subscribe_message(&topic)),
            Command::Cancel(topic) if self.publisher => messages.push(cancel_message(&topic)),
            Command::Error(reason) => return Err(self.close(CloseReason::PeerError(reason))),
            Command::Ready(_) => return Err(self.close(CloseReason::ReadyAfterHandshake)),
            // PONG only shows the peer is alive, which any bytes do; unknown commands are
            // ignored, as are subscriptions sent to a socket that does not publish
            _ => {}
        }
        Ok(())
    }

    /// The input loop when the mechanism wraps every frame.
    fn read_wrapped(
        &mut self,
        buf: &mut BytesMut,
        messages: &mut Vec<Multipart>,
    ) -> Result<(), CloseReason> {
        loop {
            let (body, as_command) = match self.decoder.decode_raw(buf) {
                Ok(Some(Raw::Command(body))) => (body, true),
                // libzmq sends CURVE's MESSAGE as a data frame (the decoder lets only one
                // frame through: each wrapped frame is whole)
                Ok(Some(Raw::Message(msg))) => match msg.into_iter().next() {
                    Some(frame) => (frame, false),
                    None => continue,
                },
                Ok(None) => return Ok(()),
                Err(e) => return Err(self.close(CloseReason::Protocol(e))),
            };
            let (flags, data) = match self.mechanism.decode_frame(body) {
                Ok(Unwrapped::Frame(flags, data)) => (flags, data),
                Ok(Unwrapped::Not(body)) if as_command => (FLAG_COMMAND, body),
                Ok(Unwrapped::Not(_)) => {
                    return Err(self.close(CloseReason::Protocol(
                        ProtocolError::MalformedCommand {
                            command: "MESSAGE".into(),
                            reason: "a plain message frame where the mechanism wraps every frame"
                                .into(),
                        },
                    )))
                }
                Err(e) => return Err(self.close(CloseReason::Protocol(e))),
            };
            if flags & FLAG_COMMAND != 0 {
                self.on_command_body(&data, messages)?;
                continue;
            }
            if let Some(max) = self.max_frames {
                if self.partial.len() >= max {
                    return Err(
                        self.close(CloseReason::Protocol(ProtocolError::TooManyFrames { max }))
                    );
                }
            }
            self.partial_size += data.len() as u64;
            let max = self.maxmsgsize.unwrap_or(i64::MAX as u64);
            if self.partial_size > max {
                let size = self.partial_size;
                return Err(
                    self.close(CloseReason::Protocol(ProtocolError::MessageTooLarge {
                        size,
                        max,
                    })),
                );
            }
            self.partial.push(data);
            if flags & FLAG_MORE == 0 {
                self.partial_size = 0;
                messages.push(std::mem::take(&mut self.partial));
            }
        }
    }

    /// The next event, if any: [`Event::Ready`] once the handshake is done, [`Event::Closed`]
    /// when the session ends.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether [`Session::poll_transmit`] has something to write.
    pub fn wants_transmit(&self) -> bool {
        !self.transmit.is_empty() || self.pong.is_some() || self.ping
    }

    /// Appends to `out` what the session has to send of its own: the greeting and handshake
    /// commands, then the pending PONG and PING, or the ERROR that tells a refused peer why.
    /// Returns whether it wrote anything. Call it before writing, and after every call that
    /// may queue something (input, a timeout, [`Session::refuse`]).
    pub fn poll_transmit(&mut self, out: &mut BytesMut) -> bool {
        let start = out.len();
        if !self.transmit.is_empty() {
            // copied, not swapped: the caller's buffer keeps its capacity
            out.extend_from_slice(&self.transmit);
            self.transmit.clear();
        }
        if let Some(context) = self.pong.take() {
            let context = &context[..context.len().min(16)];
            self.put_command(b"PONG", &[], context, out);
        }
        if std::mem::take(&mut self.ping) {
            let ttl = self.heartbeat_ttl.to_be_bytes();
            self.put_command(b"PING", &ttl, &[], out);
        }
        out.len() > start
    }

    /// Appends a command frame built from its parts, wrapped when the mechanism wraps.
    fn put_command(&mut self, name: &[u8], head: &[u8], data: &[u8], out: &mut BytesMut) {
        let len = 1 + name.len() + head.len() + data.len();
        if self.wraps {
            let mut body = Vec::with_capacity(len);
            body.push(name.len() as u8);
            body.extend_from_slice(name);
            body.extend_from_slice(head);
            body.extend_from_slice(data);
            self.mechanism.encode_frame(FLAG_COMMAND, &body, out);
        } else {
            put_frame_header(out, FLAG_COMMAND, len);
            out.put_u8(name.len() as u8);
            out.put_slice(name);
            out.put_slice(head);
            out.put_slice(data);
        }
    }

    /// Appends one of the socket's messages to `out`. A subscriber talking to a ZMTP 3.1
    /// peer writes a one-frame `0x01topic` / `0x00topic` message as a SUBSCRIBE / CANCEL
    /// command; anything else is written as it is (one check of a flag, then the plain
    /// encoder). Call it once the handshake is done ([`Event::Ready`]).
    ///
    /// ```
    /// # use std::time::Instant;
    /// # use actormq_transports::zmtp::{NullMechanism, Session, SessionConfig};
    /// # use actormq_transports::{subscription::subscribe_message, SocketType};
    /// # use bytes::BytesMut;
    /// # let now = Instant::now();
    /// # let mut sub = Session::new(SessionConfig::new(SocketType::Sub), Box::new(NullMechanism::new()), now);
    /// # let mut publ = Session::new(SessionConfig::new(SocketType::Pub), Box::new(NullMechanism::new()), now);
    /// # let mut to_sub = BytesMut::new();
    /// # publ.poll_transmit(&mut to_sub);
    /// # sub.handle_input(&mut to_sub, now, &mut Vec::new()).unwrap();
    /// // `sub` completed its handshake with a ZMTP 3.1 PUB
    /// let mut out = BytesMut::new();
    /// sub.encode_message(&subscribe_message(b"ab"), &mut out);
    /// assert_eq!(&out[..], b"\x04\x0c\x09SUBSCRIBEab");
    /// ```
    #[inline]
    pub fn encode_message(&mut self, msg: &Multipart, out: &mut BytesMut) {
        if self.encode_subs {
            if let Some((subscribe, topic)) = parse_subscription(msg) {
                if self.wraps {
                    let name: &[u8] = if subscribe { b"SUBSCRIBE" } else { b"CANCEL" };
                    self.put_command(name, &[], topic, out);
                } else {
                    encode_subscription(subscribe, topic, out);
                }
                return;
            }
        }
        if self.wraps {
            let last = msg.len().saturating_sub(1);
            for (i, frame) in msg.iter().enumerate() {
                let flags = if i < last { FLAG_MORE } else { 0 };
                self.mechanism.encode_frame(flags, frame, out);
            }
            return;
        }
        encode_plain(msg, out);
    }

    /// When [`Session::handle_timeout`] should next be called, if ever: the handshake
    /// deadline, then the next PING, the deadline of an unanswered PING, the peer's TTL.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed.is_some() {
            return None;
        }
        if !matches!(self.phase, Phase::Active) {
            return self.handshake_deadline;
        }
        // while paused, silence does not count: only the PINGs are due
        let silence = |d| if self.paused { None } else { d };
        [
            self.next_ping,
            silence(self.awaiting.map(|(_, deadline)| deadline)),
            silence(self.peer_ttl.map(|t| self.last_seen + t)),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs the timers due at `now`: the handshake deadline, PINGs (queued for
    /// [`Session::poll_transmit`]) and the heartbeat deadlines. May close the session (see
    /// [`Session::poll_event`]). Calling it early or twice does no harm.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed.is_some() {
            return;
        }
        if !matches!(self.phase, Phase::Active) {
            if self.handshake_deadline.is_some_and(|at| now >= at) {
                self.close(CloseReason::HandshakeTimeout(self.handshake_ivl));
            }
            return;
        }
        if self.paused {
            self.last_seen = now;
        }
        if let Some((sent, deadline)) = self.awaiting {
            if self.last_seen >= sent {
                self.awaiting = None;
            } else if now >= deadline {
                self.close(CloseReason::HeartbeatTimeout(self.heartbeat_timeout));
                return;
            }
        }
        if let Some(t) = self.peer_ttl {
            if now.saturating_duration_since(self.last_seen) >= t {
                self.close(CloseReason::HeartbeatTtlExpired(t));
                return;
            }
        }
        if self.next_ping.is_some_and(|at| now >= at) {
            self.ping = true;
            self.awaiting
                .get_or_insert((now, now + self.heartbeat_timeout));
            self.next_ping = self.heartbeat_ivl.map(|ivl| now + ivl);
        }
    }

    /// Tells the session that the caller stopped reading (`paused`: the socket's inbound
    /// queue is at its high-water mark) or resumed. While paused, the peer's silence does not
    /// count against it (its bytes wait unread); on resume it counts as just heard from.
    pub fn set_paused(&mut self, paused: bool, now: Instant) {
        if self.paused && !paused {
            self.last_seen = now;
        }
        self.paused = paused;
    }

    /// Refuses the peer after its handshake (a second PAIR peer, a routing id in use):
    /// queues an ERROR with `reason` for [`Session::poll_transmit`] and closes the session
    /// with [`CloseReason::Refused`]. Does nothing on a closed session.
    pub fn refuse(&mut self, reason: &str) {
        if self.closed.is_some() {
            return;
        }
        let r = &reason.as_bytes()[..reason.len().min(255)];
        let mut transmit = std::mem::take(&mut self.transmit);
        self.put_command(b"ERROR", &[r.len() as u8], r, &mut transmit);
        self.transmit = transmit;
        self.close(CloseReason::Refused(reason.to_string()));
    }

    fn close(&mut self, reason: CloseReason) -> CloseReason {
        if self.closed.is_none() {
            self.closed = Some(reason.clone());
            self.events.push_back(Event::Closed(reason.clone()));
            self.pong = None;
            self.ping = false;
        }
        reason
    }

    /// Why the session closed, once it has.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.closed.as_ref()
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// The peer, once the handshake is done.
    pub fn peer(&self) -> Option<&PeerInfo> {
        self.peer.as_ref()
    }

    /// Our socket type.
    pub fn socket_type(&self) -> SocketType {
        self.local
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zmtp::{encode_command, Inbound, NullMechanism};
    use proptest::prelude::*;

    const MS: Duration = Duration::from_millis(1);

    fn config(t: SocketType) -> SessionConfig {
        SessionConfig::new(t)
    }

    fn session(config: SessionConfig, now: Instant) -> Session {
        Session::new(config, Box::new(NullMechanism::new()), now)
    }

    /// Two sessions wired back to back in memory.
    struct Pair {
        a: Session,
        b: Session,
        /// What `a` received (decoded messages), and `b`.
        a_got: Vec<Multipart>,
        b_got: Vec<Multipart>,
        /// Every byte each side sent, for inspection.
        a_sent: Vec<u8>,
        b_sent: Vec<u8>,
    }

    impl Pair {
        fn new(a: SessionConfig, b: SessionConfig, now: Instant) -> Pair {
            Pair {
                a: session(a, now),
                b: session(b, now),
                a_got: Vec::new(),
                b_got: Vec::new(),
                a_sent: Vec::new(),
                b_sent: Vec::new(),
            }
        }

        /// Moves bytes both ways until neither side has anything to send.
        fn pump(&mut self, now: Instant) {
            loop {
                let mut to_b = BytesMut::new();
                let mut to_a = BytesMut::new();
                let a_wrote = self.a.poll_transmit(&mut to_b);
                let b_wrote = self.b.poll_transmit(&mut to_a);
                if !a_wrote && !b_wrote {
                    return;
                }
                self.a_sent.extend_from_slice(&to_b);
                self.b_sent.extend_from_slice(&to_a);
                if !to_b.is_empty() {
                    let _ = self.b.handle_input(&mut to_b, now, &mut self.b_got);
                }
                if !to_a.is_empty() {
                    let _ = self.a.handle_input(&mut to_a, now, &mut self.a_got);
                }
            }
        }

        /// `a` sends these messages to `b`.
        fn a_sends(&mut self, msgs: &[Multipart], now: Instant) {
            let mut wire = BytesMut::new();
            for m in msgs {
                self.a.encode_message(m, &mut wire);
            }
            self.a_sent.extend_from_slice(&wire);
            self.b
                .handle_input(&mut wire, now, &mut self.b_got)
                .unwrap();
            self.pump(now);
        }
    }

    fn events(s: &mut Session) -> Vec<Event> {
        std::iter::from_fn(|| s.poll_event()).collect()
    }

    fn closed(s: &Session) -> String {
        s.close_reason().expect("closed").to_string()
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    /// The greeting and READY of a peer of type `t`, speaking ZMTP 3.`minor`.
    fn hand_made_peer(t: &str, minor: u8) -> BytesMut {
        let mut wire = BytesMut::new();
        let mut g = Greeting::null().encode();
        g[11] = minor;
        wire.extend_from_slice(&g);
        let mut meta = crate::zmtp::Metadata::default();
        meta.insert("Socket-Type", t.to_string());
        encode_command(&Command::Ready(meta), &mut wire);
        wire
    }

    /// A session whose handshake with a hand-made 3.1 peer of type `peer` is done.
    fn ready(config: SessionConfig, peer: &str, now: Instant) -> Session {
        let mut s = session(config, now);
        s.poll_transmit(&mut BytesMut::new());
        s.handle_input(&mut hand_made_peer(peer, 1), now, &mut Vec::new())
            .unwrap();
        assert!(matches!(s.poll_event(), Some(Event::Ready(_))));
        s
    }

    fn commands_in(mut wire: BytesMut) -> Vec<Command> {
        let mut d = Decoder::new(None);
        let mut out = Vec::new();
        while let Some(item) = d.decode(&mut wire).unwrap() {
            match item {
                Inbound::Command(c) => out.push(c),
                Inbound::Message(m) => panic!("message {m:?}"),
            }
        }
        out
    }

    fn command(cmd: &Command) -> BytesMut {
        let mut b = BytesMut::new();
        encode_command(cmd, &mut b);
        b
    }

    #[test]
    fn null_handshake_both_ways() {
        let now = Instant::now();
        let mut dealer = config(SocketType::Dealer);
        dealer.identity = Bytes::from_static(b"D1");
        let mut p = Pair::new(dealer, config(SocketType::Router), now);
        // greeting and READY are queued before hearing anything
        assert!(p.a.wants_transmit());
        assert!(p.a.peer().is_none());
        p.pump(now);
        let a_events = events(&mut p.a);
        let b_events = events(&mut p.b);
        let [Event::Ready(router)] = &a_events[..] else {
            panic!("{a_events:?}")
        };
        let [Event::Ready(dealer)] = &b_events[..] else {
            panic!("{b_events:?}")
        };
        assert_eq!(router.socket_type, SocketType::Router);
        assert_eq!(router.version, (3, 1));
        assert!(router.is_3_1());
        assert_eq!(dealer.socket_type, SocketType::Dealer);
        assert_eq!(dealer.identity, "D1");
        assert_eq!(p.b.peer(), Some(dealer));
        assert_eq!(
            &p.a_sent[..GREETING_LEN_FOR_TEST],
            &Greeting::null().encode()[..]
        );
        // then messages flow both ways
        p.a_sends(&[Multipart::from(["a", "b"]), Multipart::from("c")], now);
        assert_eq!(p.b_got, [Multipart::from(["a", "b"]), Multipart::from("c")]);
        let mut wire = BytesMut::new();
        p.b.encode_message(&Multipart::from("back"), &mut wire);
        p.a.handle_input(&mut wire, now, &mut p.a_got).unwrap();
        assert_eq!(p.a_got, [Multipart::from("back")]);
        assert!(!p.a.is_closed() && !p.b.is_closed());
    }

    const GREETING_LEN_FOR_TEST: usize = crate::zmtp::GREETING_LEN;

    #[test]
    fn incompatible_types_send_error_and_both_close() {
        let now = Instant::now();
        let mut p = Pair::new(config(SocketType::Req), config(SocketType::Pub), now);
        p.pump(now);
        assert!(contains(&p.a_sent, b"\x05ERROR"));
        assert!(contains(&p.b_sent, b"\x05ERROR"));
        assert_eq!(
            closed(&p.a),
            "handshake failed: incompatible socket types: we are REQ, the peer is PUB"
        );
        assert_eq!(
            closed(&p.b),
            "handshake failed: incompatible socket types: we are PUB, the peer is REQ"
        );
        assert!(
            matches!(&events(&mut p.a)[..], [Event::Closed(CloseReason::HandshakeFailed(e))] if e.is_refusal())
        );
        assert_eq!(p.a.poll_timeout(), None);
    }

    #[test]
    fn unknown_peer_type_is_refused_with_error() {
        let now = Instant::now();
        let mut s = session(config(SocketType::Pub), now);
        s.poll_transmit(&mut BytesMut::new());
        let r = s.handle_input(&mut hand_made_peer("sub", 1), now, &mut Vec::new());
        assert!(matches!(r, Err(CloseReason::HandshakeFailed(_))));
        let mut out = BytesMut::new();
        assert!(s.poll_transmit(&mut out));
        assert!(
            matches!(&commands_in(out)[..], [Command::Error(r)] if r.contains("unknown peer socket type"))
        );
        // not a refusal: no ERROR, just closed
        let mut s = session(config(SocketType::Pub), now);
        s.poll_transmit(&mut BytesMut::new());
        let r = s.handle_input(
            &mut BytesMut::from(&b"GET / HTTP/1.1\r\n"[..]),
            now,
            &mut Vec::new(),
        );
        assert!(r
            .unwrap_err()
            .to_string()
            .starts_with("handshake failed: not a ZMTP peer"));
        assert!(!s.poll_transmit(&mut BytesMut::new()));
        // the peer's ERROR during the handshake
        let mut s = session(config(SocketType::Pub), now);
        let mut wire = BytesMut::from(&Greeting::null().encode()[..]);
        wire.extend_from_slice(b"\x04\x09\x05ERROR\x02no");
        s.handle_input(&mut wire, now, &mut Vec::new()).unwrap_err();
        assert_eq!(
            closed(&s),
            "handshake failed: peer refused the connection: no"
        );
        // a mechanism other than ours
        let mut s = session(config(SocketType::Pub), now);
        let mut g = Greeting::null().encode();
        g[12..17].copy_from_slice(b"CURVE");
        s.handle_input(&mut BytesMut::from(&g[..]), now, &mut Vec::new())
            .unwrap_err();
        assert!(closed(&s).contains("security mechanism mismatch"));
    }

    #[test]
    fn framework_refusal_sends_error() {
        let now = Instant::now();
        let mut p = Pair::new(config(SocketType::Pair), config(SocketType::Pair), now);
        p.pump(now);
        assert!(matches!(p.a.poll_event(), Some(Event::Ready(_))));
        p.a.refuse("PAIR already has a peer");
        assert_eq!(
            closed(&p.a),
            "refused by the socket: PAIR already has a peer"
        );
        assert_eq!(
            p.a.poll_event(),
            Some(Event::Closed(CloseReason::Refused(
                "PAIR already has a peer".into()
            )))
        );
        p.pump(now);
        assert_eq!(closed(&p.b), "peer sent ERROR: PAIR already has a peer");
        // refusing twice changes nothing
        p.a.refuse("again");
        assert!(!p.a.wants_transmit());
        assert_eq!(
            p.a.handle_input(&mut BytesMut::from(&b"\x00\x01x"[..]), now, &mut p.a_got),
            Err(CloseReason::Refused("PAIR already has a peer".into()))
        );
        assert!(p.a_got.is_empty());
    }

    #[test]
    fn commands_after_the_handshake() {
        let now = Instant::now();
        let mut s = ready(config(SocketType::Pull), "PUSH", now);
        let mut got = Vec::new();
        // unknown commands and PONG are ignored; a subscription to a PULL too
        let mut wire = BytesMut::from(&b"\x04\x05\x04ABCD"[..]);
        wire.extend_from_slice(&command(&Command::Pong(Bytes::new())));
        wire.extend_from_slice(&command(&Command::Subscribe(Bytes::new())));
        wire.extend_from_slice(b"\x00\x01x");
        s.handle_input(&mut wire, now, &mut got).unwrap();
        assert_eq!(got, [Multipart::from("x")]);
        let mut again = command(&Command::Ready(Default::default()));
        assert_eq!(
            s.handle_input(&mut again, now, &mut got)
                .unwrap_err()
                .to_string(),
            "protocol error: READY after the handshake"
        );
        let mut s = ready(config(SocketType::Pull), "PUSH", now);
        s.handle_input(&mut command(&Command::Error("bye".into())), now, &mut got)
            .unwrap_err();
        assert_eq!(closed(&s), "peer sent ERROR: bye");
        let mut s = ready(config(SocketType::Pull), "PUSH", now);
        s.handle_input(&mut BytesMut::from(&b"\x08\x00"[..]), now, &mut got)
            .unwrap_err();
        assert!(closed(&s).starts_with("protocol error: frame flags"));
        // maxmsgsize applies after the handshake
        let mut c = config(SocketType::Pull);
        c.maxmsgsize = Some(2);
        let mut s = ready(c, "PUSH", now);
        s.handle_input(&mut BytesMut::from(&b"\x00\x03abc"[..]), now, &mut got)
            .unwrap_err();
        assert!(closed(&s).contains("exceeds maxmsgsize"));
    }

    #[test]
    fn subscriptions_become_commands_and_back_with_3_1() {
        let now = Instant::now();
        for (sub, publ) in [
            (SocketType::Sub, SocketType::Pub),
            (SocketType::XSub, SocketType::XPub),
        ] {
            let mut p = Pair::new(config(sub), config(publ), now);
            p.pump(now);
            let mut wire = BytesMut::new();
            p.a.encode_message(&subscribe_message(b"ab"), &mut wire);
            assert_eq!(&wire[..], b"\x04\x0c\x09SUBSCRIBEab");
            wire.clear();
            p.a.encode_message(&cancel_message(b"ab"), &mut wire);
            assert_eq!(&wire[..], b"\x04\x09\x06CANCELab");
            let msgs = [
                subscribe_message(b"ab"),
                cancel_message(b""),
                Multipart::from("\x02not a subscription"),
                Multipart::from(["\x01two", "frames"]),
            ];
            p.a_sends(&msgs, now);
            assert_eq!(p.b_got, msgs);
            // a publisher's data message that starts with 1 is just data
            let mut wire = BytesMut::new();
            p.b.encode_message(&Multipart::from("\x01data"), &mut wire);
            assert_eq!(&wire[..], b"\x00\x05\x01data");
            p.a.handle_input(&mut wire, now, &mut p.a_got).unwrap();
            assert_eq!(p.a_got, [Multipart::from("\x01data")]);
        }
    }

    #[test]
    fn subscriptions_pass_as_messages_with_a_3_0_peer() {
        let now = Instant::now();
        let mut sub = session(config(SocketType::Sub), now);
        sub.handle_input(&mut hand_made_peer("PUB", 0), now, &mut Vec::new())
            .unwrap();
        let Some(Event::Ready(peer)) = sub.poll_event() else {
            panic!()
        };
        assert_eq!(peer.version, (3, 0));
        let mut wire = BytesMut::new();
        sub.encode_message(&subscribe_message(b"ab"), &mut wire);
        assert_eq!(&wire[..], b"\x00\x03\x01ab");
        // a 3.0 SUB's subscription message reaches a PUB as it is
        let mut publ = session(config(SocketType::Pub), now);
        let mut wire = hand_made_peer("SUB", 0);
        wire.extend_from_slice(b"\x00\x03\x01ab");
        let mut got = Vec::new();
        publ.handle_input(&mut wire, now, &mut got).unwrap();
        assert_eq!(got, [subscribe_message(b"ab")]);
    }

    #[test]
    fn ping_is_answered_with_pong_echoing_the_context() {
        let now = Instant::now();
        let mut p = Pair::new(config(SocketType::Push), config(SocketType::Pull), now);
        p.pump(now);
        let mut ping = command(&Command::Ping {
            ttl: 0,
            context: Bytes::from_static(b"hello"),
        });
        p.a.handle_input(&mut ping, now, &mut p.a_got).unwrap();
        assert!(p.a.wants_transmit());
        let mut out = BytesMut::new();
        assert!(p.a.poll_transmit(&mut out));
        assert_eq!(&out[..], b"\x04\x0a\x04PONGhello");
        assert!(!p.a.poll_transmit(&mut out));
        assert!(p.a_got.is_empty());
        // PONG answered, no TTL asked: nothing due
        assert_eq!(p.a.poll_timeout(), None);
    }

    #[test]
    fn a_ping_flood_leaves_one_pong_pending() {
        let now = Instant::now();
        let mut s = ready(config(SocketType::Pull), "PUSH", now);
        let mut wire = BytesMut::new();
        for i in 0..10_000u32 {
            encode_command(
                &Command::Ping {
                    ttl: 0,
                    context: Bytes::copy_from_slice(&i.to_be_bytes()),
                },
                &mut wire,
            );
            if i % 100 == 99 {
                s.handle_input(&mut wire, now, &mut Vec::new()).unwrap();
            }
        }
        assert!(wire.is_empty());
        let mut out = BytesMut::new();
        s.poll_transmit(&mut out);
        // one PONG, for the newest PING
        assert_eq!(
            commands_in(out),
            [Command::Pong(Bytes::copy_from_slice(
                &9_999u32.to_be_bytes()
            ))]
        );
    }

    /// Commands sent (ms, command), and when and why the session closed.
    type Driven = (Vec<(u128, Command)>, Option<(u128, String)>);

    /// Drives a session alone from `start` to `end`: its timers, and `inputs` (times in ms
    /// after `start`, with the bytes that arrive then). Returns the commands it sent, with
    /// their times in ms, and when and why it closed.
    fn drive(
        s: &mut Session,
        start: Instant,
        end: Duration,
        inputs: &mut dyn Iterator<Item = (u64, BytesMut)>,
    ) -> Driven {
        let mut sent = Vec::new();
        let mut next_input = inputs.next();
        loop {
            let timer = s.poll_timeout();
            let input_at = next_input
                .as_ref()
                .map(|(t, _)| start + Duration::from_millis(*t));
            let now = match (timer, input_at) {
                (Some(t), Some(i)) => t.min(i),
                (Some(t), None) => t,
                (None, Some(i)) => i,
                (None, None) => break,
            };
            if now > start + end {
                break;
            }
            if input_at == Some(now) {
                let (_, mut bytes) = next_input.take().unwrap();
                let _ = s.handle_input(&mut bytes, now, &mut Vec::new());
                next_input = inputs.next();
            } else {
                s.handle_timeout(now);
            }
            let mut out = BytesMut::new();
            if s.poll_transmit(&mut out) {
                for c in commands_in(out) {
                    sent.push(((now - start).as_millis(), c));
                }
            }
            if let Some(r) = s.close_reason() {
                return (sent, Some(((now - start).as_millis(), r.to_string())));
            }
        }
        (sent, None)
    }

    fn heartbeats(ivl: u64, timeout: Option<u64>) -> SessionConfig {
        SessionConfig {
            heartbeat_ivl: Some(Duration::from_millis(ivl)),
            heartbeat_timeout: timeout.map(Duration::from_millis),
            heartbeat_ttl: Some(Duration::from_millis(1500)),
            ..config(SocketType::Push)
        }
    }

    #[test]
    fn pings_on_the_interval_and_gives_up_on_a_silent_peer() {
        let start = Instant::now();
        let mut s = ready(heartbeats(100, Some(350)), "PULL", start);
        let (sent, closed) = drive(
            &mut s,
            start,
            Duration::from_secs(10),
            &mut std::iter::empty(),
        );
        let (at, reason) = closed.expect("closed");
        assert_eq!(
            reason,
            "heartbeat timed out: nothing from the peer within heartbeat_timeout (350ms) of a PING"
        );
        assert_eq!(at, 450);
        let times: Vec<u128> = sent.iter().map(|(t, _)| *t).collect();
        assert_eq!(times, [100, 200, 300, 400]);
        assert!(matches!(sent[0].1, Command::Ping { ttl: 15, .. }));
    }

    #[test]
    fn any_traffic_answers_a_ping() {
        let start = Instant::now();
        let mut s = ready(heartbeats(100, None), "PULL", start);
        let mut talk = (1..).map(|i| (i * 60, BytesMut::from(&b"\x00\x01x"[..])));
        let (sent, closed) = drive(&mut s, start, Duration::from_secs(10), &mut talk);
        assert_eq!(closed, None);
        assert_eq!(sent.len(), 100);
    }

    #[test]
    fn a_reader_paused_at_its_high_water_mark_is_not_a_silent_peer() {
        let start = Instant::now();
        let mut s = ready(heartbeats(100, None), "PULL", start);
        s.set_paused(true, start);
        let (sent, closed) = drive(
            &mut s,
            start,
            Duration::from_secs(5),
            &mut std::iter::empty(),
        );
        assert_eq!(closed, None);
        assert!(sent.len() >= 49, "PINGs go on while paused");
        // resumed: counts as just heard from, then silence counts again
        let resumed = start + Duration::from_secs(5);
        s.set_paused(false, resumed);
        let (_, closed) = drive(
            &mut s,
            start,
            Duration::from_secs(10),
            &mut std::iter::empty(),
        );
        let (at, reason) = closed.expect("closed after the resume");
        assert!(reason.starts_with("heartbeat timed out"), "{reason}");
        assert!((5100..=5200).contains(&at), "{at}");
    }

    #[test]
    fn honours_the_peers_ttl_without_pinging_itself() {
        let start = Instant::now();
        let mut s = ready(config(SocketType::Push), "PULL", start);
        assert_eq!(s.poll_timeout(), None);
        let ping = command(&Command::Ping {
            ttl: 5,
            context: Bytes::new(),
        });
        let (sent, closed) = drive(
            &mut s,
            start,
            Duration::from_secs(10),
            &mut std::iter::once((100, ping)),
        );
        assert_eq!(
            closed,
            Some((
                600,
                "heartbeat TTL expired: nothing from the peer within the 500ms its PINGs asked for"
                    .to_string()
            ))
        );
        assert_eq!(sent, [(100, Command::Pong(Bytes::new()))]);
    }

    #[test]
    fn no_heartbeats_with_a_3_0_peer() {
        let start = Instant::now();
        let mut s = session(heartbeats(100, None), start);
        s.handle_input(&mut hand_made_peer("PULL", 0), start, &mut Vec::new())
            .unwrap();
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn handshake_deadline() {
        let start = Instant::now();
        let mut c = config(SocketType::Push);
        c.handshake_ivl = Duration::from_secs(1);
        let mut s = session(c, start);
        assert_eq!(s.poll_timeout(), Some(start + Duration::from_secs(1)));
        // a greeting alone does not complete the handshake
        s.handle_input(
            &mut BytesMut::from(&Greeting::null().encode()[..]),
            start + 10 * MS,
            &mut Vec::new(),
        )
        .unwrap();
        s.handle_timeout(start + 999 * MS);
        assert!(!s.is_closed());
        s.handle_timeout(start + Duration::from_secs(1));
        assert_eq!(
            closed(&s),
            "handshake not completed within handshake_ivl (1s)"
        );
        assert_eq!(
            events(&mut s),
            [Event::Closed(CloseReason::HandshakeTimeout(
                Duration::from_secs(1)
            ))]
        );
        // completed in time: the deadline is gone
        let mut s = ready(config(SocketType::Push), "PULL", start);
        assert_eq!(s.poll_timeout(), None);
        s.handle_timeout(start + Duration::from_secs(60));
        assert!(!s.is_closed());
    }

    #[test]
    fn zero_handshake_ivl_means_no_deadline() {
        let start = Instant::now();
        let mut c = config(SocketType::Push);
        c.handshake_ivl = Duration::ZERO;
        let mut s = session(c, start);
        assert_eq!(s.poll_timeout(), None);
        s.handle_timeout(start);
        s.handle_timeout(start + Duration::from_secs(3600));
        assert!(!s.is_closed(), "{:?}", s.close_reason());
        // and the handshake still completes later
        s.poll_transmit(&mut BytesMut::new());
        s.handle_input(
            &mut hand_made_peer("PULL", 1),
            start + Duration::from_secs(3601),
            &mut Vec::new(),
        )
        .unwrap();
        assert!(matches!(s.poll_event(), Some(Event::Ready(_))));
    }

    #[test]
    fn a_ttl_under_a_decisecond_is_sent_as_one_not_as_none() {
        assert_eq!(ttl_deciseconds(None), 0);
        assert_eq!(ttl_deciseconds(Some(Duration::ZERO)), 0);
        assert_eq!(ttl_deciseconds(Some(Duration::from_nanos(1))), 1);
        assert_eq!(ttl_deciseconds(Some(Duration::from_millis(50))), 1);
        assert_eq!(ttl_deciseconds(Some(Duration::from_millis(99))), 1);
        assert_eq!(ttl_deciseconds(Some(Duration::from_millis(150))), 1);
        assert_eq!(ttl_deciseconds(Some(Duration::from_millis(1500))), 15);
        assert_eq!(ttl_deciseconds(Some(Duration::from_secs(10_000))), u16::MAX);
        // on the wire
        let start = Instant::now();
        let mut c = heartbeats(100, None);
        c.heartbeat_ttl = Some(Duration::from_millis(50));
        let mut s = ready(c, "PULL", start);
        let (sent, _) = drive(
            &mut s,
            start,
            Duration::from_millis(150),
            &mut std::iter::empty(),
        );
        assert!(
            matches!(sent[0].1, Command::Ping { ttl: 1, .. }),
            "{sent:?}"
        );
    }

    /// A million empty MORE frames: 2 MB of wire that would be ~32 MB of `Bytes` handles.
    fn endless_empty_frames() -> BytesMut {
        let mut wire = BytesMut::with_capacity(2_000_000);
        for _ in 0..1_000_000 {
            wire.extend_from_slice(b"\x01\x00");
        }
        wire
    }

    #[test]
    fn endless_empty_more_frames_close_at_max_frames() {
        let now = Instant::now();
        let mut s = ready(config(SocketType::Pull), "PUSH", now);
        let mut wire = endless_empty_frames();
        let mut got = Vec::new();
        let r = s.handle_input(&mut wire, now, &mut got);
        assert_eq!(
            r.unwrap_err().to_string(),
            "protocol error: message has more than max_frames (1024) frames"
        );
        assert!(got.is_empty());
        // it stopped at the cap: the rest of the wire was never decoded
        assert_eq!(wire.len(), 2_000_000 - 2 * crate::zmtp::DEFAULT_MAX_FRAMES);
        assert!(s.decoder.partial().0 <= crate::zmtp::DEFAULT_MAX_FRAMES);
        // a message of exactly the cap passes; the cap is configurable, and None lifts it
        let mut c = config(SocketType::Pull);
        c.max_frames = Some(3);
        let mut s = ready(c, "PUSH", now);
        let mut got = Vec::new();
        let mut wire = BytesMut::from(&b"\x01\x00\x01\x00\x00\x00"[..]);
        s.handle_input(&mut wire, now, &mut got).unwrap();
        assert_eq!(got, [Multipart::from(["", "", ""])]);
        let mut wire = BytesMut::from(&b"\x01\x00\x01\x00\x01\x00\x00\x00"[..]);
        assert!(s.handle_input(&mut wire, now, &mut got).is_err());
        let mut c = config(SocketType::Pull);
        c.max_frames = None;
        let mut s = ready(c, "PUSH", now);
        let mut wire = endless_empty_frames();
        wire.extend_from_slice(b"\x00\x00");
        s.handle_input(&mut wire, now, &mut got).unwrap();
        assert_eq!(got.last().map(Multipart::len), Some(1_000_001));
    }

    #[test]
    fn sessions_are_send() {
        fn send<T: Send>() {}
        send::<Session>();
    }

    /// A mechanism that does NULL's handshake, then wraps every frame in a `MSG` command
    /// (`\x03MSG flags data`), the way CURVE wraps frames in MESSAGE.
    #[derive(Debug, Default)]
    struct Wrapping(NullMechanism);

    impl Mechanism for Wrapping {
        fn name(&self) -> &str {
            "XWRAP"
        }
        fn start(&mut self, ours: &crate::zmtp::Metadata, out: &mut BytesMut) -> MechanismStep {
            self.0.start(ours, out)
        }
        fn handle_command(
            &mut self,
            body: Bytes,
            out: &mut BytesMut,
        ) -> Result<MechanismStep, ProtocolError> {
            self.0.handle_command(body, out)
        }
        fn wraps_frames(&self) -> bool {
            true
        }
        fn encode_frame(&mut self, flags: u8, frame: &[u8], out: &mut BytesMut) {
            let mut body = b"\x03MSG".to_vec();
            body.push(flags);
            body.extend_from_slice(frame);
            crate::zmtp::encode_command_body(&body, out);
        }
        fn decode_frame(&mut self, body: Bytes) -> Result<Unwrapped, ProtocolError> {
            if !body.starts_with(b"\x03MSG") {
                return Ok(Unwrapped::Not(body));
            }
            let flags = *body.get(4).ok_or(ProtocolError::MalformedCommand {
                command: "MSG".into(),
                reason: "no flags".into(),
            })?;
            Ok(Unwrapped::Frame(flags, body.slice(5..)))
        }
    }

    #[test]
    fn a_wrapping_mechanism_sees_every_frame_after_the_handshake() {
        let now = Instant::now();
        let mech = || -> Box<dyn Mechanism> { Box::new(Wrapping::default()) };
        let mut sub = Session::new(config(SocketType::Sub), mech(), now);
        let mut publ = Session::new(config(SocketType::Pub), mech(), now);
        let (mut to_pub, mut to_sub) = (BytesMut::new(), BytesMut::new());
        sub.poll_transmit(&mut to_pub);
        publ.poll_transmit(&mut to_sub);
        assert_eq!(&to_pub[12..17], b"XWRAP");
        let (mut sub_got, mut pub_got) = (Vec::new(), Vec::new());
        sub.handle_input(&mut to_sub, now, &mut sub_got).unwrap();
        publ.handle_input(&mut to_pub, now, &mut pub_got).unwrap();
        assert!(matches!(sub.poll_event(), Some(Event::Ready(_))));
        assert!(matches!(publ.poll_event(), Some(Event::Ready(_))));
        // subscriptions and messages both ways, all wrapped
        let mut wire = BytesMut::new();
        sub.encode_message(&subscribe_message(b"ab"), &mut wire);
        sub.encode_message(&Multipart::from(["x", "y"]), &mut wire);
        assert_eq!(
            commands_in(wire.clone()),
            [
                Command::Unknown { name: "MSG".into() },
                Command::Unknown { name: "MSG".into() },
                Command::Unknown { name: "MSG".into() },
            ]
        );
        publ.handle_input(&mut wire, now, &mut pub_got).unwrap();
        assert_eq!(
            pub_got,
            [subscribe_message(b"ab"), Multipart::from(["x", "y"])]
        );
        // PING and PONG are wrapped too
        let mut ping = BytesMut::new();
        Wrapping::default().encode_frame(FLAG_COMMAND, b"\x04PING\x00\x00hi", &mut ping);
        sub.handle_input(&mut ping, now, &mut sub_got).unwrap();
        let mut pong = BytesMut::new();
        sub.poll_transmit(&mut pong);
        assert!(pong.ends_with(b"\x03MSG\x04\x04PONGhi"), "{pong:02x?}");
        publ.handle_input(&mut pong, now, &mut pub_got).unwrap();
        assert_eq!(pub_got.len(), 2);
        // a refusal's ERROR reaches the peer through the wrapping
        publ.refuse("no room");
        let mut error = BytesMut::new();
        publ.poll_transmit(&mut error);
        sub.handle_input(&mut error, now, &mut sub_got).unwrap_err();
        assert_eq!(closed(&sub), "peer sent ERROR: no room");
        assert!(sub_got.is_empty());
        // a plain frame where every frame should be wrapped
        let mut s = Session::new(config(SocketType::Pull), mech(), now);
        let mut wire = BytesMut::from(
            &Greeting {
                mechanism: "XWRAP".into(),
                ..Greeting::null()
            }
            .encode()[..],
        );
        wire.extend_from_slice(&hand_made_peer("PUSH", 1)[GREETING_LEN_FOR_TEST..]);
        wire.extend_from_slice(b"\x00\x01x");
        s.handle_input(&mut wire, now, &mut Vec::new()).unwrap_err();
        assert!(
            closed(&s).starts_with("protocol error: malformed MESSAGE"),
            "{}",
            closed(&s)
        );
    }

    fn arb_msg() -> impl Strategy<Value = Multipart> {
        let frame = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..20),
            proptest::collection::vec(any::<u8>(), 250..300),
        ]
        .prop_map(Bytes::from);
        prop_oneof![
            proptest::collection::vec(frame, 1..4).prop_map(Multipart::from),
            proptest::collection::vec(any::<u8>(), 0..8).prop_map(|t| subscribe_message(&t)),
            proptest::collection::vec(any::<u8>(), 0..8).prop_map(|t| cancel_message(&t)),
        ]
    }

    proptest! {
        #[test]
        fn any_split_yields_the_same_messages(
            msgs in proptest::collection::vec(arb_msg(), 0..20),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..30),
            ping in any::<bool>(),
        ) {
            let now = Instant::now();
            // a SUB that completed its handshake with a PUB, and everything it sends
            let mut publ = session(config(SocketType::Pub), now);
            let mut sub = session(config(SocketType::Sub), now);
            let mut to_sub = BytesMut::new();
            publ.poll_transmit(&mut to_sub);
            sub.handle_input(&mut to_sub, now, &mut Vec::new()).unwrap();
            let mut wire = BytesMut::new();
            sub.poll_transmit(&mut wire);
            for (i, m) in msgs.iter().enumerate() {
                sub.encode_message(m, &mut wire);
                if ping && i == msgs.len() / 2 {
                    encode_command(&Command::Ping { ttl: 0, context: Bytes::new() }, &mut wire);
                }
            }
            let wire = wire.freeze();
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
            points.push(wire.len());
            points.sort_unstable();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            let mut at = 0;
            for p in points {
                buf.extend_from_slice(&wire[at..p]);
                at = p;
                publ.handle_input(&mut buf, now, &mut got).unwrap();
            }
            prop_assert!(buf.is_empty());
            prop_assert_eq!(got, msgs);
            prop_assert!(matches!(publ.poll_event(), Some(Event::Ready(p)) if p.socket_type == SocketType::Sub));
            prop_assert_eq!(publ.poll_event(), None);
        }
    }
}
