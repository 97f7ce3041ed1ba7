//! The ZeroMQ guide's parallel pipeline, typed: a ventilator pushes tasks, `#[derive(Worker)]`
//! workers pull them (several at once each) and push results, a sink collects them.
//!
//! ```text
//! cargo run --example task_pipeline
//! ```
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actormq::typed::{Publisher, Subscriber, Work};
use actormq::{Socket, SocketEvent, SocketType, Topic};
use serde::{Deserialize, Serialize};

/// A task: sleep this long.
#[derive(Serialize, Deserialize, Topic, Debug, Clone)]
#[topic = "task"]
pub struct Task {
    pub id: u32,
    pub workload_ms: u64,
}

/// A finished task and who did it.
#[derive(Serialize, Deserialize, Topic, Debug, Clone)]
#[topic = "done"]
pub struct Done {
    pub id: u32,
    pub worker: String,
}

/// A worker: four tasks at a time.
#[derive(actormq::Worker)]
#[worker(input = Task, output = Done, pull = ">tcp://127.0.0.1:15558", push = "tcp://127.0.0.1:15559", concurrency = 4)]
pub struct Crunch {
    pub name: String,
}

impl Handler<Work<Task, Done>> for Crunch {
    type Result = ResponseFuture<Done>;

    fn handle(&mut self, work: Work<Task, Done>, _ctx: &mut Self::Context) -> Self::Result {
        let worker = self.name.clone();
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(work.0.workload_ms)).await;
            Done {
                id: work.0.id,
                worker,
            }
        })
    }
}

/// Runs `tasks` tasks through `workers` workers; returns how many each did, and the time.
pub async fn demo(
    workers: usize,
    tasks: u32,
) -> actormq::Result<(BTreeMap<String, u32>, Duration)> {
    let sink_socket = Socket::new(SocketType::Pull)?;
    sink_socket.bind("tcp://127.0.0.1:15559").await?;
    let sink = Subscriber::<Done>::new(sink_socket, "").await?;
    let ventilator = Publisher::<Task>::new(Socket::new(SocketType::Push)?);
    let mut monitor = ventilator.socket().monitor();
    ventilator.socket().bind("tcp://127.0.0.1:15558").await?;
    for w in 0..workers {
        Crunch {
            name: format!("worker-{w}"),
        }
        .start();
    }
    // send only once every worker is connected, so that the work is spread over all
    let mut ready = 0;
    while ready < workers {
        if let Ok(SocketEvent::HandshakeSucceeded { .. }) = monitor.recv().await {
            ready += 1;
        }
    }
    let start = Instant::now();
    for id in 0..tasks {
        ventilator
            .publish(&Task {
                id,
                workload_ms: 1 + u64::from(id % 10),
            })
            .await?;
    }
    let mut per_worker = BTreeMap::new();
    for _ in 0..tasks {
        let done = sink.recv().await?.value?;
        *per_worker.entry(done.worker).or_insert(0) += 1;
    }
    let elapsed = start.elapsed();
    let total: u64 = (0..tasks).map(|id| 1 + u64::from(id % 10)).sum();
    println!(
        "{tasks} tasks, {total} ms of work, done in {} ms by {per_worker:?}",
        elapsed.as_millis()
    );
    Ok((per_worker, elapsed))
}

#[actix::main]
async fn main() {
    if let Err(e) = demo(3, 100).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
