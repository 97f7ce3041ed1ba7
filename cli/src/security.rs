//! The security flags every socket command takes, `actormq keygen`, and the report of
//! refused peers on stderr.

use std::collections::HashSet;
use std::path::PathBuf;

use actormq::security::{write_certificate, CurveKeyPair};
use actormq::{DisconnectReason, Socket, SocketEvent, SocketOptions};
use clap::Args;

/// The environment variable a CURVE secret key may come from instead of a file.
pub const SECRET_ENV: &str = "ACTORMQ_CURVE_SECRET";

/// PLAIN and CURVE, from the command line. A secret is never taken from the command line
/// itself: it comes from a file or from the environment.
#[derive(Args, Clone, Debug, Default)]
pub struct SecurityArgs {
    /// This side is the CURVE server (needs our secret key: --curve-secret-file or
    /// ACTORMQ_CURVE_SECRET).
    #[arg(long = "curve-server")]
    pub curve_server: bool,
    /// Our CURVE secret key: a file with the 40-character Z85 secret on its first line, or a
    /// certificate from `actormq keygen --out` (else the ACTORMQ_CURVE_SECRET variable; a
    /// client with neither proves a fresh key).
    #[arg(long = "curve-secret-file", value_name = "F")]
    pub curve_secret_file: Option<PathBuf>,
    /// Client: the server's CURVE public key (40 Z85 characters); makes this side a CURVE
    /// client.
    /// (Z85 keys may start with `-`: taken as the value, not as a flag.)
    #[arg(
        long = "curve-serverkey",
        value_name = "Z85",
        allow_hyphen_values = true
    )]
    pub curve_serverkey: Option<String>,
    /// Server: accept only these client keys (a directory of `.pub` certificates or a file of
    /// Z85 keys, one a line); without it any client with a valid handshake is accepted.
    #[arg(long = "curve-allow", value_name = "DIR|FILE")]
    pub curve_allow: Option<PathBuf>,
    /// Client: log in with PLAIN as this user (with --plain-password-file).
    #[arg(long = "plain-user", value_name = "U")]
    pub plain_user: Option<String>,
    /// Client: the PLAIN password, from the first line of this file.
    #[arg(long = "plain-password-file", value_name = "F")]
    pub plain_password_file: Option<PathBuf>,
    /// This side is the PLAIN server (with --plain-passwords).
    #[arg(long = "plain-server")]
    pub plain_server: bool,
    /// Server: the PLAIN users allowed, a file of `user=password` lines.
    #[arg(long = "plain-passwords", value_name = "F")]
    pub plain_passwords: Option<PathBuf>,
}

fn path(p: &std::path::Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("{}: not a UTF-8 path", p.display()))
}

impl SecurityArgs {
    /// Sets the options these flags ask for.
    pub fn apply(&self, opts: &mut SocketOptions) -> Result<(), String> {
        let set = |opts: &mut SocketOptions, name: &str, value: &str, flag: &str| {
            opts.set(name, value).map_err(|e| format!("--{flag}: {e}"))
        };
        if self.curve_server {
            set(opts, "curve_server", "true", "curve-server")?;
        }
        if let Some(key) = &self.curve_serverkey {
            set(opts, "curve_serverkey", key, "curve-serverkey")?;
        }
        let curve = self.curve_server || self.curve_serverkey.is_some();
        match &self.curve_secret_file {
            Some(f) => set(opts, "curve_secretkey_file", path(f)?, "curve-secret-file")?,
            None if curve && std::env::var_os(SECRET_ENV).is_some() => {
                set(opts, "curve_secretkey_env", SECRET_ENV, "curve-secret-file")?
            }
            None => {}
        }
        if let Some(dir) = &self.curve_allow {
            set(opts, "curve_allow", path(dir)?, "curve-allow")?;
        }
        if self.plain_server {
            set(opts, "plain_server", "true", "plain-server")?;
        }
        if let Some(f) = &self.plain_passwords {
            set(opts, "plain_passwords", path(f)?, "plain-passwords")?;
        }
        if let Some(user) = &self.plain_user {
            set(opts, "plain_username", user, "plain-user")?;
            let Some(f) = &self.plain_password_file else {
                return Err("--plain-user needs --plain-password-file".into());
            };
            set(opts, "plain_password_file", path(f)?, "plain-password-file")?;
        }
        opts.validate().map_err(|e| e.to_string())
    }
}

/// `actormq keygen`: a new CURVE key pair, printed (public key on line 1, secret key on line
/// 2, 40 Z85 characters each) or, with `--out FILE`, written as a certificate pair.
pub fn keygen(out: Option<PathBuf>) -> Result<(), String> {
    let keys = CurveKeyPair::generate();
    match out {
        None => {
            println!("{}", keys.public.to_z85());
            println!("{}", keys.secret.to_z85().as_str());
        }
        Some(file) => {
            write_certificate(&file, &keys).map_err(|e| format!("{}: {e}", file.display()))?;
            eprintln!(
                "actormq: wrote {} (secret, mode 0600) and {}.pub; public key {}",
                file.display(),
                file.display(),
                keys.public
            );
        }
    }
    Ok(())
}

/// Reports on stderr each peer the authenticator refused, and each reason a handshake failed
/// for, once each (a client that keeps being refused retries), while the command goes on
/// serving others.
pub fn report_refusals(socket: &Socket) {
    let mut monitor = socket.monitor();
    actix::spawn(async move {
        let mut told = Told::default();
        while let Ok(event) = monitor.recv().await {
            match event {
                SocketEvent::AuthenticationFailed {
                    peer,
                    mechanism,
                    reason,
                } => {
                    // a refused client retries: once per address (without the port) and reason
                    let host = peer.rsplit_once(':').map_or(peer.as_str(), |(h, _)| h);
                    if told.first(format!("{host} {reason}")) {
                        eprintln!("actormq: refused {peer} ({mechanism}): {reason}");
                    }
                }
                SocketEvent::Disconnected { peer, reason } if is_security(&reason) => {
                    let text = reason.to_string();
                    if told.first(text.clone()) {
                        eprintln!("actormq: {peer}: {text}");
                    }
                }
                _ => {}
            }
        }
    });
}

/// The reasons already printed: at most [`Told::MAX`] of them, so that peers refused for ever
/// new reasons (a fresh key each time) cannot grow the set; past it, one line says so and
/// nothing more is printed.
#[derive(Default)]
struct Told {
    seen: HashSet<String>,
    full: bool,
}

impl Told {
    const MAX: usize = 1000;

    /// Whether `text` is new and may be printed.
    fn first(&mut self, text: String) -> bool {
        if self.seen.contains(&text) || self.full {
            return false;
        }
        if self.seen.len() >= Self::MAX {
            self.full = true;
            eprintln!(
                "actormq: {} distinct refusals reported; further ones are not (see the monitor \
                 or RUST_LOG=actormq=warn)",
                Self::MAX
            );
            return false;
        }
        self.seen.insert(text)
    }
}

/// A handshake failure worth telling the operator: refused by the peer, or a PLAIN or CURVE
/// failure (a wrong key, a mismatched mechanism). Our own refusals are told above.
fn is_security(reason: &DisconnectReason) -> bool {
    use actormq::transports::zmtp::CloseReason;
    matches!(
        reason,
        DisconnectReason::Zmtp(CloseReason::HandshakeFailed(_))
            | DisconnectReason::PeerClosedDuringCurveHandshake(_)
    )
}

#[cfg(test)]
mod tests {
    use super::Told;

    #[test]
    fn the_reasons_told_are_bounded() {
        let mut told = Told::default();
        assert!(told.first("a".into()));
        assert!(!told.first("a".into()));
        for i in 0..5000 {
            told.first(format!("key {i} is not allowed"));
        }
        assert_eq!(told.seen.len(), Told::MAX);
        assert!(!told.first("new".into()));
    }
}
