//! Answers that never break a Cognigy flow and always fit its limits, in a real Envoy:
//! `answerMode: "always200"` for the filter's own answers, envoy/production.yaml's local reply
//! mappers for Envoy's own replies on the enrich route (jwt_authn, the local rate limit, a failed
//! VM, the route's fallback, request_timeout), per-service `fields` and `answer.maxBytes`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::json;
use support::production::{fragment, indent, production_yaml};
use support::trap::trap_module;
use support::*;

const ALWAYS200: &str = r#"{"deadlineMs": 4500, "answerMode": "always200"}"#;
const HCM_FILTERS: &str = "          http_filters:\n";
const ENRICH_ROUTE: &str = "              - match: { path: \"/api/v1/agent-assist/enrich\" }\n";
const WASM_FILTER: &str = "          - name: cognigy_enrich\n";

/// The envelope of a failure that stands for `status`, as the filter and the mappers write it.
fn envelope(status: u16, detail: &str) -> serde_json::Value {
    json!({"ok": false, "status": status, "detail": detail, "customerProfile": {},
        "recentOrders": [], "openTickets": [],
        "enrichedPromptContext": "Customer context is unavailable."})
}

/// production.yaml's local reply mappers, in the demo bootstrap's connection manager.
fn local_reply_patch() -> (String, String) {
    let reply = fragment(&production_yaml(), "local-reply");
    (
        HCM_FILTERS.to_owned(),
        format!("{}{HCM_FILTERS}", indent(&reply, 10)),
    )
}

fn assert_envelope(r: &Resp, status: u16, detail: &str) {
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"), "{r:?}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "{r:?}");
    assert_eq!(
        r.header("x-enrich-status"),
        Some(status.to_string().as_str()),
        "{r:?}"
    );
    assert!(r.header("x-request-id").is_some_and(|id| !id.is_empty()));
    assert_eq!(r.json(), envelope(status, detail), "{}", r.body);
}

fn post(agent: &ureq::Agent, envoy: &Envoy, headers: &[(&str, &str)], body: &str) -> Resp {
    send(
        agent,
        "POST",
        &envoy.url(ENRICH_PATH),
        headers,
        Some(body.as_bytes()),
    )
}

fn bearer() -> String {
    format!("Bearer {WEBHOOK_TOKEN}")
}

#[test]
fn always200_answers_every_filter_outcome_with_200_and_keeps_the_real_outcome() {
    let config = r#"{"deadlineMs": 4500, "answerMode": "always200", "services": {"openTickets": {"fields": ["ticketId", "priority"]}}, "mcp": {"enabled": true}}"#;
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let envoy = Envoy::start(
        &mocks,
        EnvoyOptions {
            plugin_config: config.to_owned(),
            patches: vec![local_reply_patch()],
            ..EnvoyOptions::default()
        },
    );
    let agent = agent();

    let ok = enrich(&agent, &envoy, ELENA);
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.header("x-enrich-status"), Some("200"));
    assert!(
        ok.body.starts_with(r#"{"ok":true,"customerProfile":{"#),
        "{}",
        ok.body
    );
    let v = ok.json();
    assert!(v["customerProfile"]["fullName"].is_string());
    let tickets = v["openTickets"].as_array().unwrap();
    assert!(!tickets.is_empty());
    for t in tickets {
        let keys: Vec<&String> = t.as_object().unwrap().keys().collect();
        assert!(
            keys.iter().all(|k| *k == "ticketId" || *k == "priority") && keys.len() == 2,
            "fields keeps only ticketId and priority: {t}"
        );
    }
    let json_type = ("content-type", "application/json");
    let auth = bearer();
    let cases: Vec<(Resp, u16, &str)> = vec![
        (
            post(&agent, &envoy, &[json_type], ELENA),
            401,
            "Not authenticated",
        ),
        (
            send(
                &agent,
                "GET",
                &envoy.url(ENRICH_PATH),
                &[("authorization", &auth)],
                None,
            ),
            405,
            "Method Not Allowed",
        ),
        (
            post(
                &agent,
                &envoy,
                &[("authorization", &auth), ("content-type", "text/plain")],
                ELENA,
            ),
            415,
            "Unsupported Media Type: expected application/json",
        ),
        (
            post(
                &agent,
                &envoy,
                &[("authorization", &auth), json_type],
                &"x".repeat(70_000),
            ),
            413,
            "Request body exceeds 65536 bytes",
        ),
        (
            enrich(&agent, &envoy, &payload("CUST-000000")),
            502,
            "Internal service unavailable: 404",
        ),
    ];
    for (r, status, detail) in &cases {
        assert_envelope(r, *status, detail);
        assert!(r.header("www-authenticate").is_none() && r.header("allow").is_none());
    }
    let invalid = enrich(&agent, &envoy, r#"{"sessionId": "s"}"#);
    assert_eq!(
        (invalid.status, invalid.header("x-enrich-status")),
        (200, Some("422"))
    );
    let v = invalid.json();
    assert_eq!(
        (v["ok"].clone(), v["status"].clone()),
        (json!(false), json!(422))
    );
    assert!(v["errors"].as_array().is_some_and(|e| !e.is_empty()), "{v}");

    // Metrics and the log line keep the real outcome and status.
    for (outcome, n) in [
        ("ok", 1),
        ("unauthorized", 1),
        ("method_not_allowed", 1),
        ("unsupported_media_type", 1),
        ("payload_too_large", 1),
        ("upstream_status", 1),
        ("invalid_payload", 1),
    ] {
        assert_eq!(
            envoy.stat(&format!("wasmcustom.cognigy_enrich.requests.{outcome}")),
            n,
            "{outcome}"
        );
    }
    let log = envoy.log_when(10, |l| l.contains("enrich upstream_status status=502"));
    assert!(log.contains("enrich unauthorized status=401"), "{log}");
    assert!(log.contains("enrich upstream_status status=502"), "{log}");

    // Other routes keep their own answers.
    let r = send(&agent, "GET", &envoy.url("/healthz"), &[], None);
    assert_eq!((r.status, r.body.as_str()), (200, "ok"));
    assert!(r.header("x-enrich-status").is_none());
    // The filter's own other front door (MCP) keeps its plain HTTP refusals: answerMode is the
    // enrich route's alone.
    let r = send(&agent, "GET", &envoy.url("/mcp"), &[], None);
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.header("allow"), Some("POST"));
    assert!(r.header("x-enrich-status").is_none());
    assert!(r.json().get("ok").is_none(), "{}", r.body);
}

/// The issue's case through Envoy: a profile and 50 orders of 5 kB, default `answer.maxBytes`.
#[test]
fn fifty_orders_of_5kb_are_cut_to_the_largest_answer_under_the_cap() {
    const PROFILE: &str =
        r#"{"customerId":"CUST-992847","fullName":"Elena Rostova","segment":"Premium"}"#;
    let orders: Vec<String> = (0..50)
        .map(|i| {
            let head = format!(r#"{{"orderNumber":"ORD-{i:02}","note":""#);
            format!("{head}{}\"}}", "n".repeat(5000 - head.len() - 2))
        })
        .collect();
    assert!(orders.iter().all(|o| o.len() == 5000));
    let (mocks, envoy) = stack(r#"{"deadlineMs": 4500}"#);
    let body = |s: String| Fault::Body {
        status: 200,
        body: s.into_bytes(),
    };
    mocks.set_sticky_fault(Service::Profile, Some(body(PROFILE.to_owned())));
    mocks.set_sticky_fault(
        Service::Orders,
        Some(body(format!(r#"{{"items":[{}]}}"#, orders.join(",")))),
    );
    mocks.set_sticky_fault(Service::Tickets, Some(body(r#"{"tickets":[]}"#.to_owned())));
    let r = enrich(&agent(), &envoy, ELENA);
    assert_eq!(r.status, 200, "{}", r.body);
    let prompt = "Customer: Elena Rostova | Segment: Premium\nRecent Orders: 50 items. Last order: ORD-00\nOpen Tickets: 0 active cases. Priority: None";
    let answer = |n: usize| {
        format!(
            r#"{{"customerProfile":{PROFILE},"recentOrders":[{}],"openTickets":[],"enrichedPromptContext":{},"truncated":["recentOrders"]}}"#,
            orders[..n].join(","),
            serde_json::to_string(prompt).unwrap()
        )
    };
    assert_eq!(r.body, answer(6));
    assert!(r.body.len() <= 32_000);
    assert!(answer(7).len() > 32_000, "the next order would not fit");
    assert!(envoy
        .log_when(10, |l| l.contains("answer cut to answer.maxBytes"))
        .contains("answer cut to answer.maxBytes: recentOrders"));
    assert_eq!(envoy.stat("wasmcustom.cognigy_enrich.requests.ok"), 1);

    // A profile that cannot fit even with empty lists is a 502 of its own.
    mocks.set_sticky_fault(
        Service::Profile,
        Some(body(format!(
            r#"{{"fullName":"E","blob":"{}"}}"#,
            "b".repeat(40_000)
        ))),
    );
    let r = enrich(&agent(), &envoy, ELENA);
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.detail(), "Internal service unavailable: answer too large");
    assert_eq!(
        envoy.stat("wasmcustom.cognigy_enrich.requests.answer_too_large"),
        1
    );
}

/// Envoy's own 401 (jwt_authn) and 429 (local rate limit) on the enrich route, mapped by
/// production.yaml's local reply mappers; the filter behind takes `X-API-Key`, since a JWT
/// provider reads `Authorization` itself.
#[test]
fn jwt_rejection_and_rate_limit_get_the_envelope() {
    let prod = production_yaml();
    let rate_filter = fragment(&prod, "rate-limit-filter");
    let mut route = fragment(&prod, "enrich-route-rate-limit");
    for (from, to) in [
        ("max_tokens: 100", "max_tokens: 2"),
        ("tokens_per_fill: 50", "tokens_per_fill: 1"),
        ("fill_interval: 1s", "fill_interval: 3600s"),
    ] {
        assert!(route.contains(from));
        route = route.replace(from, to);
    }
    // A JWT provider that rejects a bearer that is not a valid JWT and lets a request without
    // one through (the filter checks the caller then).
    let jwt = r#"- name: envoy.filters.http.jwt_authn
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
    providers:
      cognigy:
        issuer: https://issuer.example.com
        local_jwks:
          inline_string: '{"keys":[{"kty":"oct","kid":"k1","alg":"HS256","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}]}'
    rules:
    - match: { prefix: "/api/v1/agent-assist/enrich" }
      requires:
        requires_any:
          requirements:
          - provider_name: cognigy
          - allow_missing: {}
"#;
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let envoy = Envoy::start(
        &mocks,
        EnvoyOptions {
            plugin_config: ALWAYS200.to_owned(),
            patches: vec![
                local_reply_patch(),
                (
                    WASM_FILTER.to_owned(),
                    format!(
                        "{}{}{WASM_FILTER}",
                        indent(jwt, 10),
                        indent(&rate_filter, 10)
                    ),
                ),
                (
                    ENRICH_ROUTE.to_owned(),
                    format!("{ENRICH_ROUTE}{}", indent(&route, 16)),
                ),
            ],
            ..EnvoyOptions::default()
        },
    );
    let agent = agent();
    let api_key = ("x-api-key", WEBHOOK_TOKEN);
    let json_type = ("content-type", "application/json");

    let r = post(
        &agent,
        &envoy,
        &[("authorization", "Bearer not.a-jwt"), api_key, json_type],
        ELENA,
    );
    assert_envelope(&r, 401, "Not authenticated");
    assert!(
        envoy.stat("http.gateway.jwt_authn.denied") >= 1,
        "jwt_authn answered"
    );
    assert_eq!(
        envoy.stat("wasmcustom.cognigy_enrich.requests.unauthorized"),
        0,
        "not the filter"
    );

    for _ in 0..2 {
        let r = post(&agent, &envoy, &[api_key, json_type], ELENA);
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = post(&agent, &envoy, &[api_key, json_type], ELENA);
    assert_envelope(&r, 429, "Too many requests");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(
        envoy.stat("enrich_route.http_local_rate_limit.rate_limited"),
        1
    );
    assert_eq!(mocks.request_count(Service::Profile), 2);
}

/// The route's fallback 503 (the filter not active on the path) becomes the envelope; the same
/// 503 on another route does not.
#[test]
fn route_fallback_gets_the_envelope_only_on_the_enrich_route() {
    let mcp_route = "              - match: { prefix: \"/mcp\" }\n                direct_response:\n                  status: 503\n                  body: { inline_string: \"{\\\"detail\\\":\\\"mcp off\\\"}\" }\n";
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let envoy = Envoy::start(
        &mocks,
        EnvoyOptions {
            // The filter answers another path, so the enrich route reaches its fallback.
            plugin_config: r#"{"answerMode": "always200", "enrichPath": "/elsewhere"}"#.to_owned(),
            patches: vec![
                local_reply_patch(),
                (
                    ENRICH_ROUTE.to_owned(),
                    format!("{mcp_route}{ENRICH_ROUTE}"),
                ),
            ],
            ..EnvoyOptions::default()
        },
    );
    let agent = agent();
    let r = enrich(&agent, &envoy, ELENA);
    assert_envelope(&r, 503, "Service unavailable");
    let r = send(
        &agent,
        "POST",
        &envoy.url("/api/v1/agent-assist/enrich?x=1"),
        &[],
        None,
    );
    assert_envelope(&r, 503, "Service unavailable");
    let r = send(&agent, "GET", &envoy.url("/mcp"), &[], None);
    assert_eq!(
        (r.status, r.body.as_str()),
        (503, r#"{"detail":"mcp off"}"#)
    );
    assert!(r.header("x-enrich-status").is_none());
}

/// The connection manager's `request_timeout` (shortened to 1 s) ends a request whose body never
/// completes (a caller that stalls mid-body): Envoy's 408 becomes the envelope.
#[test]
fn request_timeout_gets_the_envelope() {
    use std::io::{Read, Write};
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let envoy = Envoy::start(
        &mocks,
        EnvoyOptions {
            plugin_config: ALWAYS200.to_owned(),
            patches: vec![
                local_reply_patch(),
                (
                    "request_timeout: 15s".to_owned(),
                    "request_timeout: 1s".to_owned(),
                ),
            ],
            ..EnvoyOptions::default()
        },
    );
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", envoy.port)).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST {ENRICH_PATH} HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer {WEBHOOK_TOKEN}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        ELENA.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&ELENA.as_bytes()[..10]).unwrap();
    let mut raw = String::new();
    conn.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{raw}");
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains("x-enrich-status: 408"), "{raw}");
    assert!(lower.contains("content-type: application/json"), "{raw}");
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v, envelope(408, "Request timeout"));
    assert_eq!(envoy.stat("http.gateway.downstream_rq_timeout"), 1);
    assert_eq!(
        mocks.request_count(Service::Profile),
        0,
        "the filter never got the body"
    );
}

/// A filter VM that fails (the stand-in module traps) is answered 503 by Envoy
/// (failure_policy); on the enrich route that 503 becomes the envelope.
#[test]
fn failed_vm_503_gets_the_envelope() {
    let dir = std::env::temp_dir().join(format!("cognigy-enrich-answers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let module = dir.join("trap.wasm");
    std::fs::write(&module, trap_module()).unwrap();
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let envoy = Envoy::start(
        &mocks,
        EnvoyOptions {
            concurrency: 1,
            patches: vec![
                local_reply_patch(),
                (
                    format!("filename: {}", support::envoy::wasm_path().display()),
                    format!("filename: {}", module.display()),
                ),
            ],
            ..EnvoyOptions::default()
        },
    );
    let names: Vec<String> = (0..70).map(|i| format!("x-pad-{i}")).collect();
    let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
    let r = send(
        &agent(),
        "POST",
        &envoy.url(ENRICH_PATH),
        &headers,
        Some(b"{}"),
    );
    assert_envelope(&r, 503, "Service unavailable");
    // Elsewhere the same failure stays Envoy's plain 503.
    let r = send(&agent(), "GET", &envoy.url("/other"), &headers, None);
    assert_eq!(r.status, 503, "{r:?}");
    assert!(r.header("x-enrich-status").is_none());
}
