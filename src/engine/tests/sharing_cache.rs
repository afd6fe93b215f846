//! Concurrent requests for one customer sharing calls, and the shared profile cache.

use std::rc::Rc;

use super::sim::*;
use crate::metrics::Observation;
use crate::store::MemoryStore;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn concurrent_requests_for_one_customer_share_calls() {
    let mut sim = Sim::new("{}");
    sim.start(1);
    sim.with_token();
    sim.start(2);
    sim.start(3);
    sim.start_customer(4, "OTHER-1");
    assert_eq!(
        sim.to("customer_profile").len(),
        2,
        "requests 2 and 3 follow request 1"
    );
    sim.answer(sim.to("customer_profile")[0], reply(200, PROFILE));
    sim.answer(sim.to("orders")[0], reply(200, ORDERS));
    sim.answer(sim.to("crm")[0], reply(200, TICKETS));
    for ctx in 1..=3 {
        assert_eq!(sim.answers[&ctx].status, 200, "ctx {ctx}");
        assert_eq!(
            json(&sim.answers[&ctx])["customerProfile"]["fullName"],
            "Elena Rostova"
        );
    }
    assert!(!sim.answers.contains_key(&4));
    // Once the shared call is over, a new request calls again.
    sim.start(5);
    assert_eq!(sim.to("customer_profile").len(), 3);
}

#[test]
fn followers_take_over_when_the_leader_goes() {
    let mut sim = Sim::new("{}");
    sim.start(1);
    sim.with_token();
    sim.start(2);
    sim.start(3);
    sim.engine.on_request_gone(1);
    assert_eq!(
        sim.engine.next_wake(sim.now),
        Some(sim.now),
        "the new leader is sent at the next tick"
    );
    sim.tick();
    assert_eq!(
        sim.to("customer_profile").len(),
        2,
        "request 2 re-sends, request 3 follows it"
    );
    sim.answer_all_ok();
    assert_eq!(sim.answers[&2].status, 200);
    assert_eq!(sim.answers[&3].status, 200);
    assert_eq!(sim.engine.pending_callouts(), 0);
}

#[test]
fn follower_shares_the_leaders_failure() {
    let mut sim = Sim::new("{}");
    sim.start(1);
    sim.with_token();
    sim.start(2);
    sim.answer(sim.last_to("customer_profile"), reply(500, ""));
    assert_eq!(sim.answers[&1].status, 502);
    assert_eq!(sim.answers[&2].status, 502);
    assert_eq!(sim.engine.in_flight(), 0);
}

#[test]
fn profile_cache_hit_expiry_and_isolation() {
    let config = r#"{"services": {"customerProfile": {"cache": {"ttlMs": 30000}}}}"#;
    let mut sim = Sim::new(config);
    sim.start(1);
    sim.with_token();
    sim.answer_all_ok();
    sim.start(2);
    assert_eq!(
        sim.to("customer_profile").len(),
        1,
        "second request served from cache"
    );
    sim.answer(sim.last_to("orders"), reply(200, ORDERS));
    sim.answer(sim.last_to("crm"), reply(200, TICKETS));
    assert_eq!(
        json(&sim.answers[&2])["customerProfile"]["fullName"],
        "Elena Rostova"
    );
    assert!(json(&sim.answers[&2]).get("stale").is_none());
    sim.start_customer(3, "CUST-100001");
    assert_eq!(
        sim.to("customer_profile").len(),
        2,
        "another customer is never served this one's entry"
    );
    sim.now += 30_000;
    sim.start(4);
    assert_eq!(sim.to("customer_profile").len(), 3, "expired");
    let obs = sim.engine.take_observations();
    let hits = obs
        .iter()
        .filter(|o| matches!(o, Observation::Cache { hit: true, .. }))
        .count();
    let misses = obs
        .iter()
        .filter(|o| matches!(o, Observation::Cache { hit: false, .. }))
        .count();
    assert_eq!((hits, misses), (1, 3));
}

#[test]
fn cache_is_shared_by_workers() {
    let store = Rc::new(MemoryStore::default());
    let config = r#"{"services": {"customerProfile": {"cache": {"ttlMs": 30000}}}}"#;
    let mut a = Sim::on_store(config, Rc::clone(&store));
    let mut b = Sim::on_store(config, Rc::clone(&store));
    a.start(1);
    a.with_token();
    a.answer_all_ok();
    b.start(1);
    b.tick();
    assert_eq!(b.to("customer_profile").len(), 0);
    assert_eq!(b.to("orders").len(), 1);
}

#[test]
fn stale_if_error_serves_an_expired_entry_marked_stale() {
    let config =
        r#"{"services": {"customerProfile": {"cache": {"ttlMs": 1000, "staleIfErrorMs": 60000}}}}"#;
    let mut sim = Sim::new(config);
    sim.start(1);
    sim.with_token();
    sim.answer_all_ok();
    sim.now += 5000;
    sim.start(2);
    sim.answer(sim.last_to("customer_profile"), reply(503, ""));
    sim.answer(sim.last_to("orders"), reply(200, ORDERS));
    sim.answer(sim.last_to("crm"), reply(200, TICKETS));
    let r = &sim.answers[&2];
    assert_eq!(r.status, 200);
    assert_eq!(json(r)["customerProfile"]["fullName"], "Elena Rostova");
    assert_eq!(json(r)["stale"], serde_json::json!(["customerProfile"]));
    // Past the stale window the failure stands.
    sim.now += 60_000;
    sim.start(3);
    sim.answer(sim.last_to("customer_profile"), reply(503, ""));
    assert_eq!(sim.answers[&3].status, 502);
}

#[test]
fn everything_cached_needs_no_token() {
    let config = r#"{"services": {"customerProfile": {"cache": {"ttlMs": 86400000}}, "recentOrders": {"cache": {"ttlMs": 86400000}}, "openTickets": {"cache": {"ttlMs": 86400000}}}}"#;
    let mut sim = Sim::new(config);
    sim.start(1);
    sim.with_token();
    sim.answer_all_ok();
    sim.now += 3_600_000 - 10; // the token has expired by now
    sim.start(2);
    assert_eq!(sim.answers[&2].status, 200);
    assert_eq!(sim.to("token_service").len(), 1);
}
