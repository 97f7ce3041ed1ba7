//! Socket options, named and defaulted after libzmq's.

use std::time::Duration;

use bytes::Bytes;

/// Default [`SocketOptions::maxmsgsize`]: 256 MiB.
pub const DEFAULT_MAXMSGSIZE: u64 = 256 * 1024 * 1024;

/// Options of one socket. Names and defaults follow libzmq (`zmq_setsockopt(3)`).
///
/// ```
/// use actormq::SocketOptions;
/// use std::time::Duration;
///
/// let opts = SocketOptions { sndhwm: 10_000, linger: Some(Duration::from_millis(500)), ..Default::default() };
/// assert_eq!(opts.rcvhwm, 1000);
///
/// // PING every peer each second; drop one that answers nothing within 3 s
/// let watched = SocketOptions {
///     heartbeat_ivl: Some(Duration::from_secs(1)),
///     heartbeat_timeout: Some(Duration::from_secs(3)),
///     ..Default::default()
/// };
/// assert!(watched.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketOptions {
    /// High-water mark of outbound messages per peer (and of the socket's own send queue).
    /// At the mark PUB drops for that peer; PUSH sends elsewhere or waits. Default 1000.
    pub sndhwm: usize,
    /// High-water mark of inbound messages per peer; at the mark the connection stops reading
    /// (TCP pushes back on the sender). Default 1000.
    pub rcvhwm: usize,
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
    /// Deadline of the ZMTP handshake (`ZMQ_HANDSHAKE_IVL`). Default 30 s.
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
    /// Send a ZMTP PING to each tcp/ipc peer this often (`ZMQ_HEARTBEAT_IVL`). `None`: no
    /// PINGs (a peer's are still answered). Default `None`.
    pub heartbeat_ivl: Option<Duration>,
    /// Close a connection when nothing at all arrived within this long of a PING
    /// (`ZMQ_HEARTBEAT_TIMEOUT`). `None`: `heartbeat_ivl`. Default `None`.
    pub heartbeat_timeout: Option<Duration>,
    /// The time-to-live our PINGs carry (`ZMQ_HEARTBEAT_TTL`): a peer that hears nothing from
    /// us for that long closes the connection. Whole deciseconds, at most 6553.5 s. `None`:
    /// none. Default `None`. (We honour a peer's TTL likewise.)
    pub heartbeat_ttl: Option<Duration>,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            sndhwm: 1000,
            rcvhwm: 1000,
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
            heartbeat_ivl: None,
            heartbeat_timeout: None,
            heartbeat_ttl: None,
        }
    }
}

impl SocketOptions {
    /// Checks the values, naming the first bad one.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |name, reason: &str| {
            Err(crate::Error::InvalidOption {
                name,
                reason: reason.into(),
            })
        };
        if self.sndhwm == 0 {
            return bad(
                "sndhwm",
                "must be at least 1 (libzmq's 0 = unlimited is not supported: queues are bounded)",
            );
        }
        if self.rcvhwm == 0 {
            return bad(
                "rcvhwm",
                "must be at least 1 (libzmq's 0 = unlimited is not supported: queues are bounded)",
            );
        }
        if self.routing_id.len() > 255 {
            return bad("routing_id", "must be at most 255 bytes");
        }
        if self.routing_id.first() == Some(&0) {
            return bad(
                "routing_id",
                "must not start with a zero byte (reserved for generated ids)",
            );
        }
        if self.reconnect_ivl.is_zero() {
            return bad("reconnect_ivl", "must be more than zero");
        }
        if self.heartbeat_ivl.is_some_and(|d| d.is_zero()) {
            return bad(
                "heartbeat_ivl",
                "must be more than zero (`None` turns PINGs off)",
            );
        }
        if self.heartbeat_timeout.is_some_and(|d| d.is_zero()) {
            return bad("heartbeat_timeout", "must be more than zero");
        }
        if self
            .heartbeat_ttl
            .is_some_and(|d| d.as_millis() > u128::from(u16::MAX) * 100)
        {
            return bad(
                "heartbeat_ttl",
                "must be at most 6553.5 s (a PING carries it in deciseconds, in 16 bits)",
            );
        }
        Ok(())
    }

    /// The options the socket's pattern reads.
    pub(crate) fn pattern_options(&self) -> actormq_patterns::PatternOptions {
        actormq_patterns::PatternOptions {
            req_relaxed: self.req_relaxed,
            req_correlate: self.req_correlate,
            router_mandatory: self.router_mandatory,
            router_handover: self.router_handover,
            xpub_verbose: self.xpub_verbose,
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
}
