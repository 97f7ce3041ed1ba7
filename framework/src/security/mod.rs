//! Security: PLAIN and CURVE (as libzmq has them) on tcp:// and ipc://, and authentication in
//! RFC 27/ZAP's model.
//!
//! A socket picks its mechanism from its options, as libzmq does: `curve_server` (with its key
//! pair) makes it a CURVE server, `curve_serverkey` a CURVE client, `plain_server` a PLAIN
//! server, `plain_username` a PLAIN client; otherwise it speaks NULL. A server asks its
//! [`Authenticator`] about every client: the socket's own
//! ([`SocketOptions::authenticator`](crate::SocketOptions::authenticator)) or the one
//! [`install`]ed for its `zap_domain`. A NULL socket with an authenticator judges each peer by
//! its address.
//!
//! ```
//! use actormq::security::{Auth, CurveKeyPair};
//! use actormq::{Multipart, Socket, SocketOptions, SocketType};
//!
//! # actix::System::new().block_on(async {
//! let server_keys = CurveKeyPair::generate();
//! let client_keys = CurveKeyPair::generate();
//! let rep = Socket::with_options(
//!     SocketType::Rep,
//!     SocketOptions::default()
//!         .curve_server(server_keys.clone())
//!         .auth(Auth::new().curve_key(client_keys.public)), // only this client
//! )?;
//! let ep = rep.bind("tcp://127.0.0.1:0").await?;
//! let req = Socket::with_options(
//!     SocketType::Req,
//!     SocketOptions::default().curve_client(server_keys.public, client_keys.clone()),
//! )?;
//! req.connect(&ep).await?;
//! req.send("hello").await?;
//! let (request, peer) = rep.recv_from_peer().await?;
//! assert_eq!(request, Multipart::from(["hello"]));
//! // the authenticated identity: the client's key, in Z85
//! assert_eq!(peer.user_id.as_deref(), Some(client_keys.public.to_z85().as_str()));
//! # Ok::<(), actormq::Error>(())
//! # }).unwrap();
//! ```

mod auth;
mod files;
mod options;

pub use actormq_transports::zmtp::{
    Credentials, CurveKeyPair, CurvePublicKey, CurveSecretKey, KeyError, Verdict,
};
pub use auth::{
    install, uninstall, Auth, AuthRequest, Authenticator, AuthenticatorRef, VerdictFuture,
};
pub use files::{
    public_keys, read_public_key, read_secret_key, secret_from_text, write_certificate,
};
pub use options::{Password, SECURITY_OPTIONS};

pub(crate) use auth::installed;
pub(crate) use options::{mechanism_for, set_security_option};
