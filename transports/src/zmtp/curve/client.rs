//! The client side of CURVE: knows the server's public key, proves its own long-term key.

use bytes::{BufMut, Bytes, BytesMut};
use crypto_box::aead::OsRng;
use crypto_box::{SalsaBox, SecretKey};

use super::{crypto, open, random16, seal, CurveKeyPair, CurvePublicKey, Traffic};
use crate::zmtp::mechanism::encode_command_body;
use crate::zmtp::plain::{peer_error, split_command};
use crate::zmtp::{Mechanism, MechanismStep, Metadata, ProtocolError};

enum State {
    /// HELLO sent; our short-term secret, for WELCOME.
    ExpectWelcome {
        short: SecretKey,
    },
    /// INITIATE sent; the short-term box, for READY.
    ExpectReady {
        cipher: SalsaBox,
    },
    Done,
}

/// The client side of CURVE (`curve_serverkey` with `curve_publickey`/`curve_secretkey`).
///
/// ```
/// use actormq_transports::zmtp::{CurveClient, CurveKeyPair, Mechanism};
///
/// let server = CurveKeyPair::generate();
/// let client = CurveClient::new(server.public, CurveKeyPair::generate());
/// assert_eq!(client.name(), "CURVE");
/// assert!(!client.as_server());
/// ```
pub struct CurveClient {
    server: CurvePublicKey,
    keys: CurveKeyPair,
    ours: Metadata,
    state: State,
    /// Our next short nonce (HELLO is 1, INITIATE 2, then the MESSAGEs).
    next_nonce: u64,
    traffic: Option<Traffic>,
}

impl std::fmt::Debug for CurveClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurveClient")
            .field("server", &self.server)
            .field("public", &self.keys.public)
            .field("done", &matches!(self.state, State::Done))
            .finish_non_exhaustive()
    }
}

impl CurveClient {
    /// A client of the server whose public key is `server`, proving `keys`.
    pub fn new(server: CurvePublicKey, keys: CurveKeyPair) -> Self {
        CurveClient {
            server,
            keys,
            ours: Metadata::default(),
            state: State::Done,
            next_nonce: 1,
            traffic: None,
        }
    }

    fn nonce(&mut self) -> [u8; 8] {
        let n = self.next_nonce;
        self.next_nonce += 1;
        n.to_be_bytes()
    }

    fn on_welcome(
        &mut self,
        short: &SecretKey,
        data: &[u8],
        out: &mut BytesMut,
    ) -> Result<SalsaBox, ProtocolError> {
        if data.len() != 16 + 144 {
            return Err(ProtocolError::MalformedCommand {
                command: "WELCOME".into(),
                reason: format!("{} bytes, not 160", data.len()),
            });
        }
        let hello_box = SalsaBox::new(&self.server.to_box_key(), short);
        let plain = open(&hello_box, b"WELCOME-", &data[..16], &data[16..]).ok_or_else(|| {
            crypto("the WELCOME box does not open: the server's key is not the one we were given")
        })?;
        let server_short = super::peer_key(&plain[..32], "the server's short-term key")?;
        let cookie = &plain[32..128];
        // the vouch: our short-term key and the server's long-term key, boxed from our
        // long-term key to the server's short-term key
        let vouch_nonce = random16();
        let mut vouch_plain = [0u8; 64];
        vouch_plain[..32].copy_from_slice(short.public_key().as_bytes());
        vouch_plain[32..].copy_from_slice(self.server.as_bytes());
        let mut vouch = BytesMut::with_capacity(80);
        seal(
            &SalsaBox::new(&server_short, self.keys.secret.box_key()),
            b"VOUCH---",
            &vouch_nonce,
            &vouch_plain,
            &mut vouch,
        );
        let mut initiate_plain = BytesMut::with_capacity(128 + 64);
        initiate_plain.put_slice(self.keys.public.as_bytes());
        initiate_plain.put_slice(&vouch_nonce);
        initiate_plain.put_slice(&vouch);
        self.ours.encode(&mut initiate_plain);
        let cipher = SalsaBox::new(&server_short, short);
        let n = self.nonce();
        let mut body = BytesMut::with_capacity(9 + 96 + 8 + 16 + initiate_plain.len());
        body.put_slice(b"\x08INITIATE");
        body.put_slice(cookie);
        body.put_slice(&n);
        seal(&cipher, b"CurveZMQINITIATE", &n, &initiate_plain, &mut body);
        encode_command_body(&body, out);
        Ok(cipher)
    }
}

impl Mechanism for CurveClient {
    fn name(&self) -> &str {
        "CURVE"
    }

    fn starts_after_greeting(&self) -> bool {
        true
    }

    fn start(&mut self, ours: &Metadata, out: &mut BytesMut) -> MechanismStep {
        self.ours = ours.clone();
        let short = SecretKey::generate(&mut OsRng);
        let n = self.nonce();
        let mut body = BytesMut::with_capacity(200);
        body.put_slice(b"\x05HELLO");
        body.put_slice(&[1, 0]);
        // anti-amplification padding: HELLO is as long as WELCOME
        body.put_bytes(0, 72);
        body.put_slice(short.public_key().as_bytes());
        body.put_slice(&n);
        let hello_box = SalsaBox::new(&self.server.to_box_key(), &short);
        seal(&hello_box, b"CurveZMQHELLO---", &n, &[0u8; 64], &mut body);
        encode_command_body(&body, out);
        self.state = State::ExpectWelcome { short };
        MechanismStep::Continue
    }

    fn handle_command(
        &mut self,
        body: Bytes,
        out: &mut BytesMut,
    ) -> Result<MechanismStep, ProtocolError> {
        let (name, data) = split_command(&body).ok_or_else(|| crypto("a truncated command"))?;
        if name == b"ERROR" {
            return Err(peer_error(data));
        }
        match std::mem::replace(&mut self.state, State::Done) {
            State::ExpectWelcome { short } if name == b"WELCOME" => {
                let cipher = self.on_welcome(&short, data, out)?;
                // the short-term secret is dropped (and wiped) here: only the box remains
                self.state = State::ExpectReady { cipher };
                Ok(MechanismStep::Continue)
            }
            State::ExpectReady { cipher } if name == b"READY" => {
                if data.len() < 8 + 16 {
                    return Err(ProtocolError::MalformedCommand {
                        command: "READY".into(),
                        reason: "shorter than its box".into(),
                    });
                }
                let plain = open(&cipher, b"CurveZMQREADY---", &data[..8], &data[8..])
                    .ok_or_else(|| crypto("the READY box does not open"))?;
                let theirs = Metadata::decode(&plain)?;
                let mut counter = [0u8; 8];
                counter.copy_from_slice(&data[..8]);
                self.traffic = Some(Traffic {
                    cipher,
                    ours: b"CurveZMQMESSAGEC",
                    theirs: b"CurveZMQMESSAGES",
                    next_nonce: self.next_nonce,
                    peer_nonce: u64::from_be_bytes(counter),
                });
                Ok(MechanismStep::Done(theirs))
            }
            State::ExpectWelcome { .. } => Err(unexpected("WELCOME", name)),
            _ => Err(unexpected("READY", name)),
        }
    }

    traffic_methods!();
}

pub(super) fn unexpected(expected: &'static str, name: &[u8]) -> ProtocolError {
    ProtocolError::UnexpectedCommand {
        mechanism: "CURVE",
        expected,
        got: format!("{} command", String::from_utf8_lossy(name)),
    }
}
