//! The core's per-request work compiled to wasm32 and timed in V8, the engine Envoy runs the
//! filter in (`make bench-core`: built with the release profile for wasm32-wasip1, optimized
//! like the shipped module, run by Node.js's WASI). Natively (`cargo bench --bench core_v8`) it
//! prints the same figures for comparison. What it leaves out is the glue and Envoy: host calls,
//! the SDK's dispatch, the allocator callbacks.
//!
//! Prints, per configuration, the best of several batches in microseconds per request (the
//! least disturbed batch on a shared machine; every batch runs the same requests) and, natively,
//! the allocations per request (the fake host's few included: the request body it hands in, its
//! effect queues).

use std::time::Instant;

mod harness;
use harness::{bench_settings, bench_settings_without, settings, Host};

/// Formats each log line the engine writes, as the filter's logger does in Envoy at the default
/// `info` level (the host call that sends it is the glue's, not measured here), and drops it.
struct FormatOnly;

impl log::Log for FormatOnly {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }
    fn log(&self, record: &log::Record<'_>) {
        std::hint::black_box(record.args().to_string());
    }
    fn flush(&self) {}
}

static LOGGER: FormatOnly = FormatOnly;

/// Counts the allocations (and reallocations) the core makes, natively: a figure that, unlike the
/// time, does not move with the machine's load, so a change to the hot path can be checked
/// allocation by allocation. The wasm32 build keeps the module's own allocator (dlmalloc), as
/// the shipped filter does.
#[cfg(not(target_arch = "wasm32"))]
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicU64, Ordering};

    pub struct Counting;

    static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

    pub fn allocations() -> u64 {
        ALLOCATIONS.load(Ordering::Relaxed)
    }

    // SAFETY: every call is passed on to the system allocator unchanged; only a counter is added.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            // SAFETY: the caller's contract, passed on.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: the caller's contract, passed on.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            // SAFETY: the caller's contract, passed on.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

/// Allocations so far (natively; `None` in wasm32, where they are not counted).
fn allocations() -> Option<u64> {
    #[cfg(not(target_arch = "wasm32"))]
    return Some(counting::allocations());
    #[cfg(target_arch = "wasm32")]
    return None;
}

const BATCHES: usize = 15;
const REQUESTS: u32 = 2_000;

fn main() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
    // `cargo bench` passes `--bench`; a filter word (any other argument) selects configurations.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    // The feature rows: `make bench`'s configuration with one feature off (its `nomask`,
    // `noauth` and `nofields` loads), each a new customer per request; the difference to the
    // full configuration is what that feature costs the core.
    let configurations = [
        ("default configuration, one customer", settings(), false),
        (
            "bench/config.json, a new customer each request",
            bench_settings(),
            true,
        ),
        (
            "bench/config.json, privacy rules off (nomask)",
            bench_settings_without("nomask"),
            true,
        ),
        (
            "bench/config.json, caller auth off (noauth)",
            bench_settings_without("noauth"),
            true,
        ),
        (
            "bench/config.json, no fields selections (nofields)",
            bench_settings_without("nofields"),
            true,
        ),
        (
            "bench/config.json, all three off (alloff)",
            bench_settings_without("alloff"),
            true,
        ),
    ];
    for (name, settings, new_customers) in configurations {
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
        let allocations_before = allocations();
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
        let per_request = |before: u64, after: u64| {
            // The batches' requests, and nothing else, ran between the two readings.
            (after - before) as f64 / f64::from(REQUESTS) / BATCHES as f64
        };
        match allocations_before.zip(allocations()) {
            Some((before, after)) => println!(
                "{name}: {best:.2} us per request (best batch), median {median:.2}; {:.1} allocations per request",
                per_request(before, after)
            ),
            None => println!("{name}: {best:.2} us per request (best batch), median {median:.2}"),
        }
    }
}
