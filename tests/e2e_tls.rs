//! TLS to the token server and the three services, end to end, with envoy/production.yaml's own
//! cluster blocks (SNI, the internal CA as `trusted_ca`, a subject-alt-name match per service) and
//! its plugin configuration (each service's `authority` is its real host name). The test makes a
//! CA, the mocks serve HTTPS with certificates it issues, and the production clusters are patched
//! into the demo bootstrap with only the addresses (127.0.0.1 and the mocks' ports), the cluster
//! type (STATIC: no DNS) and the CA file's path changed. So the production text runs, not a copy.
//!
//! Cases: all certificates valid (the exact happy-path answer, the token fetched over TLS); a
//! required service whose certificate names another host, comes from a CA Envoy does not trust or
//! has expired (502 `... unreachable` at once, never a wait for a timeout); optional services with
//! bad certificates (a degraded 200, the profile still served); the token server with a bad
//! certificate (`OAuth token service unavailable`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mock_upstreams::{TestCa, Validity};
use support::*;

/// Each mock, the production cluster it stands for and the host name that cluster expects.
const HOSTS: [(Service, &str, &str); 4] = [
    (Service::Token, "token_service", "auth.internal.example.com"),
    (
        Service::Profile,
        "customer_profile",
        "customer-profile.internal.example.com",
    ),
    (Service::Orders, "orders", "orders.internal.example.com"),
    (Service::Tickets, "crm", "crm.internal.example.com"),
];

/// The certificate a mock presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cert {
    /// Issued by the CA Envoy trusts, for the cluster's host name.
    Valid,
    /// Issued by the trusted CA, but for another host name (SAN mismatch).
    WrongSan,
    /// The right host name, from a CA Envoy does not trust.
    Untrusted,
    /// Trusted CA and right name, but expired in 2021.
    Expired,
}

fn production_yaml() -> String {
    std::fs::read_to_string(support::envoy::repo_root().join("envoy/production.yaml"))
        .expect("read envoy/production.yaml")
}

/// production.yaml's plugin configuration (the JSON under `configuration.value`), on one line.
fn production_plugin_config() -> String {
    let prod = production_yaml();
    let text: String = prod
        .lines()
        .skip_while(|l| l.trim() != "value: |")
        .skip(1)
        .take_while(|l| l.trim() != "vm_config:")
        .map(str::trim)
        .collect();
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("plugin config {e}: {text}"));
    assert_eq!(
        v["services"]["customerProfile"]["authority"],
        "customer-profile.internal.example.com"
    );
    v.to_string()
}

/// production.yaml's `clusters:` section, pointed at the mocks and at the test's CA file.
fn production_clusters(mocks: &Mocks, ca_path: &std::path::Path) -> String {
    let prod = production_yaml();
    let start = prod
        .find("\n  clusters:\n")
        .expect("production.yaml has a clusters section");
    let mut clusters = prod[start + 1..].to_owned();
    let mut must_replace = |from: &str, to: &str| {
        assert!(
            clusters.contains(from),
            "production clusters have no {from:?}"
        );
        clusters = clusters.replace(from, to);
    };
    for (service, _, host) in HOSTS {
        must_replace(
            &format!("{{ address: {host}, port_value: 443 }}"),
            &format!(
                "{{ address: 127.0.0.1, port_value: {} }}",
                mocks.port(service)
            ),
        );
    }
    must_replace("type: STRICT_DNS", "type: STATIC");
    must_replace(
        "/etc/envoy/tls/internal-ca.pem",
        &ca_path.display().to_string(),
    );
    clusters
}

struct TlsStack {
    mocks: Mocks,
    envoy: Envoy,
    ca_path: PathBuf,
}

impl Drop for TlsStack {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca_path);
    }
}

/// Mocks serving HTTPS with `certs` (token, profile, orders, CRM) and an Envoy running
/// production.yaml's clusters and plugin configuration in front of them.
fn tls_stack(tag: &str, certs: [Cert; 4]) -> TlsStack {
    let ca = TestCa::new("cognigy-enrich test internal CA").expect("CA");
    let stranger = TestCa::new("a CA nobody trusts").expect("CA");
    let mocks = Mocks::start(MockConfig::default()).expect("mocks");
    for ((service, _, host), cert) in HOSTS.into_iter().zip(certs) {
        let identity = match cert {
            Cert::Valid => ca.issue(host, Validity::Current),
            Cert::WrongSan => ca.issue("someone-else.internal.example.com", Validity::Current),
            Cert::Untrusted => stranger.issue(host, Validity::Current),
            Cert::Expired => ca.issue(host, Validity::Expired),
        }
        .expect("certificate");
        mocks.set_tls(service, Some(&identity)).expect("tls");
    }
    let ca_path = std::env::temp_dir().join(format!(
        "cognigy-enrich-tls-{}-{tag}-ca.pem",
        std::process::id()
    ));
    std::fs::write(&ca_path, ca.cert_pem()).expect("write CA");

    let plugin_config = production_plugin_config();
    let mut opts = EnvoyOptions {
        plugin_config: plugin_config.clone(),
        ..EnvoyOptions::default()
    };
    // The demo's clusters as render_bootstrap leaves them (on the mocks' ports), replaced whole.
    let demo = support::envoy::render_bootstrap(&mocks, &opts);
    let demo_clusters = demo[demo.find("\n  clusters:\n").expect("demo clusters") + 1..].to_owned();
    opts.patches = vec![(demo_clusters, production_clusters(&mocks, &ca_path))];
    let envoy = Envoy::start(&mocks, opts);
    TlsStack {
        mocks,
        envoy,
        ca_path,
    }
}

/// The demo answer as production.yaml gives it: `answerMode: "always200"` adds `"ok": true`.
fn elena_expected() -> serde_json::Value {
    let mut v = support::elena_expected();
    v["ok"] = true.into();
    v
}

/// production.yaml answers in `answerMode: "always200"`: a failure is a 200 envelope with
/// `ok: false` and the status it would have had (also in `x-enrich-status`). Asserts that and
/// returns the detail.
fn failure_detail(r: &Resp, status: u16) -> String {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("x-enrich-status"),
        Some(status.to_string().as_str())
    );
    let v = r.json();
    assert_eq!(v["ok"], false, "{}", r.body);
    assert_eq!(v["status"], status, "{}", r.body);
    v["detail"].as_str().unwrap_or_default().to_owned()
}

/// A refused handshake on loopback takes milliseconds; a second is the issue's bound and still
/// far below the 2.5-4.5 s timeouts and deadline a hang would run into, so it holds on a loaded
/// 2-core machine and still tells "failed at once" from "waited for a timeout".
const FAST: Duration = Duration::from_secs(1);

#[test]
fn all_valid_certificates_give_the_exact_happy_path_answer_over_tls() {
    let s = tls_stack("valid", [Cert::Valid; 4]);
    let agent = agent();
    let r = enrich_with_id(&agent, &s.envoy, ELENA, "tls-happy-1");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), elena_expected());

    // The token came over TLS: one fetch, one completed handshake on the token server, and
    // Envoy's TLS stats for its cluster say so.
    assert_eq!(s.mocks.request_count(Service::Token), 1);
    for (service, cluster, host) in HOSTS {
        assert!(
            s.mocks.tls_handshakes(service) >= 1,
            "{service}: no TLS handshake"
        );
        assert!(
            s.envoy.stat(&format!("cluster.{cluster}.ssl.handshake")) >= 1,
            "{cluster}: Envoy counted no handshake"
        );
        assert_eq!(
            s.envoy
                .stat(&format!("cluster.{cluster}.ssl.fail_verify_san")),
            0
        );
        let got = s.mocks.requests(service);
        assert_eq!(got.len(), 1, "{service}");
        // The plugin configuration's authority reaches the service as its Host.
        assert_eq!(got[0].header("host"), Some(host), "{service}");
    }
    // A second request re-uses the token and the pooled TLS connections.
    let r = enrich(&agent, &s.envoy, ELENA);
    assert_eq!(r.json(), elena_expected());
    assert_eq!(s.mocks.request_count(Service::Token), 1);
}

#[test]
fn a_required_service_with_a_bad_certificate_is_unreachable_at_once() {
    for (cert, stat) in [
        (Cert::WrongSan, "ssl.fail_verify_san"),
        (Cert::Untrusted, "ssl.fail_verify_error"),
        (Cert::Expired, "ssl.fail_verify_error"),
    ] {
        let s = tls_stack(
            &format!("{cert:?}"),
            [Cert::Valid, cert, Cert::Valid, Cert::Valid],
        );
        let agent = agent();
        // Warm the token first so the timing below is the profile call's alone.
        let _ = enrich(&agent, &s.envoy, ELENA);
        for _ in 0..3 {
            let at = Instant::now();
            let r = enrich(&agent, &s.envoy, ELENA);
            let took = at.elapsed();
            assert_eq!(
                failure_detail(&r, 502),
                "Internal service unavailable: customer profile service unreachable",
                "{cert:?}"
            );
            assert!(took < FAST, "{cert:?}: answered after {took:?}");
        }
        // Envoy refused the handshake for the reason the certificate was made for, and the
        // service never saw a request.
        assert!(
            s.envoy.stat(&format!("cluster.customer_profile.{stat}")) >= 1,
            "{cert:?}: {stat} not counted"
        );
        assert_eq!(s.mocks.request_count(Service::Profile), 0, "{cert:?}");
        assert_eq!(s.mocks.tls_handshakes(Service::Profile), 0, "{cert:?}");
        assert!(
            s.envoy
                .stat("wasmcustom.cognigy_enrich.requests.upstream_unreachable")
                >= 3
        );
        assert_eq!(
            s.envoy
                .stat("wasmcustom.cognigy_enrich.requests.upstream_status"),
            0,
            "{cert:?}: a refused handshake must not read as a service's status"
        );
        // The other services kept working over TLS meanwhile.
        assert!(s.mocks.request_count(Service::Orders) >= 1);
        assert!(s.mocks.tls_handshakes(Service::Tickets) >= 1);
    }
}

#[test]
fn optional_services_with_bad_certificates_degrade_the_answer() {
    let s = tls_stack(
        "optional",
        [Cert::Valid, Cert::Valid, Cert::Untrusted, Cert::WrongSan],
    );
    let agent = agent();
    let _ = enrich(&agent, &s.envoy, ELENA);
    for _ in 0..3 {
        let at = Instant::now();
        let r = enrich(&agent, &s.envoy, ELENA);
        let took = at.elapsed();
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        assert_eq!(v["ok"], true);
        assert_eq!(
            v["degraded"],
            serde_json::json!(["recentOrders", "openTickets"])
        );
        assert_eq!(v["customerProfile"], elena_expected()["customerProfile"]);
        assert_eq!(v["recentOrders"], serde_json::json!([]));
        assert!(took < FAST, "answered after {took:?}");
    }
    assert_eq!(s.mocks.request_count(Service::Orders), 0);
    assert_eq!(s.mocks.request_count(Service::Tickets), 0);
    assert!(s.envoy.stat("cluster.orders.ssl.fail_verify_error") >= 1);
    assert!(s.envoy.stat("cluster.crm.ssl.fail_verify_san") >= 1);
    assert!(
        s.envoy
            .stat("wasmcustom.cognigy_enrich.upstream.orders.reset")
            >= 3
    );
}

#[test]
fn token_server_with_a_bad_certificate_is_token_unavailable() {
    let s = tls_stack(
        "token",
        [Cert::Expired, Cert::Valid, Cert::Valid, Cert::Valid],
    );
    let agent = agent();
    let at = Instant::now();
    let r = enrich(&agent, &s.envoy, ELENA);
    let took = at.elapsed();
    assert_eq!(failure_detail(&r, 502), "OAuth token service unavailable");
    assert!(took < FAST, "answered after {took:?}");
    assert_eq!(s.mocks.request_count(Service::Token), 0);
    assert!(s.envoy.stat("cluster.token_service.ssl.fail_verify_error") >= 1);
    assert!(s.envoy.stat("wasmcustom.cognigy_enrich.token_fetch.failed") >= 1);
    // No service call was made without a token.
    assert_eq!(s.mocks.request_count(Service::Profile), 0);
}
