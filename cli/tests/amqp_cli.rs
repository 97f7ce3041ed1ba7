//! The CLI over RabbitMQ: `push`/`pull` and `req`/`rep` through `amqp://...?queue=`, and the
//! demonstration graph `examples/pipeline.toml` run over RabbitMQ with only its endpoints
//! changed (from the environment, as a deployment would).
#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

#[path = "../../tests/common/brokers.rs"]
mod brokers;
mod common;

use std::time::{Duration, Instant};

use brokers::*;
use common::*;

fn unique(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{what}-{}-{nanos}", std::process::id())
}

#[test]
fn push_pull_and_req_rep_through_rabbitmq() {
    let Some(server) = BrokerServer::any(Broker::Amqp) else {
        return skip_without("rabbitmq-server");
    };
    let tasks = format!("{}?queue={}", server.endpoint(), unique("cli-tasks"));
    // the queue keeps the work until a puller comes
    let out = run_with(
        &["push", "--connect", &tasks, "--raw"],
        "resize\t cat.png\nfeed\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, out, err) = spawn(&["pull", "--connect", &tasks, "--raw", "--count", "2"]).finish();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "resize\t cat.png\nfeed\n");

    let svc = format!("{}?queue={}", server.endpoint(), unique("cli-echo"));
    let rep = spawn(&["rep", "--connect", &svc, "--echo", "--raw", "--count", "2"]);
    let out = run_with(&["req", "--connect", &svc, "--raw"], "cats\nhats\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "cats\nhats\n");
    let (code, _, err) = rep.finish();
    assert_eq!(code, 0, "{err}");
}

#[test]
fn the_pipeline_graph_runs_over_rabbitmq_by_changing_only_its_endpoints() {
    let Some(server) = BrokerServer::any(Broker::Amqp) else {
        return skip_without("rabbitmq-server");
    };
    let (tasks, results) = (unique("pipeline-tasks"), unique("pipeline-results"));
    let broker = server.endpoint();
    let endpoint = |queue: &str| format!(">{broker}?queue={queue}");
    let tasks_n = "5000";
    let mut command = actormq();
    command
        .args(["run", "../examples/pipeline.toml"])
        // the four sockets' endpoints, from tcp:// to amqp://
        .env("ACTORMQ__SOCKETS__TASKS_OUT__ENDPOINTS", endpoint(&tasks))
        .env("ACTORMQ__SOCKETS__TASKS_IN__ENDPOINTS", endpoint(&tasks))
        .env(
            "ACTORMQ__SOCKETS__RESULTS_OUT__ENDPOINTS",
            endpoint(&results),
        )
        .env(
            "ACTORMQ__SOCKETS__RESULTS_IN__ENDPOINTS",
            endpoint(&results),
        )
        // fewer tasks than the 200 000 of the file, to keep a debug-build test short
        .env("ACTORMQ__ACTORS__VENTILATOR__PARAMS__TASKS", tasks_n)
        .env("ACTORMQ__ACTORS__SINK__PARAMS__TASKS", tasks_n);
    let mut running = spawn_command(command);
    let deadline = Instant::now() + Duration::from_secs(120);
    while running.child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the graph did not finish: {}",
            running.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, out, err) = running.finish();
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("sink: done: {tasks_n} results in")),
        "{out}"
    );
}
