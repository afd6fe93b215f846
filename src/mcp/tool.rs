//! The one tool, `get_customer_context`: its descriptor (input schema, an output schema generated
//! from the answer writer itself, annotations), its arguments' validation (the enrich payload's
//! rules) and the tool result written around the enrich answer.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::aggregate::Gathered;
use crate::answer;
use crate::config::{Settings, DEFAULT_CUSTOMER_PATTERN};
use crate::payload::{self, FieldError, MAX_CUSTOMER_NUMBER_CHARS, MAX_TEXT_CHARS};
use crate::service::{parse_reply, PerService, Service, ServiceData};

use super::jsonrpc::{RpcError, INVALID_PARAMS};
use super::value::{n, obj, s, strings};

pub const NAME: &str = "get_customer_context";

const DESCRIPTION: &str = "Look up a contact-center customer by customer number and get their profile (name, segment, contact details, account status), their most recent orders and their open support tickets, plus enrichedPromptContext: a three-line summary written for you to read. Use it before answering anything about the customer's account, an order or a delivery, or a complaint. Pass the conversation's intent if you know it. The data is read-only and current; lists are newest first. If degraded names a source, that source is unavailable right now (its list is empty): tell the user instead of guessing. stale names data served from a recent cache because its source failed.";

/// Keys the enrich answer may carry that are not part of the tool's result: the Agent Copilot
/// tiles are for the human agent's workspace, not for a model.
const NOT_FOR_MODELS: [&str; 2] = ["card", "identity"];

/// What each answer key means, for the output schema (keys without an entry get none).
fn describe(key: &str) -> Option<&'static str> {
    Some(match key {
        "customerProfile" => "The customer-profile service's record as it returned it; {} when it did not answer.",
        "recentOrders" => "The customer's most recent orders, newest first, as the orders service returned them.",
        "openTickets" => "The customer's open CRM tickets, as the ticket service returned them.",
        "enrichedPromptContext" => "Three lines for a language model: customer and segment, order count and last order, open tickets and top priority.",
        "degraded" => "Answer keys whose service did not answer; their data is empty.",
        "stale" => "Answer keys served from the cache because their service failed.",
        "truncated" => "Lists shortened to fit the answer size limit.",
        _ => return None,
    })
}

/// Validated arguments of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arguments {
    pub customer_number: String,
    /// Empty when not given.
    pub intent: String,
}

/// Why a `tools/call` could not start.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// Not a tool call this server can make (no/unknown name, params not an object): -32602
    /// under every revision.
    Params(RpcError),
    /// The tool's arguments break its input schema: -32602 under 2025-06-18, a tool result with
    /// `isError` under 2025-11-25.
    Arguments(Vec<FieldError>),
}

/// Reads `tools/call` params: `{name, arguments?, _meta?}`.
pub fn parse_call(
    mut params: Map<String, Value>,
    settings: &Settings,
) -> Result<Arguments, CallError> {
    let bad = |msg: String| CallError::Params(RpcError::new(INVALID_PARAMS, msg));
    match params.remove("name") {
        Some(Value::String(name)) if name == NAME => {}
        Some(Value::String(name)) => {
            let shown: String = name.chars().take(64).collect();
            return Err(CallError::Params(
                RpcError::new(INVALID_PARAMS, format!("Unknown tool: {shown}"))
                    .with_data(obj([("tools", strings(&[NAME]))])),
            ));
        }
        Some(_) => return Err(bad("Invalid params: name must be a string".to_owned())),
        None => return Err(bad("Invalid params: name is required".to_owned())),
    }
    let mut args = match params.remove("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(CallError::Arguments(vec![field_error(
                None,
                "model_type",
                "arguments must be an object",
            )]))
        }
    };
    let mut errors = Vec::new();
    let customer_number =
        payload::customer_field(&mut args, &settings.customer_pattern, &mut errors);
    let intent = match args.get("intent") {
        None | Some(Value::Null) => {
            args.remove("intent");
            Some(String::new())
        }
        Some(_) => payload::text_field(&mut args, "intent", &mut errors),
    };
    let mut unknown: Vec<&String> = args.keys().collect();
    unknown.sort();
    for key in unknown {
        let shown: String = key.chars().take(64).collect();
        errors.push(field_error(
            Some(&shown),
            "extra_forbidden",
            "not an argument of get_customer_context (it takes customerNumber and intent)",
        ));
    }
    match (customer_number, intent) {
        (Some(customer_number), Some(intent)) if errors.is_empty() => Ok(Arguments {
            customer_number,
            intent,
        }),
        _ => Err(CallError::Arguments(errors)),
    }
}

fn field_error(field: Option<&str>, kind: &'static str, msg: &str) -> FieldError {
    let mut loc = vec!["arguments".to_owned()];
    if let Some(f) = field {
        loc.push(f.to_owned());
    }
    FieldError {
        loc,
        msg: msg.to_owned(),
        kind,
    }
}

/// The argument a problem is about (`arguments` for the whole object).
fn field_of(e: &FieldError) -> &str {
    match e.loc.as_slice() {
        [_, field, ..] => field,
        _ => "arguments",
    }
}

/// One line naming every bad argument, for a model or a person to act on.
pub fn arguments_message(errors: &[FieldError]) -> String {
    let parts: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", field_of(e), e.msg))
        .collect();
    format!("Invalid arguments for {NAME}: {}", parts.join("; "))
}

/// The -32602 for bad arguments (2025-06-18): the message names each field, `data.errors` lists
/// them.
pub fn arguments_rpc_error(errors: &[FieldError]) -> RpcError {
    let list: Vec<Value> = errors
        .iter()
        .map(|e| {
            obj([
                ("field", s(field_of(e))),
                ("msg", s(&e.msg)),
                ("type", s(e.kind)),
            ])
        })
        .collect();
    RpcError::new(INVALID_PARAMS, arguments_message(errors))
        .with_data(obj([("errors", Value::Array(list))]))
}

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

/// The output schema, generated by running the answer writer, as `Engine::settle` calls it for
/// a tool call, on three probes: every service present (its keys are the required ones), every
/// service missing and stale, and an order list over `answer.maxBytes` (these add the optional
/// keys). Whatever the writer does with the configuration (field selection, masking, size cap),
/// the schema says what it writes, so a result always validates.
pub fn output_schema(settings: &Settings) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let full = probe(settings, Probe::Full);
    for (key, value) in &full {
        required.push(Value::String(key.clone()));
        properties.insert(key.clone(), schema_of(value));
    }
    let optional = [
        probe(settings, Probe::Missing),
        probe(settings, Probe::Oversized),
    ];
    for (key, value) in optional.iter().flatten() {
        let informative = !matches!(value, Value::Array(a) if a.is_empty());
        if !properties.contains_key(key) || (informative && is_empty_array_schema(&properties, key))
        {
            properties.insert(key.clone(), schema_of(value));
        }
    }
    for (key, schema) in properties.iter_mut() {
        if let (Some(text), Some(obj)) = (describe(key), schema.as_object_mut()) {
            obj.insert("description".to_owned(), s(text));
        }
    }
    obj([
        ("type", s("object")),
        ("properties", Value::Object(properties)),
        ("required", Value::Array(required)),
    ])
}

fn is_empty_array_schema(properties: &Map<String, Value>, key: &str) -> bool {
    properties.get(key).is_some_and(|p| {
        p.get("type").and_then(Value::as_str) == Some("array") && p.get("items").is_none()
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Probe {
    Full,
    Missing,
    Oversized,
}

/// The writer's answer for a probe customer, as ordered members.
fn probe(settings: &Settings, kind: Probe) -> Vec<(String, Value)> {
    let limits = settings.limits;
    let read = |service: Service, body: &str| {
        parse_reply(
            service,
            body.as_bytes(),
            limits.max_upstream_body_bytes,
            limits.max_list_items,
        )
        .ok()
    };
    // Filled by index, not by a match: a service the probe has no sample for is left out (and
    // named in `degraded`) instead of needing an arm here.
    let mut data = PerService::<Option<ServiceData>>::default();
    data[Service::Profile] = read(
        Service::Profile,
        r#"{"customerId":"PROBE-1","fullName":"Probe Customer","segment":"Standard"}"#,
    );
    let orders_body = if kind == Probe::Oversized {
        // Two orders, each alone the size of the cap: the writer has to shorten the list.
        let pad = "x".repeat(settings.answer.max_bytes.min(1 << 24));
        format!(
            r#"{{"items":[{{"orderNumber":"ORD-1","pad":"{pad}"}},{{"orderNumber":"ORD-0","pad":"{pad}"}}]}}"#
        )
    } else {
        r#"{"items":[{"orderNumber":"ORD-1"}]}"#.to_owned()
    };
    data[Service::Orders] = read(Service::Orders, &orders_body);
    data[Service::Tickets] = read(Service::Tickets, r#"{"tickets":[{"priority":"High"}]}"#);
    let gathered = if kind != Probe::Missing {
        Gathered {
            records: PerService::from_fn(|service| data[service].as_ref()),
            intent: "probe",
            customer_number: "PROBE-1",
            ..Gathered::default()
        }
    } else {
        Gathered {
            intent: "probe",
            customer_number: "PROBE-1",
            stale: Service::ALL.into_iter().map(Service::answer_key).collect(),
            ..Gathered::default()
        }
    };
    // The same steps, with the same arguments, `Engine::settle` takes for a tool call: privacy,
    // then the writer.
    let Ok(redacted) = settings.privacy.redact_gathered(&gathered) else {
        return Vec::new();
    };
    let gathered = redacted.apply(gathered);
    let Ok(written) = answer::write(&gathered, &settings.prompt, &settings.answer, None, "") else {
        return Vec::new();
    };
    members(&written.body)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, raw)| Some((k, serde_json::from_str(raw.get()).ok()?)))
        .collect()
}

fn schema_of(value: &Value) -> Value {
    match value {
        Value::Null => obj([]),
        Value::Bool(_) => obj([("type", s("boolean"))]),
        Value::Number(_) => obj([("type", s("number"))]),
        Value::String(_) => obj([("type", s("string"))]),
        Value::Array(items) => match items.first() {
            Some(first) => obj([("type", s("array")), ("items", schema_of(first))]),
            None => obj([("type", s("array"))]),
        },
        // Upstream records: their shape is the services', not this filter's.
        Value::Object(_) => obj([("type", s("object"))]),
    }
}

/// A JSON object's members in order, or `None` if `text` is not one.
fn members(text: &str) -> Option<Vec<(String, Box<RawValue>)>> {
    let map: OrderedObject = serde_json::from_str(text).ok()?;
    Some(map.0)
}

/// A JSON object read with its members in order (serde_json's `Map` sorts them).
struct OrderedObject(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for OrderedObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedObject, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
                    out.push((k, v));
                }
                Ok(OrderedObject(out))
            }
        }
        d.deserialize_map(V)
    }
}

struct Ordered<'a>(&'a [(String, Box<RawValue>)]);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Text<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolResult<'a> {
    content: Vec<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    structured_content: Option<Ordered<'a>>,
    is_error: bool,
}

/// The result of a successful call: `structuredContent` is the enrich answer (without the
/// Copilot tiles); `content` is first the prompt line (what a model should read), then the same
/// JSON as text for clients that ignore structured content. `None` if `answer` is not an object.
pub fn success_result(answer: &str) -> Option<Box<RawValue>> {
    let kept: Vec<(String, Box<RawValue>)> = members(answer)?
        .into_iter()
        .filter(|(k, _)| !NOT_FOR_MODELS.contains(&k.as_str()))
        .collect();
    let structured = serde_json::to_string(&Ordered(&kept)).ok()?;
    let prompt: Option<String> = kept
        .iter()
        .find(|(k, _)| k == "enrichedPromptContext")
        .and_then(|(_, v)| serde_json::from_str(v.get()).ok());
    let mut content = Vec::new();
    if let Some(p) = prompt.as_deref() {
        content.push(Text {
            kind: "text",
            text: p,
        });
    }
    content.push(Text {
        kind: "text",
        text: &structured,
    });
    let result = ToolResult {
        content,
        structured_content: Some(Ordered(&kept)),
        is_error: false,
    };
    serde_json::value::to_raw_value(&result).ok()
}

/// A failed call as the model sees it: `isError` and the reason as text.
pub fn error_result(text: &str) -> Box<RawValue> {
    let result = ToolResult {
        content: vec![Text { kind: "text", text }],
        structured_content: None,
        is_error: true,
    };
    // Serializing a struct of strings cannot fail; the fallback keeps that a non-panicking fact.
    serde_json::value::to_raw_value(&result).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_settings;
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
