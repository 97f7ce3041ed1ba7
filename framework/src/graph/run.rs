//! Running a graph.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::graph::{ActorInstance, GraphSpec, Kinds};
use crate::{Error, Result, Socket, SocketType};

/// Starts every actor instance of the graph with its own sockets, then runs until Ctrl-C,
/// SIGTERM, an actor stopping the graph, or every actor returning; then closes every socket,
/// delivering what is queued within its `linger` (a second Ctrl-C or SIGTERM stops waiting). An actor that fails stops the graph with its
/// error.
pub async fn run(spec: &GraphSpec, kinds: &Kinds) -> Result<()> {
    let stop = Arc::new(Notify::new());
    // The first actor failure, kept so that the graph's outcome does not depend on which of
    // "an actor failed" and "the graph was told to stop" is seen first.
    let failed: Arc<Mutex<Option<Error>>> = Arc::default();
    let mut all_sockets = Vec::new();
    let mut tasks = Vec::new();
    for (name, actor) in &spec.actors {
        for index in 0..actor.count {
            let mut sockets = BTreeMap::new();
            for (role, socket_name) in &actor.sockets {
                let template = &spec.sockets[socket_name];
                // checked when the graph was loaded
                let socket_type: SocketType =
                    template.socket_type.parse().map_err(|e| Error::Refused {
                        socket_type: SocketType::Pair,
                        reason: format!("{e}"),
                    })?;
                let socket = Socket::with_options(socket_type, template.options.to_options()?)?;
                // named for the metrics: its socket in the graph file, and its actor instance
                socket.set_name(format!("{socket_name}/{name}[{index}]"));
                let endpoints = crate::parse_endpoint_list(&template.endpoints, socket_type)?;
                crate::typed::attach(&socket, &endpoints).await?;
                all_sockets.push(socket.clone());
                sockets.insert(role.clone(), socket);
            }
            let instance = ActorInstance {
                name: name.clone(),
                index,
                sockets,
                params: actor.params.clone(),
                stop: stop.clone(),
            };
            if let Some(fut) = kinds.start(&actor.kind, instance) {
                let (name, stop, failed) = (name.clone(), stop.clone(), failed.clone());
                tasks.push(actix::spawn(async move {
                    match fut.await {
                        // its sockets were closed: the graph is shutting down
                        Err(Error::Closed(_)) | Ok(()) => {}
                        Err(e) => {
                            tracing::error!(actor = %name, error = %e, "actor failed: stopping the graph");
                            failed
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .get_or_insert(e);
                            stop.notify_one();
                        }
                    }
                }));
            }
        }
    }
    let all_done = futures_util::future::join_all(tasks);
    let mut sigterm = terminate_signal();
    tokio::select! {
        _ = all_done => {}
        _ = stop.notified() => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = sigterm.recv() => {}
    };
    let outcome = match failed.lock().unwrap_or_else(|e| e.into_inner()).take() {
        Some(e) => Err(e),
        None => Ok(()),
    };
    // Each socket delivers what is queued within its linger; a second Ctrl-C or SIGTERM
    // stops waiting (a socket whose linger is forever, with a peer that is gone, would
    // otherwise hold the process).
    let close_all = async {
        for s in &all_sockets {
            s.close().await;
        }
    };
    tokio::select! {
        _ = close_all => {}
        _ = tokio::signal::ctrl_c() => tracing::warn!("second interrupt: not waiting for queued messages"),
        _ = sigterm.recv() => tracing::warn!("second SIGTERM: not waiting for queued messages"),
    }
    outcome
}

#[cfg(unix)]
fn terminate_signal() -> tokio::sync::mpsc::Receiver<()> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        actix::spawn(async move {
            s.recv().await;
            let _ = tx.send(()).await;
        });
    }
    rx
}

#[cfg(not(unix))]
fn terminate_signal() -> tokio::sync::mpsc::Receiver<()> {
    tokio::sync::mpsc::channel(1).1
}
