//! A plain TCP peer floods a STREAM socket whose application does not read: what the socket
//! holds stays within twice its `rcvhwm_bytes` (the peer's queue and the socket's ready queue)
//! plus one read, measured with a counting allocator, and TCP pushes back on the peer. Alone in
//! its binary, as the allocator counts the process.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use actormq::{Multipart, Socket, SocketOptions, SocketType};
use common::*;

#[global_allocator]
static ALLOC: Counting = Counting;

#[test]
fn a_flood_toward_a_stream_that_does_not_read_costs_its_mark_and_no_more() {
    const MARK: usize = 1 << 20;
    run(60, async move {
        let opts = SocketOptions::default().rcvhwm_bytes(MARK);
        let s = Socket::with_options(SocketType::Stream, opts).unwrap();
        let ep = s.bind("tcp://127.0.0.1:0").await.unwrap();
        let at = ep.to_string().trim_start_matches("tcp://").to_string();
        let before = live_bytes();
        let flooder = std::thread::spawn(move || {
            let mut c = TcpStream::connect(at).unwrap();
            c.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
            let block = vec![0x5a_u8; 64 * 1024];
            let mut sent = 0usize;
            // 256 MiB, unless TCP stops us first
            while sent < 256 << 20 {
                match c.write(&block) {
                    Ok(n) => sent += n,
                    Err(_) => break,
                }
            }
            (c, sent)
        });
        let (c, sent) = tokio::task::spawn_blocking(move || flooder.join().unwrap())
            .await
            .unwrap();
        let held = live_bytes().saturating_sub(before);
        println!("flooder wrote {sent} bytes; the socket holds {held} bytes");
        assert!(sent < 64 << 20, "TCP pushed back: {sent} bytes written");
        // the peer's queue holds up to the mark, the socket's ready queue (64 messages) up to
        // the mark again, and the reader one 64 KiB buffer
        assert!(
            held < (2 * MARK + 256 * 1024) as u64,
            "held {held} bytes for a mark of {MARK}"
        );
        // what it holds is the peer's bytes, in order, behind its id
        let first: Multipart = s.recv().await.unwrap();
        assert!(
            first.frames()[1].is_empty(),
            "the connection's announcement"
        );
        let mut got = 0usize;
        while got < MARK / 2 {
            let m = s.recv().await.unwrap();
            assert!(m.frames()[1].iter().all(|&b| b == 0x5a));
            got += m.frames()[1].len();
        }
        drop(c);
    });
}
