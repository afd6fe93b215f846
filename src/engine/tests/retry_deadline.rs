//! Retries on 429 (Retry-After, backoff) and the per-request deadline.

use super::sim::*;
use crate::engine::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn retry_after_429_then_success() {
    let mut sim = Sim::new("{}");
    sim.start(1);
    sim.with_token();
    let first = sim.last_to("orders");
    sim.answer(
        first,
        CallReply {
            retry_after: Some("1".into()),
            ..reply(429, "")
        },
    );
    assert_eq!(sim.engine.next_wake(sim.now), Some(sim.now + 1000));
    let p = sim.last_to("customer_profile");
    sim.answer(p, reply(200, PROFILE));
    let t = sim.last_to("crm");
    sim.answer(t, reply(200, TICKETS));
    sim.now += 999;
    sim.tick();
    assert_eq!(sim.to("orders").len(), 1, "not before Retry-After");
    sim.now += 1;
    sim.tick();
    assert_eq!(sim.to("orders").len(), 2);
    let retry = sim.call(sim.last_to("orders"));
    assert_eq!(retry.header("authorization"), Some("Bearer AT-1"));
    assert_eq!(
        retry.timeout_ms,
        3500 + DEADLINE_SLACK_MS,
        "timeout comes out of the remaining budget"
    );
    sim.answer(sim.last_to("orders"), reply(200, ORDERS));
    assert_eq!(sim.answers[&1].status, 200);
    assert_eq!(request_observation(&mut sim.engine).1, 1);
}

#[test]
fn retry_after_http_date() {
    let mut sim = Sim::new("{}");
    sim.now = 784_111_777_000; // Sun, 06 Nov 1994 08:49:37 GMT
    sim.start(1);
    sim.with_token();
    sim.answer(
        sim.last_to("customer_profile"),
        CallReply {
            retry_after: Some("Sun, 06 Nov 1994 08:49:39 GMT".into()),
            ..reply(429, "")
        },
    );
    assert_eq!(sim.engine.next_wake(sim.now), Some(784_111_779_000));
}

#[test]
fn backoff_without_retry_after_until_attempts_run_out() {
    let mut sim = Sim::new(r#"{"deadlineMs": 10000}"#);
    sim.start(1);
    sim.with_token();
    let start = sim.now;
    for (attempt, gap) in [(1, 1000), (2, 2000)] {
        sim.answer(sim.last_to("customer_profile"), reply(429, ""));
        assert_eq!(
            sim.engine.next_wake(sim.now),
            Some(sim.now + gap),
            "after attempt {attempt}"
        );
        sim.now += gap;
        sim.tick();
    }
    assert_eq!(sim.to("customer_profile").len(), 3);
    assert_eq!(sim.now - start, 3000);
    sim.answer(sim.last_to("customer_profile"), reply(429, ""));
    let r = &sim.answers[&1];
    assert_eq!(
        (r.status, json(r)["detail"].as_str().unwrap()),
        (
            502,
            "Failed to reach customer profile service after 3 attempts"
        )
    );
    assert_eq!(
        sim.engine.pending_callouts(),
        0,
        "the other calls are forgotten"
    );
}

#[test]
fn retry_after_beyond_deadline_fails_at_once() {
    let mut sim = Sim::new("{}");
    sim.start(1);
    sim.with_token();
    sim.answer(
        sim.last_to("customer_profile"),
        CallReply {
            retry_after: Some("10".into()),
            ..reply(429, "")
        },
    );
    let r = &sim.answers[&1];
    assert_eq!(r.status, 502);
    assert_eq!(
        json(r)["detail"],
        "Failed to reach customer profile service after 1 attempt"
    );
}

#[test]
fn deadline_answers_504_and_late_replies_are_dropped() {
    let mut sim = Sim::new("{}");
    let t0 = sim.now;
    sim.start(1);
    sim.with_token();
    sim.answer(sim.last_to("orders"), reply(200, ORDERS));
    assert_eq!(sim.engine.next_wake(sim.now), Some(t0 + 4500));
    sim.advance_to_wake();
    let r = &sim.answers[&1];
    assert_eq!(
        (r.status, json(r)["detail"].as_str().unwrap()),
        (504, "Context enrichment timed out after 4500 ms")
    );
    assert_eq!(sim.engine.pending_callouts(), 0);
    sim.answer(sim.last_to("customer_profile"), reply(200, PROFILE));
    assert_eq!(sim.answers.len(), 1, "late reply absorbed");
    let wake = sim.engine.next_wake(sim.now);
    assert!(
        wake.is_some_and(|w| w > sim.now + 60_000),
        "only the token renewal is left: {wake:?}"
    );
}

#[test]
fn reply_arriving_after_deadline_gives_504() {
    let mut sim = Sim::new("{}");
    sim.start(1);
    sim.with_token();
    sim.now += 4600;
    sim.answer(
        sim.last_to("customer_profile"),
        reply(504, "upstream request timeout"),
    );
    assert_eq!(sim.answers[&1].status, 504);
}

#[test]
fn service_timeout_is_capped_by_remaining_budget() {
    let mut sim = Sim::new(r#"{"services": {"openTickets": {"timeoutMs": 800}}}"#);
    sim.start(1);
    sim.now += 4000;
    sim.with_token();
    assert_eq!(
        sim.call(sim.last_to("crm")).timeout_ms,
        500 + DEADLINE_SLACK_MS
    );
    assert_eq!(
        sim.call(sim.last_to("orders")).timeout_ms,
        500 + DEADLINE_SLACK_MS
    );
    let mut sim = Sim::new(r#"{"services": {"openTickets": {"timeoutMs": 800}}}"#);
    sim.start(1);
    sim.with_token();
    assert_eq!(sim.call(sim.last_to("crm")).timeout_ms, 800);
}

#[test]
fn host_timeout_of_a_call_cut_by_the_deadline_still_answers_504() {
    // Envoy times a call out by itself (504 "upstream request timeout") and can fire that timer a
    // few ms early. Had the call's timeout ended exactly at the deadline, that reply would come just
    // before it and be taken for a failed service (502 "Internal service unavailable: 504").
    let mut sim = Sim::new(r#"{"deadlineMs": 1500}"#);
    let deadline = sim.now + 1500;
    sim.start(1);
    sim.with_token();
    let profile = sim.last_to("customer_profile");
    let sent = sim.now;
    let timeout = sim.call(profile).timeout_ms;
    assert!(sent + timeout > deadline, "the call outlasts the deadline");
    sim.now = sent + timeout - 5;
    sim.answer(profile, reply(504, "upstream request timeout"));
    let r = &sim.answers[&1];
    assert_eq!(
        (r.status, json(r)["detail"].as_str().unwrap()),
        (504, "Context enrichment timed out after 1500 ms")
    );
    // Normally the deadline's own tick answers first and the host's reply is dropped.
    let mut sim = Sim::new(r#"{"deadlineMs": 1500}"#);
    sim.start(1);
    sim.with_token();
    let profile = sim.last_to("customer_profile");
    let timeout = sim.call(profile).timeout_ms;
    sim.advance_to_wake();
    assert_eq!(sim.answers[&1].status, 504);
    sim.now += timeout;
    sim.answer(profile, reply(504, "upstream request timeout"));
    assert_eq!(sim.answers.len(), 1);
    assert_eq!(sim.engine.pending_callouts(), 0);
}

#[test]
fn deadline_with_required_data_in_gives_the_partial_answer() {
    let mut sim = Sim::new("{}");
    let t0 = sim.now;
    sim.start(1);
    sim.with_token();
    sim.answer(sim.last_to("customer_profile"), reply(200, PROFILE));
    sim.answer(sim.last_to("crm"), reply(200, TICKETS));
    sim.now = t0 + 4500;
    sim.tick();
    let r = &sim.answers[&1];
    assert_eq!(r.status, 200);
    assert_eq!(json(r)["degraded"], serde_json::json!(["recentOrders"]));
    assert_eq!(sim.engine.pending_callouts(), 0);
    sim.answer(sim.last_to("orders"), reply(200, ORDERS));
    assert_eq!(sim.answers.len(), 1, "the late reply is dropped");
}
