//! Envoy's own local reply for a call (connect failure, reset, timeout, circuit breaker) against
//! a service's own answer with the same status, through the engine's whole request lifecycle.

use std::collections::VecDeque;
use std::rc::Rc;

use super::*;
use crate::config::test_settings;
use crate::metrics::{Observation, StatusClass};
use crate::shared::MemoryStore;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const BODY: &[u8] =
    br#"{"sessionId":"s-1","customerNumber":"CUST-992847","intent":"order_status","variables":{}}"#;
const PROFILE: &str =
    r#"{"customerId":"CUST-992847","fullName":"Elena Rostova","segment":"Premium"}"#;
const TICKETS: &str = r#"{"tickets":[]}"#;
const CONNECT_FAILURE: &str = "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused";

fn reply(status: u16, body: &str) -> CallReply {
    CallReply {
        status: Some(status),
        retry_after: None,
        body: body.as_bytes().to_vec(),
        body_size: body.len(),
    }
}

/// One request through a fresh engine: the token is fetched, then `answers` gives each service's
/// reply. Returns the answer and the observations.
fn run(answers: &[(&str, CallReply)]) -> (Reply, Vec<Observation>) {
    let store = Rc::new(MemoryStore::default());
    let mut engine = Engine::new(Rc::new(test_settings("{}")), &*store);
    let mut now = 1_000_000;
    let mut calls: Vec<(u32, String)> = Vec::new();
    let mut answer = None;
    let mut drive =
        |engine: &mut Engine, calls: &mut Vec<(u32, String)>, effects: Vec<Effect>, now: u64| {
            let mut queue: VecDeque<Effect> = effects.into();
            while let Some(e) = queue.pop_front() {
                match e {
                    Effect::Dispatch { owner, call, .. } => {
                        let token = 100 + u32::try_from(calls.len()).unwrap();
                        calls.push((token, call.cluster.clone()));
                        queue.extend(engine.dispatched(owner, Ok(token), now, &*store));
                    }
                    Effect::Respond { reply, .. } => answer = Some(reply),
                }
            }
        };
    let head = RequestHead {
        method: "POST",
        path: "/api/v1/agent-assist/enrich",
        content_type: Some("application/json"),
        content_length: None,
        authorization: Some("Bearer demo-webhook-token"),
        api_key: None,
        request_id: Some("req-1"),
        end_of_stream: false,
    };
    let (_, effects) = engine.on_request_headers(1, &head, now, &*store);
    drive(&mut engine, &mut calls, effects, now);
    let mut read = || Some(BODY.to_vec());
    let (_, effects) = engine.on_request_body(1, BODY.len(), true, &mut read, now, &*store);
    drive(&mut engine, &mut calls, effects, now);
    now = engine.next_wake(now).unwrap().max(now);
    let effects = engine.on_tick(now, &*store);
    drive(&mut engine, &mut calls, effects, now);
    let token_call = calls.iter().find(|(_, c)| c == "token_service").unwrap().0;
    let token = reply(200, r#"{"access_token":"AT-1","expires_in":3600}"#);
    let effects = engine.on_call_reply(token_call, &token, now, &*store);
    drive(&mut engine, &mut calls, effects, now);
    for (cluster, r) in answers {
        let t = calls.iter().find(|(_, c)| c == cluster).unwrap().0;
        let effects = engine.on_call_reply(t, r, now, &*store);
        drive(&mut engine, &mut calls, effects, now);
    }
    (answer.unwrap(), engine.take_observations())
}

fn detail(r: &Reply) -> String {
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    v["detail"].as_str().unwrap().to_owned()
}

fn outcome(obs: &[Observation]) -> &'static str {
    obs.iter()
        .find_map(|o| match o {
            Observation::Request { outcome, .. } => Some(*outcome),
            _ => None,
        })
        .unwrap()
}

fn profile_class(obs: &[Observation]) -> StatusClass {
    obs.iter()
        .find_map(|o| match o {
            Observation::Upstream {
                service: Service::Profile,
                class,
                ..
            } => Some(*class),
            _ => None,
        })
        .unwrap()
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
        let (r, obs) = run(&[("customer_profile", reply(status, body))]);
        assert_eq!(r.status, 502, "{body}");
        assert_eq!(
            detail(&r),
            "Internal service unavailable: customer profile service unreachable"
        );
        assert_eq!(outcome(&obs), "upstream_unreachable");
        assert!(matches!(profile_class(&obs), StatusClass::Reset));
    }
}

#[test]
fn a_services_own_503_stays_a_status() {
    for body in ["", r#"{"error":"maintenance"}"#, "upstream is busy"] {
        let (r, obs) = run(&[("customer_profile", reply(503, body))]);
        assert_eq!(r.status, 502);
        assert_eq!(detail(&r), "Internal service unavailable: 503");
        assert_eq!(outcome(&obs), "upstream_status");
        assert!(matches!(profile_class(&obs), StatusClass::S5xx));
    }
    let (r, _) = run(&[("customer_profile", reply(504, "gateway timeout"))]);
    assert_eq!(detail(&r), "Internal service unavailable: 504");
}

#[test]
fn envoy_local_reply_for_an_optional_service_degrades() {
    let (r, obs) = run(&[
        ("orders", reply(503, CONNECT_FAILURE)),
        ("crm", reply(200, TICKETS)),
        ("customer_profile", reply(200, PROFILE)),
    ]);
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["degraded"], serde_json::json!(["recentOrders"]));
    assert_eq!(outcome(&obs), "degraded");
    assert!(obs.iter().any(|o| matches!(
        o,
        Observation::Upstream {
            service: Service::Orders,
            class: StatusClass::Reset,
            ..
        }
    )));
}
