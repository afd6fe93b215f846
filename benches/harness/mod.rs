//! The fake host both benchmarks drive the engine with: one worker's engine whose callouts are
//! answered at once with the mock services' real answers, so one call of [`Host::request`] is
//! the core's whole work for one enrich request (headers, body, three replies, the answer),
//! without Envoy. `benches/engine.rs` times it natively with criterion; `benches/core_v8.rs`
//! times the same code compiled to wasm32 in V8 (Node.js), the engine Envoy runs it in.

#![allow(dead_code)] // each benchmark uses its part

use std::hint::black_box;
use std::rc::Rc;

use cognigy_enrich::callout::CallReply;
use cognigy_enrich::config::{Settings, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_WEBHOOK_TOKENS};
use cognigy_enrich::engine::{CallId, Effect, Engine, Owner, RequestHead};
use cognigy_enrich::service::Service;
use cognigy_enrich::store::MemoryStore;

pub const BODY: &[u8] = br#"{"sessionId":"bench-session-1","customerNumber":"CUST-992847","intent":"order_status","variables":{"channel":"voice"}}"#;
pub const PROFILE: &str = r#"{"customerId":"CUST-992847","fullName":"Elena Rostova","segment":"Premium","email":"elena.rostova@example.com","phone":"+49 30 5550 1234","language":"de-DE","accountStatus":"active","customerSince":"2019-03-14","loyaltyTier":"Gold"}"#;
pub const ORDERS: &str = r#"{"customerId":"CUST-992847","items":[{"orderNumber":"ORD-2024-88412","status":"shipped","total":249.90,"currency":"EUR","createdAt":"2024-11-02T10:15:00Z","items":[{"sku":"HDP-220","name":"Wireless Headphones","quantity":1}]}],"total":1}"#;
pub const TICKETS: &str = r#"{"customerId":"CUST-992847","tickets":[{"ticketId":"TCK-55102","subject":"Delivery delayed","priority":"High","status":"open","createdAt":"2024-11-05T08:30:00Z"}],"total":1}"#;
pub const TOKEN: &str = r#"{"access_token":"bench-token","token_type":"Bearer","expires_in":3600}"#;

pub fn settings() -> Option<Settings> {
    settings_from(br#"{"deadlineMs": 4500}"#)
}

/// `make bench`'s plugin configuration (bench/config.json): bearer caller auth, `fields` on the
/// three services, `answer.maxBytes`, the default privacy rules.
pub fn bench_settings() -> Option<Settings> {
    settings_from(include_bytes!("../../bench/config.json"))
}

/// `make bench`'s configuration with one feature off, as `make bench`'s feature rows turn it off
/// (`noauth`, `nofields`, and its `nomask` listener), or all three (`alloff`).
pub fn bench_settings_without(feature: &str) -> Option<Settings> {
    let mut c: serde_json::Value =
        serde_json::from_slice(include_bytes!("../../bench/config.json")).ok()?;
    let off_auth = |c: &mut serde_json::Value| c["auth"] = serde_json::json!({"enabled": false});
    let off_privacy = |c: &mut serde_json::Value| {
        c["privacy"] = serde_json::json!({"maskFields": [], "maskPatterns": false});
    };
    let off_fields = |c: &mut serde_json::Value| {
        if let Some(services) = c["services"].as_object_mut() {
            for service in services.values_mut() {
                if let Some(s) = service.as_object_mut() {
                    s.remove("fields");
                }
            }
        }
    };
    match feature {
        "noauth" => off_auth(&mut c),
        "nomask" => off_privacy(&mut c),
        "nofields" => off_fields(&mut c),
        "alloff" => {
            off_auth(&mut c);
            off_privacy(&mut c);
            off_fields(&mut c);
        }
        _ => return None,
    }
    settings_from(&serde_json::to_vec(&c).ok()?)
}

pub fn settings_from(json: &[u8]) -> Option<Settings> {
    let env = |key: &str| match key {
        ENV_CLIENT_ID => Some("cognigy-proxy-client".to_owned()),
        ENV_CLIENT_SECRET => Some("proxy-secret-key".to_owned()),
        ENV_WEBHOOK_TOKENS => Some("bench-webhook-token".to_owned()),
        _ => None,
    };
    Settings::from_json(json, &env).ok()
}

pub fn reply(body: &str) -> CallReply {
    CallReply {
        status: Some(200),
        retry_after: None,
        body: body.as_bytes().to_vec(),
        body_size: body.len(),
    }
}

/// One worker's engine with a fake host that answers every callout at once.
pub struct Host {
    pub engine: Engine,
    pub store: MemoryStore,
    pub now: u64,
    pub next_token: u32,
    pub replies: [CallReply; 3],
    pub token_reply: CallReply,
    /// The request body; `new_customer` puts another customer number in it.
    pub body: Vec<u8>,
    /// What one request cost in host-facing effects: dispatches and local answers.
    pub dispatches: u32,
    pub answers: u32,
}

impl Host {
    pub fn new(settings: Settings) -> Option<Self> {
        let store = MemoryStore::default();
        let engine = Engine::new(Rc::new(settings), &store);
        Some(Host {
            engine,
            store,
            now: 1_000_000,
            next_token: 0,
            replies: [reply(PROFILE), reply(ORDERS), reply(TICKETS)],
            token_reply: reply(TOKEN),
            body: BODY.to_vec(),
            dispatches: 0,
            answers: 0,
        })
    }

    /// Carries out effects the way the glue does, answering each dispatch at once.
    pub fn run(&mut self, effects: Vec<Effect>) {
        let mut pending = Vec::new();
        let mut queue = effects;
        while !queue.is_empty() {
            for effect in std::mem::take(&mut queue) {
                match effect {
                    Effect::Dispatch { owner, .. } => {
                        self.dispatches += 1;
                        self.next_token = self.next_token.wrapping_add(1);
                        let token = self.next_token;
                        queue.extend(self.engine.dispatched(
                            owner,
                            Ok(CallId(token)),
                            self.now,
                            &self.store,
                        ));
                        pending.push((token, owner));
                    }
                    Effect::Respond { reply, .. } => {
                        self.answers += 1;
                        black_box(reply);
                    }
                }
            }
            for (token, owner) in std::mem::take(&mut pending) {
                let answer = match owner {
                    Owner::Token => &self.token_reply,
                    Owner::Service { service, .. } => match service {
                        Service::Profile => &self.replies[0],
                        Service::Orders => &self.replies[1],
                        Service::Tickets => &self.replies[2],
                    },
                };
                let more = self
                    .engine
                    .on_call_reply(CallId(token), answer, self.now, &self.store);
                queue.extend(more);
            }
        }
    }

    /// One whole enrich request: headers, body, three calls, their replies, the answer; then the
    /// host's `on_done`.
    pub fn request(&mut self, ctx: u32) {
        self.start(ctx);
        self.engine.on_request_gone(ctx);
    }

    /// The next request asks for another customer (as `make bench` does: no coalescing, no
    /// cache), `CUST-` and six digits.
    pub fn new_customer(&mut self, n: u32) {
        self.body = format!(
            r#"{{"sessionId":"bench-session-1","customerNumber":"CUST-{:06}","intent":"order_status","variables":{{"channel":"voice"}}}}"#,
            n % 1_000_000
        )
        .into_bytes();
    }

    /// Headers and body of one request, and whatever the engine does with them at once.
    pub fn start(&mut self, ctx: u32) {
        self.now += 1;
        let head = RequestHead {
            method: "POST",
            path: "/api/v1/agent-assist/enrich",
            content_type: Some("application/json"),
            content_length: None,
            authorization: Some("Bearer bench-webhook-token"),
            api_key: None,
            request_id: Some("0f8fad5b-d9cb-469f-a165-70867728950e"),
            end_of_stream: false,
            repeated_credentials: false,
            jwt_verified: false,
        };
        let (_, effects) = self
            .engine
            .on_request_headers(ctx, &head, self.now, &self.store);
        self.run(effects);
        let body = self.body.clone();
        let size = body.len();
        let mut read = move || Some(body.clone());
        let (_, effects) =
            self.engine
                .on_request_body(ctx, size, true, &mut read, self.now, &self.store);
        self.run(effects);
    }

    /// The first request waits for the token, which the root's timer fetches; every later
    /// request finds it cached. Whether that first request was answered.
    pub fn warm_up(&mut self) -> bool {
        self.start(1);
        let effects = self.engine.on_tick(self.now, &self.store);
        self.run(effects);
        let answered = self.answers == 1;
        self.dispatches = 0;
        self.answers = 0;
        answered
    }
}
