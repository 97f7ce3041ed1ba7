//! Seeing a system: the monitoring endpoint (`--monitor`), pictures of graph files (`graph`)
//! and the terminal view of a monitored process (`top`).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use actormq::monitor::Monitor;
use ratatui::layout::Constraint;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, Row, Table};

/// `ADDR` as given to `--monitor`: a port alone means localhost.
fn address_of(given: &str) -> String {
    if given.contains(':') {
        given.to_string()
    } else {
        format!("127.0.0.1:{given}")
    }
}

/// Starts the monitoring endpoint, and says where on stderr.
pub fn serve(address: &str, graph: Option<actormq::graph::GraphView>) -> Result<Monitor, String> {
    let address = address_of(address);
    let monitor = Monitor::serve(&address, graph)
        .map_err(|e| format!("cannot serve the monitor on {address}: {e}"))?;
    eprintln!("actormq: monitor on http://{}/", monitor.address());
    Ok(monitor)
}

/// `graph`: the picture of a graph file, as DOT or SVG.
pub fn graph(file: &Path, format: &str, out: Option<&Path>) -> Result<(), String> {
    let kinds = actormq::graph::Kinds::builtin();
    let spec = actormq::graph::load(file, &kinds).map_err(|e| e.to_string())?;
    let dot = actormq::graph::GraphView::of(&spec).to_dot();
    let text = match format {
        "dot" => dot,
        "svg" => svg_of(&dot)?,
        other => return Err(format!("unknown format `{other}`: dot or svg")),
    };
    match out {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| e.to_string()),
    }
}

/// Lays `dot` out as SVG: with Graphviz's `dot` when it is installed, else with layout-rs.
fn svg_of(dot: &str) -> Result<String, String> {
    let graphviz = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    if let Ok(mut child) = graphviz {
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(dot.as_bytes()).map_err(|e| e.to_string())?;
        }
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "graphviz: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let mut parser = layout::gv::DotParser::new(dot);
    let parsed = parser
        .process()
        .map_err(|e| format!("laying the graph out: {e}"))?;
    let mut builder = layout::gv::GraphBuilder::new();
    builder.visit_graph(&parsed);
    let mut graph = builder.get();
    let mut svg = layout::backends::svg::SVGWriter::new();
    graph.do_it(false, false, false, &mut svg);
    Ok(svg.finalize())
}

/// `GET path` from the monitoring endpoint at `address`: the body of a 200 answer.
fn http_get(address: &str, path: &str) -> Result<String, String> {
    let mut http = std::net::TcpStream::connect(address)
        .map_err(|e| format!("cannot reach the monitor at {address}: {e}"))?;
    http.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    write!(http, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut reply = String::new();
    http.read_to_string(&mut reply).map_err(|e| e.to_string())?;
    let (head, body) = reply
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{address}: not an HTTP answer"))?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "{address}{path}: {}",
            head.lines().next().unwrap_or("")
        ));
    }
    Ok(body.to_string())
}

/// One socket as `top` shows it.
struct Line {
    id: u64,
    name: String,
    kind: String,
    messages_in: u64,
    messages_out: u64,
    queued_in: u64,
    queued_out: u64,
    peers: usize,
    undelivered: u64,
}

/// The sockets the monitor serves at `/sockets`.
fn sample(address: &str) -> Result<Vec<Line>, String> {
    let body = http_get(address, "/sockets")?;
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&body).map_err(|e| format!("/sockets: {e}"))?;
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or(0);
    Ok(all
        .iter()
        .map(|v| Line {
            id: n(v, "id"),
            name: v["name"].as_str().map_or_else(
                || {
                    format!(
                        "{}-{}",
                        v["socket_type"].as_str().unwrap_or("?"),
                        n(v, "id")
                    )
                },
                str::to_string,
            ),
            kind: v["socket_type"].as_str().unwrap_or("?").to_string(),
            messages_in: n(v, "messages_in"),
            messages_out: n(v, "messages_out"),
            queued_in: n(v, "queued_in"),
            queued_out: n(v, "queued_out"),
            peers: v["peers"].as_array().map_or(0, Vec::len),
            undelivered: n(v, "undelivered"),
        })
        .collect())
}

/// `top`: the sockets of a monitored process, with their rates and queue depths, redrawn
/// every `interval_ms` until q, Esc or Ctrl-C (or `frames` frames).
pub fn top(monitor: Option<&str>, interval_ms: u64, frames: Option<u64>) -> Result<(), String> {
    let address = address_of(
        monitor
            .ok_or("top needs --monitor ADDR: the address of a process started with --monitor")?,
    );
    // fail before taking over the terminal if the process is not there
    sample(&address)?;
    let mut terminal = ratatui::init();
    let result = watch(&mut terminal, &address, interval_ms, frames);
    ratatui::restore();
    result
}

fn watch(
    terminal: &mut ratatui::DefaultTerminal,
    address: &str,
    interval_ms: u64,
    frames: Option<u64>,
) -> Result<(), String> {
    use crossterm::event::{self, Event, KeyCode, KeyModifiers};
    let mut before: HashMap<u64, (u64, u64)> = HashMap::new();
    let mut last = Instant::now();
    let mut drawn = 0u64;
    loop {
        let now = Instant::now();
        let seconds = now.duration_since(last).as_secs_f64();
        last = now;
        let (lines, status) = match sample(address) {
            Ok(lines) => {
                let status = format!("{address} · {} sockets · q quits", lines.len());
                (lines, status)
            }
            Err(e) => (Vec::new(), e),
        };
        let rate = |now: u64, was: Option<u64>| match was {
            Some(was) if seconds > 0.0 => {
                format!("{:.0}", now.saturating_sub(was) as f64 / seconds)
            }
            _ => "-".to_string(),
        };
        let rows: Vec<Row> = lines
            .iter()
            .map(|l| {
                let was = before.get(&l.id);
                Row::new(vec![
                    l.name.clone(),
                    l.kind.clone(),
                    rate(l.messages_in, was.map(|w| w.0)),
                    rate(l.messages_out, was.map(|w| w.1)),
                    l.queued_in.to_string(),
                    l.queued_out.to_string(),
                    l.peers.to_string(),
                    l.undelivered.to_string(),
                ])
            })
            .collect();
        before = lines
            .iter()
            .map(|l| (l.id, (l.messages_in, l.messages_out)))
            .collect();
        let header = Row::new(vec![
            "socket",
            "type",
            "in/s",
            "out/s",
            "queued in",
            "queued out",
            "peers",
            "undelivered",
        ])
        .style(Style::new().add_modifier(Modifier::BOLD));
        let widths = [
            Constraint::Min(24),
            Constraint::Length(7),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(6),
            Constraint::Length(12),
        ];
        let table = Table::new(rows, widths)
            .header(header)
            .block(Block::bordered().title(format!(" actormq top · {status} ")));
        terminal
            .draw(|frame| frame.render_widget(table, frame.area()))
            .map_err(|e| e.to_string())?;
        drawn += 1;
        if frames.is_some_and(|n| drawn >= n) {
            return Ok(());
        }
        let until = Instant::now() + Duration::from_millis(interval_ms);
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            if !event::poll(left).map_err(|e| e.to_string())? {
                break;
            }
            if let Event::Key(key) = event::read().map_err(|e| e.to_string())? {
                let ctrl_c =
                    key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
                if ctrl_c || matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) {
                    return Ok(());
                }
            }
        }
    }
}
