//! The OAuth token: fetching, reuse, renewal, failures and sharing it across workers.

use std::rc::Rc;

use super::sim::*;
use crate::engine::*;
use crate::store::MemoryStore;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn cached_token_is_reused_without_fetch() {
    let mut sim = Sim::new("{}");
    sim.start(1);
    sim.with_token();
    sim.answer_all_ok();
    for ctx in 2..52 {
        sim.now += 10;
        sim.start(ctx);
        sim.answer_all_ok();
        assert_eq!(sim.answers[&ctx].status, 200);
    }
    assert_eq!(sim.to("token_service").len(), 1);
}

#[test]
fn revoked_token_is_refetched_once() {
    let mut sim = Sim::new("{}");
    sim.start(1);
    sim.with_token();
    sim.answer(sim.last_to("customer_profile"), reply(401, ""));
    sim.answer(sim.last_to("orders"), reply(401, ""));
    sim.answer(sim.last_to("crm"), reply(200, TICKETS));
    assert!(sim.answers.is_empty());
    sim.advance_to_wake();
    assert_eq!(
        sim.to("token_service").len(),
        2,
        "one re-fetch for both 401s"
    );
    sim.answer(sim.last_to("token_service"), token_ok("AT-2", 3600));
    assert_eq!(sim.to("customer_profile").len(), 2);
    assert_eq!(
        sim.call(sim.last_to("customer_profile"))
            .header("authorization"),
        Some("Bearer AT-2")
    );
    sim.answer(sim.last_to("customer_profile"), reply(200, PROFILE));
    sim.answer(sim.last_to("orders"), reply(200, ORDERS));
    assert_eq!(sim.answers[&1].status, 200);

    // A second 401 on the same call is final.
    sim.start(2);
    sim.answer(sim.last_to("customer_profile"), reply(401, ""));
    sim.advance_to_wake();
    sim.answer(sim.last_to("token_service"), token_ok("AT-3", 3600));
    sim.answer(sim.last_to("customer_profile"), reply(401, ""));
    assert_eq!(sim.answers[&2].status, 502);
    assert_eq!(
        json(&sim.answers[&2])["detail"],
        "Internal service unavailable: 401"
    );
}

#[test]
fn token_endpoint_failures() {
    for (r, detail) in [
        (
            reply(401, r#"{"error":"invalid_client"}"#),
            "OAuth client credentials invalid",
        ),
        (reply(503, ""), "OAuth token service unavailable"),
        (
            reply(200, r#"{"token_type":"Bearer"}"#),
            "OAuth token service unavailable",
        ),
        (CallReply::default(), "OAuth token service unavailable"),
    ] {
        let mut sim = Sim::new("{}");
        sim.start(1);
        sim.start(2);
        sim.advance_to_wake();
        sim.answer(sim.last_to("token_service"), r);
        for ctx in [1, 2] {
            assert_eq!(sim.answers[&ctx].status, 502);
            assert_eq!(json(&sim.answers[&ctx])["detail"], detail);
        }
        // During the backoff new requests fail at once, without a fetch.
        sim.start(3);
        assert_eq!(sim.answers[&3].status, 502);
        assert_eq!(sim.to("token_service").len(), 1);
    }
}

#[test]
fn token_server_recovers_after_backoff() {
    let mut sim = Sim::new("{}");
    sim.start(1);
    sim.advance_to_wake();
    sim.answer(sim.last_to("token_service"), reply(503, ""));
    assert_eq!(sim.answers[&1].status, 502);
    sim.now += 1000;
    sim.start(2);
    sim.with_token();
    sim.answer_all_ok();
    assert_eq!(sim.answers[&2].status, 200);
}

#[test]
fn token_dispatch_refused_counts_as_failure() {
    let mut sim = Sim::new("{}");
    sim.start(1);
    sim.refuse_dispatch = true;
    sim.advance_to_wake();
    assert_eq!(sim.answers[&1].status, 502);
}

#[test]
fn requests_waiting_for_token_time_out() {
    let mut sim = Sim::new("{}");
    let t0 = sim.now;
    sim.start(1);
    sim.tick();
    assert_eq!(sim.to("token_service").len(), 1);
    sim.now = t0 + 4500;
    sim.tick();
    assert_eq!(sim.answers[&1].status, 504);
    sim.answer(sim.last_to("token_service"), token_ok("AT", 3600));
    sim.start(2);
    assert_eq!(
        sim.to("customer_profile").len(),
        1,
        "the late token still serves later requests"
    );
}

#[test]
fn two_workers_fetch_one_token() {
    let store = Rc::new(MemoryStore::default());
    let mut a = Sim::on_store("{}", Rc::clone(&store));
    let mut b = Sim::on_store("{}", Rc::clone(&store));
    for ctx in 1..=10 {
        a.start_customer(ctx, &format!("A-{ctx}"));
        b.start_customer(ctx, &format!("B-{ctx}"));
    }
    a.tick();
    b.tick();
    assert_eq!(a.to("token_service").len() + b.to("token_service").len(), 1);
    assert_eq!(
        b.engine.next_wake(b.now),
        Some(b.now + TOKEN_POLL_MS),
        "b polls for a's token"
    );
    a.answer(a.last_to("token_service"), token_ok("AT-shared", 3600));
    assert_eq!(a.to("customer_profile").len(), 10);
    b.now += TOKEN_POLL_MS;
    b.tick();
    assert_eq!(b.to("customer_profile").len(), 10);
    assert_eq!(
        b.call(b.last_to("orders")).header("authorization"),
        Some("Bearer AT-shared")
    );
    assert_eq!(b.to("token_service").len(), 0);
}

#[test]
fn steady_traffic_renews_ahead_without_waiting() {
    let mut sim = Sim::new(r#"{"token": {"refreshMarginMs": 1000}}"#);
    sim.start(1);
    sim.advance_to_wake();
    sim.answer(sim.last_to("token_service"), token_ok("AT-1", 3));
    sim.answer_all_ok();
    for ctx in 2..42 {
        sim.now += 250;
        sim.tick();
        if let Some(&t) = sim.to("token_service").last() {
            if sim.engine.pending_callouts() > 0
                && sim.calls.last().is_some_and(|(last, _, _)| *last == t)
            {
                let n = sim.to("token_service").len();
                sim.answer(t, token_ok(&format!("AT-{n}"), 3));
            }
        }
        sim.start(ctx);
        assert_eq!(
            sim.to("customer_profile").len() as u32,
            ctx,
            "request {ctx} did not wait for a token"
        );
        sim.answer_all_ok();
        assert_eq!(sim.answers[&ctx].status, 200);
    }
    assert!(
        sim.to("token_service").len() >= 4,
        "renewed: {}",
        sim.to("token_service").len()
    );
}

#[test]
fn waiting_for_another_workers_renewal_polls_instead_of_spinning() {
    let store = Rc::new(MemoryStore::default());
    let config = r#"{"token": {"refreshMarginMs": 1000}}"#;
    let mut a = Sim::on_store(config, Rc::clone(&store));
    let mut b = Sim::on_store(config, Rc::clone(&store));
    a.start(1);
    a.advance_to_wake();
    a.answer(a.last_to("token_service"), token_ok("AT-1", 3));
    b.now = a.now;
    b.start_customer(1, "B-1");
    a.now += 2000;
    b.now += 2000;
    a.tick();
    assert_eq!(a.to("token_service").len(), 2, "a renews");
    b.tick();
    assert!(b.to("token_service").is_empty(), "b does not");
    assert_eq!(b.engine.next_wake(b.now), Some(b.now + 10));
}
