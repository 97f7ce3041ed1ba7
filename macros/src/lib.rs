//! Derive macros for actormq: declare a message type's topic, and publisher, subscriber,
//! pipeline worker and request/reply actors, in a few lines. The framework creates the actor's
//! sockets, binds or connects them, and wires them to the actor when it starts.
//!
//! Each derive parses its attribute, checks it (every error points at the user's tokens and
//! says how to fix it), then expands to code that names the framework through
//! `::actormq::__private`. See the `actormq` README for examples.
#![warn(missing_debug_implementations)]

mod attr;
mod expand;
mod topic;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// `#[derive(Topic)]` with `#[topic = "weather.{zipcode}"]`: the message's topic, fixed or built
/// from fields (`{field}`); its fixed start is what subscribers to the whole type subscribe to.
#[proc_macro_derive(Topic, attributes(topic))]
pub fn derive_topic(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    topic::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// `#[derive(Publisher)]` with `#[publish(Reading, bind = "tcp://*:5556")]` and a field
/// `out: actormq::typed::Outlet<Reading>`: an actor whose outlet publishes `Reading`s once it
/// has started.
#[proc_macro_derive(Publisher, attributes(publish))]
pub fn derive_publisher(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::publisher(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// `#[derive(Subscriber)]` with `#[subscribe(Reading, connect = "tcp://localhost:5556",
/// prefix = "weather.100")]`: an actor that receives each `Reading` in its
/// `Handler<Received<Reading>>`.
#[proc_macro_derive(Subscriber, attributes(subscribe))]
pub fn derive_subscriber(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::subscriber(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// `#[derive(Worker)]` with `#[worker(input = Task, output = Done, pull = "...", push = "...",
/// concurrency = 4)]`: an actor that pulls `Task`s, answers each in its
/// `Handler<Work<Task, Done>>`, and pushes the `Done`s downstream.
///
/// `pull` and `push` are endpoint lists in CZMQ's notation (`@` binds, `>` connects) and a bare
/// endpoint does what CZMQ does for the socket: the PULL socket binds, the PUSH socket connects.
/// `bind = "..."` and `connect = "..."` of the other derives give the direction themselves.
/// Every list is checked at compile time by `actormq_transports::parse_endpoint_list`.
#[proc_macro_derive(Worker, attributes(worker))]
pub fn derive_worker(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::worker(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// `#[derive(Responder)]` with `#[respond(request = Ping, reply = Pong, bind = "...")]`: an
/// actor that answers each `Ping` in its `Handler<Request<Ping, Pong>>`.
#[proc_macro_derive(Responder, attributes(respond))]
pub fn derive_responder(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::responder(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
