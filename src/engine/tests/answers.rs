//! Whole lifecycles and what they answer: the happy path, degraded and failed answers, the
//! prompt, Server-Timing, the observations behind the metrics, and a request that goes away.

use super::sim::*;
use crate::engine::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn happy_path_from_cold_start() {
    let mut sim = Sim::new("{}");
    sim.start(1);
    assert!(sim.calls.is_empty(), "no call before the token");
    assert_eq!(
        sim.engine.next_wake(sim.now),
        Some(sim.now),
        "token wanted at once"
    );
    sim.with_token();
    assert_eq!(sim.to("token_service").len(), 1);
    for cluster in ["customer_profile", "orders", "crm"] {
        let call = sim.call(sim.last_to(cluster));
        assert_eq!(call.header("authorization"), Some("Bearer AT-1"));
        assert_eq!(call.header("accept"), Some("application/json"));
        assert_eq!(call.header(":method"), Some("GET"));
        assert_eq!(call.header("x-request-id"), Some("req-1"));
        assert_eq!(call.timeout_ms, 4500 + DEADLINE_SLACK_MS);
    }
    assert_eq!(
        sim.call(sim.last_to("customer_profile")).header(":path"),
        Some("/api/v1/customers/CUST-992847")
    );
    assert_eq!(
        sim.call(sim.last_to("orders")).header(":path"),
        Some("/api/v1/orders?customerId=CUST-992847&limit=5&sort=createdDesc")
    );
    assert_eq!(
        sim.call(sim.last_to("crm")).header(":path"),
        Some("/api/v1/crm/tickets?customerId=CUST-992847&status=open")
    );
    sim.answer_all_ok();
    let r = &sim.answers[&1];
    assert_eq!(r.status, 200);
    assert!(r.headers.contains(&("x-request-id", "req-1".to_owned())));
    assert_eq!(
        json(r),
        serde_json::json!({
            "customerProfile": {"customerId":"CUST-992847","fullName":"Elena Rostova","segment":"Premium"},
            "recentOrders": [{"orderNumber":"ORD-2024-88412","total":249.9}],
            "openTickets": [{"ticketId":"TCK-55102","priority":"High"}],
            "enrichedPromptContext": "Customer: Elena Rostova | Segment: Premium\nRecent Orders: 1 items. Last order: ORD-2024-88412\nOpen Tickets: 1 active cases. Priority: High"
        })
    );
    assert_eq!(sim.engine.in_flight(), 0);
    assert_eq!(sim.engine.pending_callouts(), 0);
    assert_eq!(request_observation(&mut sim.engine).0, "ok");
}

#[test]
fn optional_failure_degrades_required_failure_fails_fast() {
    let mut sim = Sim::new("{}");
    sim.start(1);
    sim.with_token();
    sim.answer(sim.last_to("orders"), reply(500, "boom"));
    sim.answer(sim.last_to("customer_profile"), reply(200, PROFILE));
    sim.answer(sim.last_to("crm"), reply(200, TICKETS));
    let v = json(&sim.answers[&1]);
    assert_eq!(sim.answers[&1].status, 200);
    assert_eq!(v["degraded"], serde_json::json!(["recentOrders"]));
    assert!(v["enrichedPromptContext"]
        .as_str()
        .unwrap()
        .contains("Recent Orders: unavailable"));

    sim.start(2);
    sim.answer(sim.last_to("customer_profile"), reply(503, ""));
    let r = &sim.answers[&2];
    assert_eq!(
        (r.status, json(r)["detail"].as_str().unwrap()),
        (502, "Internal service unavailable: 503")
    );
    assert_eq!(sim.engine.pending_callouts(), 0);
    sim.answer(sim.last_to("orders"), reply(200, ORDERS));
    assert_eq!(sim.engine.in_flight(), 0);
}

#[test]
fn malformed_and_unreachable_upstreams() {
    for (r, detail) in [
        (
            reply(200, "{not json"),
            "Internal service unavailable: invalid response from customer profile service",
        ),
        (
            reply(200, r#"["a"]"#),
            "Internal service unavailable: invalid response from customer profile service",
        ),
        (
            CallReply {
                status: Some(200),
                body: Vec::new(),
                body_size: 2 << 20,
                retry_after: None,
            },
            "Internal service unavailable: invalid response from customer profile service",
        ),
        (
            CallReply::default(),
            "Internal service unavailable: customer profile service unreachable",
        ),
    ] {
        let mut sim = Sim::new("{}");
        sim.start(1);
        sim.with_token();
        sim.answer(sim.last_to("customer_profile"), r);
        assert_eq!(sim.answers[&1].status, 502);
        assert_eq!(json(&sim.answers[&1])["detail"], detail);
    }
    let mut sim = Sim::new("{}");
    sim.start(1);
    sim.with_token();
    sim.answer(sim.last_to("crm"), reply(200, r#"{"items":[]}"#));
    sim.answer(sim.last_to("orders"), reply(200, ORDERS));
    sim.answer(sim.last_to("customer_profile"), reply(200, PROFILE));
    assert_eq!(
        json(&sim.answers[&1])["degraded"],
        serde_json::json!(["openTickets"])
    );
}

#[test]
fn optional_profile_and_required_orders_by_config() {
    let mut sim = Sim::new(
        r#"{"services": {"customerProfile": {"required": false}, "recentOrders": {"required": true}}}"#,
    );
    sim.start(1);
    sim.with_token();
    sim.answer(sim.last_to("customer_profile"), reply(404, ""));
    sim.answer(sim.last_to("crm"), reply(200, TICKETS));
    assert!(sim.answers.is_empty());
    sim.answer(sim.last_to("orders"), reply(200, ORDERS));
    let v = json(&sim.answers[&1]);
    assert_eq!(v["customerProfile"], serde_json::json!({}));
    assert_eq!(v["degraded"], serde_json::json!(["customerProfile"]));
}

#[test]
fn dispatch_refused_by_host() {
    let mut sim = Sim::new("{}");
    sim.start(1);
    sim.with_token();
    sim.answer_all_ok();
    sim.refuse_dispatch = true;
    sim.start(2);
    assert_eq!(sim.answers[&2].status, 502);
    assert_eq!(sim.engine.in_flight(), 0);
}

#[test]
fn request_gone_forgets_everything() {
    let mut sim = Sim::new("{}");
    sim.start(1);
    sim.with_token();
    sim.answer(
        sim.last_to("orders"),
        CallReply {
            retry_after: Some("1".into()),
            ..reply(429, "")
        },
    );
    assert_eq!(sim.engine.pending_callouts(), 2);
    sim.engine.on_request_gone(1);
    assert_eq!(
        (sim.engine.in_flight(), sim.engine.pending_callouts()),
        (0, 0)
    );
    sim.answer(sim.last_to("customer_profile"), reply(200, PROFILE));
    sim.now += 1000;
    sim.tick();
    assert_eq!(
        sim.to("orders").len(),
        1,
        "no retry for a request that is gone"
    );
    assert!(sim.answers.is_empty());
    sim.engine.on_request_gone(1);
    sim.start(2);
    sim.answer_all_ok();
    assert_eq!(sim.answers[&2].status, 200);
}

#[test]
fn server_timing_is_opt_in() {
    let mut sim = Sim::new(r#"{"serverTiming": true}"#);
    sim.start(1);
    sim.with_token();
    sim.now += 7;
    sim.answer_all_ok();
    let timing = sim.answers[&1]
        .headers
        .iter()
        .find(|(k, _)| *k == "server-timing")
        .map(|(_, v)| v.clone());
    assert_eq!(
        timing.as_deref(),
        Some("profile;dur=7, orders;dur=7, tickets;dur=7")
    );
    let mut sim = Sim::new("{}");
    sim.start(1);
    sim.with_token();
    sim.answer_all_ok();
    assert!(!sim.answers[&1]
        .headers
        .iter()
        .any(|(k, _)| *k == "server-timing"));
}

#[test]
fn observations_for_metrics() {
    use crate::metrics::{Observation as O, StatusClass as C};
    let mut sim = Sim::new("{}");
    sim.start(1);
    sim.with_token();
    sim.now += 5;
    sim.answer(
        sim.last_to("orders"),
        CallReply {
            retry_after: Some("0".into()),
            ..reply(429, "")
        },
    );
    sim.tick();
    sim.now += 3;
    sim.answer_all_ok();
    let obs = sim.engine.take_observations();
    assert!(obs.contains(&O::TokenFetch { ok: true }));
    assert!(obs.contains(&O::Retry {
        service: Service::Orders
    }));
    assert!(obs.contains(&O::Upstream {
        service: Service::Orders,
        class: C::S4xx,
        latency_ms: 5
    }));
    assert!(obs.contains(&O::Upstream {
        service: Service::Orders,
        class: C::S2xx,
        latency_ms: 3
    }));
    assert!(obs.contains(&O::Upstream {
        service: Service::Profile,
        class: C::S2xx,
        latency_ms: 8
    }));
    assert!(obs.contains(&O::Request {
        outcome: "ok",
        duration_ms: 8,
        retries: 1
    }));
    assert!(sim.engine.take_observations().is_empty());
}

#[test]
fn configured_prompt_template_is_used() {
    let mut sim = Sim::new(
        r#"{"prompt": {"template": "{customerName} wants {intent}. Orders: {orderCount}, last {lastOrder}. Tickets: {ticketCount} ({topPriority})."}}"#,
    );
    sim.start(1);
    sim.with_token();
    sim.answer_all_ok();
    assert_eq!(
        json(&sim.answers[&1])["enrichedPromptContext"],
        "Elena Rostova wants order_status. Orders: 1, last ORD-2024-88412. Tickets: 1 (High)."
    );
}
