//! Envoy's own local reply for a call (connect failure, reset, timeout, circuit breaker, no
//! healthy host) against a service's own answer with the same status, through whole lifecycles.

use super::sim::*;
use crate::engine::*;
use crate::metrics::{Observation, StatusClass};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const CONNECT_FAILURE: &str = "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused";

/// (outcome, class of the profile attempt) since the last look.
fn profile_outcome(sim: &mut Sim) -> (&'static str, StatusClass) {
    let obs = sim.engine.take_observations();
    let outcome = obs
        .iter()
        .find_map(|o| match o {
            Observation::Request { outcome, .. } => Some(*outcome),
            _ => None,
        })
        .expect("a request was answered");
    let class = obs
        .iter()
        .find_map(|o| match o {
            Observation::Upstream {
                service: Service::Profile,
                class,
                ..
            } => Some(*class),
            _ => None,
        })
        .expect("a profile attempt");
    (outcome, class)
}

#[test]
fn envoy_local_reply_for_a_required_service_is_unreachable() {
    for (status, body) in [
        (503, CONNECT_FAILURE),
        (
            503,
            "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
        ),
        (
            503,
            "upstream connect error or disconnect/reset before headers. reset reason: overflow",
        ),
        (504, "upstream request timeout"),
        (503, "no healthy upstream"),
    ] {
        let mut sim = Sim::new("{}");
        sim.start(1);
        sim.with_token();
        sim.answer(sim.last_to("customer_profile"), reply(status, body));
        let r = &sim.answers[&1];
        assert_eq!(r.status, 502, "{body}");
        assert_eq!(
            json(r)["detail"],
            "Internal service unavailable: customer profile service unreachable"
        );
        assert!(matches!(
            profile_outcome(&mut sim),
            ("upstream_unreachable", StatusClass::Reset)
        ));
    }
}

#[test]
fn a_services_own_503_stays_a_status() {
    for (status, body) in [
        (503, ""),
        (503, r#"{"error":"maintenance"}"#),
        (503, "upstream is busy"),
        (504, "gateway timeout"),
    ] {
        let mut sim = Sim::new("{}");
        sim.start(1);
        sim.with_token();
        sim.answer(sim.last_to("customer_profile"), reply(status, body));
        let r = &sim.answers[&1];
        assert_eq!(r.status, 502);
        assert_eq!(
            json(r)["detail"],
            format!("Internal service unavailable: {status}")
        );
        assert!(matches!(
            profile_outcome(&mut sim),
            ("upstream_status", StatusClass::S5xx)
        ));
    }
}

#[test]
fn envoy_local_reply_for_an_optional_service_degrades() {
    let mut sim = Sim::new("{}");
    sim.start(1);
    sim.with_token();
    sim.answer(sim.last_to("orders"), reply(503, CONNECT_FAILURE));
    sim.answer(sim.last_to("crm"), reply(200, TICKETS));
    sim.answer(sim.last_to("customer_profile"), reply(200, PROFILE));
    let r = &sim.answers[&1];
    assert_eq!(r.status, 200);
    assert_eq!(json(r)["degraded"], serde_json::json!(["recentOrders"]));
    let obs = sim.engine.take_observations();
    assert!(obs.iter().any(|o| matches!(
        o,
        Observation::Upstream {
            service: Service::Orders,
            class: StatusClass::Reset,
            ..
        }
    )));
}
