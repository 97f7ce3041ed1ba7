//! Request/reply between actormq sockets: REQ, REP, DEALER, ROUTER, the queue device, PAIR.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use actormq::{Device, Multipart, Socket, SocketOptions, SocketType};
use bytes::Bytes;
use common::*;

/// The echo service of our users' designs: "message #n" → "stop saying: message #n".
async fn echo_server(rep: Socket, n: usize) {
    for _ in 0..n {
        let req = rep.recv().await.unwrap();
        let text = text(&req.frames()[0]);
        rep.send(format!("stop saying: {text}")).await.unwrap();
    }
}

#[test]
fn echo_round_trips_either_side_binding() {
    run(20, async {
        for req_binds in [true, false] {
            let req = Socket::new(SocketType::Req).unwrap();
            let rep = Socket::new(SocketType::Rep).unwrap();
            if req_binds {
                let ep = req.bind("tcp://127.0.0.1:0").await.unwrap();
                rep.connect(&ep).await.unwrap();
            } else {
                let ep = rep.bind("tcp://127.0.0.1:0").await.unwrap();
                req.connect(&ep).await.unwrap();
            }
            let server = actix::spawn(echo_server(rep, 10));
            for n in 0..10 {
                req.send(format!("message #{n}")).await.unwrap();
                let reply = req.recv().await.unwrap();
                assert_eq!(reply, Multipart::from(format!("stop saying: message #{n}")));
            }
            server.await.unwrap();
        }
    });
}

#[test]
fn out_of_turn_calls_are_errors_not_hangs() {
    run(10, async {
        let rep = Socket::new(SocketType::Rep).unwrap();
        let ep = rep.bind("tcp://127.0.0.1:0").await.unwrap();
        let req = Socket::new(SocketType::Req).unwrap();
        req.connect(&ep).await.unwrap();
        let err = req.recv().await.unwrap_err().to_string();
        assert!(err.contains("REQ socket: no request is waiting"), "{err}");
        let err = rep.send("unasked").await.unwrap_err().to_string();
        assert!(
            err.contains("REP socket: there is no request to reply to"),
            "{err}"
        );
        req.send("one").await.unwrap();
        let err = req.send("two").await.unwrap_err().to_string();
        assert!(
            err.contains("REQ socket: the last request has not been answered"),
            "{err}"
        );
        assert_eq!(rep.recv().await.unwrap(), Multipart::from("one"));
        let err = rep.recv().await.unwrap_err().to_string();
        assert!(
            err.contains("REP socket: the last request has not been answered"),
            "{err}"
        );
        rep.send("answer").await.unwrap();
        assert_eq!(req.recv().await.unwrap(), Multipart::from("answer"));
    });
}

#[test]
fn req_round_robins_over_its_services() {
    run(20, async {
        let req = Socket::new(SocketType::Req).unwrap();
        let mut monitor = req.monitor();
        let ep = req.bind("tcp://127.0.0.1:0").await.unwrap();
        let mut servers = Vec::new();
        for name in ["a", "b"] {
            let rep = Socket::new(SocketType::Rep).unwrap();
            rep.connect(&ep).await.unwrap();
            servers.push(actix::spawn(async move {
                for _ in 0..5 {
                    rep.recv().await.unwrap();
                    rep.send(name).await.unwrap();
                }
            }));
        }
        handshakes(&mut monitor, 2).await;
        let mut answers = Vec::new();
        for _ in 0..10 {
            req.send("who?").await.unwrap();
            answers.push(text(&req.recv().await.unwrap().frames()[0]));
        }
        assert_eq!(answers.iter().filter(|a| *a == "a").count(), 5);
        assert_ne!(
            answers[0], answers[1],
            "consecutive requests go to different services"
        );
    });
}

#[test]
fn lazy_pirate_gives_up_on_a_lost_reply_and_asks_elsewhere() {
    run(20, async {
        let opts = SocketOptions::default()
            .req_relaxed(true)
            .req_correlate(true);
        let req = Socket::with_options(SocketType::Req, opts).unwrap();
        let mut monitor = req.monitor();
        let ep = req.bind("tcp://127.0.0.1:0").await.unwrap();
        // a service that takes a request and answers only much later
        let slow = Socket::new(SocketType::Rep).unwrap();
        slow.connect(&ep).await.unwrap();
        handshakes(&mut monitor, 1).await;
        let fast = Socket::new(SocketType::Rep).unwrap();
        fast.connect(&ep).await.unwrap();
        handshakes(&mut monitor, 1).await;
        let slow_task = actix::spawn(async move {
            let q = slow.recv().await.unwrap();
            tokio::time::sleep(Duration::from_millis(400)).await;
            slow.send(format!("late answer to {}", text(&q.frames()[0])))
                .await
                .unwrap();
            // then it serves normally
            echo_server(slow, 1).await;
        });
        actix::spawn(echo_server(fast, 2));
        req.send("first try").await.unwrap();
        assert!(
            recv_within(&req, 100).await.is_none(),
            "the slow service answered in time"
        );
        // give up and resend: the next service answers
        req.send("second try").await.unwrap();
        assert_eq!(
            req.recv().await.unwrap(),
            Multipart::from("stop saying: second try")
        );
        // the late answer to the abandoned request arrives meanwhile and is never taken: the
        // next request goes to the slow service again (round robin), and its reply, not the
        // late one queued before it, is what the client gets
        tokio::time::sleep(Duration::from_millis(500)).await;
        req.send("third").await.unwrap();
        let reply = req.recv().await.unwrap();
        assert_eq!(reply, Multipart::from("stop saying: third"));
        slow_task.await.unwrap();
    });
}

#[test]
fn broker_routes_every_reply_to_its_own_client_and_uses_both_workers() {
    run(30, async {
        let (_broker, front, back) = Device::Queue
            .start("tcp://127.0.0.1:0", "tcp://127.0.0.1:0")
            .await
            .unwrap();
        let mut workers = Vec::new();
        for w in 0..2 {
            let rep = Socket::new(SocketType::Rep).unwrap();
            rep.connect(&back).await.unwrap();
            workers.push(actix::spawn(async move {
                let mut served = 0;
                while let Ok(Ok(req)) =
                    tokio::time::timeout(Duration::from_millis(1500), rep.recv()).await
                {
                    // a little work, so that both workers get some
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    rep.send([req.frames()[0].clone(), Bytes::from(format!("worker {w}"))])
                        .await
                        .unwrap();
                    served += 1;
                }
                served
            }));
        }
        let mut clients = Vec::new();
        for c in 0..3 {
            let req = Socket::new(SocketType::Req).unwrap();
            req.connect(&front).await.unwrap();
            clients.push(actix::spawn(async move {
                let mut seen_workers = BTreeSet::new();
                for i in 0..20 {
                    let question = format!("client {c} request {i}");
                    req.send(question.clone()).await.unwrap();
                    let reply = req.recv().await.unwrap();
                    assert_eq!(
                        text(&reply.frames()[0]),
                        question,
                        "a reply reached the wrong client"
                    );
                    seen_workers.insert(text(&reply.frames()[1]));
                }
                seen_workers
            }));
        }
        for c in clients {
            c.await.unwrap();
        }
        let served: Vec<usize> = futures_join(workers).await;
        assert_eq!(served.iter().sum::<usize>(), 60);
        assert!(
            served.iter().all(|&n| n > 0),
            "both workers serve: {served:?}"
        );
    });
}

async fn futures_join<T: 'static>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[test]
fn router_addresses_dealers_by_the_identity_they_announce() {
    run(20, async {
        let router = Socket::new(SocketType::Router).unwrap();
        let ep = router.bind("tcp://127.0.0.1:0").await.unwrap();
        let mut dealers = BTreeMap::new();
        for name in ["alice", "bob"] {
            let opts = SocketOptions::default().routing_id(Bytes::from(name));
            let d = Socket::with_options(SocketType::Dealer, opts).unwrap();
            d.connect(&ep).await.unwrap();
            d.send(["hello from", name]).await.unwrap();
            dealers.insert(name, d);
        }
        let anon = Socket::new(SocketType::Dealer).unwrap();
        anon.connect(&ep).await.unwrap();
        anon.send("anonymous").await.unwrap();
        let mut generated = None;
        for _ in 0..3 {
            let m = router.recv().await.unwrap();
            let id = m.frames()[0].clone();
            if m.frames()[1] == "anonymous" {
                assert_eq!(id.len(), 5);
                assert_eq!(id[0], 0, "generated ids start with a zero byte");
                generated = Some(id);
            } else {
                assert_eq!(m.frames()[2], id, "the prefix is the announced identity");
            }
        }
        router.send(["bob", "for bob"]).await.unwrap();
        router.send(["alice", "for alice"]).await.unwrap();
        router
            .send([generated.unwrap(), Bytes::from("for you")])
            .await
            .unwrap();
        router.send(["nobody", "dropped silently"]).await.unwrap();
        assert_eq!(
            dealers["alice"].recv().await.unwrap(),
            Multipart::from("for alice")
        );
        assert_eq!(
            dealers["bob"].recv().await.unwrap(),
            Multipart::from("for bob")
        );
        assert_eq!(anon.recv().await.unwrap(), Multipart::from("for you"));
    });
}

#[test]
fn router_mandatory_reports_an_unknown_peer() {
    run(10, async {
        let opts = SocketOptions::default().router_mandatory(true);
        let router = Socket::with_options(SocketType::Router, opts).unwrap();
        let ep = router.bind("tcp://127.0.0.1:0").await.unwrap();
        let err = router.send(["ghost", "x"]).await.unwrap_err().to_string();
        assert!(
            err.contains("ROUTER socket: ROUTER: no peer with routing id"),
            "{err}"
        );
        let d = Socket::with_options(
            SocketType::Dealer,
            SocketOptions::default().routing_id(Bytes::from("d")),
        )
        .unwrap();
        d.connect(&ep).await.unwrap();
        d.send("hi").await.unwrap();
        router.recv().await.unwrap();
        router.send(["d", "known"]).await.unwrap();
        assert_eq!(d.recv().await.unwrap(), Multipart::from("known"));
    });
}

#[test]
fn a_duplicate_routing_id_is_refused_with_a_reason() {
    run(10, async {
        let router = Socket::new(SocketType::Router).unwrap();
        let ep = router.bind("tcp://127.0.0.1:0").await.unwrap();
        let opts = SocketOptions::default().routing_id(Bytes::from("same"));
        let first = Socket::with_options(SocketType::Dealer, opts.clone()).unwrap();
        first.connect(&ep).await.unwrap();
        first.send("1").await.unwrap();
        router.recv().await.unwrap();
        let second = Socket::with_options(SocketType::Dealer, opts).unwrap();
        let mut monitor = second.monitor();
        second.connect(&ep).await.unwrap();
        let reason = disconnect_reason(&mut monitor).await;
        assert!(reason.contains("already in use"), "{reason}");
    });
}

#[test]
fn dealer_talks_to_rep_with_its_own_delimiter() {
    run(10, async {
        let rep = Socket::new(SocketType::Rep).unwrap();
        let ep = rep.bind("tcp://127.0.0.1:0").await.unwrap();
        let dealer = Socket::new(SocketType::Dealer).unwrap();
        dealer.connect(&ep).await.unwrap();
        dealer.send(["", "ping"]).await.unwrap();
        assert_eq!(rep.recv().await.unwrap(), Multipart::from("ping"));
        rep.send("pong").await.unwrap();
        assert_eq!(dealer.recv().await.unwrap(), Multipart::from(["", "pong"]));
    });
}

#[test]
fn exclusive_pair_talks_both_ways_and_refuses_a_third() {
    run(10, async {
        let a = Socket::new(SocketType::Pair).unwrap();
        let ep = a.bind("tcp://127.0.0.1:0").await.unwrap();
        let b = Socket::new(SocketType::Pair).unwrap();
        b.connect(&ep).await.unwrap();
        a.send("to b").await.unwrap();
        b.send("to a").await.unwrap();
        assert_eq!(b.recv().await.unwrap(), Multipart::from("to b"));
        assert_eq!(a.recv().await.unwrap(), Multipart::from("to a"));
        let third = Socket::new(SocketType::Pair).unwrap();
        let mut monitor = third.monitor();
        third.connect(&ep).await.unwrap();
        let reason = disconnect_reason(&mut monitor).await;
        assert!(reason.contains("PAIR already has its peer"), "{reason}");
        // the pair is undisturbed
        b.send("still here").await.unwrap();
        assert_eq!(a.recv().await.unwrap(), Multipart::from("still here"));
    });
}

/// With `busy_poll` a receive polls before it sleeps: round trips work over tcp and inproc, and
/// a reply that comes long after the polling ended still wakes the requester.
#[test]
fn busy_polling_sockets_answer_and_still_sleep_when_nothing_comes() {
    for ep in ["tcp://127.0.0.1:0", "inproc://busy-poll"] {
        run(20, async move {
            let opts = SocketOptions::default().busy_poll(Duration::from_micros(200));
            let rep = Socket::with_options(SocketType::Rep, opts.clone()).unwrap();
            let ep = rep.bind(ep).await.unwrap();
            let req = Socket::with_options(SocketType::Req, opts).unwrap();
            req.connect(&ep).await.unwrap();
            let server = rep.clone();
            actix::spawn(async move {
                for i in 0.. {
                    let Ok(m) = server.recv().await else { return };
                    if i == 3 {
                        // long after the requester stopped polling
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    server.send(m).await.unwrap();
                }
            });
            for i in 0..100u32 {
                req.send(i.to_string()).await.unwrap();
                let reply = req.recv().await.unwrap();
                assert_eq!(text(&reply.frames()[0]), i.to_string());
            }
        });
    }
}
