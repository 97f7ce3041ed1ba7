//! ZMTP heartbeats (RFC 37, `ZMQ_HEARTBEAT_*`): a PING to the peer every `heartbeat_ivl`, the
//! connection closed when nothing at all comes back within `heartbeat_timeout` of one, or when
//! nothing comes within the time-to-live the peer's own PINGs asked for.

use std::cell::Cell;
use std::time::Duration;

use actormq_transports::zmtp::Command;
use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::SocketOptions;

/// What one connection's reader has heard, for its heartbeat watch (both run in the
/// connection's task).
pub(crate) struct Liveness {
    last_seen: Cell<Instant>,
    /// The reader stopped reading at `rcvhwm`: the peer's bytes wait unread, so its silence
    /// means nothing.
    paused: Cell<bool>,
    peer_ttl: Cell<Option<Duration>>,
    ttl_changed: Notify,
}

impl Liveness {
    pub(crate) fn new() -> Self {
        Liveness {
            last_seen: Cell::new(Instant::now()),
            paused: Cell::new(false),
            peer_ttl: Cell::new(None),
            ttl_changed: Notify::new(),
        }
    }

    /// Bytes arrived from the peer.
    pub(crate) fn seen(&self) {
        self.last_seen.set(Instant::now());
    }

    /// Waits for `resume` with the reader paused (see [`Liveness::paused`]).
    pub(crate) async fn paused_until(&self, resume: impl std::future::Future<Output = ()>) {
        self.paused.set(true);
        resume.await;
        self.paused.set(false);
        self.seen();
    }

    /// The peer sent a PING with this time-to-live, in deciseconds (0: none).
    pub(crate) fn peer_ping(&self, ttl: u16) {
        let ttl = (ttl > 0).then(|| Duration::from_millis(u64::from(ttl) * 100));
        if ttl != self.peer_ttl.replace(ttl) {
            self.ttl_changed.notify_one();
        }
    }
}

/// A PING's time-to-live field: whole deciseconds, at most `u16::MAX` (options are checked
/// against that bound before a socket exists).
pub(crate) fn ttl_deciseconds(ttl: Option<Duration>) -> u16 {
    ttl.map_or(0, |t| {
        u16::try_from(t.as_millis() / 100).unwrap_or(u16::MAX)
    })
}

/// Sends PINGs through `ping` as the options ask and returns, with the reason, when the
/// connection must close; never returns while the peer keeps talking.
pub(crate) async fn watch(
    opts: &SocketOptions,
    alive: &Liveness,
    ping: impl Fn(Command),
) -> String {
    let ivl = opts.heartbeat_ivl;
    let timeout = opts.heartbeat_timeout.or(ivl).unwrap_or_default();
    let ttl = ttl_deciseconds(opts.heartbeat_ttl);
    let mut next_ping = ivl.map(|i| Instant::now() + i);
    // the last unanswered PING: when it went, and when silence since then ends the connection
    let mut awaiting: Option<(Instant, Instant)> = None;
    loop {
        let peer_deadline = alive.peer_ttl.get().map(|t| alive.last_seen.get() + t);
        let wake = [next_ping, awaiting.map(|(_, d)| d), peer_deadline]
            .into_iter()
            .flatten()
            .min();
        match wake {
            Some(at) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => {}
                    _ = alive.ttl_changed.notified() => continue,
                }
            }
            None => {
                alive.ttl_changed.notified().await;
                continue;
            }
        }
        let now = Instant::now();
        if alive.paused.get() {
            alive.seen();
        }
        let last_seen = alive.last_seen.get();
        if let Some((sent, deadline)) = awaiting {
            if last_seen >= sent {
                awaiting = None;
            } else if now >= deadline {
                return format!(
                    "heartbeat timed out: nothing from the peer within heartbeat_timeout \
                     ({timeout:?}) of a PING"
                );
            }
        }
        if let Some(t) = alive.peer_ttl.get() {
            if now.duration_since(last_seen) >= t {
                return format!(
                    "heartbeat TTL expired: nothing from the peer within the {t:?} its PINGs \
                     asked for"
                );
            }
        }
        if next_ping.is_some_and(|p| now >= p) {
            ping(Command::Ping {
                ttl,
                context: Bytes::new(),
            });
            awaiting.get_or_insert((now, now + timeout));
            next_ping = ivl.map(|i| now + i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn opts(ivl: u64, timeout: Option<u64>) -> SocketOptions {
        SocketOptions {
            heartbeat_ivl: Some(Duration::from_millis(ivl)),
            heartbeat_timeout: timeout.map(Duration::from_millis),
            heartbeat_ttl: Some(Duration::from_millis(1500)),
            ..Default::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn pings_on_the_interval_and_gives_up_on_a_silent_peer() {
        let alive = Liveness::new();
        let pings = RefCell::new(Vec::new());
        let start = Instant::now();
        let reason = watch(&opts(100, Some(350)), &alive, |c| {
            pings.borrow_mut().push((start.elapsed().as_millis(), c))
        })
        .await;
        assert!(reason.contains("heartbeat timed out"), "{reason}");
        // the first PING at 100 ms goes unanswered: closed at 450 ms, after PINGs at 200..400
        assert_eq!(start.elapsed(), Duration::from_millis(450));
        let pings = pings.into_inner();
        let times: Vec<u128> = pings.iter().map(|(t, _)| *t).collect();
        assert_eq!(times, [100, 200, 300, 400]);
        assert!(matches!(pings[0].1, Command::Ping { ttl: 15, .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn any_traffic_answers_a_ping() {
        let alive = Liveness::new();
        let options = opts(100, None);
        let watching = watch(&options, &alive, |_| {});
        let talking = async {
            loop {
                tokio::time::sleep(Duration::from_millis(60)).await;
                alive.seen();
            }
        };
        tokio::select! {
            reason = watching => panic!("closed: {reason}"),
            _ = tokio::time::sleep(Duration::from_secs(10)) => {}
            _ = talking => {}
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_reader_paused_at_its_high_water_mark_is_not_a_silent_peer() {
        let alive = Liveness::new();
        let options = opts(100, None);
        let watching = watch(&options, &alive, |_| {});
        let reader = alive.paused_until(tokio::time::sleep(Duration::from_secs(5)));
        tokio::select! {
            reason = watching => panic!("closed: {reason}"),
            _ = reader => {}
        }
    }

    #[tokio::test(start_paused = true)]
    async fn honours_the_peers_ttl_without_pinging_itself() {
        let alive = Liveness::new();
        let start = Instant::now();
        let options = SocketOptions::default();
        let watching = watch(&options, &alive, |_| panic!("pinged"));
        let peer = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            alive.seen();
            alive.peer_ping(5); // 500 ms
            std::future::pending::<()>().await;
        };
        let reason = tokio::select! {
            reason = watching => reason,
            _ = peer => unreachable!(),
        };
        assert!(reason.contains("TTL expired"), "{reason}");
        assert_eq!(start.elapsed(), Duration::from_millis(600));
    }
}
