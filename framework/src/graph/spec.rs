//! The graph file: its shape, loading (file + environment) and checks.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::graph::Kinds;
use crate::{Endpoint, SocketOptions, SocketType};

/// A graph file that cannot be used: the file, the key and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {key}: {reason}")]
pub struct GraphError {
    /// The file.
    pub file: String,
    /// Where in it (`actors.worker.count`), or `(file)` for the file as a whole.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

/// A whole graph.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphSpec {
    /// Socket templates by name; each actor instance gets its own socket from a template.
    #[serde(default)]
    pub sockets: BTreeMap<String, SocketSpec>,
    /// Actors by name.
    pub actors: BTreeMap<String, ActorSpec>,
}

/// One socket template.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketSpec {
    /// `pub`, `sub`, `push`, `pull`, `req`, `rep`, `dealer`, `router`, `pair`, `xpub`, `xsub`.
    #[serde(rename = "type")]
    pub socket_type: String,
    /// Comma-separated endpoints in CZMQ notation: `@` binds, `>` (or nothing) connects.
    pub endpoints: String,
    /// Socket options by libzmq's names.
    #[serde(default)]
    pub options: OptionsSpec,
}

/// Socket options by libzmq's names; times in milliseconds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionsSpec {
    /// `sndhwm`.
    pub sndhwm: Option<usize>,
    /// `rcvhwm`.
    pub rcvhwm: Option<usize>,
    /// `linger` in ms; -1 waits forever.
    pub linger: Option<i64>,
    /// `reconnect_ivl` in ms.
    pub reconnect_ivl: Option<u64>,
    /// `reconnect_ivl_max` in ms.
    pub reconnect_ivl_max: Option<u64>,
    /// `maxmsgsize` in bytes; -1 is unlimited.
    pub maxmsgsize: Option<i64>,
    /// `routing_id`.
    pub routing_id: Option<String>,
    /// `handshake_ivl` in ms.
    pub handshake_ivl: Option<u64>,
    /// `req_relaxed`.
    pub req_relaxed: Option<bool>,
    /// `req_correlate`.
    pub req_correlate: Option<bool>,
    /// `router_mandatory`.
    pub router_mandatory: Option<bool>,
    /// `router_handover`.
    pub router_handover: Option<bool>,
    /// `xpub_verbose`.
    pub xpub_verbose: Option<bool>,
    /// `heartbeat_ivl` in ms.
    pub heartbeat_ivl: Option<u64>,
    /// `heartbeat_timeout` in ms.
    pub heartbeat_timeout: Option<u64>,
    /// `heartbeat_ttl` in ms.
    pub heartbeat_ttl: Option<u64>,
}

impl OptionsSpec {
    /// The socket options these stand for.
    pub fn to_options(&self) -> SocketOptions {
        let d = SocketOptions::default();
        let ms = Duration::from_millis;
        SocketOptions {
            sndhwm: self.sndhwm.unwrap_or(d.sndhwm),
            rcvhwm: self.rcvhwm.unwrap_or(d.rcvhwm),
            linger: match self.linger {
                None => Some(Duration::from_secs(5)),
                Some(l) if l < 0 => None,
                Some(l) => Some(ms(l as u64)),
            },
            reconnect_ivl: self.reconnect_ivl.map(ms).unwrap_or(d.reconnect_ivl),
            reconnect_ivl_max: self
                .reconnect_ivl_max
                .map(ms)
                .unwrap_or(d.reconnect_ivl_max),
            maxmsgsize: match self.maxmsgsize {
                None => d.maxmsgsize,
                Some(m) if m < 0 => None,
                Some(m) => Some(m as u64),
            },
            routing_id: self.routing_id.clone().map(Into::into).unwrap_or_default(),
            handshake_ivl: self.handshake_ivl.map(ms).unwrap_or(d.handshake_ivl),
            req_relaxed: self.req_relaxed.unwrap_or(false),
            req_correlate: self.req_correlate.unwrap_or(false),
            router_mandatory: self.router_mandatory.unwrap_or(false),
            router_handover: self.router_handover.unwrap_or(false),
            xpub_verbose: self.xpub_verbose.unwrap_or(false),
            heartbeat_ivl: self.heartbeat_ivl.map(ms),
            heartbeat_timeout: self.heartbeat_timeout.map(ms),
            heartbeat_ttl: self.heartbeat_ttl.map(ms),
        }
    }
}

fn one() -> usize {
    1
}

/// One actor (`count` instances of it).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorSpec {
    /// A built-in kind (`proxy`, `relay`, `echo`, `log`, `bench-source`, `bench-sink`,
    /// `ventilator`, `worker`, `sink`) or one registered from code.
    pub kind: String,
    /// How many instances; each gets its own sockets.
    #[serde(default = "one")]
    pub count: usize,
    /// Role → socket template name (`input = "jobs"`).
    #[serde(default)]
    pub sockets: BTreeMap<String, String>,
    /// Settings of the kind.
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
}

/// Parses comma-separated endpoints in CZMQ notation into (bind?, endpoint).
pub(crate) fn endpoints(list: &str) -> Result<Vec<(bool, Endpoint)>, String> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (bind, ep) = match item.strip_prefix('@') {
            Some(ep) => (true, ep),
            None => (false, item.strip_prefix('>').unwrap_or(item)),
        };
        out.push((bind, ep.parse::<Endpoint>().map_err(|e| e.to_string())?));
    }
    if out.is_empty() {
        return Err(
            "no endpoint (write e.g. \"@tcp://*:5557\" to bind or \">tcp://host:5557\" to connect)"
                .into(),
        );
    }
    Ok(out)
}

/// Loads a graph file (format from its extension: `.toml`, `.yaml`/`.yml`, `.json`), applies
/// `ACTORMQ__SOCKETS__...` and `ACTORMQ__ACTORS__...` environment overrides, and checks it
/// against the known `kinds`.
pub fn load(path: &Path, kinds: &Kinds) -> Result<GraphSpec, GraphError> {
    let file = path.display().to_string();
    let fail = |key: &str, reason: String| GraphError {
        file: file.clone(),
        key: key.to_string(),
        reason,
    };
    if !path.exists() {
        return Err(fail("(file)", "no such file".into()));
    }
    // Only the graph's own keys: other ACTORMQ__ variables (a derived actor's endpoints) are not
    // the graph's business.
    let env: config::Map<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("ACTORMQ__SOCKETS__") || k.starts_with("ACTORMQ__ACTORS__"))
        .collect();
    let built = config::Config::builder()
        .add_source(config::File::from(path))
        .add_source(
            config::Environment::with_prefix("ACTORMQ")
                .separator("__")
                .try_parsing(true)
                .source(Some(env)),
        )
        .build()
        .map_err(|e| fail("(file)", e.to_string()))?;
    let spec: GraphSpec = built.try_deserialize().map_err(|e| {
        let text = e.to_string();
        // config names the key as `... for key `actors.worker.count``
        match text.split_once(" for key `") {
            Some((reason, rest)) => fail(
                rest.split('`').next().unwrap_or("(file)"),
                reason.to_string(),
            ),
            None => fail("(file)", text),
        }
    })?;
    check(&spec, kinds).map_err(|(key, reason)| fail(&key, reason))?;
    Ok(spec)
}

fn check(spec: &GraphSpec, kinds: &Kinds) -> Result<(), (String, String)> {
    for (name, s) in &spec.sockets {
        s.socket_type
            .parse::<SocketType>()
            .map_err(|e| (format!("sockets.{name}.type"), e.to_string()))?;
        endpoints(&s.endpoints).map_err(|e| (format!("sockets.{name}.endpoints"), e))?;
        s.options
            .to_options()
            .validate()
            .map_err(|e| (format!("sockets.{name}.options"), e.to_string()))?;
    }
    if spec.actors.is_empty() {
        return Err((
            "actors".into(),
            "no actor: the graph would do nothing".into(),
        ));
    }
    let names: Vec<&str> = spec.sockets.keys().map(String::as_str).collect();
    for (name, a) in &spec.actors {
        let kind = kinds.get(&a.kind).ok_or_else(|| {
            (
                format!("actors.{name}.kind"),
                format!(
                    "unknown kind `{}` (known: {})",
                    a.kind,
                    kinds.names().join(", ")
                ),
            )
        })?;
        if a.count == 0 {
            return Err((format!("actors.{name}.count"), "must be at least 1".into()));
        }
        for (role, socket) in &a.sockets {
            if !spec.sockets.contains_key(socket) {
                return Err((
                    format!("actors.{name}.sockets.{role}"),
                    format!("no socket named `{socket}` (sockets: {})", names.join(", ")),
                ));
            }
            if !kind.roles.contains(&role.as_str()) && !kind.optional.contains(&role.as_str()) {
                return Err((
                    format!("actors.{name}.sockets.{role}"),
                    format!(
                        "kind `{}` has no socket `{role}` (it has: {})",
                        a.kind,
                        kind.roles.join(", ")
                    ),
                ));
            }
        }
        for role in kind.roles {
            if !a.sockets.contains_key(*role) {
                return Err((
                    format!("actors.{name}.sockets"),
                    format!(
                        "kind `{}` needs a socket `{role}` (it needs: {})",
                        a.kind,
                        kind.roles.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}
