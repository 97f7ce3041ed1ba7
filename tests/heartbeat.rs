//! ZMTP heartbeats: PINGs on `heartbeat_ivl`, a silent peer dropped after `heartbeat_timeout`,
//! a peer's TTL honoured; against our own sockets and against libzmq.

mod common;

use std::time::Duration;

use actormq::{Socket, SocketEvent, SocketOptions, SocketType};
use common::*;

fn ms(n: u64) -> Option<Duration> {
    Some(Duration::from_millis(n))
}

/// A ROUTER on a thread of its own that, `freeze_after` its first handshake, blocks that thread
/// for 3 s, as a hung process would: its connections then neither read nor answer.
fn hung_router(options: SocketOptions, freeze_after: Duration) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix::System::new().block_on(async move {
            let router = Socket::with_options(SocketType::Router, options).unwrap();
            let mut monitor = router.monitor();
            let ep = router.bind("tcp://127.0.0.1:0").await.unwrap();
            tx.send(ep.to_string()).unwrap();
            handshakes(&mut monitor, 1).await;
            tokio::time::sleep(freeze_after).await;
            std::thread::sleep(Duration::from_secs(3));
        })
    });
    rx.recv().unwrap()
}

#[test]
fn a_peer_that_stops_answering_is_dropped_after_heartbeat_timeout() {
    let ep = hung_router(SocketOptions::default(), Duration::ZERO);
    run(10, async move {
        let dealer = Socket::with_options(
            SocketType::Dealer,
            SocketOptions::default()
                .heartbeat_ivl(ms(50))
                .heartbeat_timeout(ms(200)),
        )
        .unwrap();
        let mut monitor = dealer.monitor();
        dealer.connect(ep.as_str()).await.unwrap();
        handshakes(&mut monitor, 1).await;
        let reason = disconnect_reason(&mut monitor).await;
        // (the hung peer would close the connection itself only after 3 s)
        assert!(reason.contains("heartbeat timed out"), "{reason}");
        assert!(reason.contains("heartbeat_timeout (200ms)"), "{reason}");
        let m = dealer.metrics();
        assert_eq!((m.heartbeat_timeouts, m.disconnects), (1, 1), "{m:?}");
    });
}

#[test]
fn a_peer_whose_pings_carry_a_ttl_is_dropped_when_it_falls_silent() {
    let peer = SocketOptions::default()
        .heartbeat_ivl(ms(50))
        .heartbeat_ttl(ms(300));
    let ep = hung_router(peer, Duration::from_millis(200));
    run(10, async move {
        // no heartbeat options of our own: the peer's TTL alone decides
        let dealer = Socket::new(SocketType::Dealer).unwrap();
        let mut monitor = dealer.monitor();
        dealer.connect(ep.as_str()).await.unwrap();
        handshakes(&mut monitor, 1).await;
        let reason = disconnect_reason(&mut monitor).await;
        assert!(reason.contains("heartbeat TTL expired"), "{reason}");
        assert!(reason.contains("300ms"), "{reason}");
    });
}

#[test]
fn libzmq_answers_our_pings_and_the_quiet_connection_stays() {
    run(20, async {
        let port = free_port();
        let ep = format!("tcp://127.0.0.1:{port}");
        let their_ep = ep.clone();
        let got = libzmq(move |ctx| {
            let router = ctx.socket(zmq::ROUTER).unwrap();
            router.set_rcvtimeo(5000).unwrap();
            router.bind(&their_ep).unwrap();
            // blocked in recv all along, as an idle server would be
            router.recv_multipart(0).unwrap()
        });
        let dealer = Socket::with_options(
            SocketType::Dealer,
            SocketOptions::default()
                .heartbeat_ivl(ms(50))
                .heartbeat_timeout(ms(300))
                .heartbeat_ttl(ms(1000)),
        )
        .unwrap();
        let mut monitor = dealer.monitor();
        dealer.connect(ep.as_str()).await.unwrap();
        handshakes(&mut monitor, 1).await;
        // a second of silence but for heartbeats: without libzmq's PONGs we would drop the
        // connection within 350 ms
        tokio::time::sleep(Duration::from_secs(1)).await;
        while let Ok(event) = monitor.try_recv() {
            assert!(
                !matches!(event, SocketEvent::Disconnected { .. }),
                "connection dropped: {event:?}"
            );
        }
        dealer.send("still here").await.unwrap();
        let frames = got.await.unwrap();
        assert_eq!(frames.last().map(Vec::as_slice), Some(&b"still here"[..]));
    });
}
