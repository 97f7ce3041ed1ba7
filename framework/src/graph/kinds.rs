//! Actor kinds a graph can name: built-in ones, and any registered from code.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::typed::{Publisher, Subscriber, Topic};
use crate::{Error, Result, Socket};

/// What a kind's instance runs: it returns when its work is done (or never).
pub type KindFuture = Pin<Box<dyn Future<Output = Result<()>>>>;

type KindFn = Arc<dyn Fn(ActorInstance) -> KindFuture + Send + Sync>;

/// One instance of an actor of the graph, as its kind gets it.
#[derive(Debug)]
pub struct ActorInstance {
    /// The actor's name in the graph.
    pub name: String,
    /// Which of its `count` instances this is (from 0).
    pub index: usize,
    /// Its sockets by role, bound and connected as the graph says.
    pub sockets: BTreeMap<String, Socket>,
    /// Its `params`.
    pub params: BTreeMap<String, serde_json::Value>,
    pub(crate) stop: Arc<Notify>,
}

impl ActorInstance {
    /// The socket of a role (the graph's checks guarantee the kind's required roles).
    pub fn socket(&self, role: &str) -> Result<Socket> {
        self.sockets
            .get(role)
            .cloned()
            .ok_or_else(|| Error::Refused {
                socket_type: crate::SocketType::Pair,
                reason: format!("actor {} has no `{role}` socket", self.name),
            })
    }

    /// A numeric parameter, or `default`.
    pub fn param_u64(&self, key: &str, default: u64) -> u64 {
        self.params
            .get(key)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(default)
    }

    /// Stops the whole graph (a sink that has seen everything).
    pub fn stop_graph(&self) {
        self.stop.notify_one();
    }
}

/// A kind: the socket roles it needs, and what an instance does.
#[derive(Clone)]
pub struct Kind {
    /// Roles it needs.
    pub roles: &'static [&'static str],
    /// Roles it may have.
    pub optional: &'static [&'static str],
    run: KindFn,
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kind")
            .field("roles", &self.roles)
            .field("optional", &self.optional)
            .finish_non_exhaustive()
    }
}

/// The kinds a graph may name.
///
/// ```
/// use actormq::graph::Kinds;
///
/// let mut kinds = Kinds::builtin();
/// kinds.register("count-to-ten", &["output"], |actor| Box::pin(async move {
///     let out = actor.socket("output")?;
///     for i in 0..10 {
///         out.send(i.to_string()).await?;
///     }
///     Ok(())
/// }));
/// assert!(kinds.names().contains(&"count-to-ten".to_string()));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Kinds(BTreeMap<String, Kind>);

impl Kinds {
    /// The built-in kinds: `proxy` (also named `queue`, `forwarder` and `streamer`: which one
    /// it is depends on the socket types the graph gives it), `relay`, `echo`, `log`,
    /// `bench-source`, `bench-sink`, and the typed pipeline `ventilator` → `worker` → `sink`.
    pub fn builtin() -> Self {
        let mut k = Kinds::default();
        for name in ["proxy", "queue", "forwarder", "streamer"] {
            k.add(name, &["frontend", "backend"], &["capture"], |a| {
                Box::pin(proxy(a))
            });
        }
        k.register("relay", &["input", "output"], |a| Box::pin(relay(a)));
        k.register("echo", &["socket"], |a| Box::pin(echo(a)));
        k.register("log", &["input"], |a| Box::pin(log(a)));
        k.register("bench-source", &["output"], |a| Box::pin(bench_source(a)));
        k.register("bench-sink", &["input"], |a| Box::pin(bench_sink(a)));
        k.register("ventilator", &["output"], |a| Box::pin(ventilator(a)));
        k.register("worker", &["input", "output"], |a| Box::pin(worker(a)));
        k.register("sink", &["input"], |a| Box::pin(sink(a)));
        k
    }

    fn add(
        &mut self,
        name: &str,
        roles: &'static [&'static str],
        optional: &'static [&'static str],
        run: impl Fn(ActorInstance) -> KindFuture + Send + Sync + 'static,
    ) {
        self.0.insert(
            name.to_string(),
            Kind {
                roles,
                optional,
                run: Arc::new(run),
            },
        );
    }

    /// Registers (or replaces) a kind: the socket roles it needs and what an instance does —
    /// a loop of its own, or starting an actor (a derived one too) and returning when it is
    /// done.
    pub fn register(
        &mut self,
        name: &str,
        roles: &'static [&'static str],
        run: impl Fn(ActorInstance) -> KindFuture + Send + Sync + 'static,
    ) {
        self.add(name, roles, &[], run);
    }

    /// A kind by name.
    pub fn get(&self, name: &str) -> Option<&Kind> {
        self.0.get(name)
    }

    /// The names of all kinds.
    pub fn names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }

    pub(crate) fn start(&self, kind: &str, actor: ActorInstance) -> Option<KindFuture> {
        self.0.get(kind).map(|k| (k.run)(actor))
    }
}

async fn proxy(a: ActorInstance) -> Result<()> {
    let capture = a.sockets.get("capture").cloned();
    crate::proxy(a.socket("frontend")?, a.socket("backend")?, capture).await
}

async fn relay(a: ActorInstance) -> Result<()> {
    let (input, output) = (a.socket("input")?, a.socket("output")?);
    loop {
        output.send(input.recv().await?).await?;
    }
}

async fn echo(a: ActorInstance) -> Result<()> {
    let s = a.socket("socket")?;
    loop {
        let m = s.recv().await?;
        s.send(m).await?;
    }
}

async fn log(a: ActorInstance) -> Result<()> {
    let s = a.socket("input")?;
    loop {
        let m = s.recv().await?;
        println!("{}", log_line(&a.name, &m));
    }
}

/// The line the `log` kind prints for a message: its frames separated by tabs, each shown
/// with control characters, tabs, backslashes and bytes that are not UTF-8 escaped, so that
/// a peer cannot forge lines or send escape sequences to the operator's terminal.
fn log_line(name: &str, m: &crate::Multipart) -> String {
    let frames: Vec<String> = m
        .iter()
        .map(|f| match std::str::from_utf8(f) {
            Ok(text) => text
                .chars()
                .map(|c| {
                    if c.is_control() || c == '\\' {
                        c.escape_default().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
            Err(_) => f.escape_ascii().to_string(),
        })
        .collect();
    format!("{name}: {}", frames.join("\t"))
}

async fn bench_source(a: ActorInstance) -> Result<()> {
    let out = a.socket("output")?;
    let (n, size) = (
        a.param_u64("messages", 100_000),
        a.param_u64("size", 16) as usize,
    );
    let payload = vec![0x5a_u8; size];
    for _ in 0..n {
        out.send(payload.clone()).await?;
    }
    Ok(())
}

/// Counts messages, prints progress and the throughput; stops the graph at the end.
async fn count_and_report<F, Fut>(
    a: &ActorInstance,
    expected: u64,
    what: &str,
    mut next: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize>>,
{
    let step = (expected / 10).max(1);
    let mut start = None;
    let mut bytes = 0usize;
    for i in 1..=expected {
        bytes += next().await?;
        let t0 = *start.get_or_insert_with(Instant::now);
        if i % step == 0 || i == expected {
            let secs = t0.elapsed().as_secs_f64().max(1e-9);
            println!(
                "{}: {i}/{expected} {what} ({:.0} msg/s)",
                a.name,
                i as f64 / secs
            );
        }
    }
    let secs = start.map_or(0.0, |t| t.elapsed().as_secs_f64()).max(1e-9);
    let rate = expected as f64 / secs;
    let volume = if bytes > 0 {
        format!(", {:.1} MB/s", bytes as f64 / secs / 1e6)
    } else {
        String::new()
    };
    println!(
        "{}: done: {expected} {what} in {secs:.3} s: {rate:.0} msg/s{volume}",
        a.name
    );
    a.stop_graph();
    Ok(())
}

async fn bench_sink(a: ActorInstance) -> Result<()> {
    let input = a.socket("input")?;
    let expected = a.param_u64("messages", 100_000);
    count_and_report(&a, expected, "messages", || async {
        Ok(input.recv().await?.byte_len())
    })
    .await
}

/// A task of the demonstration pipeline: square `n`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Task {
    /// Which task.
    pub id: u64,
    /// The number to square.
    pub n: u64,
}

impl Topic for Task {
    const PREFIX: &'static str = "task";
}

/// A finished task.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Squared {
    /// Which task.
    pub id: u64,
    /// `n * n`, saturated: `u64::MAX` when the square does not fit (`n` above `u32::MAX`).
    pub square: u64,
    /// Which worker.
    pub worker: String,
}

impl Topic for Squared {
    const PREFIX: &'static str = "squared";
}

async fn ventilator(a: ActorInstance) -> Result<()> {
    let out = Publisher::<Task>::new(a.socket("output")?);
    for id in 0..a.param_u64("tasks", 100_000) {
        out.publish(&Task { id, n: id % 1000 }).await?;
    }
    Ok(())
}

async fn worker(a: ActorInstance) -> Result<()> {
    let input = Subscriber::<Task>::new(a.socket("input")?, "").await?;
    let output = Publisher::<Squared>::new(a.socket("output")?);
    let me = format!("{}-{}", a.name, a.index);
    loop {
        if let Ok(task) = input.recv().await?.value {
            output
                .publish(&Squared {
                    id: task.id,
                    square: square(task.n),
                    worker: me.clone(),
                })
                .await?;
        }
    }
}

/// The worker's answer: `n * n`, or `u64::MAX` when that does not fit in a `u64` (a task
/// from a peer other than the ventilator may carry any `n`).
fn square(n: u64) -> u64 {
    n.saturating_mul(n)
}

/// Counts results until it has `tasks` of them. A message that is not a `Squared` (any peer
/// may send one) is logged and counted as malformed, not as a result, and the sink goes on:
/// one bad message does not stop the graph.
async fn sink(a: ActorInstance) -> Result<()> {
    let input = Subscriber::<Squared>::new(a.socket("input")?, "").await?;
    let expected = a.param_u64("tasks", 100_000);
    let malformed = std::cell::Cell::new(0u64);
    count_and_report(&a, expected, "results", || async {
        loop {
            let got = input.recv().await?;
            match got.value {
                Ok(_) => return Ok(0),
                Err(e) => {
                    malformed.set(malformed.get() + 1);
                    tracing::warn!(
                        actor = %a.name,
                        peer = %got.peer,
                        error = %e,
                        malformed = malformed.get(),
                        "sink: skipped a message that is not a result"
                    );
                }
            }
        }
    })
    .await?;
    if malformed.get() > 0 {
        println!("{}: skipped {} malformed messages", a.name, malformed.get());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{log_line, square};
    use crate::Multipart;

    #[test]
    fn log_lines_escape_what_a_peer_could_use_against_the_terminal() {
        let m = Multipart::from(vec![
            bytes::Bytes::from_static(b"t\n2026 forged line\x1b[2J\tx\\"),
            bytes::Bytes::from_static(b"caf\xc3\xa9"),
            bytes::Bytes::from_static(b"\xff\x1b"),
        ]);
        assert_eq!(
            log_line("a", &m),
            "a: t\\n2026 forged line\\u{1b}[2J\\tx\\\\\tcaf\u{e9}\t\\xff\\x1b"
        );
    }

    #[test]
    fn the_square_saturates_instead_of_overflowing() {
        assert_eq!(square(1000), 1_000_000);
        assert_eq!(
            square(u64::from(u32::MAX)),
            u64::from(u32::MAX) * u64::from(u32::MAX)
        );
        assert_eq!(square(u64::from(u32::MAX) + 1), u64::MAX);
        assert_eq!(square(u64::MAX), u64::MAX);
    }
}
