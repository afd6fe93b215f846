//! Admission: what the front door accepts, refuses or passes through, before any call.

use super::sim::*;
use crate::engine::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn rejections_before_any_call() {
    let cases: Vec<(RequestHead<'static>, &[u8], u16)> = vec![
        (head("GET"), BODY, 405),
        (
            RequestHead {
                authorization: None,
                ..head("POST")
            },
            BODY,
            401,
        ),
        (
            RequestHead {
                authorization: Some("Bearer nope"),
                ..head("POST")
            },
            BODY,
            401,
        ),
        (
            RequestHead {
                content_type: Some("text/plain"),
                ..head("POST")
            },
            BODY,
            415,
        ),
        (
            RequestHead {
                content_type: None,
                ..head("POST")
            },
            BODY,
            415,
        ),
        (
            RequestHead {
                content_length: Some("70000"),
                ..head("POST")
            },
            BODY,
            413,
        ),
        (head("POST"), &[b' '; 70_000], 413),
        (head("POST"), br#"{"sessionId":"s"}"#, 422),
        (head("POST"), b"not json", 422),
        (
            RequestHead {
                end_of_stream: true,
                ..head("POST")
            },
            b"",
            422,
        ),
    ];
    for (i, (h, body, status)) in cases.into_iter().enumerate() {
        let mut sim = Sim::new("{}");
        let ctx = i as u32 + 1;
        assert_eq!(sim.start_with(ctx, &h, body), Action::Pause);
        assert_eq!(sim.answers[&ctx].status, status, "case {i}");
        assert!(sim.calls.is_empty(), "case {i}: no upstream call");
        assert_eq!(sim.engine.in_flight(), 0);
        assert_eq!(
            sim.engine.next_wake(sim.now),
            None,
            "case {i}: nothing left to wake for"
        );
    }
}

#[test]
fn api_key_and_json_variants_are_accepted() {
    let mut sim = Sim::new("{}");
    let h = RequestHead {
        authorization: None,
        api_key: Some("demo-webhook-token"),
        content_type: Some("application/json; charset=utf-8"),
        ..head("POST")
    };
    assert_eq!(sim.start_with(1, &h, BODY), Action::Pause);
    assert!(!sim.answers.contains_key(&1));
}

#[test]
fn other_paths_pass_through() {
    let mut sim = Sim::new("{}");
    for path in [
        "/",
        "/api/v1/agent-assist/enrichX",
        "/api/v1/agent-assist",
        "/healthz",
    ] {
        let h = RequestHead {
            path,
            ..head("POST")
        };
        assert_eq!(sim.start_with(7, &h, BODY), Action::Continue, "{path}");
    }
    let h = RequestHead {
        path: "/api/v1/agent-assist/enrich?x=1",
        ..head("POST")
    };
    assert_eq!(sim.start_with(8, &h, BODY), Action::Pause);
    assert!(sim.answers.is_empty());
}

#[test]
fn body_arrives_in_chunks() {
    let mut sim = Sim::new("{}");
    let (a, e) = sim
        .engine
        .on_request_headers(1, &head("POST"), sim.now, &*sim.store);
    assert_eq!(a, Action::Pause);
    assert!(e.is_empty());
    let mut never = || -> Option<Vec<u8>> { panic!("read before end of stream") };
    let (a, e) = sim
        .engine
        .on_request_body(1, 10, false, &mut never, sim.now, &*sim.store);
    assert_eq!((a, e.len()), (Action::Pause, 0));
    let mut read = || Some(BODY.to_vec());
    let (a, e) = sim
        .engine
        .on_request_body(1, BODY.len(), true, &mut read, sim.now, &*sim.store);
    sim.run(e);
    assert_eq!(a, Action::Pause);
    assert!(sim.answers.is_empty());
    assert_eq!(sim.engine.in_flight(), 1);
}

#[test]
fn customer_number_is_encoded_into_paths() {
    let mut sim = Sim::new(r#"{"customerNumberPattern": ".+"}"#);
    let body = br#"{"sessionId":"s","customerNumber":"a/../b?c=1&d#e f","intent":"x"}"#;
    sim.start_with(1, &head("POST"), body);
    sim.with_token();
    assert_eq!(
        sim.call(sim.last_to("customer_profile")).header(":path"),
        Some("/api/v1/customers/a%2F..%2Fb%3Fc%3D1%26d%23e%20f")
    );
    assert_eq!(
        sim.call(sim.last_to("crm")).header(":path"),
        Some("/api/v1/crm/tickets?customerId=a%2F..%2Fb%3Fc%3D1%26d%23e%20f&status=open")
    );
}

/// Found by the `engine` fuzz target: a request id with a NUL (or a line break) went into log
/// lines, the answer's header and every upstream call as is.
#[test]
fn only_visible_ascii_request_ids_are_carried() {
    let long = "r".repeat(129);
    let max = "r".repeat(128);
    for (given, carried) in [
        (Some("req-1"), "req-1"),
        (Some(max.as_str()), max.as_str()),
        (Some("a\0b"), "-"),
        (Some("a\r\nx-injected: 1"), "-"),
        (Some("two words"), "-"),
        (Some("\u{1b}[31mred"), "-"),
        (Some("é"), "-"),
        (Some(""), "-"),
        (Some(long.as_str()), "-"),
        (None, "-"),
    ] {
        let mut sim = Sim::new("{}");
        let h = RequestHead {
            request_id: given,
            ..head("POST")
        };
        assert_eq!(sim.start_with(1, &h, BODY), Action::Pause);
        sim.with_token();
        let p = sim.last_to("customer_profile");
        assert_eq!(
            sim.call(p).header("x-request-id"),
            Some(carried),
            "{given:?}"
        );
        sim.answer_all_ok();
        let answer = &sim.answers[&1];
        assert_eq!(answer.status, 200);
        let echoed = answer
            .headers
            .iter()
            .find(|(k, _)| *k == "x-request-id")
            .map(|(_, v)| v.as_str());
        assert_eq!(echoed, Some(carried), "{given:?}");
    }
}
