//! Envoy's own answer to a callout that never reached a service, told apart from a service's
//! answer.
//!
//! When a callout cannot get an HTTP answer from the cluster (connect refused, TLS handshake
//! refused, connection reset, the call's timeout, a circuit breaker, no healthy host), Envoy's
//! router does not report a failure to the filter: it makes up a reply itself, a 503 or a 504
//! with a plain-text body, and proxy-wasm delivers that like any other. Read as a status, a
//! refused connection looks like a service that answered 503. The bodies are fixed strings in
//! Envoy's router (`upstream connect error or disconnect/reset before headers. reset reason: ...`,
//! `upstream request timeout`, `no healthy upstream`), and its response flags (UF, UC, UT, UO,
//! UH, ...) are not visible to a callout, so the status and the start of the body are what is
//! checked here. The README's troubleshooting table lists the same prefixes.
//!
//! Seen in Envoy 1.40 (tests/e2e_unreachable.rs): a local reply to a callout carries only
//! `content-type: text/plain` and `content-length` (plus `x-envoy-overloaded: true` for an
//! overflow), while every answer that came from the service carries `date` and
//! `x-envoy-upstream-service-time`, which this Envoy's router adds. No header names the flag.

/// Which of Envoy's local replies a callout got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalReply {
    /// 503 `upstream connect error or disconnect/reset before headers. reset reason: ...`: the
    /// connection was refused, its TLS handshake failed, it was reset or closed before an answer
    /// (flags UF, UC, UR, LR, ...).
    ConnectOrReset,
    /// The same 503 with `reset reason: overflow`: a circuit breaker of the cluster (UO).
    Overflow,
    /// 504 `upstream request timeout`: the call's own timeout fired (UT).
    Timeout,
    /// 503 `no healthy upstream`: every host is ejected or unhealthy (UH).
    NoHealthyUpstream,
}

/// Body prefixes of Envoy's local replies, with the status each comes with.
const CONNECT_OR_RESET: &str = "upstream connect error or disconnect/reset before headers";
const OVERFLOW_REASON: &str = "reset reason: overflow";
const TIMEOUT: &str = "upstream request timeout";
const NO_HEALTHY_UPSTREAM: &str = "no healthy upstream";

/// Envoy's local reply `status` / `body` is, if it is one. A service that answers 503 or 504 with
/// a body of its own (JSON, HTML, empty) is not one.
pub fn classify(status: u16, body: &[u8]) -> Option<LocalReply> {
    let starts = |prefix: &str| body.starts_with(prefix.as_bytes());
    match status {
        503 if starts(CONNECT_OR_RESET) => {
            let overflow = body
                .windows(OVERFLOW_REASON.len())
                .any(|w| w == OVERFLOW_REASON.as_bytes());
            Some(if overflow {
                LocalReply::Overflow
            } else {
                LocalReply::ConnectOrReset
            })
        }
        503 if starts(NO_HEALTHY_UPSTREAM) => Some(LocalReply::NoHealthyUpstream),
        504 if starts(TIMEOUT) => Some(LocalReply::Timeout),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn envoy_local_replies_are_recognised() {
        let cases: [(u16, &str, LocalReply); 6] = [
            (
                503,
                "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused",
                LocalReply::ConnectOrReset,
            ),
            (
                503,
                "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end",
                LocalReply::ConnectOrReset,
            ),
            (
                503,
                "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
                LocalReply::ConnectOrReset,
            ),
            (
                503,
                "upstream connect error or disconnect/reset before headers. reset reason: overflow",
                LocalReply::Overflow,
            ),
            (504, "upstream request timeout", LocalReply::Timeout),
            (503, "no healthy upstream", LocalReply::NoHealthyUpstream),
        ];
        for (status, body, kind) in cases {
            assert_eq!(classify(status, body.as_bytes()), Some(kind), "{body}");
        }
    }

    #[test]
    fn a_service_answer_is_not_a_local_reply() {
        // A service's own 503 / 504, whatever its body.
        assert_eq!(classify(503, br#"{"error":"maintenance"}"#), None);
        assert_eq!(classify(503, b""), None);
        assert_eq!(classify(504, b"<html>Gateway Timeout</html>"), None);
        // Envoy's wording, but with a status Envoy never pairs it with.
        assert_eq!(classify(500, b"upstream request timeout"), None);
        assert_eq!(classify(504, b"no healthy upstream"), None);
        assert_eq!(
            classify(
                502,
                b"upstream connect error or disconnect/reset before headers"
            ),
            None
        );
        // The wording somewhere inside a service's body is still the service's answer.
        assert_eq!(
            classify(503, br#"{"detail":"upstream request timeout"}"#),
            None
        );
    }
}
