//! A fixed-rate (open-loop) HTTP load generator for the benchmarks, in the manner of
//! wrk2: each of C connections sends on its own schedule (RATE / C per second) and
//! every latency is measured from the request's scheduled time, so a slow answer is
//! not hidden by sending fewer requests (coordinated omission).
//!
//!   task-manager-loadgen URL RATE SECONDS [HEADER: VALUE ...]
//!
//! `{id}` in the URL becomes a random id in 1..=$LOADGEN_MAX_ID (default 100000);
//! $LOADGEN_CONNECTIONS sets C (default 32). Only loopback targets are accepted.

use std::time::{Duration, Instant};

use rand::Rng;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    assert!(args.len() >= 3, "usage: task-manager-loadgen URL RATE SECONDS [HEADER: VALUE ...]");
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
    let env = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let max_id = env("LOADGEN_MAX_ID", 100_000);
    let conns = env("LOADGEN_CONNECTIONS", 32) as usize;
    let per_conn = rate / conns as f64;
    let interval = Duration::from_secs_f64(1.0 / per_conn);
    let count = (per_conn * secs) as usize;
    let start = Instant::now();
    let mut workers = Vec::with_capacity(conns);
    for w in 0..conns {
        let client =
            reqwest::Client::builder().default_headers(headers.clone()).pool_max_idle_per_host(1).build().unwrap();
        let url = url.clone();
        // Stagger the connections evenly over one interval.
        let offset = interval.mul_f64(w as f64 / conns as f64);
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(count);
            let mut errors = 0u64;
            for i in 0..count {
                let scheduled = start + offset + interval.mul_f64(i as f64);
                tokio::time::sleep_until(scheduled.into()).await;
                let target = if url.contains("{id}") {
                    url.replace("{id}", &rand::thread_rng().gen_range(1..=max_id).to_string())
                } else {
                    url.clone()
                };
                match client.get(&target).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(scheduled.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.await.unwrap();
        all.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or_default()
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "target_rate={rate} achieved_rate={:.0} ok={} errors={errors} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        all.len() as f64 / elapsed,
        all.len(),
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(all.last().copied().unwrap_or_default())
    );
}
