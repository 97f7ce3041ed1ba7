//! Whole actor graphs from configuration: which sockets (type, endpoints, options) and which
//! actors (a kind, a count, which sockets each uses), in a TOML, YAML or JSON file that the
//! environment can override (`ACTORMQ__SOCKETS__TASKS__ENDPOINTS=">tcp://host:5557"`,
//! `ACTORMQ__ACTORS__WORKER__COUNT=8`). The same binary then runs on a laptop over `inproc://`
//! and in production over `tcp://`.
//!
//! ```toml
//! [sockets.jobs]
//! type = "pull"
//! endpoints = "@tcp://*:5557"          # @ binds, > connects (bare: as CZMQ for the type)
//! options = { rcvhwm = 5000 }          # names and units of actormq::OPTIONS
//!
//! [actors.printer]
//! kind = "log"                         # a built-in kind, or one registered from code
//! count = 1
//! sockets = { input = "jobs" }         # role = socket name
//! ```
//!
//! A broken file fails at [`load`] with the file, the key and what is wrong; nothing starts
//! half-configured. [`run`] starts every actor and stops them all on Ctrl-C or SIGTERM (or when
//! an actor asks), closing the sockets within their `linger`.

mod kinds;
mod run;
mod spec;
mod view;

pub use kinds::{ActorInstance, KindFuture, Kinds};
pub use run::run;
pub use spec::{load, ActorSpec, GraphError, GraphSpec, OptionsSpec, SocketSpec};
pub use view::{ActorNode, GraphView, SocketLink, SocketNode};
