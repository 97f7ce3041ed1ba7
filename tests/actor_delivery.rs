//! Inbound messages delivered to an actix actor through `StreamHandler`, and a name endpoint
//! (`localhost`) that resolves to several addresses.

mod common;

use actix::prelude::*;
use actormq::{Multipart, Socket, SocketType};
use common::*;
use tokio::sync::oneshot;

struct Collector {
    want: usize,
    got: Vec<Multipart>,
    done: Option<oneshot::Sender<Vec<Multipart>>>,
}

impl Actor for Collector {
    type Context = Context<Self>;
}

impl StreamHandler<Multipart> for Collector {
    fn handle(&mut self, msg: Multipart, _ctx: &mut Self::Context) {
        self.got.push(msg);
        if self.got.len() == self.want {
            if let Some(done) = self.done.take() {
                let _ = done.send(std::mem::take(&mut self.got));
            }
        }
    }
}

#[test]
fn an_actor_receives_through_stream_handler() {
    run(20, async {
        let pull = Socket::new(SocketType::Pull).unwrap();
        let port = free_port();
        pull.bind(format!("tcp://127.0.0.1:{port}")).await.unwrap();
        let (tx, rx) = oneshot::channel();
        let stream = pull.stream();
        Collector::create(move |ctx| {
            ctx.add_stream(stream);
            Collector {
                want: 50,
                got: Vec::new(),
                done: Some(tx),
            }
        });
        let push = Socket::new(SocketType::Push).unwrap();
        push.connect(format!("tcp://localhost:{port}"))
            .await
            .unwrap();
        for i in 0..50 {
            push.send(["job".to_string(), i.to_string()]).await.unwrap();
        }
        let got = rx.await.unwrap();
        let expected: Vec<_> = (0..50)
            .map(|i| Multipart::from(["job".to_string(), i.to_string()]))
            .collect();
        assert_eq!(got, expected);
    });
}
