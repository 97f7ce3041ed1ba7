//! Pipeline workers: pull typed tasks, work on them, push typed results downstream.

use std::marker::PhantomData;

use actix::{Actor, Addr, Handler, Message};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::typed::{encode, Encoding, Subscriber, Topic};
use crate::{Result, Socket};

/// A task for a worker actor: it answers with the result (`type Result = MessageResult<Work<In,
/// Out>>`, or a future of one when the work waits on something).
pub struct Work<In, Out>(pub In, PhantomData<fn() -> Out>);

impl<In: std::fmt::Debug, Out> std::fmt::Debug for Work<In, Out> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Work").field(&self.0).finish()
    }
}

impl<In, Out> Work<In, Out> {
    /// Wraps a task.
    pub fn new(task: In) -> Self {
        Work(task, PhantomData)
    }
}

impl<In: 'static, Out: 'static> Message for Work<In, Out> {
    type Result = Out;
}

/// Pulls `In` tasks from `input` (a PULL), has `actor` work on up to `concurrency` of them at
/// once, and pushes each `Out` to `output` (a PUSH) as `[topic, MessagePack]`. Tasks that do not
/// decode are logged and skipped. Returns when the input closes or the actor stops.
pub async fn run_worker<In, Out, A>(
    input: Socket,
    output: Socket,
    actor: Addr<A>,
    concurrency: usize,
) -> Result<()>
where
    In: DeserializeOwned + Send + 'static,
    Out: Serialize + Topic + Send + 'static,
    A: Actor + Handler<Work<In, Out>>,
    A::Context: actix::dev::ToEnvelope<A, Work<In, Out>>,
{
    let tasks = Subscriber::<In>::new(input, "").await?.into_stream();
    let mut results = tasks
        .filter_map(|got| std::future::ready(got.value.ok()))
        .map(|task| actor.send(Work::new(task)))
        .buffer_unordered(concurrency.max(1));
    while let Some(result) = results.next().await {
        let Ok(out) = result else {
            return Ok(()); // the actor stopped
        };
        match encode(&out, Encoding::Named) {
            Ok(payload) => output.send([Bytes::from(out.topic()), payload]).await?,
            // one result that cannot be encoded is lost, not the pipeline
            Err(e) => tracing::warn!(error = %e, "a worker's result was dropped"),
        }
    }
    Ok(())
}
