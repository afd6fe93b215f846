//! The MCP route's JSON-RPC reader: any bytes through `jsonrpc::parse`, and what it accepts
//! through the method handlers that read params (`initialize`, `tools/call` argument validation).
//! Never a panic; a refusal is always a -32700/-32600 answered 400 with `"id": null`; an accepted
//! message is exactly what a plain JSON parser reads (one object, `"jsonrpc": "2.0"`, the same
//! method and id, no key given twice), and accepted tool arguments satisfy the input schema's
//! rules.

#![no_main]

use std::sync::OnceLock;

use cognigy_enrich::config::Settings;
use cognigy_enrich::mcp::jsonrpc::{self, Id, Message, INVALID_REQUEST, PARSE_ERROR};
use cognigy_enrich::mcp::protocol;
use cognigy_enrich::mcp::tool::{self, CallError};
use cognigy_enrich::payload::MAX_CUSTOMER_NUMBER_CHARS;
use cognigy_enrich_fuzz::{json_object, settings, string_member};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn mcp_settings() -> &'static Settings {
    static S: OnceLock<Settings> = OnceLock::new();
    S.get_or_init(|| settings(r#"{"mcp": {"enabled": true}}"#))
}

fuzz_target!(|data: &[u8]| {
    let s = mcp_settings();
    match jsonrpc::parse(data, s.limits.max_json_depth) {
        Err(e) => {
            assert!(e.code == PARSE_ERROR || e.code == INVALID_REQUEST, "{e:?}");
            assert_eq!(e.http_status(), 400);
            let body = json_object(&jsonrpc::error_response(None, &e));
            assert_eq!(body.get("id").map(|v| v.get()), Some("null"));
            assert_eq!(string_member(&body, "jsonrpc").as_deref(), Some("2.0"));
        }
        Ok(message) => {
            let plain: Value = serde_json::from_slice(data).expect("accepted, so JSON");
            let obj = plain.as_object().expect("accepted, so an object");
            assert_eq!(obj.get("jsonrpc"), Some(&Value::from("2.0")));
            match message {
                Message::Response => assert!(obj.get("id").is_some() && obj.get("method").is_none()),
                Message::Notification { method } => {
                    assert!(obj.get("id").is_none());
                    assert_eq!(obj.get("method"), Some(&Value::from(method)));
                }
                Message::Request { id, method, params } => {
                    assert_eq!(obj.get("method"), Some(&Value::from(method.as_str())));
                    match (&id, obj.get("id")) {
                        (Id::String(s), Some(Value::String(v))) => assert_eq!(s, v),
                        (Id::Number(n), Some(Value::Number(v))) => assert_eq!(n, v),
                        other => panic!("id read as {other:?}"),
                    }
                    let answer = jsonrpc::result_response(&id, &Value::Null);
                    assert!(serde_json::from_str::<Value>(&answer).is_ok());
                    let _ = protocol::initialize(&params.object());
                    match tool::parse_call(params.object(), s) {
                        Ok(args) => {
                            let n = args.customer_number.chars().count();
                            assert!((1..=MAX_CUSTOMER_NUMBER_CHARS).contains(&n));
                            assert!(s.customer_pattern.is_match(&args.customer_number));
                        }
                        Err(CallError::Arguments(errors)) => {
                            assert!(!errors.is_empty());
                            let e = tool::arguments_rpc_error(&errors);
                            assert_eq!(e.http_status(), 200);
                            let body = json_object(&jsonrpc::error_response(Some(&id), &e));
                            assert!(body.contains_key("error"));
                        }
                        Err(CallError::Params(e)) => assert_eq!(e.http_status(), 200),
                    }
                }
            }
        }
    }
});
