//! Every typed example, run as a test: each example's `demo` is what its `main` runs.

mod common;

use common::*;

#[path = "../examples/typed_weather.rs"]
mod typed_weather;

#[path = "../examples/cats_wear_hats.rs"]
mod cats_wear_hats;

#[path = "../examples/task_pipeline.rs"]
mod task_pipeline;

#[path = "../examples/typed_echo.rs"]
mod typed_echo;

#[path = "../examples/feed_relay.rs"]
mod feed_relay;

#[test]
fn typed_weather_subscribers_get_only_their_zipcodes() {
    run(30, async {
        for (prefix, readings) in typed_weather::demo(50).await {
            assert_eq!(readings.len(), 50);
            for r in readings {
                assert!(
                    format!("weather.{}", r.zipcode).starts_with(prefix),
                    "{prefix} got {}",
                    r.zipcode
                );
            }
        }
    });
}

#[test]
fn cats_fans_see_only_their_breeds() {
    run(30, async {
        let seen = cats_wear_hats::demo(5).await;
        for (fan, cat) in seen {
            let expected = if fan == "siamese fan" {
                "siamese"
            } else {
                "sphynx"
            };
            assert_eq!(cat.breed, expected, "{fan} saw a {}", cat.breed);
        }
    });
}

#[test]
fn task_pipeline_spreads_work_over_every_worker() {
    run(30, async {
        let (per_worker, _elapsed) = task_pipeline::demo(3, 60).await.unwrap();
        assert_eq!(per_worker.values().sum::<u32>(), 60);
        assert_eq!(per_worker.len(), 3, "every worker worked: {per_worker:?}");
    });
}

#[test]
fn typed_echo_answers_every_request() {
    run(30, async {
        let answers = typed_echo::demo(5).await.unwrap();
        let texts: Vec<_> = answers.into_iter().map(|p| p.text).collect();
        assert_eq!(
            texts,
            (0..5)
                .map(|i| format!("stop saying: message #{i}"))
                .collect::<Vec<_>>()
        );
    });
}

#[test]
fn feed_relay_merges_two_feeds_onto_ipc() {
    run(30, async {
        let seen = feed_relay::demo(5).await.unwrap();
        for source in ["nyse", "lse"] {
            assert!(
                seen.iter().filter(|(s, _)| s == source).count() >= 5,
                "{source}: {seen:?}"
            );
        }
    });
}

#[path = "../examples/secure_weather.rs"]
mod secure_weather;

#[test]
fn the_secure_feed_serves_the_known_subscriber_and_refuses_the_stranger() {
    run(30, async {
        let (got, refused) = secure_weather::demo(5).await.unwrap();
        assert_eq!(got.len(), 5);
        assert!(refused.contains("is not allowed"), "{refused}");
    });
}

#[path = "../examples/redis_cats.rs"]
mod redis_cats;

#[test]
fn a_derived_subscriber_reads_the_persians_a_python_service_publishes_on_redis() {
    // it counts the server's pattern subscriptions (the Python side waits for one): its own
    let Some(server) = BrokerServer::own(Broker::Redis) else {
        return skip_without("redis-server");
    };
    let port = server.port.to_string();
    let endpoint = server.endpoint();
    let python = std::process::Command::new("python3")
        .arg(format!(
            "{}/examples/redis_cats.py",
            env!("CARGO_MANIFEST_DIR")
        ))
        .args([port.as_str(), "30"])
        .spawn()
        .expect("python3 with redis and msgpack");
    // the derived actor's endpoint, from the attribute's redis://127.0.0.1:6379 to this server
    std::env::set_var("ACTORMQ__PERSIANFAN__ENDPOINTS", format!(">{endpoint}"));
    run(30, async move {
        let cats = redis_cats::demo(5).await;
        assert!(cats.iter().all(|c| c.breed == "persian"), "{cats:?}");
        assert_eq!(cats.len(), 5);
    });
    let _ = python.wait_with_output();
}
