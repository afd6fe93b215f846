//! The core's per-request work compiled to wasm32 and timed in V8, the engine Envoy runs the
//! filter in (`make bench-core`: built with the release profile for wasm32-wasip1, optimized
//! like the shipped module, run by Node.js's WASI). Natively (`cargo bench --bench core_v8`) it
//! prints the same figures for comparison. What it leaves out is the glue and Envoy: host calls,
//! the SDK's dispatch, the allocator callbacks.
//!
//! Prints, per configuration, the best of several batches in microseconds per request (the
//! least disturbed batch on a shared machine; every batch runs the same requests).

use std::time::Instant;

mod harness;
use harness::{bench_settings, settings, Host};

const BATCHES: usize = 15;
const REQUESTS: u32 = 2_000;

fn main() {
    // `cargo bench` passes `--bench`; a filter word (any other argument) selects configurations.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    for (name, settings, new_customers) in [
        ("default configuration, one customer", settings(), false),
        (
            "bench/config.json, a new customer each request",
            bench_settings(),
            true,
        ),
    ] {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let Some(mut host) = settings.and_then(Host::new) else {
            println!("{name}: settings refused");
            continue;
        };
        if !host.warm_up() {
            println!("{name}: the first request was not answered");
            continue;
        }
        let mut ctx = 2u32;
        let mut best = f64::INFINITY;
        let mut all = Vec::with_capacity(BATCHES);
        for _ in 0..BATCHES {
            let started = Instant::now();
            for _ in 0..REQUESTS {
                ctx = ctx.wrapping_add(1).max(3);
                if new_customers {
                    host.new_customer(ctx);
                }
                host.request(ctx);
            }
            let us = started.elapsed().as_secs_f64() * 1e6 / f64::from(REQUESTS);
            best = best.min(us);
            all.push(us);
        }
        all.sort_by(f64::total_cmp);
        let median = all.get(all.len() / 2).copied().unwrap_or(best);
        if host.answers != u32::try_from(BATCHES).unwrap_or(0) * REQUESTS {
            println!(
                "{name}: {} of the requests answered; the figures mean nothing",
                host.answers
            );
        }
        println!("{name}: {best:.2} us per request (best batch), median {median:.2}");
    }
}
