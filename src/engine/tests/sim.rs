//! The fake host and clock every engine test drives: `Sim` runs the engine's effects (dispatches
//! get increasing callout ids, answers are recorded) and moves time only when a test says so.

use std::collections::HashMap;
use std::rc::Rc;

pub(super) use crate::callout::{Call, CallReply};
use crate::config::test_settings;
use crate::engine::*;
use crate::metrics::Observation;
use crate::store::MemoryStore;

pub(super) const BODY: &[u8] =
    br#"{"sessionId":"s-1","customerNumber":"CUST-992847","intent":"order_status","variables":{}}"#;
pub(super) const PROFILE: &str =
    r#"{"customerId":"CUST-992847","fullName":"Elena Rostova","segment":"Premium"}"#;
pub(super) const ORDERS: &str = r#"{"items":[{"orderNumber":"ORD-2024-88412","total":249.9}]}"#;
pub(super) const TICKETS: &str = r#"{"tickets":[{"ticketId":"TCK-55102","priority":"High"}]}"#;

/// One worker's engine plus a fake host: dispatches get increasing callout ids, answers are
/// recorded.
pub(super) struct Sim {
    pub(super) engine: Engine,
    pub(super) store: Rc<MemoryStore>,
    pub(super) now: u64,
    pub(super) next_call_id: u32,
    pub(super) calls: Vec<(u32, Owner, Call)>,
    pub(super) answers: HashMap<u32, Reply>,
    pub(super) refuse_dispatch: bool,
}

pub(super) fn head(method: &'static str) -> RequestHead<'static> {
    RequestHead {
        method,
        path: "/api/v1/agent-assist/enrich",
        content_type: Some("application/json"),
        content_length: None,
        authorization: Some("Bearer demo-webhook-token"),
        api_key: None,
        request_id: Some("req-1"),
        end_of_stream: false,
        repeated_credentials: false,
        jwt_verified: false,
    }
}

pub(super) fn reply(status: u16, body: &str) -> CallReply {
    CallReply {
        status: Some(status),
        retry_after: None,
        body: body.as_bytes().to_vec(),
        body_size: body.len(),
    }
}

pub(super) fn token_ok(token: &str, expires_in: u64) -> CallReply {
    reply(
        200,
        &format!(r#"{{"access_token":"{token}","expires_in":{expires_in}}}"#),
    )
}

pub(super) fn json(r: &Reply) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap()
}

/// (outcome, retries) of the first request the engine answered since the last look.
pub(super) fn request_observation(engine: &mut Engine) -> (&'static str, u32) {
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
    pub(super) fn new(config: &str) -> Self {
        Self::on_store(config, Rc::new(MemoryStore::default()))
    }

    pub(super) fn on_store(config: &str, store: Rc<MemoryStore>) -> Self {
        let engine = Engine::new(Rc::new(test_settings(config)), &*store);
        Sim {
            engine,
            store,
            now: 1_000_000,
            next_call_id: 100,
            calls: Vec::new(),
            answers: HashMap::new(),
            refuse_dispatch: false,
        }
    }

    pub(super) fn run(&mut self, effects: Vec<Effect>) {
        let mut queue: std::collections::VecDeque<Effect> = effects.into();
        while let Some(e) = queue.pop_front() {
            match e {
                Effect::Dispatch { owner, call, .. } => {
                    let result = if self.refuse_dispatch {
                        Err(())
                    } else {
                        self.next_call_id += 1;
                        self.calls.push((self.next_call_id, owner, call));
                        Ok(self.next_call_id)
                    };
                    queue.extend(self.engine.dispatched(
                        owner,
                        result.map(CallId),
                        self.now,
                        &*self.store,
                    ));
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

    pub(super) fn start_with(&mut self, ctx: u32, head: &RequestHead<'_>, body: &[u8]) -> Action {
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

    pub(super) fn start_customer(&mut self, ctx: u32, customer: &str) {
        let body = format!(r#"{{"sessionId":"s","customerNumber":"{customer}","intent":"x"}}"#);
        assert_eq!(
            self.start_with(ctx, &head("POST"), body.as_bytes()),
            Action::Pause
        );
    }

    pub(super) fn start(&mut self, ctx: u32) {
        assert_eq!(self.start_with(ctx, &head("POST"), BODY), Action::Pause);
    }

    pub(super) fn tick(&mut self) {
        let effects = self.engine.on_tick(self.now, &*self.store);
        self.run(effects);
    }

    pub(super) fn advance_to_wake(&mut self) {
        let wake = self.engine.next_wake(self.now).expect("a wake is due");
        self.now = self.now.max(wake);
        self.tick();
    }

    pub(super) fn answer(&mut self, call_id: u32, r: CallReply) {
        let effects = self
            .engine
            .on_call_reply(CallId(call_id), &r, self.now, &*self.store);
        self.run(effects);
    }

    /// Callout ids of the calls so far that went to `cluster`.
    pub(super) fn to(&self, cluster: &str) -> Vec<u32> {
        self.calls
            .iter()
            .filter(|(_, _, c)| &*c.cluster == cluster)
            .map(|(t, _, _)| *t)
            .collect()
    }

    pub(super) fn last_to(&self, cluster: &str) -> u32 {
        *self
            .to(cluster)
            .last()
            .unwrap_or_else(|| panic!("no call to {cluster}"))
    }

    pub(super) fn call(&self, call_id: u32) -> &Call {
        &self
            .calls
            .iter()
            .find(|(id, _, _)| *id == call_id)
            .unwrap()
            .2
    }

    /// Cold start: the request waits, the tick fetches the token, the token lands.
    pub(super) fn with_token(&mut self) {
        self.advance_to_wake();
        let t = self.last_to("token_service");
        self.answer(t, token_ok("AT-1", 3600));
    }

    pub(super) fn answer_all_ok(&mut self) {
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
