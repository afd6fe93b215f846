//! The tool's arguments: read from `tools/call` params and validated by the enrich payload's
//! rules, and how their errors are reported under each revision.

use serde_json::{Map, Value};

use crate::config::Settings;
use crate::payload::{self, FieldError};

use super::super::jsonrpc::{RpcError, INVALID_PARAMS};
use super::super::value::{obj, s, strings};
use super::NAME;

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
    FieldError::at("arguments", field, kind, msg)
}

/// The argument a problem is about (`arguments` for the whole object).
pub(super) fn field_of(e: &FieldError) -> &str {
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
