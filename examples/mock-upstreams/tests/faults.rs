//! One-shot and sticky faults, latency, and what tests see of them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{answer, profile, request_token, token, url};
use mock_upstreams::{Fault, MockConfig, Mocks, Service, DEMO_CUSTOMER_ID, MALFORMED_BODY};

fn start() -> Mocks {
    Mocks::start(MockConfig::default()).unwrap()
}

fn unavailable() -> Fault {
    Fault::Status {
        status: 503,
        headers: vec![("Retry-After".into(), "1".into())],
        body: r#"{"error":"unavailable"}"#.into(),
    }
}

#[test]
fn one_shot_fault_answers_once_then_normal_replies_resume() {
    let mocks = start();
    let t = token(&mocks);
    mocks.push_fault(Service::Profile, unavailable());
    let agent = common::agent();
    let faulted = agent
        .get(&url(
            &mocks,
            Service::Profile,
            "/api/v1/customers/CUST-992847",
        ))
        .set("Authorization", &format!("Bearer {t}"))
        .call();
    let Err(ureq::Error::Status(503, response)) = faulted else {
        panic!("expected 503, got {faulted:?}");
    };
    assert_eq!(response.header("retry-after"), Some("1"));
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(
        response.into_string().unwrap(),
        r#"{"error":"unavailable"}"#
    );
    assert_eq!(profile(&mocks, DEMO_CUSTOMER_ID, &t).status, 200);
    assert_eq!(
        mocks.request_count(Service::Profile),
        2,
        "faulted attempts are recorded"
    );
}

#[test]
fn one_shots_are_consumed_in_order_before_the_sticky_fault() {
    let mocks = start();
    let t = token(&mocks);
    mocks.set_sticky_fault(
        Service::Profile,
        Some(Fault::Body {
            status: 502,
            body: b"sticky".to_vec(),
        }),
    );
    mocks.push_fault(
        Service::Profile,
        Fault::Body {
            status: 500,
            body: b"first".to_vec(),
        },
    );
    mocks.push_fault(
        Service::Profile,
        Fault::Body {
            status: 429,
            body: b"second".to_vec(),
        },
    );
    let seen: Vec<(u16, String)> = (0..4)
        .map(|_| {
            let a = profile(&mocks, DEMO_CUSTOMER_ID, &t);
            (a.status, a.body)
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (500, "first".into()),
            (429, "second".into()),
            (502, "sticky".into()),
            (502, "sticky".into()),
        ]
    );
    mocks.set_sticky_fault(Service::Profile, None);
    assert_eq!(profile(&mocks, DEMO_CUSTOMER_ID, &t).status, 200);
}

#[test]
fn faults_are_per_service_and_can_be_cleared() {
    let mocks = start();
    let t = token(&mocks);
    mocks.set_sticky_fault(Service::Orders, Some(unavailable()));
    mocks.push_fault(Service::Tickets, Fault::Malformed);
    assert_eq!(profile(&mocks, DEMO_CUSTOMER_ID, &t).status, 200);
    mocks.clear_faults();
    let orders = common::get(
        &mocks,
        Service::Orders,
        "/api/v1/orders?customerId=CUST-992847&limit=1",
        Some(&t),
    );
    assert_eq!(orders.status, 200);
    let crm = common::get(
        &mocks,
        Service::Tickets,
        "/api/v1/crm/tickets?customerId=CUST-992847&status=open",
        Some(&t),
    );
    crm.json();
}

#[test]
fn token_endpoint_faults_apply_to_token_requests() {
    let mocks = start();
    mocks.push_fault(
        Service::Token,
        Fault::Status {
            status: 500,
            headers: vec![],
            body: "{}".into(),
        },
    );
    let a = request_token(
        &mocks,
        "cognigy-proxy-client",
        "proxy-secret-key",
        "client_credentials",
    );
    assert_eq!(a.status, 500);
    assert_eq!(mocks.requests(Service::Token).len(), 1);
    token(&mocks);
}

#[test]
fn malformed_fault_sends_invalid_json_with_a_json_content_type() {
    let mocks = start();
    let t = token(&mocks);
    mocks.push_fault(Service::Profile, Fault::Malformed);
    let a = profile(&mocks, DEMO_CUSTOMER_ID, &t);
    assert_eq!(a.status, 200);
    assert_eq!(a.content_type.as_deref(), Some("application/json"));
    assert_eq!(a.body, MALFORMED_BODY);
    assert!(serde_json::from_str::<serde_json::Value>(&a.body).is_err());
}

#[test]
fn body_fault_sends_raw_bytes() {
    let mocks = start();
    let t = token(&mocks);
    mocks.push_fault(
        Service::Tickets,
        Fault::Body {
            status: 200,
            body: br#"{"tickets":null}"#.to_vec(),
        },
    );
    let a = common::get(
        &mocks,
        Service::Tickets,
        "/api/v1/crm/tickets?customerId=CUST-992847&status=open",
        Some(&t),
    );
    assert_eq!((a.status, a.body.as_str()), (200, r#"{"tickets":null}"#));
    assert_eq!(a.content_type.as_deref(), Some("application/json"));
}

#[test]
fn delay_fault_waits_then_answers_normally() {
    let mocks = start();
    let t = token(&mocks);
    mocks.push_fault(Service::Profile, Fault::Delay { ms: 300 });
    let started = Instant::now();
    let a = profile(&mocks, DEMO_CUSTOMER_ID, &t);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(a.json()["fullName"], "Elena Rostova");
    let started = Instant::now();
    profile(&mocks, DEMO_CUSTOMER_ID, &t);
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[test]
fn configured_delay_applies_to_data_services_only() {
    let mocks = Mocks::start(MockConfig {
        delay_ms: 250,
        ..MockConfig::default()
    })
    .unwrap();
    let started = Instant::now();
    let t = token(&mocks);
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "token service is not delayed"
    );
    let started = Instant::now();
    profile(&mocks, DEMO_CUSTOMER_ID, &t);
    assert!(started.elapsed() >= Duration::from_millis(250));
    mocks.set_delay_ms(Service::Profile, 0);
    let started = Instant::now();
    profile(&mocks, DEMO_CUSTOMER_ID, &t);
    assert!(started.elapsed() < Duration::from_millis(250));
}

#[test]
fn path_delay_slows_down_only_the_matching_customer() {
    let mocks = start();
    let t = token(&mocks);
    mocks.set_path_delay_ms(Service::Profile, "CUST-100001", 300);
    let started = Instant::now();
    profile(&mocks, DEMO_CUSTOMER_ID, &t);
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "another customer is not delayed"
    );
    let started = Instant::now();
    profile(&mocks, "CUST-100001", &t);
    assert!(started.elapsed() >= Duration::from_millis(300));
    mocks.set_path_delay_ms(Service::Profile, "CUST-100001", 0);
    let started = Instant::now();
    profile(&mocks, "CUST-100001", &t);
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[test]
fn lifting_a_path_delay_releases_the_requests_waiting_on_it() {
    let mocks = start();
    let t = token(&mocks);
    mocks.set_path_delay_ms(Service::Profile, "CUST-100001", 60_000);
    let held = std::thread::spawn({
        let (url, t) = (
            url(&mocks, Service::Profile, "/api/v1/customers/CUST-100001"),
            t.clone(),
        );
        move || {
            let started = Instant::now();
            let r = common::agent()
                .get(&url)
                .set("Authorization", &format!("Bearer {t}"))
                .call();
            (r.map(|r| r.status()).ok(), started.elapsed())
        }
    });
    // Released only once the mock holds it.
    while mocks.requests(Service::Profile).is_empty() {
        std::thread::sleep(Duration::from_millis(10));
    }
    mocks.set_path_delay_ms(Service::Profile, "CUST-100001", 0);
    let (status, took) = held.join().unwrap();
    assert_eq!(status, Some(200));
    assert!(
        took < Duration::from_secs(30),
        "released, not timed out: {took:?}"
    );
}

#[test]
fn hang_holds_the_request_until_the_client_gives_up() {
    let mocks = start();
    let t = token(&mocks);
    mocks.push_fault(Service::Profile, Fault::Hang);
    let impatient = ureq::AgentBuilder::new()
        .timeout(Duration::from_millis(300))
        .build();
    let started = Instant::now();
    let result = answer(
        impatient
            .get(&url(
                &mocks,
                Service::Profile,
                "/api/v1/customers/CUST-992847",
            ))
            .set("Authorization", &format!("Bearer {t}"))
            .call(),
    );
    assert!(
        result.is_err(),
        "hung request must time out, got {result:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(mocks.request_count(Service::Profile), 1);
    assert_eq!(profile(&mocks, DEMO_CUSTOMER_ID, &t).status, 200);
}

#[test]
fn dropping_mocks_releases_hung_requests() {
    let mocks = start();
    let t = token(&mocks);
    mocks.set_sticky_fault(Service::Profile, Some(Fault::Hang));
    let target = url(&mocks, Service::Profile, "/api/v1/customers/CUST-992847");
    let client = std::thread::spawn(move || {
        ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build()
            .get(&target)
            .set("Authorization", &format!("Bearer {t}"))
            .call()
            .is_err()
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while mocks.request_count(Service::Profile) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let started = Instant::now();
    drop(mocks);
    assert!(client.join().unwrap(), "client sees the connection close");
    assert!(started.elapsed() < Duration::from_secs(5));
}
