//! Secrets and customer data, end to end: never in the filter's log lines at any level, in
//! responses or in /config_dump; at Envoy's own trace level only Envoy's header dumps show tokens.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use support::*;

const SECRETS: [&str; 4] = [
    "proxy-secret-key",
    "demo-webhook-token",
    "rotated-token",
    // Every access token the token mock issues starts with this.
    "mock-at-",
];
const CUSTOMER_DATA: [&str; 6] = [
    "Elena",
    "Rostova",
    "CUST-992847",
    "elena.rostova@example.com",
    "Delivery delayed",
    "ORD-2024-88412",
];

/// Traffic that makes the filter log what it logs: success, a wrong token, the API-key header, an
/// upstream 401 (token dropped and fetched again), upstream failures, a timeout.
fn logged_traffic(mocks: &Mocks, envoy: &Envoy) -> Vec<Resp> {
    let agent = agent();
    let mut answers = Vec::new();
    let post = |id: &str, headers: &[(&str, &str)], body: &str| {
        let mut all = vec![("content-type", "application/json"), ("x-request-id", id)];
        all.extend_from_slice(headers);
        send(
            &agent,
            "POST",
            &envoy.url(ENRICH_PATH),
            &all,
            Some(body.as_bytes()),
        )
    };
    let bearer = ("authorization", "Bearer demo-webhook-token");
    answers.push(post("log-ok", &[bearer], ELENA));
    answers.push(post(
        "log-wrong-token",
        &[("authorization", "Bearer wrong")],
        ELENA,
    ));
    answers.push(post(
        "log-api-key",
        &[("x-api-key", "rotated-token")],
        ELENA,
    ));
    answers.push(post(
        "log-422",
        &[bearer],
        r#"{"customerNumber":"CUST-992847"}"#,
    ));
    mocks.revoke_all_tokens();
    answers.push(post("log-revoked", &[bearer], ELENA));
    mocks.push_fault(
        Service::Orders,
        Fault::Status {
            status: 500,
            headers: vec![],
            body: "Elena Rostova's orders exploded".into(),
        },
    );
    mocks.push_fault(Service::Tickets, Fault::Malformed);
    answers.push(post("log-degraded", &[bearer], ELENA));
    mocks.push_fault(Service::Profile, Fault::Delay { ms: 3000 });
    answers.push(post(
        "log-timeout",
        &[bearer],
        &ELENA.replace("CUST-992847", "CUST-100001"),
    ));
    answers
}

/// What `logged_traffic` gets: each request's id, status and the line the filter logs when it
/// answers it.
const LOGGED: [(&str, u16, &str); 7] = [
    ("log-ok", 200, "[log-ok] enrich ok status=200"),
    (
        "log-wrong-token",
        401,
        "[log-wrong-token] enrich unauthorized status=401",
    ),
    ("log-api-key", 200, "[log-api-key] enrich ok status=200"),
    (
        "log-422",
        422,
        "[log-422] enrich invalid_payload status=422",
    ),
    ("log-revoked", 200, "[log-revoked] enrich ok status=200"),
    (
        "log-degraded",
        200,
        "[log-degraded] enrich degraded status=200",
    ),
    (
        "log-timeout",
        504,
        "[log-timeout] enrich deadline_exceeded status=504",
    ),
];

/// Checks every answer of `logged_traffic` and returns the log once it holds each request's own
/// answer line, so what a test finds absent from it was looked for in the right place.
fn logged_traffic_log(envoy: &Envoy, answers: &[Resp]) -> String {
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    let expected: Vec<u16> = LOGGED.iter().map(|(_, status, _)| *status).collect();
    assert_eq!(statuses, expected, "{answers:?}");
    let lines: Vec<&str> = LOGGED.iter().map(|(_, _, line)| *line).collect();
    envoy.log_with(10, &lines)
}

/// The log as entries (a header dump spans several lines), each with its level and component.
fn log_entries(log: &str) -> Vec<(String, String, String)> {
    let mut entries: Vec<(String, String, String)> = Vec::new();
    for line in log.lines() {
        let fields: Vec<&str> = line.splitn(5, ']').collect();
        if line.starts_with("[20") && fields.len() == 5 {
            let level = fields[2].trim_start_matches('[').to_owned();
            let component = fields[3].trim_start_matches('[').to_owned();
            entries.push((level, component, line.to_owned()));
        } else if let Some(last) = entries.last_mut() {
            last.2.push('\n');
            last.2.push_str(line);
        }
    }
    entries
}

#[test]
fn no_secret_or_customer_data_in_filter_logs_at_any_level_responses_or_config_dump() {
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let envoy = Envoy::start(
        &mocks,
        EnvoyOptions {
            plugin_config: r#"{"deadlineMs": 1500}"#.to_owned(),
            extra_args: vec!["--component-log-level".into(), "wasm:trace".into()],
            ..EnvoyOptions::default()
        },
    );
    let answers = logged_traffic(&mocks, &envoy);
    let (status, dump) = envoy.admin("/config_dump?include_eds");
    assert_eq!(status, 200);
    let log = logged_traffic_log(&envoy, &answers);
    assert!(log.contains("[trace][wasm]"), "wasm trace logging is on");

    for secret in SECRETS {
        assert!(!log.contains(secret), "{secret} in the log");
        assert!(!dump.contains(secret), "{secret} in /config_dump");
        for r in &answers {
            assert!(!r.body.contains(secret), "{secret} in a response");
            assert!(
                !r.headers.iter().any(|(_, v)| v.contains(secret)),
                "{secret} in a response header"
            );
        }
    }
    for data in CUSTOMER_DATA {
        assert!(!log.contains(data), "customer data {data:?} in the log");
    }

    // Every line the filter logs about a request names the request.
    let ids: Vec<&str> = LOGGED.iter().map(|(id, _, _)| *id).collect();
    let mut about_requests = 0;
    for line in log.lines() {
        // `wasm log <plugin> <vm> [<context>]: <message>`
        let Some((_, message)) = line
            .split_once("wasm log cognigy_enrich ")
            .and_then(|(_, rest)| rest.split_once(": "))
        else {
            continue;
        };
        let general = [
            "cognigy-enrich configured",
            "OAuth token fetched",
            "OAuth token fetch failed",
            "token fetch could not be dispatched",
        ];
        if general.iter().any(|g| message.starts_with(g)) {
            continue;
        }
        about_requests += 1;
        assert!(
            ids.iter()
                .any(|id| message.starts_with(&format!("[{id}] "))),
            "a filter log line about a request without its id: {line}"
        );
    }
    assert!(about_requests >= ids.len(), "{log}");
}

#[test]
fn at_envoy_trace_level_only_envoys_own_header_dumps_show_tokens() {
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let envoy = Envoy::start(
        &mocks,
        EnvoyOptions {
            plugin_config: r#"{"deadlineMs": 1500}"#.to_owned(),
            log_level: "trace",
            ..EnvoyOptions::default()
        },
    );
    let answers = logged_traffic(&mocks, &envoy);
    let log = logged_traffic_log(&envoy, &answers);
    // The client secret travels only in the token request's body, which Envoy never logs.
    assert!(!log.contains("proxy-secret-key"));
    for (level, component, entry) in log_entries(&log) {
        let shows_secret = SECRETS.iter().any(|s| entry.contains(s));
        let shows_data = CUSTOMER_DATA.iter().any(|d| entry.contains(d));
        if !(shows_secret || shows_data) {
            continue;
        }
        assert!(level == "debug" || level == "trace", "at {level}: {entry}");
        // Envoy's HTTP codec and connection manager (`http`) and its router print request
        // headers (with `authorization`) and upstream paths at debug/trace, never bodies; see
        // docs/failure-policy.md. Nothing else does, the filter included.
        assert!(
            component == "http" || component == "router",
            "{component} at {level}: {entry}"
        );
    }
}
