//! `actormq bench` with one side only: two `actormq` processes, and libzmq (the `zmq` crate
//! builds it from source) and pyzmq as the other side, with the semantics of libzmq's
//! `local_thr`/`remote_thr`/`local_lat`/`remote_lat`; and the sweep drawn as a chart.
#![allow(clippy::unwrap_used)] // a failed step is a failed test

mod common;

use std::process::Command;

use common::*;

/// The closing line that starts with `prefix`, as numbers.
fn closing(out: &str, prefix: &str) -> Vec<f64> {
    let line = out
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in {out}"));
    line.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// The table row of the run: its peak RSS in MB (the last column).
fn peak_rss_mb(out: &str) -> f64 {
    let row = out.lines().nth(1).unwrap();
    row.split_whitespace().last().unwrap().parse().unwrap()
}

#[test]
fn two_processes_measure_throughput_and_latency() {
    for pattern in ["push", "pub"] {
        let receiver = spawn(&[
            "bench",
            "throughput",
            "--pattern",
            pattern,
            "--bind",
            "tcp://127.0.0.1:0",
            "--count",
            "20000",
            "--size",
            "100",
        ]);
        let ep = receiver.bound();
        let sender = run_with(
            &[
                "bench",
                "throughput",
                "--pattern",
                pattern,
                "--connect",
                &ep,
                "--count",
                "20000",
                "--size",
                "100",
            ],
            "",
        );
        assert!(sender.status.success(), "{sender:?}");
        let (code, out, err) = receiver.finish();
        assert_eq!(code, 0, "{err}");
        let sent = String::from_utf8_lossy(&sender.stdout);
        assert!(
            out.contains("(receiver)") && sent.contains("(sender)"),
            "{out}{sent}"
        );
        let rate = closing(&out, "throughput: ");
        assert!(rate[0] > 0.0 && rate[1] > 0.0, "{out}");
        assert!(peak_rss_mb(&out) > 1.0, "{out}");
    }
    let replier = spawn(&[
        "bench",
        "latency",
        "--bind",
        "tcp://127.0.0.1:0",
        "--count",
        "300",
    ]);
    let ep = replier.bound();
    let requester = run_with(
        &["bench", "latency", "--connect", &ep, "--count", "300"],
        "",
    );
    assert!(requester.status.success(), "{requester:?}");
    let text = String::from_utf8_lossy(&requester.stdout);
    let p = closing(&text, "latency: p50 ");
    assert!(
        p[1] > 0.0 && p[3] >= p[1],
        "p50 {} p99 {}: {text}",
        p[1],
        p[3]
    );
    let (code, out, _) = replier.finish();
    assert_eq!(code, 0);
    assert!(out.contains("replied: 300 round trips"), "{out}");
}

#[test]
fn receive_each_and_one_thread_latency() {
    // one recv per message (as local_thr), both sides here and as a separate receiver
    for transport in ["tcp", "inproc"] {
        let out = run_with(
            &[
                "bench",
                "throughput",
                "--transport",
                transport,
                "--receive",
                "each",
                "--count",
                "30000",
            ],
            "",
        );
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(closing(&text, "throughput: ")[0] > 0.0, "{text}");
    }
    let receiver = spawn(&[
        "bench",
        "throughput",
        "--bind",
        "tcp://127.0.0.1:0",
        "--receive",
        "each",
        "--count",
        "20000",
    ]);
    let ep = receiver.bound();
    let sender = run_with(
        &["bench", "throughput", "--connect", &ep, "--count", "20000"],
        "",
    );
    assert!(sender.status.success(), "{sender:?}");
    let (code, out, err) = receiver.finish();
    assert_eq!(code, 0, "{err}");
    assert!(closing(&out, "throughput: ")[0] > 0.0, "{out}");
    // both sides on one thread: the table names it, and the round trips are measured
    for transport in ["inproc", "tcp"] {
        let out = run_with(
            &[
                "bench",
                "latency",
                "--one-thread",
                "--transport",
                transport,
                "--count",
                "500",
            ],
            "",
        );
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("(one thread)"), "{text}");
        let p = closing(&text, "latency: p50 ");
        assert!(p[1] > 0.0 && p[3] >= p[1], "{text}");
    }
}

/// Our sender and receiver against libzmq sockets doing what `local_thr` and `remote_thr` do:
/// the receiver counts and checks every message, the sender sends a count and lingers.
#[test]
fn one_side_against_libzmq_throughput() {
    const N: usize = 50_000;
    const SIZE: usize = 64;
    // libzmq receives (local_thr), actormq sends (remote_thr)
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    let p = free_port();
    pull.bind(&format!("tcp://127.0.0.1:{p}")).unwrap();
    let counter = std::thread::spawn(move || {
        pull.set_rcvtimeo(20_000).unwrap();
        let mut got = 0;
        while got < N {
            let m = pull.recv_bytes(0).expect("libzmq got too few messages");
            assert_eq!(m.len(), SIZE);
            got += 1;
        }
        got
    });
    let sender = run_with(
        &[
            "bench",
            "throughput",
            "--connect",
            &format!("tcp://127.0.0.1:{p}"),
            "--count",
            &N.to_string(),
            "--size",
            &SIZE.to_string(),
        ],
        "",
    );
    assert!(sender.status.success(), "{sender:?}");
    assert_eq!(counter.join().unwrap(), N);
    // actormq receives (local_thr), libzmq sends (remote_thr)
    let receiver = spawn(&[
        "bench",
        "throughput",
        "--bind",
        "tcp://127.0.0.1:0",
        "--count",
        &N.to_string(),
        "--size",
        &SIZE.to_string(),
    ]);
    let ep = receiver.bound();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.connect(&ep).unwrap();
    for _ in 0..N {
        push.send(vec![7u8; SIZE], 0).unwrap();
    }
    let (code, out, err) = receiver.finish();
    assert_eq!(code, 0, "{err}");
    assert!(closing(&out, "throughput: ")[0] > 0.0, "{out}");
    // a libzmq SUB takes an actormq publisher's whole run: it waited for the subscription
    let receiver = spawn(&[
        "bench",
        "throughput",
        "--pattern",
        "pub",
        "--role",
        "sender",
        "--bind",
        "tcp://127.0.0.1:0",
        "--count",
        &N.to_string(),
        "--size",
        &SIZE.to_string(),
    ]);
    let ep = receiver.bound();
    let sub = ctx.socket(zmq::SUB).unwrap();
    sub.set_subscribe(b"").unwrap();
    sub.set_rcvtimeo(20_000).unwrap();
    sub.connect(&ep).unwrap();
    for _ in 0..N {
        assert_eq!(sub.recv_bytes(0).unwrap().len(), SIZE);
    }
    let (code, _, err) = receiver.finish();
    assert_eq!(code, 0, "{err}");
}

/// Our requester and replier against libzmq's REP and REQ, as `local_lat` and `remote_lat`.
#[test]
fn one_side_against_libzmq_latency() {
    const N: usize = 500;
    let ctx = zmq::Context::new();
    let rep = ctx.socket(zmq::REP).unwrap();
    let p = free_port();
    rep.bind(&format!("tcp://127.0.0.1:{p}")).unwrap();
    let echo = std::thread::spawn(move || {
        for _ in 0..N {
            let m = rep.recv_bytes(0).unwrap();
            rep.send(m, 0).unwrap();
        }
    });
    let requester = run_with(
        &[
            "bench",
            "latency",
            "--connect",
            &format!("tcp://127.0.0.1:{p}"),
            "--count",
            &N.to_string(),
        ],
        "",
    );
    assert!(requester.status.success(), "{requester:?}");
    echo.join().unwrap();
    let err = String::from_utf8_lossy(&requester.stderr);
    assert!(err.contains("average latency: "), "{err}");
    let replier = spawn(&[
        "bench",
        "latency",
        "--bind",
        "tcp://127.0.0.1:0",
        "--count",
        &N.to_string(),
    ]);
    let ep = replier.bound();
    let req = ctx.socket(zmq::REQ).unwrap();
    req.connect(&ep).unwrap();
    for _ in 0..N {
        req.send(vec![1u8; 16], 0).unwrap();
        assert_eq!(req.recv_bytes(0).unwrap(), vec![1u8; 16]);
    }
    let (code, out, _) = replier.finish();
    assert_eq!(code, 0);
    assert!(out.contains(&format!("replied: {N} round trips")), "{out}");
}

/// pyzmq as the receiving side (`local_thr` in Python), our sender connecting.
#[test]
fn one_side_against_pyzmq() {
    let p = free_port();
    let script = format!(
        "import zmq\n\
         s = zmq.Context().socket(zmq.PULL)\n\
         s.bind('tcp://127.0.0.1:{p}')\n\
         print('READY', flush=True)\n\
         s.RCVTIMEO = 20000\n\
         for i in range(20000):\n\
         \x20   assert len(s.recv()) == 32\n\
         print('got 20000')\n"
    );
    let mut py = Command::new("python3")
        .args(["-c", &script])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with pyzmq (pip install pyzmq)");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(py.stdout.take().unwrap()));
    assert_eq!(lines.next().unwrap().unwrap(), "READY");
    let sender = run_with(
        &[
            "bench",
            "throughput",
            "--connect",
            &format!("tcp://127.0.0.1:{p}"),
            "--count",
            "20000",
            "--size",
            "32",
        ],
        "",
    );
    assert!(sender.status.success(), "{sender:?}");
    assert_eq!(lines.next().unwrap().unwrap(), "got 20000");
    assert!(py.wait().unwrap().success());
}

#[test]
fn a_sweep_is_drawn_as_a_chart() {
    let dir = std::env::temp_dir().join(format!("actormq-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("sweep.svg");
    let out = run_with(
        &[
            "bench",
            "sweep",
            "--transport",
            "inproc",
            "--sizes",
            "16,1024,8192",
            "--count",
            "2000",
            "--plot",
            svg.to_str().unwrap(),
        ],
        "",
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    // a throughput and a latency row per size
    assert_eq!(text.matches("throughput: ").count(), 3, "{text}");
    assert_eq!(text.matches("latency: p50 ").count(), 3, "{text}");
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.starts_with("<svg"), "{chart}");
    for label in ["throughput", "REQ/REP round trip", "p99", "payload bytes"] {
        assert!(chart.contains(label), "no {label:?} in the chart");
    }
    // one point per size on each of the four lines
    assert!(chart.matches("<circle").count() >= 12, "{chart}");
    std::fs::remove_dir_all(&dir).unwrap();
    // sizes that a single side cannot sweep are refused by the command line
    let out = run_with(
        &[
            "bench",
            "throughput",
            "--sizes",
            "16,32",
            "--bind",
            "tcp://127.0.0.1:0",
        ],
        "",
    );
    assert!(!out.status.success());
}

#[test]
fn bench_queue_reports_bytes_per_queued_message_for_both_cases() {
    let out = run_with(&["bench", "queue", "--count", "50000"], "");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    for case in ["no-peer", "stalled"] {
        let line = text
            .lines()
            .find(|l| l.starts_with("queue: ") && l.ends_with(case))
            .unwrap_or_else(|| panic!("no {case} line: {text}"));
        let per = closing(line, "queue: ")[0];
        // the payload alone is 16 bytes; what it costs beyond that is what the bench shows
        assert!(per > 16.0, "{line}");
    }
}
