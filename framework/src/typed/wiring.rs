//! Where a derived actor's sockets bind and connect: the endpoints of its attributes, unless the
//! environment overrides them.

use crate::{Result, Socket, SocketType};

/// One endpoint of an actor's socket: bind or connect. The item of an endpoint list in CZMQ's
/// notation, as parsed by [`parse_endpoint_list`](crate::transports::parse_endpoint_list).
pub use actormq_transports::Attach;

/// The endpoints of the actor named `actor` for its socket `role` (`""` for its only socket,
/// or `input`/`output` for a worker), a socket of `socket_type`:
/// `ACTORMQ__<ACTOR>__ENDPOINTS` (or `ACTORMQ__<ACTOR>__<ROLE>__ENDPOINTS`) when set, else
/// `defaults` (the attribute's). Both are endpoint lists in CZMQ's notation, read by the one
/// parser, [`parse_endpoint_list`](crate::transports::parse_endpoint_list): `@` binds, `>`
/// connects, a bare endpoint does what CZMQ does for `socket_type`
/// ([`SocketType::binds_by_default`]). A list that does not parse is an error naming the
/// endpoint.
///
/// ```
/// use actormq::typed::{endpoints_for, Attach};
/// use actormq::SocketType;
///
/// let defaults = ">tcp://localhost:5556";
/// std::env::set_var("ACTORMQ__DASHBOARD__ENDPOINTS", "@tcp://*:6000,tcp://feed:5556");
/// assert_eq!(
///     endpoints_for("Dashboard", "", SocketType::Sub, defaults).unwrap(),
///     [
///         Attach::Bind("tcp://*:6000".parse().unwrap()),
///         Attach::Connect("tcp://feed:5556".parse().unwrap()), // bare: SUB connects
///     ]
/// );
/// std::env::remove_var("ACTORMQ__DASHBOARD__ENDPOINTS");
/// assert_eq!(
///     endpoints_for("Dashboard", "", SocketType::Sub, defaults).unwrap(),
///     [Attach::Connect("tcp://localhost:5556".parse().unwrap())]
/// );
/// ```
pub fn endpoints_for(
    actor: &str,
    role: &str,
    socket_type: SocketType,
    defaults: &str,
) -> Result<Vec<Attach>> {
    let mut key = format!("ACTORMQ__{}", actor.to_uppercase());
    if !role.is_empty() {
        key.push_str("__");
        key.push_str(&role.to_uppercase());
    }
    key.push_str("__ENDPOINTS");
    let list = match std::env::var(&key) {
        Ok(list) if !list.trim().is_empty() => list,
        _ => defaults.to_string(),
    };
    Ok(actormq_transports::parse_endpoint_list(&list, socket_type)?)
}

/// The socket of the actor named `actor` for its socket `role` (as for [`endpoints_for`]),
/// with `options` (the attribute's `options(...)`, by name, as [`SocketOptions::set`] reads
/// them) and then those of `ACTORMQ__<ACTOR>[__<ROLE>]__OPTIONS` when set: `name=value`
/// pairs separated by commas, e.g. `curve_serverkey=...,curve_secretkey_env=CLIENT_SECRET`.
/// A bad name or value is an error naming the option.
///
/// ```
/// use actormq::typed::socket_for;
/// use actormq::SocketType;
///
/// # actix::System::new().block_on(async {
/// std::env::set_var("ACTORMQ__FEED__OPTIONS", "sndhwm=50");
/// let s = socket_for("Feed", "", SocketType::Pub, &[("sndhwm", "10"), ("linger", "0")]).unwrap();
/// assert_eq!(s.options().sndhwm, 50); // the environment wins
/// std::env::remove_var("ACTORMQ__FEED__OPTIONS");
/// assert!(socket_for("Feed", "", SocketType::Pub, &[("sndhwn", "10")]).is_err());
/// # });
/// ```
///
/// [`SocketOptions::set`]: crate::SocketOptions::set
pub fn socket_for(
    actor: &str,
    role: &str,
    socket_type: SocketType,
    options: &[(&str, &str)],
) -> Result<Socket> {
    let mut opts = crate::SocketOptions::default();
    for (name, value) in options {
        opts.set(name, value)?;
    }
    let mut key = format!("ACTORMQ__{}", actor.to_uppercase());
    if !role.is_empty() {
        key.push_str("__");
        key.push_str(&role.to_uppercase());
    }
    key.push_str("__OPTIONS");
    if let Ok(list) = std::env::var(&key) {
        for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) =
                pair.split_once('=')
                    .ok_or_else(|| crate::Error::InvalidOption {
                        name: "(environment)",
                        reason: format!("{key}: `{pair}` is not name=value"),
                    })?;
            opts.set(name.trim(), value.trim())?;
        }
    }
    Socket::with_options(socket_type, opts)
}

/// Binds and connects a socket as listed.
pub async fn attach(socket: &Socket, endpoints: &[Attach]) -> Result<()> {
    for a in endpoints {
        match a {
            Attach::Bind(ep) => {
                socket.bind(ep).await?;
            }
            Attach::Connect(ep) => socket.connect(ep).await?,
        }
    }
    Ok(())
}
