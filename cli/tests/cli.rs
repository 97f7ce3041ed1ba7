//! The `actormq` tool run as a user runs it: processes, pipes, real sockets, libzmq peers.
#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::*;

#[test]
fn pub_and_sub_with_topics_multipart_and_the_line_format() {
    let sub = spawn(&[
        "sub",
        "--bind",
        "tcp://127.0.0.1:0",
        "--topic",
        "news",
        "--count",
        "2",
    ]);
    let ep = sub.bound();
    let out = run_with(
        &[
            "pub",
            "--connect",
            &ep,
            "--topic",
            "news",
            "--wait-subscribers",
            "1",
        ],
        "{\"a\":1}\t\"x\"\n[1,2.5,null]\n",
    );
    assert!(out.status.success(), "{out:?}");
    let (code, stdout, _) = sub.finish();
    assert_eq!(code, 0);
    assert_eq!(stdout, "news\t{\"a\":1}\t\"x\"\nnews\t[1,2.5,null]\n");
}

#[test]
fn push_and_pull_raw_frames_keep_empty_ones() {
    let pull = spawn(&[
        "pull",
        "--bind",
        "tcp://127.0.0.1:0",
        "--raw",
        "--count",
        "2",
    ]);
    let ep = pull.bound();
    let out = run_with(
        &["push", "--connect", &ep, "--raw", "--wait-peers", "1"],
        "a\t\tccc\nplain text\n",
    );
    assert!(out.status.success(), "{out:?}");
    let (code, stdout, _) = pull.finish();
    assert_eq!((code, stdout.as_str()), (0, "a\t\tccc\nplain text\n"));
}

#[test]
fn a_bad_json_line_is_reported_with_its_number_and_the_rest_is_sent() {
    let pull = spawn(&["pull", "--bind", "tcp://127.0.0.1:0", "--count", "2"]);
    let ep = pull.bound();
    let out = run_with(&["push", "--connect", &ep], "1\n{not json\n\"three\"\n");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 2") && stderr.contains("invalid JSON"),
        "{stderr}"
    );
    let (_, stdout, _) = pull.finish();
    assert_eq!(stdout, "1\n\"three\"\n");
}

#[test]
fn endpoint_lists_and_options_go_through_the_one_parser_and_table() {
    // bare endpoints: PULL binds, PUSH connects (as CZMQ's zsock_new_pull / zsock_new_push)
    let pull = spawn(&[
        "pull",
        "--endpoints",
        "tcp://127.0.0.1:0",
        "--option",
        "rcvhwm=10",
        "--option",
        "linger=-1",
        "--count",
        "1",
    ]);
    let ep = pull.bound();
    let out = run_with(
        &["push", "--endpoints", &ep, "--option", "sndhwm=5"],
        "\"one\"\n",
    );
    assert!(out.status.success(), "{out:?}");
    let (code, stdout, _) = pull.finish();
    assert_eq!((code, stdout.as_str()), (0, "\"one\"\n"));
    for (option, needle) in [
        ("sndhwn=5", "invalid option `sndhwn`: no such option"),
        ("sndhwm=0", "invalid option `sndhwm`: must be at least 1"),
        ("linger", "NAME=VALUE"),
    ] {
        let out = run_with(
            &["pull", "--bind", "tcp://127.0.0.1:0", "--option", option],
            "",
        );
        assert_eq!(out.status.code(), Some(1), "{option}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{option}: {stderr}");
    }
}

#[test]
fn req_and_rep_echo() {
    let rep = spawn(&[
        "rep",
        "--bind",
        "tcp://127.0.0.1:0",
        "--echo",
        "--count",
        "2",
    ]);
    let ep = rep.bound();
    let out = run_with(&["req", "--connect", &ep], "{\"q\":1}\n\"second\"\t2\n");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"q\":1}\n\"second\"\t2\n"
    );
    assert_eq!(rep.finish().0, 0);
}

#[test]
fn exit_codes_and_one_line_reasons() {
    for (args, needle) in [
        (vec!["pull", "--bind", "tcp://localhost"], "missing `:port`"),
        (vec!["pull", "--bindd", "tcp://*:0"], "unexpected argument"),
        (vec!["pull"], "no endpoint"),
        (
            vec![
                "proxy",
                "--frontend",
                "req=tcp://*:0",
                "--backend",
                "dealer=tcp://*:0",
            ],
            "a proxy side is",
        ),
        (vec!["run", "/nonexistent/graph.toml"], "graph"),
    ] {
        let out = run_with(&args, "");
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.lines().count(),
            1,
            "{args:?}: not one line: {stderr}"
        );
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    let out = run_with(
        &["pull", "--bind", "tcp://127.0.0.1:0", "--timeout-ms", "300"],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn help_on_every_command_has_an_example() {
    for cmd in ["pub", "sub", "push", "pull", "req", "rep", "proxy", "run"] {
        let out = run_with(&[cmd, "--help"], "");
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Example"), "{cmd} --help: {text}");
    }
    for kind in ["throughput", "latency"] {
        let out = run_with(&["bench", kind, "--help"], "");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Example"));
    }
}

#[test]
fn garbage_from_a_libzmq_peer_is_reported_naming_it_and_the_tool_goes_on() {
    let pull = spawn(&["pull", "--bind", "tcp://127.0.0.1:0", "--count", "1"]);
    let ep = pull.bound();
    let ctx = zmq::Context::new();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.connect(&ep).unwrap();
    push.send(&b"\xc1"[..], 0).unwrap(); // a reserved marker
    push.send(&b"\xdc\x00\x05\x01"[..], 0).unwrap(); // an array of 5 with 1 element
    push.send(&b"\x93\x01\x02\x03"[..], 0).unwrap();
    let (code, stdout, stderr) = pull.finish();
    assert_eq!(code, 0);
    assert_eq!(stdout, "[1,2,3]\n");
    assert!(
        stderr.contains("message from 127.0.0.1:") && stderr.contains("not valid MessagePack"),
        "{stderr}"
    );
}

#[test]
fn libzmq_sub_decodes_what_actormq_pub_sends() {
    let mut publisher = spawn(&[
        "pub",
        "--bind",
        "tcp://127.0.0.1:0",
        "--topic",
        "weather",
        "--wait-subscribers",
        "1",
    ]);
    let ep = publisher.bound();
    publisher
        .child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"celsius\":21.5}\n")
        .unwrap();
    let ctx = zmq::Context::new();
    let sub = ctx.socket(zmq::SUB).unwrap();
    sub.connect(&ep).unwrap();
    sub.set_subscribe(b"w").unwrap();
    sub.set_rcvtimeo(10_000).unwrap();
    let frames = sub.recv_multipart(0).unwrap();
    assert_eq!(frames[0], b"weather");
    let value = rmpv::decode::read_value(&mut &frames[1][..]).unwrap();
    assert_eq!(
        value,
        rmpv::Value::Map(vec![(rmpv::Value::from("celsius"), rmpv::Value::F64(21.5))])
    );
    assert_eq!(publisher.finish().0, 0);
}

#[test]
fn libzmq_req_gets_echoes_from_actormq_rep() {
    let rep = spawn(&[
        "rep",
        "--bind",
        "tcp://127.0.0.1:0",
        "--echo",
        "--count",
        "3",
    ]);
    let ep = rep.bound();
    let ctx = zmq::Context::new();
    let req = ctx.socket(zmq::REQ).unwrap();
    req.connect(&ep).unwrap();
    req.set_rcvtimeo(10_000).unwrap();
    for i in 0..3 {
        req.send_multipart([format!("q{i}").into_bytes(), b"x".to_vec()], 0)
            .unwrap();
        assert_eq!(
            req.recv_multipart(0).unwrap(),
            vec![format!("q{i}").into_bytes(), b"x".to_vec()]
        );
    }
    assert_eq!(rep.finish().0, 0);
}

#[test]
fn proxy_between_libzmq_clients_and_workers() {
    let proxy = spawn(&[
        "proxy",
        "--frontend",
        "router=tcp://127.0.0.1:0",
        "--backend",
        "dealer=@tcp://127.0.0.1:0",
        "--timeout-ms",
        "5000",
    ]);
    let front = proxy.bound();
    let back = proxy.bound();
    let ctx = zmq::Context::new();
    let worker = ctx.socket(zmq::REP).unwrap();
    worker.connect(&back).unwrap();
    let client = ctx.socket(zmq::REQ).unwrap();
    client.connect(&front).unwrap();
    client.set_rcvtimeo(10_000).unwrap();
    worker.set_rcvtimeo(10_000).unwrap();
    client.send("hello", 0).unwrap();
    let q = worker.recv_bytes(0).unwrap();
    worker.send([b"re: ".as_slice(), &q].concat(), 0).unwrap();
    assert_eq!(client.recv_bytes(0).unwrap(), b"re: hello");
    let (code, _, _) = proxy.finish();
    assert_eq!(code, 2, "the proxy runs until its timeout");
}

#[test]
fn bench_prints_its_table_and_closing_line() {
    let out = run_with(
        &[
            "bench",
            "throughput",
            "--transport",
            "inproc",
            "--count",
            "20000",
        ],
        "",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    let last = text.lines().last().unwrap();
    assert!(
        last.starts_with("throughput: ") && last.ends_with(" MB/s") && last.contains(" msg/s, "),
        "{text}"
    );
    assert!(text.contains("PUSH->PULL"), "{text}");
    let out = run_with(
        &[
            "bench",
            "throughput",
            "--pattern",
            "pub",
            "--transport",
            "ipc",
            "--count",
            "20000",
        ],
        "",
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("PUB->SUB"),
        "{out:?}"
    );
    let out = run_with(&["bench", "latency", "--count", "200"], "");
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap();
    assert!(
        last.starts_with("latency: p50 ") && last.contains(" us, p99 ") && last.ends_with(" us"),
        "{text}"
    );
}

#[test]
fn run_the_demonstration_graph() {
    let out = run_with(&["run", "../examples/pipeline.toml"], "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("sink: done: 200000 results in"), "{stdout}");
    assert!(stdout.contains("msg/s"), "{stdout}");
}

#[test]
fn a_broken_graph_file_fails_before_anything_starts() {
    let path = std::env::temp_dir().join(format!("actormq-cli-broken-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "[actors.a]\nkind = \"log\"\nsockets = { input = \"nowhere\" }\n",
    )
    .unwrap();
    let out = run_with(&["run", path.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("actors.a.sockets.input: no socket named `nowhere`"),
        "{stderr}"
    );
}

#[test]
fn sigterm_stops_a_running_graph_gracefully() {
    let path =
        std::env::temp_dir().join(format!("actormq-cli-forever-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "[sockets.s]\ntype = \"sub\"\nendpoints = \"@tcp://127.0.0.1:0\"\n[actors.printer]\nkind = \"log\"\nsockets = { input = \"s\" }\n",
    )
    .unwrap();
    let running = spawn(&["run", path.to_str().unwrap()]);
    std::thread::sleep(Duration::from_millis(500));
    let status = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (code, _, stderr) = running.finish();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn actormq_pub_connects_to_a_libzmq_sub_that_binds() {
    let ctx = zmq::Context::new();
    let sub = ctx.socket(zmq::SUB).unwrap();
    sub.bind("tcp://127.0.0.1:*").unwrap();
    let ep = sub.get_last_endpoint().unwrap().unwrap();
    sub.set_subscribe(b"w").unwrap();
    sub.set_rcvtimeo(10_000).unwrap();
    let mut publisher = spawn(&[
        "pub",
        "--connect",
        &ep,
        "--topic",
        "weather",
        "--wait-subscribers",
        "1",
    ]);
    publisher
        .child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"celsius\":21.5}\n")
        .unwrap();
    // a libzmq socket handles its connections inside its own calls: it is receiving now
    let frames = sub.recv_multipart(0).unwrap();
    assert_eq!(frames[0], b"weather");
    assert_eq!(publisher.finish().0, 0);
}

#[test]
fn a_second_signal_stops_waiting_for_messages_that_cannot_leave() {
    // a PUSH with no peer holds its messages; with linger forever, closing waits for them
    let path = std::env::temp_dir().join(format!("actormq-cli-linger-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "[sockets.out]\ntype = \"push\"\nendpoints = \">tcp://127.0.0.1:1\"\n\
         [actors.source]\nkind = \"bench-source\"\nsockets = { output = \"out\" }\n\
         params = { messages = 10 }\n",
    )
    .unwrap();
    let mut running = spawn(&["run", path.to_str().unwrap()]);
    std::thread::sleep(Duration::from_millis(700));
    // the source is done; the graph is closing and waits for its 10 messages
    assert!(
        running.child.try_wait().unwrap().is_none(),
        "exited at once"
    );
    let status = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (code, _, stderr) = running.finish();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn push_exits_non_zero_when_what_stdin_gave_cannot_be_delivered() {
    // nobody listens: the three messages wait, then linger expires
    let out = run_with(
        &[
            "push",
            "--connect",
            "tcp://127.0.0.1:1",
            "--raw",
            "--linger-ms",
            "200",
        ],
        "a\nb\nc\n",
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("3 of the 3 messages read from stdin could not be delivered"),
        "{stderr}"
    );
}

#[test]
fn wait_subscribers_counts_each_ipc_peer() {
    // every peer accepted on one ipc path used to share one address: two were counted as one
    let path = std::env::temp_dir().join(format!("actormq-cli-wait-{}.ipc", std::process::id()));
    let ep = format!("ipc://{}", path.display());
    let mut publisher = spawn(&[
        "pub",
        "--bind",
        &ep,
        "--wait-subscribers",
        "2",
        "--topic",
        "t",
        "--timeout-ms",
        "10000",
    ]);
    let subs: Vec<Running> = (0..2)
        .map(|_| spawn(&["sub", "--connect", &ep, "--count", "1"]))
        .collect();
    publisher
        .child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\"hello\"\n")
        .unwrap();
    let (code, _, stderr) = publisher.finish();
    assert_eq!(code, 0, "{stderr}");
    for sub in subs {
        let (code, out, stderr) = sub.finish();
        assert_eq!((code, out.as_str()), (0, "t\t\"hello\"\n"), "{stderr}");
    }
    assert!(!path.exists(), "the publisher left its socket file");
}

#[test]
fn bench_over_ipc_leaves_no_socket_file() {
    for kind in ["latency", "throughput"] {
        let running = spawn(&["bench", kind, "--transport", "ipc", "--count", "50"]);
        let pid = running.child.id();
        let (code, _, stderr) = running.finish();
        assert_eq!(code, 0, "{stderr}");
        let prefix = format!("actormq-bench-{pid}-");
        let left: Vec<_> = std::fs::read_dir("/tmp")
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .collect();
        assert!(left.is_empty(), "bench {kind} left {left:?}");
    }
}

/// Sends a signal to a running actormq.
fn signal(running: &Running, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn every_socket_command_stops_gracefully_at_sigterm_or_ctrl_c() {
    let dir = std::env::temp_dir();
    for (i, (command, sig)) in [
        ("sub", "TERM"),
        ("pull", "INT"),
        ("pub", "INT"),
        ("push", "TERM"),
        ("req", "TERM"),
        ("rep", "INT"),
        ("proxy", "TERM"),
        ("proxy", "INT"),
    ]
    .into_iter()
    .enumerate()
    {
        let path = dir.join(format!("actormq-cli-sig-{}-{i}.ipc", std::process::id()));
        let ep = format!("ipc://{}", path.display());
        let other = dir.join(format!("actormq-cli-sig-{}-{i}b.ipc", std::process::id()));
        let args: Vec<String> = if command == "proxy" {
            vec![
                "proxy".into(),
                format!("--frontend=router=@{ep}"),
                format!("--backend=dealer=@ipc://{}", other.display()),
            ]
        } else {
            vec![command.into(), "--bind".into(), ep.clone()]
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // a sender keeps stdin open: it is waiting for lines
        let mut running = spawn(&args);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !path.exists() {
            assert!(Instant::now() < deadline, "{command}: never bound {ep}");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100));
        let stdin = running.child.stdin.take();
        signal(&running, sig);
        let start = Instant::now();
        let (code, _, stderr) = running.finish();
        drop(stdin);
        assert_eq!(code, 0, "{command} at SIG{sig}: {stderr}");
        assert!(start.elapsed() < Duration::from_secs(5), "{command}");
        assert!(!path.exists(), "{command} left {ep} behind at SIG{sig}");
        assert!(
            !other.exists(),
            "{command} left its backend behind at SIG{sig}"
        );
    }
}

#[test]
fn a_second_signal_stops_a_sender_waiting_for_its_linger() {
    // a PUSH whose peer never comes holds its message for the linger (1 minute here)
    let mut running = spawn(&[
        "push",
        "--connect",
        "tcp://127.0.0.1:1",
        "--linger-ms",
        "60000",
    ]);
    running
        .child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"1\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let stdin = running.child.stdin.take();
    signal(&running, "TERM");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        running.child.try_wait().unwrap().is_none(),
        "did not wait for the linger"
    );
    signal(&running, "TERM");
    let start = Instant::now();
    let (code, _, stderr) = running.finish();
    drop(stdin);
    assert_eq!(code, 0, "{stderr}");
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(stderr.contains("second signal"), "{stderr}");
}

#[test]
fn frames_printed_as_text_cannot_forge_lines_or_reach_the_terminal() {
    // a peer sends a newline (a forged line), a TAB (a forged frame), ESC sequences
    let pull = spawn(&[
        "pull",
        "--bind",
        "tcp://127.0.0.1:0",
        "--raw",
        "--count",
        "1",
    ]);
    let ep = pull.bound();
    let ctx = zmq::Context::new();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.connect(&ep).unwrap();
    push.send_multipart([&b"a\nforged\tframe\x1b[2J"[..], b"\x1b]0;title\x07b\\"], 0)
        .unwrap();
    let (code, text, stderr) = pull.finish();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        text,
        "a\\nforged\\tframe\\x1b[2J\t\\x1b]0;title\\x07b\\\\\n"
    );
    // --raw reads the escapes back: what is printed can be sent again as it was
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.get_last_endpoint().unwrap().unwrap();
    let out = run_with(
        &["push", "--connect", &ep, "--raw", "--wait-peers", "1"],
        "a\\nforged\\x1b[2J\tb\\\\\n",
    );
    assert!(out.status.success(), "{out:?}");
    pull.set_rcvtimeo(10_000).unwrap();
    let frames = pull.recv_multipart(0).unwrap();
    assert_eq!(frames, [b"a\nforged\x1b[2J".to_vec(), b"b\\".to_vec()]);
}

#[test]
fn maxmsgsize_and_heartbeat_flags_reach_the_socket() {
    // --maxmsgsize 10: a libzmq PUSH's 100-byte message closes its connection, then a message
    // that fits (on the reconnected connection) is printed; --heartbeat-ivl is accepted too
    let mut pull = actormq()
        .args([
            "pull",
            "--bind",
            "tcp://127.0.0.1:0",
            "--raw",
            "--count",
            "1",
            "--maxmsgsize",
            "10",
            "--heartbeat-ivl",
            "1000",
            "--handshake-ivl",
            "0",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(pull.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let ep = line.trim().strip_prefix("bound ").unwrap().to_string();
    let ctx = zmq::Context::new();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.connect(&ep).unwrap();
    push.send(vec![b'x'; 100], 0).unwrap();
    let mut rest = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !rest.contains("maxmsgsize") && Instant::now() < deadline {
        let mut l = String::new();
        if stderr.read_line(&mut l).unwrap() == 0 {
            break;
        }
        rest.push_str(&l);
    }
    assert!(rest.contains("exceeds maxmsgsize"), "{rest}");
    push.send("fits", 0).unwrap();
    let mut out = String::new();
    pull.stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "fits\n");
    assert!(pull.wait().unwrap().success());
}
