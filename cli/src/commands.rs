//! The socket commands: pub, sub, push, pull, req, rep, proxy.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use actormq::transports::parse_endpoint_list_as;
use actormq::{
    parse_endpoint_list, Attach, Endpoint, Multipart, Socket, SocketEvent, SocketOptions,
    SocketType,
};

use crate::Common;
use actormq_cli::frames::Format;

pub(crate) fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Applies `--option NAME=VALUE`s through the one options table ([`SocketOptions::set`]).
fn set_options(opts: &mut SocketOptions, options: &[String]) -> Result<(), String> {
    for o in options {
        let (name, value) = o.split_once('=').ok_or_else(|| {
            format!("--option `{o}`: write NAME=VALUE, e.g. --option sndhwm=10000")
        })?;
        opts.set(name.trim(), value.trim())
            .map_err(|e| format!("--option: {e}"))?;
    }
    Ok(())
}

/// A socket of `socket_type` with the command's linger and options.
pub(crate) fn socket(
    socket_type: SocketType,
    common: &Common,
    xpub_verbose: bool,
) -> Result<Socket, String> {
    let mut opts = SocketOptions::default().xpub_verbose(xpub_verbose);
    opts.set("linger", &common.linger_ms.to_string())
        .map_err(err)?;
    let named = [
        ("heartbeat_ivl", common.heartbeat_ivl.map(|v| v.to_string())),
        ("maxmsgsize", common.maxmsgsize.map(|v| v.to_string())),
        ("handshake_ivl", common.handshake_ivl.map(|v| v.to_string())),
    ];
    for (name, value) in named {
        if let Some(value) = value {
            opts.set(name, &value)
                .map_err(|e| format!("--{}: {e}", name.replace('_', "-")))?;
        }
    }
    set_options(&mut opts, &common.options)?;
    common.security.apply(&mut opts)?;
    let socket = Socket::with_options(socket_type, opts).map_err(err)?;
    crate::security::report_refusals(&socket);
    Ok(socket)
}

/// Whether binding `ep` lets the system choose (port 0, `ipc://*`): then the real endpoint is
/// printed.
fn chosen_by_system(ep: &Endpoint) -> bool {
    match ep {
        Endpoint::Tcp(hp) => hp.port == 0,
        Endpoint::Udp { addr, .. } => addr.port == 0,
        Endpoint::Ipc(path) => path.as_os_str() == "*",
        _ => false,
    }
}

/// Binds one endpoint; prints `bound ENDPOINT` on stderr when the system chose it.
async fn bind(socket: &Socket, wanted: &Endpoint) -> Result<(), String> {
    let bound = socket.bind(wanted).await.map_err(err)?;
    if chosen_by_system(wanted) {
        eprintln!("bound {bound}");
    }
    Ok(())
}

/// Binds and connects each endpoint listed.
async fn attach_all(socket: &Socket, list: Vec<Attach>) -> Result<(), String> {
    for a in list {
        match a {
            Attach::Bind(ep) => bind(socket, &ep).await?,
            Attach::Connect(ep) => socket.connect(&ep).await.map_err(err)?,
        }
    }
    Ok(())
}

/// Binds and connects as the command line says: `--bind`, `--connect`, then `--endpoints`
/// (CZMQ notation, through the one parser).
pub(crate) async fn attach(socket: &Socket, common: &Common) -> Result<(), String> {
    if common.bind.is_empty() && common.connect.is_empty() && common.endpoints.is_empty() {
        return Err("no endpoint: give --bind EP, --connect EP or --endpoints LIST".into());
    }
    let mut list = Vec::new();
    for ep in &common.bind {
        list.extend(parse_endpoint_list_as(ep, true).map_err(err)?);
    }
    for ep in &common.connect {
        list.extend(parse_endpoint_list_as(ep, false).map_err(err)?);
    }
    for eps in &common.endpoints {
        list.extend(parse_endpoint_list(eps, socket.socket_type()).map_err(err)?);
    }
    attach_all(socket, list).await
}

/// Lines of stdin (without their `\n` or `\r\n`), read on a thread of their own: a
/// blocking read in tokio's pool would hold the process at exit until stdin ends, so that a
/// sender stopped by a signal would never exit.
struct StdinLines(tokio::sync::mpsc::Receiver<std::io::Result<String>>);

impl StdinLines {
    async fn next_line(&mut self) -> std::io::Result<Option<String>> {
        self.0.recv().await.transpose()
    }
}

fn stdin_lines() -> StdinLines {
    use std::io::BufRead;
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut line = String::new();
            let got = match stdin.read_line(&mut line) {
                Ok(0) => return,
                Ok(_) => {
                    if line.ends_with('\n') {
                        line.pop();
                        if line.ends_with('\r') {
                            line.pop();
                        }
                    }
                    Ok(line)
                }
                Err(e) => Err(e),
            };
            let failed = got.is_err();
            if tx.blocking_send(got).is_err() || failed {
                return;
            }
        }
    });
    StdinLines(rx)
}

fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Ctrl-C (SIGINT) and SIGTERM, listened for from the start of a command, so that neither
/// kills the process while it is waiting: the first stops the command gracefully (its socket
/// closes with the `--linger-ms`, its `ipc://` files are removed, the exit status is 0, as for
/// `actormq run`), a second one stops waiting for queued messages.
pub struct Interrupts {
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Interrupts {
    /// Starts listening (replacing the default action, which kills the process).
    pub fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Interrupts {
                int: signal(SignalKind::interrupt()).ok(),
                term: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Interrupts {}
    }

    /// Completes at the next Ctrl-C or SIGTERM.
    pub async fn next(&mut self) {
        #[cfg(unix)]
        {
            async fn on(s: &mut Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                _ = on(&mut self.int) => {}
                _ = on(&mut self.term) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }

    /// Runs a command's work until it ends or the first signal (then `Ok`), and closes the
    /// socket: within its linger, or at once at a second signal. An error of the work is
    /// returned as it is, without waiting for the linger.
    pub async fn run_then_close(
        &mut self,
        socket: &Socket,
        work: impl std::future::Future<Output = Result<(), String>>,
    ) -> Result<(), String> {
        let result = tokio::select! {
            r = work => r,
            _ = self.next() => Ok(()),
        };
        result?;
        tokio::select! {
            _ = socket.close() => {}
            _ = self.next() => eprintln!("actormq: second signal: not waiting for queued messages"),
        }
        Ok(())
    }
}

/// `pub` and `push`: each stdin line a message.
pub async fn send_lines(
    common: Common,
    socket_type: SocketType,
    topic: Option<String>,
    wait: Option<usize>,
) -> Result<(), String> {
    let format = Format { raw: common.raw };
    let mut interrupts = Interrupts::new();
    // A broker is one peer that is there to take everything: wait for it (as for a subscriber)
    // rather than drop what stdin gives before the connection is up.
    let wait = wait.or_else(|| Some(brokers(&common, socket_type)).filter(|&n| n > 0));
    // To count subscribers, a publisher that waits is an XPUB that sees every subscription.
    let waits_for_subscribers = socket_type == SocketType::Pub && wait.is_some();
    let actual = if waits_for_subscribers {
        SocketType::XPub
    } else {
        socket_type
    };
    let socket = socket(actual, &common, waits_for_subscribers)?;
    let mut monitor = socket.monitor();
    let sent = std::cell::Cell::new(0u64);
    let work = async {
        attach(&socket, &common).await?;
        send_all(&socket, &common, format, topic, wait, &mut monitor, &sent).await
    };
    interrupts.run_then_close(&socket, work).await?;
    match socket.undelivered() {
        0 => Ok(()),
        n => Err(format!(
            "{n} of the {} messages read from stdin could not be delivered (linger expired \
             or the peer was lost with them; raise --linger-ms or --option linger=-1 to wait)",
            sent.get()
        )),
    }
}

/// How many of the endpoints the command connects to are brokers (`redis://`, ...).
fn brokers(common: &Common, socket_type: SocketType) -> usize {
    let mut list = Vec::new();
    for ep in &common.connect {
        list.extend(parse_endpoint_list_as(ep, false).unwrap_or_default());
    }
    for eps in &common.endpoints {
        list.extend(parse_endpoint_list(eps, socket_type).unwrap_or_default());
    }
    list.iter()
        .filter(|a| match a {
            Attach::Connect(ep) => actormq::transports::transport_for(ep)
                .is_ok_and(|t| t.kind() == actormq::transports::TransportKind::Broker),
            Attach::Bind(_) => false,
        })
        .count()
}

/// The body of [`send_lines`], once the socket is made.
async fn send_all(
    socket: &Socket,
    common: &Common,
    format: Format,
    topic: Option<String>,
    wait: Option<usize>,
    monitor: &mut tokio::sync::broadcast::Receiver<SocketEvent>,
    sent: &std::cell::Cell<u64>,
) -> Result<(), String> {
    let waits_for_subscribers = socket.socket_type() == SocketType::XPub;
    if let Some(n) = wait {
        if waits_for_subscribers {
            let mut subscribers = BTreeSet::new();
            while subscribers.len() < n {
                let (msg, peer) = socket.recv_from().await.map_err(err)?;
                if msg.len() == 1 && msg.frames()[0].first() == Some(&1) {
                    subscribers.insert(peer.to_string());
                }
            }
        } else {
            let mut peers = 0;
            while peers < n {
                if let Ok(SocketEvent::HandshakeSucceeded { .. }) = monitor.recv().await {
                    peers += 1;
                }
            }
        }
    }
    let mut lines = stdin_lines();
    let mut line_no = 0u64;
    while let Some(line) = lines
        .next_line()
        .await
        .map_err(|e| format!("reading stdin: {e}"))?
    {
        line_no += 1;
        let mut msg = match format.parse_line(&line) {
            Ok(msg) => msg,
            Err(e) => {
                eprintln!("actormq: line {line_no}: {e} (skipped)");
                continue;
            }
        };
        if let Some(t) = &topic {
            msg.push_front(t.clone());
        }
        socket.send(msg).await.map_err(err)?;
        sent.set(sent.get() + 1);
        if common.count.is_some_and(|n| sent.get() >= n) {
            break;
        }
        if let Some(ms) = common.interval_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }
    Ok(())
}

/// `sub` and `pull`: print each message.
pub async fn receive(
    common: Common,
    socket_type: SocketType,
    topics: Vec<String>,
) -> Result<(), String> {
    let format = Format { raw: common.raw };
    let mut interrupts = Interrupts::new();
    let socket = socket(socket_type, &common, false)?;
    let work = receive_all(&socket, &common, format, topics);
    interrupts.run_then_close(&socket, work).await
}

/// The body of [`receive`], once the socket is made.
async fn receive_all(
    socket: &Socket,
    common: &Common,
    format: Format,
    topics: Vec<String>,
) -> Result<(), String> {
    let socket_type = socket.socket_type();
    attach(socket, common).await?;
    let raw_first = if socket_type == SocketType::Sub {
        if topics.is_empty() {
            socket.subscribe("").await.map_err(err)?;
        }
        for t in &topics {
            socket.subscribe(t.clone()).await.map_err(err)?;
        }
        1
    } else {
        0
    };
    let mut received = 0u64;
    while common.count.is_none_or(|n| received < n) {
        let (msg, peer) = socket.recv_from().await.map_err(err)?;
        match format.show(&msg, raw_first) {
            Ok(line) => {
                print_line(&line);
                received += 1;
            }
            Err(e) => eprintln!("actormq: message from {peer}: {e} (skipped)"),
        }
    }
    Ok(())
}

/// `req`: each stdin line a request; print each reply.
pub async fn request(common: Common) -> Result<(), String> {
    let mut interrupts = Interrupts::new();
    let socket = socket(SocketType::Req, &common, false)?;
    let work = request_all(&socket, &common);
    interrupts.run_then_close(&socket, work).await
}

/// The body of [`request`], once the socket is made.
async fn request_all(socket: &Socket, common: &Common) -> Result<(), String> {
    let format = Format { raw: common.raw };
    attach(socket, common).await?;
    let mut lines = stdin_lines();
    let (mut line_no, mut replies) = (0u64, 0u64);
    while let Some(line) = lines
        .next_line()
        .await
        .map_err(|e| format!("reading stdin: {e}"))?
    {
        line_no += 1;
        let msg = match format.parse_line(&line) {
            Ok(msg) => msg,
            Err(e) => {
                eprintln!("actormq: line {line_no}: {e} (skipped)");
                continue;
            }
        };
        socket.send(msg).await.map_err(err)?;
        let (reply, peer) = socket.recv_from().await.map_err(err)?;
        match format.show(&reply, 0) {
            Ok(text) => print_line(&text),
            Err(e) => eprintln!("actormq: reply from {peer}: {e} (skipped)"),
        }
        replies += 1;
        if common.count.is_some_and(|n| replies >= n) {
            break;
        }
        if let Some(ms) = common.interval_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }
    Ok(())
}

/// `rep`: answer each request with its own frames (`--echo`), or print it and answer with the
/// next stdin line.
pub async fn reply(common: Common, echo: bool) -> Result<(), String> {
    let mut interrupts = Interrupts::new();
    let socket = socket(SocketType::Rep, &common, false)?;
    let work = reply_all(&socket, &common, echo);
    interrupts.run_then_close(&socket, work).await
}

/// The body of [`reply`], once the socket is made.
async fn reply_all(socket: &Socket, common: &Common, echo: bool) -> Result<(), String> {
    let format = Format { raw: common.raw };
    attach(socket, common).await?;
    let mut lines = stdin_lines();
    let mut replies = 0u64;
    while common.count.is_none_or(|n| replies < n) {
        let (request, peer) = socket.recv_from().await.map_err(err)?;
        let answer: Multipart = if echo {
            request
        } else {
            match format.show(&request, 0) {
                Ok(text) => print_line(&text),
                Err(e) => eprintln!("actormq: request from {peer}: {e}"),
            }
            loop {
                let Some(line) = lines
                    .next_line()
                    .await
                    .map_err(|e| format!("reading stdin: {e}"))?
                else {
                    return Ok(());
                };
                match format.parse_line(&line) {
                    Ok(msg) => break msg,
                    Err(e) => eprintln!("actormq: reply line: {e} (skipped)"),
                }
            }
        };
        socket.send(answer).await.map_err(err)?;
        replies += 1;
    }
    Ok(())
}

/// Parses `TYPE=EPS` of the proxy command: EPS in CZMQ notation, through the one parser (a
/// bare endpoint does what CZMQ does for TYPE).
fn parse_side(spec: &str, which: &str) -> Result<(SocketType, Vec<Attach>), String> {
    let (ty, eps) = spec.split_once('=').ok_or_else(|| {
        format!("--{which} `{spec}`: write TYPE=ENDPOINTS, e.g. router=tcp://*:5559")
    })?;
    let socket_type: SocketType = ty.parse().map_err(|e| format!("--{which}: {e}"))?;
    use SocketType::*;
    if !matches!(
        socket_type,
        Router | Dealer | XPub | XSub | Pub | Sub | Push | Pull
    ) {
        return Err(format!("--{which}: a proxy side is router, dealer, xpub, xsub, pub, sub, push or pull, not {ty}"));
    }
    let eps = parse_endpoint_list(eps, socket_type).map_err(|e| format!("--{which}: {e}"))?;
    Ok((socket_type, eps))
}

async fn proxy_side(
    spec: &str,
    which: &str,
    options: &[String],
    own: &[String],
    security: Option<&crate::security::SecurityArgs>,
) -> Result<Socket, String> {
    let (socket_type, eps) = parse_side(spec, which)?;
    let mut opts = SocketOptions::default();
    set_options(&mut opts, options)?;
    set_options(&mut opts, own)?;
    if let Some(security) = security {
        security.apply(&mut opts)?;
    }
    let socket = Socket::with_options(socket_type, opts).map_err(err)?;
    crate::security::report_refusals(&socket);
    attach_all(&socket, eps).await?;
    if socket_type == SocketType::Sub {
        socket.subscribe("").await.map_err(err)?;
    }
    Ok(socket)
}

/// What `actormq proxy` is given.
pub struct ProxySides {
    /// TYPE=EPS of the frontend.
    pub frontend: String,
    /// TYPE=EPS of the backend.
    pub backend: String,
    /// TYPE=EPS of the capture socket.
    pub capture: Option<String>,
    /// NAME=VALUE options of every side.
    pub options: Vec<String>,
    /// NAME=VALUE options of the backend only.
    pub backend_options: Vec<String>,
    /// The frontend's security.
    pub security: crate::security::SecurityArgs,
}

/// `proxy`: runs until a socket closes, Ctrl-C or SIGTERM; then closes its sockets (each
/// within its linger; at once at a second signal).
pub async fn proxy(sides: ProxySides) -> Result<(), String> {
    let mut interrupts = Interrupts::new();
    let options = &sides.options;
    let front = proxy_side(
        &sides.frontend,
        "frontend",
        options,
        &[],
        Some(&sides.security),
    )
    .await?;
    let back = proxy_side(
        &sides.backend,
        "backend",
        options,
        &sides.backend_options,
        None,
    )
    .await?;
    let capture = match &sides.capture {
        Some(spec) => Some(proxy_side(spec, "capture", options, &[], None).await?),
        None => None,
    };
    let sockets: Vec<Socket> = [Some(&front), Some(&back), capture.as_ref()]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    let result = tokio::select! {
        r = actormq::proxy(front, back, capture) => r.map_err(err),
        _ = interrupts.next() => Ok(()),
    };
    let close_all = async {
        for s in &sockets {
            s.close().await;
        }
    };
    tokio::select! {
        _ = close_all => {}
        _ = interrupts.next() => eprintln!("actormq: second signal: not waiting for queued messages"),
    }
    result
}

/// `run`: loads a graph file (checked whole before anything starts) and runs it until it ends,
/// Ctrl-C or SIGTERM; with `monitor`, serves the monitoring endpoint there meanwhile.
pub async fn run_graph(file: std::path::PathBuf, monitor: Option<String>) -> Result<(), String> {
    let kinds = actormq::graph::Kinds::builtin();
    let spec = actormq::graph::load(&file, &kinds).map_err(err)?;
    let _monitor = match monitor {
        Some(address) => Some(crate::observe::serve(
            &address,
            Some(actormq::graph::GraphView::of(&spec)),
        )?),
        None => None,
    };
    actormq::graph::run(&spec, &kinds).await.map_err(err)
}
