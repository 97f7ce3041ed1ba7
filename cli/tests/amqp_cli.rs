//! The CLI over RabbitMQ: `push`/`pull` and `req`/`rep` through `amqp://...?queue=`, and the
//! demonstration graph `examples/pipeline.toml` run as it is (tcp://) and over RabbitMQ with
//! only its endpoints changed (from the environment, as a deployment would).
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

/// The task count both runs of the pipeline use: fewer than the file's 200 000, to keep a
/// debug-build test short (the README gives the full run over RabbitMQ, in release).
const PIPELINE_TASKS: &str = "5000";

/// Runs `examples/pipeline.toml` with `env` set and the task count lowered to
/// [`PIPELINE_TASKS`]; returns its output, once it has finished successfully.
fn run_pipeline(env: &[(&str, String)]) -> String {
    let mut command = actormq();
    command
        .args(["run", "../examples/pipeline.toml"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("ACTORMQ__ACTORS__VENTILATOR__PARAMS__TASKS", PIPELINE_TASKS)
        .env("ACTORMQ__ACTORS__SINK__PARAMS__TASKS", PIPELINE_TASKS);
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
        out.contains(&format!("sink: done: {PIPELINE_TASKS} results in")),
        "{out}"
    );
    out
}

#[test]
fn the_pipeline_graph_runs_over_tcp_and_over_rabbitmq_by_changing_only_its_endpoints() {
    let Some(server) = BrokerServer::any(Broker::Amqp) else {
        return skip_without("rabbitmq-server");
    };
    // as the file is: tcp://
    run_pipeline(&[]);
    // the same, with the four sockets' endpoints moved to amqp://
    let (tasks, results) = (unique("pipeline-tasks"), unique("pipeline-results"));
    let broker = server.endpoint();
    let endpoint = |queue: &str| format!(">{broker}?queue={queue}");
    run_pipeline(&[
        ("ACTORMQ__SOCKETS__TASKS_OUT__ENDPOINTS", endpoint(&tasks)),
        ("ACTORMQ__SOCKETS__TASKS_IN__ENDPOINTS", endpoint(&tasks)),
        (
            "ACTORMQ__SOCKETS__RESULTS_OUT__ENDPOINTS",
            endpoint(&results),
        ),
        (
            "ACTORMQ__SOCKETS__RESULTS_IN__ENDPOINTS",
            endpoint(&results),
        ),
    ]);
}
