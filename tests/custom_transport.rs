//! A transport defined outside the framework's crates: `mem://name`, an in-memory duplex byte
//! stream per connection. Registered by scheme, it carries ZMTP like TCP does, and PUB/SUB and
//! PUSH/PULL work over it with no change anywhere else.

mod common;

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, OnceLock};

use actormq::transports::{
    register_transport, BoxFuture, BoxedStream, Endpoint, Link, Listener, Result, Transport,
    TransportKind,
};
use actormq::{Multipart, Socket, SocketType};
use common::*;
use tokio::io::DuplexStream;
use tokio::sync::mpsc;

type Acceptors = Mutex<HashMap<String, mpsc::UnboundedSender<DuplexStream>>>;

fn acceptors() -> &'static Acceptors {
    static A: OnceLock<Acceptors> = OnceLock::new();
    A.get_or_init(Mutex::default)
}

fn name(ep: &Endpoint) -> String {
    match ep {
        Endpoint::Other { address, .. } => address.clone(),
        other => panic!("not a mem:// endpoint: {other}"),
    }
}

struct Mem;

struct MemListener {
    endpoint: Endpoint,
    incoming: mpsc::UnboundedReceiver<DuplexStream>,
}

impl Listener for MemListener {
    fn local_endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn accept(&mut self) -> BoxFuture<'_, io::Result<(Link, String)>> {
        Box::pin(async move {
            let stream = self
                .incoming
                .recv()
                .await
                .ok_or_else(|| io::Error::other("gone"))?;
            Ok((
                Link::Stream(Box::new(stream) as BoxedStream),
                "mem peer".to_string(),
            ))
        })
    }
}

impl Transport for Mem {
    fn scheme(&self) -> &'static str {
        "mem"
    }

    fn kind(&self) -> TransportKind {
        TransportKind::Stream
    }

    fn bind<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<Box<dyn Listener>>> {
        Box::pin(async move {
            let (tx, incoming) = mpsc::unbounded_channel();
            acceptors().lock().unwrap().insert(name(endpoint), tx);
            Ok(Box::new(MemListener {
                endpoint: endpoint.clone(),
                incoming,
            }) as Box<dyn Listener>)
        })
    }

    fn connect<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<(Link, String)>> {
        Box::pin(async move {
            let refused = || actormq::transports::Error::Io {
                action: "connect",
                endpoint: endpoint.to_string(),
                source: io::Error::new(io::ErrorKind::ConnectionRefused, "nothing bound"),
            };
            let acceptor = acceptors()
                .lock()
                .unwrap()
                .get(&name(endpoint))
                .cloned()
                .ok_or_else(refused)?;
            let (ours, theirs) = tokio::io::duplex(64 * 1024);
            acceptor.send(theirs).map_err(|_| refused())?;
            Ok((
                Link::Stream(Box::new(ours) as BoxedStream),
                endpoint.to_string(),
            ))
        })
    }
}

#[test]
fn pub_sub_and_push_pull_over_a_users_own_transport() {
    register_transport(Arc::new(Mem));
    run(20, async {
        let pull = Socket::new(SocketType::Pull).unwrap();
        pull.bind("mem://pipeline").await.unwrap();
        let push = Socket::new(SocketType::Push).unwrap();
        push.connect("mem://pipeline").await.unwrap();
        for i in 0..100 {
            push.send(["task".to_string(), i.to_string()])
                .await
                .unwrap();
        }
        for i in 0..100 {
            assert_eq!(
                pull.recv().await.unwrap(),
                Multipart::from(["task".to_string(), i.to_string()])
            );
        }

        let publisher = Socket::new(SocketType::Pub).unwrap();
        publisher.bind("mem://feed").await.unwrap();
        let sub = Socket::new(SocketType::Sub).unwrap();
        sub.connect("mem://feed").await.unwrap();
        sub.subscribe("news").await.unwrap();
        sync_subscription(&publisher, &sub, "news").await;
        publisher.send(["sport", "filtered"]).await.unwrap();
        publisher.send(["news", "hello"]).await.unwrap();
        loop {
            let m = sub.recv().await.unwrap();
            if m.frames()[1] != "probe" {
                assert_eq!(m, Multipart::from(["news", "hello"]));
                break;
            }
        }
    });
}
