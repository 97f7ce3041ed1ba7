//! The security options of a socket: their setters, their names for graph files and the
//! command line, and the mechanism they select.

use std::sync::Arc;

use actormq_transports::zmtp::{
    CurveClient, CurveServer, Mechanism, NullMechanism, PlainClient, PlainServer,
};
use zeroize::Zeroizing;

use super::auth::{Auth, Authenticator, AuthenticatorRef};
use super::{files, CurveKeyPair, CurvePublicKey};
use crate::options::OptionDef;
use crate::SocketOptions;

/// A PLAIN password: wiped from memory when dropped, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub(crate) Zeroizing<String>);

impl Password {
    /// A password.
    pub fn new(text: impl Into<String>) -> Self {
        Password(Zeroizing::new(text.into()))
    }

    /// The password's text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(hidden)")
    }
}

/// The security options by name, for [`SocketOptions::set`] (graph files, `--option`). A
/// secret is read from a file or an environment variable (`..._file`, `..._env`) so that it
/// need not be written inline; the inline forms exist for tests.
pub const SECURITY_OPTIONS: &[OptionDef] = &[
    OptionDef { name: "curve_server", unit: "flag", default: "false", description: "this side is the CURVE server (needs its secret key)" },
    OptionDef { name: "curve_secretkey_file", unit: "path", default: "", description: "our CURVE secret key: a file with the 40-character Z85 key on its first line, or a certificate from `actormq keygen --out`" },
    OptionDef { name: "curve_secretkey_env", unit: "variable", default: "", description: "our CURVE secret key, from this environment variable (Z85)" },
    OptionDef { name: "curve_secretkey", unit: "Z85", default: "", description: "our CURVE secret key inline (prefer the file or variable)" },
    OptionDef { name: "curve_publickey", unit: "Z85", default: "", description: "our CURVE public key: optional, checked against the secret key" },
    OptionDef { name: "curve_serverkey", unit: "Z85", default: "", description: "client: the server's CURVE public key (makes this side a CURVE client)" },
    OptionDef { name: "curve_serverkey_file", unit: "path", default: "", description: "client: the server's public key from a file or certificate" },
    OptionDef { name: "curve_allow", unit: "path", default: "", description: "server: only the client keys of this directory of certificates or file of Z85 keys" },
    OptionDef { name: "plain_server", unit: "flag", default: "false", description: "this side is the PLAIN server" },
    OptionDef { name: "plain_passwords", unit: "path", default: "", description: "server: the users allowed, a file of user=password lines" },
    OptionDef { name: "plain_username", unit: "text", default: "", description: "client: the PLAIN user name (makes this side a PLAIN client)" },
    OptionDef { name: "plain_password_file", unit: "path", default: "", description: "client: the PLAIN password, from the first line of a file" },
    OptionDef { name: "plain_password_env", unit: "variable", default: "", description: "client: the PLAIN password, from this environment variable" },
    OptionDef { name: "plain_password", unit: "text", default: "", description: "client: the PLAIN password inline (prefer the file or variable)" },
    OptionDef { name: "zap_domain", unit: "text", default: "", description: "the authentication domain: the authenticator installed for it judges peers" },
    OptionDef { name: "zap_allow", unit: "IPs", default: "", description: "only these peer IP addresses (comma-separated), for every mechanism" },
    OptionDef { name: "zap_deny", unit: "IPs", default: "", description: "never these peer IP addresses (comma-separated)" },
];

impl SocketOptions {
    /// Makes this socket a CURVE server with `keys` (libzmq's `curve_server` with
    /// `curve_secretkey`). Every client that knows our public key and completes the handshake
    /// is accepted, unless an authenticator says otherwise.
    #[must_use]
    pub fn curve_server(mut self, keys: CurveKeyPair) -> Self {
        self.curve_server = true;
        self.curve_keys = Some(keys);
        self
    }

    /// Makes this socket a CURVE client of the server whose public key is `server_key`,
    /// proving `keys` (libzmq's `curve_serverkey`, `curve_publickey`, `curve_secretkey`).
    #[must_use]
    pub fn curve_client(mut self, server_key: CurvePublicKey, keys: CurveKeyPair) -> Self {
        self.curve_server = false;
        self.curve_serverkey = Some(server_key);
        self.curve_keys = Some(keys);
        self
    }

    /// Makes this socket a PLAIN server (or not).
    #[must_use]
    pub fn plain_server(mut self, on: bool) -> Self {
        self.plain_server = on;
        self
    }

    /// Makes this socket a PLAIN client logging in as `username` with `password`.
    #[must_use]
    pub fn plain_client(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.plain_username = Some(username.into());
        self.plain_password = Some(Password::new(password));
        self
    }

    /// Sets [`SocketOptions::zap_domain`] (chainable).
    #[must_use]
    pub fn zap_domain(mut self, domain: impl Into<String>) -> Self {
        self.zap_domain = domain.into();
        self
    }

    /// Installs `auth` as this socket's authenticator (see [`Authenticator`]).
    #[must_use]
    pub fn authenticator(mut self, auth: impl Authenticator) -> Self {
        self.authenticator = Some(AuthenticatorRef::new(auth));
        self
    }

    /// Installs the rule-based [`Auth`] as this socket's authenticator.
    #[must_use]
    pub fn auth(mut self, auth: Auth) -> Self {
        self.authenticator = Some(AuthenticatorRef::rules(auth));
        self
    }

    /// The rules installed so far by name (`curve_allow`, `plain_passwords`, ...), to extend.
    fn rules(&self) -> Result<Auth, String> {
        match &self.authenticator {
            None => Ok(Auth::new()),
            Some(a) => a.as_rules().cloned().ok_or_else(|| {
                "the socket has an authenticator of its own, which options cannot extend".into()
            }),
        }
    }

    /// Checks that the security options make one consistent mechanism.
    pub(crate) fn check_security(&self) -> Result<(), String> {
        let curve = self.curve_server || self.curve_serverkey.is_some();
        let plain = self.plain_server || self.plain_username.is_some();
        if curve && plain {
            return Err("both CURVE and PLAIN are set: choose one".into());
        }
        if self.curve_server && self.curve_keys.is_none() {
            return Err("a CURVE server needs its secret key (curve_secretkey_file)".into());
        }
        if self.curve_server && self.curve_serverkey.is_some() {
            return Err(
                "curve_server and curve_serverkey are both set: a side is the server or a client"
                    .into(),
            );
        }
        if self.plain_server && self.plain_username.is_some() {
            return Err(
                "plain_server and plain_username are both set: a side is the server or a client"
                    .into(),
            );
        }
        if self.plain_username.is_some() && self.plain_password.is_none() {
            return Err("a PLAIN client needs its password (plain_password_file)".into());
        }
        Ok(())
    }
}

fn read_env(var: &str) -> Result<Zeroizing<String>, String> {
    std::env::var(var)
        .map(Zeroizing::new)
        .map_err(|_| format!("environment variable {var} is not set"))
}

fn read_first_line(path: &str) -> Result<Zeroizing<String>, String> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?);
    Ok(Zeroizing::new(
        text.lines().next().unwrap_or("").trim_end().to_string(),
    ))
}

fn flag(value: &str) -> Result<bool, String> {
    match value.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!(
            "`{value}` is not a boolean (write true, false, 1 or 0)"
        )),
    }
}

/// Sets a security option by name; `None` when `name` is not one.
pub(crate) fn set_security_option(
    o: &mut SocketOptions,
    name: &str,
    value: &str,
) -> Option<Result<(), String>> {
    let secret = |text: &str| -> Result<CurveKeyPair, String> { files::secret_from_text(text) };
    let result = (|| {
        match name {
            "curve_server" => o.curve_server = flag(value)?,
            "curve_secretkey" => o.curve_keys = Some(secret(value)?),
            "curve_secretkey_env" => o.curve_keys = Some(secret(&read_env(value)?)?),
            "curve_secretkey_file" => {
                o.curve_keys = Some(files::read_secret_key(value).map_err(|e| e.to_string())?)
            }
            "curve_publickey" => {
                let public = CurvePublicKey::from_z85(value).map_err(|e| e.to_string())?;
                if o.curve_keys.as_ref().is_some_and(|k| k.public != public) {
                    return Err("does not match the secret key".into());
                }
            }
            "curve_serverkey" => {
                o.curve_serverkey =
                    Some(CurvePublicKey::from_z85(value).map_err(|e| e.to_string())?)
            }
            "curve_serverkey_file" => {
                o.curve_serverkey = Some(files::read_public_key(value).map_err(|e| e.to_string())?)
            }
            "curve_allow" => {
                let auth = o
                    .rules()?
                    .curve_key_dir(value)
                    .map_err(|e| format!("{value}: {e}"))?;
                o.authenticator = Some(AuthenticatorRef::rules(auth));
            }
            "plain_server" => o.plain_server = flag(value)?,
            "plain_passwords" => {
                let auth = o
                    .rules()?
                    .plain_password_file(value)
                    .map_err(|e| format!("{value}: {e}"))?;
                o.authenticator = Some(AuthenticatorRef::rules(auth));
            }
            "plain_username" => o.plain_username = Some(value.to_string()),
            "plain_password" => o.plain_password = Some(Password::new(value)),
            "plain_password_file" => o.plain_password = Some(Password(read_first_line(value)?)),
            "plain_password_env" => o.plain_password = Some(Password(read_env(value)?)),
            "zap_domain" => o.zap_domain = value.to_string(),
            "zap_allow" | "zap_deny" => {
                let mut auth = o.rules()?;
                for ip in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    ip.parse::<std::net::IpAddr>()
                        .map_err(|_| format!("`{ip}` is not an IP address"))?;
                    auth = if name == "zap_allow" {
                        auth.allow(ip)
                    } else {
                        auth.deny(ip)
                    };
                }
                o.authenticator = Some(AuthenticatorRef::rules(auth));
            }
            _ => return Ok(false),
        }
        Ok(true)
    })();
    match result {
        Ok(false) => None,
        Ok(true) => Some(Ok(())),
        Err(e) => Some(Err(e)),
    }
}

/// The mechanism the options select for a tcp/ipc connection, and the authenticator that
/// judges its peers (if any). A CURVE client with no key of its own proves a fresh one.
pub(crate) fn mechanism_for(
    o: &SocketOptions,
) -> (Box<dyn Mechanism>, Option<Arc<dyn Authenticator>>) {
    let auth = o
        .authenticator
        .as_ref()
        .map(|a| a.0.clone())
        .or_else(|| super::installed(&o.zap_domain));
    let mechanism: Box<dyn Mechanism> = if o.curve_server {
        // validate() refuses a server without keys; should one slip through, it fails
        // closed: a fresh key no client knows
        let keys = o.curve_keys.clone().unwrap_or_else(CurveKeyPair::generate);
        Box::new(CurveServer::new(keys))
    } else if let Some(server) = o.curve_serverkey {
        let keys = o.curve_keys.clone().unwrap_or_else(CurveKeyPair::generate);
        Box::new(CurveClient::new(server, keys))
    } else if o.plain_server {
        Box::new(PlainServer::new())
    } else if let Some(user) = &o.plain_username {
        let password = o.plain_password.as_ref().map_or("", |p| p.expose());
        Box::new(PlainClient::new(user.clone(), password))
    } else if auth.is_some() {
        Box::new(NullMechanism::authenticating())
    } else {
        Box::new(NullMechanism::new())
    };
    (mechanism, auth)
}
