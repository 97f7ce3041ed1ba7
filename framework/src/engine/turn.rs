//! The send/receive alternation of REQ and REP, enforced where the application calls, so that
//! a call out of turn is an immediate error (libzmq's EFSM) rather than a hang.

use std::sync::atomic::{AtomicBool, Ordering};

use actormq_transports::SocketType;

/// Whose turn it is on a REQ or REP socket; other types always may send and receive.
#[derive(Debug)]
pub(crate) struct Turn {
    socket_type: SocketType,
    /// `req_relaxed`: a REQ may send again before the reply came.
    relaxed: bool,
    /// REQ: a request is out and its reply not yet received. REP: a request was received and
    /// not yet answered.
    pending: AtomicBool,
}

impl Turn {
    pub(crate) fn new(socket_type: SocketType, relaxed: bool) -> Self {
        Turn {
            socket_type,
            relaxed,
            pending: AtomicBool::new(false),
        }
    }

    fn pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Why the application may not send now, if it may not.
    pub(crate) fn check_send(&self) -> Result<(), &'static str> {
        match self.socket_type {
            SocketType::Req if self.pending() && !self.relaxed => {
                Err("the last request has not been answered: receive its reply first (or set req_relaxed)")
            }
            SocketType::Rep if !self.pending() => Err("there is no request to reply to: receive one first"),
            SocketType::Sub | SocketType::Pull => Err("this socket type cannot send"),
            _ => Ok(()),
        }
    }

    /// Why the application may not receive now, if it may not.
    pub(crate) fn check_recv(&self) -> Result<(), &'static str> {
        match self.socket_type {
            SocketType::Req if !self.pending() => {
                Err("no request is waiting for a reply: send one first")
            }
            SocketType::Rep if self.pending() => {
                Err("the last request has not been answered: send its reply first")
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn sent(&self) {
        match self.socket_type {
            SocketType::Req => self.pending.store(true, Ordering::Release),
            SocketType::Rep => self.pending.store(false, Ordering::Release),
            _ => {}
        }
    }

    pub(crate) fn received(&self) {
        match self.socket_type {
            SocketType::Req => self.pending.store(false, Ordering::Release),
            SocketType::Rep => self.pending.store(true, Ordering::Release),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn req_and_rep_alternate() {
        let req = Turn::new(SocketType::Req, false);
        assert!(req.check_recv().is_err());
        assert!(req.check_send().is_ok());
        req.sent();
        assert!(req.check_send().is_err());
        assert!(req.check_recv().is_ok());
        req.received();
        assert!(req.check_send().is_ok());

        let relaxed = Turn::new(SocketType::Req, true);
        relaxed.sent();
        assert!(relaxed.check_send().is_ok());

        let rep = Turn::new(SocketType::Rep, false);
        assert!(rep.check_send().is_err());
        rep.received();
        assert!(rep.check_recv().is_err());
        rep.sent();
        assert!(rep.check_recv().is_ok());

        assert!(Turn::new(SocketType::Sub, false).check_send().is_err());
        assert!(Turn::new(SocketType::Dealer, false).check_send().is_ok());
    }
}
