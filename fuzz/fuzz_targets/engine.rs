//! The engine driven by a fuzzed sequence of host events on two workers sharing one store:
//! request headers and body chunks, dispatch outcomes, callout replies (fuzzed, canned, late or
//! unknown), timer ticks, requests going away and time passing, under one of a few plugin
//! configurations. Never a panic, and:
//! - every request the engine held is answered exactly once (unless it went away first), with a
//!   known status, JSON body and its request id, and none is left once every deadline has passed;
//! - what goes upstream is well-formed: paths and header values without spaces or control
//!   characters, timeouts within the deadline (and its slack);
//! - no callout is remembered for a request that has ended.

#![no_main]

use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;

use cognigy_enrich::callout::{Call, CallReply};
use cognigy_enrich::config::Settings;
use cognigy_enrich::engine::{
    Action, CallId, Effect, Engine, Owner, RequestHead, DEADLINE_SLACK_MS,
};
use cognigy_enrich::service::Service;
use cognigy_enrich::store::MemoryStore;
use cognigy_enrich_fuzz::{json_object, settings, string_member, Bytes, WEBHOOK_TOKEN};
use libfuzzer_sys::fuzz_target;

const ENRICH: &str = "/api/v1/agent-assist/enrich";
const NOW: u64 = 1_767_225_600_000;

const CONFIGS: [&str; 6] = [
    "{}",
    r#"{"limits": {"maxBodyBytes": 64, "maxJsonDepth": 2, "maxUpstreamBodyBytes": 64, "maxListItems": 1},
        "retry": {"maxAttempts": 10, "baseBackoffMs": 1, "maxBackoffMs": 5},
        "token": {"failureBackoffMs": 1, "failureBackoffMaxMs": 2, "refreshMarginMs": 0}}"#,
    r#"{"auth": {"enabled": false}, "customerNumberPattern": ".+", "serverTiming": true,
        "deadlineMs": 100,
        "services": {"recentOrders": {"required": true, "limit": 1},
                     "openTickets": {"required": true, "timeoutMs": 50}}}"#,
    r#"{"deadlineMs": 60000, "prompt": {"maxValueChars": 8, "maxChars": 64,
        "template": "{customerName}|{segment}|{intent}|{customerNumber}|{lastOrder}|{topPriority}"}}"#,
    r#"{"services": {
        "customerProfile": {"cache": {"ttlMs": 1000, "staleIfErrorMs": 5000, "slots": 2}},
        "recentOrders": {"cache": {"ttlMs": 10, "slots": 1}},
        "openTickets": {"cache": {"ttlMs": 60000, "staleIfErrorMs": 60000, "slots": 1}}}}"#,
    r#"{"customerNumberPattern": ".+", "limits": {"maxUpstreamBodyBytes": 64},
        "services": {"customerProfile": {"cache": {"ttlMs": 5000, "staleIfErrorMs": 60000, "slots": 1}}}}"#,
];

const GOOD_TOKEN: &[u8] = br#"{"access_token":"at-1","token_type":"Bearer","expires_in":3600}"#;
const GOOD_PROFILE: &[u8] = br#"{"customerId":"C1","fullName":"Eve\nX","segment":"Gold"}"#;
const GOOD_ORDERS: &[u8] = br#"{"items":[{"orderNumber":"O-1"},{"orderNumber":"O-2"}]}"#;
const GOOD_TICKETS: &[u8] = br#"{"tickets":[{"priority":"High"}]}"#;
const ANSWER_STATUSES: [u16; 9] = [200, 401, 405, 413, 415, 422, 500, 502, 504];

struct Worker {
    engine: Engine,
    next_token: u32,
    /// Callouts the host would still deliver a reply for.
    live: Vec<(u32, Owner)>,
    /// Requests paused by the engine, with their buffered body.
    open: HashMap<u32, Vec<u8>>,
    held: HashSet<u32>,
    answered: HashSet<u32>,
    gone: HashSet<u32>,
}

struct World {
    settings: Rc<Settings>,
    store: MemoryStore,
    workers: [Worker; 2],
    now: u64,
    next_ctx: u32,
}

fn owned(b: &mut Bytes<'_>) -> String {
    String::from_utf8_lossy(b.chunk()).into_owned()
}

fn check_call(call: &Call, settings: &Settings) {
    for (name, value) in &call.headers {
        assert!(
            !value.bytes().any(|c| c == b'\r' || c == b'\n' || c == 0),
            "header {name} carries a line break or NUL: {value:?}"
        );
    }
    let path = call.header(":path").unwrap_or_default();
    assert!(path.starts_with('/'), "{path:?}");
    assert!(path.bytes().all(|c| c.is_ascii_graphic()), "{path:?}");
    assert!(call.timeout_ms >= 1);
    if *call.cluster != *settings.token.cluster {
        assert!(
            call.timeout_ms <= settings.deadline_ms + DEADLINE_SLACK_MS,
            "{call:?}"
        );
        assert!(call
            .header("authorization")
            .is_some_and(|a| a.starts_with("Bearer ")));
    }
}

impl World {
    /// Carries out effects as the glue does: a dispatch is answered at once (accepted with a new
    /// callout id, or refused), and what that returns is carried out too.
    fn run(&mut self, w: usize, effects: Vec<Effect>, b: &mut Bytes<'_>) {
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(effect) = queue.pop_front() {
            let now = self.now;
            let worker = &mut self.workers[w];
            match effect {
                Effect::Dispatch { owner, call, .. } => {
                    check_call(&call, &self.settings);
                    let result = if b.u8() % 16 == 0 {
                        Err(())
                    } else {
                        worker.next_token += 1;
                        worker.live.push((worker.next_token, owner));
                        Ok(worker.next_token)
                    };
                    queue.extend(worker.engine.dispatched(owner, result.map(CallId), now, &self.store));
                }
                Effect::Respond { ctx, reply, .. } => {
                    assert!(worker.held.contains(&ctx), "answered {ctx}, never held");
                    assert!(!worker.gone.contains(&ctx), "answered {ctx} after it went");
                    assert!(worker.answered.insert(ctx), "answered {ctx} twice");
                    worker.open.remove(&ctx);
                    assert!(ANSWER_STATUSES.contains(&reply.status), "{reply:?}");
                    let body = json_object(&reply.body);
                    if reply.status == 200 {
                        assert!(
                            string_member(&body, "enrichedPromptContext").is_some(),
                            "{reply:?}"
                        );
                    } else {
                        assert!(string_member(&body, "detail").is_some(), "{reply:?}");
                    }
                    assert!(reply.headers.iter().any(|(k, _)| *k == "x-request-id"));
                    for (name, value) in &reply.headers {
                        assert!(
                            !value.bytes().any(|c| c == b'\r' || c == b'\n' || c == 0),
                            "{name}: {value:?}"
                        );
                    }
                }
            }
        }
    }

    fn headers(&mut self, w: usize, b: &mut Bytes<'_>) {
        self.next_ctx += 1;
        let ctx = self.next_ctx;
        let fuzzed = owned(b);
        let method = match b.u8() % 4 {
            0 => "GET",
            1 => fuzzed.as_str(),
            _ => "POST",
        };
        let path = match b.u8() % 6 {
            0 => format!("{ENRICH}?x=1#f"),
            1 => "/other".to_owned(),
            2 => format!("{ENRICH}/"),
            3 => fuzzed.clone(),
            _ => ENRICH.to_owned(),
        };
        let content_type = match b.u8() % 6 {
            0 => None,
            1 => Some("text/plain"),
            2 => Some("application/vnd.cognigy+json; charset=utf-8"),
            3 => Some(fuzzed.as_str()),
            _ => Some("application/json"),
        };
        let length = match b.u8() % 4 {
            0 => Some(b.u16().to_string()),
            1 => Some(fuzzed.clone()),
            2 => Some("99999999999999999999999".to_owned()),
            _ => None,
        };
        let bearer = format!("Bearer {WEBHOOK_TOKEN}");
        let authorization = match b.u8() % 5 {
            0 => None,
            1 => Some("Bearer wrong"),
            2 => Some(fuzzed.as_str()),
            _ => Some(bearer.as_str()),
        };
        let api_key = match b.u8() % 4 {
            0 => Some(WEBHOOK_TOKEN),
            1 => Some(fuzzed.as_str()),
            _ => None,
        };
        let request_id = match b.u8() % 4 {
            0 => None,
            1 => Some(fuzzed.as_str()),
            _ => Some("req-1"),
        };
        let head = RequestHead {
            method,
            path: &path,
            content_type,
            content_length: length.as_deref(),
            authorization,
            api_key,
            request_id,
            end_of_stream: b.u8() % 8 == 0,
            repeated_credentials: false,
            jwt_verified: false,
        };
        let worker = &mut self.workers[w];
        let (action, effects) = worker
            .engine
            .on_request_headers(ctx, &head, self.now, &self.store);
        match action {
            Action::Continue => assert!(effects.is_empty()),
            Action::Pause => {
                worker.held.insert(ctx);
                worker.open.insert(ctx, Vec::new());
            }
        }
        self.run(w, effects, b);
    }

    fn body(&mut self, w: usize, b: &mut Bytes<'_>) {
        let worker = &mut self.workers[w];
        let mut ctxs: Vec<u32> = worker.open.keys().copied().collect();
        ctxs.sort_unstable();
        let Some(&ctx) = ctxs.get(usize::from(b.u8()) % ctxs.len().max(1)) else {
            return;
        };
        let chunk: Vec<u8> = match b.u8() % 4 {
            0 => serde_json::json!({
                "sessionId": "s", "customerNumber": owned(b), "intent": "i", "variables": {}
            })
            .to_string()
            .into_bytes(),
            1 => br#"{"sessionId":"s","customerNumber":"CUST-1","intent":"i"}"#.to_vec(),
            _ => b.chunk().to_vec(),
        };
        let buffered = worker.open.entry(ctx).or_default();
        buffered.extend_from_slice(&chunk);
        let size = buffered.len();
        let snapshot = buffered.clone();
        let end = !b.bool() || b.bool();
        let fail_read = b.u8() == 0xff;
        let mut read = || (!fail_read).then(|| snapshot.clone());
        let (_, effects) =
            worker
                .engine
                .on_request_body(ctx, size, end, &mut read, self.now, &self.store);
        self.run(w, effects, b);
    }

    fn reply(&mut self, w: usize, b: &mut Bytes<'_>, canned: bool) {
        let worker = &mut self.workers[w];
        let (token, owner) = if worker.live.is_empty() || b.u8() % 32 == 0 {
            (b.u32(), None)
        } else {
            let i = usize::from(b.u8()) % worker.live.len();
            let (token, owner) = worker.live.swap_remove(i);
            (token, Some(owner))
        };
        let limit = self.settings.limits.max_upstream_body_bytes;
        let reply = if canned {
            let body = match owner {
                Some(Owner::Token) | None => GOOD_TOKEN,
                Some(Owner::Service { service, .. }) => match service {
                    Service::Profile => GOOD_PROFILE,
                    Service::Orders => GOOD_ORDERS,
                    Service::Tickets => GOOD_TICKETS,
                },
            };
            CallReply {
                status: Some(200),
                retry_after: None,
                body: body.to_vec(),
                body_size: body.len(),
            }
        } else {
            let status = *b.pick(&[
                Some(200),
                Some(200),
                Some(401),
                Some(429),
                Some(429),
                Some(404),
                Some(500),
                Some(503),
                Some(204),
                Some(400),
                None,
            ]);
            let retry_after = match b.u8() % 5 {
                0 => Some("0".to_owned()),
                1 => Some("1".to_owned()),
                2 => Some("Sun, 06 Nov 1994 08:49:37 GMT".to_owned()),
                3 => Some(owned(b)),
                _ => None,
            };
            let body = b.chunk().to_vec();
            // The glue leaves the body out when it is over the limit, and says how large it was.
            let (body, body_size) = if b.u8() % 16 == 0 {
                (Vec::new(), limit + 1 + usize::from(b.u16()))
            } else {
                let size = body.len();
                (body, size)
            };
            CallReply {
                status,
                retry_after,
                body,
                body_size,
            }
        };
        let effects = worker
            .engine
            .on_call_reply(CallId(token), &reply, self.now, &self.store);
        self.run(w, effects, b);
    }

    fn tick(&mut self, w: usize, b: &mut Bytes<'_>) {
        let effects = self.workers[w].engine.on_tick(self.now, &self.store);
        self.run(w, effects, b);
        let _ = self.workers[w].engine.next_wake(self.now);
        let _ = self.workers[w].engine.take_observations();
    }

    fn gone(&mut self, w: usize, b: &mut Bytes<'_>) {
        let worker = &mut self.workers[w];
        let mut ctxs: Vec<u32> = worker.held.difference(&worker.gone).copied().collect();
        ctxs.sort_unstable();
        if let Some(&ctx) = ctxs.get(usize::from(b.u8()) % ctxs.len().max(1)) {
            worker.engine.on_request_gone(ctx);
            worker.gone.insert(ctx);
            worker.open.remove(&ctx);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let settings = Rc::new(settings(*b.pick(&CONFIGS)));
    let store = MemoryStore::default();
    let worker = |store: &MemoryStore| Worker {
        engine: Engine::new(Rc::clone(&settings), store),
        next_token: 0,
        live: Vec::new(),
        open: HashMap::new(),
        held: HashSet::new(),
        answered: HashSet::new(),
        gone: HashSet::new(),
    };
    let workers = [worker(&store), worker(&store)];
    let mut world = World {
        settings: Rc::clone(&settings),
        store,
        workers,
        now: NOW,
        next_ctx: 0,
    };
    let mut steps = 0;
    while !b.is_empty() && steps < 512 {
        steps += 1;
        let w = usize::from(b.u8() & 1);
        match b.u8() % 9 {
            0 | 1 => world.headers(w, &mut b),
            2 => world.body(w, &mut b),
            3 => world.reply(w, &mut b, false),
            4 | 5 => world.reply(w, &mut b, true),
            6 => world.tick(w, &mut b),
            7 => world.gone(w, &mut b),
            _ => world.now += u64::from(b.u16() % 5000),
        }
    }

    // Every deadline has passed: nothing may still be held, and every held request that did not
    // go away was answered.
    world.now += 10 * 60 * 1000;
    let mut end = Bytes::new(&[]);
    for w in 0..2 {
        world.tick(w, &mut end);
        let worker = &world.workers[w];
        assert_eq!(
            worker.engine.in_flight(),
            0,
            "a request outlived its deadline"
        );
        for ctx in &worker.held {
            assert!(
                worker.answered.contains(ctx) || worker.gone.contains(ctx),
                "request {ctx} was held and never answered"
            );
        }
        let token_callouts = worker
            .live
            .iter()
            .filter(|(_, o)| matches!(o, Owner::Token))
            .count();
        assert!(
            worker.engine.pending_callouts() <= token_callouts,
            "callouts remembered for ended requests: {} > {token_callouts}",
            worker.engine.pending_callouts()
        );
    }
});
