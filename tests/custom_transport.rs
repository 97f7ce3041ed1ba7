//! Transports defined outside the framework's crates, registered by scheme, with no change
//! anywhere else:
//! - `mem://name`, an in-memory duplex byte stream per connection: it carries ZMTP like TCP;
//! - `chan://name`, a message-level link: whole batches cross a bounded channel, each side
//!   run by the link's own driver, as a broker client would be. PUB/SUB, PUSH/PULL (with
//!   backpressure end to end) and REQ/REP work over it unchanged.

mod common;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex, OnceLock};

use actormq::transports::link::QueueOutbox;
use actormq::transports::{
    register_transport, BoxFuture, BoxedStream, Endpoint, Hello, Inbox, Link, Listener,
    MessageLink, Result, Started, Transport, TransportKind, Wake,
};
use actormq::{Multipart, Socket, SocketOptions, SocketType};
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

/// What crosses a `chan://` connection.
enum ChanMsg {
    Hello(Hello),
    Refused(String),
    Batch(VecDeque<Multipart>),
}

/// One end of a `chan://` connection: batches in flight per direction are bounded.
struct ChanLink {
    tx: mpsc::Sender<ChanMsg>,
    rx: mpsc::Receiver<ChanMsg>,
}

fn chan_pair() -> (ChanLink, ChanLink) {
    let (atx, brx) = mpsc::channel(2);
    let (btx, arx) = mpsc::channel(2);
    (ChanLink { tx: atx, rx: arx }, ChanLink { tx: btx, rx: brx })
}

impl MessageLink for ChanLink {
    fn handshake(&mut self, ours: Hello) -> BoxFuture<'_, std::result::Result<Hello, String>> {
        Box::pin(async move {
            let gone = || "peer closed the connection during the handshake".to_string();
            self.tx
                .send(ChanMsg::Hello(ours))
                .await
                .map_err(|_| gone())?;
            match self.rx.recv().await {
                Some(ChanMsg::Hello(theirs)) => Ok(theirs),
                Some(ChanMsg::Refused(why)) => Err(format!("peer refused the connection: {why}")),
                Some(ChanMsg::Batch(_)) => Err("a batch before the hello".to_string()),
                None => Err(gone()),
            }
        })
    }

    fn refuse(&mut self, reason: String) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let _ = self.tx.send(ChanMsg::Refused(reason)).await;
        })
    }

    fn start(
        self: Box<Self>,
        inbox: Arc<dyn Inbox>,
        wake: Wake,
    ) -> BoxFuture<'static, std::result::Result<Started, String>> {
        Box::pin(async move {
            let ChanLink { tx, mut rx } = *self;
            let outbox = QueueOutbox::new(wake);
            let sending = outbox.clone();
            let driver = async move {
                let send = async {
                    loop {
                        let batch = sending.next_batch().await;
                        if tx.send(ChanMsg::Batch(batch)).await.is_err() {
                            return "peer closed the connection".to_string();
                        }
                    }
                };
                let receive = async {
                    loop {
                        match rx.recv().await {
                            Some(ChanMsg::Batch(mut batch)) => {
                                while inbox.len() >= inbox.capacity() {
                                    inbox.room().await;
                                }
                                let n = batch.len();
                                inbox.deliver(&mut batch, n);
                            }
                            Some(_) => return "protocol error: not a batch".to_string(),
                            None => return "peer closed the connection".to_string(),
                        }
                    }
                };
                tokio::select! {
                    r = send => r,
                    r = receive => r,
                }
            };
            Ok(Started {
                outbox,
                driver: Box::pin(driver),
            })
        })
    }
}

type ChanAcceptors = Mutex<HashMap<String, mpsc::UnboundedSender<ChanLink>>>;

fn chan_acceptors() -> &'static ChanAcceptors {
    static A: OnceLock<ChanAcceptors> = OnceLock::new();
    A.get_or_init(Mutex::default)
}

struct Chan;

struct ChanListener {
    endpoint: Endpoint,
    incoming: mpsc::UnboundedReceiver<ChanLink>,
}

impl Listener for ChanListener {
    fn local_endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn accept(&mut self) -> BoxFuture<'_, io::Result<(Link, String)>> {
        Box::pin(async move {
            let link = self
                .incoming
                .recv()
                .await
                .ok_or_else(|| io::Error::other("gone"))?;
            Ok((Link::Messages(Box::new(link)), "chan peer".to_string()))
        })
    }
}

impl Transport for Chan {
    fn scheme(&self) -> &'static str {
        "chan"
    }

    fn kind(&self) -> TransportKind {
        TransportKind::InProcess
    }

    fn bind<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<Box<dyn Listener>>> {
        Box::pin(async move {
            let (tx, incoming) = mpsc::unbounded_channel();
            chan_acceptors().lock().unwrap().insert(name(endpoint), tx);
            Ok(Box::new(ChanListener {
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
            let acceptor = chan_acceptors()
                .lock()
                .unwrap()
                .get(&name(endpoint))
                .cloned()
                .ok_or_else(refused)?;
            let (ours, theirs) = chan_pair();
            acceptor.send(theirs).map_err(|_| refused())?;
            Ok((Link::Messages(Box::new(ours)), endpoint.to_string()))
        })
    }
}

#[test]
fn patterns_work_unchanged_over_a_users_message_level_transport() {
    register_transport(Arc::new(Chan));
    run(30, async {
        // PUSH/PULL with small high-water marks: 3000 messages only get through if the
        // link's outbox and the inbox push back and wake the sender when room returns
        let small = SocketOptions::default().sndhwm(10).rcvhwm(10);
        let pull = Socket::with_options(SocketType::Pull, small.clone()).unwrap();
        pull.bind("chan://work").await.unwrap();
        let push = Socket::with_options(SocketType::Push, small).unwrap();
        push.connect("chan://work").await.unwrap();
        let sender = push.clone();
        actix::spawn(async move {
            for i in 0..3000u32 {
                sender.send(i.to_string()).await.unwrap();
            }
        });
        for i in 0..3000u32 {
            assert_eq!(pull.recv().await.unwrap(), Multipart::from(i.to_string()));
        }

        // PUB/SUB: subscriptions travel upstream as messages, the publisher filters
        let publisher = Socket::new(SocketType::Pub).unwrap();
        publisher.bind("chan://feed").await.unwrap();
        let sub = Socket::new(SocketType::Sub).unwrap();
        sub.connect("chan://feed").await.unwrap();
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

        // REQ/REP: envelopes pass through the link as they are
        let rep = Socket::new(SocketType::Rep).unwrap();
        rep.bind("chan://service").await.unwrap();
        let req = Socket::new(SocketType::Req).unwrap();
        req.connect("chan://service").await.unwrap();
        for i in 0..10 {
            req.send(format!("ping {i}")).await.unwrap();
            assert_eq!(
                rep.recv().await.unwrap(),
                Multipart::from(format!("ping {i}"))
            );
            rep.send(format!("pong {i}")).await.unwrap();
            assert_eq!(
                req.recv().await.unwrap(),
                Multipart::from(format!("pong {i}"))
            );
        }

        // the hello is checked as ZMTP's READY is: an incompatible peer is refused, with why
        let mut monitor = pull.monitor();
        let stray = Socket::new(SocketType::Pub).unwrap();
        stray.connect("chan://work").await.unwrap();
        let reason = disconnect_reason(&mut monitor).await;
        assert!(reason.contains("incompatible"), "{reason}");
    });
}
