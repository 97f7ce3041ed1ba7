//! What a server-side mechanism asks its authenticator, and the answer: the model of RFC
//! 27/ZAP, in-process.

use std::fmt;

use zeroize::Zeroizing;

use super::CurvePublicKey;

/// What a peer presented in its handshake, for the authenticator to judge.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// The NULL mechanism: nothing but the peer's address.
    Null,
    /// PLAIN: a user name and password (the password is wiped from memory when dropped).
    Plain {
        /// The user name.
        username: String,
        /// The password.
        password: Zeroizing<String>,
    },
    /// CURVE: the client's long-term public key, proven by its vouch.
    Curve {
        /// The client's public key.
        client_key: CurvePublicKey,
    },
}

impl Credentials {
    /// The mechanism's name, as in ZAP requests: `NULL`, `PLAIN`, `CURVE`.
    pub fn mechanism(&self) -> &'static str {
        match self {
            Credentials::Null => "NULL",
            Credentials::Plain { .. } => "PLAIN",
            Credentials::Curve { .. } => "CURVE",
        }
    }

    /// The `User-Id` a peer gets when the authenticator does not name one: the PLAIN user
    /// name, or the CURVE client key in Z85 (what CZMQ's `zauth` answers); none for NULL.
    pub fn default_user_id(&self) -> Option<String> {
        match self {
            Credentials::Null => None,
            Credentials::Plain { username, .. } => Some(username.clone()),
            Credentials::Curve { client_key } => Some(client_key.to_z85()),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Null => f.write_str("Null"),
            Credentials::Plain { username, .. } => f
                .debug_struct("Plain")
                .field("username", username)
                .field("password", &"(hidden)")
                .finish(),
            Credentials::Curve { client_key } => f
                .debug_struct("Curve")
                .field("client_key", client_key)
                .finish(),
        }
    }
}

/// An authenticator's answer (ZAP's status codes: 200 allowed; 300 temporary failure; 400
/// denied; 500 internal error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Let the peer in, known as `user_id` (ZAP's `User-Id`; `None`: the credentials'
    /// [default](Credentials::default_user_id)).
    Allow {
        /// The identity the application sees for this peer.
        user_id: Option<String>,
    },
    /// Refuse the peer: it is sent an ERROR with `status` (as libzmq does: `400`), and the
    /// connection closes with `reason` logged on our side.
    Deny {
        /// 300, 400 or 500.
        status: u16,
        /// Why, for our log and monitor (not sent to the peer).
        reason: String,
    },
}

impl Verdict {
    /// Allowed, with the default user id.
    pub fn allow() -> Self {
        Verdict::Allow { user_id: None }
    }

    /// Denied (status 400) for `reason`.
    pub fn deny(reason: impl Into<String>) -> Self {
        Verdict::Deny {
            status: 400,
            reason: reason.into(),
        }
    }
}
