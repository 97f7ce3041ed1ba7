//! PUSH/PULL between actormq sockets over TCP.

mod common;

use std::collections::HashMap;

use actormq::{Multipart, Socket, SocketOptions, SocketType};
use common::*;

#[test]
fn push_spreads_evenly_over_three_pulls() {
    run(20, async {
        let push = Socket::new(SocketType::Push).unwrap();
        let mut monitor = push.monitor();
        let ep = push.bind("tcp://127.0.0.1:0").await.unwrap();
        let mut pulls = Vec::new();
        for _ in 0..3 {
            let p = Socket::new(SocketType::Pull).unwrap();
            p.connect(&ep).await.unwrap();
            pulls.push(p);
        }
        handshakes(&mut monitor, 3).await;
        for i in 0..300 {
            push.send(format!("task {i}")).await.unwrap();
        }
        let mut counts = Vec::new();
        for p in &pulls {
            let mut n = 0;
            while recv_within(p, 300).await.is_some() {
                n += 1;
            }
            counts.push(n);
        }
        assert_eq!(counts, [100, 100, 100]);
    });
}

#[test]
fn pull_takes_fairly_from_three_pushes() {
    run(20, async {
        let port = free_port();
        let ep = format!("tcp://127.0.0.1:{port}");
        // the pushers connect before the puller binds, and queue their work meanwhile
        let mut pushes = Vec::new();
        for name in ["A", "B", "C"] {
            let p = Socket::new(SocketType::Push).unwrap();
            p.connect(&ep).await.unwrap();
            for i in 0..200 {
                p.send([name.to_string(), i.to_string()]).await.unwrap();
            }
            pushes.push(p);
        }
        let pull = Socket::new(SocketType::Pull).unwrap();
        let mut monitor = pull.monitor();
        pull.bind(&ep).await.unwrap();
        handshakes(&mut monitor, 3).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let mut order = Vec::new();
        while let Some(m) = recv_within(&pull, 300).await {
            order.push(text(&m.frames()[0]));
        }
        assert_eq!(order.len(), 600);
        let mut per_source: HashMap<&str, usize> = HashMap::new();
        for name in &order {
            *per_source.entry(name.as_str()).or_default() += 1;
        }
        assert_eq!(
            per_source,
            HashMap::from([("A", 200), ("B", 200), ("C", 200)])
        );
        // once all three have work waiting, the puller alternates between them
        let window = &order[100..400];
        for name in ["A", "B", "C"] {
            let n = window.iter().filter(|s| *s == name).count();
            assert!(
                (90..=110).contains(&n),
                "{name} got {n} of 300 in the window: {window:?}"
            );
        }
        let longest_run = window
            .chunk_by(|a, b| a == b)
            .map(<[String]>::len)
            .max()
            .unwrap_or(0);
        assert!(
            longest_run <= 2,
            "a source was served {longest_run} times in a row"
        );
    });
}

#[test]
fn multipart_and_a_4_mib_message() {
    run(20, async {
        let pull = Socket::new(SocketType::Pull).unwrap();
        let ep = pull.bind("tcp://127.0.0.1:0").await.unwrap();
        let push = Socket::new(SocketType::Push).unwrap();
        push.connect(&ep).await.unwrap();
        let multi = Multipart::from(["a", "", "ccc", "dddd"]);
        push.send(multi.clone()).await.unwrap();
        let big: Vec<u8> = (0..4 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        push.send(Multipart::from([b"big".to_vec(), big.clone()]))
            .await
            .unwrap();
        push.send("after").await.unwrap();
        assert_eq!(pull.recv().await.unwrap(), multi);
        let got = pull.recv().await.unwrap();
        assert_eq!(got.len(), 2);
        assert!(got.frames()[1] == big, "4 MiB frame corrupted");
        assert_eq!(pull.recv().await.unwrap(), Multipart::from("after"));
    });
}

#[test]
fn connect_before_bind_and_reconnect_after_restart() {
    run(20, async {
        let port = free_port();
        let ep = format!("tcp://127.0.0.1:{port}");
        let push = Socket::new(SocketType::Push).unwrap();
        push.connect(&ep).await.unwrap();
        push.send("queued before bind").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let pull = Socket::new(SocketType::Pull).unwrap();
        pull.bind(&ep).await.unwrap();
        assert_eq!(
            pull.recv().await.unwrap(),
            Multipart::from("queued before bind")
        );
        // the puller goes away and comes back on the same endpoint
        pull.close().await;
        let pull = Socket::new(SocketType::Pull).unwrap();
        pull.bind(&ep).await.unwrap();
        push.send("after restart").await.unwrap();
        assert_eq!(pull.recv().await.unwrap(), Multipart::from("after restart"));
    });
}

#[test]
fn push_waits_at_its_high_water_mark_with_no_peer() {
    run(10, async {
        let opts = SocketOptions::default().sndhwm(5);
        let push = Socket::with_options(SocketType::Push, opts).unwrap();
        for i in 0..5 {
            push.try_send(format!("{i}")).unwrap();
        }
        assert!(matches!(
            push.try_send("6"),
            Err(actormq::Error::WouldBlock(_))
        ));
        let blocked =
            tokio::time::timeout(std::time::Duration::from_millis(200), push.send("6")).await;
        assert!(blocked.is_err(), "send should wait while the queue is full");
        // a puller arrives: the queue drains and the send goes through
        let pull = Socket::new(SocketType::Pull).unwrap();
        let ep = pull.bind("tcp://127.0.0.1:0").await.unwrap();
        push.connect(&ep).await.unwrap();
        push.send("6").await.unwrap();
        let mut got = Vec::new();
        for _ in 0..6 {
            got.push(text(&pull.recv().await.unwrap().frames()[0]));
        }
        assert_eq!(got, ["0", "1", "2", "3", "4", "6"]);
    });
}

#[test]
fn several_binds_and_connects_on_one_socket() {
    run(20, async {
        let pull = Socket::new(SocketType::Pull).unwrap();
        let ep1 = pull.bind("tcp://127.0.0.1:0").await.unwrap();
        let ep2 = pull.bind("tcp://127.0.0.1:0").await.unwrap();
        assert_ne!(ep1, ep2);
        let a = Socket::new(SocketType::Push).unwrap();
        a.connect(&ep1).await.unwrap();
        let b = Socket::new(SocketType::Push).unwrap();
        b.connect(&ep2).await.unwrap();
        a.send("a").await.unwrap();
        b.send("b").await.unwrap();
        let mut got = vec![
            text(&pull.recv().await.unwrap().frames()[0]),
            text(&pull.recv().await.unwrap().frames()[0]),
        ];
        got.sort();
        assert_eq!(got, ["a", "b"]);
    });
}

#[test]
fn close_delivers_what_is_queued_within_linger() {
    run(30, async {
        let pull = Socket::new(SocketType::Pull).unwrap();
        let ep = pull.bind("tcp://127.0.0.1:0").await.unwrap();
        let opts = SocketOptions::default().linger(Some(std::time::Duration::from_secs(10)));
        let push = Socket::with_options(SocketType::Push, opts).unwrap();
        push.connect(&ep).await.unwrap();
        for i in 0..20_000 {
            push.send(format!("{i}")).await.unwrap();
        }
        // close returns once everything queued has been written
        push.close().await;
        assert!(matches!(
            push.send("late").await,
            Err(actormq::Error::Closed(SocketType::Push))
        ));
        for i in 0..20_000 {
            assert_eq!(pull.recv().await.unwrap(), Multipart::from(format!("{i}")));
        }
    });
}

#[test]
fn linger_bounds_close_when_no_peer_ever_takes_the_messages() {
    run(10, async {
        let opts = SocketOptions::default().linger(Some(std::time::Duration::from_millis(200)));
        let push = Socket::with_options(SocketType::Push, opts).unwrap();
        push.connect(format!("tcp://127.0.0.1:{}", free_port()))
            .await
            .unwrap();
        push.send("never delivered").await.unwrap();
        // returns after linger instead of waiting forever (the test's timeout would catch a hang)
        push.close().await;
        assert!(push.try_send("x").is_err());
    });
}

#[test]
fn close_right_after_send_still_delivers_once_the_peer_is_up() {
    run(20, async {
        let pull = Socket::new(SocketType::Pull).unwrap();
        let ep = pull.bind("tcp://127.0.0.1:0").await.unwrap();
        for round in 0..20 {
            // default linger: wait until delivered. The handshake has not happened yet when
            // close is called.
            let push = Socket::new(SocketType::Push).unwrap();
            push.connect(&ep).await.unwrap();
            push.send(format!("round {round}")).await.unwrap();
            push.close().await;
            assert_eq!(
                pull.recv().await.unwrap(),
                Multipart::from(format!("round {round}"))
            );
        }
    });
}

#[test]
fn bind_and_connect_after_close_are_refused() {
    run(10, async {
        let s = Socket::new(SocketType::Pull).unwrap();
        s.close().await;
        assert!(matches!(
            s.bind("tcp://127.0.0.1:0").await,
            Err(actormq::Error::Closed(_))
        ));
        assert!(matches!(
            s.connect("tcp://127.0.0.1:1").await,
            Err(actormq::Error::Closed(_))
        ));
        assert!(matches!(s.recv().await, Err(actormq::Error::Closed(_))));
    });
}

#[test]
fn a_socket_handle_works_from_another_thread() {
    // The PULL's actors run on one thread's System; the application receives on another
    // thread, so every hand-over crosses threads (the batched queues and their wake-ups).
    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        actix::System::new().block_on(async move {
            let pull = Socket::new(SocketType::Pull).unwrap();
            let ep = pull.bind("tcp://127.0.0.1:0").await.unwrap();
            tx.send((pull, ep)).unwrap();
            // keep this System running while the other thread works
            tokio::time::sleep(std::time::Duration::from_secs(20)).await;
        })
    });
    let (pull, ep) = rx.recv().unwrap();
    let consumer = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            for i in 0..100_000u32 {
                let m = tokio::time::timeout(std::time::Duration::from_secs(10), pull.recv())
                    .await
                    .expect("recv hung")
                    .unwrap();
                assert_eq!(m.frames()[0], i.to_be_bytes()[..]);
            }
        })
    });
    run(20, async move {
        let push = Socket::new(SocketType::Push).unwrap();
        push.connect(&ep).await.unwrap();
        for i in 0..100_000u32 {
            push.send(i.to_be_bytes().to_vec()).await.unwrap();
        }
        push.close().await;
    });
    consumer.join().unwrap();
    drop(server);
}
