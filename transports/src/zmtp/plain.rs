//! The PLAIN mechanism (RFC 24/ZMTP-PLAIN): a user name and password in clear text, checked
//! by the server's authenticator. It authenticates; it does not encrypt.
//!
//! The client sends HELLO (user name, password); the server judges them and answers WELCOME
//! (or ERROR); the client sends INITIATE with its metadata; the server answers READY with
//! its own.

use bytes::{BufMut, Bytes, BytesMut};
use zeroize::Zeroizing;

use super::mechanism::encode_command_body;
use super::{Command, Credentials, Mechanism, MechanismStep, Metadata, ProtocolError};

/// Splits a command body into its name and data.
pub(crate) fn split_command(body: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = *body.first()? as usize;
    (body.len() > len).then(|| (&body[1..1 + len], &body[1 + len..]))
}

/// A command body from its name and data parts.
pub(crate) fn command_body(name: &[u8], parts: &[&[u8]]) -> BytesMut {
    let mut body =
        BytesMut::with_capacity(1 + name.len() + parts.iter().map(|p| p.len()).sum::<usize>());
    body.put_u8(name.len() as u8);
    body.put_slice(name);
    for p in parts {
        body.put_slice(p);
    }
    body
}

/// What to say of an ERROR the server sent during the handshake: libzmq sends ZAP's status
/// code alone (`400`).
pub(crate) fn peer_error(data: &[u8]) -> ProtocolError {
    let reason = match Command::decode_body(&command_body(b"ERROR", &[data]).freeze()) {
        Ok(Command::Error(r)) => r,
        _ => String::from_utf8_lossy(data).into_owned(),
    };
    let reason = match reason.as_str() {
        "400" => "400 (authentication failed: the server refused our credentials)".to_string(),
        "300" => "300 (authentication failed for now: try again later)".to_string(),
        "500" => "500 (the server's authenticator failed)".to_string(),
        _ => reason,
    };
    ProtocolError::PeerError { reason }
}

fn unexpected(expected: &'static str, body: &[u8]) -> ProtocolError {
    let got = split_command(body).map_or_else(
        || "a malformed command".to_string(),
        |(name, _)| format!("{} command", String::from_utf8_lossy(name)),
    );
    ProtocolError::UnexpectedCommand {
        mechanism: "PLAIN",
        expected,
        got,
    }
}

fn malformed(command: &str, reason: &str) -> ProtocolError {
    ProtocolError::MalformedCommand {
        command: command.into(),
        reason: reason.into(),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum ClientState {
    ExpectWelcome,
    ExpectReady,
}

/// The client side of PLAIN: presents a user name and password.
///
/// ```
/// use actormq_transports::zmtp::{Mechanism, PlainClient};
///
/// let client = PlainClient::new("admin", "secret");
/// assert_eq!(client.name(), "PLAIN");
/// assert!(!client.as_server());
/// ```
pub struct PlainClient {
    username: String,
    password: Zeroizing<String>,
    ours: Metadata,
    state: ClientState,
}

impl std::fmt::Debug for PlainClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainClient")
            .field("username", &self.username)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl PlainClient {
    /// A client that logs in as `username` with `password` (each at most 255 bytes; longer
    /// ones are cut, as they cannot be sent).
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        PlainClient {
            username: username.into(),
            password: Zeroizing::new(password.into()),
            ours: Metadata::default(),
            state: ClientState::ExpectWelcome,
        }
    }
}

impl Mechanism for PlainClient {
    fn name(&self) -> &str {
        "PLAIN"
    }

    fn starts_after_greeting(&self) -> bool {
        true
    }

    fn start(&mut self, ours: &Metadata, out: &mut BytesMut) -> MechanismStep {
        self.ours = ours.clone();
        let user = &self.username.as_bytes()[..self.username.len().min(255)];
        let pass = &self.password.as_bytes()[..self.password.len().min(255)];
        let mut body = Zeroizing::new(Vec::with_capacity(8 + user.len() + pass.len()));
        body.extend_from_slice(b"\x05HELLO");
        body.push(user.len() as u8);
        body.extend_from_slice(user);
        body.push(pass.len() as u8);
        body.extend_from_slice(pass);
        encode_command_body(&body, out);
        MechanismStep::Continue
    }

    fn handle_command(
        &mut self,
        body: Bytes,
        out: &mut BytesMut,
    ) -> Result<MechanismStep, ProtocolError> {
        // libzmq 4.3's PLAIN server garbles the name of its ERROR (`\x04\x09^RROR\x03400`:
        // the name's length octet and first letter become one `^`); read it as ERROR
        if body.len() > 5 && &body[1..5] == b"RROR" && body[0] != 5 {
            return Err(peer_error(&body[5..]));
        }
        let (name, data) = split_command(&body).ok_or_else(|| malformed("?", "truncated"))?;
        match (name, &self.state) {
            (b"ERROR", _) => Err(peer_error(data)),
            (b"WELCOME", ClientState::ExpectWelcome) => {
                let mut meta = BytesMut::new();
                self.ours.encode(&mut meta);
                encode_command_body(&command_body(b"INITIATE", &[&meta]), out);
                self.state = ClientState::ExpectReady;
                Ok(MechanismStep::Continue)
            }
            (b"READY", ClientState::ExpectReady) => {
                Ok(MechanismStep::Done(Metadata::decode(data)?))
            }
            (_, ClientState::ExpectWelcome) => Err(unexpected("WELCOME", &body)),
            (_, ClientState::ExpectReady) => Err(unexpected("READY", &body)),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum ServerState {
    ExpectHello,
    Judging,
    ExpectInitiate,
}

/// The server side of PLAIN: takes a client's user name and password to the authenticator
/// ([`MechanismStep::Authenticate`]), and lets it in only when that allows it.
#[derive(Debug)]
pub struct PlainServer {
    ours: Metadata,
    state: ServerState,
}

impl PlainServer {
    /// A PLAIN server.
    pub fn new() -> Self {
        PlainServer {
            ours: Metadata::default(),
            state: ServerState::ExpectHello,
        }
    }
}

impl Default for PlainServer {
    fn default() -> Self {
        Self::new()
    }
}

impl Mechanism for PlainServer {
    fn name(&self) -> &str {
        "PLAIN"
    }

    fn as_server(&self) -> bool {
        true
    }

    fn start(&mut self, ours: &Metadata, _out: &mut BytesMut) -> MechanismStep {
        self.ours = ours.clone();
        MechanismStep::Continue
    }

    fn handle_command(
        &mut self,
        body: Bytes,
        out: &mut BytesMut,
    ) -> Result<MechanismStep, ProtocolError> {
        let (name, data) = split_command(&body).ok_or_else(|| malformed("?", "truncated"))?;
        match (name, &self.state) {
            (b"ERROR", _) => Err(peer_error(data)),
            (b"HELLO", ServerState::ExpectHello) => {
                let bad = || malformed("HELLO", "user name or password truncated");
                let ulen = *data.first().ok_or_else(bad)? as usize;
                let user = data.get(1..1 + ulen).ok_or_else(bad)?;
                let plen = *data.get(1 + ulen).ok_or_else(bad)? as usize;
                let pass = data.get(2 + ulen..2 + ulen + plen).ok_or_else(bad)?;
                if data.len() != 2 + ulen + plen {
                    return Err(malformed("HELLO", "bytes after the password"));
                }
                // not UTF-8: refused, rather than mapped to a lookalike
                let text = |b: &[u8]| {
                    std::str::from_utf8(b)
                        .map(str::to_string)
                        .map_err(|_| malformed("HELLO", "user name or password is not UTF-8"))
                };
                self.state = ServerState::Judging;
                Ok(MechanismStep::Authenticate(Credentials::Plain {
                    username: text(user)?,
                    password: Zeroizing::new(text(pass)?),
                }))
            }
            (b"INITIATE", ServerState::ExpectInitiate) => {
                let theirs = Metadata::decode(data)?;
                let mut meta = BytesMut::new();
                self.ours.encode(&mut meta);
                encode_command_body(&command_body(b"READY", &[&meta]), out);
                Ok(MechanismStep::Done(theirs))
            }
            (_, ServerState::ExpectHello | ServerState::Judging) => Err(unexpected("HELLO", &body)),
            (_, ServerState::ExpectInitiate) => Err(unexpected("INITIATE", &body)),
        }
    }

    /// libzmq 4.3's PLAIN writes ERROR's name with a C escape that swallows the `E`
    /// (`"\x05ERROR"` is 0x5e, `RROR`), and its PLAIN client accepts only that form: a refused
    /// libzmq client reports the status code only when it is sent so. (Ours reads both.)
    fn encode_error(&self, reason: &str, out: &mut BytesMut) {
        let reason = &reason.as_bytes()[..reason.len().min(255)];
        let mut body = Vec::with_capacity(6 + reason.len());
        body.extend_from_slice(b"\x5eRROR");
        body.push(reason.len() as u8);
        body.extend_from_slice(reason);
        encode_command_body(&body, out);
    }

    fn allowed(&mut self, out: &mut BytesMut) -> Result<MechanismStep, ProtocolError> {
        encode_command_body(&command_body(b"WELCOME", &[]), out);
        self.state = ServerState::ExpectInitiate;
        Ok(MechanismStep::Continue)
    }
}
