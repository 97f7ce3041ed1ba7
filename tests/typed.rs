//! The typed layer and the derives, end to end.

mod common;

use std::time::Duration;

use actix::prelude::*;
use actormq::typed::{
    encode, Encoding, OnDecodeError, Outlet, Publisher, Request, Requester, Subscriber, Work,
};
use actormq::{Received, Socket, SocketType, Topic};
use bytes::Bytes;
use common::*;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

#[derive(Serialize, Deserialize, Topic, Debug, Clone, PartialEq)]
#[topic = "weather.{zipcode}"]
struct Reading {
    zipcode: u32,
    celsius: f32,
}

#[derive(Serialize, Deserialize, Topic, Debug, Clone, PartialEq)]
#[topic = "alerts"]
struct Alert {
    text: String,
}

#[test]
fn topics_from_fields_and_fixed() {
    assert_eq!(Reading::PREFIX, "weather.");
    assert_eq!(
        Reading {
            zipcode: 10001,
            celsius: 1.0
        }
        .topic(),
        "weather.10001"
    );
    assert_eq!(Alert::PREFIX, "alerts");
    assert_eq!(Alert { text: "x".into() }.topic(), "alerts");
}

#[test]
fn typed_pub_sub_filters_by_topic_prefix_and_survives_garbage() {
    run(20, async {
        let publisher = Publisher::<Reading>::new(Socket::new(SocketType::Pub).unwrap());
        let ep = publisher.socket().bind("tcp://127.0.0.1:0").await.unwrap();
        let socket = Socket::new(SocketType::Sub).unwrap();
        socket.connect(&ep).await.unwrap();
        let sub = Subscriber::<Reading>::new(socket, "weather.100")
            .await
            .unwrap();
        // wait for the subscription
        loop {
            publisher
                .publish(&Reading {
                    zipcode: 10000,
                    celsius: 0.0,
                })
                .await
                .unwrap();
            if tokio::time::timeout(Duration::from_millis(30), sub.recv())
                .await
                .is_ok()
            {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        while tokio::time::timeout(Duration::from_millis(50), sub.recv())
            .await
            .is_ok()
        {}
        // garbage on a matching topic from the same socket: truncated MessagePack, wrong type
        publisher
            .socket()
            .send(["weather.10055", "\u{93}"])
            .await
            .unwrap();
        let alert = encode(&Alert { text: "hi".into() }, Encoding::Named).unwrap();
        publisher
            .socket()
            .send([Bytes::from_static(b"weather.10066"), alert])
            .await
            .unwrap();
        for zipcode in [10042, 20000, 10099] {
            publisher
                .publish(&Reading {
                    zipcode,
                    celsius: 21.5,
                })
                .await
                .unwrap();
        }
        let mut good = Vec::new();
        let mut bad = Vec::new();
        while let Ok(Ok(got)) = tokio::time::timeout(Duration::from_millis(300), sub.recv()).await {
            match got.value {
                Ok(r) => good.push(r.zipcode),
                Err(failure) => {
                    assert!(failure.peer.starts_with("127.0.0.1:"), "{failure}");
                    assert!(failure.to_string().contains("is not a valid"), "{failure}");
                    bad.push(failure.topic);
                }
            }
        }
        assert_eq!(
            good,
            [10042, 10099],
            "only the subscribed prefix, good messages go on"
        );
        assert_eq!(bad, ["weather.10055", "weather.10066"]);
    });
}

/// An actor that collects readings, and failures when asked to.
struct Collector {
    tx: mpsc::UnboundedSender<Result<u32, String>>,
}

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Handler<Received<Reading>> for Collector {
    type Result = ();
    fn handle(&mut self, msg: Received<Reading>, _ctx: &mut Self::Context) {
        let _ = self.tx.send(
            msg.value
                .map(|r| r.zipcode)
                .map_err(|f| format!("{} from {}", f.topic, f.peer)),
        );
    }
}

#[test]
fn decode_failures_reach_the_actor_or_the_log_as_chosen() {
    run(20, async {
        for policy in [OnDecodeError::Log, OnDecodeError::Deliver] {
            let raw = Socket::new(SocketType::Pub).unwrap();
            let ep = raw.bind("tcp://127.0.0.1:0").await.unwrap();
            let socket = Socket::new(SocketType::Sub).unwrap();
            socket.connect(&ep).await.unwrap();
            let sub = Subscriber::<Reading>::new(socket, "weather.")
                .await
                .unwrap()
                .on_decode_error(policy);
            let (tx, mut rx) = mpsc::unbounded_channel();
            let stream = sub.into_stream();
            Collector::create(move |ctx| {
                ctx.add_message_stream(stream);
                Collector { tx }
            });
            let good = encode(
                &Reading {
                    zipcode: 1,
                    celsius: 2.0,
                },
                Encoding::Compact,
            )
            .unwrap();
            // publish until the first good one arrives, then one bad and one good
            loop {
                raw.send([Bytes::from_static(b"weather.1"), good.clone()])
                    .await
                    .unwrap();
                if tokio::time::timeout(Duration::from_millis(30), rx.recv())
                    .await
                    .is_ok()
                {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            while rx.try_recv().is_ok() {}
            raw.send(["weather.2", "not msgpack at all"]).await.unwrap();
            raw.send([Bytes::from_static(b"weather.3"), good.clone()])
                .await
                .unwrap();
            let first = rx.recv().await.unwrap();
            match policy {
                OnDecodeError::Log => assert_eq!(first, Ok(1)),
                OnDecodeError::Deliver => {
                    let err = first.unwrap_err();
                    assert!(err.starts_with("weather.2 from 127.0.0.1:"), "{err}");
                    assert_eq!(rx.recv().await.unwrap(), Ok(1));
                }
            }
        }
    });
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Ping {
    text: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Pong {
    text: String,
}

#[derive(actormq::Responder)]
#[respond(request = Ping, reply = Pong, bind = "inproc://typed-echo")]
struct Echo;

impl Handler<Request<Ping, Pong>> for Echo {
    type Result = MessageResult<Request<Ping, Pong>>;
    fn handle(&mut self, req: Request<Ping, Pong>, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(Pong {
            text: format!("stop saying: {}", req.0.text),
        })
    }
}

#[test]
fn typed_request_reply_with_a_derived_responder() {
    run(20, async {
        Echo.start();
        let req = Socket::new(SocketType::Req).unwrap();
        req.connect("inproc://typed-echo").await.unwrap();
        let mut requester = Requester::<Ping, Pong>::new(req);
        for n in 0..5 {
            let pong = requester
                .request(&Ping {
                    text: format!("message #{n}"),
                })
                .await
                .unwrap();
            assert_eq!(pong.text, format!("stop saying: message #{n}"));
        }
        // a DEALER works as a requester too: it adds the envelope delimiter itself
        let dealer = Socket::new(SocketType::Dealer).unwrap();
        dealer.connect("inproc://typed-echo").await.unwrap();
        let mut via_dealer = Requester::<Ping, Pong>::new(dealer);
        let pong = via_dealer
            .request(&Ping {
                text: "from a dealer".into(),
            })
            .await
            .unwrap();
        assert_eq!(pong.text, "stop saying: from a dealer");
        // a reply of the wrong shape is a decode error naming the type, not a panic
        let mut wrong = Requester::<Ping, Reading>::new(requester.socket().clone());
        let err = wrong
            .request(&Ping { text: "x".into() })
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is not a valid") && err.contains("Reading"),
            "{err}"
        );
    });
}

#[derive(actormq::Publisher)]
#[publish(Reading, bind = "inproc://derived-feed", on_start = "feed")]
struct Station {
    out: Outlet<Reading>,
}

impl Station {
    fn feed(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(Duration::from_millis(5), |act, _ctx| {
            if let Some(p) = act.out.publisher() {
                actix::spawn(async move {
                    for zipcode in [10001, 10002, 20001] {
                        let _ = p
                            .publish(&Reading {
                                zipcode,
                                celsius: 20.0,
                            })
                            .await;
                    }
                });
            }
        });
    }
}

#[derive(actormq::Subscriber)]
#[subscribe(Reading, connect = "inproc://derived-feed", prefix = "weather.1000")]
struct Dashboard {
    tx: mpsc::UnboundedSender<u32>,
}

impl Handler<Received<Reading>> for Dashboard {
    type Result = ();
    fn handle(&mut self, msg: Received<Reading>, _ctx: &mut Self::Context) {
        if let Ok(r) = msg.value {
            let _ = self.tx.send(r.zipcode);
        }
    }
}

#[test]
fn derived_publisher_and_subscriber_actors() {
    run(20, async {
        Station {
            out: Outlet::default(),
        }
        .start();
        let (tx, mut rx) = mpsc::unbounded_channel();
        Dashboard { tx }.start();
        let mut seen = std::collections::BTreeSet::new();
        while seen.len() < 2 {
            let z = rx.recv().await.unwrap();
            assert!(
                z == 10001 || z == 10002,
                "zipcode {z} is outside weather.1000"
            );
            seen.insert(z);
        }
    });
}

#[derive(Serialize, Deserialize, Topic, Debug, Clone)]
#[topic = "task"]
struct Task {
    n: u64,
}

#[derive(Serialize, Deserialize, Topic, Debug, Clone)]
#[topic = "square"]
struct Square {
    n: u64,
    square: u64,
    worker: String,
}

#[derive(actormq::Worker)]
#[worker(input = Task, output = Square, pull = ">inproc://squares-in", push = "inproc://squares-out", concurrency = 2)]
struct Squarer {
    name: String,
}

impl Handler<Work<Task, Square>> for Squarer {
    type Result = MessageResult<Work<Task, Square>>;
    fn handle(&mut self, task: Work<Task, Square>, _ctx: &mut Self::Context) -> Self::Result {
        let n = task.0.n;
        MessageResult(Square {
            n,
            square: n * n,
            worker: self.name.clone(),
        })
    }
}

#[test]
fn derived_workers_share_a_pipeline() {
    run(20, async {
        let ventilator = Publisher::<Task>::new(Socket::new(SocketType::Push).unwrap());
        ventilator
            .socket()
            .bind("inproc://squares-in")
            .await
            .unwrap();
        let sink_socket = Socket::new(SocketType::Pull).unwrap();
        sink_socket.bind("inproc://squares-out").await.unwrap();
        let sink = Subscriber::<Square>::new(sink_socket, "").await.unwrap();
        for name in ["a", "b"] {
            Squarer { name: name.into() }.start();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        for n in 0..100 {
            ventilator.publish(&Task { n }).await.unwrap();
        }
        let mut total = 0;
        let mut workers = std::collections::BTreeSet::new();
        for _ in 0..100 {
            let sq = sink.recv().await.unwrap().value.unwrap();
            assert_eq!(sq.square, sq.n * sq.n);
            total += sq.n;
            workers.insert(sq.worker);
        }
        assert_eq!(total, (0..100).sum::<u64>());
        assert_eq!(workers.len(), 2, "both workers served");
    });
}
