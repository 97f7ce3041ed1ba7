//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use actormq::{Multipart, Socket, SocketEvent};
use tokio::sync::{broadcast, oneshot};

/// Runs a test body in an actix System, failing it if it takes longer than `secs`.
pub fn run<F: Future<Output = ()> + 'static>(secs: u64, body: F) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    actix::System::new().block_on(async move {
        tokio::time::timeout(Duration::from_secs(secs), body)
            .await
            .expect("test timed out");
    });
}

/// The next message, or None after `ms` milliseconds.
pub async fn recv_within(socket: &Socket, ms: u64) -> Option<Multipart> {
    tokio::time::timeout(Duration::from_millis(ms), socket.recv())
        .await
        .ok()
        .map(|r| r.expect("recv"))
}

/// Waits for `n` completed handshakes on a monitor.
pub async fn handshakes(monitor: &mut broadcast::Receiver<SocketEvent>, n: usize) {
    let mut seen = 0;
    while seen < n {
        if let SocketEvent::HandshakeSucceeded { .. } = monitor.recv().await.expect("monitor") {
            seen += 1;
        }
    }
}

/// The next `Disconnected` reason on a monitor.
pub async fn disconnect_reason(monitor: &mut broadcast::Receiver<SocketEvent>) -> String {
    loop {
        if let SocketEvent::Disconnected { reason, .. } = monitor.recv().await.expect("monitor") {
            return reason.to_string();
        }
    }
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Text of a frame.
pub fn text(frame: &[u8]) -> String {
    String::from_utf8_lossy(frame).into_owned()
}

/// Publishes a probe on `topic` until `sub` receives one: the subscription has then reached
/// the publisher. Probes carry the body `probe`; callers ignore such messages.
pub async fn sync_subscription(publisher: &Socket, sub: &Socket, topic: &str) {
    loop {
        publisher
            .send([topic.to_string(), "probe".to_string()])
            .await
            .unwrap();
        if let Some(m) = recv_within(sub, 30).await {
            if m.frames().get(1).is_some_and(|f| f == "probe") {
                return;
            }
        }
    }
}

/// Runs `f` on its own thread with a libzmq context; the result arrives on the receiver.
pub fn libzmq<T: Send + 'static>(
    f: impl FnOnce(&zmq::Context) -> T + Send + 'static,
) -> oneshot::Receiver<T> {
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        let ctx = zmq::Context::new();
        let _ = tx.send(f(&ctx));
    });
    rx
}

#[derive(Clone, Copy, Debug)]
pub enum Side {
    /// actormq binds, libzmq connects.
    WeBind,
    /// libzmq binds, actormq connects.
    TheyBind,
}
