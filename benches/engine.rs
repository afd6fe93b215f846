//! Native micro-benchmarks of the core's per-request work (`cargo bench --bench engine`), to
//! attribute the filter's own CPU: the whole engine lifecycle of one enrich request with the
//! token cached, and its parts (payload validation, the three upstream replies, the answer).
//! The upstream bodies are the mock services' real answers. Not part of `make test`; `make bench`
//! measures the filter inside Envoy.

use std::hint::black_box;
use std::rc::Rc;

use criterion::{criterion_group, criterion_main, Criterion};

use cognigy_enrich::aggregate::Gathered;
use cognigy_enrich::callout::CallReply;
use cognigy_enrich::config::{Settings, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_WEBHOOK_TOKENS};
use cognigy_enrich::engine::{CallId, Effect, Engine, Owner, RequestHead};
use cognigy_enrich::payload;
use cognigy_enrich::service::{parse_reply, Service};
use cognigy_enrich::store::MemoryStore;

const BODY: &[u8] = br#"{"sessionId":"bench-session-1","customerNumber":"CUST-992847","intent":"order_status","variables":{"channel":"voice"}}"#;
const PROFILE: &str = r#"{"customerId":"CUST-992847","fullName":"Elena Rostova","segment":"Premium","email":"elena.rostova@example.com","phone":"+49 30 5550 1234","language":"de-DE","accountStatus":"active","customerSince":"2019-03-14","loyaltyTier":"Gold"}"#;
const ORDERS: &str = r#"{"customerId":"CUST-992847","items":[{"orderNumber":"ORD-2024-88412","status":"shipped","total":249.90,"currency":"EUR","createdAt":"2024-11-02T10:15:00Z","items":[{"sku":"HDP-220","name":"Wireless Headphones","quantity":1}]}],"total":1}"#;
const TICKETS: &str = r#"{"customerId":"CUST-992847","tickets":[{"ticketId":"TCK-55102","subject":"Delivery delayed","priority":"High","status":"open","createdAt":"2024-11-05T08:30:00Z"}],"total":1}"#;
const TOKEN: &str = r#"{"access_token":"bench-token","token_type":"Bearer","expires_in":3600}"#;

fn settings() -> Option<Settings> {
    settings_from(br#"{"deadlineMs": 4500}"#)
}

/// `make bench`'s plugin configuration (bench/config.json): bearer caller auth, `fields` on the
/// three services, `answer.maxBytes`, the default privacy rules.
fn bench_settings() -> Option<Settings> {
    settings_from(include_bytes!("../bench/config.json"))
}

fn settings_from(json: &[u8]) -> Option<Settings> {
    let env = |key: &str| match key {
        ENV_CLIENT_ID => Some("cognigy-proxy-client".to_owned()),
        ENV_CLIENT_SECRET => Some("proxy-secret-key".to_owned()),
        ENV_WEBHOOK_TOKENS => Some("bench-webhook-token".to_owned()),
        _ => None,
    };
    Settings::from_json(json, &env).ok()
}

fn reply(body: &str) -> CallReply {
    CallReply {
        status: Some(200),
        retry_after: None,
        body: body.as_bytes().to_vec(),
        body_size: body.len(),
    }
}

/// One worker's engine with a fake host that answers every callout at once.
struct Host {
    engine: Engine,
    store: MemoryStore,
    now: u64,
    next_token: u32,
    replies: [CallReply; 3],
    token_reply: CallReply,
    /// The request body; `new_customer` puts another customer number in it.
    body: Vec<u8>,
    /// What one request cost in host-facing effects: dispatches and local answers.
    dispatches: u32,
    answers: u32,
}

impl Host {
    fn new(settings: Settings) -> Option<Self> {
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
    fn run(&mut self, effects: Vec<Effect>) {
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
    fn request(&mut self, ctx: u32) {
        self.start(ctx);
        self.engine.on_request_gone(ctx);
    }

    /// The next request asks for another customer (as `make bench` does: no coalescing, no
    /// cache), `CUST-` and six digits.
    fn new_customer(&mut self, n: u32) {
        self.body = format!(
            r#"{{"sessionId":"bench-session-1","customerNumber":"CUST-{:06}","intent":"order_status","variables":{{"channel":"voice"}}}}"#,
            n % 1_000_000
        )
        .into_bytes();
    }

    /// Headers and body of one request, and whatever the engine does with them at once.
    fn start(&mut self, ctx: u32) {
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
}

fn engine(c: &mut Criterion) {
    for (name, settings, new_customers) in [
        ("engine/enrich_request_token_cached", settings(), false),
        ("engine/enrich_request_bench_config", bench_settings(), true),
    ] {
        let Some(mut host) = settings.and_then(Host::new) else {
            eprintln!("{name}: bench settings refused");
            continue;
        };
        one_request(c, name, &mut host, new_customers);
    }
}

/// Warms the engine up (the first request waits for the token) and measures one request.
fn one_request(c: &mut Criterion, name: &str, host: &mut Host, new_customers: bool) {
    // The first request waits for the token, which the root's timer fetches; every later
    // request finds it cached.
    host.start(1);
    let effects = host.engine.on_tick(host.now, &host.store);
    host.run(effects);
    if host.answers != 1 {
        eprintln!("the first request was not answered; the numbers below mean nothing");
    }
    host.dispatches = 0;
    host.answers = 0;
    host.request(2);
    eprintln!(
        "{name}: one request with the token cached: {} dispatches, {} local answer(s)",
        host.dispatches, host.answers
    );
    let mut ctx = 2u32;
    c.bench_function(name, |b| {
        b.iter(|| {
            ctx = ctx.wrapping_add(1).max(3);
            if new_customers {
                host.new_customer(ctx);
            }
            host.request(ctx);
        });
    });
}

fn parts(c: &mut Criterion) {
    let Some(settings) = settings() else {
        eprintln!("bench settings refused");
        return;
    };
    c.bench_function("payload/parse", |b| {
        b.iter(|| {
            payload::parse(
                black_box(BODY),
                &settings.customer_pattern,
                settings.limits.max_json_depth,
            )
        });
    });
    let max_body = settings.limits.max_upstream_body_bytes;
    let max_items = settings.limits.max_list_items;
    for (name, service, body) in [
        ("service/parse_profile", Service::Profile, PROFILE),
        ("service/parse_orders", Service::Orders, ORDERS),
        ("service/parse_tickets", Service::Tickets, TICKETS),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| parse_reply(service, black_box(body.as_bytes()), max_body, max_items));
        });
    }
    let profile = parse_reply(Service::Profile, PROFILE.as_bytes(), max_body, max_items);
    let orders = parse_reply(Service::Orders, ORDERS.as_bytes(), max_body, max_items);
    let tickets = parse_reply(Service::Tickets, TICKETS.as_bytes(), max_body, max_items);
    let (Ok(p), Ok(o), Ok(t)) = (profile, orders, tickets) else {
        eprintln!("mock bodies refused");
        return;
    };
    let gathered = Gathered {
        records: [Some(&p), Some(&o), Some(&t)].into(),
        ..Gathered::default()
    };
    c.bench_function("aggregate/answer_json", |b| {
        b.iter(|| black_box(&gathered).answer_json(&settings.prompt));
    });
    // The privacy step with the default rules on the demo records (what the engine runs before
    // the prompt), against the same records with the rules off.
    let data = [p.clone(), o.clone(), t.clone()];
    let off = cognigy_enrich::privacy::PrivacySettings {
        drop_fields: Vec::new(),
        mask_fields: Vec::new(),
        mask_patterns: false,
    };
    for (name, rules) in [
        ("privacy/redact_all_default", &settings.privacy),
        ("privacy/redact_all_off", &off),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                rules.redact_all(black_box([Some(&data[0]), Some(&data[1]), Some(&data[2])]))
            });
        });
    }
    c.bench_function("privacy/mask_text_prompt", |b| {
        let prompt = "Customer: Elena Rostova | Segment: Premium\nRecent Orders: 1 items. Last order: ORD-2024-88412\nOpen Tickets: 1 active cases. Priority: High";
        b.iter(|| cognigy_enrich::privacy::scan::mask_text(black_box(prompt)));
    });
    // The same answer with the Agent Copilot identity and card (what the demo sends).
    let copilot = cognigy_enrich::copilot::CopilotSettings {
        identity: true,
        card: true,
        ..Default::default()
    };
    c.bench_function("aggregate/answer_json_with_tiles", |b| {
        b.iter(|| black_box(&gathered).answer_json_with(&settings.prompt, Some(&copilot)));
    });
    c.bench_function("payload/customer_pattern_is_match", |b| {
        b.iter(|| settings.customer_pattern.is_match(black_box("CUST-992847")));
    });
}

/// The answer pipeline on a large answer: a profile and 50 orders of 5 kB, cut to the default
/// `answer.maxBytes`, with and without a `fields` allow-list on the orders.
fn answer_cap(c: &mut Criterion) {
    use cognigy_enrich::answer::{self, AnswerSettings, FieldList};
    let orders: Vec<String> = (0..50)
        .map(|i| {
            format!(
                r#"{{"orderNumber":"ORD-{i:02}","status":"shipped","note":"{}"}}"#,
                "n".repeat(4950)
            )
        })
        .collect();
    let body = format!(r#"{{"items":[{}]}}"#, orders.join(","));
    let (Ok(p), Ok(o)) = (
        parse_reply(Service::Profile, PROFILE.as_bytes(), 1 << 20, 50),
        parse_reply(Service::Orders, body.as_bytes(), 1 << 20, 50),
    ) else {
        eprintln!("bench bodies refused");
        return;
    };
    let gathered = Gathered {
        records: [Some(&p), Some(&o), None].into(),
        ..Gathered::default()
    };
    let prompt = cognigy_enrich::config::PromptSettings::default();
    let capped = AnswerSettings::default();
    c.bench_function("answer/write_50x5kb_capped", |b| {
        b.iter(|| answer::write(black_box(&gathered), &prompt, &capped, None, ""));
    });
    let mut with_fields = AnswerSettings::default();
    with_fields.fields.orders = FieldList::new(vec!["orderNumber".into(), "status".into()]).ok();
    c.bench_function("answer/write_50x5kb_fields", |b| {
        b.iter(|| answer::write(black_box(&gathered), &prompt, &with_fields, None, ""));
    });
}

criterion_group!(benches, engine, parts, answer_cap);
criterion_main!(benches);
