//! ZMTP commands: READY (with metadata), ERROR, SUBSCRIBE, CANCEL, PING, PONG.

use bytes::{BufMut, Bytes, BytesMut};

use super::ProtocolError;

/// The most properties a READY may carry (libzmq sends two or three).
pub const MAX_PROPERTIES: usize = 64;

/// The metadata properties of a READY command, in the order received.
///
/// ```
/// use actormq_transports::zmtp::Metadata;
///
/// let mut m = Metadata::default();
/// m.insert("Socket-Type", "PUB");
/// assert_eq!(m.get("socket-type").unwrap(), "PUB"); // names match case-insensitively
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata(Vec<(String, Bytes)>);

impl Metadata {
    /// Adds a property (names are sent exactly as given).
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<Bytes>) {
        self.0.push((name.into(), value.into()));
    }

    /// The value of a property, matching the name case-insensitively (RFC 37).
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// All properties.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Bytes)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// Appends the properties in READY's encoding (also INITIATE's, and CURVE's boxes').
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        for (name, value) in &self.0 {
            out.put_u8(name.len() as u8);
            out.put_slice(name.as_bytes());
            out.put_u32(value.len() as u32);
            out.put_slice(value);
        }
    }

    /// Reads properties in READY's encoding (at most [`MAX_PROPERTIES`]).
    pub(crate) fn decode(mut data: &[u8]) -> Result<Self, ProtocolError> {
        let bad = |reason: &str| ProtocolError::MalformedCommand {
            command: "READY".into(),
            reason: reason.into(),
        };
        let mut props = Vec::new();
        while !data.is_empty() {
            let name_len = data[0] as usize;
            if name_len == 0 {
                return Err(bad("property with an empty name"));
            }
            if props.len() >= MAX_PROPERTIES {
                return Err(bad(&format!("more than {MAX_PROPERTIES} properties")));
            }
            if data.len() < 1 + name_len + 4 {
                return Err(bad("property truncated"));
            }
            let name = &data[1..1 + name_len];
            if !name
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.+".contains(c))
            {
                return Err(bad(
                    "property name has characters outside ALPHA / DIGIT / - _ . +",
                ));
            }
            let mut len_bytes = [0u8; 4];
            len_bytes.copy_from_slice(&data[1 + name_len..1 + name_len + 4]);
            let value_len = u32::from_be_bytes(len_bytes) as usize;
            let rest = &data[1 + name_len + 4..];
            if value_len > rest.len() {
                return Err(bad("property value longer than the command"));
            }
            let name = String::from_utf8_lossy(name).into_owned();
            props.push((name, Bytes::copy_from_slice(&rest[..value_len])));
            data = &rest[value_len..];
        }
        Ok(Metadata(props))
    }
}

/// A ZMTP command. Commands are consumed by the connection; only subscriptions reach the
/// socket, and then as messages in the `0x01topic` / `0x00topic` form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// End of the NULL handshake, with the sender's properties.
    Ready(Metadata),
    /// The peer refuses the connection.
    Error(String),
    /// ZMTP 3.1 subscription to a topic prefix.
    Subscribe(Bytes),
    /// ZMTP 3.1 cancellation of a subscription.
    Cancel(Bytes),
    /// Heartbeat request: time-to-live in tenths of a second and up to 16 octets of context.
    Ping {
        /// Time-to-live, in deciseconds (0: none).
        ttl: u16,
        /// Context to echo.
        context: Bytes,
    },
    /// Heartbeat reply echoing a PING's context.
    Pong(Bytes),
    /// A well-formed command of a name we do not know (ignored).
    Unknown {
        /// The command name.
        name: String,
    },
}

impl Command {
    /// The command name on the wire.
    pub fn name(&self) -> &str {
        match self {
            Command::Ready(_) => "READY",
            Command::Error(_) => "ERROR",
            Command::Subscribe(_) => "SUBSCRIBE",
            Command::Cancel(_) => "CANCEL",
            Command::Ping { .. } => "PING",
            Command::Pong(_) => "PONG",
            Command::Unknown { name } => name,
        }
    }

    /// Writes the command body (`name-len name data`).
    pub fn encode_body(&self, out: &mut BytesMut) {
        let name = self.name();
        out.put_u8(name.len() as u8);
        out.put_slice(name.as_bytes());
        match self {
            Command::Ready(meta) => meta.encode(out),
            Command::Error(reason) => {
                let r = &reason.as_bytes()[..reason.len().min(255)];
                out.put_u8(r.len() as u8);
                out.put_slice(r);
            }
            Command::Subscribe(topic) | Command::Cancel(topic) => out.put_slice(topic),
            Command::Ping { ttl, context } => {
                out.put_u16(*ttl);
                out.put_slice(&context[..context.len().min(16)]);
            }
            Command::Pong(context) => out.put_slice(&context[..context.len().min(16)]),
            Command::Unknown { .. } => {}
        }
    }

    /// Parses a command body.
    pub fn decode_body(body: &Bytes) -> Result<Command, ProtocolError> {
        let bad = |command: &str, reason: &str| ProtocolError::MalformedCommand {
            command: command.into(),
            reason: reason.into(),
        };
        let Some(&name_len) = body.first() else {
            return Err(bad("?", "empty command body"));
        };
        let name_len = name_len as usize;
        if name_len == 0 || body.len() < 1 + name_len {
            return Err(bad("?", "command name length exceeds the body"));
        }
        let name = &body[1..1 + name_len];
        let data = body.slice(1 + name_len..);
        Ok(match name {
            b"READY" => Command::Ready(Metadata::decode(&data)?),
            b"ERROR" => {
                let Some(&len) = data.first() else {
                    return Err(bad("ERROR", "missing reason length"));
                };
                if data.len() < 1 + len as usize {
                    return Err(bad("ERROR", "reason shorter than its length"));
                }
                Command::Error(String::from_utf8_lossy(&data[1..1 + len as usize]).into_owned())
            }
            b"SUBSCRIBE" => Command::Subscribe(data),
            b"CANCEL" => Command::Cancel(data),
            b"PING" => {
                if data.len() < 2 {
                    return Err(bad("PING", "missing the 2-octet TTL"));
                }
                let ttl = u16::from_be_bytes([data[0], data[1]]);
                let context = data.slice(2..data.len().min(18));
                Command::Ping { ttl, context }
            }
            b"PONG" => Command::Pong(data.slice(..data.len().min(16))),
            other => {
                if !other.iter().all(u8::is_ascii_alphabetic) {
                    return Err(bad("?", "command name is not ALPHA"));
                }
                Command::Unknown {
                    name: String::from_utf8_lossy(other).into_owned(),
                }
            }
        })
    }
}
