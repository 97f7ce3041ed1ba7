//! `Socket::sink()`: the futures `Sink` of a socket, with the high-water mark as back-pressure.

mod common;

use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use actormq::{Error, Multipart, Socket, SocketOptions, SocketType};
use common::{run, text};
use futures_util::{stream, Sink, SinkExt, StreamExt};

fn numbered(n: usize) -> impl futures_util::Stream<Item = Result<Multipart, Error>> + Unpin {
    stream::iter((0..n).map(|i| Ok(Multipart::from(i.to_string()))))
}

async fn received(pull: &Socket, n: usize) -> Vec<String> {
    let mut got = Vec::new();
    for _ in 0..n {
        got.push(text(&pull.recv().await.unwrap().frames()[0]));
    }
    got
}

fn expected(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}

async fn send_all_over(endpoint: &str) {
    let pull = Socket::new(SocketType::Pull).unwrap();
    let ep = pull.bind(endpoint).await.unwrap();
    let push = Socket::new(SocketType::Push).unwrap();
    push.connect(&ep).await.unwrap();
    let mut sink = push.sink();
    // more than sndhwm (1000) and rcvhwm: the sink must wait for room along the way
    let receiver = tokio::spawn({
        let pull = pull.clone();
        async move { received(&pull, 5000).await }
    });
    sink.send_all(&mut numbered(5000)).await.unwrap();
    assert_eq!(receiver.await.unwrap(), expected(5000));
    // feed queues without flushing; flush hands everything to the socket
    sink.feed(Multipart::from("fed")).await.unwrap();
    sink.flush().await.unwrap();
    assert_eq!(received(&pull, 1).await, ["fed"]);
}

#[test]
fn send_all_and_feed_over_tcp() {
    run(20, send_all_over("tcp://127.0.0.1:0"));
}

#[test]
fn send_all_and_feed_over_inproc() {
    run(20, send_all_over("inproc://sink-send-all"));
}

#[test]
fn poll_ready_waits_at_the_high_water_mark_until_a_peer_connects() {
    run(10, async {
        let opts = SocketOptions::default().sndhwm(5);
        let push = Socket::with_options(SocketType::Push, opts).unwrap();
        let mut sink = push.sink();
        // five messages fill the queue: no peer takes them
        sink.send_all(&mut numbered(5)).await.unwrap();
        let ready = poll_fn(|cx| Pin::new(&mut sink).poll_ready(cx));
        assert!(
            tokio::time::timeout(Duration::from_millis(200), ready)
                .await
                .is_err(),
            "poll_ready must stay pending at sndhwm"
        );
        // another sink on the same socket has its own wait
        let mut other = push.sink();
        let waiting = tokio::spawn(async move {
            other.send(Multipart::from("5")).await.unwrap();
        });
        let pull = Socket::new(SocketType::Pull).unwrap();
        let ep = pull.bind("tcp://127.0.0.1:0").await.unwrap();
        push.connect(&ep).await.unwrap();
        poll_fn(|cx| Pin::new(&mut sink).poll_ready(cx))
            .await
            .unwrap();
        Pin::new(&mut sink)
            .start_send(Multipart::from("6"))
            .unwrap();
        sink.flush().await.unwrap();
        waiting.await.unwrap();
        let mut got = received(&pull, 7).await;
        got.sort_by_key(|s| s.parse::<u32>().unwrap());
        assert_eq!(got, expected(7));
    });
}

#[test]
fn the_sink_checks_what_send_checks_and_close_closes_the_socket() {
    run(10, async {
        let sub = Socket::new(SocketType::Sub).unwrap();
        let err = sub.sink().send(Multipart::from("x")).await.unwrap_err();
        assert!(matches!(err, Error::Refused { .. }), "{err}");

        let pull = Socket::new(SocketType::Pull).unwrap();
        let ep = pull.bind("inproc://sink-close").await.unwrap();
        let push = Socket::new(SocketType::Push).unwrap();
        push.connect(&ep).await.unwrap();
        let mut sink = push.sink();
        sink.send(Multipart::from("last")).await.unwrap();
        sink.close().await.unwrap();
        assert_eq!(received(&pull, 1).await, ["last"]);
        assert!(matches!(push.try_send("late"), Err(Error::Closed(_))));
    });
}

#[test]
fn the_stream_ends_when_the_socket_closes() {
    run(10, async {
        let pull = Socket::new(SocketType::Pull).unwrap();
        let ep = pull.bind("inproc://sink-stream").await.unwrap();
        let push = Socket::new(SocketType::Push).unwrap();
        push.connect(&ep).await.unwrap();
        push.sink().send_all(&mut numbered(3)).await.unwrap();
        let mut messages = pull.stream();
        for i in 0..3 {
            assert_eq!(messages.next().await, Some(Multipart::from(i.to_string())));
        }
        pull.close().await;
        assert_eq!(messages.next().await, None);
    });
}
