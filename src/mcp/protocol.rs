//! The MCP protocol revisions this server speaks, the `initialize` handshake and the method names
//! it knows (which are also the only labels its metrics use).

use serde_json::{Map, Value};

use super::jsonrpc::{RpcError, INVALID_PARAMS};
use super::value::{obj, s};

/// A protocol revision this server implements. 2025-03-26 and earlier (batches, no
/// `structuredContent`) and 2026-07-28 (no `initialize`, no sessions) are not among them: a client
/// that offers one at `initialize` is told the latest; one that sends it in `MCP-Protocol-Version`
/// gets a 400 and, if it knows the older revisions, falls back to `initialize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revision {
    V2025_06_18,
    V2025_11_25,
}

impl Revision {
    pub const LATEST: Revision = Revision::V2025_11_25;
    /// Newest first.
    pub const ALL: [Revision; 2] = [Revision::V2025_11_25, Revision::V2025_06_18];

    pub fn as_str(self) -> &'static str {
        match self {
            Revision::V2025_06_18 => "2025-06-18",
            Revision::V2025_11_25 => "2025-11-25",
        }
    }

    pub fn parse(text: &str) -> Option<Revision> {
        Revision::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Whether a tool's invalid arguments are a tool result with `isError` (2025-11-25: so the
    /// model can read what was wrong and retry) rather than a JSON-RPC -32602 (2025-06-18).
    pub fn argument_errors_are_tool_results(self) -> bool {
        self == Revision::V2025_11_25
    }
}

/// What the server tells a model about itself at `initialize`.
pub const INSTRUCTIONS: &str = "Customer context for a contact-center conversation. When you know the customer's number and need their profile, recent orders or open support tickets (to answer about an order, a delivery, a complaint or the account), call get_customer_context once with customerNumber and, if known, the conversation's intent. Read enrichedPromptContext first; the other fields hold the records. If degraded names a source, that data is unavailable right now: say so instead of guessing.";

/// The `initialize` result: the client's revision when this server speaks it, else the latest.
/// The server keeps no session, so nothing of the client is remembered.
pub fn initialize(params: &Map<String, Value>) -> Result<Value, RpcError> {
    let requested = match params.get("protocolVersion") {
        Some(Value::String(v)) => v,
        Some(_) => {
            return Err(RpcError::new(
                INVALID_PARAMS,
                "Invalid params: protocolVersion must be a string",
            ))
        }
        None => {
            return Err(RpcError::new(
                INVALID_PARAMS,
                "Invalid params: protocolVersion is required",
            ))
        }
    };
    for key in ["capabilities", "clientInfo"] {
        if params.get(key).is_some_and(|v| !v.is_object()) {
            return Err(RpcError::new(
                INVALID_PARAMS,
                format!("Invalid params: {key} must be an object"),
            ));
        }
    }
    let revision = Revision::parse(requested).unwrap_or(Revision::LATEST);
    Ok(obj([
        ("protocolVersion", s(revision.as_str())),
        (
            "capabilities",
            obj([("tools", obj([("listChanged", Value::Bool(false))]))]),
        ),
        (
            "serverInfo",
            obj([
                ("name", s(env!("CARGO_PKG_NAME"))),
                ("title", s("Cognigy customer context")),
                ("version", s(env!("CARGO_PKG_VERSION"))),
            ]),
        ),
        ("instructions", s(INSTRUCTIONS)),
    ]))
}

/// A method as metrics and logs name it. A client cannot create labels: whatever it sends outside
/// the known set is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Initialize,
    Ping,
    ToolsList,
    ToolsCall,
    NotificationsInitialized,
    /// A method or notification this server does not know.
    Other,
    /// No method: a refused HTTP request, an unreadable message, or a client's response.
    None,
}

impl Method {
    pub const ALL: [Method; 7] = [
        Method::Initialize,
        Method::Ping,
        Method::ToolsList,
        Method::ToolsCall,
        Method::NotificationsInitialized,
        Method::Other,
        Method::None,
    ];

    pub fn of(name: &str) -> Method {
        match name {
            "initialize" => Method::Initialize,
            "ping" => Method::Ping,
            "tools/list" => Method::ToolsList,
            "tools/call" => Method::ToolsCall,
            "notifications/initialized" => Method::NotificationsInitialized,
            _ => Method::Other,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Method::Initialize => "initialize",
            Method::Ping => "ping",
            Method::ToolsList => "tools_list",
            Method::ToolsCall => "tools_call",
            Method::NotificationsInitialized => "notifications_initialized",
            Method::Other => "other",
            Method::None => "none",
        }
    }

    pub fn index(self) -> usize {
        match self {
            Method::Initialize => 0,
            Method::Ping => 1,
            Method::ToolsList => 2,
            Method::ToolsCall => 3,
            Method::NotificationsInitialized => 4,
            Method::Other => 5,
            Method::None => 6,
        }
    }
}

/// How an MCP exchange ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered (a result, or 202 for a notification or response).
    Ok,
    /// `tools/call` answered with some sources missing or stale.
    Degraded,
    /// `tools/call` answered with `isError: true` (the enrichment failed, or bad arguments under
    /// 2025-11-25).
    ToolError,
    /// A JSON-RPC error (parse error, invalid request, unknown method, invalid params).
    RpcError,
    /// Refused at the HTTP level before any JSON-RPC was read (origin, method, auth, media types,
    /// protocol version header, size).
    Rejected,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Ok,
        Outcome::Degraded,
        Outcome::ToolError,
        Outcome::RpcError,
        Outcome::Rejected,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Degraded => "degraded",
            Outcome::ToolError => "tool_error",
            Outcome::RpcError => "rpc_error",
            Outcome::Rejected => "rejected",
        }
    }

    pub fn index(self) -> usize {
        match self {
            Outcome::Ok => 0,
            Outcome::Degraded => 1,
            Outcome::ToolError => 2,
            Outcome::RpcError => 3,
            Outcome::Rejected => 4,
        }
    }

    /// The access-log label (`enrich_outcome` filter state) of an MCP exchange.
    pub fn access_log_label(self) -> &'static str {
        match self {
            Outcome::Ok => "mcp_ok",
            Outcome::Degraded => "mcp_degraded",
            Outcome::ToolError => "mcp_tool_error",
            Outcome::RpcError => "mcp_rpc_error",
            Outcome::Rejected => "mcp_rejected",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn negotiates_the_clients_revision_or_the_latest() {
        for (asked, got) in [
            ("2025-06-18", "2025-06-18"),
            ("2025-11-25", "2025-11-25"),
            ("2025-03-26", "2025-11-25"),
            ("2026-07-28", "2025-11-25"),
            ("garbage", "2025-11-25"),
        ] {
            let r = initialize(&params(
                json!({"protocolVersion": asked, "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"}}),
            ))
            .unwrap();
            assert_eq!(r["protocolVersion"], got, "{asked}");
            assert_eq!(r["capabilities"], json!({"tools": {"listChanged": false}}));
            assert_eq!(r["serverInfo"]["name"], "cognigy-enrich");
            assert_eq!(r["serverInfo"]["version"], env!("CARGO_PKG_VERSION"));
            assert!(r["instructions"]
                .as_str()
                .unwrap()
                .contains("get_customer_context"));
        }
    }

    #[test]
    fn initialize_params_are_checked() {
        for p in [
            json!({}),
            json!({"protocolVersion": 20250618}),
            json!({"protocolVersion": "2025-06-18", "capabilities": []}),
            json!({"protocolVersion": "2025-06-18", "clientInfo": "me"}),
        ] {
            let e = initialize(&params(p.clone())).unwrap_err();
            assert_eq!(e.code, INVALID_PARAMS, "{p}");
        }
    }

    #[test]
    fn unknown_methods_are_other() {
        assert_eq!(Method::of("tools/call"), Method::ToolsCall);
        assert_eq!(Method::of("resources/list"), Method::Other);
        assert_eq!(Method::of("x".repeat(100).as_str()), Method::Other);
        for (i, m) in Method::ALL.into_iter().enumerate() {
            assert_eq!(m.index(), i);
        }
        for (i, o) in Outcome::ALL.into_iter().enumerate() {
            assert_eq!(o.index(), i);
        }
        assert_eq!(Revision::parse("2025-06-18"), Some(Revision::V2025_06_18));
        assert_eq!(Revision::parse("2026-07-28"), None);
    }
}
