//! `actormq`: talk to any ZeroMQ-speaking service from the shell, run a graph, benchmark.
//!
//! Every application frame on the wire is MessagePack; on the command line a frame is JSON
//! text (or plain bytes with `--raw`), one message per line, frames separated by a TAB.

mod bench;
mod commands;
mod observe;
mod raw;
mod security;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

const EXAMPLES: &str = "Examples:
  actormq sub --bind tcp://127.0.0.1:5556 --topic weather
  echo '{\"celsius\":21.5}' | actormq pub --connect tcp://127.0.0.1:5556 --topic weather --wait-subscribers 1
  actormq bench throughput --transport inproc --size 16
  actormq keygen --out server        # then: actormq rep --bind tcp://*:5555 --echo --curve-server --curve-secret-file server";

/// Talk to any ZeroMQ-speaking service, run an actor graph, benchmark.
#[derive(Parser)]
#[command(name = "actormq", version, after_help = EXAMPLES)]
struct Cli {
    /// Serve metrics, JSON and a live web page over HTTP while the command runs, on ADDR
    /// (`127.0.0.1:8222`, or a port alone for localhost): /metrics, /sockets, /peers, /graph, /.
    #[arg(long, global = true, value_name = "ADDR")]
    monitor: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// Options every socket command takes.
#[derive(Args, Clone, Debug, Default)]
pub struct Common {
    /// Bind an endpoint (repeatable): tcp://127.0.0.1:5556, tcp://*:0, ipc:///tmp/x, udp://...
    #[arg(long = "bind", value_name = "EP")]
    pub bind: Vec<String>,
    /// Connect to an endpoint (repeatable).
    #[arg(long = "connect", value_name = "EP")]
    pub connect: Vec<String>,
    /// Endpoints in CZMQ notation (repeatable): `@EP` binds, `>EP` connects, a bare EP does
    /// what CZMQ does for the socket type (pub, rep, pull bind; sub, req, push connect).
    #[arg(long = "endpoints", value_name = "LIST")]
    pub endpoints: Vec<String>,
    /// Set a socket option by its libzmq name (repeatable), in the units of the options table
    /// (ms for durations, -1 for unlimited): --option sndhwm=10000 --option linger=-1.
    #[arg(long = "option", value_name = "NAME=VALUE")]
    pub options: Vec<String>,
    /// Frames are plain bytes (UTF-8 text), not JSON <-> MessagePack.
    #[arg(long)]
    pub raw: bool,
    /// Exit 0 after N messages received (or N replies sent, for rep).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Wait this long between sends.
    #[arg(long = "interval-ms", value_name = "MS")]
    pub interval_ms: Option<u64>,
    /// Exit with status 2 if the command has not completed by then.
    #[arg(long = "timeout-ms", value_name = "MS")]
    pub timeout_ms: Option<u64>,
    /// How long queued messages may take to leave when the command ends (the `linger`
    /// option; an `--option linger=...` given too wins).
    #[arg(long = "linger-ms", value_name = "MS", default_value_t = 5000)]
    pub linger_ms: u64,
    /// Send a ZMTP PING to each peer this often and drop a peer that answers nothing within
    /// the same time (the `heartbeat_ivl` option; `--option heartbeat_timeout=MS` to differ).
    #[arg(long = "heartbeat-ivl", value_name = "MS")]
    pub heartbeat_ivl: Option<u64>,
    /// Largest inbound message in bytes, -1 for no limit (the `maxmsgsize` option).
    #[arg(long = "maxmsgsize", value_name = "BYTES", allow_hyphen_values = true)]
    pub maxmsgsize: Option<i64>,
    /// Deadline of a peer's handshake in ms, 0 for none (the `handshake_ivl` option).
    #[arg(long = "handshake-ivl", value_name = "MS")]
    pub handshake_ivl: Option<u64>,
    /// PLAIN and CURVE.
    #[command(flatten)]
    pub security: security::SecurityArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Publish each stdin line as a message.
    #[command(
        after_help = "Example:\n  printf '{\"celsius\":21.5}\\n' | actormq pub --bind tcp://*:5556 --topic weather --wait-subscribers 1"
    )]
    Pub {
        #[command(flatten)]
        common: Common,
        /// Prepend this topic (raw) as the first frame.
        #[arg(long, value_name = "T")]
        topic: Option<String>,
        /// Before the first message, wait until N subscribers have connected and subscribed.
        #[arg(long = "wait-subscribers", value_name = "N")]
        wait_subscribers: Option<usize>,
    },
    /// Print each message received; the first frame (the topic) raw, the rest as bodies.
    #[command(
        after_help = "Example:\n  actormq sub --connect tcp://localhost:5556 --topic weather --count 10"
    )]
    Sub {
        #[command(flatten)]
        common: Common,
        /// Subscribe to this prefix (repeatable; none: everything).
        #[arg(long = "topic", value_name = "PREFIX")]
        topics: Vec<String>,
    },
    /// Push each stdin line as a message.
    #[command(
        after_help = "Example:\n  seq 10 | actormq push --connect tcp://localhost:5557 --wait-peers 2"
    )]
    Push {
        #[command(flatten)]
        common: Common,
        /// Before the first message, wait until N peers have connected.
        #[arg(long = "wait-peers", value_name = "N")]
        wait_peers: Option<usize>,
    },
    /// Print each message pulled (all frames as bodies).
    #[command(after_help = "Example:\n  actormq pull --bind tcp://*:5557 --count 100")]
    Pull {
        #[command(flatten)]
        common: Common,
    },
    /// Send each stdin line as a request and print its reply.
    #[command(
        after_help = "Example:\n  echo '\"ping\"' | actormq req --connect tcp://localhost:5555"
    )]
    Req {
        #[command(flatten)]
        common: Common,
    },
    /// Answer requests: with --echo, each with its own frames; else with the next stdin line.
    #[command(after_help = "Example:\n  actormq rep --bind tcp://*:5555 --echo")]
    Rep {
        #[command(flatten)]
        common: Common,
        /// Answer every request with its own frames.
        #[arg(long)]
        echo: bool,
    },
    /// Plain TCP, no ZeroMQ (a STREAM socket): like `nc` with --connect; an echo server with
    /// --bind --echo.
    #[command(
        after_help = "Examples:\n  printf 'hello\\n' | actormq stream --connect tcp://localhost:7000\n  actormq stream --bind tcp://*:7000 --echo --count 10\n\nWith --connect: each stdin line goes to the peer with its newline; what the peer sends\nis written to stdout unchanged; at the end of stdin our side is shut for writing, and the\ncommand exits 0 once the peer has closed too, or after --count N lines received.\nWith --bind --echo: every byte a client sends goes back to it; --count N exits after N\nclients have come and gone."
    )]
    Stream {
        #[command(flatten)]
        common: Common,
        /// Serve: send every client's bytes back to it (with --bind).
        #[arg(long)]
        echo: bool,
    },
    /// Plain UDP datagrams, no framing (a DGRAM socket): with --connect, each stdin line one
    /// datagram and each datagram received one line; an echo server with --bind --echo.
    #[command(
        after_help = "Examples:\n  printf 'hello\\n' | actormq dgram --connect udp://localhost:7001 --count 1\n  actormq dgram --bind udp://*:7001 --echo\n\nWith --connect: each stdin line is sent as one datagram (without its newline); each\ndatagram received is printed as one line; exits 0 after --count N datagrams received.\nWith --bind --echo: each datagram is answered with the same bytes, to its sender;\n--count N exits after N."
    )]
    Dgram {
        #[command(flatten)]
        common: Common,
        /// Serve: answer every datagram with itself (with --bind).
        #[arg(long)]
        echo: bool,
    },
    /// Join a frontend and a backend socket (queue, forwarder, streamer, ...).
    #[command(
        after_help = "Example:\n  actormq proxy --frontend router=tcp://*:5559 --backend dealer=@tcp://*:5560\n\nTYPE is router, dealer, xpub, xsub, pub, sub, push or pull; EPS a comma-separated list,\nin CZMQ notation: @ binds, > connects, a bare endpoint does what CZMQ does for the\ntype (router, xpub, pub, pull bind; dealer, xsub, sub, push connect)."
    )]
    Proxy {
        /// TYPE=EPS of the frontend.
        #[arg(long, value_name = "TYPE=EPS")]
        frontend: String,
        /// TYPE=EPS of the backend.
        #[arg(long, value_name = "TYPE=EPS")]
        backend: String,
        /// TYPE=EPS of a socket that gets a copy of all traffic.
        #[arg(long, value_name = "TYPE=EPS")]
        capture: Option<String>,
        /// Set a socket option of every side by its libzmq name (repeatable): NAME=VALUE.
        #[arg(long = "option", value_name = "NAME=VALUE")]
        options: Vec<String>,
        /// Set an option of the backend only (repeatable), e.g. its own security:
        /// --backend-option curve_server=true --backend-option curve_secretkey_file=F.
        #[arg(long = "backend-option", value_name = "NAME=VALUE")]
        backend_options: Vec<String>,
        /// PLAIN and CURVE flags: they apply to the frontend (the side clients reach).
        #[command(flatten)]
        security: security::SecurityArgs,
        /// Exit with status 2 if still running then.
        #[arg(long = "timeout-ms", value_name = "MS")]
        timeout_ms: Option<u64>,
    },
    /// Run an actor graph described in a file (TOML, YAML or JSON).
    #[command(after_help = "Example:\n  actormq run examples/pipeline.toml")]
    Run {
        /// The graph file.
        file: std::path::PathBuf,
        /// Exit with status 2 if still running then.
        #[arg(long = "timeout-ms", value_name = "MS")]
        timeout_ms: Option<u64>,
    },
    /// Generate a CURVE key pair: the public key on line 1, the secret key on line 2 (40 Z85
    /// characters each), or with --out FILE a certificate FILE (public and secret, mode 0600)
    /// and FILE.pub (public only).
    #[command(
        after_help = "Examples:\n  actormq keygen\n  actormq keygen --out server   # writes server and server.pub"
    )]
    Keygen {
        /// Write a certificate pair instead of printing the keys.
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
    /// Draw a graph file without running it: Graphviz DOT, or SVG (laid out by Graphviz's
    /// `dot` when installed, else by the layout-rs crate).
    #[command(
        after_help = "Examples:\n  actormq graph examples/pipeline.toml > pipeline.dot\n  actormq graph examples/pipeline.toml --format svg --out pipeline.svg"
    )]
    Graph {
        /// The graph file.
        file: std::path::PathBuf,
        /// dot or svg.
        #[arg(long, value_name = "FORMAT", default_value = "dot")]
        format: String,
        /// Write here instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
    /// Watch the sockets of a process served with --monitor: rates and queue depths,
    /// refreshed in place (q or Ctrl-C quits).
    #[command(
        after_help = "Example:\n  actormq run examples/pipeline.toml --monitor 8222 &\n  actormq top --monitor 8222"
    )]
    Top {
        /// Refresh this often.
        #[arg(long = "interval-ms", value_name = "MS", default_value_t = 1000)]
        interval_ms: u64,
        /// Draw this many frames, then exit (for scripts and tests).
        #[arg(long, value_name = "N")]
        frames: Option<u64>,
    },
    /// Measure throughput or latency over a real endpoint.
    Bench {
        #[command(subcommand)]
        kind: bench::Kind,
    },
}

/// How a command ended.
pub enum Outcome {
    /// It completed.
    Done,
    /// `--timeout-ms` ran out first (exit status 2).
    TimedOut,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let text = e.render().to_string();
            let line = text
                .lines()
                .next()
                .unwrap_or("bad arguments")
                .trim_start_matches("error: ");
            eprintln!("actormq: {line}");
            return ExitCode::from(1);
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let result = match cli.command {
        Command::Graph { file, format, out } => {
            observe::graph(&file, &format, out.as_deref()).map(|()| Outcome::Done)
        }
        Command::Top {
            interval_ms,
            frames,
        } => observe::top(cli.monitor.as_deref(), interval_ms, frames).map(|()| Outcome::Done),
        Command::Run { file, timeout_ms } => actix::System::new()
            .block_on(bounded(timeout_ms, commands::run_graph(file, cli.monitor))),
        command => {
            // every other command: the monitor, if asked for, serves its sockets
            let monitor = match cli.monitor.as_deref().map(|a| observe::serve(a, None)) {
                Some(Err(e)) => Err(e),
                Some(Ok(m)) => Ok(Some(m)),
                None => Ok(None),
            };
            match monitor {
                Ok(_monitor) => actix::System::new().block_on(run(command)),
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::TimedOut) => ExitCode::from(2),
        Err(reason) => {
            eprintln!("actormq: {reason}");
            ExitCode::from(1)
        }
    }
}

/// Runs a command's future, bounded by `--timeout-ms`.
async fn bounded(
    timeout_ms: Option<u64>,
    fut: impl std::future::Future<Output = Result<(), String>>,
) -> Result<Outcome, String> {
    match timeout_ms {
        None => fut.await.map(|()| Outcome::Done),
        Some(ms) => match tokio::time::timeout(Duration::from_millis(ms), fut).await {
            Ok(result) => result.map(|()| Outcome::Done),
            Err(_) => {
                eprintln!("actormq: timed out after {ms} ms");
                Ok(Outcome::TimedOut)
            }
        },
    }
}

async fn run(command: Command) -> Result<Outcome, String> {
    use actormq::SocketType;
    match command {
        Command::Pub {
            common,
            topic,
            wait_subscribers,
        } => {
            let t = common.timeout_ms;
            bounded(
                t,
                commands::send_lines(common, SocketType::Pub, topic, wait_subscribers),
            )
            .await
        }
        Command::Push { common, wait_peers } => {
            let t = common.timeout_ms;
            bounded(
                t,
                commands::send_lines(common, SocketType::Push, None, wait_peers),
            )
            .await
        }
        Command::Sub { common, topics } => {
            let t = common.timeout_ms;
            bounded(t, commands::receive(common, SocketType::Sub, topics)).await
        }
        Command::Pull { common } => {
            let t = common.timeout_ms;
            bounded(t, commands::receive(common, SocketType::Pull, Vec::new())).await
        }
        Command::Req { common } => {
            let t = common.timeout_ms;
            bounded(t, commands::request(common)).await
        }
        Command::Rep { common, echo } => {
            let t = common.timeout_ms;
            bounded(t, commands::reply(common, echo)).await
        }
        Command::Stream { common, echo } => {
            let t = common.timeout_ms;
            bounded(t, raw::stream(common, echo)).await
        }
        Command::Dgram { common, echo } => {
            let t = common.timeout_ms;
            bounded(t, raw::dgram(common, echo)).await
        }
        Command::Proxy {
            frontend,
            backend,
            capture,
            options,
            backend_options,
            security,
            timeout_ms,
        } => {
            let sides = commands::ProxySides {
                frontend,
                backend,
                capture,
                options,
                backend_options,
                security,
            };
            bounded(timeout_ms, commands::proxy(sides)).await
        }
        Command::Keygen { out } => security::keygen(out).map(|()| Outcome::Done),
        Command::Run { .. } | Command::Graph { .. } | Command::Top { .. } => {
            unreachable!("run, graph and top are dispatched in main")
        }
        Command::Bench { kind } => bench::run(kind).await.map(|()| Outcome::Done),
    }
}
