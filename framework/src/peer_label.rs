//! What a socket tells of the peer a message came from.

use std::sync::Arc;

/// What [`crate::Socket::recv_from_peer`] tells of the peer a message came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerLabel {
    /// The peer's address (`127.0.0.1:5555`, `ipc:///tmp/x.ipc`, ...; `(gone)` if that peer
    /// has since left).
    pub address: Arc<str>,
    /// The identity the authenticator gave the peer (ZAP's `User-Id`), if one judged it.
    pub user_id: Option<Arc<str>>,
}
