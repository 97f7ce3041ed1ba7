//! Metrics: messages and bytes in and out per socket and per peer (kept when a peer leaves),
//! copies of a PUB counted per subscriber, drops at the high-water mark, connection counts,
//! handshake failures from a garbage-speaking peer, the process-wide snapshot, Prometheus
//! text, the `metrics` facade, and the HTTP monitoring endpoint.

mod common;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actormq::{metrics, Multipart, Socket, SocketOptions, SocketType};
use common::*;

#[test]
fn push_pull_counts_messages_bytes_peers_and_connections_and_keeps_them_after_the_peer_leaves() {
    run(20, async {
        let pull = Socket::new(SocketType::Pull).unwrap();
        pull.set_name("metrics-pull");
        let ep = pull.bind("tcp://127.0.0.1:0").await.unwrap();
        let push =
            connected_with(SocketType::Push, &ep.to_string(), SocketOptions::default()).await;
        for i in 0..100 {
            push.send(["0123456789", if i % 2 == 0 { "ab" } else { "" }])
                .await
                .unwrap();
        }
        for _ in 0..100 {
            pull.recv().await.unwrap();
        }
        let bytes = 100 * 10 + 50 * 2;
        let (p, q) = (push.metrics(), pull.metrics());
        assert_eq!((p.messages_out, p.bytes_out), (100, bytes), "{p:?}");
        assert_eq!((q.messages_in, q.bytes_in), (100, bytes), "{q:?}");
        assert_eq!(
            (p.connects, p.handshakes, q.accepts, q.handshakes),
            (1, 1, 1, 1)
        );
        assert_eq!((p.peers.len(), q.peers.len()), (1, 1));
        assert_eq!(q.peers[0].messages_in, 100);
        assert_eq!(q.peers[0].peer_type, SocketType::Push);
        assert_eq!(q.name.as_deref(), Some("metrics-pull"));
        assert_eq!(q.endpoints, vec![format!("@{ep}")]);
        assert_eq!(p.endpoints, vec![format!(">{ep}")]);
        assert_eq!((q.queued_in, p.queued_out), (0, 0));
        // a peer that leaves takes nothing from the totals
        push.close().await;
        eventually("the puller sees the pusher leave", || {
            pull.metrics().peers.is_empty()
        })
        .await;
        let q = pull.metrics();
        assert_eq!((q.messages_in, q.bytes_in, q.disconnects), (100, bytes, 1));
        // and the snapshot of the process has the named socket (closed ones are left out)
        let all = metrics::snapshot();
        assert!(all
            .iter()
            .any(|m| m.name.as_deref() == Some("metrics-pull")));
        assert!(
            all.iter().all(|m| m.id != p.id),
            "a closed socket is listed"
        );
    });
}

#[test]
fn a_pub_counts_one_copy_per_subscriber_and_drops_at_the_high_water_mark() {
    run(20, async {
        let publisher =
            Socket::with_options(SocketType::Pub, SocketOptions::default().sndhwm(10)).unwrap();
        let ep = publisher.bind("inproc://metrics-pub").await.unwrap();
        let opts = SocketOptions::default().rcvhwm(10);
        let (a, b) = (
            Socket::with_options(SocketType::Sub, opts.clone()).unwrap(),
            Socket::with_options(SocketType::Sub, opts).unwrap(),
        );
        for s in [&a, &b] {
            s.connect(&ep).await.unwrap();
            s.subscribe("").await.unwrap();
            sync_subscription(&publisher, s, "").await;
        }
        // the probes of both synchronisations reached both
        for s in [&a, &b] {
            while recv_within(s, 50).await.is_some() {}
        }
        let before = publisher.metrics().messages_out;
        publisher.send("x").await.unwrap();
        assert_eq!(a.recv().await.unwrap(), Multipart::from("x"));
        assert_eq!(b.recv().await.unwrap(), Multipart::from("x"));
        assert_eq!(publisher.metrics().messages_out - before, 2);
        // nobody reads now: beyond both marks, copies are dropped and counted
        for _ in 0..100 {
            publisher.send("y").await.unwrap();
        }
        let m = publisher.metrics();
        assert!(m.dropped_hwm > 0, "{m:?}");
        assert_eq!(m.dropped_hwm, m.undelivered);
        let text = metrics::prometheus_text(std::slice::from_ref(&m));
        let line = format!(
            "actormq_dropped_hwm_total{{socket=\"{}\",type=\"PUB\",id=\"{}\"}} {}",
            m.label(),
            m.id,
            m.dropped_hwm
        );
        assert!(text.contains(&line), "{text}");
        assert!(text.contains("# TYPE actormq_queued_out gauge"));
    });
}

#[test]
fn a_peer_that_speaks_garbage_is_counted_as_a_handshake_failure() {
    run(20, async {
        let rep = Socket::new(SocketType::Rep).unwrap();
        let ep = rep.bind("tcp://127.0.0.1:0").await.unwrap();
        let address = ep.to_string().trim_start_matches("tcp://").to_string();
        let mut raw = tokio::net::TcpStream::connect(&address).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut raw, b"GET / HTTP/1.0\r\n\r\n-- not ZMTP --")
            .await
            .unwrap();
        eventually("the garbage is refused", || {
            rep.metrics().handshake_failures == 1
        })
        .await;
        let m = rep.metrics();
        assert_eq!((m.accepts, m.handshakes, m.disconnects), (1, 0, 1), "{m:?}");
    });
}

/// Each metric's name with its labels, and its value.
type Values = Vec<(String, Arc<AtomicU64>)>;

/// A `metrics` recorder that keeps the last value of each counter and gauge.
#[derive(Default, Clone)]
struct Kept(Arc<Mutex<Values>>);

impl Kept {
    fn slot(&self, key: &::metrics::Key) -> Arc<AtomicU64> {
        let mut labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        labels.sort();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        let mut all = self.0.lock().unwrap();
        if let Some((_, v)) = all.iter().find(|(n, _)| *n == name) {
            return v.clone();
        }
        let v = Arc::new(AtomicU64::new(0));
        all.push((name, v.clone()));
        v
    }

    fn get(&self, name: &str) -> Option<u64> {
        let all = self.0.lock().unwrap();
        all.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.load(Ordering::Relaxed))
    }
}

struct Slot(Arc<AtomicU64>);

impl ::metrics::CounterFn for Slot {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
}

impl ::metrics::GaugeFn for Slot {
    fn increment(&self, _: f64) {}
    fn decrement(&self, _: f64) {}
    fn set(&self, value: f64) {
        self.0.store(value as u64, Ordering::Relaxed);
    }
}

impl ::metrics::Recorder for Kept {
    fn describe_counter(
        &self,
        _: ::metrics::KeyName,
        _: Option<::metrics::Unit>,
        _: ::metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: ::metrics::KeyName,
        _: Option<::metrics::Unit>,
        _: ::metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: ::metrics::KeyName,
        _: Option<::metrics::Unit>,
        _: ::metrics::SharedString,
    ) {
    }
    fn register_counter(
        &self,
        key: &::metrics::Key,
        _: &::metrics::Metadata<'_>,
    ) -> ::metrics::Counter {
        ::metrics::Counter::from_arc(Arc::new(Slot(self.slot(key))))
    }
    fn register_gauge(
        &self,
        key: &::metrics::Key,
        _: &::metrics::Metadata<'_>,
    ) -> ::metrics::Gauge {
        ::metrics::Gauge::from_arc(Arc::new(Slot(self.slot(key))))
    }
    fn register_histogram(
        &self,
        _: &::metrics::Key,
        _: &::metrics::Metadata<'_>,
    ) -> ::metrics::Histogram {
        ::metrics::Histogram::noop()
    }
}

#[test]
fn the_metrics_facade_receives_every_socket_metric() {
    run(20, async {
        let pull = Socket::new(SocketType::Pull).unwrap();
        pull.set_name("facade-pull");
        let ep = pull.bind("inproc://metrics-facade").await.unwrap();
        let push = Socket::new(SocketType::Push).unwrap();
        push.connect(&ep).await.unwrap();
        for _ in 0..7 {
            push.send("abc").await.unwrap();
        }
        for _ in 0..7 {
            pull.recv().await.unwrap();
        }
        let kept = Kept::default();
        ::metrics::with_local_recorder(&kept, || metrics::record(&[pull.metrics()]));
        let labels = format!("{{id={},socket=facade-pull,type=PULL}}", pull.metrics().id);
        assert_eq!(
            kept.get(&format!("actormq_messages_received_total{labels}")),
            Some(7)
        );
        assert_eq!(
            kept.get(&format!("actormq_bytes_received_total{labels}")),
            Some(21)
        );
        assert_eq!(kept.get(&format!("actormq_peers{labels}")), Some(1));
        for m in metrics::METRICS {
            assert!(
                kept.get(&format!("{}{labels}", m.name)).is_some(),
                "{} missing",
                m.name
            );
        }
    });
}

/// `GET path` from `address`: the status line and the body.
fn get(address: std::net::SocketAddr, path: &str) -> (String, String) {
    let mut http = std::net::TcpStream::connect(address).unwrap();
    http.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(http, "GET {path} HTTP/1.0\r\n\r\n").unwrap();
    let mut reply = String::new();
    http.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

#[test]
fn the_monitoring_endpoint_serves_metrics_sockets_peers_graph_and_the_page() {
    let monitor = actormq::monitor::Monitor::serve("127.0.0.1:0", None).unwrap();
    let address = monitor.address();
    assert!(address.ip().is_loopback());
    run(20, async move {
        let rep = Socket::new(SocketType::Rep).unwrap();
        rep.set_name("monitored-rep");
        let ep = rep.bind("tcp://127.0.0.1:0").await.unwrap();
        let req = connected_with(SocketType::Req, &ep.to_string(), SocketOptions::default()).await;
        req.send("ping").await.unwrap();
        rep.recv().await.unwrap();
        rep.send("pong").await.unwrap();
        req.recv().await.unwrap();
        let rep_id = rep.metrics().id;
        let (status, text) = tokio::task::spawn_blocking(move || get(address, "/metrics"))
            .await
            .unwrap();
        assert!(status.contains("200"), "{status}");
        assert!(
            text.contains(&format!(
                "actormq_messages_received_total{{socket=\"monitored-rep\",type=\"REP\",id=\"{rep_id}\"}} 1"
            )),
            "{text}"
        );
        let (_, sockets) = tokio::task::spawn_blocking(move || get(address, "/sockets"))
            .await
            .unwrap();
        let sockets: serde_json::Value = serde_json::from_str(&sockets).unwrap();
        let rep_json = sockets
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "monitored-rep")
            .unwrap();
        assert_eq!(rep_json["socket_type"], "REP");
        assert_eq!(rep_json["messages_out"], 1);
        let (_, peers) = tokio::task::spawn_blocking(move || get(address, "/peers"))
            .await
            .unwrap();
        let peers: serde_json::Value = serde_json::from_str(&peers).unwrap();
        assert!(peers
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["socket"] == "monitored-rep" && p["peer_type"] == "REQ"));
        let (_, graph) = tokio::task::spawn_blocking(move || get(address, "/graph"))
            .await
            .unwrap();
        let graph: serde_json::Value = serde_json::from_str(&graph).unwrap();
        assert!(graph["graph"].is_null() && graph["sockets"].is_array());
        assert!(graph["rates"].is_object(), "{graph}");
        let (status, page) = tokio::task::spawn_blocking(move || get(address, "/"))
            .await
            .unwrap();
        assert!(status.contains("200") && page.contains("<svg"), "{status}");
        let (status, ok) = tokio::task::spawn_blocking(move || get(address, "/healthz"))
            .await
            .unwrap();
        assert!(status.contains("200") && ok == "ok\n", "{status}");
        let (status, _) = tokio::task::spawn_blocking(move || get(address, "/nothing"))
            .await
            .unwrap();
        assert!(status.contains("404"), "{status}");
    });
    drop(monitor);
    assert!(
        std::net::TcpStream::connect(address).is_err(),
        "still serving"
    );
}

#[test]
fn retries_reconnects_and_refusals_are_counted() {
    run(30, async {
        // nobody listens yet: attempts fail and are retried
        let port = free_port();
        let endpoint = format!("tcp://127.0.0.1:{port}");
        let push = Socket::new(SocketType::Push).unwrap();
        push.connect(endpoint.as_str()).await.unwrap();
        eventually("a retry", || push.metrics().connect_retries > 0).await;
        // a puller comes, goes, and comes back on the same endpoint
        for round in 1..=2u64 {
            let pull = Socket::new(SocketType::Pull).unwrap();
            pull.bind(endpoint.as_str()).await.unwrap();
            push.send(format!("round {round}")).await.unwrap();
            pull.recv().await.unwrap();
            pull.close().await;
            eventually("the pusher sees the puller leave", || {
                push.metrics().disconnects == round
            })
            .await;
        }
        let m = push.metrics();
        assert_eq!((m.connects, m.reconnects), (2, 1), "{m:?}");

        // a PAIR takes one peer: the second is refused
        let pair = Socket::new(SocketType::Pair).unwrap();
        let ep = pair.bind("tcp://127.0.0.1:0").await.unwrap();
        let first =
            connected_with(SocketType::Pair, &ep.to_string(), SocketOptions::default()).await;
        let second = Socket::new(SocketType::Pair).unwrap();
        second.connect(&ep).await.unwrap();
        eventually("the second PAIR is refused", || pair.metrics().refusals > 0).await;
        assert_eq!(pair.metrics().peers.len(), 1);
        drop(first);
    });
}
