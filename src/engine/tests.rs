//! The engine driven through whole request lifecycles with a fake clock and host.

use std::collections::HashMap;
use std::rc::Rc;

use super::*;
use crate::config::test_settings;
use crate::metrics::Observation;
use crate::shared::MemoryStore;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const BODY: &[u8] =
    br#"{"sessionId":"s-1","customerNumber":"CUST-992847","intent":"order_status","variables":{}}"#;
const PROFILE: &str =
    r#"{"customerId":"CUST-992847","fullName":"Elena Rostova","segment":"Premium"}"#;
const ORDERS: &str = r#"{"items":[{"orderNumber":"ORD-2024-88412","total":249.9}]}"#;
const TICKETS: &str = r#"{"tickets":[{"ticketId":"TCK-55102","priority":"High"}]}"#;

/// One worker's engine plus a fake host: dispatches get increasing tokens, answers are recorded.
struct Sim {
    engine: Engine,
    store: Rc<MemoryStore>,
    now: u64,
    next_token: u32,
    calls: Vec<(u32, Owner, Call)>,
    answers: HashMap<u32, Reply>,
    refuse_dispatch: bool,
}

fn head(method: &'static str) -> RequestHead<'static> {
    RequestHead {
        method,
        path: "/api/v1/agent-assist/enrich",
        content_type: Some("application/json"),
        content_length: None,
        authorization: Some("Bearer demo-webhook-token"),
        api_key: None,
        request_id: Some("req-1"),
        end_of_stream: false,
    }
}

fn reply(status: u16, body: &str) -> CallReply {
    CallReply {
        status: Some(status),
        retry_after: None,
        body: body.as_bytes().to_vec(),
        body_size: body.len(),
    }
}

fn token_ok(token: &str, expires_in: u64) -> CallReply {
    reply(
        200,
        &format!(r#"{{"access_token":"{token}","expires_in":{expires_in}}}"#),
    )
}

fn json(r: &Reply) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap()
}

/// (outcome, retries) of the first request the engine answered since the last look.
fn request_observation(engine: &mut Engine) -> (&'static str, u32) {
    engine
        .take_observations()
        .into_iter()
        .find_map(|o| match o {
            Observation::Request {
                outcome, retries, ..
            } => Some((outcome, retries)),
            _ => None,
        })
        .expect("a request was answered")
}

impl Sim {
    fn new(config: &str) -> Self {
        Self::on_store(config, Rc::new(MemoryStore::default()))
    }

    fn on_store(config: &str, store: Rc<MemoryStore>) -> Self {
        let engine = Engine::new(Rc::new(test_settings(config)), &*store);
        Sim {
            engine,
            store,
            now: 1_000_000,
            next_token: 100,
            calls: Vec::new(),
            answers: HashMap::new(),
            refuse_dispatch: false,
        }
    }

    fn run(&mut self, effects: Vec<Effect>) {
        let mut queue: std::collections::VecDeque<Effect> = effects.into();
        while let Some(e) = queue.pop_front() {
            match e {
                Effect::Dispatch { owner, call, .. } => {
                    let result = if self.refuse_dispatch {
                        Err(())
                    } else {
                        self.next_token += 1;
                        self.calls.push((self.next_token, owner, call));
                        Ok(self.next_token)
                    };
                    queue.extend(
                        self.engine
                            .dispatched(owner, result, self.now, &*self.store),
                    );
                }
                Effect::Respond { ctx, reply, .. } => {
                    assert!(
                        self.answers.insert(ctx, reply).is_none(),
                        "context {ctx} answered twice"
                    );
                }
            }
        }
    }

    fn start_with(&mut self, ctx: u32, head: &RequestHead<'_>, body: &[u8]) -> Action {
        let (action, effects) = self
            .engine
            .on_request_headers(ctx, head, self.now, &*self.store);
        self.run(effects);
        if action == Action::Continue || self.answers.contains_key(&ctx) {
            return action;
        }
        let owned = body.to_vec();
        let mut read = move || Some(owned.clone());
        let (action, effects) =
            self.engine
                .on_request_body(ctx, body.len(), true, &mut read, self.now, &*self.store);
        self.run(effects);
        action
    }

    fn start_customer(&mut self, ctx: u32, customer: &str) {
        let body = format!(r#"{{"sessionId":"s","customerNumber":"{customer}","intent":"x"}}"#);
        assert_eq!(
            self.start_with(ctx, &head("POST"), body.as_bytes()),
            Action::Pause
        );
    }

    fn start(&mut self, ctx: u32) {
        assert_eq!(self.start_with(ctx, &head("POST"), BODY), Action::Pause);
    }

    fn tick(&mut self) {
        let effects = self.engine.on_tick(self.now, &*self.store);
        self.run(effects);
    }

    fn advance_to_wake(&mut self) {
        let wake = self.engine.next_wake(self.now).expect("a wake is due");
        self.now = self.now.max(wake);
        self.tick();
    }

    fn answer(&mut self, token: u32, r: CallReply) {
        let effects = self.engine.on_call_reply(token, &r, self.now, &*self.store);
        self.run(effects);
    }

    /// Tokens of the calls so far that went to `cluster`.
    fn to(&self, cluster: &str) -> Vec<u32> {
        self.calls
            .iter()
            .filter(|(_, _, c)| c.cluster == cluster)
            .map(|(t, _, _)| *t)
            .collect()
    }

    fn last_to(&self, cluster: &str) -> u32 {
        *self
            .to(cluster)
            .last()
            .unwrap_or_else(|| panic!("no call to {cluster}"))
    }

    fn call(&self, token: u32) -> &Call {
        &self.calls.iter().find(|(t, _, _)| *t == token).unwrap().2
    }

    /// Cold start: the request waits, the tick fetches the token, the token lands.
    fn with_token(&mut self) {
        self.advance_to_wake();
        let t = self.last_to("token_service");
        self.answer(t, token_ok("AT-1", 3600));
    }

    fn answer_all_ok(&mut self) {
        let (p, o, t) = (
            self.last_to("customer_profile"),
            self.last_to("orders"),
            self.last_to("crm"),
        );
        self.answer(p, reply(200, PROFILE));
        self.answer(o, reply(200, ORDERS));
        self.answer(t, reply(200, TICKETS));
    }
}

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
        Some(0),
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

mod answer_modes;
