//! Broker servers for tests: started here when installed, skipped with a reason when not (or
//! failed, when `ACTORMQ_REQUIRE_BROKERS` says they must be there, as in CI). Shared by the
//! root tests and the CLI's (`#[path]`).
#![allow(dead_code)]

use std::time::Duration;

/// A Redis server for a test: the one `ACTORMQ_REDIS_PORT` names (CI starts it), else one
/// started here on a free port (stopped when dropped), else none: the caller skips, saying
/// why, unless `ACTORMQ_REQUIRE_BROKERS` is set (CI), which makes a missing server a failure.
pub struct RedisServer {
    pub port: u16,
    child: Option<std::process::Child>,
}

impl RedisServer {
    /// A server the test may restart (always its own): `None` when `redis-server` is missing.
    pub fn own() -> Option<RedisServer> {
        // another test may take the same free port first: then its server exits, and we retry
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .ok()?
                .local_addr()
                .ok()?
                .port();
            let mut server = RedisServer { port, child: None };
            if !server.start() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
            let alive = server
                .child
                .as_mut()
                .is_some_and(|c| c.try_wait().ok().flatten().is_none());
            if alive {
                return Some(server);
            }
            server.child = None;
        }
        panic!("no free port for redis-server after 5 tries");
    }

    /// The CI's server, or one of the test's own.
    pub fn any() -> Option<RedisServer> {
        if let Some(port) = std::env::var("ACTORMQ_REDIS_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
        {
            return Some(RedisServer { port, child: None });
        }
        RedisServer::own()
    }

    /// Starts `redis-server` on `self.port`; false when it is not installed.
    pub fn start(&mut self) -> bool {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn();
        let Ok(child) = child else { return false };
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    /// Stops a server this test started.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn endpoint(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Says why a broker test did not run, or fails it when brokers are required (CI).
pub fn skip_without(what: &str) {
    if std::env::var_os("ACTORMQ_REQUIRE_BROKERS").is_some() {
        panic!("{what} is required (ACTORMQ_REQUIRE_BROKERS is set) but not available");
    }
    eprintln!(
        "SKIPPED: {what} is not installed here (apt-get install {what}); this test did not run"
    );
}
