//! Where a derived actor's sockets bind and connect: the endpoints of its attributes, unless the
//! environment overrides them.

use crate::{Result, Socket};

/// One endpoint of an actor's socket: bind or connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attach {
    /// Bind this endpoint.
    Bind(String),
    /// Connect to this endpoint.
    Connect(String),
}

impl Attach {
    /// Parses CZMQ's notation: `@ep` binds, `>ep` connects, a bare endpoint gets `default`.
    pub fn parse(spec: &str, default_bind: bool) -> Attach {
        let spec = spec.trim();
        if let Some(ep) = spec.strip_prefix('@') {
            Attach::Bind(ep.to_string())
        } else if let Some(ep) = spec.strip_prefix('>') {
            Attach::Connect(ep.to_string())
        } else if default_bind {
            Attach::Bind(spec.to_string())
        } else {
            Attach::Connect(spec.to_string())
        }
    }
}

/// The endpoints of the actor named `actor` for its socket `role` (`""` for its only socket,
/// or `input`/`output` for a worker): `ACTORMQ__<ACTOR>__ENDPOINTS` (or
/// `ACTORMQ__<ACTOR>__<ROLE>__ENDPOINTS`), comma-separated in CZMQ notation (`@` binds, `>`
/// connects), when set; else the attribute's.
///
/// ```
/// use actormq::typed::{endpoints_for, Attach};
///
/// let defaults = [Attach::Connect("tcp://localhost:5556".into())];
/// std::env::set_var("ACTORMQ__DASHBOARD__ENDPOINTS", "@tcp://*:6000,>tcp://feed:5556");
/// assert_eq!(
///     endpoints_for("Dashboard", "", &defaults),
///     [Attach::Bind("tcp://*:6000".into()), Attach::Connect("tcp://feed:5556".into())]
/// );
/// std::env::remove_var("ACTORMQ__DASHBOARD__ENDPOINTS");
/// assert_eq!(endpoints_for("Dashboard", "", &defaults), defaults);
/// ```
pub fn endpoints_for(actor: &str, role: &str, defaults: &[Attach]) -> Vec<Attach> {
    let mut key = format!("ACTORMQ__{}", actor.to_uppercase());
    if !role.is_empty() {
        key.push_str("__");
        key.push_str(&role.to_uppercase());
    }
    key.push_str("__ENDPOINTS");
    match std::env::var(&key) {
        Ok(list) if !list.trim().is_empty() => {
            let default_bind = defaults
                .first()
                .is_some_and(|a| matches!(a, Attach::Bind(_)));
            list.split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| Attach::parse(s, default_bind))
                .collect()
        }
        _ => defaults.to_vec(),
    }
}

/// Binds and connects a socket as listed.
pub async fn attach(socket: &Socket, endpoints: &[Attach]) -> Result<()> {
    for a in endpoints {
        match a {
            Attach::Bind(ep) => {
                socket.bind(ep.as_str()).await?;
            }
            Attach::Connect(ep) => socket.connect(ep.as_str()).await?,
        }
    }
    Ok(())
}
