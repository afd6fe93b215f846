//! The MCP endpoint's HTTP contract, end to end: the release filter in a real Envoy in front of the
//! mocks. Status codes, headers and JSON-RPC bodies of every refusal and method, the tool call
//! against the enrich route's own answer, what reaches the services, metrics and logs. The real
//! MCP clients run in tests/mcp_clients.rs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::{json, Value};
use support::*;

const CONFIG: &str = r#"{"deadlineMs": 4500, "limits": {"maxBodyBytes": 4096}, "mcp": {"enabled": true, "allowedOrigins": ["https://cognigy.example.com"]}}"#;
const AUTH: (&str, &str) = ("authorization", "Bearer demo-webhook-token");
const JSON_CT: (&str, &str) = ("content-type", "application/json");
const ACCEPT: (&str, &str) = ("accept", "application/json, text/event-stream");

fn post(agent: &ureq::Agent, envoy: &Envoy, headers: &[(&str, &str)], body: &str) -> Resp {
    send(
        agent,
        "POST",
        &envoy.url("/mcp"),
        headers,
        Some(body.as_bytes()),
    )
}

fn rpc(agent: &ureq::Agent, envoy: &Envoy, version: Option<&str>, message: Value) -> Resp {
    let mut headers = vec![AUTH, JSON_CT, ACCEPT];
    if let Some(v) = version {
        headers.push(("mcp-protocol-version", v));
    }
    post(agent, envoy, &headers, &message.to_string())
}

fn call(id: u32, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "get_customer_context", "arguments": arguments}})
}

/// A JSON-RPC error with `"id": null` and `code`.
fn assert_null_id_error(r: &Resp, status: u16, code: i64) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let b = r.json();
    assert_eq!(b["jsonrpc"], "2.0");
    assert_eq!(b["id"], Value::Null, "{b}");
    assert_eq!(b["error"]["code"], code, "{b}");
}

#[test]
fn http_level_refusals_come_before_any_json_rpc() {
    let (mocks, envoy) = stack(CONFIG);
    let agent = agent();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "0"}}})
    .to_string();

    // Caller auth first: a 401 with WWW-Authenticate even for a body that is not JSON at all.
    for (headers, detail) in [
        (vec![JSON_CT, ACCEPT], "Not authenticated"),
        (
            vec![JSON_CT, ACCEPT, ("authorization", "Bearer wrong")],
            "Invalid webhook token",
        ),
    ] {
        let r = post(&agent, &envoy, &headers, "{not json");
        assert_null_id_error(&r, 401, -32000);
        assert!(r
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Bearer")));
        assert_eq!(r.json()["error"]["message"], detail);
    }
    // The enrich route's other scheme works here too.
    let r = post(
        &agent,
        &envoy,
        &[JSON_CT, ACCEPT, ("x-api-key", "rotated-token")],
        &init,
    );
    assert_eq!(r.status, 200, "{}", r.body);

    for method in ["GET", "DELETE", "PUT"] {
        let r = send(&agent, method, &envoy.url("/mcp"), &[AUTH, ACCEPT], None);
        assert_null_id_error(&r, 405, -32000);
        assert_eq!(r.header("allow"), Some("POST"), "{method}");
    }
    let r = post(
        &agent,
        &envoy,
        &[AUTH, ACCEPT, ("content-type", "text/plain")],
        &init,
    );
    assert_null_id_error(&r, 415, -32000);
    let r = post(
        &agent,
        &envoy,
        &[AUTH, JSON_CT, ("accept", "text/event-stream")],
        &init,
    );
    assert_null_id_error(&r, 406, -32000);
    for version in ["2026-07-28", "2025-03-26", "nonsense"] {
        let r = post(
            &agent,
            &envoy,
            &[AUTH, JSON_CT, ACCEPT, ("mcp-protocol-version", version)],
            &init,
        );
        assert_null_id_error(&r, 400, -32600);
        assert_eq!(
            r.json()["error"]["data"]["supported"],
            json!(["2025-11-25", "2025-06-18"])
        );
    }
    // Origin: only the listed one (DNS rebinding protection).
    let r = post(
        &agent,
        &envoy,
        &[AUTH, JSON_CT, ACCEPT, ("origin", "https://evil.example")],
        &init,
    );
    assert_null_id_error(&r, 403, -32000);
    let r = post(
        &agent,
        &envoy,
        &[
            AUTH,
            JSON_CT,
            ACCEPT,
            ("origin", "https://cognigy.example.com"),
        ],
        &init,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // Over the body limit.
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(5000)
    );
    let r = post(&agent, &envoy, &[AUTH, JSON_CT, ACCEPT], &big);
    assert_null_id_error(&r, 413, -32000);

    assert_eq!(mocks.request_count(Service::Token), 0, "nothing called out");
    assert_eq!(mocks.request_count(Service::Profile), 0);
    let rejected = envoy.stat("wasmcustom.cognigy_enrich.mcp.none.rejected");
    assert_eq!(
        rejected,
        2 + 3 + 1 + 1 + 3 + 1 + 1,
        "every refusal counted once"
    );
}

#[test]
fn methods_status_codes_and_ids() {
    let (mocks, envoy) = stack(CONFIG);
    let agent = agent();
    let r = rpc(
        &agent,
        &envoy,
        None,
        json!({"jsonrpc": "2.0", "id": "init-1", "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "0"}}}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(
        r.header("mcp-session-id").is_none(),
        "stateless: no session"
    );
    assert!(r.header("x-request-id").is_some());
    let b = r.json();
    assert_eq!(b["id"], "init-1");
    assert_eq!(b["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(
        b["result"]["serverInfo"]["version"],
        env!("CARGO_PKG_VERSION")
    );
    // An unknown revision is answered with the latest.
    let r = rpc(
        &agent,
        &envoy,
        None,
        json!({"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": {
            "protocolVersion": "2026-07-28", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "0"}}}),
    );
    assert_eq!(r.json()["result"]["protocolVersion"], "2025-11-25");

    // A session id a client sends is ignored.
    let r = post(
        &agent,
        &envoy,
        &[AUTH, JSON_CT, ACCEPT, ("mcp-session-id", "made-up")],
        r#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#,
    );
    assert_eq!(r.json(), json!({"jsonrpc": "2.0", "id": 3, "result": {}}));

    for message in [
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}),
        json!({"jsonrpc": "2.0", "id": 5, "result": {}}),
    ] {
        let r = rpc(&agent, &envoy, Some("2025-11-25"), message.clone());
        assert_eq!((r.status, r.body.as_str()), (202, ""), "{message}");
    }
    let r = rpc(
        &agent,
        &envoy,
        Some("2025-11-25"),
        json!({"jsonrpc": "2.0", "id": 6, "method": "tools/list"}),
    );
    let tools = r.json()["result"]["tools"].clone();
    assert_eq!(tools[0]["name"], "get_customer_context");
    assert_eq!(
        tools[0]["inputSchema"]["properties"]["customerNumber"]["pattern"],
        "^[A-Za-z0-9_-]+$"
    );
    assert!(tools[0]["outputSchema"]["properties"]["degraded"].is_object());

    let r = rpc(
        &agent,
        &envoy,
        None,
        json!({"jsonrpc": "2.0", "id": 7, "method": "resources/list"}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["error"]["code"], -32601);
    assert_eq!(r.json()["id"], 7);

    for (body, code) in [
        ("{oops", -32700),
        (r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, -32600),
        (r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#, -32600),
    ] {
        let r = post(&agent, &envoy, &[AUTH, JSON_CT, ACCEPT], body);
        assert_null_id_error(&r, 400, code);
    }
    assert_eq!(mocks.request_count(Service::Token), 0);
    let stat = |m: &str| envoy.stat(&format!("wasmcustom.cognigy_enrich.mcp.{m}"));
    assert_eq!(stat("initialize.ok"), 2);
    assert_eq!(stat("ping.ok"), 1);
    assert_eq!(stat("tools_list.ok"), 1);
    assert_eq!(stat("notifications_initialized.ok"), 1);
    assert_eq!(stat("other.ok"), 1, "notifications/cancelled");
    assert_eq!(stat("none.ok"), 1, "the client's response");
    assert_eq!(stat("other.rpc_error"), 1);
    assert_eq!(stat("none.rpc_error"), 3);
}

#[test]
fn tools_call_is_the_enrich_pipeline() {
    let (mocks, envoy) = stack(CONFIG);
    let agent = agent();
    let expected = enrich(&agent, &envoy, ELENA).json();
    mocks.clear_requests();
    let r = send(
        &agent,
        "POST",
        &envoy.url("/mcp"),
        &[AUTH, JSON_CT, ACCEPT, ("x-request-id", "mcp-e2e-1")],
        Some(
            call(
                1,
                json!({"customerNumber": "CUST-992847", "intent": "order_status"}),
            )
            .to_string()
            .as_bytes(),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-request-id"), Some("mcp-e2e-1"));
    let result = r.json()["result"].clone();
    assert_eq!(result["isError"], false);
    assert_eq!(result["structuredContent"], expected);
    assert_eq!(
        result["content"][0],
        json!({"type": "text", "text": expected["enrichedPromptContext"]})
    );
    // Same calls as the enrich route, the shared token (no second fetch), the caller's id.
    assert_eq!(mocks.request_count(Service::Token), 0);
    for service in [Service::Profile, Service::Orders, Service::Tickets] {
        let got = mocks.requests(service);
        assert_eq!(got.len(), 1, "{service:?}");
        assert_eq!(got[0].header("x-request-id"), Some("mcp-e2e-1"));
    }
    assert_eq!(
        mocks.requests(Service::Profile)[0].path_and_query,
        "/api/v1/customers/CUST-992847"
    );

    // A failed enrichment is a tool result the model can read, not an HTTP error.
    let r = rpc(
        &agent,
        &envoy,
        None,
        call(2, json!({"customerNumber": "NO-SUCH-1"})),
    );
    assert_eq!(r.status, 200);
    let result = r.json()["result"].clone();
    assert_eq!(result["isError"], true);
    assert_eq!(
        result["content"][0]["text"],
        "get_customer_context failed: Internal service unavailable: 404"
    );

    // Bad arguments per revision.
    let bad = json!({"customerNumber": "a/b"});
    let r = rpc(&agent, &envoy, Some("2025-06-18"), call(3, bad.clone()));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["error"]["code"], -32602);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("customerNumber"));
    let r = rpc(&agent, &envoy, Some("2025-11-25"), call(4, bad));
    assert_eq!(r.json()["result"]["isError"], true);
    let stat = |m: &str| envoy.stat(&format!("wasmcustom.cognigy_enrich.mcp.tools_call.{m}"));
    assert_eq!(
        (stat("ok"), stat("tool_error"), stat("rpc_error")),
        (1, 2, 1)
    );
    // The enrich route's own counters are not touched by MCP calls.
    assert_eq!(envoy.stat("wasmcustom.cognigy_enrich.requests.ok"), 1);
    let log = envoy.log_when(10, |l| {
        l.contains("[mcp-e2e-1] mcp tools_call ok enrich=ok")
    });
    assert!(
        log.contains("[mcp-e2e-1] mcp tools_call ok enrich=ok status=200"),
        "{log}"
    );
}

#[test]
fn other_paths_pass_through_and_the_endpoint_is_off_by_default() {
    let (_mocks, envoy) = stack(CONFIG);
    let agent = agent();
    let r = send(
        &agent,
        "POST",
        &envoy.url("/mcp/x"),
        &[AUTH, JSON_CT],
        Some(b"{}"),
    );
    assert_eq!(r.status, 404, "the demo's catch-all, not the filter");
    let r = send(&agent, "GET", &envoy.url("/healthz"), &[], None);
    assert_eq!(r.status, 200);
    // The query is ignored, like on the enrich route.
    let r = post_to(&agent, &envoy, "/mcp?x=1");
    assert_eq!(r.status, 200, "{}", r.body);

    // mcp.enabled unset: the filter leaves /mcp to the route's fallback.
    let (_mocks, off) = stack(r#"{"deadlineMs": 4500}"#);
    let r = post_to(&agent, &off, "/mcp");
    assert_eq!(r.status, 503);
    assert_eq!(r.detail(), "enrich filter not active");
}

fn post_to(agent: &ureq::Agent, envoy: &Envoy, path: &str) -> Resp {
    send(
        agent,
        "POST",
        &envoy.url(path),
        &[AUTH, JSON_CT, ACCEPT],
        Some(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
    )
}

#[test]
fn answer_mode_and_copilot_tiles_never_reach_the_tool() {
    let (_mocks, envoy) = stack(
        r#"{"deadlineMs": 4500, "answerMode": "always200", "copilot": {"identity": true, "card": true}, "mcp": {"enabled": true}}"#,
    );
    let agent = agent();
    let mut expected = enrich(&agent, &envoy, ELENA).json();
    assert_eq!(
        expected["ok"], true,
        "the enrich route is in always200 mode"
    );
    assert!(expected.get("card").is_some() && expected.get("identity").is_some());
    for key in ["ok", "card", "identity"] {
        expected.as_object_mut().unwrap().remove(key);
    }
    let r = rpc(
        &agent,
        &envoy,
        Some("2025-11-25"),
        call(
            1,
            json!({"customerNumber": "CUST-992847", "intent": "order_status"}),
        ),
    );
    assert_eq!(r.status, 200);
    assert!(r.header("x-enrich-status").is_none());
    assert_eq!(r.json()["result"]["structuredContent"], expected);
    // A failure is still a tool error, not the always200 envelope; a wrong token still a 401.
    let r = rpc(
        &agent,
        &envoy,
        None,
        call(2, json!({"customerNumber": "NO-SUCH-1"})),
    );
    assert_eq!(r.json()["result"]["isError"], true);
    let r = post(&agent, &envoy, &[JSON_CT, ACCEPT], "{}");
    assert_null_id_error(&r, 401, -32000);
    assert!(r.header("www-authenticate").is_some());
}
