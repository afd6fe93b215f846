//! Normal behaviour of the four services and the request record.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{get, profile, request_token, token};
use mock_upstreams::{dataset, MockConfig, Mocks, Service, DEMO_CUSTOMER_ID};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn start() -> Mocks {
    Mocks::start(MockConfig::default()).unwrap()
}

#[test]
fn token_is_issued_for_valid_client_credentials() {
    let mocks = start();
    let a = request_token(
        &mocks,
        "cognigy-proxy-client",
        "proxy-secret-key",
        "client_credentials",
    );
    assert_eq!(a.status, 200);
    assert_eq!(a.content_type.as_deref(), Some("application/json"));
    let v = a.json();
    assert!(v["access_token"]
        .as_str()
        .unwrap()
        .starts_with("mock-at-1-"));
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    assert_eq!(v["scope"], "customers.read orders.read");
    let second = request_token(
        &mocks,
        "cognigy-proxy-client",
        "proxy-secret-key",
        "client_credentials",
    );
    assert!(second.json()["access_token"]
        .as_str()
        .unwrap()
        .starts_with("mock-at-2-"));
}

#[test]
fn token_is_refused_for_bad_credentials_or_grant() {
    let mocks = start();
    let bad_secret = request_token(
        &mocks,
        "cognigy-proxy-client",
        "wrong",
        "client_credentials",
    );
    assert_eq!(bad_secret.status, 401);
    assert_eq!(bad_secret.json(), json!({"error": "invalid_client"}));
    let bad_id = request_token(
        &mocks,
        "someone-else",
        "proxy-secret-key",
        "client_credentials",
    );
    assert_eq!(bad_id.status, 401);
    let bad_grant = request_token(
        &mocks,
        "cognigy-proxy-client",
        "proxy-secret-key",
        "password",
    );
    assert_eq!(bad_grant.status, 400);
    assert_eq!(bad_grant.json(), json!({"error": "unsupported_grant_type"}));
}

#[test]
fn configured_credentials_and_ttl_are_used() {
    let mocks = Mocks::start(MockConfig {
        client_id: "other".into(),
        client_secret: "s3cret".into(),
        token_ttl_secs: 120,
        ..MockConfig::default()
    })
    .unwrap();
    assert_eq!(
        request_token(
            &mocks,
            "cognigy-proxy-client",
            "proxy-secret-key",
            "client_credentials"
        )
        .status,
        401
    );
    let a = request_token(&mocks, "other", "s3cret", "client_credentials");
    assert_eq!(a.json()["expires_in"], 120);
    mocks.set_token_ttl(7);
    let b = request_token(&mocks, "other", "s3cret", "client_credentials");
    assert_eq!(b.json()["expires_in"], 7);
}

#[test]
fn data_services_require_a_live_issued_bearer_token() {
    let mocks = start();
    let path = format!("/api/v1/customers/{DEMO_CUSTOMER_ID}");
    for presented in [None, Some("made-up"), Some("mock-at-1-0000000000000000")] {
        let a = get(&mocks, Service::Profile, &path, presented);
        assert_eq!(a.status, 401, "token {presented:?}");
        assert_eq!(a.json(), json!({"error": "invalid_token"}));
        assert_eq!(
            a.www_authenticate.as_deref(),
            Some(r#"Bearer error="invalid_token""#)
        );
    }
    let t = token(&mocks);
    assert_eq!(profile(&mocks, DEMO_CUSTOMER_ID, &t).status, 200);
    let orders = get(
        &mocks,
        Service::Orders,
        "/api/v1/orders?customerId=CUST-992847&limit=5",
        None,
    );
    assert_eq!(orders.status, 401);
    let crm = get(
        &mocks,
        Service::Tickets,
        "/api/v1/crm/tickets?customerId=CUST-992847&status=open",
        Some("nope"),
    );
    assert_eq!(crm.status, 401);
}

#[test]
fn expired_tokens_are_refused() {
    let mocks = start();
    mocks.set_token_ttl(0);
    let t = token(&mocks);
    assert_eq!(profile(&mocks, DEMO_CUSTOMER_ID, &t).status, 401);
    mocks.set_token_ttl(60);
    let t = token(&mocks);
    assert_eq!(profile(&mocks, DEMO_CUSTOMER_ID, &t).status, 200);
}

#[test]
fn revoked_tokens_are_refused_and_new_ones_work() {
    let mocks = start();
    let old = token(&mocks);
    assert_eq!(profile(&mocks, DEMO_CUSTOMER_ID, &old).status, 200);
    mocks.revoke_all_tokens();
    for (service, path) in [
        (Service::Profile, "/api/v1/customers/CUST-992847"),
        (
            Service::Orders,
            "/api/v1/orders?customerId=CUST-992847&limit=5&sort=createdDesc",
        ),
        (
            Service::Tickets,
            "/api/v1/crm/tickets?customerId=CUST-992847&status=open",
        ),
    ] {
        assert_eq!(
            get(&mocks, service, path, Some(&old)).status,
            401,
            "{service}"
        );
    }
    let fresh = token(&mocks);
    assert_eq!(profile(&mocks, DEMO_CUSTOMER_ID, &fresh).status, 200);
}

#[test]
fn demo_customer_data_matches_the_contract() {
    let mocks = start();
    let t = token(&mocks);
    let p = profile(&mocks, DEMO_CUSTOMER_ID, &t);
    assert_eq!(p.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        p.json(),
        json!({"customerId":"CUST-992847","fullName":"Elena Rostova","segment":"Premium",
               "email":"elena.rostova@example.com","phone":"+49 30 5550 1234","language":"de-DE",
               "accountStatus":"active","customerSince":"2019-03-14","loyaltyTier":"Gold"})
    );

    let o = get(
        &mocks,
        Service::Orders,
        "/api/v1/orders?customerId=CUST-992847&limit=5&sort=createdDesc",
        Some(&t),
    );
    assert_eq!(o.status, 200);
    assert!(o.body.contains(r#""total":249.90"#), "{}", o.body);
    assert_eq!(
        o.json(),
        json!({"customerId":"CUST-992847","total":1,"items":[
            {"orderNumber":"ORD-2024-88412","status":"shipped","total":249.90,"currency":"EUR",
             "createdAt":"2024-11-02T10:15:00Z",
             "items":[{"sku":"HDP-220","name":"Wireless Headphones","quantity":1}]}]})
    );

    let c = get(
        &mocks,
        Service::Tickets,
        "/api/v1/crm/tickets?customerId=CUST-992847&status=open",
        Some(&t),
    );
    assert_eq!(
        c.json(),
        json!({"customerId":"CUST-992847","tickets":[
            {"ticketId":"TCK-55102","subject":"Delivery delayed","priority":"High","status":"open",
             "createdAt":"2024-11-05T08:30:00Z"}]})
    );
}

#[test]
fn other_customers_cover_sparse_and_multi_record_cases() {
    let mocks = start();
    let t = token(&mocks);
    let sparse = profile(&mocks, "CUST-100001", &t).json();
    assert!(sparse.get("fullName").is_none() && sparse.get("segment").is_none());
    let none = get(
        &mocks,
        Service::Orders,
        "/api/v1/orders?customerId=CUST-100001&limit=5&sort=createdDesc",
        Some(&t),
    );
    assert_eq!(none.json()["items"], json!([]));

    let orders = get(
        &mocks,
        Service::Orders,
        "/api/v1/orders?customerId=CUST-100002&limit=2&sort=createdDesc",
        Some(&t),
    )
    .json();
    assert_eq!(orders["total"], 3);
    let items = orders["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items[0]["createdAt"].as_str() > items[1]["createdAt"].as_str());

    let tickets = get(
        &mocks,
        Service::Tickets,
        "/api/v1/crm/tickets?customerId=CUST-100002&status=open",
        Some(&t),
    )
    .json();
    assert_eq!(tickets["tickets"].as_array().unwrap().len(), 2);
    assert_eq!(tickets["tickets"][0]["priority"], "Low");

    let expected = &dataset().customer("CUST-100002").unwrap().orders[0];
    assert_eq!(items[0]["orderNumber"], expected.order_number.as_str());
}

#[test]
fn unknown_customers_and_paths_answer_404_json() {
    let mocks = start();
    let t = token(&mocks);
    let missing = profile(&mocks, "CUST-000000", &t);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json(), json!({"detail": "Customer not found"}));
    let encoded = profile(&mocks, "CUST%2D992847", &t);
    assert_eq!(encoded.json()["fullName"], "Elena Rostova");
    let empty = get(
        &mocks,
        Service::Tickets,
        "/api/v1/crm/tickets?customerId=CUST-000000&status=open",
        Some(&t),
    );
    assert_eq!(
        empty.json(),
        json!({"customerId": "CUST-000000", "tickets": []})
    );
    for service in Service::ALL {
        let a = get(&mocks, service, "/nowhere", Some(&t));
        assert_eq!(a.status, 404, "{service}");
        assert_eq!(a.content_type.as_deref(), Some("application/json"));
        a.json();
    }
}

#[test]
fn every_request_is_recorded_in_order_even_when_refused() {
    let mocks = start();
    assert_eq!(
        request_token(
            &mocks,
            "cognigy-proxy-client",
            "wrong",
            "client_credentials"
        )
        .status,
        401
    );
    let t = token(&mocks);
    assert_eq!(
        get(
            &mocks,
            Service::Profile,
            "/api/v1/customers/CUST-992847",
            None
        )
        .status,
        401
    );
    assert_eq!(profile(&mocks, DEMO_CUSTOMER_ID, &t).status, 200);

    let token_requests = mocks.requests(Service::Token);
    assert_eq!(token_requests.len(), 2);
    assert_eq!(mocks.request_count(Service::Token), 2);
    let first = &token_requests[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path_and_query, "/oauth2/token");
    assert_eq!(
        first.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    assert!(first
        .form()
        .contains(&("client_secret".into(), "wrong".into())));
    assert!(first
        .form()
        .contains(&("scope".into(), "customers.read orders.read".into())));
    assert!(first.headers.iter().all(|(n, _)| *n == n.to_lowercase()));

    let profile_requests = mocks.requests(Service::Profile);
    assert_eq!(profile_requests.len(), 2);
    assert_eq!(profile_requests[0].header("authorization"), None);
    assert_eq!(
        profile_requests[1].header("authorization"),
        Some(format!("Bearer {t}").as_str())
    );
    assert!(profile_requests[0].at <= profile_requests[1].at);
    assert_eq!(profile_requests[1].path(), "/api/v1/customers/CUST-992847");
    assert_eq!(mocks.request_count(Service::Orders), 0);

    mocks.clear_requests();
    assert!(mocks.requests(Service::Token).is_empty());
    assert_eq!(mocks.request_count(Service::Profile), 0);

    mocks.set_recording(false);
    assert_eq!(profile(&mocks, DEMO_CUSTOMER_ID, &t).status, 200);
    assert_eq!(mocks.request_count(Service::Profile), 1);
    assert!(mocks.requests(Service::Profile).is_empty());
}

#[test]
fn query_is_recorded_raw_and_decodable() {
    let mocks = start();
    let t = token(&mocks);
    get(
        &mocks,
        Service::Orders,
        "/api/v1/orders?customerId=CUST%2D992847&limit=5&sort=createdDesc",
        Some(&t),
    );
    let r = &mocks.requests(Service::Orders)[0];
    assert_eq!(
        r.path_and_query,
        "/api/v1/orders?customerId=CUST%2D992847&limit=5&sort=createdDesc"
    );
    assert_eq!(r.query_param("customerId").as_deref(), Some("CUST-992847"));
    assert_eq!(r.query_param("limit").as_deref(), Some("5"));
}

#[test]
fn one_connection_serves_many_requests() {
    let mocks = start();
    let t = token(&mocks);
    let mut stream = TcpStream::connect(("127.0.0.1", mocks.port(Service::Profile))).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let request = format!(
        "GET /api/v1/customers/CUST-992847 HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer {t}\r\n\r\n"
    );
    for _ in 0..3 {
        stream.write_all(request.as_bytes()).unwrap();
        let head = read_response(&mut stream);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    }
    assert_eq!(mocks.request_count(Service::Profile), 3);
}

/// Reads one response with a `content-length` body; returns its head.
fn read_response(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap();
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    head
}
