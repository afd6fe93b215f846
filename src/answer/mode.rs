//! `answerMode`: how the enrich route writes its answers. Only the enrich route's front door uses
//! it; another front door (the MCP route) writes the same answer without it.

use serde::Deserialize;

use crate::error::{EnrichError, Reply};

/// Header that carries the status an `always200` answer stands for.
pub const STATUS_HEADER: &str = "x-enrich-status";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AnswerMode {
    /// Errors are HTTP errors (4xx/5xx with `{"detail": ...}`).
    #[default]
    Status,
    /// Every answer is a 200 with `"ok"`; a failure is the envelope of
    /// [`EnrichError::always200_reply`], so a Cognigy flow never stops on an HTTP error.
    Always200,
}

impl AnswerMode {
    /// Members written before the answer's own keys of a successful answer.
    pub fn success_lead(self) -> &'static str {
        match self {
            AnswerMode::Status => "",
            AnswerMode::Always200 => "\"ok\":true,",
        }
    }

    /// The reply for a failed request; `unavailable_text` is the envelope's prompt.
    pub fn error_reply(self, error: &EnrichError, unavailable_text: &str) -> Reply {
        match self {
            AnswerMode::Status => error.reply(),
            AnswerMode::Always200 => error.always200_reply(unavailable_text),
        }
    }

    /// Adds what the mode puts on every answer: with `always200`, the status the answer stands
    /// for (the metrics, the log line and the access-log outcome keep the real outcome anyway).
    pub fn mark(self, reply: &mut Reply, real_status: u16) {
        if self == AnswerMode::Always200 {
            reply.headers.push((STATUS_HEADER, real_status.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AuthFailure;
    use crate::error::{ServiceFailure, JSON};
    use crate::payload::FieldError;
    use crate::service::Service;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const UNAVAILABLE: &str = "Customer context is unavailable.";

    #[test]
    fn status_mode_is_the_plain_error() {
        let e = EnrichError::Unauthorized(AuthFailure::Missing);
        assert_eq!(AnswerMode::Status.error_reply(&e, UNAVAILABLE), e.reply());
        assert_eq!(AnswerMode::Status.success_lead(), "");
        let mut r = e.reply();
        AnswerMode::Status.mark(&mut r, 401);
        assert_eq!(r, e.reply());
    }

    #[test]
    fn always200_failure_is_the_exact_envelope() {
        let e = EnrichError::Upstream {
            service: Service::Profile,
            failure: ServiceFailure::Status(503),
        };
        let mut r = AnswerMode::Always200.error_reply(&e, UNAVAILABLE);
        AnswerMode::Always200.mark(&mut r, e.status());
        assert_eq!(r.status, 200);
        assert_eq!(
            r.body,
            r#"{"ok":false,"status":502,"detail":"Internal service unavailable: 503","customerProfile":{},"recentOrders":[],"openTickets":[],"enrichedPromptContext":"Customer context is unavailable."}"#
        );
        assert!(r.headers.contains(&("content-type", JSON.to_owned())));
        assert!(r
            .headers
            .contains(&("cache-control", "no-store".to_owned())));
        assert!(r.headers.contains(&(STATUS_HEADER, "502".to_owned())));
    }

    #[test]
    fn always200_validation_failure_lists_the_errors() {
        let e = EnrichError::InvalidPayload(vec![FieldError {
            loc: vec!["body".into(), "intent".into()],
            msg: "Field required".into(),
            kind: "missing",
        }]);
        let r = AnswerMode::Always200.error_reply(&e, "none \"quoted\"");
        assert_eq!(
            r.body,
            r#"{"ok":false,"status":422,"detail":"Invalid Cognigy payload structure","errors":[{"loc":["body","intent"],"msg":"Field required","type":"missing"}],"customerProfile":{},"recentOrders":[],"openTickets":[],"enrichedPromptContext":"none \"quoted\""}"#
        );
    }

    #[test]
    fn always200_drops_the_headers_of_http_errors() {
        for e in [
            EnrichError::Unauthorized(AuthFailure::Invalid),
            EnrichError::MethodNotAllowed,
        ] {
            let r = AnswerMode::Always200.error_reply(&e, UNAVAILABLE);
            assert_eq!(r.status, 200);
            assert!(
                r.headers
                    .iter()
                    .all(|(k, _)| *k != "www-authenticate" && *k != "allow"),
                "{:?}",
                r.headers
            );
        }
    }
}
