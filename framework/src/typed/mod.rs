//! Typed messages: a message type declared once is encoded as MessagePack, published under its
//! topic, filtered by topic prefix at the subscriber, decoded, and handed to an actor.
//!
//! ```
//! use actormq::typed::{Publisher, Subscriber, Topic};
//! use actormq::{Socket, SocketType};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct Reading { zipcode: u32, celsius: f32 }
//!
//! impl Topic for Reading {
//!     const PREFIX: &'static str = "weather.";
//!     fn topic(&self) -> String { format!("weather.{}", self.zipcode) }
//! }
//!
//! # actix::System::new().block_on(async {
//! let publisher = Publisher::<Reading>::new(Socket::new(SocketType::Pub)?);
//! let endpoint = publisher.socket().bind("tcp://127.0.0.1:0").await?;
//! let socket = Socket::new(SocketType::Sub)?;
//! socket.connect(&endpoint).await?;
//! let subscriber = Subscriber::<Reading>::new(socket, "weather.100").await?;
//! let got = loop {
//!     publisher.publish(&Reading { zipcode: 10001, celsius: 21.5 }).await?;
//!     if let Ok(got) = tokio::time::timeout(std::time::Duration::from_millis(50), subscriber.recv()).await {
//!         break got?;
//!     }
//! };
//! assert_eq!(got.topic, "weather.10001");
//! assert_eq!(got.value, Ok(Reading { zipcode: 10001, celsius: 21.5 }));
//! # Ok::<(), actormq::Error>(())
//! # }).unwrap();
//! ```

mod codec;
mod publisher;
mod reqrep;
mod subscriber;
mod topic;
mod wiring;
mod worker;

pub use codec::{decode, encode, DecodeFailure, Encoding};
pub use publisher::{Outlet, Publisher};
pub use reqrep::{serve, Request, Requester, Responder};
pub use subscriber::{OnDecodeError, Received, Subscriber};
pub use topic::Topic;
pub use wiring::{attach, endpoints_for, socket_for, Attach};
pub use worker::{run_worker, Work};
