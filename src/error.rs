//! Every way an enrich request can end without a full answer, and the one place that turns each
//! into an HTTP status, headers and JSON body.

use serde::Serialize;

use crate::auth::AuthFailure;
use crate::payload::FieldError;
use crate::service::Service;

/// Why one service gave no usable data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceFailure {
    /// A non-2xx status (other than a retried 429 or a re-authenticated 401).
    Status(u16),
    /// No HTTP answer: connection refused or reset, or the call's timeout fired.
    Unreachable,
    /// A 2xx whose body was too large, not JSON, or not the expected shape.
    Malformed,
    /// 429s until the attempts or the deadline ran out.
    RetriesExhausted { attempts: u32 },
}

/// Why the OAuth token could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TokenFailure {
    /// The token endpoint refused the client credentials (400/401/403).
    Rejected,
    /// The token endpoint was unreachable, failed or answered without a usable token.
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrichError {
    MethodNotAllowed,
    Unauthorized(AuthFailure),
    UnsupportedMediaType,
    PayloadTooLarge {
        limit: usize,
    },
    InvalidPayload(Vec<FieldError>),
    Upstream {
        service: Service,
        failure: ServiceFailure,
    },
    Token(TokenFailure),
    DeadlineExceeded {
        budget_ms: u64,
    },
    Internal,
    /// The answer does not fit `answer.maxBytes` even with both lists empty.
    AnswerTooLarge,
}

/// A complete local answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Reply {
    /// A 200 JSON answer no cache may keep: the enrich answer, and the `always200` envelope.
    pub fn ok_json(body: String) -> Reply {
        Reply {
            status: 200,
            headers: vec![
                ("content-type", JSON.to_owned()),
                ("cache-control", "no-store".to_owned()),
            ],
            body,
        }
    }
}

#[derive(Serialize)]
struct Detail<'a> {
    detail: &'a str,
}

#[derive(Serialize)]
struct ValidationDetail<'a> {
    detail: &'static str,
    errors: &'a [FieldError],
}

/// The `answerMode: "always200"` failure: the flow's tiles and prompt read the same keys as on a
/// success, and a designer branches on `ok`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    ok: bool,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
    customer_profile: EmptyObject,
    recent_orders: [u8; 0],
    open_tickets: [u8; 0],
    enriched_prompt_context: &'a str,
}

#[derive(Serialize)]
struct EmptyObject {}

const VALIDATION_DETAIL: &str = "Invalid Cognigy payload structure";

pub const JSON: &str = "application/json";

fn json_body<T: Serialize>(value: &T) -> String {
    // Serializing these plain structs cannot fail; the fallback keeps that a non-panicking fact.
    serde_json::to_string(value)
        .unwrap_or_else(|_| r#"{"detail":"Context enrichment failed"}"#.to_owned())
}

impl EnrichError {
    /// The status and message a caller sees. Messages never carry upstream bodies, tokens or
    /// customer data.
    pub fn reply(&self) -> Reply {
        let mut headers = vec![
            ("content-type", JSON.to_owned()),
            ("cache-control", "no-store".to_owned()),
        ];
        match self {
            EnrichError::MethodNotAllowed => headers.push(("allow", "POST".to_owned())),
            EnrichError::Unauthorized(_) => {
                headers.push(("www-authenticate", "Bearer".to_owned()));
            }
            _ => {}
        }
        let detail = self.detail();
        let body = match self {
            EnrichError::InvalidPayload(errors) => json_body(&ValidationDetail {
                detail: VALIDATION_DETAIL,
                errors,
            }),
            _ => json_body(&Detail { detail: &detail }),
        };
        Reply {
            status: self.status(),
            headers,
            body,
        }
    }

    /// The `detail` message of the body.
    fn detail(&self) -> String {
        match self {
            EnrichError::InvalidPayload(_) => VALIDATION_DETAIL.to_owned(),
            EnrichError::MethodNotAllowed => "Method Not Allowed".to_owned(),
            EnrichError::Unauthorized(AuthFailure::Missing) => "Not authenticated".to_owned(),
            EnrichError::Unauthorized(AuthFailure::Invalid) => "Invalid webhook token".to_owned(),
            EnrichError::Unauthorized(AuthFailure::Repeated) => {
                "More than one Authorization or X-API-Key header".to_owned()
            }
            EnrichError::UnsupportedMediaType => {
                "Unsupported Media Type: expected application/json".to_owned()
            }
            EnrichError::PayloadTooLarge { limit } => format!("Request body exceeds {limit} bytes"),
            EnrichError::Upstream { service, failure } => upstream_message(*service, *failure),
            EnrichError::Token(TokenFailure::Rejected) => {
                "OAuth client credentials invalid".to_owned()
            }
            EnrichError::Token(TokenFailure::Unavailable) => {
                "OAuth token service unavailable".to_owned()
            }
            EnrichError::DeadlineExceeded { budget_ms } => {
                format!("Context enrichment timed out after {budget_ms} ms")
            }
            EnrichError::Internal => "Context enrichment failed".to_owned(),
            EnrichError::AnswerTooLarge => {
                "Internal service unavailable: answer too large".to_owned()
            }
        }
    }

    /// The status [`EnrichError::reply`] answers with.
    pub fn status(&self) -> u16 {
        match self {
            EnrichError::MethodNotAllowed => 405,
            EnrichError::Unauthorized(_) => 401,
            EnrichError::UnsupportedMediaType => 415,
            EnrichError::PayloadTooLarge { .. } => 413,
            EnrichError::InvalidPayload(_) => 422,
            EnrichError::Upstream { .. } | EnrichError::Token(_) | EnrichError::AnswerTooLarge => {
                502
            }
            EnrichError::DeadlineExceeded { .. } => 504,
            EnrichError::Internal => 500,
        }
    }

    /// The same failure for `answerMode: "always200"`: HTTP 200 with `{"ok": false, "status",
    /// "detail", "errors" (422 only), "customerProfile": {}, "recentOrders": [], "openTickets":
    /// [], "enrichedPromptContext": <unavailable_text>}`. The headers that only mean something
    /// on an HTTP error (`WWW-Authenticate`, `Allow`) are left out.
    pub fn always200_reply(&self, unavailable_text: &str) -> Reply {
        let detail = self.detail();
        let errors = match self {
            EnrichError::InvalidPayload(errors) => Some(errors.as_slice()),
            _ => None,
        };
        let body = json_body(&Envelope {
            ok: false,
            status: self.status(),
            detail: &detail,
            errors,
            customer_profile: EmptyObject {},
            recent_orders: [],
            open_tickets: [],
            enriched_prompt_context: unavailable_text,
        });
        Reply::ok_json(body)
    }

    /// A stable label for logs and metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            EnrichError::MethodNotAllowed => "method_not_allowed",
            EnrichError::Unauthorized(_) => "unauthorized",
            EnrichError::UnsupportedMediaType => "unsupported_media_type",
            EnrichError::PayloadTooLarge { .. } => "payload_too_large",
            EnrichError::InvalidPayload(_) => "invalid_payload",
            EnrichError::Upstream {
                failure: ServiceFailure::RetriesExhausted { .. },
                ..
            } => "upstream_retries_exhausted",
            EnrichError::Upstream {
                failure: ServiceFailure::Unreachable,
                ..
            } => "upstream_unreachable",
            EnrichError::Upstream {
                failure: ServiceFailure::Malformed,
                ..
            } => "upstream_malformed",
            EnrichError::Upstream {
                failure: ServiceFailure::Status(_),
                ..
            } => "upstream_status",
            EnrichError::Token(TokenFailure::Rejected) => "token_rejected",
            EnrichError::Token(TokenFailure::Unavailable) => "token_unavailable",
            EnrichError::DeadlineExceeded { .. } => "deadline_exceeded",
            EnrichError::Internal => "internal",
            EnrichError::AnswerTooLarge => "answer_too_large",
        }
    }
}

fn upstream_message(service: Service, failure: ServiceFailure) -> String {
    match failure {
        ServiceFailure::Status(code) => format!("Internal service unavailable: {code}"),
        ServiceFailure::Unreachable => format!(
            "Internal service unavailable: {} unreachable",
            service.display_name()
        ),
        ServiceFailure::Malformed => format!(
            "Internal service unavailable: invalid response from {}",
            service.display_name()
        ),
        ServiceFailure::RetriesExhausted { attempts } => {
            let plural = if attempts == 1 { "attempt" } else { "attempts" };
            format!(
                "Failed to reach {} after {attempts} {plural}",
                service.display_name()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn detail(e: EnrichError) -> (u16, String) {
        let r = e.reply();
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(r.headers.first(), Some(&("content-type", JSON.to_owned())));
        (r.status, v["detail"].as_str().unwrap().to_owned())
    }

    #[test]
    fn statuses_and_messages() {
        assert_eq!(detail(EnrichError::MethodNotAllowed).0, 405);
        assert_eq!(
            detail(EnrichError::Unauthorized(AuthFailure::Missing)),
            (401, "Not authenticated".into())
        );
        assert_eq!(detail(EnrichError::UnsupportedMediaType).0, 415);
        assert_eq!(
            detail(EnrichError::PayloadTooLarge { limit: 65536 }),
            (413, "Request body exceeds 65536 bytes".into())
        );
        assert_eq!(
            detail(EnrichError::Upstream {
                service: Service::Profile,
                failure: ServiceFailure::Status(500)
            }),
            (502, "Internal service unavailable: 500".into())
        );
        assert_eq!(
            detail(EnrichError::Upstream {
                service: Service::Orders,
                failure: ServiceFailure::RetriesExhausted { attempts: 3 }
            }),
            (
                502,
                "Failed to reach orders service after 3 attempts".into()
            )
        );
        assert_eq!(
            detail(EnrichError::Upstream {
                service: Service::Tickets,
                failure: ServiceFailure::Unreachable
            })
            .0,
            502
        );
        assert_eq!(
            detail(EnrichError::Upstream {
                service: Service::Tickets,
                failure: ServiceFailure::Malformed
            })
            .0,
            502
        );
        assert_eq!(
            detail(EnrichError::Token(TokenFailure::Rejected)),
            (502, "OAuth client credentials invalid".into())
        );
        assert_eq!(detail(EnrichError::Token(TokenFailure::Unavailable)).0, 502);
        assert_eq!(
            detail(EnrichError::DeadlineExceeded { budget_ms: 4500 }),
            (504, "Context enrichment timed out after 4500 ms".into())
        );
        assert_eq!(
            detail(EnrichError::Internal),
            (500, "Context enrichment failed".into())
        );
    }

    #[test]
    fn auth_and_method_headers() {
        let r = EnrichError::Unauthorized(AuthFailure::Invalid).reply();
        assert!(r
            .headers
            .contains(&("www-authenticate", "Bearer".to_owned())));
        let r = EnrichError::MethodNotAllowed.reply();
        assert!(r.headers.contains(&("allow", "POST".to_owned())));
    }

    #[test]
    fn validation_body_shape() {
        let errors = vec![FieldError {
            loc: vec!["body".into(), "customerNumber".into()],
            msg: "Field required".into(),
            kind: "missing",
        }];
        let r = EnrichError::InvalidPayload(errors).reply();
        assert_eq!(r.status, 422);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"detail": "Invalid Cognigy payload structure",
                "errors": [{"loc": ["body", "customerNumber"], "msg": "Field required", "type": "missing"}]})
        );
    }
}
