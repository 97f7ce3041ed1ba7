//! A typed echo service: `#[derive(Responder)]` answers `Ping`s with `Pong`s; a `Requester`
//! asks.
//!
//! ```text
//! cargo run --example typed_echo
//! ```
#![allow(dead_code)]

use actix::prelude::*;
use actormq::typed::{Request, Requester};
use actormq::{Socket, SocketType};
use serde::{Deserialize, Serialize};

/// A request.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Ping {
    pub text: String,
}

/// Its answer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Pong {
    pub text: String,
}

/// The service.
#[derive(actormq::Responder)]
#[respond(request = Ping, reply = Pong, bind = "tcp://127.0.0.1:15560")]
pub struct EchoService;

impl Handler<Request<Ping, Pong>> for EchoService {
    type Result = MessageResult<Request<Ping, Pong>>;

    fn handle(&mut self, req: Request<Ping, Pong>, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(Pong {
            text: format!("stop saying: {}", req.0.text),
        })
    }
}

/// Starts the service and sends `n` requests; returns the answers.
pub async fn demo(n: usize) -> actormq::Result<Vec<Pong>> {
    EchoService.start();
    let socket = Socket::new(SocketType::Req)?;
    socket.connect("tcp://127.0.0.1:15560").await?;
    let mut client = Requester::<Ping, Pong>::new(socket);
    let mut answers = Vec::new();
    for i in 0..n {
        let pong = client
            .request(&Ping {
                text: format!("message #{i}"),
            })
            .await?;
        println!("{}", pong.text);
        answers.push(pong);
    }
    Ok(answers)
}

#[actix::main]
async fn main() {
    if let Err(e) = demo(5).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
