//! A bounded steady load from a real HTTP client on loopback: a few keep-alive connections, each
//! sending enrich requests at an even pace, every answer checked. Operations tests run it while
//! they change the running Envoy and then look at what every request got.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Resp, ENRICH_PATH, WEBHOOK_TOKEN};

/// Checks one answer; `Err` says what is wrong with it.
pub type Check = Arc<dyn Fn(&Resp) -> Result<(), String> + Send + Sync>;

pub struct LoadSpec {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    pub body: String,
    /// Requests per second over all connections.
    pub rate_per_s: u32,
    pub connections: usize,
    /// The load stops by itself after this long, whatever the test does.
    pub max_duration: Duration,
}

/// What one connection saw.
#[derive(Default)]
struct Tally {
    sent: usize,
    passed: usize,
    /// The first failures, with when they happened (seconds into the load).
    failures: Vec<String>,
    failed: usize,
    latencies_ms: Vec<u32>,
    /// When the server closed a connection (`Connection: close` on an answer): the client
    /// opened a new one for its next request.
    closes: Vec<Instant>,
}

/// What the whole load saw.
#[derive(Debug)]
pub struct Report {
    pub sent: usize,
    pub passed: usize,
    pub failed: usize,
    pub failures: Vec<String>,
    pub duration: Duration,
    pub p50_ms: u32,
    pub p99_ms: u32,
    pub max_ms: u32,
    pub connection_closes: usize,
    /// When the server closed connections, in order.
    pub close_times: Vec<Instant>,
}

impl Report {
    pub fn rate(&self) -> f64 {
        self.sent as f64 / self.duration.as_secs_f64().max(0.001)
    }

    pub fn summary(&self) -> String {
        format!(
            "{} requests in {:.1} s ({:.0}/s): {} passed, {} failed; latency p50 {} ms, p99 {} ms, max {} ms; {} connections closed by the server",
            self.sent,
            self.duration.as_secs_f64(),
            self.rate(),
            self.passed,
            self.failed,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.connection_closes
        )
    }
}

pub struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    started: Instant,
    threads: Vec<JoinHandle<Tally>>,
}

const KEPT_FAILURES: usize = 20;

impl Load {
    pub fn start(spec: LoadSpec, check: Check) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let connections = spec.connections.max(1);
        // Each connection sends every `interval`; they start spread over one interval.
        let interval = Duration::from_secs_f64(connections as f64 / f64::from(spec.rate_per_s));
        let url = format!("{}{ENRICH_PATH}", spec.base_url);
        let threads = (0..connections)
            .map(|c| {
                let (stop, sent, check) = (stop.clone(), sent.clone(), check.clone());
                let (url, body) = (url.clone(), spec.body.clone());
                let until = started + spec.max_duration;
                let first = started + interval.mul_f64(c as f64 / connections as f64);
                std::thread::spawn(move || {
                    connection(c, &url, &body, first, interval, until, &stop, &sent, &check)
                })
            })
            .collect();
        Load {
            stop,
            sent,
            started,
            threads,
        }
    }

    /// Requests sent so far.
    pub fn sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    /// Waits until `n` more requests than now were sent (the load is flowing), at most `secs`.
    pub fn wait_for_more(&self, n: usize, secs: u64) -> bool {
        let target = self.sent() + n;
        let deadline = Instant::now() + Duration::from_secs(secs);
        while self.sent() < target {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    /// Stops the load, waits for the requests in flight and reports.
    pub fn finish(self) -> Report {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Tally::default();
        for t in self.threads {
            let tally = t.join().expect("load thread");
            all.sent += tally.sent;
            all.passed += tally.passed;
            all.failed += tally.failed;
            all.closes.extend(tally.closes);
            all.latencies_ms.extend(tally.latencies_ms);
            for f in tally.failures {
                if all.failures.len() < KEPT_FAILURES {
                    all.failures.push(f);
                }
            }
        }
        let duration = self.started.elapsed();
        all.latencies_ms.sort_unstable();
        all.closes.sort_unstable();
        let pct = |p: f64| -> u32 {
            let n = all.latencies_ms.len();
            if n == 0 {
                return 0;
            }
            let i = ((n as f64 * p).ceil() as usize).clamp(1, n) - 1;
            all.latencies_ms[i]
        };
        Report {
            sent: all.sent,
            passed: all.passed,
            failed: all.failed,
            failures: all.failures,
            duration,
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            max_ms: all.latencies_ms.last().copied().unwrap_or(0),
            connection_closes: all.closes.len(),
            close_times: all.closes,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn connection(
    c: usize,
    url: &str,
    body: &str,
    first: Instant,
    interval: Duration,
    until: Instant,
    stop: &AtomicBool,
    sent: &AtomicUsize,
    check: &Check,
) -> Tally {
    // One agent with one pooled connection: the connection is kept alive and reused until the
    // server closes it (`Connection: close` while Envoy drains), then a new one is opened.
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .max_idle_connections(1)
        .max_idle_connections_per_host(1)
        .build();
    let origin = Instant::now();
    let mut tally = Tally::default();
    let mut next = first;
    let mut k = 0usize;
    loop {
        let now = Instant::now();
        if stop.load(Ordering::Relaxed) || now >= until {
            return tally;
        }
        if next > now {
            std::thread::sleep(next - now);
        }
        // A connection that fell far behind (a stall) does not burst to catch up.
        next = (next + interval).max(Instant::now().checked_sub(interval * 4).unwrap_or(now));
        k += 1;
        let id = format!("load-{c}-{k}");
        let at = origin.elapsed().as_secs_f64();
        let started = Instant::now();
        let result = agent
            .post(url)
            .set("authorization", &format!("Bearer {WEBHOOK_TOKEN}"))
            .set("content-type", "application/json")
            .set("x-request-id", &id)
            .send_bytes(body.as_bytes());
        tally.sent += 1;
        sent.fetch_add(1, Ordering::Relaxed);
        let resp = match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => Ok(super::to_resp(r)),
            Err(e) => Err(format!("transport error: {e}")),
        };
        let elapsed = started.elapsed();
        tally
            .latencies_ms
            .push(u32::try_from(elapsed.as_millis()).unwrap_or(u32::MAX));
        let verdict = resp.and_then(|r| {
            if r.header("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("close"))
            {
                tally.closes.push(Instant::now());
            }
            check(&r)
        });
        match verdict {
            Ok(()) => tally.passed += 1,
            Err(why) => {
                tally.failed += 1;
                if tally.failures.len() < KEPT_FAILURES {
                    tally.failures.push(format!("{id} at {at:.2} s: {why}"));
                }
            }
        }
    }
}

/// The plain check: a 200 enrich answer for `customer` with a prompt.
pub fn enrich_ok(customer: &'static str) -> Check {
    Arc::new(move |r: &Resp| {
        if r.status != 200 {
            return Err(format!("status {}: {}", r.status, r.body));
        }
        let v: serde_json::Value =
            serde_json::from_str(&r.body).map_err(|e| format!("not JSON ({e}): {}", r.body))?;
        if v["customerProfile"]["customerId"] != customer {
            return Err(format!("another customer's answer: {}", r.body));
        }
        if !v["enrichedPromptContext"].is_string() {
            return Err(format!("no prompt: {}", r.body));
        }
        Ok(())
    })
}
