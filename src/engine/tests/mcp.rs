//! The MCP route through the engine with a fake host (its own small one: MCP requests come in
//! through `on_mcp_request_headers`): admission before any JSON-RPC is read, every method's
//! answer, and `tools/call` running the very pipeline of the enrich route.

use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{json, Value};

use crate::callout::{Call, CallReply};
use crate::config::test_settings;
use crate::engine::*;
use crate::mcp::protocol::{Method, Outcome};
use crate::metrics::Observation;
use crate::store::MemoryStore;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const CONFIG: &str =
    r#"{"mcp": {"enabled": true, "allowedOrigins": ["https://cognigy.example.com"]}}"#;
const PROFILE: &str =
    r#"{"customerId":"CUST-992847","fullName":"Elena Rostova","segment":"Premium"}"#;
const ORDERS: &str = r#"{"items":[{"orderNumber":"ORD-2024-88412","total":249.9}]}"#;
const TICKETS: &str = r#"{"tickets":[{"ticketId":"TCK-55102","priority":"High"}]}"#;

struct Sim {
    engine: Engine,
    store: Rc<MemoryStore>,
    now: u64,
    next_call_id: u32,
    calls: Vec<(u32, Call)>,
    answers: HashMap<u32, (Reply, &'static str)>,
}

fn head(method: &'static str, path: &'static str) -> RequestHead<'static> {
    RequestHead {
        method,
        path,
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

fn post() -> RequestHead<'static> {
    head("POST", "/mcp")
}

fn mcp_headers(version: Option<&'static str>) -> McpHeaders<'static> {
    McpHeaders {
        accept: Some("application/json, text/event-stream"),
        origin: None,
        protocol_version: version,
    }
}

fn ok(status: u16, body: &str) -> CallReply {
    CallReply {
        status: Some(status),
        retry_after: None,
        body: body.as_bytes().to_vec(),
        body_size: body.len(),
    }
}

fn body(r: &Reply) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {:?}", r.body))
}

impl Sim {
    fn new(config: &str) -> Self {
        let store = Rc::new(MemoryStore::default());
        Sim {
            engine: Engine::new(Rc::new(test_settings(config)), &*store),
            store,
            now: 1_000_000,
            next_call_id: 100,
            calls: Vec::new(),
            answers: HashMap::new(),
        }
    }

    fn run(&mut self, effects: Vec<Effect>) {
        let mut queue: std::collections::VecDeque<Effect> = effects.into();
        while let Some(e) = queue.pop_front() {
            match e {
                Effect::Dispatch { owner, call, .. } => {
                    self.next_call_id += 1;
                    self.calls.push((self.next_call_id, call));
                    let more = self.engine.dispatched(
                        owner,
                        Ok(CallId(self.next_call_id)),
                        self.now,
                        &*self.store,
                    );
                    queue.extend(more);
                }
                Effect::Respond {
                    ctx,
                    reply,
                    outcome,
                } => {
                    assert!(
                        self.answers.insert(ctx, (reply, outcome)).is_none(),
                        "context {ctx} answered twice"
                    );
                }
            }
        }
    }

    /// Headers (MCP route) then the whole body; the action of the headers.
    fn send(
        &mut self,
        ctx: u32,
        head: &RequestHead<'_>,
        mcp: &McpHeaders<'_>,
        body: &[u8],
    ) -> Action {
        let (action, effects) =
            self.engine
                .on_mcp_request_headers(ctx, head, mcp, self.now, &*self.store);
        self.run(effects);
        if action == Action::Continue || self.answers.contains_key(&ctx) {
            return action;
        }
        let owned = body.to_vec();
        let mut read = move || Some(owned.clone());
        let (_, effects) =
            self.engine
                .on_request_body(ctx, body.len(), true, &mut read, self.now, &*self.store);
        self.run(effects);
        action
    }

    /// Sends one message; the pipeline may still be running.
    fn begin(&mut self, ctx: u32, version: Option<&'static str>, message: Value) {
        let bytes = message.to_string().into_bytes();
        self.send(ctx, &post(), &mcp_headers(version), &bytes);
    }

    /// Sends one message answered at once.
    fn rpc(&mut self, ctx: u32, version: Option<&'static str>, message: Value) -> Reply {
        self.begin(ctx, version, message);
        self.answers.get(&ctx).expect("answered").0.clone()
    }

    fn last_to(&self, cluster: &str) -> u32 {
        self.calls
            .iter()
            .filter(|(_, c)| &*c.cluster == cluster)
            .map(|(t, _)| *t)
            .next_back()
            .unwrap_or_else(|| panic!("no call to {cluster}"))
    }

    fn reply(&mut self, call_id: u32, r: CallReply) {
        let effects = self
            .engine
            .on_call_reply(CallId(call_id), &r, self.now, &*self.store);
        self.run(effects);
    }

    /// The token fetch due at once, answered.
    fn token(&mut self) {
        let effects = self.engine.on_tick(self.now, &*self.store);
        self.run(effects);
        let t = self.last_to("token_service");
        self.reply(t, ok(200, r#"{"access_token":"AT-1","expires_in":3600}"#));
    }

    fn services(&mut self, profile: CallReply) {
        let (p, o, t) = (
            self.last_to("customer_profile"),
            self.last_to("orders"),
            self.last_to("crm"),
        );
        self.reply(p, profile);
        self.reply(o, ok(200, ORDERS));
        self.reply(t, ok(200, TICKETS));
    }

    fn mcp_observations(&mut self) -> Vec<(Method, Outcome)> {
        self.engine
            .take_observations()
            .into_iter()
            .filter_map(|o| match o {
                Observation::Mcp {
                    method, outcome, ..
                } => Some((method, outcome)),
                _ => None,
            })
            .collect()
    }
}

fn call_tool(id: u32, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "get_customer_context", "arguments": arguments}})
}

#[test]
fn other_paths_and_a_disabled_endpoint_pass_through() {
    let mut sim = Sim::new(CONFIG);
    assert!(sim.engine.handles("/mcp?x=1") && sim.engine.handles("/api/v1/agent-assist/enrich"));
    assert!(!sim.engine.handles("/mcp/") && !sim.engine.handles("/healthz"));
    let other = head("POST", "/other");
    assert_eq!(
        sim.send(1, &other, &mcp_headers(None), b"{}"),
        Action::Continue
    );
    let mut off = Sim::new("{}");
    assert!(!off.engine.handles("/mcp"));
    assert_eq!(
        off.send(1, &post(), &mcp_headers(None), b"{}"),
        Action::Continue
    );
    assert!(sim.answers.is_empty() && off.answers.is_empty());
}

#[test]
fn refused_before_any_json_rpc_is_read() {
    let with = |h: RequestHead<'static>, m: McpHeaders<'static>| (h, m);
    let cases = vec![
        (
            with(
                post(),
                McpHeaders {
                    origin: Some("https://evil.example"),
                    ..mcp_headers(None)
                },
            ),
            403,
        ),
        (with(head("GET", "/mcp"), mcp_headers(None)), 405),
        (with(head("DELETE", "/mcp"), mcp_headers(None)), 405),
        (
            with(
                RequestHead {
                    authorization: None,
                    ..post()
                },
                mcp_headers(None),
            ),
            401,
        ),
        (
            with(
                RequestHead {
                    authorization: Some("Bearer wrong"),
                    ..post()
                },
                mcp_headers(None),
            ),
            401,
        ),
        (
            with(
                RequestHead {
                    content_type: Some("text/plain"),
                    ..post()
                },
                mcp_headers(None),
            ),
            415,
        ),
        (
            with(
                post(),
                McpHeaders {
                    accept: Some("text/event-stream"),
                    ..mcp_headers(None)
                },
            ),
            406,
        ),
        (with(post(), mcp_headers(Some("2026-07-28"))), 400),
        (
            with(
                RequestHead {
                    content_length: Some("70000"),
                    ..post()
                },
                mcp_headers(None),
            ),
            413,
        ),
    ];
    for (i, ((h, m), status)) in cases.into_iter().enumerate() {
        let mut sim = Sim::new(CONFIG);
        let ctx = i as u32 + 1;
        let (action, effects) =
            sim.engine
                .on_mcp_request_headers(ctx, &h, &m, sim.now, &*sim.store);
        sim.run(effects);
        assert_eq!(action, Action::Pause, "case {i}");
        let (reply, outcome) = sim.answers.get(&ctx).expect("answered at the headers");
        assert_eq!(reply.status, status, "case {i}: {}", reply.body);
        assert_eq!(*outcome, "mcp_rejected");
        let b = body(reply);
        assert_eq!(b["jsonrpc"], "2.0");
        assert_eq!(b["id"], Value::Null);
        assert!(b["error"]["message"].is_string());
        if status == 401 {
            assert!(reply.headers.iter().any(|(k, _)| *k == "www-authenticate"));
        }
        if status == 405 {
            assert!(reply.headers.contains(&("allow", "POST".to_owned())));
        }
        assert_eq!(sim.engine.in_flight(), 0);
        assert_eq!(
            sim.mcp_observations(),
            vec![(Method::None, Outcome::Rejected)]
        );
    }
    // A listed origin is let in.
    let mut sim = Sim::new(CONFIG);
    let m = McpHeaders {
        origin: Some("https://cognigy.example.com"),
        ..mcp_headers(None)
    };
    sim.send(
        1,
        &post(),
        &m,
        br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
    );
    assert_eq!(sim.answers[&1].0.status, 200);
    // A body larger than the limit without a Content-Length.
    let mut sim = Sim::new(CONFIG);
    sim.send(1, &post(), &mcp_headers(None), &[b' '; 70_000]);
    assert_eq!(sim.answers[&1].0.status, 413);
}

#[test]
fn initialize_ping_list_and_notifications() {
    let mut sim = Sim::new(CONFIG);
    let r = sim.rpc(
        1,
        None,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}),
    );
    assert_eq!(r.status, 200);
    assert!(r
        .headers
        .contains(&("content-type", "application/json".to_owned())));
    assert!(!r
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("mcp-session-id")));
    let b = body(&r);
    assert_eq!(b["id"], 1);
    assert_eq!(b["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(
        b["result"]["capabilities"],
        json!({"tools": {"listChanged": false}})
    );

    let r = sim.rpc(
        2,
        Some("2025-11-25"),
        json!({"jsonrpc": "2.0", "id": "p", "method": "ping"}),
    );
    assert_eq!(body(&r), json!({"jsonrpc": "2.0", "id": "p", "result": {}}));

    let r = sim.rpc(
        3,
        Some("2025-11-25"),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
    );
    let tools = &body(&r)["result"]["tools"];
    assert_eq!(tools.as_array().map(Vec::len), Some(1));
    assert_eq!(tools[0]["name"], "get_customer_context");

    for (ctx, message) in [
        (
            4,
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        ),
        (
            5,
            json!({"jsonrpc": "2.0", "method": "notifications/whatever"}),
        ),
        (6, json!({"jsonrpc": "2.0", "id": 9, "result": {}})),
    ] {
        let r = sim.rpc(ctx, Some("2025-11-25"), message);
        assert_eq!((r.status, r.body.as_str()), (202, ""), "{ctx}");
    }
    let r = sim.rpc(
        7,
        None,
        json!({"jsonrpc": "2.0", "id": 7, "method": "resources/list"}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(body(&r)["error"]["code"], -32601);
    assert_eq!(body(&r)["id"], 7);
    assert_eq!(
        sim.mcp_observations(),
        vec![
            (Method::Initialize, Outcome::Ok),
            (Method::Ping, Outcome::Ok),
            (Method::ToolsList, Outcome::Ok),
            (Method::NotificationsInitialized, Outcome::Ok),
            (Method::Other, Outcome::Ok),
            (Method::None, Outcome::Ok),
            (Method::Other, Outcome::RpcError),
        ]
    );
    assert_eq!(sim.engine.in_flight(), 0);
    assert!(sim.calls.is_empty(), "nothing but tools/call calls out");
}

#[test]
fn unreadable_messages_are_400_with_a_null_id() {
    let mut sim = Sim::new(CONFIG);
    for (ctx, raw, code) in [
        (1, &b"{nope"[..], -32700),
        (2, &b""[..], -32700),
        (
            3,
            &br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#[..],
            -32600,
        ),
        (
            4,
            &br#"{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}"#[..],
            -32600,
        ),
        (5, &br#"{"id":1,"method":"ping"}"#[..], -32600),
    ] {
        sim.send(ctx, &post(), &mcp_headers(None), raw);
        let r = &sim.answers[&ctx].0;
        assert_eq!(r.status, 400, "{ctx}");
        let b = body(r);
        assert_eq!(
            (b["id"].clone(), b["error"]["code"].clone()),
            (Value::Null, json!(code)),
            "{ctx}"
        );
    }
}

#[test]
fn tools_call_runs_the_enrich_pipeline_and_answers_its_answer() {
    let mut sim = Sim::new(CONFIG);
    // The enrich route's answer for the same customer, as the reference.
    let enrich = head("POST", "/api/v1/agent-assist/enrich");
    let (_, effects) = sim
        .engine
        .on_request_headers(1, &enrich, sim.now, &*sim.store);
    sim.run(effects);
    let payload = br#"{"sessionId":"s","customerNumber":"CUST-992847","intent":"order_status"}"#;
    let mut read = || Some(payload.to_vec());
    let (_, effects) =
        sim.engine
            .on_request_body(1, payload.len(), true, &mut read, sim.now, &*sim.store);
    sim.run(effects);
    sim.token();
    sim.services(ok(200, PROFILE));
    let expected = body(&sim.answers[&1].0);

    sim.begin(
        2,
        Some("2025-11-25"),
        call_tool(
            2,
            json!({"customerNumber": "CUST-992847", "intent": "order_status"}),
        ),
    );
    assert!(!sim.answers.contains_key(&2), "waits for the services");
    let profile_call = sim
        .calls
        .iter()
        .rev()
        .find(|(_, c)| &*c.cluster == "customer_profile");
    assert_eq!(
        profile_call.and_then(|(_, c)| c.header("authorization")),
        Some("Bearer AT-1"),
        "the shared token, no new fetch"
    );
    sim.services(ok(200, PROFILE));
    let (r, outcome) = &sim.answers[&2];
    assert_eq!((r.status, *outcome), (200, "mcp_ok"));
    let b = body(r);
    assert_eq!(b["id"], 2);
    let result = &b["result"];
    assert_eq!(result["isError"], false);
    assert_eq!(result["structuredContent"], expected);
    assert_eq!(
        result["content"][0]["text"],
        expected["enrichedPromptContext"]
    );
    let text: Value = serde_json::from_str(result["content"][1]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text, expected);
    assert!(r.headers.contains(&("x-request-id", "req-1".to_owned())));
    assert_eq!(sim.engine.in_flight(), 0);
    assert_eq!(sim.engine.pending_callouts(), 0);
    assert_eq!(
        sim.mcp_observations(),
        vec![(Method::ToolsCall, Outcome::Ok)]
    );
}

#[test]
fn a_failed_enrichment_is_a_tool_error_the_model_can_read() {
    let mut sim = Sim::new(CONFIG);
    sim.begin(
        1,
        Some("2025-06-18"),
        call_tool(1, json!({"customerNumber": "C1"})),
    );
    sim.token();
    sim.services(ok(503, "down"));
    let (r, outcome) = &sim.answers[&1];
    assert_eq!((r.status, *outcome), (200, "mcp_tool_error"));
    let result = &body(r)["result"];
    assert_eq!(result["isError"], true);
    assert_eq!(
        result["content"][0]["text"],
        "get_customer_context failed: Internal service unavailable: 503"
    );
    assert!(result.get("structuredContent").is_none());
    assert_eq!(
        sim.mcp_observations(),
        vec![(Method::ToolsCall, Outcome::ToolError)]
    );

    // The deadline: a tool error too, not an HTTP 504.
    let mut sim = Sim::new(CONFIG);
    sim.begin(1, None, call_tool(1, json!({"customerNumber": "C1"})));
    sim.token();
    sim.now += 4500;
    let effects = sim.engine.on_tick(sim.now, &*sim.store);
    sim.run(effects);
    let (r, _) = &sim.answers[&1];
    assert_eq!(r.status, 200);
    assert_eq!(
        body(r)["result"]["content"][0]["text"],
        "get_customer_context failed: Context enrichment timed out after 4500 ms"
    );
}

#[test]
fn degraded_answers_are_results_that_say_so() {
    let mut sim = Sim::new(CONFIG);
    sim.begin(1, None, call_tool(1, json!({"customerNumber": "C1"})));
    sim.token();
    let (p, o, t) = (
        sim.last_to("customer_profile"),
        sim.last_to("orders"),
        sim.last_to("crm"),
    );
    sim.reply(p, ok(200, PROFILE));
    sim.reply(o, ok(500, ""));
    sim.reply(t, ok(200, TICKETS));
    let (r, outcome) = &sim.answers[&1];
    assert_eq!(*outcome, "mcp_degraded");
    let result = &body(r)["result"];
    assert_eq!(result["isError"], false);
    assert_eq!(
        result["structuredContent"]["degraded"],
        json!(["recentOrders"])
    );
}

#[test]
fn bad_arguments_per_revision() {
    let bad = json!({"customerNumber": "../etc"});
    // 2025-06-18 (and no header): a JSON-RPC -32602 naming the field, no call made.
    for version in [Some("2025-06-18"), None] {
        let mut sim = Sim::new(CONFIG);
        let r = sim.rpc(1, version, call_tool(1, bad.clone()));
        assert_eq!(r.status, 200);
        let b = body(&r);
        assert_eq!(b["error"]["code"], -32602, "{version:?}");
        assert!(b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("customerNumber"));
        assert!(sim.calls.is_empty());
    }
    // 2025-11-25: a tool result with isError naming the field.
    let mut sim = Sim::new(CONFIG);
    let r = sim.rpc(1, Some("2025-11-25"), call_tool(1, bad));
    let b = body(&r);
    assert_eq!(b["result"]["isError"], true);
    assert!(b["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("customerNumber"));
    assert!(sim.calls.is_empty());
    // An unknown tool is -32602 under every revision.
    let r = sim.rpc(
        2,
        Some("2025-11-25"),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "nope"}}),
    );
    assert_eq!(body(&r)["error"]["code"], -32602);
}

#[test]
fn a_body_that_never_ends_gets_the_deadline() {
    let mut sim = Sim::new(CONFIG);
    let (action, effects) =
        sim.engine
            .on_mcp_request_headers(1, &post(), &mcp_headers(None), sim.now, &*sim.store);
    sim.run(effects);
    assert_eq!(action, Action::Pause);
    sim.now += 4500;
    let effects = sim.engine.on_tick(sim.now, &*sim.store);
    sim.run(effects);
    let (r, outcome) = &sim.answers[&1];
    assert_eq!((r.status, *outcome), (504, "mcp_rejected"));
    assert_eq!(body(r)["id"], Value::Null);
}
