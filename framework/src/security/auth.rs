//! Authentication, in RFC 27/ZAP's model but in-process: an [`Authenticator`] judges each
//! peer's handshake; [`Auth`] is the ready-made one (addresses, passwords, CURVE keys).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, RwLock};

use zeroize::Zeroizing;

use super::{Credentials, CurvePublicKey, Verdict};

/// What the authenticator is asked about a peer (a ZAP request).
#[derive(Clone, Debug)]
pub struct AuthRequest {
    /// The socket's `zap_domain` (may be empty).
    pub domain: String,
    /// The peer's address (`127.0.0.1:40112` over tcp; the socket path over ipc).
    pub address: String,
    /// What the peer presented (its mechanism tells which).
    pub credentials: Credentials,
}

impl AuthRequest {
    /// The IP address part of [`AuthRequest::address`], if it is one.
    pub fn ip(&self) -> Option<std::net::IpAddr> {
        self.address
            .parse::<std::net::SocketAddr>()
            .map(|a| a.ip())
            .ok()
            .or_else(|| self.address.parse().ok())
    }
}

/// A verdict to come.
pub type VerdictFuture = Pin<Box<dyn Future<Output = Verdict> + Send>>;

/// Judges peers' handshakes, as a ZAP handler does. Install one on a socket
/// ([`crate::SocketOptions::authenticator`]) or for every socket of a `zap_domain`
/// ([`install`]). Any `Fn(AuthRequest) -> impl Future<Output = Verdict>` is one:
///
/// ```
/// use actormq::security::{AuthRequest, Credentials, Verdict};
/// use actormq::SocketOptions;
///
/// let opts = SocketOptions::default().plain_server(true).authenticator(|req: AuthRequest| async move {
///     match req.credentials {
///         Credentials::Plain { username, password } if username == "admin" && *password == "secret" => {
///             Verdict::Allow { user_id: Some("the admin".into()) }
///         }
///         _ => Verdict::deny("wrong user name or password"),
///     }
/// });
/// assert!(opts.authenticator.is_some());
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// The verdict on one peer.
    fn authenticate(&self, request: AuthRequest) -> VerdictFuture;
}

impl<F, Fut> Authenticator for F
where
    F: Fn(AuthRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Verdict> + Send + 'static,
{
    fn authenticate(&self, request: AuthRequest) -> VerdictFuture {
        Box::pin(self(request))
    }
}

/// An installed authenticator, as a socket option holds it (compared by identity).
#[derive(Clone)]
pub struct AuthenticatorRef(
    pub(crate) Arc<dyn Authenticator>,
    pub(crate) Option<Arc<Auth>>,
);

impl AuthenticatorRef {
    /// Wraps a user's authenticator.
    pub fn new(auth: impl Authenticator) -> Self {
        AuthenticatorRef(Arc::new(auth), None)
    }

    /// Wraps the rule-based [`Auth`] (which the named options can then extend).
    pub fn rules(auth: Auth) -> Self {
        let auth = Arc::new(auth);
        AuthenticatorRef(auth.clone(), Some(auth))
    }

    /// The rules, when this is an [`Auth`].
    pub fn as_rules(&self) -> Option<&Auth> {
        self.1.as_deref()
    }

    /// Asks for a verdict.
    pub fn authenticate(&self, request: AuthRequest) -> VerdictFuture {
        self.0.authenticate(request)
    }
}

impl std::fmt::Debug for AuthenticatorRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.1 {
            Some(rules) => rules.fmt(f),
            None => f.write_str("Authenticator(user's)"),
        }
    }
}

impl PartialEq for AuthenticatorRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for AuthenticatorRef {}

/// The ready-made authenticator, after CZMQ's `zauth`: addresses allowed or denied, PLAIN
/// users and passwords, CURVE client keys.
///
/// - **Addresses** (every mechanism, NULL included): with an allow list, only those IPs
///   pass; an IP on the deny list never does.
/// - **PLAIN**: the user name and password must be among [`Auth::plain_user`]s (or a
///   [`Auth::plain_password_file`]); with none, every PLAIN peer is denied.
/// - **CURVE**: once [`Auth::curve_key`] or [`Auth::curve_key_dir`] is called, only those
///   client keys pass (a directory with no key in it is an error, never "allow any");
///   before, any client that completes the handshake does (libzmq's `CURVE_ALLOW_ANY`).
///
/// ```
/// use actormq::security::{Auth, AuthRequest, Credentials, Verdict};
/// # use actormq::security::Authenticator;
/// # futures_executor_stub::run(async {
/// let auth = Auth::new().allow("127.0.0.1").plain_user("admin", "secret");
/// let ask = |address: &str, user: &str, pass: &str| auth.authenticate(AuthRequest {
///     domain: String::new(),
///     address: address.into(),
///     credentials: Credentials::Plain { username: user.into(), password: pass.to_string().into() },
/// });
/// assert!(matches!(ask("127.0.0.1:4000", "admin", "secret").await, Verdict::Allow { .. }));
/// assert!(matches!(ask("127.0.0.1:4000", "admin", "guess").await, Verdict::Deny { .. }));
/// assert!(matches!(ask("10.0.0.9:4000", "admin", "secret").await, Verdict::Deny { .. }));
/// # });
/// # mod futures_executor_stub { pub fn run(f: impl std::future::Future<Output = ()>) { actix::System::new().block_on(f) } }
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Auth {
    /// IPs, canonical (an IPv4-mapped IPv6 address is its IPv4 address); an entry that is
    /// not an IP (an ipc path) is kept as text.
    allow: HashSet<String>,
    deny: HashSet<String>,
    passwords: HashMap<String, Zeroizing<String>>,
    /// `None`: any client key; `Some`: only these (even if none are left).
    curve_keys: Option<HashSet<CurvePublicKey>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("allow", &self.allow)
            .field("deny", &self.deny)
            .field("plain_users", &self.passwords.keys().collect::<Vec<_>>())
            .field("curve_keys", &self.curve_keys.as_ref().map(HashSet::len))
            .finish()
    }
}

impl Auth {
    /// An authenticator with no rules: any address, no PLAIN user, any CURVE client.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows this IP address (once any is allowed, only allowed ones pass).
    #[must_use]
    pub fn allow(mut self, ip: impl Into<String>) -> Self {
        self.allow.insert(canonical(&ip.into()));
        self
    }

    /// Denies this IP address.
    #[must_use]
    pub fn deny(mut self, ip: impl Into<String>) -> Self {
        self.deny.insert(canonical(&ip.into()));
        self
    }

    /// Accepts this PLAIN user name with this password.
    #[must_use]
    pub fn plain_user(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.passwords
            .insert(username.into(), Zeroizing::new(password.into()));
        self
    }

    /// Accepts the users of a password file: one `user=password` a line; blank lines and
    /// lines starting with `#` are skipped (CZMQ's format).
    pub fn plain_password_file(
        mut self,
        path: impl AsRef<std::path::Path>,
    ) -> std::io::Result<Self> {
        let path = path.as_ref();
        let text = Zeroizing::new(std::fs::read_to_string(path)?);
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, pass)) = line.split_once('=') else {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}:{}: not user=password", path.display(), n + 1),
                ));
            };
            self = self.plain_user(user.trim(), pass.trim());
        }
        Ok(self)
    }

    /// Accepts this CURVE client key (once any is given, only given ones pass).
    #[must_use]
    pub fn curve_key(mut self, key: CurvePublicKey) -> Self {
        self.curve_keys.get_or_insert_with(HashSet::new).insert(key);
        self
    }

    /// Accepts the client keys in a directory of certificates (`*.pub` or secret ones, as
    /// `actormq keygen --out` and CZMQ's `zcert` write them) or in a file of Z85 keys, one a
    /// line.
    pub fn curve_key_dir(mut self, path: impl AsRef<std::path::Path>) -> std::io::Result<Self> {
        let path = path.as_ref();
        let keys = super::files::public_keys(path)?;
        if keys.is_empty() {
            // an empty allow-list must not become "allow any"
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: no CURVE public key in it", path.display()),
            ));
        }
        self.curve_keys
            .get_or_insert_with(HashSet::new)
            .extend(keys);
        Ok(self)
    }

    fn judge(&self, request: &AuthRequest) -> Verdict {
        let ip = canonical(&request.address);
        if self.deny.contains(&ip) {
            return Verdict::deny(format!("address {ip} is denied"));
        }
        if !self.allow.is_empty() && !self.allow.contains(&ip) {
            return Verdict::deny(format!("address {ip} is not allowed"));
        }
        match &request.credentials {
            Credentials::Null => Verdict::allow(),
            Credentials::Plain { username, password } => match self.passwords.get(username) {
                Some(expected) if constant_time_eq(expected.as_bytes(), password.as_bytes()) => {
                    Verdict::allow()
                }
                Some(_) => Verdict::deny(format!("wrong password for user {username:?}")),
                None if self.passwords.is_empty() => Verdict::deny("no PLAIN users are configured"),
                None => Verdict::deny(format!("unknown user {username:?}")),
            },
            Credentials::Curve { client_key } => {
                if self
                    .curve_keys
                    .as_ref()
                    .is_none_or(|keys| keys.contains(client_key))
                {
                    Verdict::allow()
                } else {
                    Verdict::deny(format!("client key {client_key} is not allowed"))
                }
            }
        }
    }
}

/// An address as the lists compare it: the IP of `ip:port` or of a bare IP, canonical (IPv6
/// in its one textual form, an IPv4-mapped IPv6 address as IPv4); anything else as it is.
fn canonical(address: &str) -> String {
    let ip = address
        .parse::<std::net::SocketAddr>()
        .map(|a| a.ip())
        .ok()
        .or_else(|| address.trim_matches(|c| c == '[' || c == ']').parse().ok());
    match ip {
        Some(ip) => ip.to_canonical().to_string(),
        None => address.to_string(),
    }
}

/// Compares secrets in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Authenticator for Auth {
    fn authenticate(&self, request: AuthRequest) -> VerdictFuture {
        let verdict = self.judge(&request);
        Box::pin(std::future::ready(verdict))
    }
}

type Registry = RwLock<HashMap<String, Arc<dyn Authenticator>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Installs `auth` for every socket of this process whose `zap_domain` is `domain` and that
/// has no authenticator of its own (as a ZAP handler serves a domain); replaces the one
/// installed before.
///
/// ```
/// use actormq::security::{install, uninstall, Auth};
///
/// install("internal", Auth::new().allow("127.0.0.1"));
/// uninstall("internal");
/// ```
pub fn install(domain: &str, auth: impl Authenticator) {
    registry()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(domain.to_string(), Arc::new(auth));
}

/// Removes the authenticator of `domain`.
pub fn uninstall(domain: &str) {
    registry()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .remove(domain);
}

/// The authenticator installed for `domain`.
pub(crate) fn installed(domain: &str) -> Option<Arc<dyn Authenticator>> {
    registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(domain)
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(auth: &Auth, address: &str, credentials: Credentials) -> Verdict {
        auth.judge(&AuthRequest {
            domain: String::new(),
            address: address.into(),
            credentials,
        })
    }

    #[test]
    fn addresses_compare_in_canonical_form() {
        let auth = Auth::new().deny("2001:DB8::1").deny("10.0.0.9");
        for peer in ["[2001:db8::1]:5000", "10.0.0.9:1", "[::ffff:10.0.0.9]:7"] {
            assert!(
                matches!(ask(&auth, peer, Credentials::Null), Verdict::Deny { .. }),
                "{peer}"
            );
        }
        assert_eq!(
            ask(&auth, "10.0.0.8:1", Credentials::Null),
            Verdict::allow()
        );
    }

    #[test]
    fn a_key_list_never_becomes_allow_any() {
        let dir = std::env::temp_dir().join(format!("actormq-empty-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = Auth::new().curve_key_dir(&dir).unwrap_err();
        assert!(e.to_string().contains("no CURVE public key"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
        let key = CurvePublicKey::from_bytes([9; 32]);
        let only = Auth::new().curve_key(key);
        let other = Credentials::Curve {
            client_key: CurvePublicKey::from_bytes([8; 32]),
        };
        assert!(matches!(
            ask(&only, "1.2.3.4:5", other.clone()),
            Verdict::Deny { .. }
        ));
        assert_eq!(ask(&Auth::new(), "1.2.3.4:5", other), Verdict::allow());
    }
}
