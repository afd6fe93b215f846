//! Whether a request's line and headers are admitted, before any body is read: pure checks, no
//! engine state. The enrich route's chain is [`check_enrich`]; the MCP route reuses its pieces.

use std::sync::Arc;

use crate::auth::{Presented, WebhookAuth};
use crate::error::EnrichError;

/// The request line and headers the engine looks at.
#[derive(Debug, Default, Clone)]
pub struct RequestHead<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub content_type: Option<&'a str>,
    pub content_length: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub api_key: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub end_of_stream: bool,
    /// More than one `Authorization` or `X-API-Key` header arrived.
    pub repeated_credentials: bool,
    /// Envoy's `jwt_authn` put a verified JWT payload into this request's dynamic metadata.
    pub jwt_verified: bool,
}

impl<'a> RequestHead<'a> {
    /// The credentials the caller presented, for [`crate::auth::WebhookAuth::check_presented`]
    /// (every route that admits callers checks them the same way).
    pub fn credentials(&self) -> Presented<'a> {
        Presented {
            authorization: self.authorization,
            api_key: self.api_key,
            repeated: self.repeated_credentials,
            jwt_verified: self.jwt_verified,
        }
    }

    /// Whether the announced `Content-Length` is over `limit` (an unreadable one is left to the
    /// body's own size check).
    pub fn announces_more_than(&self, limit: usize) -> bool {
        self.content_length
            .and_then(|l| l.trim().parse::<u64>().ok())
            .is_some_and(|l| l > limit as u64)
    }
}

/// The request id for logs, the answer and the upstream calls: the caller's (or Envoy's)
/// `x-request-id` when it is 1-128 visible ASCII characters, else `-`. It goes into every log
/// line and upstream header as is, so it must not carry control characters (a NUL or a line break
/// forging log lines or headers), spaces or non-ASCII.
pub fn request_id(raw: Option<&str>) -> Arc<str> {
    raw.filter(|id| (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("-")
        .into()
}

pub fn is_json_media_type(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// The enrich route's checks, in the order their errors win: method, caller auth, media type,
/// announced length.
pub fn check_enrich(
    head: &RequestHead<'_>,
    auth: &WebhookAuth,
    max_body_bytes: usize,
) -> Result<(), EnrichError> {
    if head.method != "POST" {
        return Err(EnrichError::MethodNotAllowed);
    }
    auth.check_presented(&head.credentials())
        .map_err(EnrichError::Unauthorized)?;
    if !head.content_type.is_some_and(is_json_media_type) {
        return Err(EnrichError::UnsupportedMediaType);
    }
    if head.announces_more_than(max_body_bytes) {
        return Err(EnrichError::PayloadTooLarge {
            limit: max_body_bytes,
        });
    }
    Ok(())
}
