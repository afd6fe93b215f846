//! Reading the token endpoint's answer as real servers send it (RFC 6749 5.1): `expires_in` is
//! only RECOMMENDED and some servers send it as a string; `token_type` is case-insensitive.

use serde::Deserialize;

use crate::callout::CallReply;
use crate::error::TokenFailure;

/// Longest lifetime believed: a server claiming more still gets its token renewed daily.
pub const MAX_LIFETIME_MS: u64 = 24 * 3600 * 1000;

/// A usable token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub access_token: String,
    pub lifetime_ms: u64,
    /// What the reply lacked or overstated, for one log line each.
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// No `expires_in`: the configured default lifetime applies.
    NoExpiresIn,
    /// No `token_type`: taken as Bearer.
    NoTokenType,
    /// `expires_in` over 24 h, cut to 24 h.
    Clamped,
}

/// Why a reply gives no token. Carries nothing from the reply but a sanitised token type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 400/401/403: the client credentials were refused.
    Rejected(u16),
    /// Another status, or no HTTP answer.
    Status(Option<u16>),
    NotJson,
    NoAccessToken,
    /// `expires_in` is zero, negative, fractional or not a number.
    BadExpiresIn,
    /// `token_type` is not Bearer (`mac`, `DPoP`, ...): sending it as a Bearer would not work.
    UnsupportedType(String),
}

impl Refusal {
    pub fn kind(&self) -> TokenFailure {
        match self {
            Refusal::Rejected(_) => TokenFailure::Rejected,
            _ => TokenFailure::Unavailable,
        }
    }
}

#[derive(Deserialize)]
struct Body {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    token_type: Option<serde_json::Value>,
}

/// Seconds from a JSON number or numeric string; `None` for anything but a positive whole number.
fn whole_seconds(v: &serde_json::Value) -> Option<u64> {
    let secs = match v {
        serde_json::Value::Number(n) => match n.as_u64() {
            Some(s) => s,
            // `3600.0` is a whole number written as a float; `3600.5` and `-1` are not.
            None => {
                let f = n.as_f64().filter(|f| *f >= 1.0 && f.fract() == 0.0)?;
                if f >= u64::MAX as f64 {
                    u64::MAX
                } else {
                    f as u64
                }
            }
        },
        serde_json::Value::String(s) => {
            let s = s.trim();
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // All digits: only an overflow fails, and that is "very long".
            s.parse().unwrap_or(u64::MAX)
        }
        _ => return None,
    };
    (secs > 0).then_some(secs)
}

/// A short, printable form of a server-chosen value for a log line.
fn printable(v: &serde_json::Value) -> String {
    let raw = match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    raw.chars()
        .take(32)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

/// The token and its lifetime, or why there is none. `default_lifetime_ms` applies when the
/// reply has no `expires_in` (or `null`).
pub fn parse(reply: &CallReply, default_lifetime_ms: u64) -> Result<Issued, Refusal> {
    match reply.status {
        Some(200..=299) => {}
        Some(code @ (400 | 401 | 403)) => return Err(Refusal::Rejected(code)),
        other => return Err(Refusal::Status(other)),
    }
    let body: Body = serde_json::from_slice(&reply.body).map_err(|_| Refusal::NotJson)?;
    let access_token = body
        .access_token
        .filter(|t| !t.is_empty() && !t.chars().any(char::is_control))
        .ok_or(Refusal::NoAccessToken)?;
    let mut notes = Vec::new();
    match &body.token_type {
        None | Some(serde_json::Value::Null) => notes.push(Note::NoTokenType),
        Some(serde_json::Value::String(t)) if t.eq_ignore_ascii_case("bearer") => {}
        Some(other) => return Err(Refusal::UnsupportedType(printable(other))),
    }
    let lifetime_ms = match &body.expires_in {
        None | Some(serde_json::Value::Null) => {
            notes.push(Note::NoExpiresIn);
            default_lifetime_ms
        }
        Some(v) => {
            let ms = whole_seconds(v)
                .ok_or(Refusal::BadExpiresIn)?
                .saturating_mul(1000);
            if ms > MAX_LIFETIME_MS {
                notes.push(Note::Clamped);
            }
            ms
        }
    };
    Ok(Issued {
        access_token,
        lifetime_ms: lifetime_ms.min(MAX_LIFETIME_MS),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn reply(body: &str) -> CallReply {
        CallReply {
            status: Some(200),
            body: body.as_bytes().to_vec(),
            body_size: body.len(),
            retry_after: None,
        }
    }

    fn life(body: &str) -> Result<u64, Refusal> {
        parse(&reply(body), 300_000).map(|i| i.lifetime_ms)
    }

    #[test]
    fn lifetimes_as_servers_send_them() {
        let t = r#""access_token":"A","token_type":"Bearer""#;
        assert_eq!(
            life(&format!(r#"{{{t},"expires_in":3600}}"#)),
            Ok(3_600_000)
        );
        assert_eq!(life(&format!(r#"{{{t},"expires_in":"120"}}"#)), Ok(120_000));
        assert_eq!(life(&format!(r#"{{{t},"expires_in":" 60 "}}"#)), Ok(60_000));
        assert_eq!(life(&format!(r#"{{{t},"expires_in":60.0}}"#)), Ok(60_000));
        assert_eq!(
            life(&format!("{{{t}}}")),
            Ok(300_000),
            "absent: the default"
        );
        assert_eq!(life(&format!(r#"{{{t},"expires_in":null}}"#)), Ok(300_000));
        assert_eq!(
            life(&format!(r#"{{{t},"expires_in":31536000}}"#)),
            Ok(MAX_LIFETIME_MS),
            "a year is cut to a day"
        );
        assert_eq!(
            life(&format!(
                r#"{{{t},"expires_in":"99999999999999999999999"}}"#
            )),
            Ok(MAX_LIFETIME_MS)
        );
        assert_eq!(
            life(&format!(r#"{{{t},"expires_in":1e30}}"#)),
            Ok(MAX_LIFETIME_MS)
        );
    }

    #[test]
    fn unusable_lifetimes_are_refused() {
        let t = r#""access_token":"A","token_type":"Bearer""#;
        for bad in [
            "0",
            "-1",
            "3600.5",
            "0.5",
            r#""0""#,
            r#""-5""#,
            r#""12.5""#,
            r#""soon""#,
            r#""""#,
            "true",
            "[60]",
            "{}",
        ] {
            assert_eq!(
                life(&format!(r#"{{{t},"expires_in":{bad}}}"#)),
                Err(Refusal::BadExpiresIn),
                "{bad}"
            );
        }
    }

    #[test]
    fn token_types() {
        for ok in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let r = parse(
                &reply(&format!(
                    r#"{{"access_token":"A","token_type":"{ok}","expires_in":60}}"#
                )),
                1,
            )
            .unwrap();
            assert!(r.notes.is_empty(), "{ok}");
        }
        let r = parse(&reply(r#"{"access_token":"A","expires_in":60}"#), 1).unwrap();
        assert_eq!(r.notes, vec![Note::NoTokenType]);
        let r = parse(&reply(r#"{"access_token":"A"}"#), 1).unwrap();
        assert_eq!(r.notes, vec![Note::NoTokenType, Note::NoExpiresIn]);
        for (bad, shown) in [
            (r#""mac""#, "mac"),
            (r#""DPoP""#, "DPoP"),
            (r#""Bearer ""#, "Bearer?"),
            ("7", "7"),
            (r#""a\nb""#, "a?b"),
        ] {
            let body = format!(r#"{{"access_token":"A","token_type":{bad},"expires_in":60}}"#);
            assert_eq!(
                parse(&reply(&body), 1),
                Err(Refusal::UnsupportedType(shown.to_owned())),
                "{bad}"
            );
        }
    }

    #[test]
    fn statuses_and_bodies() {
        let status = |s: Option<u16>| CallReply {
            status: s,
            ..CallReply::default()
        };
        assert_eq!(parse(&status(Some(401)), 1), Err(Refusal::Rejected(401)));
        assert_eq!(Refusal::Rejected(400).kind(), TokenFailure::Rejected);
        assert_eq!(
            parse(&status(Some(503)), 1),
            Err(Refusal::Status(Some(503)))
        );
        assert_eq!(parse(&status(None), 1), Err(Refusal::Status(None)));
        assert_eq!(Refusal::Status(None).kind(), TokenFailure::Unavailable);
        assert_eq!(parse(&reply("<html>"), 1), Err(Refusal::NotJson));
        assert_eq!(
            parse(&reply(r#"{"expires_in":60}"#), 1),
            Err(Refusal::NoAccessToken)
        );
        assert_eq!(
            parse(&reply(r#"{"access_token":"a\u0000b"}"#), 1),
            Err(Refusal::NoAccessToken)
        );
        assert_eq!(Refusal::BadExpiresIn.kind(), TokenFailure::Unavailable);
    }
}
