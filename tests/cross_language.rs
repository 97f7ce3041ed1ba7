//! MessagePack readable from any language: a typed message published by actormq is received by
//! a libzmq SUB and decoded by independent MessagePack decoders (Python's `msgpack` through
//! pyzmq, and the `rmpv` crate through the `zmq` crate) into the expected map; and a map
//! published by Python is decoded into a Rust struct.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use actormq::typed::{OnDecodeError, Publisher, Subscriber};
use actormq::{Socket, SocketType, Topic};
use common::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Topic, Debug, Clone, PartialEq)]
#[topic = "weather.{zipcode}"]
struct Reading {
    zipcode: u32,
    celsius: f32,
    station: String,
}

fn python() -> Command {
    let mut c = Command::new("python3");
    c.stdout(Stdio::piped()).stderr(Stdio::inherit());
    c
}

#[test]
fn python_decodes_what_actormq_publishes() {
    run(30, async {
        let publisher = Publisher::<Reading>::new(Socket::new(SocketType::Pub).unwrap());
        let ep = publisher.socket().bind("tcp://127.0.0.1:0").await.unwrap();
        let child = python()
            .args(["tests/python/typed_sub.py", &ep.to_string(), "weather.100"])
            .spawn()
            .expect("python3 with pyzmq and msgpack (pip install pyzmq msgpack)");
        let output = tokio::task::spawn_blocking(move || child.wait_with_output());
        tokio::pin!(output);
        let reading = Reading {
            zipcode: 10001,
            celsius: 21.5,
            station: "rust".into(),
        };
        let out = loop {
            publisher.publish(&reading).await.unwrap();
            if let Ok(out) = tokio::time::timeout(Duration::from_millis(20), &mut output).await {
                break out.unwrap().unwrap();
            }
        };
        assert!(out.status.success(), "python failed: {out:?}");
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            got,
            serde_json::json!({"topic": "weather.10001", "value": {"zipcode": 10001, "celsius": 21.5, "station": "rust"}})
        );
    });
}

#[test]
fn libzmq_and_rmpv_decode_what_actormq_publishes() {
    run(30, async {
        let publisher = Publisher::<Reading>::new(Socket::new(SocketType::Pub).unwrap());
        let ep = publisher
            .socket()
            .bind("tcp://127.0.0.1:0")
            .await
            .unwrap()
            .to_string();
        let got = libzmq(move |ctx| {
            let sub = ctx.socket(zmq::SUB).unwrap();
            sub.connect(&ep).unwrap();
            sub.set_subscribe(b"weather.").unwrap();
            sub.set_rcvtimeo(10_000).unwrap();
            sub.recv_multipart(0).expect("libzmq SUB timed out")
        });
        tokio::pin!(got);
        let reading = Reading {
            zipcode: 10042,
            celsius: -3.25,
            station: "rust".into(),
        };
        let frames = loop {
            publisher.publish(&reading).await.unwrap();
            if let Ok(frames) = tokio::time::timeout(Duration::from_millis(20), &mut got).await {
                break frames.unwrap();
            }
        };
        assert_eq!(frames[0], b"weather.10042");
        let value = rmpv::decode::read_value(&mut &frames[1][..]).unwrap();
        let map: Vec<(String, rmpv::Value)> = value
            .as_map()
            .expect("a MessagePack map")
            .iter()
            .map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone()))
            .collect();
        assert_eq!(
            map,
            vec![
                ("zipcode".to_string(), rmpv::Value::from(10042)),
                ("celsius".to_string(), rmpv::Value::from(-3.25f32)),
                ("station".to_string(), rmpv::Value::from("rust")),
            ]
        );
    });
}

#[test]
fn a_python_map_decodes_into_a_rust_struct() {
    run(30, async {
        let port = free_port();
        let ep = format!("tcp://127.0.0.1:{port}");
        let mut child = python()
            .args(["tests/python/typed_pub.py", &ep])
            .spawn()
            .expect("python3 with pyzmq and msgpack");
        let socket = Socket::new(SocketType::Sub).unwrap();
        socket.connect(ep.as_str()).await.unwrap();
        let sub = Subscriber::<Reading>::new(socket, "weather.")
            .await
            .unwrap()
            .on_decode_error(OnDecodeError::Deliver);
        let mut good = None;
        let mut bad = None;
        while good.is_none() || bad.is_none() {
            let got = sub.recv().await.unwrap();
            match got.value {
                Ok(r) => good = Some(r),
                Err(failure) => bad = Some(failure),
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            good.unwrap(),
            Reading {
                zipcode: 10002,
                celsius: 19.5,
                station: "py".into()
            }
        );
        let bad = bad.unwrap();
        assert_eq!(bad.topic, "weather.10003");
        assert!(bad.peer.starts_with("127.0.0.1:"), "{bad}");
    });
}
