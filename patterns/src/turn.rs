//! The send/receive alternation of REQ and REP: the one state of whose turn it is.
//!
//! The alternation belongs where the application calls send and receive, so that a call out
//! of turn is an immediate error (libzmq's EFSM) rather than a hang or a silent drop. Who that
//! is depends on the host:
//!
//! - used on its own (sans-IO), a [`crate::Req`] is the application's boundary: its
//!   [`Pattern::send`](crate::Pattern::send) checks and advances its [`Turn`], and accepting
//!   the reply in [`Pattern::recv`](crate::Pattern::recv) ends the turn;
//! - a host with a handle in the application's hands (the actormq framework's `Socket`, whose
//!   pattern runs in an actor behind queues) takes the turn with
//!   [`Pattern::take_turn`](crate::Pattern::take_turn) and checks it on that handle, at the
//!   application's calls; the pattern then leaves it alone. The state is atomic and the
//!   checks lock-free, so the handle can be shared between threads.
//!
//! Either way there is one turn state and one owner of it at a time. A REP has no turn state
//! of its own: it keeps the envelopes of the requests it passed on and replies with the oldest,
//! so that requests queued for the application are answered in order; a reply with no
//! envelope left is refused as a routing failure.

use std::sync::atomic::{AtomicBool, Ordering};

use actormq_transports::SocketType;

/// Whose turn it is on a REQ or REP socket; other types always may receive, and may send
/// unless they never send (SUB, PULL).
///
/// ```
/// use actormq_patterns::Turn;
/// use actormq_transports::SocketType;
///
/// let req = Turn::new(SocketType::Req, false);
/// assert!(req.check_recv().is_err()); // nothing asked yet
/// req.sent();
/// assert!(req.check_send().is_err()); // the reply first
/// req.received();
/// assert!(req.check_send().is_ok());
/// ```
#[derive(Debug)]
pub struct Turn {
    socket_type: SocketType,
    /// `req_relaxed`: a REQ may send again before the reply came.
    relaxed: bool,
    /// REQ: a request is out and its reply not yet received. REP: a request was received and
    /// not yet answered.
    pending: AtomicBool,
}

impl Turn {
    /// The turn of a socket of `socket_type`, at the start (REQ: to send; REP: to receive).
    /// `relaxed` is `ZMQ_REQ_RELAXED`: a REQ may send again before the reply came.
    pub fn new(socket_type: SocketType, relaxed: bool) -> Self {
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
    pub fn check_send(&self) -> Result<(), &'static str> {
        match self.socket_type {
            SocketType::Req if self.pending() && !self.relaxed => {
                Err("the last request has not been answered: receive its reply first (or set req_relaxed)")
            }
            SocketType::Rep if !self.pending() => Err("there is no request to reply to: receive one first"),
            SocketType::Sub | SocketType::Pull => Err("this socket type cannot send"),
            _ => Ok(()),
        }
    }

    /// Takes the turn to send, if the application may send now (else why not), in one atomic
    /// step: two tasks sending on one strict REQ (or one REP) cannot both pass, as they could
    /// between [`Turn::check_send`] and [`Turn::sent`]. Give it back with
    /// [`Turn::unclaim_send`] if the message was not sent after all.
    pub fn claim_send(&self) -> Result<(), &'static str> {
        self.check_send()?;
        let claim = |from: bool| {
            self.pending
                .compare_exchange(from, !from, Ordering::AcqRel, Ordering::Acquire)
                .map(|_| ())
        };
        match self.socket_type {
            SocketType::Req if !self.relaxed => claim(false).map_err(|_| {
                "the last request has not been answered: receive its reply first (or set req_relaxed)"
            }),
            SocketType::Rep => {
                claim(true).map_err(|_| "there is no request to reply to: receive one first")
            }
            _ => {
                self.sent();
                Ok(())
            }
        }
    }

    /// Gives back a turn taken with [`Turn::claim_send`] whose message was not sent.
    pub fn unclaim_send(&self) {
        match self.socket_type {
            SocketType::Req if !self.relaxed => self.pending.store(false, Ordering::Release),
            SocketType::Rep => self.pending.store(true, Ordering::Release),
            _ => {}
        }
    }

    /// Why the application may not receive now, if it may not.
    pub fn check_recv(&self) -> Result<(), &'static str> {
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

    /// The application sent a message.
    pub fn sent(&self) {
        match self.socket_type {
            SocketType::Req => self.pending.store(true, Ordering::Release),
            SocketType::Rep => self.pending.store(false, Ordering::Release),
            _ => {}
        }
    }

    /// The application received a message.
    pub fn received(&self) {
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

    #[test]
    fn only_one_of_two_racing_senders_takes_the_turn() {
        let req = Turn::new(SocketType::Req, false);
        assert!(req.claim_send().is_ok());
        assert!(req.claim_send().is_err());
        req.unclaim_send();
        assert!(req.claim_send().is_ok());
        assert!(req.check_recv().is_ok());

        let rep = Turn::new(SocketType::Rep, false);
        assert!(rep.claim_send().is_err());
        rep.received();
        assert!(rep.claim_send().is_ok());
        assert!(rep.claim_send().is_err());
        rep.unclaim_send();
        assert!(rep.claim_send().is_ok());
    }
}
