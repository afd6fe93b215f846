//! What envoy/production.yaml adds around the filter, run in a real Envoy: the blocks between its
//! `# >>> platform:NAME` / `# <<< platform:NAME` markers (local rate limit filter and its per-route
//! bucket, the local reply mapper for 429, the JSON access log carrying the filter's outcome) are
//! cut out of production.yaml and patched into the demo bootstrap, which talks plain HTTP to the
//! mocks. So the test runs the production text, not a copy of it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::{Path, PathBuf};

use support::production::{fragment, indent, production_yaml};
use support::*;

fn must_replace(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "production block has no {from:?}");
    text.replace(from, to)
}

/// Patches for the demo bootstrap: production's rate limit (with a bucket of `tokens` that does
/// not refill during the test), local reply mapper and access log (to `access_log`, not stdout).
fn production_patches(tokens: u32, access_log: &Path) -> Vec<(String, String)> {
    let prod = production_yaml();
    let log = must_replace(
        &fragment(&prod, "access-log"),
        "\"@type\": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog\n",
        &format!(
            "\"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n    path: {}\n",
            access_log.display()
        ),
    );
    let reply = fragment(&prod, "local-reply");
    let filter = fragment(&prod, "rate-limit-filter");
    let mut route = fragment(&prod, "enrich-route-rate-limit");
    route = must_replace(&route, "max_tokens: 100", &format!("max_tokens: {tokens}"));
    route = must_replace(&route, "tokens_per_fill: 50", "tokens_per_fill: 1");
    route = must_replace(&route, "fill_interval: 1s", "fill_interval: 3600s");

    let hcm_filters = "          http_filters:\n";
    let enrich_route = "              - match: { path: \"/api/v1/agent-assist/enrich\" }\n";
    vec![
        (
            hcm_filters.to_owned(),
            format!(
                "{}{}{hcm_filters}{}",
                indent(&log, 10),
                indent(&reply, 10),
                indent(&filter, 10)
            ),
        ),
        (
            enrich_route.to_owned(),
            format!("{enrich_route}{}", indent(&route, 16)),
        ),
    ]
}

/// The answer mode production.yaml runs the filter with (its local reply mappers go with it).
const PRODUCTION_MODE: &str = r#"{"deadlineMs": 4500, "answerMode": "always200"}"#;

fn access_log_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "cognigy-enrich-platform-{}-{tag}.log",
        std::process::id()
    ))
}

/// The JSON access log lines, once `n` are there (Envoy flushes every 100 ms here).
fn access_lines(path: &Path, n: usize) -> Vec<serde_json::Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        if lines.len() >= n || std::time::Instant::now() >= deadline {
            return lines;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn rate_limit_answers_json_429_in_front_of_the_filter() {
    let mocks = Mocks::start(MockConfig::default()).expect("mocks");
    let log_path = access_log_path("ratelimit");
    let _ = std::fs::remove_file(&log_path);
    let envoy = Envoy::start(
        &mocks,
        EnvoyOptions {
            patches: production_patches(3, &log_path),
            plugin_config: PRODUCTION_MODE.to_owned(),
            ..EnvoyOptions::default()
        },
    );
    let agent = agent();
    let url = envoy.url(ENRICH_PATH);

    // Three tokens: a 401 spends one like any request, then two answered requests.
    let r = send(
        &agent,
        "POST",
        &url,
        &[("content-type", "application/json")],
        Some(ELENA.as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-enrich-status"), Some("401"));
    assert_eq!(r.json()["status"], 401);
    assert_eq!(r.detail(), "Not authenticated");
    for _ in 0..2 {
        let r = enrich(&agent, &envoy, ELENA);
        assert_eq!(r.status, 200, "{}", r.body);
    }

    for _ in 0..2 {
        let r = enrich(&agent, &envoy, ELENA);
        // answerMode always200: Envoy's 429 becomes the filter's failure envelope.
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("x-enrich-status"), Some("429"));
        assert_eq!(
            r.json(),
            serde_json::json!({"ok": false, "status": 429, "detail": "Too many requests",
                "customerProfile": {}, "recentOrders": [], "openTickets": [],
                "enrichedPromptContext": "Customer context is unavailable."})
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("retry-after"), Some("1"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }
    assert_eq!(
        mocks.request_count(Service::Profile),
        2,
        "a limited request never reaches the filter's upstream calls"
    );

    // Only the enrich route is limited.
    let r = send(&agent, "GET", &envoy.url("/healthz"), &[], None);
    assert_eq!((r.status, r.body.as_str()), (200, "ok"));

    assert_eq!(
        envoy.stat("enrich_route.http_local_rate_limit.rate_limited"),
        2,
        "{}",
        envoy.admin("/stats?filter=local_rate_limit").1
    );

    let lines = access_lines(&log_path, 6);
    let _ = std::fs::remove_file(&log_path);
    let seen: Vec<(String, String, String)> = lines
        .iter()
        .map(|l| {
            let s = |k: &str| match &l[k] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "-".to_owned(),
                other => other.to_string(),
            };
            (s("enrich_status"), s("enrich_outcome"), s("response_flags"))
        })
        .collect();
    // The HTTP status is 200 on the enrich route; enrich_status is the status it stands for.
    let http: Vec<u64> = lines
        .iter()
        .map(|l| l["status"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(http, [200; 6], "{lines:#?}");
    let expect = |status: &str, outcome: &str, flags: &str| {
        (status.to_owned(), outcome.to_owned(), flags.to_owned())
    };
    assert_eq!(
        seen,
        vec![
            expect("401", "unauthorized", "-"),
            expect("200", "ok", "-"),
            expect("200", "ok", "-"),
            expect("429", "-", "RL"),
            expect("429", "-", "RL"),
            expect("-", "-", "-"),
        ],
        "{lines:#?}"
    );
    for l in &lines {
        assert!(l["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    }
    // Without the filter's answer the JSON log says null, not a made-up outcome.
    assert!(lines[3]["enrich_outcome"].is_null(), "{:?}", lines[3]);
}

#[test]
fn access_log_outcome_names_each_failure() {
    let mocks = Mocks::start(MockConfig::default()).expect("mocks");
    let log_path = access_log_path("outcomes");
    let _ = std::fs::remove_file(&log_path);
    let envoy = Envoy::start(
        &mocks,
        EnvoyOptions {
            patches: production_patches(100, &log_path),
            plugin_config: PRODUCTION_MODE.to_owned(),
            ..EnvoyOptions::default()
        },
    );
    let agent = agent();
    mocks.push_fault(Service::Orders, Fault::Malformed);
    let r = enrich(&agent, &envoy, ELENA);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["degraded"], serde_json::json!(["recentOrders"]));
    let r = enrich(&agent, &envoy, r#"{"sessionId": ""}"#);
    assert_eq!((r.status, r.header("x-enrich-status")), (200, Some("422")));
    let r = enrich(&agent, &envoy, &payload("CUST-000000"));
    assert_eq!((r.status, r.header("x-enrich-status")), (200, Some("502")));

    let lines = access_lines(&log_path, 3);
    let _ = std::fs::remove_file(&log_path);
    let outcomes: Vec<(u64, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["enrich_status"]
                    .as_str()
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or_default(),
                l["enrich_outcome"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (200, "degraded"),
            (422, "invalid_payload"),
            (502, "upstream_status")
        ],
        "{lines:#?}"
    );
}
