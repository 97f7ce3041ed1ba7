//! Actor graphs from configuration files and the environment.

mod common;

use std::io::Write;
use std::path::PathBuf;

use actormq::graph::{load, run as run_fn, Kinds};
use common::*;

fn file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("actormq-graph-{}-{name}", std::process::id()));
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    path
}

const GOOD: &str = r#"
[sockets.out]
type = "push"
endpoints = "@inproc://graph-good"

[sockets.in]
type = "pull"
endpoints = ">inproc://graph-good"

[actors.source]
kind = "bench-source"
sockets = { output = "out" }
params = { messages = 2000, size = 32 }

[actors.sink]
kind = "bench-sink"
sockets = { input = "in" }
params = { messages = 2000 }
"#;

#[test]
fn a_graph_runs_until_its_sink_has_everything() {
    let path = file("good.toml", GOOD);
    let kinds = Kinds::builtin();
    let spec = load(&path, &kinds).unwrap();
    assert_eq!(spec.actors.len(), 2);
    run(20, async move {
        run_fn(&spec, &kinds).await.unwrap();
    });
}

#[test]
fn a_bare_endpoint_does_what_czmq_does_for_the_socket_type() {
    // PUSH connects and PULL binds a bare endpoint (CZMQ's zsock_new_push / zsock_new_pull)
    let bare = GOOD
        .replace("\"@inproc://graph-good\"", "\"inproc://graph-bare\"")
        .replace("\">inproc://graph-good\"", "\"inproc://graph-bare\"");
    let path = file("bare.toml", &bare);
    let kinds = Kinds::builtin();
    let spec = load(&path, &kinds).unwrap();
    for (name, binds) in [("out", false), ("in", true)] {
        let s = &spec.sockets[name];
        let list =
            actormq::parse_endpoint_list(&s.endpoints, s.socket_type.parse().unwrap()).unwrap();
        assert_eq!(list[0].is_bind(), binds, "{name}");
    }
    run(20, async move {
        run_fn(&spec, &kinds).await.unwrap();
    });
}

#[test]
fn graph_file_and_code_agree_on_option_defaults() {
    let kinds = Kinds::builtin();
    let socket = |options: &str| {
        let text = format!(
            "[sockets.s]\ntype = \"pull\"\nendpoints = \">tcp://h:1\"\n{options}\n[actors.a]\nkind = \"log\"\nsockets = {{ input = \"s\" }}\n"
        );
        let path = file(&format!("opts-{}.toml", text.len()), &text);
        load(&path, &kinds).unwrap().sockets["s"]
            .options
            .to_options()
            .unwrap()
    };
    // no options: the defaults of the code (linger `None`, i.e. -1, not 5 s)
    assert_eq!(socket(""), actormq::SocketOptions::default());
    assert_eq!(socket("").linger, None);
    // every option of the table written with its default text: the same
    let all: Vec<String> = actormq::OPTIONS
        .iter()
        .map(|d| match d.unit {
            "text" => format!("{} = \"{}\"", d.name, d.default),
            _ => format!("{} = {}", d.name, d.default),
        })
        .collect();
    assert_eq!(
        socket(&format!("options = {{ {} }}", all.join(", "))),
        actormq::SocketOptions::default()
    );
    // values in the table's units
    let o = socket(
        "options = { linger = 500, maxmsgsize = -1, xpub_verbose = true, routing_id = \"me\" }",
    );
    assert_eq!(o.linger, Some(std::time::Duration::from_millis(500)));
    assert_eq!(o.maxmsgsize, None);
    assert!(o.xpub_verbose);
    assert_eq!(&o.routing_id[..], b"me");
}

#[test]
fn broken_files_name_the_file_the_key_and_the_problem() {
    let kinds = Kinds::builtin();
    let cases: &[(&str, &str, &str)] = &[
        ("unknown-kind", "[actors.a]\nkind = \"teleport\"\n", "actors.a.kind: unknown kind `teleport`"),
        ("bad-type", "[sockets.s]\ntype = \"fish\"\nendpoints = \">tcp://h:1\"\n[actors.a]\nkind = \"log\"\nsockets = { input = \"s\" }\n", "sockets.s.type: unknown socket type `fish`"),
        ("bad-endpoint", "[sockets.s]\ntype = \"pull\"\nendpoints = \">tcp://h\"\n[actors.a]\nkind = \"log\"\nsockets = { input = \"s\" }\n", "sockets.s.endpoints: invalid endpoint `tcp://h`"),
        ("missing-socket", "[actors.a]\nkind = \"log\"\nsockets = { input = \"nope\" }\n", "actors.a.sockets.input: no socket named `nope`"),
        ("missing-role", "[actors.a]\nkind = \"relay\"\n", "actors.a.sockets: kind `relay` needs a socket `input`"),
        ("zero-count", "[sockets.s]\ntype = \"pull\"\nendpoints = \">tcp://h:1\"\n[actors.a]\nkind = \"log\"\ncount = 0\nsockets = { input = \"s\" }\n", "actors.a.count: must be at least 1"),
        ("unknown-option", "[sockets.s]\ntype = \"pull\"\nendpoints = \">tcp://h:1\"\noptions = { sndhwn = 5 }\n[actors.a]\nkind = \"log\"\nsockets = { input = \"s\" }\n", "sockets.s.options: invalid option `sndhwn`: no such option"),
        ("bad-option-value", "[sockets.s]\ntype = \"pull\"\nendpoints = \">tcp://h:1\"\noptions = { linger = \"soon\" }\n[actors.a]\nkind = \"log\"\nsockets = { input = \"s\" }\n", "sockets.s.options: invalid option `linger`: `soon` is not a whole number"),
        ("bad-heartbeat", "[sockets.s]\ntype = \"pull\"\nendpoints = \">tcp://h:1\"\noptions = { heartbeat_ivl = 1000, heartbeat_ttl = 7000000 }\n[actors.a]\nkind = \"log\"\nsockets = { input = \"s\" }\n", "sockets.s.options: invalid option `heartbeat_ttl`: must be at most 6553.5 s"),
        ("wrong-type", "[actors.a]\nkind = \"log\"\ncount = \"many\"\n", "actors.a.count"),
        ("no-actors", "[sockets.s]\ntype = \"pull\"\nendpoints = \">tcp://h:1\"\n", "actors"),
        ("syntax", "[actors.a\nkind = 1\n", "(file)"),
    ];
    for (name, text, needle) in cases {
        let path = file(&format!("{name}.toml"), text);
        let err = load(&path, &kinds).unwrap_err().to_string();
        assert!(
            err.starts_with(&path.display().to_string()),
            "{name}: {err}"
        );
        assert!(err.contains(needle), "{name}: {err}");
    }
    let err = load(std::path::Path::new("/nonexistent/g.toml"), &kinds)
        .unwrap_err()
        .to_string();
    assert_eq!(err, "/nonexistent/g.toml: (file): no such file");
}

#[test]
fn the_environment_overrides_the_file_and_yaml_and_json_load_too() {
    let kinds = Kinds::builtin();
    let path = file(
        "env.toml",
        &GOOD.replace("[actors.sink]", "[actors.envsink]"),
    );
    std::env::set_var("ACTORMQ__ACTORS__ENVSINK__COUNT", "3");
    std::env::set_var("ACTORMQ__SOCKETS__IN__ENDPOINTS", ">tcp://10.0.0.1:5557");
    let spec = load(&path, &kinds).unwrap();
    std::env::remove_var("ACTORMQ__ACTORS__ENVSINK__COUNT");
    std::env::remove_var("ACTORMQ__SOCKETS__IN__ENDPOINTS");
    assert_eq!(spec.actors["envsink"].count, 3);
    assert_eq!(spec.sockets["in"].endpoints, ">tcp://10.0.0.1:5557");

    let yaml = file("g.yaml", "actors:\n  printer:\n    kind: log\n    sockets: { input: s }\nsockets:\n  s:\n    type: sub\n    endpoints: \">tcp://127.0.0.1:1\"\n");
    assert_eq!(load(&yaml, &kinds).unwrap().actors["printer"].kind, "log");
    let json = file(
        "g.json",
        r#"{"sockets": {"s": {"type": "rep", "endpoints": "@tcp://*:0"}}, "actors": {"e": {"kind": "echo", "sockets": {"socket": "s"}}}}"#,
    );
    assert_eq!(load(&json, &kinds).unwrap().sockets["s"].socket_type, "rep");
}

#[test]
fn kinds_registered_from_code_run_in_a_graph() {
    let mut kinds = Kinds::builtin();
    kinds.register("counter", &["output"], |actor| {
        Box::pin(async move {
            let out = actor.socket("output")?;
            for i in 0..500 {
                out.send(format!("{i}")).await?;
            }
            Ok(())
        })
    });
    let text = GOOD
        .replace("kind = \"bench-source\"", "kind = \"counter\"")
        .replace(
            "params = { messages = 2000 }",
            "params = { messages = 500 }",
        )
        .replace("inproc://graph-good", "inproc://graph-counter");
    let path = file("counter.toml", &text);
    let spec = load(&path, &kinds).unwrap();
    run(20, async move {
        run_fn(&spec, &kinds).await.unwrap();
    });
}

/// A derived subscriber, started by a kind registered from code; the graph's socket feeds it.
mod derived {
    use actix::prelude::*;
    use actormq::{Received, Topic};
    use serde::{Deserialize, Serialize};
    use tokio::sync::mpsc;

    #[derive(Serialize, Deserialize, Topic, Clone, Debug)]
    #[topic = "reading"]
    pub struct Reading {
        pub value: u32,
    }

    #[derive(actormq::Subscriber)]
    #[subscribe(Reading, connect = "inproc://graph-derived")]
    pub struct Counter {
        pub tx: mpsc::UnboundedSender<u32>,
    }

    impl Handler<Received<Reading>> for Counter {
        type Result = ();
        fn handle(&mut self, msg: Received<Reading>, _ctx: &mut Self::Context) {
            if let Ok(r) = msg.value {
                let _ = self.tx.send(r.value);
            }
        }
    }
}

#[test]
fn a_derived_actor_as_a_graph_kind() {
    use actix::Actor;
    use actormq::typed::Publisher;
    let mut kinds = Kinds::builtin();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    kinds.register("readings", &["output"], |actor| {
        Box::pin(async move {
            let out = Publisher::<derived::Reading>::new(actor.socket("output")?);
            for value in 0.. {
                out.publish(&derived::Reading { value }).await?;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            Ok(())
        })
    });
    kinds.register("counter", &[], move |actor| {
        let tx = tx.clone();
        Box::pin(async move {
            // the derived actor takes its endpoint from its attribute (or ACTORMQ__COUNTER__ENDPOINTS)
            let _name = actor.name;
            derived::Counter { tx }.start();
            std::future::pending::<()>().await;
            Ok(())
        })
    });
    let path = file(
        "derived.toml",
        "[sockets.feed]\ntype = \"pub\"\nendpoints = \"@inproc://graph-derived\"\n[actors.source]\nkind = \"readings\"\nsockets = { output = \"feed\" }\n[actors.count]\nkind = \"counter\"\n",
    );
    let spec = load(&path, &kinds).unwrap();
    run(20, async move {
        let graph = actix::spawn(async move { run_fn(&spec, &kinds).await });
        for _ in 0..3 {
            assert!(
                rx.recv().await.is_some(),
                "the derived subscriber got nothing"
            );
        }
        graph.abort();
    });
}

#[test]
fn the_readme_options_table_is_the_code_table() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let rows: Vec<Vec<&str>> = readme
        .lines()
        .filter(|l| l.starts_with("| `") && l.split('|').count() == 6)
        .map(|l| l.split('|').map(str::trim).collect())
        .collect();
    for def in actormq::OPTIONS
        .iter()
        .chain(actormq::security::SECURITY_OPTIONS)
    {
        let row = rows
            .iter()
            .find(|r| r[1] == format!("`{}`", def.name))
            .unwrap_or_else(|| panic!("README has no row for `{}`", def.name));
        let default = if def.default.is_empty() {
            "(empty)".to_string()
        } else {
            format!("`{}`", def.default)
        };
        assert_eq!(
            (row[2], row[3]),
            (def.unit, default.as_str()),
            "{}",
            def.name
        );
    }
}

/// The pipeline's sink skips a message that is not a result (any peer may send one), counts
/// it, and goes on until it has all its results: the graph ends with success, every time.
#[test]
fn a_malformed_message_does_not_stop_the_sink() {
    use actormq::typed::Publisher;
    use actormq::{Socket, SocketType, Topic};
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Topic, Clone, Debug)]
    #[topic = "squared"]
    struct Squared {
        id: u64,
        square: u64,
        worker: String,
    }

    let text = "[sockets.in]\ntype = \"sub\"\nendpoints = \">inproc://graph-sink-malformed\"\n\
                [actors.sink]\nkind = \"sink\"\nsockets = { input = \"in\" }\n\
                params = { tasks = 3 }\n";
    let path = file("sink-malformed.toml", text);
    let kinds = Kinds::builtin();
    let spec = load(&path, &kinds).unwrap();
    run(20, async move {
        let feed = Socket::new(SocketType::XPub).unwrap();
        feed.bind("inproc://graph-sink-malformed").await.unwrap();
        let graph = actix::spawn(async move { run_fn(&spec, &kinds).await });
        // the sink's subscription
        let sub = feed.recv().await.unwrap();
        assert_eq!(sub.frames()[0][0], 1);
        feed.send(["squared", "\u{1}not MessagePack"])
            .await
            .unwrap();
        feed.send(["squared"]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            !graph.is_finished(),
            "the graph stopped at a malformed message"
        );
        let results = Publisher::<Squared>::new(feed.clone());
        for id in 0..3 {
            results
                .publish(&Squared {
                    id,
                    square: id * id,
                    worker: "test".into(),
                })
                .await
                .unwrap();
        }
        graph.await.unwrap().unwrap();
    });
}

/// An actor that fails stops the graph, and the run ends with its error every time (not
/// with success when "stop" was seen before the failure).
#[test]
fn a_failing_actor_ends_the_run_with_its_error() {
    let mut kinds = Kinds::builtin();
    kinds.register("fails", &["output"], |_actor| {
        Box::pin(async move {
            Err(actormq::Error::Refused {
                socket_type: actormq::SocketType::Push,
                reason: "this kind always fails".into(),
            })
        })
    });
    let text = "[sockets.out]\ntype = \"push\"\nendpoints = \"@inproc://graph-fails\"\n\
                [sockets.in]\ntype = \"pull\"\nendpoints = \">inproc://graph-fails\"\n\
                [actors.bad]\nkind = \"fails\"\nsockets = { output = \"out\" }\n\
                [actors.printer]\nkind = \"log\"\nsockets = { input = \"in\" }\n";
    let path = file("fails.toml", text);
    let spec = load(&path, &kinds).unwrap();
    run(20, async move {
        let err = run_fn(&spec, &kinds).await.unwrap_err().to_string();
        assert!(err.contains("this kind always fails"), "{err}");
    });
}

/// The worker's `n * n` saturates at `u64::MAX` instead of overflowing (a panic in a debug
/// build, a wrong square in a release one) for a task from any peer.
#[test]
fn the_worker_square_saturates_for_a_huge_task() {
    use actormq::typed::{Publisher, Subscriber};
    use actormq::{Socket, SocketType, Topic};
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Topic, Clone, Debug)]
    #[topic = "task"]
    struct Task {
        id: u64,
        n: u64,
    }

    #[derive(Serialize, Deserialize, Topic, Clone, Debug)]
    #[topic = "squared"]
    struct Squared {
        id: u64,
        square: u64,
        worker: String,
    }

    let text = "[sockets.in]\ntype = \"sub\"\nendpoints = \">inproc://graph-worker-tasks\"\n\
                [sockets.out]\ntype = \"pub\"\nendpoints = \"@inproc://graph-worker-results\"\n\
                [actors.worker]\nkind = \"worker\"\nsockets = { input = \"in\", output = \"out\" }\n";
    let path = file("worker-huge.toml", text);
    let kinds = Kinds::builtin();
    let spec = load(&path, &kinds).unwrap();
    run(20, async move {
        let feed = Socket::new(SocketType::XPub).unwrap();
        feed.bind("inproc://graph-worker-tasks").await.unwrap();
        let _graph = actix::spawn(async move { run_fn(&spec, &kinds).await });
        let sub = feed.recv().await.unwrap();
        assert_eq!(sub.frames()[0][0], 1);
        let results = Socket::new(SocketType::Sub).unwrap();
        results
            .connect("inproc://graph-worker-results")
            .await
            .unwrap();
        let results = Subscriber::<Squared>::new(results, "").await.unwrap();
        let tasks = Publisher::<Task>::new(feed.clone());
        // until the results subscription has reached the worker's PUB, results are dropped
        let got = loop {
            tasks.publish(&Task { id: 1, n: u64::MAX }).await.unwrap();
            tasks.publish(&Task { id: 2, n: 3 }).await.unwrap();
            if let Ok(Ok(got)) =
                tokio::time::timeout(std::time::Duration::from_millis(100), results.recv()).await
            {
                break got.value.unwrap();
            }
        };
        let second = results.recv().await.unwrap().value.unwrap();
        let mut squares = [(got.id, got.square), (second.id, second.square)];
        squares.sort();
        assert_eq!(squares, [(1, u64::MAX), (2, 9)]);
    });
}

#[test]
fn a_graph_runs_over_curve_with_its_secrets_in_files_and_the_environment() {
    use actormq::security::{write_certificate, CurveKeyPair};
    let dir = std::env::temp_dir().join(format!("actormq-graph-curve-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    let server = CurveKeyPair::generate();
    write_certificate(dir.join("keys/server"), &server).unwrap();
    let client = CurveKeyPair::generate();
    std::env::set_var("ACTORMQ_TEST_GRAPH_CLIENT", client.secret.to_z85().as_str());
    let port = free_port();
    let text = format!(
        r#"
[sockets.out]
type = "push"
endpoints = ">tcp://127.0.0.1:{port}"
options = {{ curve_serverkey = "{}", curve_secretkey_env = "ACTORMQ_TEST_GRAPH_CLIENT" }}

[sockets.in]
type = "pull"
endpoints = "@tcp://127.0.0.1:{port}"
options = {{ curve_server = true, curve_secretkey_file = "keys/server" }}

[actors.source]
kind = "bench-source"
sockets = {{ output = "out" }}
params = {{ messages = 500, size = 32 }}

[actors.sink]
kind = "bench-sink"
sockets = {{ input = "in" }}
params = {{ messages = 500 }}
"#,
        server.public.to_z85()
    );
    // the relative key path is the graph file's, not the working directory's
    let path = dir.join("graph.toml");
    std::fs::write(&path, text).unwrap();
    let kinds = Kinds::builtin();
    let spec = load(&path, &kinds).unwrap();
    run(20, async move {
        run_fn(&spec, &kinds).await.unwrap();
    });
    // a CURVE server without its key is refused at load, naming the socket
    let broken = dir.join("broken.toml");
    std::fs::write(
        &broken,
        "[sockets.s]\ntype = \"pull\"\nendpoints = \"@tcp://127.0.0.1:1\"\noptions = { curve_server = true }\n[actors.a]\nkind = \"log\"\nsockets = { input = \"s\" }\n",
    )
    .unwrap();
    let e = load(&broken, &Kinds::builtin()).unwrap_err().to_string();
    assert!(
        e.contains("sockets.s.options") && e.contains("secret key"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
