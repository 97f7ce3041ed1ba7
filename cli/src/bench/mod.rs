//! `actormq bench`: throughput and latency over a real endpoint.
//!
//! By default both sides run in this process, each on its own thread and actix System, over an
//! endpoint of the chosen transport. With `--bind` or `--connect` only one side runs (its role
//! chosen with `--role`), so that the other can be another `actormq bench`, on this machine or
//! another, or any ZeroMQ program with the semantics of libzmq's `local_thr`/`remote_thr`/
//! `local_lat`/`remote_lat`.

mod latency;
mod plot;
mod queue;
mod report;
mod throughput;

use std::io::IsTerminal;
use std::path::PathBuf;

use actormq::SocketOptions;
use clap::{Subcommand, ValueEnum};

/// What to measure.
#[derive(Subcommand, Debug)]
pub enum Kind {
    /// Messages per second from a sender to a receiver.
    #[command(after_help = "Examples:\n  \
        actormq bench throughput --transport ipc --pattern push --size 256 --count 1000000\n  \
        actormq bench throughput --sizes 16,256,4096 --plot throughput.svg\n  \
        actormq bench throughput --bind tcp://0.0.0.0:5555 --size 16 --count 10000000     (receiver, as local_thr)\n  \
        actormq bench throughput --connect tcp://HOST:5555 --size 16 --count 10000000     (sender, as remote_thr)")]
    Throughput {
        #[command(flatten)]
        common: Common,
        /// PUSH→PULL, or PUB→SUB (the publisher waits for its subscriber at the high-water
        /// mark, `xpub_nodrop`: nothing is dropped).
        #[arg(long, value_enum, default_value_t = Pattern::Push)]
        pattern: Pattern,
        /// With --bind/--connect: this side's role (default: receiver when binding, sender when
        /// connecting, as local_thr and remote_thr).
        #[arg(long, value_enum, requires = "one_side")]
        role: Option<ThroughputRole>,
        /// Messages to send (per size).
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
        /// How the receiver takes messages: `batch` (`Socket::recv_many`, up to 64 at once) or
        /// `each` (`Socket::recv`, one call per message, as libzmq's local_thr).
        #[arg(long, value_enum, default_value_t = Receive::Batch)]
        receive: Receive,
    },
    /// REQ/REP round-trip times.
    #[command(after_help = "Examples:\n  \
        actormq bench latency --transport tcp --size 16 --count 10000\n  \
        actormq bench latency --bind tcp://0.0.0.0:5556 --count 10000     (replier, as local_lat)\n  \
        actormq bench latency --connect tcp://HOST:5556 --count 10000     (requester, as remote_lat)")]
    Latency {
        #[command(flatten)]
        common: Common,
        /// With --bind/--connect: this side's role (default: replier when binding, requester
        /// when connecting, as local_lat and remote_lat).
        #[arg(long, value_enum, requires = "one_side")]
        role: Option<LatencyRole>,
        /// Round trips (per size).
        #[arg(long, default_value_t = 10_000)]
        count: u64,
        /// Both sides on this one thread (one actix System), as the actors of one application
        /// usually are; without it the replier has a thread of its own.
        #[arg(long, conflicts_with = "one_side")]
        one_thread: bool,
    },
    /// Memory: bytes of RSS per queued message, in a PUSH socket's queue with no peer, and
    /// toward a peer that does not read.
    #[command(after_help = "Example:\n  actormq bench queue --size 16 --count 1000000")]
    Queue {
        #[command(flatten)]
        args: QueueArgs,
    },
    /// Throughput and latency at each size, both sides in this process, as one table (and one
    /// chart with --plot).
    #[command(after_help = "Example:\n  \
        actormq bench sweep --sizes 16,256,4096,65536 --plot sweep.svg")]
    Sweep {
        /// The transport of the endpoint.
        #[arg(long, value_enum, default_value_t = Transport::Tcp)]
        transport: Transport,
        /// PUSH→PULL or PUB→SUB for the throughput half.
        #[arg(long, value_enum, default_value_t = Pattern::Push)]
        pattern: Pattern,
        /// Payload sizes in bytes.
        #[arg(long, value_delimiter = ',', default_value = "16,256,4096,65536")]
        sizes: Vec<usize>,
        /// Draw throughput and latency against size into this SVG file.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Messages per throughput run and round trips per latency run (default: about a
        /// second's worth of messages at each size, and 10 000 round trips).
        #[arg(long)]
        count: Option<u64>,
        #[command(flatten)]
        security: Security,
    },
}

/// How `bench queue` measures.
#[derive(clap::Args, Debug)]
pub struct QueueArgs {
    /// Payload bytes per message.
    #[arg(long, default_value_t = 16)]
    size: usize,
    /// Messages to queue (the sender's `sndhwm`).
    #[arg(long, default_value_t = 1_000_000)]
    count: u64,
    /// Measure one case only, in this process (without: each case in a fresh process of its
    /// own, so that memory one freed cannot hide what the other costs).
    #[arg(long, value_enum)]
    case: Option<queue::Case>,
}

/// What the throughput and latency measurements share.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("one_side").args(["bind", "connect"])))]
pub struct Common {
    /// The transport of the endpoint (both sides in this process).
    #[arg(long, value_enum, default_value_t = Transport::Tcp, conflicts_with = "one_side")]
    transport: Transport,
    /// Payload bytes per message.
    #[arg(long, default_value_t = 16, conflicts_with = "sizes")]
    size: usize,
    /// Several payload sizes, one run each (both sides in this process): `16,256,4096`.
    #[arg(long, value_delimiter = ',', conflicts_with = "one_side")]
    sizes: Option<Vec<usize>>,
    /// Draw the results against size into this SVG file.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Run only this side, bound to this endpoint (`tcp://0.0.0.0:5555`, `ipc:///tmp/b.ipc`).
    #[arg(long, conflicts_with = "connect")]
    bind: Option<String>,
    /// Run only this side, connected to this endpoint.
    #[arg(long)]
    connect: Option<String>,
    /// Microseconds a receive polls before its thread sleeps (the `busy_poll` option): lower
    /// latency for more CPU.
    #[arg(long, value_name = "US", default_value_t = 0)]
    busy_poll: u64,
    #[command(flatten)]
    security: Security,
}

impl Common {
    /// The options both sides start from.
    fn base(&self) -> SocketOptions {
        SocketOptions::default().busy_poll(std::time::Duration::from_micros(self.busy_poll))
    }

    fn sizes(&self) -> Vec<usize> {
        self.sizes.clone().unwrap_or_else(|| vec![self.size])
    }

    /// The one side to run, if any.
    fn side(&self) -> Option<Side> {
        match (&self.bind, &self.connect) {
            (Some(ep), _) => Some(Side::Bind(ep.clone())),
            (_, Some(ep)) => Some(Side::Connect(ep.clone())),
            _ => None,
        }
    }
}

/// Where the one side runs.
#[derive(Clone, Debug)]
enum Side {
    Bind(String),
    Connect(String),
}

impl Side {
    fn binds(&self) -> bool {
        matches!(self, Side::Bind(_))
    }

    /// Binds or connects `socket`; a bound endpoint is said on stderr (`bound ENDPOINT`).
    async fn attach(&self, socket: &actormq::Socket) -> Result<(), String> {
        match self {
            Side::Bind(ep) => {
                let bound = socket.bind(ep.as_str()).await.map_err(err)?;
                eprintln!("bound {bound}");
            }
            Side::Connect(ep) => socket.connect(ep.as_str()).await.map_err(err)?,
        }
        Ok(())
    }

    fn transport(&self) -> String {
        let ep = match self {
            Side::Bind(ep) | Side::Connect(ep) => ep,
        };
        ep.split("://").next().unwrap_or("?").to_string()
    }
}

/// A throughput run's side.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThroughputRole {
    /// Sends `count` messages (PUSH, or a publisher), then waits until they have left.
    Sender,
    /// Receives `count` messages (PULL, or SUB subscribed to everything), timed from the first.
    Receiver,
}

/// How a throughput receiver takes its messages.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Receive {
    /// `Socket::recv_many`: up to 64 ready messages at once.
    Batch,
    /// `Socket::recv`: one call per message.
    Each,
}

/// A latency run's side.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LatencyRole {
    /// REQ: sends `count` requests, one at a time, and times each round trip.
    Requester,
    /// REP: answers `count` requests with their own bytes.
    Replier,
}

/// The mechanism to measure with (tcp and ipc; inproc is never encrypted).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct Security {
    /// Encrypt with CURVE (the receiver or replier is the server). Both sides in this process:
    /// fresh keys. One side: the server's secret key comes from ACTORMQ_CURVE_SECRET (Z85), and
    /// the client needs --curve-serverkey.
    #[arg(long, conflicts_with = "plain")]
    curve: bool,
    /// One side, CURVE client: the server's public key (Z85).
    #[arg(long, requires = "curve", allow_hyphen_values = true)]
    curve_serverkey: Option<String>,
    /// Authenticate with PLAIN as user `bench`, password `bench` (the receiver or replier is
    /// the server).
    #[arg(long)]
    plain: bool,
}

impl Security {
    /// The options of the serving (receiving, replying) side and of the other side, when both
    /// run here.
    fn options(&self, base: SocketOptions) -> (SocketOptions, SocketOptions) {
        if self.curve {
            let server = actormq::security::CurveKeyPair::generate();
            let public = server.public;
            (
                base.clone().curve_server(server),
                base.curve_client(public, actormq::security::CurveKeyPair::generate()),
            )
        } else if self.plain {
            (
                self.plain_server(base.clone()),
                base.plain_client("bench", "bench"),
            )
        } else {
            (base.clone(), base)
        }
    }

    fn plain_server(&self, base: SocketOptions) -> SocketOptions {
        let auth = actormq::security::Auth::new().plain_user("bench", "bench");
        base.plain_server(true).auth(auth)
    }

    /// The options of one side run alone: the serving side or the other.
    fn one_side(&self, base: SocketOptions, serving: bool) -> Result<SocketOptions, String> {
        use actormq::security::{CurveKeyPair, CurvePublicKey};
        if self.curve {
            if serving {
                let secret = std::env::var("ACTORMQ_CURVE_SECRET")
                    .map_err(|_| "--curve on the serving side needs ACTORMQ_CURVE_SECRET")?;
                let keys = CurveKeyPair::from_secret_z85(secret.trim()).map_err(err)?;
                Ok(base.curve_server(keys))
            } else {
                let server: CurvePublicKey = self
                    .curve_serverkey
                    .as_deref()
                    .ok_or("--curve on the client side needs --curve-serverkey")?
                    .parse()
                    .map_err(err)?;
                Ok(base.curve_client(server, CurveKeyPair::generate()))
            }
        } else if self.plain {
            Ok(if serving {
                self.plain_server(base)
            } else {
                base.plain_client("bench", "bench")
            })
        } else {
            Ok(base)
        }
    }

    fn name(&self) -> &'static str {
        if self.curve {
            "CURVE"
        } else if self.plain {
            "PLAIN"
        } else {
            "NULL"
        }
    }
}

/// A transport to measure.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Transport {
    /// TCP loopback.
    Tcp,
    /// Unix domain socket.
    Ipc,
    /// Within the process.
    Inproc,
}

impl Transport {
    fn name(self) -> String {
        format!("{self:?}").to_lowercase()
    }

    /// The endpoint both sides of a new run in this process meet at, and the socket file to
    /// remove after it.
    fn endpoint(self) -> (String, RemoveSocketFile) {
        let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self {
            Transport::Tcp => ("tcp://127.0.0.1:0".into(), RemoveSocketFile(None)),
            Transport::Ipc => (
                format!("ipc://{}", ipc_path(run).display()),
                RemoveSocketFile(Some(ipc_path(run))),
            ),
            Transport::Inproc => (
                format!("inproc://bench-{}-{run}", std::process::id()),
                RemoveSocketFile(None),
            ),
        }
    }
}

/// A pattern to measure.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// PUSH→PULL.
    Push,
    /// PUB→SUB.
    Pub,
}

impl Pattern {
    fn name(self) -> &'static str {
        match self {
            Pattern::Push => "PUSH->PULL",
            Pattern::Pub => "PUB->SUB",
        }
    }
}

/// Runs in this process so far: each run meets at an endpoint of its own (the last run's
/// receiver may still hold its own).
static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The socket file of an `ipc://` benchmark: `actormq-bench-PID-RUN.ipc` in `/tmp`.
fn ipc_path(run: u64) -> PathBuf {
    PathBuf::from(format!(
        "/tmp/actormq-bench-{}-{run}.ipc",
        std::process::id()
    ))
}

/// Removes the benchmark's socket file when the benchmark ends, however it ends: the receiving
/// socket lives on another thread that the process exit cuts short, so its own clean-up never
/// runs.
struct RemoveSocketFile(Option<PathBuf>);

impl Drop for RemoveSocketFile {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A progress bar on a terminal; nothing otherwise.
fn progress(len: u64, what: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_message(what.to_string());
    Some(bar)
}

/// Messages for a throughput run at `size` in a sweep: about a second's worth each.
fn sweep_count(size: usize) -> u64 {
    match size {
        0..=64 => 2_000_000,
        65..=1024 => 1_000_000,
        1025..=16384 => 200_000,
        _ => 20_000,
    }
}

/// Runs a benchmark and prints its table and closing lines.
pub async fn run(kind: Kind) -> Result<(), String> {
    let (rows, plot) = match kind {
        Kind::Queue { args } => return queue::run(args.size, args.count, args.case).await,
        Kind::Throughput {
            common,
            pattern,
            role,
            count,
            receive,
        } => {
            let rows = match common.side() {
                Some(side) => {
                    let role = role.unwrap_or(if side.binds() {
                        ThroughputRole::Receiver
                    } else {
                        ThroughputRole::Sender
                    });
                    let row = throughput::one_side(
                        &side,
                        role,
                        pattern,
                        common.size,
                        count,
                        receive,
                        &common.security,
                    )
                    .await?;
                    vec![row]
                }
                None => {
                    let mut rows = Vec::new();
                    for size in common.sizes() {
                        let both = throughput::Both {
                            transport: common.transport,
                            pattern,
                            size,
                            count,
                            receive,
                        };
                        rows.push(both.run(&common.security).await?);
                    }
                    rows
                }
            };
            (rows, common.plot)
        }
        Kind::Latency {
            common,
            role,
            count,
            one_thread,
        } => {
            let rows = match common.side() {
                Some(side) => {
                    let role = role.unwrap_or(if side.binds() {
                        LatencyRole::Replier
                    } else {
                        LatencyRole::Requester
                    });
                    let row = latency::one_side(
                        &side,
                        role,
                        common.size,
                        count,
                        common.base(),
                        &common.security,
                    )
                    .await?;
                    vec![row]
                }
                None => {
                    let mut rows = Vec::new();
                    for size in common.sizes() {
                        let base = common.base();
                        let both = latency::Both {
                            transport: common.transport,
                            size,
                            count,
                            one_thread,
                        };
                        rows.push(both.run(base, &common.security).await?);
                    }
                    rows
                }
            };
            (rows, common.plot)
        }
        Kind::Sweep {
            transport,
            pattern,
            sizes,
            plot,
            count,
            security,
        } => {
            let mut rows = Vec::new();
            for &size in &sizes {
                let both = throughput::Both {
                    transport,
                    pattern,
                    size,
                    count: count.unwrap_or_else(|| sweep_count(size)),
                    receive: Receive::Batch,
                };
                rows.push(both.run(&security).await?);
                let trips = count.unwrap_or(10_000);
                let base = SocketOptions::default();
                let both = latency::Both {
                    transport,
                    size,
                    count: trips,
                    one_thread: false,
                };
                rows.push(both.run(base, &security).await?);
            }
            (rows, plot)
        }
    };
    report::print(&rows);
    if let Some(path) = plot {
        plot::draw(&rows, &path)?;
        eprintln!("chart: {}", path.display());
    }
    Ok(())
}
