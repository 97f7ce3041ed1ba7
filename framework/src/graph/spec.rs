//! The graph file: its shape, loading (file + environment) and checks.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::graph::Kinds;
use crate::{OptionError, SocketOptions, SocketType};

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
    /// Comma-separated endpoints in CZMQ notation, read by
    /// [`parse_endpoint_list`](crate::parse_endpoint_list): `@` binds, `>` connects, a bare
    /// endpoint does what CZMQ does for the socket's type (PUB, XPUB, REP, ROUTER and PULL
    /// bind; the others connect).
    pub endpoints: String,
    /// Socket options by libzmq's names.
    #[serde(default)]
    pub options: OptionsSpec,
}

/// Socket options by name → value, as written in the graph file (`options = { rcvhwm = 5000,
/// linger = 500 }`). The names, units and defaults are those of the one table,
/// [`OPTIONS`](crate::OPTIONS): durations in milliseconds, -1 where libzmq means "unlimited" or
/// "forever". An option not given keeps [`SocketOptions::default`]'s value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct OptionsSpec(pub BTreeMap<String, serde_json::Value>);

impl OptionsSpec {
    /// Makes the options that name a file or directory (`curve_secretkey_file`,
    /// `curve_allow`, `plain_passwords`, ...) relative to `base` (the graph file's
    /// directory) when they are relative.
    pub fn resolve_paths(&mut self, base: &Path) {
        for (name, value) in &mut self.0 {
            let is_path =
                name.ends_with("_file") || name == "curve_allow" || name == "plain_passwords";
            if let (true, serde_json::Value::String(text)) = (is_path, &*value) {
                if Path::new(text).is_relative() {
                    *value = serde_json::Value::String(base.join(text).display().to_string());
                }
            }
        }
    }

    /// The socket options these stand for: the defaults with each given option
    /// [`set`](SocketOptions::set_value). An unknown name or a bad value is an error naming it.
    pub fn to_options(&self) -> Result<SocketOptions, OptionError> {
        let mut options = SocketOptions::default();
        for (name, value) in &self.0 {
            options.set_value(name, value)?;
        }
        Ok(options)
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
    let mut spec = spec;
    let base = path.parent().unwrap_or(Path::new("."));
    for socket in spec.sockets.values_mut() {
        socket.options.resolve_paths(base);
    }
    check(&spec, kinds).map_err(|(key, reason)| fail(&key, reason))?;
    Ok(spec)
}

fn check(spec: &GraphSpec, kinds: &Kinds) -> Result<(), (String, String)> {
    for (name, s) in &spec.sockets {
        let socket_type = s
            .socket_type
            .parse::<SocketType>()
            .map_err(|e| (format!("sockets.{name}.type"), e.to_string()))?;
        crate::parse_endpoint_list(&s.endpoints, socket_type)
            .map_err(|e| (format!("sockets.{name}.endpoints"), e.to_string()))?;
        s.options
            .to_options()
            .map_err(|e| e.to_string())
            .and_then(|o| o.validate().map_err(|e| e.to_string()))
            .map_err(|e| (format!("sockets.{name}.options"), e))?;
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
