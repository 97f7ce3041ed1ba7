//! Socket options, named and defaulted after libzmq's.

use std::time::Duration;

use bytes::Bytes;

/// Default [`SocketOptions::maxmsgsize`]: 256 MiB.
pub const DEFAULT_MAXMSGSIZE: u64 = 256 * 1024 * 1024;

/// Default [`SocketOptions::rcvhwm_bytes`]: 64 MiB.
pub const DEFAULT_RCVHWM_BYTES: usize = 64 * 1024 * 1024;

/// Default [`SocketOptions::max_connections`]: 10 000 per bound endpoint.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// Largest `sndhwm` / `rcvhwm`: libzmq's (they are C `int`s there), so that no sum of marks
/// can overflow.
pub const MAX_HWM: usize = i32::MAX as usize;

/// What each frame of a message counts for in [`SocketOptions::rcvhwm_bytes`], on top of its
/// bytes: about what a frame costs in memory, so that empty frames are not free.
pub const FRAME_OVERHEAD: usize = 32;

/// Options of one socket. Names and defaults follow libzmq (`zmq_setsockopt(3)`).
///
/// Build one from [`SocketOptions::default`] with the chainable setters, each named after the
/// field it sets and taking the field's type (the struct is `#[non_exhaustive]`, so that options
/// can be added without breaking anyone: a struct literal does not compile outside this crate).
/// The fields stay public to read and to assign. [`SocketOptions::set`] sets one by its libzmq
/// name from text, as graph files and the command line do.
///
/// ```
/// use actormq::SocketOptions;
/// use std::time::Duration;
///
/// let opts = SocketOptions::default().sndhwm(10_000).linger(Some(Duration::from_millis(500)));
/// assert_eq!(opts.sndhwm, 10_000);
/// assert_eq!(opts.rcvhwm, 1000);
///
/// // PING every peer each second; drop one that answers nothing within 3 s
/// let watched = SocketOptions::default()
///     .heartbeat_ivl(Some(Duration::from_secs(1)))
///     .heartbeat_timeout(Some(Duration::from_secs(3)));
/// assert!(watched.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocketOptions {
    /// High-water mark of outbound messages per peer (and of the socket's own send queue).
    /// At the mark PUB drops for that peer; PUSH sends elsewhere or waits. Default 1000.
    pub sndhwm: usize,
    /// High-water mark of inbound messages per peer; at the mark the connection stops reading
    /// (TCP pushes back on the sender). Default 1000. At most [`MAX_HWM`], as `sndhwm`.
    pub rcvhwm: usize,
    /// High-water mark of inbound *bytes* per peer (ours; libzmq has none): a tcp/ipc
    /// connection also stops reading while its peer's queued messages hold this many bytes,
    /// each frame counting its length plus [`FRAME_OVERHEAD`]; the socket's ready queue also
    /// stops taking messages at this many bytes. A tcp/ipc peer then costs at most this plus
    /// one read's messages, whatever `rcvhwm` says. An inproc sender fills the queue directly
    /// and is bounded by the message marks only (its messages are already in this process).
    /// Default 64 MiB ([`DEFAULT_RCVHWM_BYTES`]).
    pub rcvhwm_bytes: usize,
    /// The most frames one inbound message may have (ours; libzmq has none); a message with
    /// more closes the connection ("protocol error: message has more than max_frames ...").
    /// `None`: no cap. Default 1024: a message of empty frames would otherwise cost ~32 bytes
    /// of memory per 2 bytes of wire, and envelopes need a handful.
    pub max_frames: Option<usize>,
    /// The most connections accepted at once on each bound endpoint (ours); a connection
    /// beyond it is closed at once, with a warning logged. Default 10 000
    /// ([`DEFAULT_MAX_CONNECTIONS`]).
    pub max_connections: usize,
    /// How long a closed socket keeps trying to deliver queued messages. `None`: until they are
    /// delivered (libzmq's -1). Default `None`.
    pub linger: Option<Duration>,
    /// Delay before reconnecting a lost or refused connection. Default 100 ms.
    pub reconnect_ivl: Duration,
    /// Upper bound of the exponential reconnect back-off; zero keeps `reconnect_ivl` fixed
    /// (libzmq's default). Default zero.
    pub reconnect_ivl_max: Duration,
    /// Largest inbound message in bytes (all frames); a larger one closes the connection.
    /// `None`: no limit (libzmq's -1). Default 256 MiB — unlike libzmq, so that a peer cannot
    /// make us buffer without bound by declaring a huge frame and feeding it slowly.
    pub maxmsgsize: Option<u64>,
    /// The identity announced to peers in the handshake (`ZMQ_ROUTING_ID`), at most 255 bytes
    /// and not starting with a zero byte. Default empty.
    pub routing_id: Bytes,
    /// Deadline of the ZMTP handshake (`ZMQ_HANDSHAKE_IVL`); zero: no deadline, as in libzmq.
    /// Default 30 s.
    pub handshake_ivl: Duration,
    /// REQ: allow a new request before the last one was answered (`ZMQ_REQ_RELAXED`).
    pub req_relaxed: bool,
    /// REQ: match replies to requests by a request id (`ZMQ_REQ_CORRELATE`).
    pub req_correlate: bool,
    /// ROUTER: sending to an unknown or full peer is an error, not a silent drop
    /// (`ZMQ_ROUTER_MANDATORY`).
    pub router_mandatory: bool,
    /// ROUTER: a new peer may take over a routing id in use (`ZMQ_ROUTER_HANDOVER`).
    pub router_handover: bool,
    /// XPUB: show every subscription, not only the first per topic (`ZMQ_XPUB_VERBOSE`).
    pub xpub_verbose: bool,
    /// PUB/XPUB: at a matching subscriber's high-water mark, wait instead of dropping
    /// (`ZMQ_XPUB_NODROP`): a message stays at the head of the send queue until every
    /// subscriber it matches has room, and those behind it wait too; once the send queue holds
    /// `sndhwm`, `send` waits and `try_send` answers `WouldBlock`. Nothing is lost to a slow
    /// subscriber, and a stalled one stalls the publisher (until it leaves or cancels).
    pub xpub_nodrop: bool,
    /// How long a `recv` that finds nothing ready keeps its thread polling for a message
    /// (the connections' sockets included) before it sleeps (ours; libzmq has none). A
    /// wake-up from sleep costs tens of microseconds on many machines: polling trades CPU for
    /// latency, as Linux's `SO_BUSY_POLL` does. Default zero: sleep at once.
    pub busy_poll: Duration,
    /// PUB/XPUB: how many distinct subscriptions one subscriber may hold; further ones are
    /// ignored (logged once per peer) until it cancels some. Not in libzmq, which has no
    /// limit. Default 10 000.
    pub max_subscriptions: usize,
    /// PUB/XPUB: how many bytes of topic prefixes one subscriber's subscriptions may hold in
    /// total; beyond it, as for `max_subscriptions`. Not in libzmq. Default 1 MiB.
    pub max_subscription_bytes: usize,
    /// Send a ZMTP PING to each tcp/ipc peer this often (`ZMQ_HEARTBEAT_IVL`). `None`: no
    /// PINGs (a peer's are still answered). Default `None`.
    pub heartbeat_ivl: Option<Duration>,
    /// Close a connection when nothing at all arrived within this long of a PING
    /// (`ZMQ_HEARTBEAT_TIMEOUT`). `None`: `heartbeat_ivl`. Default `None`.
    pub heartbeat_timeout: Option<Duration>,
    /// The time-to-live our PINGs carry (`ZMQ_HEARTBEAT_TTL`): a peer that hears nothing from
    /// us for that long closes the connection. Whole deciseconds, rounded down as libzmq
    /// does but never to zero: under 100 ms counts as 100 ms. At most 6553.5 s. `None`: none.
    /// Default `None`. (We honour a peer's TTL likewise.)
    pub heartbeat_ttl: Option<Duration>,
    /// CURVE: this side is the server (`ZMQ_CURVE_SERVER`), proving
    /// [`curve_keys`](Self::curve_keys). Set with [`SocketOptions::curve_server`]. Default false.
    pub curve_server: bool,
    /// CURVE: our long-term key pair (`ZMQ_CURVE_PUBLICKEY` / `ZMQ_CURVE_SECRETKEY`); its secret
    /// is wiped from memory when dropped. A client without one proves a fresh pair.
    pub curve_keys: Option<crate::security::CurveKeyPair>,
    /// CURVE: the server's public key (`ZMQ_CURVE_SERVERKEY`): set, this side is a CURVE
    /// client. Set with [`SocketOptions::curve_client`].
    pub curve_serverkey: Option<crate::security::CurvePublicKey>,
    /// PLAIN: this side is the server (`ZMQ_PLAIN_SERVER`). Default false.
    pub plain_server: bool,
    /// PLAIN: the user name (`ZMQ_PLAIN_USERNAME`): set, this side is a PLAIN client. Set with
    /// [`SocketOptions::plain_client`].
    pub plain_username: Option<String>,
    /// PLAIN: the password (`ZMQ_PLAIN_PASSWORD`).
    pub plain_password: Option<crate::security::Password>,
    /// The authentication domain (`ZMQ_ZAP_DOMAIN`): without an authenticator of its own, the
    /// socket asks the one [installed](crate::security::install) for this domain. Default
    /// empty.
    pub zap_domain: String,
    /// This socket's authenticator (see [`crate::security`]): it judges every peer of a
    /// PLAIN or CURVE server, and, on a NULL socket, every peer by its address. Default none.
    pub authenticator: Option<crate::security::AuthenticatorRef>,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            sndhwm: 1000,
            rcvhwm: 1000,
            rcvhwm_bytes: DEFAULT_RCVHWM_BYTES,
            max_frames: Some(actormq_transports::zmtp::DEFAULT_MAX_FRAMES),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            linger: None,
            reconnect_ivl: Duration::from_millis(100),
            reconnect_ivl_max: Duration::ZERO,
            maxmsgsize: Some(DEFAULT_MAXMSGSIZE),
            routing_id: Bytes::new(),
            handshake_ivl: Duration::from_secs(30),
            req_relaxed: false,
            req_correlate: false,
            router_mandatory: false,
            router_handover: false,
            xpub_verbose: false,
            xpub_nodrop: false,
            busy_poll: Duration::ZERO,
            max_subscriptions: actormq_patterns::DEFAULT_MAX_SUBSCRIPTIONS,
            max_subscription_bytes: actormq_patterns::DEFAULT_MAX_SUBSCRIPTION_BYTES,
            heartbeat_ivl: None,
            heartbeat_timeout: None,
            heartbeat_ttl: None,
            curve_server: false,
            curve_keys: None,
            curve_serverkey: None,
            plain_server: false,
            plain_username: None,
            plain_password: None,
            zap_domain: String::new(),
            authenticator: None,
        }
    }
}

/// The chainable setters: `SocketOptions::default().sndhwm(10)`, one per field, named after it.
macro_rules! setters {
    ($($name:ident: $ty:ty;)*) => {
        impl SocketOptions {
            $(
                #[doc = concat!("Sets [`SocketOptions::", stringify!($name), "`] (chainable).")]
                #[must_use]
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$name = value;
                    self
                }
            )*
        }
    };
}

setters! {
    sndhwm: usize;
    rcvhwm: usize;
    rcvhwm_bytes: usize;
    max_frames: Option<usize>;
    max_connections: usize;
    linger: Option<Duration>;
    reconnect_ivl: Duration;
    reconnect_ivl_max: Duration;
    maxmsgsize: Option<u64>;
    handshake_ivl: Duration;
    req_relaxed: bool;
    req_correlate: bool;
    router_mandatory: bool;
    router_handover: bool;
    xpub_verbose: bool;
    xpub_nodrop: bool;
    busy_poll: Duration;
    max_subscriptions: usize;
    max_subscription_bytes: usize;
    heartbeat_ivl: Option<Duration>;
    heartbeat_timeout: Option<Duration>;
    heartbeat_ttl: Option<Duration>;
}

impl SocketOptions {
    /// Sets [`SocketOptions::routing_id`] (chainable): `SocketOptions::default().routing_id("alice")`.
    #[must_use]
    pub fn routing_id(mut self, value: impl Into<Bytes>) -> Self {
        self.routing_id = value.into();
        self
    }
}

/// One socket option of [`OPTIONS`]: its libzmq name, the unit its text value is in, its default
/// (as text, in that unit) and what it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionDef {
    /// The libzmq name, without `ZMQ_` and in lower case (`sndhwm`).
    pub name: &'static str,
    /// The unit of the value as written in a graph file or on the command line.
    pub unit: &'static str,
    /// The default, written as [`SocketOptions::get`] writes it.
    pub default: &'static str,
    /// What it does.
    pub description: &'static str,
}

/// Every socket option: the one table that [`SocketOptions::set`] / [`SocketOptions::get`],
/// graph files (`options = { ... }`) and the command line (`--option name=value`) read.
/// Durations are whole milliseconds; where libzmq writes -1 for "unlimited" or "forever" so
/// does this table.
///
/// ```
/// use actormq::{SocketOptions, OPTIONS};
///
/// let defaults = SocketOptions::default();
/// for def in OPTIONS {
///     assert_eq!(defaults.get(def.name).as_deref(), Some(def.default));
/// }
/// ```
pub const OPTIONS: &[OptionDef] = &[
    OptionDef {
        name: "sndhwm",
        unit: "messages",
        default: "1000",
        description: "outbound messages queued per peer (and in the socket's own send queue); at the mark PUB drops for that peer, PUSH sends elsewhere or waits; at least 1",
    },
    OptionDef {
        name: "rcvhwm",
        unit: "messages",
        default: "1000",
        description: "inbound messages queued per peer; at the mark the connection stops reading; at least 1",
    },
    OptionDef {
        name: "rcvhwm_bytes",
        unit: "bytes",
        default: "67108864",
        description: "inbound bytes queued per peer (each frame counts its length + 32); at the mark a tcp/ipc connection stops reading, and the ready queue stops filling (ours: libzmq has none); at least 1",
    },
    OptionDef {
        name: "max_frames",
        unit: "frames, -1 = unlimited",
        default: "1024",
        description: "most frames in one inbound message; more closes the connection (ours: libzmq has none)",
    },
    OptionDef {
        name: "max_connections",
        unit: "connections",
        default: "10000",
        description: "connections accepted at once per bound endpoint; more are closed at once with a warning (ours); at least 1",
    },
    OptionDef {
        name: "linger",
        unit: "ms, -1 = forever",
        default: "-1",
        description: "how long a closed socket keeps delivering queued messages",
    },
    OptionDef {
        name: "reconnect_ivl",
        unit: "ms",
        default: "100",
        description: "delay before reconnecting a lost or refused connection; more than 0",
    },
    OptionDef {
        name: "reconnect_ivl_max",
        unit: "ms",
        default: "0",
        description: "upper bound of the exponential reconnect back-off; 0 keeps reconnect_ivl fixed",
    },
    OptionDef {
        name: "maxmsgsize",
        unit: "bytes, -1 = unlimited",
        default: "268435456",
        description: "largest inbound message (all frames); a larger one closes the connection (256 MiB, unlike libzmq's -1)",
    },
    OptionDef {
        name: "routing_id",
        unit: "text",
        default: "",
        description: "identity announced to peers (ZMQ_ROUTING_ID); at most 255 bytes, not starting with a zero byte",
    },
    OptionDef {
        name: "handshake_ivl",
        unit: "ms",
        default: "30000",
        description: "deadline of the ZMTP handshake; 0 = none, as in libzmq",
    },
    OptionDef {
        name: "req_relaxed",
        unit: "bool",
        default: "false",
        description: "REQ: allow a new request before the last one was answered",
    },
    OptionDef {
        name: "req_correlate",
        unit: "bool",
        default: "false",
        description: "REQ: match replies to requests by a request id",
    },
    OptionDef {
        name: "router_mandatory",
        unit: "bool",
        default: "false",
        description: "ROUTER: sending to an unknown or full peer is an error, not a silent drop",
    },
    OptionDef {
        name: "router_handover",
        unit: "bool",
        default: "false",
        description: "ROUTER: a new peer may take over a routing id in use",
    },
    OptionDef {
        name: "xpub_verbose",
        unit: "bool",
        default: "false",
        description: "XPUB: show every subscription, not only the first per topic",
    },
    OptionDef {
        name: "xpub_nodrop",
        unit: "bool",
        default: "false",
        description: "PUB/XPUB: wait at a subscriber's high-water mark instead of dropping",
    },
    OptionDef {
        name: "busy_poll",
        unit: "µs",
        default: "0",
        description: "how long a recv polls for a message before its thread sleeps",
    },
    OptionDef {
        name: "max_subscriptions",
        unit: "count",
        default: "10000",
        description: "PUB/XPUB: most subscriptions one subscriber may hold; more are ignored",
    },
    OptionDef {
        name: "max_subscription_bytes",
        unit: "bytes",
        default: "1048576",
        description: "PUB/XPUB: most bytes of topics one subscriber's subscriptions may hold",
    },
    OptionDef {
        name: "heartbeat_ivl",
        unit: "ms, 0 = off",
        default: "0",
        description: "send a ZMTP PING to each tcp/ipc peer this often",
    },
    OptionDef {
        name: "heartbeat_timeout",
        unit: "ms, -1 = heartbeat_ivl",
        default: "-1",
        description: "close a connection when nothing arrived within this long of a PING",
    },
    OptionDef {
        name: "heartbeat_ttl",
        unit: "ms, 0 = none",
        default: "0",
        description: "time-to-live our PINGs carry: a peer that hears nothing for that long closes the connection; whole deciseconds, at most 6553500",
    },
];

/// A socket option that cannot be set: its name as given and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid option `{name}`: {reason}")]
pub struct OptionError {
    /// The option's name as given.
    pub name: String,
    /// What is wrong.
    pub reason: String,
}

impl From<OptionError> for crate::Error {
    fn from(e: OptionError) -> Self {
        match OPTIONS
            .iter()
            .chain(crate::security::SECURITY_OPTIONS)
            .find(|d| d.name == e.name)
        {
            Some(def) => crate::Error::InvalidOption {
                name: def.name,
                reason: e.reason,
            },
            None => crate::Error::InvalidOption {
                name: "(unknown)",
                reason: format!("no option `{}`", e.name),
            },
        }
    }
}

fn millis(d: Duration) -> String {
    d.as_millis().to_string()
}

/// Parses an integer, naming what was expected.
fn int(value: &str) -> Result<i64, String> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| format!("`{value}` is not a whole number"))
}

fn non_negative(value: &str) -> Result<u64, String> {
    let n = int(value)?;
    u64::try_from(n).map_err(|_| format!("`{value}` is negative"))
}

fn usize_of(value: &str) -> Result<usize, String> {
    usize::try_from(non_negative(value)?).map_err(|_| format!("`{value}` is too large"))
}

/// A duration in ms where `special` (-1 or 0) means `None`.
fn millis_or(value: &str, special: i64) -> Result<Option<Duration>, String> {
    let n = int(value)?;
    if n == special {
        return Ok(None);
    }
    let ms = u64::try_from(n)
        .map_err(|_| format!("`{value}` is negative (write {special} for none)"))?;
    Ok(Some(Duration::from_millis(ms)))
}

fn flag(value: &str) -> Result<bool, String> {
    match value.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!(
            "`{value}` is not a boolean (write true, false, 1 or 0)"
        )),
    }
}

impl SocketOptions {
    /// Sets the option `name` (a name of [`OPTIONS`]) from text in the table's unit: whole
    /// milliseconds for durations, -1 for libzmq's "unlimited"/"forever", `true`/`false` (or
    /// 1/0) for flags. The value is checked as [`validate`](Self::validate) checks it; on an
    /// error nothing changes and the error names the option.
    ///
    /// ```
    /// use actormq::SocketOptions;
    /// use std::time::Duration;
    ///
    /// let mut o = SocketOptions::default();
    /// o.set("linger", "500").unwrap();
    /// o.set("maxmsgsize", "-1").unwrap();
    /// assert_eq!(o.linger, Some(Duration::from_millis(500)));
    /// assert_eq!(o.maxmsgsize, None);
    /// assert_eq!(o.get("linger").as_deref(), Some("500"));
    /// assert!(o.set("sndhwm", "0").unwrap_err().to_string().contains("sndhwm"));
    /// assert!(o.set("sndhwn", "5").unwrap_err().to_string().contains("sndhwn"));
    /// ```
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), OptionError> {
        let fail = |reason: String| OptionError {
            name: name.to_string(),
            reason,
        };
        let mut next = self.clone();
        let o = &mut next;
        let parsed: Result<(), String> = (|| {
            match name {
                "sndhwm" => o.sndhwm = usize_of(value)?,
                "rcvhwm" => o.rcvhwm = usize_of(value)?,
                "rcvhwm_bytes" => o.rcvhwm_bytes = usize_of(value)?,
                "max_frames" => {
                    o.max_frames = match int(value)? {
                        -1 => None,
                        _ => Some(usize_of(value)?),
                    }
                }
                "max_connections" => o.max_connections = usize_of(value)?,
                "linger" => o.linger = millis_or(value, -1)?,
                "reconnect_ivl" => o.reconnect_ivl = Duration::from_millis(non_negative(value)?),
                "reconnect_ivl_max" => {
                    o.reconnect_ivl_max = Duration::from_millis(non_negative(value)?)
                }
                "maxmsgsize" => {
                    o.maxmsgsize = match int(value)? {
                        -1 => None,
                        _ => Some(non_negative(value)?),
                    }
                }
                "routing_id" => o.routing_id = Bytes::copy_from_slice(value.as_bytes()),
                "handshake_ivl" => o.handshake_ivl = Duration::from_millis(non_negative(value)?),
                "req_relaxed" => o.req_relaxed = flag(value)?,
                "req_correlate" => o.req_correlate = flag(value)?,
                "router_mandatory" => o.router_mandatory = flag(value)?,
                "router_handover" => o.router_handover = flag(value)?,
                "xpub_verbose" => o.xpub_verbose = flag(value)?,
                "xpub_nodrop" => o.xpub_nodrop = flag(value)?,
                "busy_poll" => o.busy_poll = Duration::from_micros(non_negative(value)?),
                "max_subscriptions" => o.max_subscriptions = non_negative(value)? as usize,
                "max_subscription_bytes" => {
                    o.max_subscription_bytes = non_negative(value)? as usize
                }
                "heartbeat_ivl" => o.heartbeat_ivl = millis_or(value, 0)?,
                "heartbeat_timeout" => o.heartbeat_timeout = millis_or(value, -1)?,
                "heartbeat_ttl" => o.heartbeat_ttl = millis_or(value, 0)?,
                _ => match crate::security::set_security_option(o, name, value) {
                    Some(result) => result?,
                    None => {
                        let names: Vec<&str> = OPTIONS
                            .iter()
                            .chain(crate::security::SECURITY_OPTIONS)
                            .map(|d| d.name)
                            .collect();
                        return Err(format!("no such option (options: {})", names.join(", ")));
                    }
                },
            }
            Ok(())
        })();
        parsed.map_err(fail)?;
        next.check(name).map_err(fail)?;
        *self = next;
        Ok(())
    }

    /// Sets the option `name` from a value of a graph file (a number, a boolean or a string),
    /// as [`set`](Self::set) does from its text.
    pub fn set_value(&mut self, name: &str, value: &serde_json::Value) -> Result<(), OptionError> {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            other => {
                return Err(OptionError {
                    name: name.to_string(),
                    reason: format!("`{other}` is not a number, a boolean or a string"),
                })
            }
        };
        self.set(name, &text)
    }

    /// The value of the option `name` as text in the unit of [`OPTIONS`] (`None` for a name that
    /// is not an option); [`set`](Self::set) reads it back to the same value.
    pub fn get(&self, name: &str) -> Option<String> {
        let or = |d: Option<Duration>, none: &str| d.map_or_else(|| none.to_string(), millis);
        Some(match name {
            "sndhwm" => self.sndhwm.to_string(),
            "rcvhwm" => self.rcvhwm.to_string(),
            "rcvhwm_bytes" => self.rcvhwm_bytes.to_string(),
            "max_frames" => self
                .max_frames
                .map_or_else(|| "-1".into(), |m| m.to_string()),
            "max_connections" => self.max_connections.to_string(),
            "linger" => or(self.linger, "-1"),
            "reconnect_ivl" => millis(self.reconnect_ivl),
            "reconnect_ivl_max" => millis(self.reconnect_ivl_max),
            "maxmsgsize" => self
                .maxmsgsize
                .map_or_else(|| "-1".into(), |m| m.to_string()),
            "routing_id" => String::from_utf8_lossy(&self.routing_id).into_owned(),
            "handshake_ivl" => millis(self.handshake_ivl),
            "req_relaxed" => self.req_relaxed.to_string(),
            "req_correlate" => self.req_correlate.to_string(),
            "router_mandatory" => self.router_mandatory.to_string(),
            "router_handover" => self.router_handover.to_string(),
            "xpub_verbose" => self.xpub_verbose.to_string(),
            "xpub_nodrop" => self.xpub_nodrop.to_string(),
            "busy_poll" => self.busy_poll.as_micros().to_string(),
            "max_subscriptions" => self.max_subscriptions.to_string(),
            "max_subscription_bytes" => self.max_subscription_bytes.to_string(),
            "heartbeat_ivl" => or(self.heartbeat_ivl, "0"),
            "heartbeat_timeout" => or(self.heartbeat_timeout, "-1"),
            "heartbeat_ttl" => or(self.heartbeat_ttl, "0"),
            _ => return None,
        })
    }

    /// Checks the values, naming the first bad one.
    pub fn validate(&self) -> crate::Result<()> {
        for def in OPTIONS {
            if let Err(reason) = self.check(def.name) {
                return Err(crate::Error::InvalidOption {
                    name: def.name,
                    reason,
                });
            }
        }
        self.check_security()
            .map_err(|reason| crate::Error::InvalidOption {
                name: "security",
                reason,
            })
    }

    /// Checks the value of one option.
    fn check(&self, name: &str) -> Result<(), String> {
        const UNBOUNDED: &str =
            "must be at least 1 (libzmq's 0 = unlimited is not supported: queues are bounded)";
        const TOO_HIGH: &str = "must be at most 2147483647 (libzmq's limit, a C int)";
        let bad = |reason: &str| Err(reason.to_string());
        match name {
            "sndhwm" if self.sndhwm == 0 => bad(UNBOUNDED),
            "rcvhwm" if self.rcvhwm == 0 => bad(UNBOUNDED),
            "sndhwm" if self.sndhwm > MAX_HWM => bad(TOO_HIGH),
            "rcvhwm" if self.rcvhwm > MAX_HWM => bad(TOO_HIGH),
            "rcvhwm_bytes" if self.rcvhwm_bytes == 0 => {
                bad("must be at least 1 (queues are bounded)")
            }
            "max_frames" if self.max_frames == Some(0) => {
                bad("must be at least 1 (-1 lifts the cap)")
            }
            "max_connections" if self.max_connections == 0 => bad("must be at least 1"),
            "routing_id" if self.routing_id.len() > 255 => bad("must be at most 255 bytes"),
            "routing_id" if self.routing_id.first() == Some(&0) => {
                bad("must not start with a zero byte (reserved for generated ids)")
            }
            "reconnect_ivl" if self.reconnect_ivl.is_zero() => bad("must be more than zero"),
            "heartbeat_ivl" if self.heartbeat_ivl.is_some_and(|d| d.is_zero()) => {
                bad("must be more than zero (`None` turns PINGs off)")
            }
            "heartbeat_timeout" if self.heartbeat_timeout.is_some_and(|d| d.is_zero()) => {
                bad("must be more than zero")
            }
            "heartbeat_ttl"
                if self
                    .heartbeat_ttl
                    .is_some_and(|d| d.as_millis() > u128::from(u16::MAX) * 100) =>
            {
                bad("must be at most 6553.5 s (a PING carries it in deciseconds, in 16 bits)")
            }
            _ => Ok(()),
        }
    }

    /// The options the socket's pattern reads.
    pub(crate) fn pattern_options(&self) -> actormq_patterns::PatternOptions {
        actormq_patterns::PatternOptions {
            req_relaxed: self.req_relaxed,
            req_correlate: self.req_correlate,
            router_mandatory: self.router_mandatory,
            router_handover: self.router_handover,
            xpub_verbose: self.xpub_verbose,
            xpub_nodrop: self.xpub_nodrop,
            max_subscriptions: self.max_subscriptions,
            max_subscription_bytes: self.max_subscription_bytes,
        }
    }

    /// The reconnect delay after `attempt` failed attempts in a row.
    pub(crate) fn reconnect_delay(&self, attempt: u32) -> Duration {
        if self.reconnect_ivl_max <= self.reconnect_ivl {
            return self.reconnect_ivl;
        }
        let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
        self.reconnect_ivl
            .saturating_mul(factor)
            .min(self.reconnect_ivl_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_max() {
        let mut o = SocketOptions::default();
        assert_eq!(o.reconnect_delay(5), Duration::from_millis(100));
        o.reconnect_ivl_max = Duration::from_millis(500);
        let d: Vec<_> = (0..5).map(|a| o.reconnect_delay(a).as_millis()).collect();
        assert_eq!(d, [100, 200, 400, 500, 500]);
    }

    #[test]
    fn validation_names_the_option() {
        let o = SocketOptions {
            sndhwm: 0,
            ..Default::default()
        };
        assert!(o.validate().unwrap_err().to_string().contains("sndhwm"));
        let o = SocketOptions {
            routing_id: Bytes::from_static(b"\0x"),
            ..Default::default()
        };
        assert!(o.validate().unwrap_err().to_string().contains("routing_id"));
        let o = SocketOptions {
            heartbeat_ttl: Some(Duration::from_secs(7000)),
            ..Default::default()
        };
        assert!(o
            .validate()
            .unwrap_err()
            .to_string()
            .contains("heartbeat_ttl"));
        let o = SocketOptions {
            heartbeat_ivl: Some(Duration::ZERO),
            ..Default::default()
        };
        assert!(o
            .validate()
            .unwrap_err()
            .to_string()
            .contains("heartbeat_ivl"));
        assert!(SocketOptions::default().validate().is_ok());
    }

    /// A value other than the default for each option of the table.
    fn other_value(name: &str) -> &'static str {
        match name {
            "sndhwm" => "7",
            "rcvhwm" => "8",
            "rcvhwm_bytes" => "1048576",
            "max_frames" => "-1",
            "max_connections" => "3",
            "linger" => "250",
            "reconnect_ivl" => "300",
            "reconnect_ivl_max" => "9000",
            "maxmsgsize" => "-1",
            "routing_id" => "me",
            "handshake_ivl" => "1500",
            "req_relaxed" | "req_correlate" | "router_mandatory" | "router_handover"
            | "xpub_verbose" | "xpub_nodrop" => "true",
            "busy_poll" => "50",
            "max_subscriptions" => "50",
            "max_subscription_bytes" => "4096",
            "heartbeat_ivl" => "1000",
            "heartbeat_timeout" => "3000",
            "heartbeat_ttl" => "5000",
            other => panic!("option `{other}` of OPTIONS has no value in this test: add one"),
        }
    }

    #[test]
    fn the_table_covers_every_field_and_agrees_with_default() {
        let defaults = SocketOptions::default();
        let mut names: Vec<&str> = OPTIONS.iter().map(|d| d.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), OPTIONS.len(), "a name twice in OPTIONS");
        let mut all = SocketOptions::default();
        for def in OPTIONS {
            assert_eq!(
                defaults.get(def.name).as_deref(),
                Some(def.default),
                "{}",
                def.name
            );
            // the default text reads back to the default
            let mut o = SocketOptions::default();
            o.set(def.name, def.default).unwrap();
            assert_eq!(o, defaults, "{}", def.name);
            // another value changes exactly this option, and reads back
            let value = other_value(def.name);
            o.set(def.name, value).unwrap();
            assert_ne!(o, defaults, "{}", def.name);
            assert_eq!(o.get(def.name).as_deref(), Some(value), "{}", def.name);
            all.set(def.name, value).unwrap();
        }
        // Every field was changed by some entry of the table. The destructuring has no `..`:
        // a new field fails to compile here until it is added to OPTIONS and to this test.
        let SocketOptions {
            sndhwm,
            rcvhwm,
            rcvhwm_bytes,
            max_frames,
            max_connections,
            linger,
            reconnect_ivl,
            reconnect_ivl_max,
            maxmsgsize,
            routing_id,
            handshake_ivl,
            req_relaxed,
            req_correlate,
            router_mandatory,
            router_handover,
            xpub_verbose,
            xpub_nodrop,
            busy_poll,
            max_subscriptions,
            max_subscription_bytes,
            heartbeat_ivl,
            heartbeat_timeout,
            heartbeat_ttl,
            // set by name in `crate::security` (SECURITY_OPTIONS): checked below
            curve_server: _,
            curve_keys: _,
            curve_serverkey: _,
            plain_server: _,
            plain_username: _,
            plain_password: _,
            zap_domain: _,
            authenticator: _,
        } = all;
        assert_ne!(sndhwm, defaults.sndhwm);
        assert_ne!(rcvhwm, defaults.rcvhwm);
        assert_ne!(rcvhwm_bytes, defaults.rcvhwm_bytes);
        assert_ne!(max_frames, defaults.max_frames);
        assert_ne!(max_connections, defaults.max_connections);
        assert_ne!(linger, defaults.linger);
        assert_ne!(reconnect_ivl, defaults.reconnect_ivl);
        assert_ne!(reconnect_ivl_max, defaults.reconnect_ivl_max);
        assert_ne!(maxmsgsize, defaults.maxmsgsize);
        assert_ne!(routing_id, defaults.routing_id);
        assert_ne!(handshake_ivl, defaults.handshake_ivl);
        assert_ne!(req_relaxed, defaults.req_relaxed);
        assert_ne!(req_correlate, defaults.req_correlate);
        assert_ne!(router_mandatory, defaults.router_mandatory);
        assert_ne!(router_handover, defaults.router_handover);
        assert_ne!(xpub_verbose, defaults.xpub_verbose);
        assert_ne!(xpub_nodrop, defaults.xpub_nodrop);
        assert_ne!(busy_poll, defaults.busy_poll);
        assert_ne!(max_subscriptions, defaults.max_subscriptions);
        assert_ne!(max_subscription_bytes, defaults.max_subscription_bytes);
        assert_ne!(heartbeat_ivl, defaults.heartbeat_ivl);
        assert_ne!(heartbeat_timeout, defaults.heartbeat_timeout);
        assert_ne!(heartbeat_ttl, defaults.heartbeat_ttl);
        assert_eq!(OPTIONS.len(), 23, "one table entry per field");
        let keys = crate::security::CurveKeyPair::generate();
        let mut sec = SocketOptions::default();
        for (name, value) in [
            ("curve_server", "true"),
            ("curve_secretkey", keys.secret.to_z85().as_str()),
            ("curve_serverkey", keys.public.to_z85().as_str()),
            ("plain_server", "true"),
            ("plain_username", "u"),
            ("plain_password", "p"),
            ("zap_domain", "d"),
            ("zap_allow", "127.0.0.1"),
        ] {
            sec.set(name, value).unwrap();
        }
        assert_ne!(sec.curve_server, defaults.curve_server);
        assert_eq!(sec.curve_keys, Some(keys.clone()));
        assert_eq!(sec.curve_serverkey, Some(keys.public));
        assert_ne!(sec.plain_server, defaults.plain_server);
        assert_eq!(sec.plain_username.as_deref(), Some("u"));
        assert_eq!(sec.plain_password.as_ref().map(|p| p.expose()), Some("p"));
        assert_eq!(sec.zap_domain, "d");
        assert!(sec.authenticator.is_some());
    }

    #[test]
    fn high_water_marks_near_usize_max_are_refused() {
        for o in [
            SocketOptions::default().sndhwm(usize::MAX),
            SocketOptions::default().rcvhwm(usize::MAX),
            SocketOptions::default().rcvhwm(MAX_HWM + 1),
        ] {
            let e = o.validate().unwrap_err().to_string();
            assert!(e.contains("at most 2147483647"), "{e}");
        }
        let o = SocketOptions::default().sndhwm(MAX_HWM).rcvhwm(MAX_HWM);
        assert!(o.validate().is_ok());
        // the largest marks still add up (an inproc pipe holds sndhwm + rcvhwm)
        assert!(o.sndhwm.checked_add(o.rcvhwm).is_some());
    }

    #[test]
    fn zero_handshake_ivl_is_allowed_and_documented() {
        let mut o = SocketOptions::default();
        o.set("handshake_ivl", "0").unwrap();
        assert_eq!(o.handshake_ivl, Duration::ZERO);
        assert!(o.validate().is_ok());
        let def = OPTIONS.iter().find(|d| d.name == "handshake_ivl").unwrap();
        assert!(def.description.contains("0 = none"));
    }

    #[test]
    fn set_parses_units_and_rejects_bad_values_unchanged() {
        let mut o = SocketOptions::default();
        o.set("linger", "-1").unwrap();
        assert_eq!(o.linger, None);
        o.set("linger", "0").unwrap();
        assert_eq!(o.linger, Some(Duration::ZERO));
        o.set("heartbeat_ivl", "0").unwrap();
        assert_eq!(o.heartbeat_ivl, None);
        o.set("req_relaxed", "1").unwrap();
        assert!(o.req_relaxed);
        let before = o.clone();
        for (name, value, says) in [
            ("sndhwm", "0", "at least 1"),
            ("sndhwm", "-3", "negative"),
            ("sndhwm", "2147483648", "at most 2147483647"),
            ("rcvhwm", "18446744073709551615", "whole number"),
            ("rcvhwm", "9223372036854775807", "at most 2147483647"),
            ("rcvhwm_bytes", "0", "at least 1"),
            ("max_frames", "0", "at least 1"),
            ("max_connections", "0", "at least 1"),
            ("linger", "soon", "whole number"),
            ("reconnect_ivl", "0", "more than zero"),
            ("heartbeat_ttl", "7000000", "6553.5 s"),
            ("routing_id", "\0x", "zero byte"),
            ("xpub_verbose", "yes", "boolean"),
            ("nope", "1", "no such option"),
        ] {
            let e = o.set(name, value).unwrap_err();
            assert_eq!(e.name, name);
            assert!(e.reason.contains(says), "{name}={value}: {e}");
            assert_eq!(o, before, "{name}={value} changed the options");
        }
        let e = o.set_value("sndhwm", &serde_json::json!([1])).unwrap_err();
        assert!(e.to_string().contains("sndhwm"));
        o.set_value("sndhwm", &serde_json::json!(5)).unwrap();
        o.set_value("xpub_verbose", &serde_json::json!(true))
            .unwrap();
        assert_eq!((o.sndhwm, o.xpub_verbose), (5, true));
    }
}
