//! The enrich contract, end to end: the release filter in a real Envoy (`--concurrency 2`) in front
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! of mock upstreams.

mod support;

use support::*;

#[test]
fn happy_path_body_and_what_the_upstreams_received() {
    let (mocks, envoy) = stack(r#"{"deadlineMs": 4500}"#);
    let agent = agent();
    let r = enrich_with_id(&agent, &envoy, ELENA, "cognigy-test-42");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-request-id"), Some("cognigy-test-42"));
    assert_eq!(r.json(), elena_expected());
    assert_eq!(
        r.json().as_object().map(|o| o.len()),
        Some(4),
        "exactly the four keys"
    );

    let token = mocks.requests(Service::Token);
    assert_eq!(token.len(), 1);
    assert_eq!(token[0].method, "POST");
    assert_eq!(token[0].path_and_query, "/oauth2/token");
    assert_eq!(
        token[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = token[0].form();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(field("grant_type"), Some("client_credentials"));
    assert_eq!(field("client_id"), Some("cognigy-proxy-client"));
    assert_eq!(field("client_secret"), Some("proxy-secret-key"));
    assert_eq!(field("scope"), Some("customer:read orders:read crm:read"));

    let expected_paths = [
        (Service::Profile, "/api/v1/customers/CUST-992847"),
        (
            Service::Orders,
            "/api/v1/orders?customerId=CUST-992847&limit=5&sort=createdDesc",
        ),
        (
            Service::Tickets,
            "/api/v1/crm/tickets?customerId=CUST-992847&status=open",
        ),
    ];
    for (service, path) in expected_paths {
        let got = mocks.requests(service);
        assert_eq!(got.len(), 1, "{service:?}");
        assert_eq!(got[0].method, "GET");
        assert_eq!(got[0].path_and_query, path);
        let bearer = got[0].header("authorization").unwrap_or_default();
        assert!(
            bearer.starts_with("Bearer mock-at-"),
            "{service:?}: {bearer}"
        );
        assert_eq!(got[0].header("accept"), Some("application/json"));
        assert_eq!(got[0].header("x-request-id"), Some("cognigy-test-42"));
    }
}

#[test]
fn fifty_sequential_requests_fetch_one_token() {
    let (mocks, envoy) = stack(r#"{"deadlineMs": 4500}"#);
    let agent = agent();
    for i in 0..50 {
        let r = enrich(&agent, &envoy, ELENA);
        assert_eq!(r.status, 200, "request {i}: {}", r.body);
    }
    assert_eq!(mocks.request_count(Service::Token), 1);
    assert_eq!(mocks.request_count(Service::Profile), 50);
}

#[test]
fn every_4xx_case_without_upstream_calls() {
    let (mocks, envoy) = stack(r#"{"deadlineMs": 4500, "limits": {"maxBodyBytes": 1024}}"#);
    let agent = agent();
    let url = envoy.url(ENRICH_PATH);
    let json_ct = ("content-type", "application/json");
    let bearer = ("authorization", "Bearer demo-webhook-token");

    let r = send(&agent, "POST", &url, &[json_ct], Some(ELENA.as_bytes()));
    assert_eq!(
        (r.status, r.header("www-authenticate")),
        (401, Some("Bearer"))
    );
    assert_eq!(r.detail(), "Not authenticated");
    let r = send(
        &agent,
        "POST",
        &url,
        &[json_ct, ("authorization", "Bearer wrong")],
        Some(ELENA.as_bytes()),
    );
    assert_eq!(
        (r.status, r.header("www-authenticate")),
        (401, Some("Bearer"))
    );
    assert_eq!(r.detail(), "Invalid webhook token");

    let r = send(&agent, "GET", &url, &[bearer], None);
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
    let r = send(
        &agent,
        "PUT",
        &url,
        &[bearer, json_ct],
        Some(ELENA.as_bytes()),
    );
    assert_eq!(r.status, 405);

    let r = send(
        &agent,
        "POST",
        &url,
        &[bearer, ("content-type", "text/plain")],
        Some(ELENA.as_bytes()),
    );
    assert_eq!(r.status, 415);
    assert!(r.detail().contains("application/json"));

    let big = format!(
        r#"{{"sessionId":"s","customerNumber":"C1","intent":"x","variables":{{"pad":"{}"}}}}"#,
        "x".repeat(2000)
    );
    let r = send(
        &agent,
        "POST",
        &url,
        &[bearer, json_ct],
        Some(big.as_bytes()),
    );
    assert_eq!(r.status, 413);
    assert_eq!(r.detail(), "Request body exceeds 1024 bytes");

    let r = send(
        &agent,
        "POST",
        &url,
        &[bearer, json_ct],
        Some(br#"{"sessionId": "", "customerNumber": "CUST/../1", "variables": 3}"#),
    );
    assert_eq!(r.status, 422);
    let v = r.json();
    assert_eq!(v["detail"], "Invalid Cognigy payload structure");
    let errors: Vec<(String, String)> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["loc"][1].as_str().unwrap_or_default().to_owned(),
                e["type"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            ("sessionId".to_owned(), "string_too_short".to_owned()),
            ("intent".to_owned(), "missing".to_owned()),
            (
                "customerNumber".to_owned(),
                "string_pattern_mismatch".to_owned()
            ),
            ("variables".to_owned(), "dict_type".to_owned()),
        ]
    );
    for e in v["errors"].as_array().unwrap() {
        assert_eq!(e["loc"][0], "body");
        assert!(!e["msg"].as_str().unwrap_or_default().is_empty());
    }
    let r = send(&agent, "POST", &url, &[bearer, json_ct], Some(b"{not json"));
    assert_eq!(r.status, 422);
    let r = send(&agent, "POST", &url, &[bearer, json_ct], None);
    assert_eq!(r.status, 422);

    for s in [
        Service::Token,
        Service::Profile,
        Service::Orders,
        Service::Tickets,
    ] {
        assert_eq!(
            mocks.request_count(s),
            0,
            "{s:?} was called for a rejected request"
        );
    }
}

#[test]
fn api_key_header_and_rotated_token_are_accepted() {
    let (_mocks, envoy) = stack(r#"{"deadlineMs": 4500}"#);
    let agent = agent();
    let url = envoy.url(ENRICH_PATH);
    let r = send(
        &agent,
        "POST",
        &url,
        &[
            ("x-api-key", "demo-webhook-token"),
            ("content-type", "application/json"),
        ],
        Some(ELENA.as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send(
        &agent,
        "POST",
        &url,
        &[
            ("authorization", "Bearer rotated-token"),
            ("content-type", "application/json"),
        ],
        Some(ELENA.as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn upstream_500_and_malformed_body_give_502() {
    let (mocks, envoy) = stack(r#"{"deadlineMs": 4500}"#);
    let agent = agent();
    mocks.push_fault(
        Service::Profile,
        Fault::Status {
            status: 500,
            headers: vec![],
            body: r#"{"error":"db down"}"#.into(),
        },
    );
    let r = enrich(&agent, &envoy, ELENA);
    assert_eq!(
        (r.status, r.detail().as_str()),
        (502, "Internal service unavailable: 500")
    );
    assert!(
        !r.body.contains("db down"),
        "upstream bodies are not echoed"
    );

    mocks.push_fault(Service::Profile, Fault::Malformed);
    let r = enrich(&agent, &envoy, ELENA);
    assert_eq!(r.status, 502);
    assert!(r.detail().contains("invalid response"), "{}", r.body);

    let r = enrich(&agent, &envoy, ELENA);
    assert_eq!(r.status, 200, "faults were one-shot: {}", r.body);
}

#[test]
fn unknown_customer_profile_404_is_502() {
    let (_mocks, envoy) = stack(r#"{"deadlineMs": 4500}"#);
    let r = enrich(&agent(), &envoy, &payload("CUST-000000"));
    assert_eq!(
        (r.status, r.detail().as_str()),
        (502, "Internal service unavailable: 404")
    );
}

#[test]
fn customer_without_data_gets_default_prompt() {
    let (_mocks, envoy) = stack(r#"{"deadlineMs": 4500}"#);
    let r = enrich(&agent(), &envoy, &payload("CUST-100001"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["enrichedPromptContext"],
        "Customer: Unknown | Segment: Standard\nRecent Orders: 0 items. Last order: None\nOpen Tickets: 0 active cases. Priority: None"
    );
}

#[test]
fn other_paths_are_not_answered_by_the_filter() {
    // The demo closes every other path with a 404; here a route to an upstream is put back so that
    // a request the filter lets through is seen arriving there.
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let closed = "              - match: { prefix: \"/\" }\n                direct_response:\n                  status: 404";
    let open = "              - match: { prefix: \"/api/v1/customers/\" }\n                route: { cluster: customer_profile }\n              - match: { prefix: \"/\" }\n                direct_response:\n                  status: 404";
    let opts = EnvoyOptions {
        patches: vec![(closed.into(), open.into())],
        ..EnvoyOptions::default()
    };
    let envoy = Envoy::start(&mocks, opts);
    let r = send(
        &agent(),
        "GET",
        &envoy.url("/api/v1/customers/CUST-992847"),
        &[],
        None,
    );
    assert_eq!(
        r.status, 401,
        "the mock answered, not the filter: {}",
        r.body
    );
    assert_eq!(r.json()["error"], "invalid_token");
    assert_eq!(mocks.request_count(Service::Profile), 1);
    let r = send(&agent(), "GET", &envoy.url("/healthz"), &[], None);
    assert_eq!((r.status, r.body.as_str()), (200, "ok"));
    let r = send(
        &agent(),
        "POST",
        &envoy.url("/api/v1/agent-assist/enrichment"),
        &[],
        Some(b"{}"),
    );
    assert_eq!(
        (r.status, r.detail().as_str()),
        (404, "Not Found"),
        "a near-miss path is not the filter's"
    );
}

#[test]
fn token_endpoint_refusing_credentials_is_502() {
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let mut opts = EnvoyOptions::default();
    opts.env.retain(|(k, _)| *k != "ENRICH_CLIENT_SECRET");
    opts.env
        .push(("ENRICH_CLIENT_SECRET", Some("wrong-secret".into())));
    let envoy = Envoy::start(&mocks, opts);
    let r = enrich(&agent(), &envoy, ELENA);
    assert_eq!(
        (r.status, r.detail().as_str()),
        (502, "OAuth client credentials invalid")
    );
    assert!(!r.body.contains("wrong-secret"));
    assert_eq!(mocks.request_count(Service::Profile), 0);
}

#[test]
fn invalid_configuration_is_refused_naming_the_field() {
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let opts = EnvoyOptions {
        plugin_config: r#"{"deadlineMs": 4500, "retry": {"maxAtempts": 2}}"#.into(),
        ..EnvoyOptions::default()
    };
    let Err((_, log)) = Envoy::try_start(&mocks, &opts) else {
        panic!("Envoy accepted an invalid plugin configuration")
    };
    assert!(
        log.contains("retry.maxAtempts"),
        "log does not name the field:\n{log}"
    );

    let mut opts = EnvoyOptions::default();
    opts.env.retain(|(k, _)| *k != "ENRICH_CLIENT_SECRET");
    let Err((_, log)) = Envoy::try_start(&mocks, &opts) else {
        panic!("Envoy started without the client secret")
    };
    assert!(log.contains("ENRICH_CLIENT_SECRET"), "{log}");
}

#[test]
fn secrets_stay_out_of_config_dump_logs_and_responses() {
    let (_mocks, envoy) = stack(r#"{"deadlineMs": 4500}"#);
    let agent = agent();
    let ok = enrich_with_id(&agent, &envoy, ELENA, "secret-ok");
    assert_eq!(ok.status, 200, "{}", ok.body);
    let bad = send(
        &agent,
        "POST",
        &envoy.url(ENRICH_PATH),
        &[
            ("authorization", "Bearer wrong"),
            ("x-request-id", "secret-bad"),
        ],
        Some(b"{}"),
    );
    assert_eq!(bad.status, 401, "{}", bad.body);
    let (status, dump) = envoy.admin("/config_dump?include_eds");
    assert_eq!(status, 200);
    assert!(
        dump.contains("cognigy_enrich"),
        "config dump has the filter"
    );
    // The log holds both requests' own lines (and the token fetch) before it is searched.
    let log = envoy.log_with(
        10,
        &[
            "OAuth token fetched",
            "[secret-ok] enrich ok status=200",
            "[secret-bad] rejected: invalid webhook token",
            "[secret-bad] enrich unauthorized status=401",
        ],
    );
    for secret in [
        "proxy-secret-key",
        "demo-webhook-token",
        "rotated-token",
        "mock-at-",
    ] {
        assert!(!dump.contains(secret), "{secret} in /config_dump");
        assert!(!log.contains(secret), "{secret} in the Envoy log");
        assert!(
            !ok.body.contains(secret) && !bad.body.contains(secret),
            "{secret} in a response"
        );
        assert!(
            !ok.headers.iter().any(|(_, v)| v.contains(secret)),
            "{secret} in a response header"
        );
    }
}

#[test]
fn prompt_template_from_the_plugin_configuration() {
    let config = r#"{"deadlineMs": 4500, "prompt": {"template": "{customerName} ({segment}) asks about {intent}. Orders: {orderCount}, last {lastOrder}. Tickets: {ticketCount}, top {topPriority}."}}"#;
    let (_mocks, envoy) = stack(config);
    let r = enrich(&agent(), &envoy, ELENA);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["enrichedPromptContext"],
        "Elena Rostova (Premium) asks about order_status. Orders: 1, last ORD-2024-88412. Tickets: 1, top High."
    );

    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let opts = EnvoyOptions {
        plugin_config: r#"{"prompt": {"template": "Hi {firstName}"}}"#.into(),
        ..EnvoyOptions::default()
    };
    let Err((_, log)) = Envoy::try_start(&mocks, &opts) else {
        panic!("unknown template field accepted")
    };
    assert!(
        log.contains("prompt.template") && log.contains("unknown field {firstName}"),
        "{log}"
    );
}
