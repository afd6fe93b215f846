//! One JSON-RPC 2.0 message as the MCP Streamable HTTP transport carries it: read, classified
//! (request, notification, response) and answered. Written by hand over serde_json because the
//! rules that matter here are MCP's, not generic JSON-RPC's: no batches (2025-06-18 removed them),
//! an id that is a string or an integer and never null, `params` an object, and a top-level key
//! given twice refused, so a proxy in front cannot be shown one `method` while the filter acts on
//! another.

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::json_depth;
use crate::json_top::{member, TopLevel};

pub const PARSE_ERROR: i32 = -32700;
pub const INVALID_REQUEST: i32 = -32600;
pub const METHOD_NOT_FOUND: i32 = -32601;
pub const INVALID_PARAMS: i32 = -32602;
pub const INTERNAL_ERROR: i32 = -32603;
/// Implementation-defined server error (JSON-RPC reserves -32000..-32099): the transport refused
/// the HTTP request before reading any JSON-RPC (method, media type, auth, origin).
pub const SERVER_ERROR: i32 = -32000;

/// Longest method name kept; anything longer cannot be a method this server knows.
const MAX_METHOD_CHARS: usize = 128;

/// A request id: a string or an integer (MCP forbids null and JSON-RPC discourages fractions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Id {
    Number(serde_json::Number),
    String(String),
}

/// One message, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Expects an answer carrying `id`.
    Request {
        id: Id,
        method: String,
        params: Params,
    },
    /// No answer (HTTP 202).
    Notification { method: String },
    /// A client's answer to a server request; this server sends none, so it is only acknowledged.
    Response,
}

/// A request's `params`: absent or an object. MCP's params are always objects, so by-position
/// (array) params, valid in plain JSON-RPC, make an invalid request here.
#[derive(Debug, Clone, PartialEq)]
pub enum Params {
    Absent,
    Object(Map<String, Value>),
}

impl Params {
    /// The object, or an empty one when absent.
    pub fn object(&self) -> Map<String, Value> {
        match self {
            Params::Absent => Map::new(),
            Params::Object(m) => m.clone(),
        }
    }
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RpcError {
    pub code: i32,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The HTTP status the error travels with: a message that could not be read as a request
    /// (parse error, invalid request) is a 400 with `"id": null`; an error about a well-formed
    /// request (unknown method, bad params) is a 200 carrying its id.
    pub fn http_status(&self) -> u16 {
        match self.code {
            PARSE_ERROR | INVALID_REQUEST => 400,
            METHOD_NOT_FOUND | INVALID_PARAMS => 200,
            _ => 500,
        }
    }
}

fn invalid(message: &str) -> RpcError {
    RpcError::new(INVALID_REQUEST, format!("Invalid Request: {message}"))
}

/// Reads one message. `Err` is a parse error (-32700) or an invalid request (-32600), both
/// answered with `"id": null`.
pub fn parse(body: &[u8], max_depth: usize) -> Result<Message, RpcError> {
    if !json_depth::within(body, max_depth) {
        return Err(RpcError::new(
            PARSE_ERROR,
            format!("Parse error: JSON nested deeper than {max_depth} levels"),
        ));
    }
    let top = TopLevel::<&RawValue>::read(body).map_err(|e| {
        if e.is_data() {
            invalid(&format!(
                "duplicate key at line {} column {}",
                e.line(),
                e.column()
            ))
        } else {
            RpcError::new(
                PARSE_ERROR,
                format!("Parse error at line {} column {}", e.line(), e.column()),
            )
        }
    })?;
    let members = match top {
        TopLevel::Object(members) => members,
        TopLevel::Array => return Err(invalid("batches are not supported")),
        TopLevel::Scalar => return Err(invalid("expected a JSON-RPC object")),
    };
    let get = |name: &str| member(&members, name).map(|v| v.get());
    if get("jsonrpc") != Some(r#""2.0""#) {
        return Err(invalid("\"jsonrpc\" must be \"2.0\""));
    }
    let id = match get("id") {
        None => None,
        Some(raw) => Some(read_id(raw)?),
    };
    let Some(method) = get("method") else {
        // No method: a response to a server request (or garbage that merely looks like one).
        let answers = get("result").is_some() ^ get("error").is_some();
        if id.is_some() && answers {
            return Ok(Message::Response);
        }
        return Err(invalid(
            "expected \"method\", or \"result\" / \"error\" with \"id\"",
        ));
    };
    let method: String =
        serde_json::from_str(method).map_err(|_| invalid("\"method\" must be a string"))?;
    if method.is_empty() || method.chars().count() > MAX_METHOD_CHARS {
        return Err(invalid("\"method\" must be 1-128 characters"));
    }
    for key in ["result", "error"] {
        if get(key).is_some() {
            return Err(invalid(&format!("a request has no \"{key}\"")));
        }
    }
    let params = match get("params") {
        None => Params::Absent,
        Some(raw) => match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(m)) => Params::Object(m),
            _ => return Err(invalid("\"params\" must be an object")),
        },
    };
    Ok(match id {
        Some(id) => Message::Request { id, method, params },
        None => Message::Notification { method },
    })
}

fn read_id(raw: &str) -> Result<Id, RpcError> {
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::String(s)) => Ok(Id::String(s)),
        Ok(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Id::Number(n)),
        _ => Err(invalid("\"id\" must be a string or an integer")),
    }
}

#[derive(Serialize)]
struct ErrorResponse<'a> {
    jsonrpc: &'static str,
    id: Option<&'a Id>,
    error: &'a RpcError,
}

#[derive(Serialize)]
struct ResultResponse<'a, T: Serialize> {
    jsonrpc: &'static str,
    id: &'a Id,
    result: &'a T,
}

/// `{"jsonrpc":"2.0","id":...,"error":{...}}`; `id: None` writes `"id": null`.
pub fn error_response(id: Option<&Id>, error: &RpcError) -> String {
    serde_json::to_string(&ErrorResponse {
        jsonrpc: "2.0",
        id,
        error,
    })
    .unwrap_or_else(|_| fallback_error())
}

/// `{"jsonrpc":"2.0","id":...,"result":...}`.
pub fn result_response<T: Serialize>(id: &Id, result: &T) -> String {
    serde_json::to_string(&ResultResponse {
        jsonrpc: "2.0",
        id,
        result,
    })
    .unwrap_or_else(|_| fallback_error())
}

/// Serializing the plain structs above cannot fail; this keeps that a non-panicking fact.
fn fallback_error() -> String {
    r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error"}}"#.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn code(body: &str) -> i32 {
        parse(body.as_bytes(), 32).unwrap_err().code
    }

    #[test]
    fn requests_notifications_and_responses() {
        let m = parse(
            br#"{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"cursor":"x"}}"#,
            32,
        )
        .unwrap();
        match m {
            Message::Request { id, method, params } => {
                assert_eq!(id, Id::Number(7.into()));
                assert_eq!(method, "tools/list");
                assert_eq!(params.object()["cursor"], "x");
            }
            other => panic!("{other:?}"),
        }
        let m = parse(br#"{"jsonrpc":"2.0","id":"a-1","method":"ping"}"#, 32).unwrap();
        assert_eq!(
            m,
            Message::Request {
                id: Id::String("a-1".into()),
                method: "ping".into(),
                params: Params::Absent
            }
        );
        assert_eq!(
            parse(
                br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
                32
            )
            .unwrap(),
            Message::Notification {
                method: "notifications/initialized".into()
            }
        );
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","id":3,"result":{}}"#, 32).unwrap(),
            Message::Response
        );
        assert_eq!(
            parse(
                br#"{"jsonrpc":"2.0","id":3,"error":{"code":1,"message":"x"}}"#,
                32
            )
            .unwrap(),
            Message::Response
        );
    }

    #[test]
    fn parse_errors() {
        for body in ["", "{", "{\"jsonrpc\":\"2.0\",}", "nope", "\u{feff}{}"] {
            assert_eq!(code(body), PARSE_ERROR, "{body:?}");
        }
        assert_eq!(
            parse(b"\xff\xfe{}", 32).unwrap_err().code,
            PARSE_ERROR,
            "not UTF-8"
        );
        let deep = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{}{}}}"#,
            "[".repeat(40),
            "]".repeat(40)
        );
        assert_eq!(code(&deep), PARSE_ERROR);
    }

    #[test]
    fn invalid_requests() {
        for body in [
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            "[]",
            "1",
            r#""x""#,
            "null",
            r#"{"id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":2.0,"id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":""}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":"x"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":null}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"jsonrpc":"2.0","result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}"#,
            r#"{"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"method":"ping"}"#,
        ] {
            assert_eq!(code(body), INVALID_REQUEST, "{body}");
        }
        let long = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"{}"}}"#,
            "m".repeat(129)
        );
        assert_eq!(code(&long), INVALID_REQUEST);
    }

    #[test]
    fn error_statuses() {
        assert_eq!(RpcError::new(PARSE_ERROR, "").http_status(), 400);
        assert_eq!(RpcError::new(INVALID_REQUEST, "").http_status(), 400);
        assert_eq!(RpcError::new(METHOD_NOT_FOUND, "").http_status(), 200);
        assert_eq!(RpcError::new(INVALID_PARAMS, "").http_status(), 200);
        assert_eq!(RpcError::new(INTERNAL_ERROR, "").http_status(), 500);
    }

    #[test]
    fn responses_echo_the_id_or_null() {
        let e = RpcError::new(METHOD_NOT_FOUND, "Method not found");
        assert_eq!(
            error_response(Some(&Id::String("x".into())), &e),
            r#"{"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"Method not found"}}"#
        );
        assert_eq!(
            error_response(None, &e.clone().with_data(serde_json::json!({"a": 1}))),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32601,"message":"Method not found","data":{"a":1}}}"#
        );
        let big: serde_json::Number = u64::MAX.into();
        assert_eq!(
            result_response(&Id::Number(big), &serde_json::json!({})),
            r#"{"jsonrpc":"2.0","id":18446744073709551615,"result":{}}"#
        );
    }
}
