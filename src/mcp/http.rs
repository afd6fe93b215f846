//! The Streamable HTTP checks made before any JSON-RPC is read, and the shape of every HTTP-level
//! refusal on the MCP route. Caller auth sits between [`check_origin_and_method`] and
//! [`check_content`] in the engine, so it is the enrich route's own check.

use super::value::{obj, strings};

use super::jsonrpc::{self, RpcError, INVALID_REQUEST, SERVER_ERROR};
use super::protocol::Revision;
use crate::error::{EnrichError, Reply, JSON};

/// Why the HTTP request was refused before its body was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An `Origin` not in `mcp.allowedOrigins` (DNS rebinding protection): 403.
    Origin,
    /// Not a POST (no server-initiated stream, no session to delete): 405 with `Allow: POST`.
    Method,
    /// The enrich route's error (401 with `WWW-Authenticate`, 413, 415, ...): its status and
    /// headers, the body a JSON-RPC error.
    Enrich(EnrichError),
    /// An `Accept` that rules out `application/json`: 406.
    NotAcceptable,
    /// An `MCP-Protocol-Version` this server does not speak: 400.
    ProtocolVersion,
}

/// `Origin`, when sent, must be listed (compared without regard to ASCII case); then only POST.
pub fn check_origin_and_method(
    method: &str,
    origin: Option<&str>,
    allowed_origins: &[String],
) -> Result<(), Refusal> {
    if let Some(origin) = origin {
        let origin = origin.trim();
        if !allowed_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
        {
            return Err(Refusal::Origin);
        }
    }
    if method != "POST" {
        return Err(Refusal::Method);
    }
    Ok(())
}

/// `Content-Type: application/json`, an `Accept` that allows it, and a supported
/// `MCP-Protocol-Version` when one is sent (its revision is returned).
pub fn check_content(
    content_type: Option<&str>,
    accept: Option<&str>,
    protocol_version: Option<&str>,
) -> Result<Option<Revision>, Refusal> {
    if !content_type.is_some_and(|ct| media_type(ct) == "application/json") {
        return Err(Refusal::Enrich(EnrichError::UnsupportedMediaType));
    }
    if let Some(accept) = accept {
        if !accepts_json(accept) {
            return Err(Refusal::NotAcceptable);
        }
    }
    match protocol_version {
        None => Ok(None),
        Some(v) => Revision::parse(v.trim())
            .map(Some)
            .ok_or(Refusal::ProtocolVersion),
    }
}

fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether an `Accept` header admits `application/json` (directly, as `application/*` or `*/*`,
/// not with `q=0`). An absent header accepts anything (RFC 9110 12.5.1).
fn accepts_json(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim().to_ascii_lowercase();
            p.strip_prefix("q=")
                .is_some_and(|q| is_zero_qvalue(q.trim()))
        });
        !refused && matches!(media.as_str(), "application/json" | "application/*" | "*/*")
    })
}

/// `q=0`, `q=0.0` ... (RFC 9110 12.4.2: at most three decimals), read without float parsing,
/// which would add a float parser to the module for this one check.
fn is_zero_qvalue(q: &str) -> bool {
    match q.strip_prefix('0') {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('.')
            .is_some_and(|d| d.len() <= 3 && d.bytes().all(|b| b == b'0')),
        None => false,
    }
}

/// A JSON-RPC reply with the standard headers.
pub fn json_reply(status: u16, body: String) -> Reply {
    Reply {
        status,
        headers: vec![
            ("content-type", JSON.to_owned()),
            ("cache-control", "no-store".to_owned()),
        ],
        body,
    }
}

/// An error that is not about any request id: `"id": null`.
pub fn error_reply(status: u16, error: &RpcError) -> Reply {
    json_reply(status, jsonrpc::error_response(None, error))
}

/// The enrich route's answer to `e` (status, headers such as `WWW-Authenticate` or `Allow`),
/// with its `detail` as a JSON-RPC error, so every body on the MCP route is JSON-RPC.
pub fn enrich_error_reply(e: &EnrichError) -> Reply {
    let mut reply = e.reply();
    let detail = detail_of(&reply);
    let code = match reply.status {
        500 => jsonrpc::INTERNAL_ERROR,
        _ => SERVER_ERROR,
    };
    reply.body = jsonrpc::error_response(None, &RpcError::new(code, detail));
    reply
}

/// The `detail` the enrich route's error body carries (what error.rs says to a caller).
pub fn detail_of(reply: &Reply) -> String {
    serde_json::from_str::<serde_json::Value>(&reply.body)
        .ok()
        .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "Request refused".to_owned())
}

impl Refusal {
    pub fn reply(&self) -> Reply {
        match self {
            Refusal::Origin => error_reply(
                403,
                &RpcError::new(SERVER_ERROR, "Forbidden: Origin not allowed"),
            ),
            Refusal::Method => enrich_error_reply(&EnrichError::MethodNotAllowed),
            Refusal::Enrich(e) => enrich_error_reply(e),
            Refusal::NotAcceptable => error_reply(
                406,
                &RpcError::new(
                    SERVER_ERROR,
                    "Not Acceptable: the client must accept application/json",
                ),
            ),
            Refusal::ProtocolVersion => {
                let supported: Vec<&str> = Revision::ALL.iter().map(|r| r.as_str()).collect();
                error_reply(
                    400,
                    &RpcError::new(
                        INVALID_REQUEST,
                        format!(
                            "Bad Request: unsupported MCP-Protocol-Version (supported: {})",
                            supported.join(", ")
                        ),
                    )
                    .with_data(obj([("supported", strings(&supported))])),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AuthFailure;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn body(r: &Reply) -> serde_json::Value {
        serde_json::from_str(&r.body).unwrap()
    }

    #[test]
    fn origin_must_be_listed_when_sent() {
        let none: Vec<String> = Vec::new();
        let some = vec!["https://cognigy.example.com".to_owned()];
        assert_eq!(check_origin_and_method("POST", None, &none), Ok(()));
        assert_eq!(
            check_origin_and_method("POST", Some("https://evil.example"), &none),
            Err(Refusal::Origin)
        );
        assert_eq!(
            check_origin_and_method("POST", Some("null"), &some),
            Err(Refusal::Origin)
        );
        assert_eq!(
            check_origin_and_method("POST", Some("HTTPS://Cognigy.Example.com"), &some),
            Ok(())
        );
        assert_eq!(
            check_origin_and_method("POST", Some("https://cognigy.example.com.evil"), &some),
            Err(Refusal::Origin)
        );
        // The origin check comes first: a foreign page learns nothing else.
        assert_eq!(
            check_origin_and_method("GET", Some("https://evil.example"), &some),
            Err(Refusal::Origin)
        );
        for m in ["GET", "DELETE", "PUT", "OPTIONS", "HEAD", "post"] {
            assert_eq!(
                check_origin_and_method(m, None, &none),
                Err(Refusal::Method),
                "{m}"
            );
        }
    }

    #[test]
    fn media_types_accept_and_version() {
        let j = Some("application/json");
        assert_eq!(check_content(j, None, None), Ok(None));
        assert_eq!(
            check_content(
                Some("Application/JSON; charset=utf-8"),
                Some("application/json, text/event-stream"),
                Some("2025-06-18")
            ),
            Ok(Some(Revision::V2025_06_18))
        );
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("application/merge-patch+json"),
        ] {
            assert_eq!(
                check_content(ct, None, None),
                Err(Refusal::Enrich(EnrichError::UnsupportedMediaType)),
                "{ct:?}"
            );
        }
        for accept in [
            "*/*",
            "application/*",
            "text/event-stream, application/json;q=0.5",
            "application/json;q=0.001",
            "application/json;q=1",
        ] {
            assert!(check_content(j, Some(accept), None).is_ok(), "{accept}");
        }
        for accept in [
            "text/event-stream",
            "text/html",
            "application/json;q=0",
            "application/json; q=0.000, text/html",
            "",
        ] {
            assert_eq!(
                check_content(j, Some(accept), None),
                Err(Refusal::NotAcceptable),
                "{accept}"
            );
        }
        for v in ["2026-07-28", "2025-03-26", "2024-11-05", "latest", ""] {
            assert_eq!(
                check_content(j, None, Some(v)),
                Err(Refusal::ProtocolVersion),
                "{v}"
            );
        }
        assert_eq!(
            check_content(j, None, Some("2025-11-25")),
            Ok(Some(Revision::V2025_11_25))
        );
    }

    #[test]
    fn refusal_replies() {
        let r = Refusal::Origin.reply();
        assert_eq!(r.status, 403);
        assert_eq!(body(&r)["id"], serde_json::Value::Null);
        let r = Refusal::Method.reply();
        assert_eq!(r.status, 405);
        assert!(r.headers.contains(&("allow", "POST".to_owned())));
        let r = Refusal::Enrich(EnrichError::Unauthorized(AuthFailure::Missing)).reply();
        assert_eq!(r.status, 401);
        assert!(r
            .headers
            .iter()
            .any(|(k, v)| *k == "www-authenticate" && v.starts_with("Bearer")));
        assert_eq!(
            body(&r),
            json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32000, "message": "Not authenticated"}})
        );
        assert_eq!(
            Refusal::Enrich(EnrichError::UnsupportedMediaType)
                .reply()
                .status,
            415
        );
        assert_eq!(
            Refusal::Enrich(EnrichError::PayloadTooLarge { limit: 10 })
                .reply()
                .status,
            413
        );
        assert_eq!(Refusal::NotAcceptable.reply().status, 406);
        let r = Refusal::ProtocolVersion.reply();
        assert_eq!(r.status, 400);
        assert_eq!(body(&r)["error"]["code"], -32600);
        assert_eq!(
            body(&r)["error"]["data"]["supported"],
            json!(["2025-11-25", "2025-06-18"])
        );
        assert_eq!(enrich_error_reply(&EnrichError::Internal).status, 500);
    }
}
