//! The end table of `actormq bench`, and the peak memory it reports.

/// One measured run.
#[derive(Clone, Debug)]
pub struct Row {
    /// `PUSH->PULL`, `PUB->SUB`, `REQ<->REP`, with the side when only one ran.
    pub pattern: String,
    /// `tcp`, `ipc`, `inproc`, ...
    pub transport: String,
    /// `NULL`, `PLAIN` or `CURVE`.
    pub mechanism: &'static str,
    /// Payload bytes per message.
    pub size: usize,
    /// Messages (throughput) or round trips (latency).
    pub count: u64,
    /// How long the measured part took.
    pub seconds: f64,
    /// Round-trip percentiles in microseconds (latency runs).
    pub latency: Option<Percentiles>,
    /// The most memory this process had resident during the run, in bytes (0: unknown).
    pub peak_rss: u64,
}

/// Round-trip times of a latency run, in microseconds.
#[derive(Clone, Copy, Debug)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Percentiles {
    /// The percentiles of `rtts` (sorted here).
    pub fn of(rtts: &mut [std::time::Duration]) -> Option<Self> {
        if rtts.is_empty() {
            return None;
        }
        rtts.sort_unstable();
        let at =
            |p: f64| rtts[((rtts.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e6;
        Some(Percentiles {
            p50: at(0.50),
            p99: at(0.99),
        })
    }
}

impl Row {
    /// Messages (or round trips) per second.
    pub fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.count as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// Whether this is a REQ/REP run (the replier's has no percentiles).
    pub fn is_latency(&self) -> bool {
        self.pattern.starts_with("REQ")
    }

    /// Payload megabytes (10^6) per second.
    pub fn mbs(&self) -> f64 {
        self.rate() * self.size as f64 / 1e6
    }
}

/// Forgets the peak resident memory so far, so that the next run reports its own (Linux:
/// `/proc/self/clear_refs`; elsewhere the peak stays the process's).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The most memory this process has had resident (Linux: `VmHWM`), in bytes; 0 if unknown.
pub fn peak_rss() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn or_dash(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.digits$}"))
}

/// Prints the table, then one closing line per row (`throughput: …` or `latency: …`).
pub fn print(rows: &[Row]) {
    println!(
        "{:<22} {:<9} {:<9} {:>8} {:>10} {:>9} {:>12} {:>9} {:>8} {:>8} {:>8}",
        "pattern",
        "transport",
        "mechanism",
        "size",
        "messages",
        "seconds",
        "msg/s",
        "MB/s",
        "p50 us",
        "p99 us",
        "RSS MB"
    );
    for r in rows {
        println!(
            "{:<22} {:<9} {:<9} {:>8} {:>10} {:>9.3} {:>12.0} {:>9.1} {:>8} {:>8} {:>8.1}",
            r.pattern,
            r.transport,
            r.mechanism,
            r.size,
            r.count,
            r.seconds,
            r.rate(),
            r.mbs(),
            or_dash(r.latency.map(|l| l.p50), 1),
            or_dash(r.latency.map(|l| l.p99), 1),
            r.peak_rss as f64 / 1e6,
        );
    }
    for r in rows {
        match r.latency {
            Some(l) => println!("latency: p50 {:.1} us, p99 {:.1} us", l.p50, l.p99),
            None if r.is_latency() => println!(
                "replied: {} round trips, {:.0} per second",
                r.count,
                r.rate()
            ),
            None => println!("throughput: {:.0} msg/s, {:.1} MB/s", r.rate(), r.mbs()),
        }
    }
}
