//! Weather updates over PUB/SUB, after the ZeroMQ guide's `wuserver` / `wuclient`, with the
//! same wire format ("zipcode temperature relhumidity"), so the guide's clients and servers in
//! any language interoperate with these.
//!
//! ```text
//! cargo run --example weather                                    # server + 3 clients, then exit
//! cargo run --example weather -- server tcp://*:5556             # publish forever
//! cargo run --example weather -- client tcp://localhost:5556 10001 # average 100 updates of a zipcode
//! ```

use std::time::Instant;

use actormq::{Endpoint, Socket, SocketType};

/// A small xorshift generator: the demo needs no cryptographic randomness.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Publishes random updates for zipcodes 10000..10100 until `stop` (or forever).
async fn server(
    publisher: Socket,
    stop: Option<tokio::sync::watch::Receiver<bool>>,
) -> actormq::Result<u64> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut sent = 0u64;
    loop {
        for _ in 0..1000 {
            let zipcode = 10000 + rng.below(100);
            let temperature = rng.below(215) as i64 - 80;
            let humidity = rng.below(50) + 10;
            publisher
                .send(format!("{zipcode:05} {temperature} {humidity}"))
                .await?;
            sent += 1;
        }
        if stop.as_ref().is_some_and(|s| *s.borrow()) {
            return Ok(sent);
        }
        // let the subscribers' side run; a real feed would pace itself anyway
        tokio::task::yield_now().await;
    }
}

/// Averages `updates` temperatures of one zipcode.
async fn client(endpoint: Endpoint, zipcode: &str, updates: usize) -> actormq::Result<f64> {
    let sub = Socket::new(SocketType::Sub)?;
    sub.connect(&endpoint).await?;
    // the trailing space keeps zipcode 1000 from matching 10001
    sub.subscribe(format!("{zipcode} ")).await?;
    let mut total = 0i64;
    for _ in 0..updates {
        let msg = sub.recv().await?;
        let text = String::from_utf8_lossy(&msg.frames()[0]).into_owned();
        let temperature: i64 = text
            .split(' ')
            .nth(1)
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        total += temperature;
    }
    Ok(total as f64 / updates as f64)
}

async fn demo() -> actormq::Result<()> {
    let publisher = Socket::new(SocketType::Pub)?;
    let endpoint = publisher.bind("tcp://127.0.0.1:0").await?;
    println!("weather server publishing on {endpoint}");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let start = Instant::now();
    let feed = actix::spawn(server(publisher, Some(stop_rx)));
    let zipcodes = ["10001", "10042", "10099"];
    let clients: Vec<_> = zipcodes
        .iter()
        .map(|z| actix::spawn(client(endpoint.clone(), z, 100)))
        .collect();
    for (zipcode, c) in zipcodes.iter().zip(clients) {
        let average = c.await.expect("client task")?;
        println!("average temperature for zipcode {zipcode}: {average:.1} F (100 updates)");
    }
    let _ = stop_tx.send(true);
    let sent = feed.await.expect("server task")?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "published {sent} updates in {secs:.2} s ({:.0} updates/s)",
        sent as f64 / secs
    );
    Ok(())
}

#[actix::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None => demo().await,
        Some("server") => {
            async {
                let publisher = Socket::new(SocketType::Pub)?;
                let ep = publisher
                    .bind(args.get(1).map(String::as_str).unwrap_or("tcp://*:5556"))
                    .await?;
                println!("weather server publishing on {ep}");
                server(publisher, None).await.map(|_| ())
            }
            .await
        }
        Some("client") => {
            async {
                let ep: Endpoint = args
                    .get(1)
                    .map(String::as_str)
                    .unwrap_or("tcp://localhost:5556")
                    .parse()?;
                let zipcode = args.get(2).map(String::as_str).unwrap_or("10001");
                let average = client(ep, zipcode, 100).await?;
                println!("average temperature for zipcode {zipcode}: {average:.1} F");
                Ok(())
            }
            .await
        }
        Some(other) => {
            eprintln!("unknown mode `{other}`: use no argument, `server [ENDPOINT]` or `client [ENDPOINT] [ZIPCODE]`");
            std::process::exit(1);
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
