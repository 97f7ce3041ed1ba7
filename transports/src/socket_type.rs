//! Socket types and which of them may talk to which.

use std::fmt;
use std::str::FromStr;

/// The ZeroMQ socket types. `Display` gives the wire name (`PUB`) sent in the `Socket-Type`
/// property of the ZMTP handshake.
///
/// ```
/// use actormq_transports::SocketType;
///
/// let t: SocketType = "xpub".parse().unwrap();
/// assert_eq!(t.to_string(), "XPUB");
/// assert!(t.is_compatible(SocketType::Sub));
/// assert!(!SocketType::Req.is_compatible(SocketType::Pub));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocketType {
    /// Exclusive pair.
    Pair,
    /// Publisher: fans out to matching subscribers, drops for slow ones.
    Pub,
    /// Subscriber: receives messages whose first frame starts with a subscribed prefix.
    Sub,
    /// Requester: strict send/receive alternation.
    Req,
    /// Replier: answers each request to its requester.
    Rep,
    /// Asynchronous requester/replier: round-robin out, fair-queue in.
    Dealer,
    /// Routes by peer identity.
    Router,
    /// Pipeline downstream: fair-queues from pushers.
    Pull,
    /// Pipeline upstream: round-robins to pullers.
    Push,
    /// Publisher that shows subscriptions to the application.
    XPub,
    /// Subscriber that sends subscriptions as messages.
    XSub,
    /// Raw byte streams to plain TCP peers, with no ZMTP (libzmq's `ZMQ_STREAM`): each chunk
    /// received arrives as `[peer id, bytes]`, and `[peer id, bytes]` writes to that peer. Not
    /// a ZMTP type: it never appears on the wire and pairs with no other type.
    Stream,
    /// Plain datagrams with their addresses, no framing (libzmq's draft `ZMQ_DGRAM`): each
    /// datagram received arrives as `[sender address, payload]`, and `[address, payload]` sends
    /// one. `udp://` only; like STREAM, never on the wire and compatible with no other type.
    Dgram,
}

impl SocketType {
    /// Every ZMTP socket type (all but [`SocketType::Stream`]), in libzmq's numbering order.
    pub const ALL: [SocketType; 11] = [
        SocketType::Pair,
        SocketType::Pub,
        SocketType::Sub,
        SocketType::Req,
        SocketType::Rep,
        SocketType::Dealer,
        SocketType::Router,
        SocketType::Pull,
        SocketType::Push,
        SocketType::XPub,
        SocketType::XSub,
    ];

    /// The name on the wire, as libzmq spells it (upper case).
    pub fn as_str(self) -> &'static str {
        match self {
            SocketType::Pair => "PAIR",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pull => "PULL",
            SocketType::Push => "PUSH",
            SocketType::XPub => "XPUB",
            SocketType::XSub => "XSUB",
            SocketType::Stream => "STREAM",
            SocketType::Dgram => "DGRAM",
        }
    }

    /// Parses a wire name. Like libzmq, this is case-sensitive: `dealer` is not a socket type
    /// on the wire, nor is `STREAM`, which speaks no ZMTP.
    pub fn from_wire(name: &[u8]) -> Option<SocketType> {
        SocketType::ALL
            .into_iter()
            .find(|t| t.as_str().as_bytes() == name)
    }

    /// Whether a socket of this type may talk to a peer of type `peer` (the table of RFC 23 and
    /// libzmq's `check_socket_type`).
    pub fn is_compatible(self, peer: SocketType) -> bool {
        use SocketType::*;
        match self {
            Req => matches!(peer, Rep | Router),
            Rep => matches!(peer, Req | Dealer),
            Dealer => matches!(peer, Rep | Dealer | Router),
            Router => matches!(peer, Req | Dealer | Router),
            Pub | XPub => matches!(peer, Sub | XSub),
            Sub | XSub => matches!(peer, Pub | XPub),
            Push => peer == Pull,
            Pull => peer == Push,
            Pair => peer == Pair,
            Stream => false,
            // plain datagram endpoints of one socket, never a ZMTP peer
            Dgram => peer == Dgram,
        }
    }

    /// Whether libzmq puts an `Identity` property in this type's READY command.
    pub fn sends_identity(self) -> bool {
        matches!(
            self,
            SocketType::Req | SocketType::Dealer | SocketType::Router
        )
    }

    /// Whether a bare endpoint (no `@` or `>`) of an endpoint list binds for this type: what
    /// CZMQ's `zsock_new_<type>` does. PUB, XPUB, REP, ROUTER, PULL and DGRAM bind; SUB, XSUB,
    /// REQ, DEALER, PUSH, PAIR and STREAM connect. See [`parse_endpoint_list`](crate::parse_endpoint_list).
    pub fn binds_by_default(self) -> bool {
        use SocketType::*;
        match self {
            Pub | XPub | Rep | Router | Pull | Dgram => true,
            Sub | XSub | Req | Dealer | Push | Pair | Stream => false,
        }
    }

    /// Whether this type sends subscriptions upstream (SUB and XSUB).
    pub fn is_subscriber(self) -> bool {
        matches!(self, SocketType::Sub | SocketType::XSub)
    }
}

impl fmt::Display for SocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a socket type name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown socket type `{0}` (expected one of pair, pub, sub, req, rep, dealer, router, pull, push, xpub, xsub, stream, dgram)")]
pub struct UnknownSocketType(pub String);

impl FromStr for SocketType {
    type Err = UnknownSocketType;
    /// Parses a name in any case (`pub`, `PUB`), as users write it in configuration.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SocketType::ALL
            .into_iter()
            .chain([SocketType::Stream, SocketType::Dgram])
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownSocketType(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_case_sensitively() {
        for t in SocketType::ALL {
            assert_eq!(SocketType::from_wire(t.as_str().as_bytes()), Some(t));
            assert_eq!(t.as_str().parse::<SocketType>().ok(), Some(t));
            assert_eq!(
                t.as_str().to_lowercase().parse::<SocketType>().ok(),
                Some(t)
            );
        }
        assert_eq!(SocketType::from_wire(b"dealer"), None);
        assert_eq!(SocketType::from_wire(b"STREAM"), None);
        assert_eq!("stream".parse::<SocketType>(), Ok(SocketType::Stream));
        assert_eq!("DGRAM".parse::<SocketType>(), Ok(SocketType::Dgram));
        assert!(SocketType::ALL
            .iter()
            .all(|t| !SocketType::Stream.is_compatible(*t)));
        assert!("fish".parse::<SocketType>().is_err());
    }

    #[test]
    fn compatibility_is_symmetric_and_matches_the_table() {
        for a in SocketType::ALL {
            for b in SocketType::ALL {
                assert_eq!(a.is_compatible(b), b.is_compatible(a), "{a} vs {b}");
            }
        }
        let pairs = [
            ("REQ", "REP"),
            ("REQ", "ROUTER"),
            ("REP", "DEALER"),
            ("DEALER", "DEALER"),
            ("DEALER", "ROUTER"),
            ("ROUTER", "ROUTER"),
            ("PUB", "SUB"),
            ("PUB", "XSUB"),
            ("XPUB", "SUB"),
            ("XPUB", "XSUB"),
            ("PUSH", "PULL"),
            ("PAIR", "PAIR"),
        ];
        let count = SocketType::ALL
            .iter()
            .flat_map(|a| SocketType::ALL.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.is_compatible(*b))
            .count();
        // each unordered pair counts twice unless it pairs a type with itself
        let expected: usize = pairs.iter().map(|(a, b)| if a == b { 1 } else { 2 }).sum();
        assert_eq!(count, expected);
        for (a, b) in pairs {
            let a = SocketType::from_wire(a.as_bytes()).unwrap();
            let b = SocketType::from_wire(b.as_bytes()).unwrap();
            assert!(a.is_compatible(b));
        }
    }
}
