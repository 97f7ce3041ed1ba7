//! The shape of a graph, without running it: its actors, its sockets, which actor uses which
//! socket, and which socket talks to which (one binds an endpoint the other connects to). The
//! monitoring endpoint serves it at `/graph`; `actormq graph` draws it.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::graph::GraphSpec;
use crate::{Attach, SocketType};

/// A graph's shape.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GraphView {
    /// The actors, by name.
    pub actors: Vec<ActorNode>,
    /// The sockets (each actor instance has its own socket made from these), by name.
    pub sockets: Vec<SocketNode>,
    /// Socket to socket, in the direction messages flow.
    pub links: Vec<SocketLink>,
}

/// An actor of the graph.
#[derive(Clone, Debug, Serialize)]
pub struct ActorNode {
    /// Its name in the graph file.
    pub name: String,
    /// Its kind (`worker`, ...).
    pub kind: String,
    /// How many instances run.
    pub count: usize,
    /// Its sockets: role → socket name.
    pub sockets: BTreeMap<String, String>,
}

/// A socket of the graph.
#[derive(Clone, Debug, Serialize)]
pub struct SocketNode {
    /// Its name in the graph file.
    pub name: String,
    /// Its type, as ZeroMQ names it (`PUSH`).
    pub socket_type: String,
    /// Its endpoints: `@...` bound, `>...` connected.
    pub endpoints: Vec<String>,
    /// Whether its actor sends through it.
    pub sends: bool,
    /// Whether its actor receives through it.
    pub receives: bool,
}

/// Two sockets that meet at an endpoint.
#[derive(Clone, Debug, Serialize)]
pub struct SocketLink {
    /// The socket messages come from (for a two-way pair: the one that connects).
    pub from: String,
    /// The socket they go to.
    pub to: String,
    /// The endpoint they meet at.
    pub endpoint: String,
    /// Messages flow both ways (REQ/REP, DEALER/ROUTER, PAIR).
    pub both_ways: bool,
}

/// Whether a socket type sends, and whether it receives, application messages.
fn directions(t: SocketType) -> (bool, bool) {
    use SocketType::*;
    match t {
        Push | Pub | XPub => (true, false),
        Pull | Sub | XSub => (false, true),
        _ => (true, true),
    }
}

impl GraphView {
    /// The shape of `spec` (checked when it was loaded).
    ///
    /// ```
    /// # let file = std::env::temp_dir().join(format!("view-doc-{}.toml", std::process::id()));
    /// # std::fs::write(&file, "[sockets.out]\ntype = \"push\"\nendpoints = \"@tcp://127.0.0.1:7000\"\n\
    /// #   [sockets.in]\ntype = \"pull\"\nendpoints = \">tcp://127.0.0.1:7000\"\n\
    /// #   [actors.a]\nkind = \"ventilator\"\nsockets = { output = \"out\" }\n\
    /// #   [actors.b]\nkind = \"log\"\nsockets = { input = \"in\" }\n").unwrap();
    /// use actormq::graph::{load, GraphView, Kinds};
    /// let view = GraphView::of(&load(&file, &Kinds::builtin()).unwrap());
    /// assert_eq!((view.links[0].from.as_str(), view.links[0].to.as_str()), ("out", "in"));
    /// assert!(view.to_dot().contains("\"socket:out\" -> \"socket:in\""));
    /// ```
    pub fn of(spec: &GraphSpec) -> GraphView {
        let mut sockets = Vec::new();
        // endpoint → (socket, its type, bound?)
        let mut at: BTreeMap<String, Vec<(String, SocketType, bool)>> = BTreeMap::new();
        for (name, s) in &spec.sockets {
            let Ok(t) = s.socket_type.parse::<SocketType>() else {
                continue;
            };
            let attached = crate::parse_endpoint_list(&s.endpoints, t).unwrap_or_default();
            let mut endpoints = Vec::new();
            for a in attached {
                let (bound, ep) = match a {
                    Attach::Bind(ep) => (true, ep),
                    Attach::Connect(ep) => (false, ep),
                };
                endpoints.push(format!("{}{ep}", if bound { '@' } else { '>' }));
                at.entry(ep.to_string())
                    .or_default()
                    .push((name.clone(), t, bound));
            }
            let (sends, receives) = directions(t);
            sockets.push(SocketNode {
                name: name.clone(),
                socket_type: t.to_string(),
                endpoints,
                sends,
                receives,
            });
        }
        let mut links = Vec::new();
        for (endpoint, users) in &at {
            for (a, ta, _) in users.iter().filter(|u| u.2) {
                for (b, tb, _) in users.iter().filter(|u| !u.2) {
                    let (a_sends, a_receives) = directions(*ta);
                    let (b_sends, b_receives) = directions(*tb);
                    let both_ways = a_sends && a_receives && b_sends && b_receives;
                    let (from, to) = if both_ways || (b_sends && a_receives && !a_sends) {
                        (b, a)
                    } else {
                        (a, b)
                    };
                    links.push(SocketLink {
                        from: from.clone(),
                        to: to.clone(),
                        endpoint: endpoint.clone(),
                        both_ways,
                    });
                }
            }
        }
        let actors = spec
            .actors
            .iter()
            .map(|(name, a)| ActorNode {
                name: name.clone(),
                kind: a.kind.clone(),
                count: a.count,
                sockets: a.sockets.clone(),
            })
            .collect();
        GraphView {
            actors,
            sockets,
            links,
        }
    }

    /// The graph in Graphviz's DOT language: actors as boxes, sockets as ellipses, arrows in
    /// the direction messages flow.
    pub fn to_dot(&self) -> String {
        let mut dot =
            String::from("digraph actormq {\n  rankdir=TB;\n  node [fontname=\"Helvetica\"];\n");
        let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        for a in &self.actors {
            let count = if a.count > 1 {
                format!(" ×{}", a.count)
            } else {
                String::new()
            };
            let _ = writeln!(
                dot,
                "  \"actor:{}\" [shape=box, style=rounded, label=\"{}{count}\\n({})\"];",
                quote(&a.name),
                quote(&a.name),
                quote(&a.kind)
            );
        }
        let by_name: BTreeMap<&str, &SocketNode> =
            self.sockets.iter().map(|s| (s.name.as_str(), s)).collect();
        for s in &self.sockets {
            let _ = writeln!(
                dot,
                "  \"socket:{}\" [shape=ellipse, label=\"{}\\n{}\\n{}\"];",
                quote(&s.name),
                quote(&s.name),
                s.socket_type,
                quote(&s.endpoints.join(" "))
            );
        }
        for a in &self.actors {
            for (role, socket) in &a.sockets {
                let Some(s) = by_name.get(socket.as_str()) else {
                    continue;
                };
                let (actor, sock) = (quote(&a.name), quote(socket));
                let role = quote(role);
                let _ = match (s.sends, s.receives) {
                    (true, false) => writeln!(
                        dot,
                        "  \"actor:{actor}\" -> \"socket:{sock}\" [label=\"{role}\"];"
                    ),
                    (false, true) => writeln!(
                        dot,
                        "  \"socket:{sock}\" -> \"actor:{actor}\" [label=\"{role}\"];"
                    ),
                    _ => writeln!(
                        dot,
                        "  \"actor:{actor}\" -> \"socket:{sock}\" [label=\"{role}\", dir=both];"
                    ),
                };
            }
        }
        for l in &self.links {
            let both = if l.both_ways { ", dir=both" } else { "" };
            let _ = writeln!(
                dot,
                "  \"socket:{}\" -> \"socket:{}\" [style=dashed, label=\"{}\"{both}];",
                quote(&l.from),
                quote(&l.to),
                quote(&l.endpoint)
            );
        }
        dot.push_str("}\n");
        dot
    }
}
