//! Metrics and response headers, read from a real Envoy's admin endpoint.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::{Duration, Instant};

use support::*;

#[test]
fn metrics_are_visible_in_stats_and_prometheus() {
    let (mocks, envoy) = stack(r#"{"deadlineMs": 4500, "serverTiming": true}"#);
    let agent = agent();
    for _ in 0..3 {
        assert_eq!(enrich(&agent, &envoy, ELENA).status, 200);
    }
    mocks.push_fault(
        Service::Orders,
        Fault::Status {
            status: 500,
            headers: vec![],
            body: String::new(),
        },
    );
    assert_eq!(enrich(&agent, &envoy, ELENA).status, 200);
    mocks.push_fault(
        Service::Tickets,
        Fault::Status {
            status: 429,
            headers: vec![("retry-after".into(), "0".into())],
            body: String::new(),
        },
    );
    assert_eq!(enrich(&agent, &envoy, ELENA).status, 200);
    let r = send(
        &agent,
        "POST",
        &envoy.url(ENRICH_PATH),
        &[("content-type", "application/json")],
        Some(ELENA.as_bytes()),
    );
    assert_eq!(r.status, 401);
    let r = send(
        &agent,
        "POST",
        &envoy.url(ENRICH_PATH),
        &[
            ("authorization", "Bearer demo-webhook-token"),
            ("content-type", "application/json"),
        ],
        Some(b"{}"),
    );
    assert_eq!(r.status, 422);

    // Counters are summed over both workers' VMs by Envoy.
    let stat = |name: &str| envoy.stat(&format!("wasmcustom.cognigy_enrich.{name}"));
    assert_eq!(stat("requests.ok"), 4);
    assert_eq!(stat("requests.degraded"), 1);
    assert_eq!(stat("requests.unauthorized"), 1);
    assert_eq!(stat("requests.invalid_payload"), 1);
    assert_eq!(stat("token_fetch.ok"), 1);
    assert_eq!(stat("upstream.orders.5xx"), 1);
    assert_eq!(stat("upstream.tickets.4xx"), 1);
    assert_eq!(stat("retries.tickets"), 1);
    assert_eq!(stat("upstream.profile.2xx"), 5);

    let (status, prom) = envoy.admin("/stats/prometheus");
    assert_eq!(status, 200);
    assert!(
        prom.contains("cognigy_enrich_requests_ok"),
        "counter missing from prometheus output"
    );
    assert!(
        prom.contains("cognigy_enrich_request_latency_ms_bucket"),
        "latency histogram missing"
    );
    assert!(
        prom.contains("cognigy_enrich_upstream_profile_latency_ms_bucket"),
        "service latency histogram missing"
    );
}

#[test]
fn request_id_is_echoed_and_server_timing_is_opt_in() {
    let (mocks, envoy) = stack(r#"{"deadlineMs": 4500, "serverTiming": true}"#);
    let agent = agent();
    let r = enrich_with_id(&agent, &envoy, ELENA, "flow-abc-1");
    assert_eq!(r.header("x-request-id"), Some("flow-abc-1"));
    let timing = r.header("server-timing").unwrap_or_default().to_owned();
    for part in ["profile;dur=", "orders;dur=", "tickets;dur="] {
        assert!(timing.contains(part), "{timing}");
    }
    for s in [Service::Profile, Service::Orders, Service::Tickets] {
        assert_eq!(
            mocks.requests(s)[0].header("x-request-id"),
            Some("flow-abc-1")
        );
    }
    let (_m, plain) = stack(r#"{"deadlineMs": 4500}"#);
    let r = enrich(&agent, &plain, ELENA);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("server-timing"), None);
    assert!(
        r.header("x-request-id").is_some_and(|id| !id.is_empty()),
        "Envoy's generated id is echoed"
    );
}

#[test]
fn one_info_log_line_per_request_without_customer_data() {
    let (_mocks, envoy) = stack(r#"{"deadlineMs": 4500}"#);
    let agent = agent();
    let r = enrich_with_id(&agent, &envoy, ELENA, "log-check-7");
    assert_eq!(r.status, 200);
    let log = envoy.log_with(20, &["[log-check-7] enrich ok status=200"]);
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("[log-check-7]"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains("enrich ok status=200 duration_ms="),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("retries=0"));
    for private in [
        "Elena",
        "Rostova",
        "CUST-992847",
        "Delivery delayed",
        "sess-1",
    ] {
        assert!(!log.contains(private), "{private} in the Envoy log");
    }
}

#[test]
fn profile_cache_hit_isolation_and_stale_if_error() {
    // The entry lives 1.5 s: the five requests below, some 10 ms each, must come within it (a
    // loaded machine has over 1.4 s to spare); the stale read after it.
    const TTL: Duration = Duration::from_millis(1500);
    let config = r#"{"deadlineMs": 4500, "services": {"customerProfile": {"cache": {"ttlMs": 1500, "staleIfErrorMs": 60000, "slots": 64}}}}"#;
    let (mocks, envoy) = stack(config);
    let agent = agent();
    let first = Instant::now();
    assert_eq!(enrich(&agent, &envoy, ELENA).status, 200);
    // Written during the request above, so it has expired at `written_by + TTL` at the latest.
    let written_by = Instant::now();
    // Both workers share the cache: whichever takes the next requests, the profile is not fetched again.
    for _ in 0..4 {
        let r = enrich(&agent, &envoy, ELENA);
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["customerProfile"]["fullName"], "Elena Rostova");
    }
    assert!(
        first.elapsed() < TTL,
        "the requests above took {:?}, longer than the entry lives: no test of a hit",
        first.elapsed()
    );
    assert_eq!(mocks.request_count(Service::Profile), 1);
    assert_eq!(
        mocks.request_count(Service::Orders),
        5,
        "orders are not cached"
    );

    let other = enrich(&agent, &envoy, &payload("CUST-100002"));
    assert_eq!(other.status, 200);
    assert_ne!(
        other.json()["customerProfile"]["customerId"],
        "CUST-992847",
        "never another customer's entry"
    );
    assert_eq!(mocks.request_count(Service::Profile), 2);

    // Not a sleep that orders events: the entry's lifetime must pass. 100 ms over it for the
    // filter's clock reading (ms) against ours; more waiting is harmless (stale-if-error: 60 s).
    std::thread::sleep(
        (written_by + TTL + Duration::from_millis(100)).saturating_duration_since(Instant::now()),
    );
    mocks.set_sticky_fault(
        Service::Profile,
        Some(Fault::Status {
            status: 503,
            headers: vec![],
            body: String::new(),
        }),
    );
    let stale = enrich(&agent, &envoy, ELENA);
    assert_eq!(stale.status, 200, "{}", stale.body);
    assert_eq!(stale.json()["customerProfile"]["fullName"], "Elena Rostova");
    assert_eq!(
        stale.json()["stale"],
        serde_json::json!(["customerProfile"])
    );
    mocks.set_sticky_fault(Service::Profile, None);

    assert_eq!(envoy.stat("wasmcustom.cognigy_enrich.cache.profile.hit"), 4);
    assert!(envoy.stat("wasmcustom.cognigy_enrich.cache.profile.miss") >= 3);
}
