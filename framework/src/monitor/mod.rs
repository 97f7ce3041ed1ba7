//! A monitoring endpoint over HTTP, for a running process: Prometheus text at `/metrics`, JSON
//! at `/sockets`, `/peers` and `/graph`, `ok` at `/healthz`, and at `/` a live page that draws the actor graph with
//! its message rates and queue depths (plain HTML, JavaScript and SVG served from the binary:
//! no build step, nothing fetched from elsewhere).
//!
//! [`Monitor::serve`] starts it on a thread of its own, so that a busy socket thread never
//! delays a scrape; it stops when the [`Monitor`] is dropped. It also hands the metrics to the
//! `metrics` facade every second ([`crate::metrics::record`]). Bind it to localhost (as the CLI
//! does by default): it needs no credentials, and it tells whoever asks what the process talks
//! to.
//!
//! ```
//! use std::io::{Read, Write};
//! use actormq::monitor::Monitor;
//!
//! let monitor = Monitor::serve("127.0.0.1:0", None)?;
//! let mut http = std::net::TcpStream::connect(monitor.address())?;
//! http.write_all(b"GET /metrics HTTP/1.0\r\n\r\n")?;
//! let mut reply = String::new();
//! http.read_to_string(&mut reply)?;
//! assert!(reply.starts_with("HTTP/1.0 200") && reply.contains("# TYPE actormq_messages_sent_total counter"));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::graph::GraphView;
use crate::metrics::{self, PeerMetrics, SocketMetrics};

/// The live page served at `/`.
const PAGE: &str = include_str!("page.html");

/// A running monitoring endpoint; dropping it stops it.
pub struct Monitor {
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("address", &self.address)
            .finish()
    }
}

/// What `/graph` serves: the graph's shape (when the process runs a graph), every socket's
/// metrics now, and each socket's rates over the last second, by socket id.
#[derive(Serialize)]
struct GraphNow<'a> {
    graph: Option<&'a GraphView>,
    sockets: Vec<SocketMetrics>,
    rates: HashMap<u64, Rate>,
}

/// A socket's message rates over the last second.
#[derive(Clone, Copy, Serialize)]
struct Rate {
    in_per_sec: f64,
    out_per_sec: f64,
}

/// The rates of the last second, shared by the sampler and `/graph`.
type Rates = Arc<Mutex<HashMap<u64, Rate>>>;

/// Samples every socket each second: computes its rates from the last sample, and hands the
/// metrics to the `metrics` facade.
async fn sample_every_second(rates: Rates) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    let mut last: HashMap<u64, (u64, u64)> = HashMap::new();
    let mut then = Instant::now();
    loop {
        every.tick().await;
        let now = metrics::snapshot();
        let seconds = then.elapsed().as_secs_f64().max(1e-3);
        then = Instant::now();
        let per_sec = |now: u64, was: u64| now.saturating_sub(was) as f64 / seconds;
        let fresh: HashMap<u64, Rate> = now
            .iter()
            .filter_map(|s| {
                let (was_in, was_out) = *last.get(&s.id)?;
                Some((
                    s.id,
                    Rate {
                        in_per_sec: per_sec(s.messages_in, was_in),
                        out_per_sec: per_sec(s.messages_out, was_out),
                    },
                ))
            })
            .collect();
        *rates.lock().unwrap_or_else(|e| e.into_inner()) = fresh;
        last = now
            .iter()
            .map(|s| (s.id, (s.messages_in, s.messages_out)))
            .collect();
        metrics::record(&now);
    }
}

/// One peer, with the socket it belongs to (`/peers`).
#[derive(Serialize)]
struct PeerOf {
    socket: String,
    socket_id: u64,
    #[serde(flatten)]
    peer: PeerMetrics,
}

/// The routes.
fn router(graph: Arc<Option<GraphView>>, rates: Rates) -> Router {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/favicon.ico",
            get(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .route(
            "/metrics",
            get(|| async {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    metrics::prometheus_text(&metrics::snapshot()),
                )
                    .into_response()
            }),
        )
        .route("/sockets", get(|| async { Json(metrics::snapshot()) }))
        .route(
            "/peers",
            get(|| async {
                let peers: Vec<PeerOf> = metrics::snapshot()
                    .into_iter()
                    .flat_map(|s| {
                        let socket = s.label();
                        s.peers.into_iter().map(move |peer| PeerOf {
                            socket: socket.clone(),
                            socket_id: s.id,
                            peer,
                        })
                    })
                    .collect();
                Json(peers)
            }),
        )
        .route(
            "/graph",
            get(move || {
                let (graph, rates) = (graph.clone(), rates.clone());
                async move {
                    let rates = rates.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    Json(
                        serde_json::to_value(GraphNow {
                            graph: graph.as_ref().as_ref(),
                            sockets: metrics::snapshot(),
                            rates,
                        })
                        .unwrap_or_default(),
                    )
                }
            }),
        )
}

impl Monitor {
    /// Serves on `address` (`127.0.0.1:8222`; port 0 picks a free one, see
    /// [`Monitor::address`]), describing `graph` at `/graph` and on the page when the process
    /// runs one. Fails if the address cannot be bound.
    pub fn serve(address: &str, graph: Option<GraphView>) -> std::io::Result<Monitor> {
        let listener = std::net::TcpListener::bind(address)?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let graph = Arc::new(graph);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("actormq-monitor".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => return tracing::error!(error = %e, "monitor: cannot listen"),
                    };
                    let rates = Rates::default();
                    let sampling = sample_every_second(rates.clone());
                    tokio::select! {
                        served = axum::serve(listener, router(graph, rates)) => {
                            if let Err(e) = served {
                                tracing::error!(error = %e, "monitor: serving failed");
                            }
                        }
                        _ = stopped => {}
                        _ = sampling => {}
                    }
                })
            })?;
        tracing::info!(address = %local, "monitoring endpoint: http://{local}/");
        Ok(Monitor {
            address: local,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address it serves on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
