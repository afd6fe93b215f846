//! The engine's answers under `answerMode`, `answer.maxBytes` and `fields`.

use super::sim::*;
use crate::answer::mode::STATUS_HEADER;
use crate::error::Reply;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn header<'a>(r: &'a Reply, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn always200_success_leads_with_ok_and_names_the_status() {
    let mut sim = Sim::new(r#"{"answerMode": "always200"}"#);
    sim.start(1);
    sim.with_token();
    sim.answer_all_ok();
    let r = &sim.answers[&1];
    assert_eq!(r.status, 200);
    assert!(
        r.body.starts_with(r#"{"ok":true,"customerProfile":{"#),
        "{}",
        r.body
    );
    assert_eq!(header(r, STATUS_HEADER), Some("200"));
    assert_eq!(header(r, "x-request-id"), Some("req-1"));
    assert_eq!(request_observation(&mut sim.engine).0, "ok");
}

#[test]
fn always200_failures_are_envelopes_with_the_real_outcome() {
    let mut sim = Sim::new(r#"{"answerMode": "always200"}"#);
    let mut no_auth = head("POST");
    no_auth.authorization = None;
    sim.start_with(1, &no_auth, BODY);
    let r = &sim.answers[&1];
    assert_eq!(r.status, 200);
    assert_eq!(
        json(r),
        serde_json::json!({"ok": false, "status": 401, "detail": "Not authenticated",
            "customerProfile": {}, "recentOrders": [], "openTickets": [],
            "enrichedPromptContext": "Customer context is unavailable."})
    );
    assert_eq!(header(r, STATUS_HEADER), Some("401"));
    assert_eq!(header(r, "www-authenticate"), None);
    assert_eq!(request_observation(&mut sim.engine).0, "unauthorized");

    sim.start(2);
    sim.with_token();
    let p = sim.last_to("customer_profile");
    sim.answer(p, reply(503, "{}"));
    let r = &sim.answers[&2];
    assert_eq!((r.status, header(r, STATUS_HEADER)), (200, Some("502")));
    assert_eq!(json(r)["detail"], "Internal service unavailable: 503");
    assert_eq!(request_observation(&mut sim.engine).0, "upstream_status");
}

#[test]
fn status_mode_has_no_status_header() {
    let mut sim = Sim::new("{}");
    sim.start(1);
    sim.with_token();
    sim.answer_all_ok();
    assert_eq!(header(&sim.answers[&1], STATUS_HEADER), None);
}

#[test]
fn an_answer_over_the_cap_is_cut_and_a_profile_over_it_is_502() {
    let mut sim = Sim::new(
        r#"{"answer": {"maxBytes": 1024}, "services": {"recentOrders": {"fields": ["orderNumber", "note"]}}}"#,
    );
    sim.start(1);
    sim.with_token();
    let items: Vec<String> = (0..10)
        .map(|i| {
            format!(
                r#"{{"orderNumber":"O-{i}","secret":"s","note":"{}"}}"#,
                "n".repeat(150)
            )
        })
        .collect();
    let (p, o, t) = (
        sim.last_to("customer_profile"),
        sim.last_to("orders"),
        sim.last_to("crm"),
    );
    sim.answer(p, reply(200, PROFILE));
    sim.answer(
        o,
        reply(200, &format!(r#"{{"items":[{}]}}"#, items.join(","))),
    );
    sim.answer(t, reply(200, TICKETS));
    let r = &sim.answers[&1];
    assert_eq!(r.status, 200);
    assert!(r.body.len() <= 1024, "{}", r.body.len());
    let v = json(r);
    assert_eq!(v["truncated"], serde_json::json!(["recentOrders"]));
    let kept = v["recentOrders"].as_array().unwrap();
    assert!(!kept.is_empty() && kept.len() < 10, "{}", kept.len());
    assert!(kept.iter().all(|o| o.get("secret").is_none()));
    assert!(v["enrichedPromptContext"]
        .as_str()
        .unwrap()
        .contains("Recent Orders: 10 items"));
    assert_eq!(request_observation(&mut sim.engine).0, "ok");

    for (config, status) in [
        (r#"{"answer": {"maxBytes": 1024}}"#, 502),
        (
            r#"{"answer": {"maxBytes": 1024}, "answerMode": "always200"}"#,
            200,
        ),
    ] {
        let mut sim = Sim::new(config);
        sim.start(1);
        sim.with_token();
        let big = format!(r#"{{"fullName":"E","blob":"{}"}}"#, "b".repeat(2000));
        let (p, o, t) = (
            sim.last_to("customer_profile"),
            sim.last_to("orders"),
            sim.last_to("crm"),
        );
        sim.answer(p, reply(200, &big));
        sim.answer(o, reply(200, ORDERS));
        sim.answer(t, reply(200, TICKETS));
        let r = &sim.answers[&1];
        assert_eq!(r.status, status, "{config}");
        assert_eq!(
            json(r)["detail"],
            "Internal service unavailable: answer too large"
        );
        assert_eq!(request_observation(&mut sim.engine).0, "answer_too_large");
    }
}
