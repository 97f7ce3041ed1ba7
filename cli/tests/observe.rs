//! Seeing a running system from the command line: `actormq graph` (DOT, and SVG by Graphviz
//! or by layout-rs), and `actormq run examples/pipeline.toml --monitor`, watched through its
//! JSON, by a real headless Chromium on its live page (no console errors, every actor shown,
//! rates that change; a screenshot kept in `target/monitor-page.png`), and by `actormq top` in
//! a real terminal (tmux). Chromium and tmux are Debian packages: without them those parts say
//! they were skipped (CI installs them and sets `ACTORMQ_REQUIRE_BROKERS`, so there a missing
//! one fails).
#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const PIPELINE: &str = "../examples/pipeline.toml";

#[test]
fn graph_draws_the_pipeline_as_dot_and_as_svg() {
    let out = actormq().args(["graph", PIPELINE]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let dot = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "digraph actormq",
        "\"actor:ventilator\" -> \"socket:tasks_out\"",
        "\"socket:tasks_out\" -> \"socket:tasks_in\"",
        "\"socket:tasks_in\" -> \"actor:worker\"",
        "\"socket:results_out\" -> \"socket:results_in\"",
        "\"socket:results_in\" -> \"actor:sink\"",
        "worker ×4",
    ] {
        assert!(dot.contains(needle), "{needle} missing:\n{dot}");
    }
    // by Graphviz when it is installed, else by layout-rs (an empty PATH has no `dot`)
    let empty = std::env::temp_dir().join(format!("actormq-no-dot-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let mut runs = vec![("layout-rs", Some(empty.clone()))];
    if Command::new("dot").arg("-V").output().is_ok() {
        runs.push(("graphviz", None));
    } else if std::env::var_os("ACTORMQ_REQUIRE_BROKERS").is_some() {
        panic!("graphviz is not installed");
    } else {
        eprintln!("skipped: the Graphviz run (graphviz is not installed)");
    }
    for (by, path) in runs {
        let file = std::env::temp_dir().join(format!("pipeline-{by}-{}.svg", std::process::id()));
        let mut command = actormq();
        command
            .args(["graph", PIPELINE, "--format", "svg", "--out"])
            .arg(&file);
        if let Some(path) = path {
            command.env("PATH", path);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{by}: {out:?}");
        let svg = std::fs::read_to_string(&file).unwrap();
        assert!(svg.contains("<svg"), "{by}: {svg}");
        for actor in ["ventilator", "worker", "sink", "tasks_in", "results_out"] {
            assert!(svg.contains(actor), "{by}: {actor} missing");
        }
    }
    let out = actormq()
        .args(["graph", PIPELINE, "--format", "png"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown format `png`"));
}

/// `GET path` from `address`: the body of a 200 answer, or `None`.
fn get(address: &str, path: &str) -> Option<String> {
    let mut http = std::net::TcpStream::connect(address).ok()?;
    http.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(http, "GET {path} HTTP/1.0\r\n\r\n").ok()?;
    let mut reply = String::new();
    http.read_to_string(&mut reply).ok()?;
    let (head, body) = reply.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200").then(|| body.to_string())
}

/// The total of `field` over the sockets made from the graph's socket `template`.
fn total(graph: &serde_json::Value, template: &str, field: &str) -> u64 {
    graph["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["name"]
                .as_str()
                .is_some_and(|n| n.starts_with(&format!("{template}/")))
        })
        .map(|s| s[field].as_u64().unwrap())
        .sum()
}

/// Whether the tests must not skip what is missing (CI).
fn required() -> bool {
    std::env::var_os("ACTORMQ_REQUIRE_BROKERS").is_some()
}

#[test]
fn a_running_pipeline_is_seen_through_json_a_headless_browser_and_top() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let mut command = actormq();
    command
        .args(["run", PIPELINE, "--monitor", &port.to_string()])
        // long enough to watch it run
        .env("ACTORMQ__ACTORS__VENTILATOR__PARAMS__TASKS", "100000000")
        .env("ACTORMQ__ACTORS__SINK__PARAMS__TASKS", "100000000");
    let mut running = Killed(spawn_command(command));
    let deadline = Instant::now() + Duration::from_secs(30);
    let first = loop {
        let exited = running.0.child.try_wait().unwrap();
        assert!(
            Instant::now() < deadline && exited.is_none(),
            "{}",
            running.0.stderr.lock().unwrap()
        );
        if let Some(body) = get(&address, "/graph") {
            let graph: serde_json::Value = serde_json::from_str(&body).unwrap();
            // every actor instance has made its sockets, and results come in
            let made = graph["sockets"].as_array().map_or(0, Vec::len);
            if made == 10 && total(&graph, "results_in", "messages_in") > 0 {
                break graph;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // the graph's shape, and its live sockets named after it
    let actors: Vec<&str> = first["graph"]["actors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(actors, ["sink", "ventilator", "worker"]);
    let names: Vec<&str> = first["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    for name in [
        "tasks_out/ventilator[0]",
        "tasks_in/worker[3]",
        "results_in/sink[0]",
    ] {
        assert!(names.contains(&name), "{name} missing: {names:?}");
    }
    std::thread::sleep(Duration::from_millis(500));
    let second: serde_json::Value =
        serde_json::from_str(&get(&address, "/graph").unwrap()).unwrap();
    assert!(
        total(&second, "results_in", "messages_in") > total(&first, "results_in", "messages_in"),
        "the sink received nothing more"
    );
    let metrics = get(&address, "/metrics").unwrap();
    assert!(
        metrics.contains(
            "actormq_messages_sent_total{socket=\"tasks_out/ventilator[0]\",type=\"PUSH\",id=\""
        ),
        "{metrics}"
    );

    browser(&address);
    top(&address);
}

/// A running `actormq`, killed when the test ends, whether it passed or not.
struct Killed(Running);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.child.kill();
        let _ = self.0.child.wait();
    }
}

/// The live page in headless Chromium: loads without a script error, shows every actor and
/// socket of the pipeline, and its rates change from one look to the next.
fn browser(address: &str) {
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok());
    let Some(chromium) = chromium else {
        assert!(!required(), "chromium is not installed");
        return eprintln!("skipped: the browser part (chromium is not installed)");
    };
    let profile = std::env::temp_dir().join(format!("actormq-chromium-{}", std::process::id()));
    let look = |extra: &[&str]| {
        let out = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--enable-logging=stderr",
                "--v=0",
                "--window-size=1280,640",
                "--virtual-time-budget=3000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(format!("http://{address}/"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let rates = |dom: &str| -> Vec<String> {
        dom.split("class=\"rate\"")
            .skip(1)
            .map(|s| s.split('<').next().unwrap_or("").to_string())
            .collect()
    };
    let (dom, log) = look(&["--dump-dom"]);
    for needle in [
        "data-node=\"actor:ventilator\"",
        "data-node=\"actor:worker\"",
        "data-node=\"actor:sink\"",
        "data-node=\"socket:tasks_in\"",
        "data-link=\"tasks_out|tasks_in\"",
        "<span id=\"errors\">0</span>",
        "tasks_in/worker[0]",
    ] {
        assert!(
            dom.contains(needle),
            "{needle} missing from the page:\n{dom}"
        );
    }
    assert!(
        !dom.contains("<span id=\"updates\">0</span>"),
        "the page never updated"
    );
    assert!(!log.contains("Uncaught"), "a script error: {log}");
    assert!(
        !log.contains("Failed to load resource"),
        "a failed load: {log}"
    );
    // the process measures its rates each second
    std::thread::sleep(Duration::from_millis(1500));
    let (again, _) = look(&["--dump-dom"]);
    assert_ne!(rates(&dom), rates(&again), "the rates did not change");
    assert!(
        again.contains("data-link=\"tasks_out|tasks_in\"")
            && !rates(&again).iter().all(|r| r.ends_with(">0 msg/s")),
        "no rate: {:?}",
        rates(&again)
    );
    let shot = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/monitor-page.png");
    look(&[&format!("--screenshot={}", shot.display())]);
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 1000,
        "no screenshot"
    );
}

/// `actormq top` in a real terminal (tmux): the sockets of the pipeline with their rates, then
/// q quits.
fn top(address: &str) {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(!required(), "tmux is not installed");
        return eprintln!("skipped: the terminal part (tmux is not installed)");
    }
    let session = format!("actormq-top-{}", std::process::id());
    let program = format!(
        "{} top --monitor {address} --interval-ms 300",
        env!("CARGO_BIN_EXE_actormq")
    );
    let tmux = |args: &[&str]| Command::new("tmux").args(args).output().unwrap();
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "120",
        "-y",
        "30",
        &program,
    ]);
    assert!(started.status.success(), "{started:?}");
    let mut screen = String::new();
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(200));
        screen = String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &session]).stdout)
            .into_owned();
        let rate_shown = screen
            .lines()
            .filter(|l| l.contains("results_in/sink[0]"))
            .any(|l| {
                l.split_whitespace()
                    .nth(2)
                    .is_some_and(|r| r.parse::<u64>().is_ok_and(|r| r > 0))
            });
        if screen.contains("actormq top") && rate_shown {
            break;
        }
    }
    for needle in [
        "actormq top",
        "in/s",
        "queued in",
        "tasks_in/worker[0]",
        "PULL",
        "results_in/sink[0]",
    ] {
        assert!(
            screen.contains(needle),
            "{needle} missing from the screen:\n{screen}"
        );
    }
    tmux(&["send-keys", "-t", &session, "q"]);
    let mut gone = false;
    for _ in 0..25 {
        std::thread::sleep(Duration::from_millis(200));
        if !tmux(&["has-session", "-t", &session]).status.success() {
            gone = true;
            break;
        }
    }
    if !gone {
        tmux(&["kill-session", "-t", &session]);
    }
    assert!(gone, "top did not quit on q:\n{screen}");
}
