//! Envoy's own local reply for a call that never reached the service (closed port, reset, the
//! call's timeout, a circuit breaker) against a service's own 503 / 504, in a real Envoy: the
//! first is `... unreachable` (outcome `upstream_unreachable`, attempt counted as `reset`), the
//! second keeps its status (`Internal service unavailable: 503`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::{Duration, Instant};

use support::*;

const UNREACHABLE: &str = "Internal service unavailable: customer profile service unreachable";

fn service_status(status: u16, body: &str) -> Fault {
    Fault::Status {
        status,
        headers: Vec::new(),
        body: body.to_owned(),
    }
}

/// Waits (bounded) until `cond` holds: ordering by an observed event, never by a sleep.
fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn envoy_local_replies_are_unreachable_and_a_services_own_503_is_a_status() {
    let (mocks, envoy) =
        stack(r#"{"deadlineMs": 4500, "services": {"customerProfile": {"timeoutMs": 400}}}"#);
    let agent = agent();
    assert_eq!(enrich(&agent, &envoy, ELENA).status, 200);
    let stat = |name: &str| envoy.stat(&format!("wasmcustom.cognigy_enrich.{name}"));

    // The service answers 503 / 504 itself: its status is named.
    mocks.push_fault(
        Service::Profile,
        service_status(503, r#"{"error":"maintenance"}"#),
    );
    let r = enrich(&agent, &envoy, ELENA);
    assert_eq!(
        (r.status, r.detail()),
        (502, "Internal service unavailable: 503".to_owned())
    );
    mocks.push_fault(Service::Profile, service_status(504, ""));
    let r = enrich(&agent, &envoy, ELENA);
    assert_eq!(r.detail(), "Internal service unavailable: 504");
    assert_eq!(stat("requests.upstream_status"), 2);
    assert_eq!(stat("upstream.profile.5xx"), 2);

    // The call's own timeout (400 ms): Envoy answers 504 `upstream request timeout`.
    mocks.push_fault(Service::Profile, Fault::Delay { ms: 3000 });
    let r = enrich(&agent, &envoy, ELENA);
    assert_eq!((r.status, r.detail()), (502, UNREACHABLE.to_owned()));

    // A reset: the service takes the request and drops the connection without an answer.
    mocks.push_fault(Service::Profile, Fault::Hang);
    let before = mocks.request_count(Service::Profile);
    let r = std::thread::scope(|scope| {
        let pending = scope.spawn(|| enrich(&agent, &envoy, ELENA));
        wait_for("the profile request", || {
            mocks.request_count(Service::Profile) > before
        });
        mocks.set_down(Service::Profile, true);
        pending.join().unwrap()
    });
    assert_eq!((r.status, r.detail()), (502, UNREACHABLE.to_owned()));

    // A closed port: connection refused.
    let r = enrich(&agent, &envoy, ELENA);
    assert_eq!((r.status, r.detail()), (502, UNREACHABLE.to_owned()));
    mocks.set_down(Service::Profile, false);
    assert_eq!(enrich(&agent, &envoy, ELENA).status, 200);

    assert_eq!(stat("requests.upstream_unreachable"), 3);
    assert_eq!(stat("upstream.profile.reset"), 3);
    assert_eq!(stat("requests.upstream_status"), 2, "unchanged");
    let log = envoy.log_when(5, |l| {
        l.matches("profile unreachable: Envoy answered").count() >= 3
    });
    assert!(log.contains("profile unreachable: Envoy answered 504 itself (Timeout)"));
    assert!(log.contains("profile unreachable: Envoy answered 503 itself (ConnectOrReset)"));
}

#[test]
fn a_circuit_breaker_overflow_is_unreachable() {
    let mocks = Mocks::start(MockConfig::default()).expect("mocks");
    // One request at a time to the profile service (a cluster circuit breaker as in
    // envoy/production.yaml, only smaller), so a second call while one hangs overflows.
    // Envoy checks `max_requests` when it attaches a call to a connection, so connections and
    // pending calls get room: a second call on the hung call's worker would otherwise wait in
    // that worker's pool for the busy connection (and end at the deadline, 504) instead of
    // getting a connection of its own and overflowing, whichever worker it lands on.
    let cluster = "  - name: customer_profile\n    type: STATIC\n    connect_timeout: 1s\n";
    let envoy = Envoy::start(
        &mocks,
        EnvoyOptions {
            plugin_config: r#"{"deadlineMs": 2000}"#.to_owned(),
            patches: vec![(
                cluster.to_owned(),
                format!(
                    "{cluster}    circuit_breakers:\n      thresholds:\n      - {{ priority: DEFAULT, max_connections: 16, max_pending_requests: 16, max_requests: 1 }}\n"
                ),
            )],
            ..EnvoyOptions::default()
        },
    );
    let agent = agent();
    assert_eq!(enrich(&agent, &envoy, ELENA).status, 200);
    mocks.push_fault(Service::Profile, Fault::Hang);
    let before = mocks.request_count(Service::Profile);
    std::thread::scope(|scope| {
        let hung = scope.spawn(|| enrich(&agent, &envoy, ELENA));
        wait_for("the hanging profile request", || {
            mocks.request_count(Service::Profile) > before
        });
        // Another customer, so the call is not shared with the hanging one.
        let r = enrich(&agent, &envoy, &payload("CUST-000001"));
        assert_eq!((r.status, r.detail()), (502, UNREACHABLE.to_owned()));
        // The hanging one ends at the deadline.
        assert_eq!(hung.join().unwrap().status, 504);
    });
    assert_eq!(
        envoy.stat("cluster.customer_profile.upstream_rq_active_overflow"),
        1
    );
    let log = envoy.log_when(5, |l| l.contains("(Overflow)"));
    assert!(
        log.contains("profile unreachable: Envoy answered 503 itself (Overflow)"),
        "{log}"
    );
}
