//! Broker servers for tests: started here when installed, skipped with a reason when not (or
//! failed, when `ACTORMQ_REQUIRE_BROKERS` says they must be there, as in CI). Shared by the
//! root tests and the CLI's (`#[path]`).
#![allow(dead_code)]

use std::time::Duration;

/// The brokers the tests run against.
#[derive(Clone, Copy, Debug)]
pub enum Broker {
    Redis,
    Nats,
    Amqp,
}

impl Broker {
    /// The server's program (a Debian package of the same name).
    pub fn program(self) -> &'static str {
        match self {
            Broker::Redis => "redis-server",
            Broker::Nats => "nats-server",
            Broker::Amqp => "rabbitmq-server",
        }
    }

    /// How to start the server: RabbitMQ's own start script rather than Debian's wrapper,
    /// which runs it through `su` (and would not stop with the process we started).
    fn command(self) -> &'static str {
        const RABBITMQ: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";
        match self {
            Broker::Amqp if std::path::Path::new(RABBITMQ).exists() => RABBITMQ,
            other => other.program(),
        }
    }

    fn args(self, port: u16) -> Vec<String> {
        let nats_dir = std::env::temp_dir()
            .join(format!("actormq-nats-{port}"))
            .display()
            .to_string();
        let port = port.to_string();
        let args: &[&str] = match self {
            Broker::Redis => &[
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            // with JetStream, storing in a directory of its own
            Broker::Nats => &["-a", "127.0.0.1", "-p", &port, "-js", "-sd", &nats_dir],
            Broker::Amqp => &[],
        };
        args.iter().map(|a| a.to_string()).collect()
    }

    /// RabbitMQ takes its settings from the environment: its port, a node name, a distribution
    /// port and a data directory of its own. (Its start script stops the broker on SIGTERM:
    /// see [`BrokerServer::stop`].)
    fn env(self, port: u16) -> Vec<(String, String)> {
        let Broker::Amqp = self else {
            return Vec::new();
        };
        let dir = rabbitmq_dir(port);
        let dist = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_or(port.wrapping_add(1), |a| a.port());
        [
            ("RABBITMQ_NODE_PORT", port.to_string()),
            ("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1".into()),
            ("RABBITMQ_NODENAME", format!("actormq{port}@localhost")),
            ("RABBITMQ_DIST_PORT", dist.to_string()),
            ("RABBITMQ_MNESIA_BASE", format!("{dir}/mnesia")),
            ("RABBITMQ_LOG_BASE", format!("{dir}/log")),
            ("RABBITMQ_ENABLED_PLUGINS_FILE", format!("{dir}/plugins")),
            ("RABBITMQ_CONFIG_FILE", format!("{dir}/none")),
            (
                "RABBITMQ_ADVANCED_CONFIG_FILE",
                format!("{dir}/advanced.config"),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The variable naming a server CI started.
    fn port_var(self) -> &'static str {
        match self {
            Broker::Redis => "ACTORMQ_REDIS_PORT",
            Broker::Nats => "ACTORMQ_NATS_PORT",
            Broker::Amqp => "ACTORMQ_AMQP_PORT",
        }
    }

    fn scheme(self) -> &'static str {
        match self {
            Broker::Redis => "redis",
            Broker::Nats => "nats",
            Broker::Amqp => "amqp",
        }
    }
}

/// A broker server for a test: the one CI started (`ACTORMQ_REDIS_PORT`, `ACTORMQ_NATS_PORT`),
/// else one started here on a free port (stopped when dropped), else none: the caller skips,
/// saying why ([`skip_without`]).
pub struct BrokerServer {
    pub port: u16,
    broker: Broker,
    child: Option<std::process::Child>,
}

impl BrokerServer {
    /// A server of the test's own (which it may restart, and whose subscriptions it may
    /// count): `None` when the server is not installed.
    pub fn own(broker: Broker) -> Option<BrokerServer> {
        // another test may take the same free port first: then its server exits, and we retry
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .ok()?
                .local_addr()
                .ok()?
                .port();
            let mut server = BrokerServer {
                port,
                broker,
                child: None,
            };
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
        panic!("no free port for {} after 5 tries", broker.program());
    }

    /// The CI's server, or one of the test's own.
    pub fn any(broker: Broker) -> Option<BrokerServer> {
        if let Some(port) = std::env::var(broker.port_var())
            .ok()
            .and_then(|p| p.parse().ok())
        {
            return Some(BrokerServer {
                port,
                broker,
                child: None,
            });
        }
        BrokerServer::own(broker)
    }

    /// Starts the server on `self.port`; false when it is not installed.
    pub fn start(&mut self) -> bool {
        let child = std::process::Command::new(self.broker.command())
            .args(self.broker.args(self.port))
            .envs(self.broker.env(self.port))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let Ok(child) = child else { return false };
        self.child = Some(child);
        // RabbitMQ boots an Erlang node first: seconds, not milliseconds
        for _ in 0..600 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{} did not start on port {}",
            self.broker.program(),
            self.port
        );
    }

    /// Stops a server this test started.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Broker::Amqp = self.broker {
                // the start script stops the Erlang node it started on SIGTERM (SIGKILL would
                // leave the node running)
                let _ = std::process::Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                let _ = child.wait();
                let _ = std::fs::remove_dir_all(rabbitmq_dir(self.port));
                return;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn endpoint(&self) -> String {
        match self.broker {
            // RabbitMQ's default user, allowed from loopback
            Broker::Amqp => format!("amqp://guest:guest@127.0.0.1:{}", self.port),
            _ => format!("{}://127.0.0.1:{}", self.broker.scheme(), self.port),
        }
    }
}

impl Drop for BrokerServer {
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

/// The data directory of a RabbitMQ started for the tests on `port`.
fn rabbitmq_dir(port: u16) -> String {
    format!("{}/actormq-rabbitmq-{port}", std::env::temp_dir().display())
}
