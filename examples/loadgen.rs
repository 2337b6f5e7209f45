//! A fixed-rate (open-loop) HTTP load generator for the benchmarks: sends requests at
//! a steady rate whatever the latency, and measures each from its scheduled send time,
//! so slow answers are not hidden by fewer requests (coordinated omission).
//!
//!   cargo run --release --example loadgen -- URL RATE SECONDS [HEADER ...]
//!
//! `{id}` in the URL becomes a random id in 1..=$LOADGEN_MAX_ID (default 100000).
//! Only loopback targets are accepted.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rand::Rng;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    assert!(args.len() >= 3, "usage: loadgen URL RATE SECONDS [HEADER: VALUE ...]");
    let url = args[0].clone();
    assert!(url.starts_with("http://127.") || url.starts_with("http://localhost"), "loopback targets only");
    let rate: f64 = args[1].parse().expect("RATE");
    let secs: f64 = args[2].parse().expect("SECONDS");
    let mut headers = reqwest::header::HeaderMap::new();
    for h in &args[3..] {
        let (k, v) = h.split_once(':').expect("HEADER: VALUE");
        headers
            .insert(reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()).unwrap(), v.trim().parse().unwrap());
    }
    let max_id: u64 = std::env::var("LOADGEN_MAX_ID").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let client = reqwest::Client::builder().default_headers(headers).pool_max_idle_per_host(256).build().unwrap();
    let latencies = Arc::new(Mutex::new(Vec::with_capacity((rate * secs) as usize)));
    let errors = Arc::new(Mutex::new(0u64));
    let interval = Duration::from_secs_f64(1.0 / rate);
    let total = (rate * secs) as u64;
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let scheduled = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        let target = if url.contains("{id}") {
            url.replace("{id}", &rand::thread_rng().gen_range(1..=max_id).to_string())
        } else {
            url.clone()
        };
        let (client, latencies, errors) = (client.clone(), latencies.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            match client.get(&target).send().await {
                Ok(r) if r.status().is_success() => {
                    let _ = r.bytes().await;
                    latencies.lock().unwrap().push(scheduled.elapsed());
                }
                _ => *errors.lock().unwrap() += 1,
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut l = latencies.lock().unwrap().clone();
    l.sort();
    let pct =
        |p: f64| l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1))).copied().unwrap_or_default();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "target_rate={rate} achieved_rate={:.0} ok={} errors={} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        l.len() as f64 / elapsed,
        l.len(),
        errors.lock().unwrap(),
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(l.last().copied().unwrap_or_default())
    );
}
