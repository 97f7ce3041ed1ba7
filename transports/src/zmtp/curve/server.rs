//! The server side of CURVE: proves its long-term key, learns the client's and asks the
//! authenticator about it.

use bytes::{BufMut, Bytes, BytesMut};
use crypto_box::aead::OsRng;
use crypto_box::{PublicKey, SalsaBox, SecretKey};
use crypto_secretbox::{KeyInit, XSalsa20Poly1305};

use super::client::unexpected;
use super::{crypto, open, random16, seal, CurveKeyPair, CurvePublicKey, Traffic};
use crate::zmtp::mechanism::encode_command_body;
use crate::zmtp::plain::{peer_error, split_command};
use crate::zmtp::{Credentials, Mechanism, MechanismStep, Metadata, ProtocolError};

/// What the server holds between HELLO and INITIATE. The cookie key and our short-term
/// secret are wiped when this is dropped (at the end of the handshake).
struct Pending {
    client_short: PublicKey,
    short: SecretKey,
    cookie: XSalsa20Poly1305,
    hello_nonce: u64,
}

enum State {
    ExpectHello,
    ExpectInitiate(Box<Pending>),
    /// The authenticator is judging the client; its metadata and our traffic box wait.
    Judging {
        theirs: Metadata,
        cipher: SalsaBox,
        peer_nonce: u64,
    },
    Done,
}

/// The server side of CURVE (`curve_server` with its key pair).
///
/// ```
/// use actormq_transports::zmtp::{CurveKeyPair, CurveServer, Mechanism};
///
/// let server = CurveServer::new(CurveKeyPair::generate());
/// assert_eq!(server.name(), "CURVE");
/// assert!(server.as_server());
/// ```
pub struct CurveServer {
    keys: CurveKeyPair,
    ours: Metadata,
    state: State,
    /// Our next short nonce (READY is 1, then the MESSAGEs).
    next_nonce: u64,
    traffic: Option<Traffic>,
}

impl std::fmt::Debug for CurveServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurveServer")
            .field("public", &self.keys.public)
            .field("done", &matches!(self.state, State::Done))
            .finish_non_exhaustive()
    }
}

fn malformed(command: &str, reason: String) -> ProtocolError {
    ProtocolError::MalformedCommand {
        command: command.into(),
        reason,
    }
}

impl CurveServer {
    /// A server proving `keys`.
    pub fn new(keys: CurveKeyPair) -> Self {
        CurveServer {
            keys,
            ours: Metadata::default(),
            state: State::ExpectHello,
            next_nonce: 1,
            traffic: None,
        }
    }

    fn on_hello(&mut self, data: &[u8], out: &mut BytesMut) -> Result<Pending, ProtocolError> {
        // version (2), padding (72), client short-term key (32), nonce (8), box (80)
        if data.len() != 194 {
            return Err(malformed("HELLO", format!("{} bytes, not 194", data.len())));
        }
        if data[..2] != [1, 0] {
            return Err(malformed(
                "HELLO",
                format!("CurveZMQ version {}.{}, not 1.0", data[0], data[1]),
            ));
        }
        let client_short = super::peer_key(&data[74..106], "the client's short-term key")?;
        let counter = &data[106..114];
        let hello_box = SalsaBox::new(&client_short, self.keys.secret.box_key());
        open(&hello_box, b"CurveZMQHELLO---", counter, &data[114..]).ok_or_else(|| {
            crypto("the HELLO box does not open: the client does not know our public key")
        })?;
        let mut n = [0u8; 8];
        n.copy_from_slice(counter);
        // our short-term pair, and a cookie that only we can open: the client's short-term
        // key and our short-term secret, sealed with a key of this connection
        let short = SecretKey::generate(&mut OsRng);
        let mut cookie_key = [0u8; 32];
        crypto_box::aead::rand_core::RngCore::fill_bytes(&mut OsRng, &mut cookie_key);
        let cookie = XSalsa20Poly1305::new(&cookie_key.into());
        zeroize::Zeroize::zeroize(&mut cookie_key);
        let cookie_nonce = random16();
        let mut cookie_plain = zeroize::Zeroizing::new([0u8; 64]);
        cookie_plain[..32].copy_from_slice(client_short.as_bytes());
        cookie_plain[32..].copy_from_slice(&short.to_bytes());
        let mut welcome_plain = BytesMut::with_capacity(128);
        welcome_plain.put_slice(short.public_key().as_bytes());
        welcome_plain.put_slice(&cookie_nonce);
        seal(
            &cookie,
            b"COOKIE--",
            &cookie_nonce,
            &cookie_plain[..],
            &mut welcome_plain,
        );
        let welcome_nonce = random16();
        let mut body = BytesMut::with_capacity(168);
        body.put_slice(b"\x07WELCOME");
        body.put_slice(&welcome_nonce);
        seal(
            &hello_box,
            b"WELCOME-",
            &welcome_nonce,
            &welcome_plain,
            &mut body,
        );
        encode_command_body(&body, out);
        Ok(Pending {
            client_short,
            short,
            cookie,
            hello_nonce: u64::from_be_bytes(n),
        })
    }

    fn on_initiate(
        &mut self,
        p: &Pending,
        data: &[u8],
    ) -> Result<(State, CurvePublicKey), ProtocolError> {
        // cookie (96), nonce (8), box (at least 16 + 128)
        if data.len() < 96 + 8 + 16 + 128 {
            return Err(malformed(
                "INITIATE",
                format!("{} bytes, shorter than its boxes", data.len()),
            ));
        }
        let cookie = open(&p.cookie, b"COOKIE--", &data[..16], &data[16..96])
            .ok_or_else(|| crypto("the INITIATE cookie is not ours"))?;
        if cookie[..32] != p.client_short.as_bytes()[..] || cookie[32..] != p.short.to_bytes()[..] {
            return Err(crypto("the INITIATE cookie is of another connection"));
        }
        let mut counter = [0u8; 8];
        counter.copy_from_slice(&data[96..104]);
        let n = u64::from_be_bytes(counter);
        if n <= p.hello_nonce {
            return Err(crypto(format!(
                "INITIATE nonce {n} after HELLO's {}",
                p.hello_nonce
            )));
        }
        let cipher = SalsaBox::new(&p.client_short, &p.short);
        let plain = open(&cipher, b"CurveZMQINITIATE", &counter, &data[104..])
            .ok_or_else(|| crypto("the INITIATE box does not open"))?;
        let client_box_key = super::peer_key(&plain[..32], "the client's key")?;
        let client = CurvePublicKey::from_bytes(*client_box_key.as_bytes());
        let vouch = open(
            &SalsaBox::new(&client_box_key, &p.short),
            b"VOUCH---",
            &plain[32..48],
            &plain[48..128],
        )
        .ok_or_else(|| crypto("the vouch does not open: the client does not hold its key"))?;
        if vouch[..32] != p.client_short.as_bytes()[..]
            || vouch[32..] != self.keys.public.as_bytes()[..]
        {
            return Err(crypto("the vouch is for another connection or server"));
        }
        let theirs = Metadata::decode(&plain[128..])?;
        Ok((
            State::Judging {
                theirs,
                cipher,
                peer_nonce: n,
            },
            client,
        ))
    }
}

impl Mechanism for CurveServer {
    fn name(&self) -> &str {
        "CURVE"
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
        let (name, data) = split_command(&body).ok_or_else(|| crypto("a truncated command"))?;
        if name == b"ERROR" {
            return Err(peer_error(data));
        }
        match std::mem::replace(&mut self.state, State::Done) {
            State::ExpectHello if name == b"HELLO" => {
                let pending = self.on_hello(data, out)?;
                self.state = State::ExpectInitiate(Box::new(pending));
                Ok(MechanismStep::Continue)
            }
            State::ExpectInitiate(p) if name == b"INITIATE" => {
                let (judging, client_key) = self.on_initiate(&p, data)?;
                // `p` (our short-term secret, the cookie key) is dropped and wiped here
                drop(p);
                self.state = judging;
                Ok(MechanismStep::Authenticate(Credentials::Curve {
                    client_key,
                }))
            }
            State::ExpectHello => Err(unexpected("HELLO", name)),
            State::ExpectInitiate(_) => Err(unexpected("INITIATE", name)),
            _ => Err(unexpected("nothing during authentication", name)),
        }
    }

    fn allowed(&mut self, out: &mut BytesMut) -> Result<MechanismStep, ProtocolError> {
        let State::Judging {
            theirs,
            cipher,
            peer_nonce,
        } = std::mem::replace(&mut self.state, State::Done)
        else {
            return Ok(MechanismStep::Continue);
        };
        let n = self.next_nonce;
        self.next_nonce += 1;
        let mut meta = BytesMut::new();
        self.ours.encode(&mut meta);
        let mut body = BytesMut::with_capacity(6 + 8 + 16 + meta.len());
        body.put_slice(b"\x05READY");
        body.put_slice(&n.to_be_bytes());
        seal(
            &cipher,
            b"CurveZMQREADY---",
            &n.to_be_bytes(),
            &meta,
            &mut body,
        );
        encode_command_body(&body, out);
        self.traffic = Some(Traffic {
            cipher,
            ours: b"CurveZMQMESSAGES",
            theirs: b"CurveZMQMESSAGEC",
            next_nonce: self.next_nonce,
            peer_nonce,
        });
        Ok(MechanismStep::Done(theirs))
    }

    traffic_methods!();
}
