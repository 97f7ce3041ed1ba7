//! The metric names, and two ways out for them: Prometheus' text format, and the `metrics`
//! facade.

use std::fmt::Write;

use super::SocketMetrics;

/// A metric: its name, whether it is a counter (else a gauge), its help text, and how to read
/// it from a socket's snapshot.
#[derive(Debug)]
pub struct Metric {
    /// The Prometheus name.
    pub name: &'static str,
    /// A counter (only grows) or a gauge.
    pub counter: bool,
    /// What it counts.
    pub help: &'static str,
    read: fn(&SocketMetrics) -> u64,
}

macro_rules! metric {
    ($name:literal, $counter:literal, $help:literal, $field:ident) => {
        Metric {
            name: $name,
            counter: $counter,
            help: $help,
            read: |m| m.$field as u64,
        }
    };
}

/// Every per-socket metric, labelled `socket` (its name, or `TYPE-id`), `type` and `id` (the
/// socket's process-unique id, so that two sockets of one name stay two series).
pub const METRICS: &[Metric] = &[
    metric!("actormq_messages_received_total", true, "Messages that arrived from peers.", messages_in),
    metric!("actormq_bytes_received_total", true, "Bytes of the messages that arrived from peers.", bytes_in),
    metric!("actormq_messages_sent_total", true, "Messages routed to peers (one per peer a message went to).", messages_out),
    metric!("actormq_bytes_sent_total", true, "Bytes of the messages routed to peers.", bytes_out),
    metric!("actormq_dropped_hwm_total", true, "Copies dropped at a peer's high-water mark (PUB/XPUB, XSUB).", dropped_hwm),
    metric!("actormq_undelivered_total", true, "Messages given up on (high-water mark, linger, a departed peer, a link's loss).", undelivered),
    metric!("actormq_dropped_unread_total", true, "Notices dropped because the application did not read them (XPUB).", dropped_unread),
    metric!("actormq_discarded_total", true, "Arrivals a link dropped before the socket had them (malformed, oversized, a broker client's overflow).", discarded),
    metric!("actormq_queued_out", false, "Messages waiting to go out (send queue and peers' queues).", queued_out),
    metric!("actormq_queued_in", false, "Messages waiting to be received (peers' queues and the ready queue).", queued_in),
    Metric {
        name: "actormq_peers",
        counter: false,
        help: "Live peers.",
        read: |m| m.peers.len() as u64,
    },
    metric!("actormq_connects_total", true, "Outgoing connections established.", connects),
    metric!("actormq_reconnects_total", true, "Connections established again to an endpoint connected to before.", reconnects),
    metric!("actormq_accepts_total", true, "Incoming connections accepted.", accepts),
    metric!("actormq_connect_retries_total", true, "Failed connection attempts, each retried.", connect_retries),
    metric!("actormq_handshakes_total", true, "Handshakes completed.", handshakes),
    metric!("actormq_handshake_failures_total", true, "Handshakes that failed or timed out.", handshake_failures),
    metric!("actormq_auth_failures_total", true, "Peers the authenticator refused.", auth_failures),
    metric!("actormq_refusals_total", true, "Peers refused after their handshake.", refusals),
    metric!("actormq_heartbeat_timeouts_total", true, "Connections dropped because heartbeats stopped.", heartbeat_timeouts),
    metric!("actormq_disconnects_total", true, "Connections that ended.", disconnects),
];

/// Escapes a Prometheus label value.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The sockets' metrics in Prometheus' text exposition format (what `/metrics` serves).
pub fn prometheus_text(sockets: &[SocketMetrics]) -> String {
    let mut out = String::new();
    for metric in METRICS {
        let kind = if metric.counter { "counter" } else { "gauge" };
        let _ = writeln!(out, "# HELP {} {}", metric.name, metric.help);
        let _ = writeln!(out, "# TYPE {} {kind}", metric.name);
        for s in sockets {
            let _ = writeln!(
                out,
                "{}{{socket=\"{}\",type=\"{}\",id=\"{}\"}} {}",
                metric.name,
                escape(&s.label()),
                s.socket_type,
                s.id,
                (metric.read)(s)
            );
        }
    }
    out
}

/// Hands the sockets' metrics to the `metrics` facade: counters set to their totals, gauges
/// to their values, labelled `socket`, `type` and `id`. Call it periodically (the monitoring
/// endpoint does every second) with whatever recorder the application installed
/// (`metrics-exporter-prometheus`, StatsD, ...); without a recorder it does nothing.
pub fn record(sockets: &[SocketMetrics]) {
    for s in sockets {
        let labels = [
            ("socket", s.label()),
            ("type", s.socket_type.to_string()),
            ("id", s.id.to_string()),
        ];
        for metric in METRICS {
            let value = (metric.read)(s);
            if metric.counter {
                ::metrics::counter!(metric.name, &labels).absolute(value);
            } else {
                ::metrics::gauge!(metric.name, &labels).set(value as f64);
            }
        }
    }
}
