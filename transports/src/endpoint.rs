//! Endpoints as ZeroMQ writes them: `tcp://host:port`, `ipc://path`, `udp://host:port`,
//! `inproc://name`.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use crate::Error;

/// The host part of a `tcp://` or `udp://` endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// `*`: every interface (bind only).
    Any,
    /// A literal IPv4 or IPv6 address (`[::1]` in the endpoint string).
    Ip(IpAddr),
    /// A name to resolve (`localhost`, `example.com`).
    Name(String),
}

/// A host and a port. Port 0 asks the operating system for a free port when binding.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// The host.
    pub host: Host,
    /// The port.
    pub port: u16,
}

/// Where a socket binds or connects.
///
/// ```
/// use actormq_transports::{Endpoint, Host};
///
/// let ep: Endpoint = "tcp://*:0".parse().unwrap();
/// assert!(matches!(&ep, Endpoint::Tcp(hp) if hp.host == Host::Any && hp.port == 0));
/// assert_eq!("tcp://[::1]:5555".parse::<Endpoint>().unwrap().to_string(), "tcp://[::1]:5555");
/// let err = "tcp://localhost".parse::<Endpoint>().unwrap_err();
/// assert!(err.to_string().contains("port"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// ZMTP over TCP.
    Tcp(HostPort),
    /// ZMTP over a Unix domain socket at a path.
    Ipc(PathBuf),
    /// Datagrams, optionally through a given local interface (`udp://192.168.1.5;239.0.0.1:5555`,
    /// libzmq's syntax): the interface is an IPv4 address.
    Udp {
        /// Destination (connect) or local address / multicast group (bind).
        addr: HostPort,
        /// The local interface's address, for multicast.
        interface: Option<String>,
    },
    /// Between sockets of one process, by name.
    Inproc(String),
    /// A scheme with no built-in parser, for a transport registered by the user.
    Other {
        /// The scheme (before `://`).
        scheme: String,
        /// Everything after `://`.
        address: String,
    },
}

impl Endpoint {
    /// The URL scheme: `tcp`, `ipc`, `udp`, `inproc` or a registered one.
    pub fn scheme(&self) -> &str {
        match self {
            Endpoint::Tcp(_) => "tcp",
            Endpoint::Ipc(_) => "ipc",
            Endpoint::Udp { .. } => "udp",
            Endpoint::Inproc(_) => "inproc",
            Endpoint::Other { scheme, .. } => scheme,
        }
    }
}

fn invalid(endpoint: &str, reason: impl Into<String>) -> Error {
    Error::Endpoint {
        endpoint: endpoint.to_string(),
        reason: reason.into(),
    }
}

fn parse_host_port(endpoint: &str, rest: &str) -> Result<HostPort, Error> {
    let (host, port) = if let Some(after) = rest.strip_prefix('[') {
        let close = after
            .find(']')
            .ok_or_else(|| invalid(endpoint, "`[` of an IPv6 address has no matching `]`"))?;
        let ip: IpAddr = after[..close].parse().map_err(|_| {
            invalid(
                endpoint,
                format!("`{}` is not an IPv6 address", &after[..close]),
            )
        })?;
        let port = after[close + 1..]
            .strip_prefix(':')
            .ok_or_else(|| invalid(endpoint, "missing `:port` after the address"))?;
        (Host::Ip(ip), port)
    } else {
        let (host, port) = rest.rsplit_once(':').ok_or_else(|| {
            invalid(
                endpoint,
                "missing `:port` (write host:port, e.g. tcp://127.0.0.1:5555)",
            )
        })?;
        if host.is_empty() {
            return Err(invalid(
                endpoint,
                "missing host before `:port` (use `*` for every interface)",
            ));
        }
        let host = if host == "*" {
            Host::Any
        } else if let Ok(ip) = host.parse::<IpAddr>() {
            Host::Ip(ip)
        } else if host.contains(':') {
            return Err(invalid(
                endpoint,
                "an IPv6 address must be written in brackets, e.g. tcp://[::1]:5555",
            ));
        } else if host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        {
            Host::Name(host.to_string())
        } else {
            return Err(invalid(
                endpoint,
                format!("`{host}` is not a valid host name"),
            ));
        };
        (host, port)
    };
    if port.is_empty() {
        return Err(invalid(endpoint, "missing port number after `:`"));
    }
    let port: u16 = port.parse().map_err(|_| {
        invalid(
            endpoint,
            format!("port `{port}` is not a number from 0 to 65535"),
        )
    })?;
    Ok(HostPort { host, port })
}

impl FromStr for Endpoint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| invalid(s, "missing `://` (write e.g. tcp://127.0.0.1:5555)"))?;
        if rest.is_empty() {
            return Err(invalid(s, "nothing after `://`"));
        }
        match scheme {
            "tcp" => Ok(Endpoint::Tcp(parse_host_port(s, rest)?)),
            "udp" => {
                let (interface, addr) = match rest.split_once(';') {
                    Some((iface, addr)) if !iface.is_empty() => (Some(iface.to_string()), addr),
                    Some(_) => return Err(invalid(s, "empty interface before `;`")),
                    None => (None, rest),
                };
                Ok(Endpoint::Udp {
                    addr: parse_host_port(s, addr)?,
                    interface,
                })
            }
            "ipc" => Ok(Endpoint::Ipc(PathBuf::from(rest))),
            "inproc" => Ok(Endpoint::Inproc(rest.to_string())),
            "" => Err(invalid(s, "missing scheme before `://`")),
            other
                if other
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.') =>
            {
                Ok(Endpoint::Other {
                    scheme: other.to_string(),
                    address: rest.to_string(),
                })
            }
            other => Err(invalid(s, format!("`{other}` is not a valid scheme"))),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Any => f.write_str("*"),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(hp) => write!(f, "tcp://{hp}"),
            Endpoint::Udp {
                addr,
                interface: Some(iface),
            } => write!(f, "udp://{iface};{addr}"),
            Endpoint::Udp {
                addr,
                interface: None,
            } => write!(f, "udp://{addr}"),
            Endpoint::Ipc(path) => write!(f, "ipc://{}", path.display()),
            Endpoint::Inproc(name) => write!(f, "inproc://{name}"),
            Endpoint::Other { scheme, address } => write!(f, "{scheme}://{address}"),
        }
    }
}

impl TryFrom<&str> for Endpoint {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl TryFrom<String> for Endpoint {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl TryFrom<&String> for Endpoint {
    type Error = Error;
    fn try_from(s: &String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl TryFrom<&Endpoint> for Endpoint {
    type Error = Error;
    fn try_from(e: &Endpoint) -> Result<Self, Self::Error> {
        Ok(e.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ok(s: &str) -> Endpoint {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        s.parse::<Endpoint>().unwrap_err().to_string()
    }

    #[test]
    fn parses_the_forms_zeromq_uses() {
        assert_eq!(
            ok("tcp://127.0.0.1:5556"),
            Endpoint::Tcp(HostPort {
                host: Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                port: 5556
            })
        );
        assert_eq!(
            ok("tcp://*:0"),
            Endpoint::Tcp(HostPort {
                host: Host::Any,
                port: 0
            })
        );
        assert_eq!(
            ok("tcp://[::1]:7"),
            Endpoint::Tcp(HostPort {
                host: Host::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)),
                port: 7
            })
        );
        assert_eq!(
            ok("tcp://localhost:5556"),
            Endpoint::Tcp(HostPort {
                host: Host::Name("localhost".into()),
                port: 5556
            })
        );
        assert_eq!(
            ok("ipc:///tmp/feed.sock"),
            Endpoint::Ipc(PathBuf::from("/tmp/feed.sock"))
        );
        assert_eq!(
            ok("ipc://@abstract"),
            Endpoint::Ipc(PathBuf::from("@abstract"))
        );
        assert_eq!(ok("udp://239.0.0.1:5555").scheme(), "udp");
        assert_eq!(ok("inproc://workers"), Endpoint::Inproc("workers".into()));
        assert_eq!(ok("quic://x").scheme(), "quic");
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "tcp://127.0.0.1:5556",
            "tcp://*:0",
            "tcp://[::1]:5555",
            "tcp://localhost:1",
            "ipc:///tmp/x",
            "udp://*:9",
            "udp://127.0.0.1;239.0.0.1:5555",
            "inproc://a/b",
        ] {
            assert_eq!(ok(s).to_string(), s);
        }
    }

    #[test]
    fn malformed_endpoints_name_the_problem() {
        assert!(err("127.0.0.1:5555").contains("missing `://`"));
        assert!(err("tcp://").contains("nothing after"));
        assert!(err("tcp://localhost").contains("missing `:port`"));
        assert!(err("tcp://localhost:").contains("missing port"));
        assert!(err("tcp://:5555").contains("missing host"));
        assert!(err("tcp://host:99999").contains("0 to 65535"));
        assert!(err("tcp://host:http").contains("`http`"));
        assert!(err("tcp://[::1:5555").contains("no matching"));
        assert!(err("tcp://[zz]:5555").contains("not an IPv6"));
        assert!(err("tcp://fe80::zz:5555").contains("brackets"));
        // like libzmq, an unbracketed IPv6 address is read up to the last colon
        assert_eq!(ok("tcp://::1:5555").to_string(), "tcp://[::1]:5555");
        assert!(err("tcp://bad host:1").contains("not a valid host"));
        assert!(err("://x").contains("missing scheme"));
        assert!(err("t cp://a:1").contains("not a valid scheme"));
        // the endpoint itself is quoted in every message
        assert!(err("tcp://localhost").contains("`tcp://localhost`"));
    }
}
