//! The one tool, `get_customer_context`: its descriptor (input schema, an output schema generated
//! from the answer writer itself, annotations), its arguments' validation (the enrich payload's
//! rules) and the tool result written around the enrich answer.
//!
//! This module owns the tool's name and its `tools/list` entry; the arguments
//! ([`arguments`]), the output schema ([`output_schema`]) and the result ([`result`]) are
//! their own files.

use serde_json::Value;

use crate::config::{Settings, DEFAULT_CUSTOMER_PATTERN};
use crate::payload::{MAX_CUSTOMER_NUMBER_CHARS, MAX_TEXT_CHARS};

use super::value::{n, obj, s, strings};

pub mod arguments;
pub mod output_schema;
pub mod result;

pub use arguments::{arguments_message, arguments_rpc_error, parse_call, Arguments, CallError};
pub use output_schema::output_schema;
pub use result::{error_result, success_result};

pub const NAME: &str = "get_customer_context";

const DESCRIPTION: &str = "Look up a contact-center customer by customer number and get their profile (name, segment, contact details, account status), their most recent orders and their open support tickets, plus enrichedPromptContext: a three-line summary written for you to read. Use it before answering anything about the customer's account, an order or a delivery, or a complaint. Pass the conversation's intent if you know it. The data is read-only and current; lists are newest first. If degraded names a source, that source is unavailable right now (its list is empty): tell the user instead of guessing. stale names data served from a recent cache because its source failed.";

/// The tool's entry in `tools/list`.
pub fn descriptor(settings: &Settings) -> Value {
    let mut customer = obj([
        ("type", s("string")),
        ("minLength", n(1)),
        ("maxLength", n(MAX_CUSTOMER_NUMBER_CHARS)),
        (
            "description",
            s("The customer's number as the contact center knows it, e.g. CUST-992847."),
        ),
    ]);
    // A configured pattern is a Rust regex, not always a valid ECMA-262 one: only the default,
    // which is both, goes into the schema. The filter checks the configured one either way.
    if settings.customer_pattern.as_str() == format!("^(?:{DEFAULT_CUSTOMER_PATTERN})$") {
        if let Some(obj) = customer.as_object_mut() {
            obj.insert("pattern".to_owned(), s(DEFAULT_CUSTOMER_PATTERN));
        }
    }
    let intent = obj([
        ("type", s("string")),
        ("minLength", n(1)),
        ("maxLength", n(MAX_TEXT_CHARS)),
        (
            "description",
            s("What the customer wants, e.g. order_status or complaint; used in the summary."),
        ),
    ]);
    obj([
        ("name", s(NAME)),
        ("title", s("Customer context")),
        ("description", s(DESCRIPTION)),
        (
            "inputSchema",
            obj([
                ("type", s("object")),
                (
                    "properties",
                    obj([("customerNumber", customer), ("intent", intent)]),
                ),
                ("required", strings(&["customerNumber"])),
                ("additionalProperties", Value::Bool(false)),
            ]),
        ),
        ("outputSchema", output_schema(settings)),
        (
            "annotations",
            obj([
                ("title", s("Customer context")),
                ("readOnlyHint", Value::Bool(true)),
                ("openWorldHint", Value::Bool(false)),
            ]),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::arguments::field_of;
    use super::*;
    use crate::config::test_settings;
    use crate::mcp::jsonrpc::INVALID_PARAMS;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn call(params: Value) -> Result<Arguments, CallError> {
        parse_call(params.as_object().cloned().unwrap(), &test_settings("{}"))
    }

    fn arg_errors(params: Value) -> Vec<(String, &'static str)> {
        match call(params) {
            Err(CallError::Arguments(e)) => {
                e.iter().map(|e| (field_of(e).to_owned(), e.kind)).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn valid_calls() {
        assert_eq!(
            call(json!({"name": NAME, "arguments": {"customerNumber": "CUST-992847"}})),
            Ok(Arguments {
                customer_number: "CUST-992847".into(),
                intent: String::new()
            })
        );
        assert_eq!(
            call(
                json!({"name": NAME, "arguments": {"customerNumber": "C1", "intent": "order_status"},
                "_meta": {"progressToken": 1}})
            ),
            Ok(Arguments {
                customer_number: "C1".into(),
                intent: "order_status".into()
            })
        );
    }

    #[test]
    fn bad_arguments_name_the_field() {
        assert_eq!(
            arg_errors(json!({"name": NAME})),
            vec![("customerNumber".into(), "missing")]
        );
        assert_eq!(
            arg_errors(json!({"name": NAME, "arguments": {"customerNumber": "../x"}})),
            vec![("customerNumber".into(), "string_pattern_mismatch")]
        );
        assert_eq!(
            arg_errors(json!({"name": NAME, "arguments": {"customerNumber": "A".repeat(21)}})),
            vec![("customerNumber".into(), "string_too_long")]
        );
        assert_eq!(
            arg_errors(json!({"name": NAME, "arguments": {"customerNumber": 5, "intent": ""}})),
            vec![
                ("customerNumber".into(), "string_type"),
                ("intent".into(), "string_too_short")
            ]
        );
        assert_eq!(
            arg_errors(
                json!({"name": NAME, "arguments": {"customerNumber": "C1", "zz": 1, "aa": 2}})
            ),
            vec![
                ("aa".into(), "extra_forbidden"),
                ("zz".into(), "extra_forbidden")
            ]
        );
        assert_eq!(
            arg_errors(json!({"name": NAME, "arguments": [1]})),
            vec![("arguments".into(), "model_type")]
        );
        let errors = match call(json!({"name": NAME, "arguments": {"customerNumber": "a b"}})) {
            Err(CallError::Arguments(e)) => e,
            other => panic!("{other:?}"),
        };
        let e = arguments_rpc_error(&errors);
        assert_eq!(e.code, INVALID_PARAMS);
        assert!(e.message.contains("customerNumber:"), "{}", e.message);
        assert_eq!(e.data.unwrap()["errors"][0]["field"], "customerNumber");
    }

    #[test]
    fn not_this_tool() {
        for p in [
            json!({"name": "other_tool"}),
            json!({"name": 5}),
            json!({"arguments": {}}),
        ] {
            match call(p.clone()) {
                Err(CallError::Params(e)) => assert_eq!(e.code, INVALID_PARAMS, "{p}"),
                other => panic!("{p}: {other:?}"),
            }
        }
    }

    #[test]
    fn descriptor_schemas() {
        let d = descriptor(&test_settings("{}"));
        assert_eq!(d["name"], NAME);
        assert_eq!(
            d["annotations"],
            json!({"title": "Customer context", "readOnlyHint": true, "openWorldHint": false})
        );
        let input = &d["inputSchema"];
        assert_eq!(input["required"], json!(["customerNumber"]));
        assert_eq!(
            input["properties"]["customerNumber"]["pattern"],
            DEFAULT_CUSTOMER_PATTERN
        );
        assert_eq!(input["properties"]["customerNumber"]["maxLength"], 20);
        let out = &d["outputSchema"];
        assert_eq!(
            out["required"],
            json!([
                "customerProfile",
                "recentOrders",
                "openTickets",
                "enrichedPromptContext"
            ])
        );
        assert_eq!(out["properties"]["recentOrders"]["items"]["type"], "object");
        assert_eq!(out["properties"]["degraded"]["items"]["type"], "string");
        assert_eq!(out["properties"]["stale"]["type"], "array");
        assert_eq!(out["properties"]["truncated"]["items"]["type"], "string");
        assert_eq!(out["properties"]["enrichedPromptContext"]["type"], "string");
        assert!(out["properties"].get("card").is_none());
        // A custom pattern (a Rust regex) is not copied into the schema.
        let d = descriptor(&test_settings(r#"{"customerNumberPattern": "[0-9]+"}"#));
        assert!(d["inputSchema"]["properties"]["customerNumber"]
            .get("pattern")
            .is_none());
    }

    #[test]
    fn success_result_shape() {
        let answer = r#"{"customerProfile":{"fullName":"E"},"recentOrders":[],"openTickets":[],"enrichedPromptContext":"Customer: E","card":{"type":"AdaptiveCard"},"degraded":["recentOrders"]}"#;
        let r: Value = serde_json::from_str(success_result(answer).unwrap().get()).unwrap();
        assert_eq!(r["isError"], false);
        assert_eq!(
            r["content"][0],
            json!({"type": "text", "text": "Customer: E"})
        );
        let structured = &r["structuredContent"];
        assert!(structured.get("card").is_none());
        assert_eq!(structured["degraded"], json!(["recentOrders"]));
        let text: Value = serde_json::from_str(r["content"][1]["text"].as_str().unwrap()).unwrap();
        assert_eq!(&text, structured);
        // The text keeps the answer's key order.
        assert!(r["content"][1]["text"]
            .as_str()
            .unwrap()
            .starts_with(r#"{"customerProfile":"#));
        assert!(success_result("[1]").is_none());
        let e: Value = serde_json::from_str(error_result("failed: x").get()).unwrap();
        assert_eq!(
            e,
            json!({"content": [{"type": "text", "text": "failed: x"}], "isError": true})
        );
    }
}
