//! Endpoint lists in CZMQ's notation: `"@tcp://*:5556, >tcp://feed:5557"`.
//!
//! A list is comma-separated; each item is an endpoint, optionally prefixed:
//!
//! * `@ep` binds `ep`;
//! * `>ep` connects to `ep`;
//! * a bare `ep` does what CZMQ's `zsock_new_<type>` does for the socket's type
//!   ([`SocketType::binds_by_default`]): PUB, XPUB, REP, ROUTER and PULL bind; SUB, XSUB, REQ,
//!   DEALER, PUSH and PAIR connect.
//!
//! This is the one parser of the notation: graph files, environment overrides of derived
//! actors, the derive attributes (at compile time) and the command line all use it.
//!
//! ```
//! use actormq_transports::{parse_endpoint_list, Attach, SocketType};
//!
//! let list = parse_endpoint_list("@tcp://*:5556, >tcp://feed:5557, ipc:///tmp/x", SocketType::Sub).unwrap();
//! assert_eq!(list[0], Attach::Bind("tcp://*:5556".parse().unwrap()));
//! assert_eq!(list[1], Attach::Connect("tcp://feed:5557".parse().unwrap()));
//! assert_eq!(list[2], Attach::Connect("ipc:///tmp/x".parse().unwrap())); // bare: SUB connects
//! let pull = parse_endpoint_list("tcp://*:5557", SocketType::Pull).unwrap();
//! assert!(pull[0].is_bind()); // bare: PULL binds
//! ```

use std::fmt;

use crate::{Endpoint, Error, SocketType};

/// One item of an endpoint list: bind or connect an endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Attach {
    /// Bind this endpoint (`@ep`).
    Bind(Endpoint),
    /// Connect to this endpoint (`>ep`).
    Connect(Endpoint),
}

impl Attach {
    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        match self {
            Attach::Bind(ep) | Attach::Connect(ep) => ep,
        }
    }

    /// Whether this binds (rather than connects).
    pub fn is_bind(&self) -> bool {
        matches!(self, Attach::Bind(_))
    }
}

/// Writes the item with its prefix, always explicit (`@ep` or `>ep`), so that the text parses
/// back to the same item for any socket type.
impl fmt::Display for Attach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attach::Bind(ep) => write!(f, "@{ep}"),
            Attach::Connect(ep) => write!(f, ">{ep}"),
        }
    }
}

/// Splits one item into its explicit direction (`Some(true)` for `@`, `Some(false)` for `>`)
/// and its endpoint.
fn item(text: &str) -> Result<(Option<bool>, Endpoint), Error> {
    let (bind, ep) = match (text.strip_prefix('@'), text.strip_prefix('>')) {
        (Some(ep), _) => (Some(true), ep),
        (_, Some(ep)) => (Some(false), ep),
        _ => (None, text),
    };
    Ok((bind, ep.trim().parse()?))
}

fn items(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn empty(list: &str) -> Error {
    Error::Endpoint {
        endpoint: list.to_string(),
        reason:
            "no endpoint (write e.g. \"@tcp://*:5557\" to bind or \">tcp://host:5557\" to connect)"
                .into(),
    }
}

/// Parses a comma-separated endpoint list in CZMQ's notation for a socket of `socket_type`:
/// `@ep` binds, `>ep` connects, a bare `ep` binds if [`SocketType::binds_by_default`] (as CZMQ's
/// `zsock_new_<type>` does) and connects otherwise. Empty items are skipped; a list with no
/// endpoint, or an endpoint that does not parse, is an error naming it.
pub fn parse_endpoint_list(list: &str, socket_type: SocketType) -> Result<Vec<Attach>, Error> {
    let out = items(list)
        .map(|text| {
            let (bind, ep) = item(text)?;
            Ok(if bind.unwrap_or(socket_type.binds_by_default()) {
                Attach::Bind(ep)
            } else {
                Attach::Connect(ep)
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    if out.is_empty() {
        return Err(empty(list));
    }
    Ok(out)
}

/// Parses an endpoint list whose direction is already given (a `bind = "..."` attribute, a
/// `--bind` flag): every item binds if `bind`, else connects. A prefix that agrees (`@` in a
/// bind list) is allowed; one that contradicts it is an error.
pub fn parse_endpoint_list_as(list: &str, bind: bool) -> Result<Vec<Attach>, Error> {
    let out = items(list)
        .map(|text| {
            let (given, ep) = item(text)?;
            match given {
                Some(b) if b != bind => Err(Error::Endpoint {
                    endpoint: text.to_string(),
                    reason: if bind {
                        "`>` connects, but this list binds".into()
                    } else {
                        "`@` binds, but this list connects".into()
                    },
                }),
                _ if bind => Ok(Attach::Bind(ep)),
                _ => Ok(Attach::Connect(ep)),
            }
        })
        .collect::<Result<Vec<_>, Error>>()?;
    if out.is_empty() {
        return Err(empty(list));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str) -> Endpoint {
        s.parse().unwrap()
    }

    #[test]
    fn prefixes_bind_and_connect_for_every_type() {
        for t in SocketType::ALL {
            let list = parse_endpoint_list(" @tcp://*:1 ,>tcp://h:2,, ", t).unwrap();
            assert_eq!(
                list,
                [
                    Attach::Bind(ep("tcp://*:1")),
                    Attach::Connect(ep("tcp://h:2"))
                ]
            );
        }
    }

    #[test]
    fn a_bare_endpoint_does_what_czmq_does_for_the_type() {
        use SocketType::*;
        let binds = [Pub, XPub, Rep, Router, Pull];
        for t in SocketType::ALL {
            let list = parse_endpoint_list("inproc://x", t).unwrap();
            assert_eq!(list[0].is_bind(), binds.contains(&t), "{t}");
            assert_eq!(t.binds_by_default(), binds.contains(&t), "{t}");
        }
    }

    #[test]
    fn errors_name_the_endpoint() {
        let e = parse_endpoint_list("@tcp://*:1, localhost:5556", SocketType::Sub).unwrap_err();
        assert!(e.to_string().contains("localhost:5556"), "{e}");
        let e = parse_endpoint_list(" , ", SocketType::Sub).unwrap_err();
        assert!(e.to_string().contains("no endpoint"), "{e}");
        let e = parse_endpoint_list_as(">tcp://h:1", true).unwrap_err();
        assert!(e.to_string().contains("`>` connects"), "{e}");
        assert_eq!(
            parse_endpoint_list_as("@inproc://a, inproc://b", true).unwrap(),
            [
                Attach::Bind(ep("inproc://a")),
                Attach::Bind(ep("inproc://b"))
            ]
        );
    }

    #[test]
    fn display_round_trips() {
        for t in SocketType::ALL {
            let list = parse_endpoint_list("tcp://*:1, >ipc:///tmp/a, @inproc://b", t).unwrap();
            let text: Vec<String> = list.iter().map(ToString::to_string).collect();
            let back = parse_endpoint_list(&text.join(","), SocketType::Pair).unwrap();
            assert_eq!(back, list);
        }
    }
}
