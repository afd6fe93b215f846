//! The Cognigy HTTP Request node's payload and its validation.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::customer_pattern::CustomerPattern;
use crate::json_depth;
use crate::json_top::{Shape, TopLevel};

/// Longest `sessionId` / `intent` accepted. Cognigy session ids are UUID-sized; the bound keeps a
/// hostile caller from sending megabyte strings that would end up in logs or prompts.
pub const MAX_TEXT_CHARS: usize = 256;
pub const MAX_CUSTOMER_NUMBER_CHARS: usize = 20;

/// A validated enrich request. `variables` is checked to be an object (or absent) but not kept:
/// nothing reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrichRequest {
    pub session_id: String,
    pub customer_number: String,
    pub intent: String,
}

/// The members whose values are read: only these are parsed.
const READ: [&str; 3] = ["sessionId", "intent", "customerNumber"];

/// One problem with the payload, in the shape FastAPI/pydantic report them, which Cognigy flows
/// built against the original Python proxy already parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub loc: Vec<String>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

impl FieldError {
    /// A problem with `field` of the object at `root` (`body` for the enrich payload,
    /// `arguments` for the MCP tool's), or with that object itself.
    pub fn at(root: &str, field: Option<&str>, kind: &'static str, msg: impl Into<String>) -> Self {
        let mut loc = vec![root.to_owned()];
        if let Some(f) = field {
            loc.push(f.to_owned());
        }
        FieldError {
            loc,
            msg: msg.into(),
            kind,
        }
    }
}

fn problem(field: Option<&str>, kind: &'static str, msg: impl Into<String>) -> FieldError {
    FieldError::at("body", field, kind, msg)
}

/// Parses and validates a body, listing every problem found.
pub fn parse(
    body: &[u8],
    customer_pattern: &CustomerPattern,
    max_depth: usize,
) -> Result<EnrichRequest, Vec<FieldError>> {
    if !json_depth::within(body, max_depth) {
        return Err(vec![problem(
            None,
            "json_invalid",
            format!("JSON nested deeper than {max_depth} levels"),
        )]);
    }
    let top = TopLevel::<Shape>::read(body).map_err(|e| {
        let msg = if e.is_eof() && body.iter().all(u8::is_ascii_whitespace) {
            "Request body is empty; expected a JSON object".to_owned()
        } else if e.is_data() {
            // The only data error the top level raises: a key given twice.
            format!("Duplicate key at line {} column {}", e.line(), e.column())
        } else {
            format!("Invalid JSON at line {} column {}", e.line(), e.column())
        };
        vec![problem(None, "json_invalid", msg)]
    })?;
    let TopLevel::Object(members) = top else {
        return Err(vec![problem(
            None,
            "model_type",
            "Input should be a JSON object",
        )]);
    };
    // Only the fields read are kept, as the values the field checks (shared with the MCP tool's
    // arguments) take: a string, null, or anything else (refused as not a string).
    let mut obj = Map::new();
    let mut variables_ok = true;
    for (key, shape) in members {
        if key == "variables" {
            variables_ok = matches!(shape, Shape::Object | Shape::Null);
        } else if READ.contains(&key.as_str()) {
            let value = match shape {
                Shape::Text(s) => Value::String(s),
                Shape::Null => Value::Null,
                Shape::Object | Shape::Other => Value::Bool(false),
            };
            obj.insert(key, value);
        }
    }
    let mut errors = Vec::new();
    let session_id = text_field(&mut obj, "sessionId", &mut errors);
    let intent = text_field(&mut obj, "intent", &mut errors);
    let customer_number = customer_field(&mut obj, customer_pattern, &mut errors);
    if !variables_ok {
        errors.push(problem(
            Some("variables"),
            "dict_type",
            "Input should be a valid dictionary",
        ));
    }
    match (session_id, customer_number, intent) {
        (Some(session_id), Some(customer_number), Some(intent)) if errors.is_empty() => {
            Ok(EnrichRequest {
                session_id,
                customer_number,
                intent,
            })
        }
        _ => Err(errors),
    }
}

fn string_field(
    obj: &mut Map<String, Value>,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match obj.remove(name) {
        None | Some(Value::Null) => {
            errors.push(problem(Some(name), "missing", "Field required"));
            None
        }
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            errors.push(problem(
                Some(name),
                "string_type",
                "Input should be a valid string",
            ));
            None
        }
    }
}

pub(crate) fn text_field(
    obj: &mut Map<String, Value>,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let s = string_field(obj, name, errors)?;
    if s.trim().is_empty() {
        errors.push(problem(
            Some(name),
            "string_too_short",
            "String should not be empty",
        ));
        return None;
    }
    if s.chars().count() > MAX_TEXT_CHARS {
        errors.push(problem(
            Some(name),
            "string_too_long",
            format!("String should have at most {MAX_TEXT_CHARS} characters"),
        ));
        return None;
    }
    Some(s)
}

pub(crate) fn customer_field(
    obj: &mut Map<String, Value>,
    pattern: &CustomerPattern,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    const NAME: &str = "customerNumber";
    let s = string_field(obj, NAME, errors)?;
    let chars = s.chars().count();
    if chars == 0 {
        errors.push(problem(
            Some(NAME),
            "string_too_short",
            "String should have at least 1 character",
        ));
        return None;
    }
    if chars > MAX_CUSTOMER_NUMBER_CHARS {
        errors.push(problem(
            Some(NAME),
            "string_too_long",
            format!("String should have at most {MAX_CUSTOMER_NUMBER_CHARS} characters"),
        ));
        return None;
    }
    // `.` and `..` pass percent-encoding unchanged (dots are unreserved) and, as a whole path
    // segment, mean "this" / "parent" to any upstream that normalises paths (encoding them as
    // %2E does not help: RFC 3986 normalisation decodes it). Refused whatever the pattern says.
    if !pattern.is_match(&s) || s == "." || s == ".." {
        errors.push(problem(
            Some(NAME),
            "string_pattern_mismatch",
            "String should match the customer number pattern",
        ));
        return None;
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_CUSTOMER_PATTERN;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn pat() -> CustomerPattern {
        CustomerPattern::new(DEFAULT_CUSTOMER_PATTERN).unwrap()
    }

    fn errs(body: &str) -> Vec<(String, &'static str)> {
        parse(body.as_bytes(), &pat(), 32)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.loc.join("."), e.kind))
            .collect()
    }

    #[test]
    fn valid_payload_with_and_without_variables() {
        let r = parse(br#"{"sessionId":"s1","customerNumber":"CUST-992847","intent":"order_status","variables":{"a":1}}"#, &pat(), 32).unwrap();
        assert_eq!(r.customer_number, "CUST-992847");
        assert_eq!(
            (r.session_id.as_str(), r.intent.as_str()),
            ("s1", "order_status")
        );
        let r = parse(
            br#"{"sessionId":"s1","customerNumber":"a_b","intent":"x","extra":true}"#,
            &pat(),
            32,
        )
        .unwrap();
        assert_eq!(r.customer_number, "a_b");
        for variables in ["null", "{}", r#" { "k" : [1] } "#] {
            let body = format!(
                r#"{{"sessionId":"s","customerNumber":"C","intent":"x","variables":{variables}}}"#
            );
            assert!(parse(body.as_bytes(), &pat(), 32).is_ok(), "{variables}");
        }
        for variables in ["[]", "1", r#""{}""#, "true"] {
            let body = format!(
                r#"{{"sessionId":"s","customerNumber":"C","intent":"x","variables":{variables}}}"#
            );
            assert_eq!(
                errs(&body),
                vec![("body.variables".into(), "dict_type")],
                "{variables}"
            );
        }
    }

    #[test]
    fn every_problem_is_listed() {
        assert_eq!(
            errs(r#"{"variables": []}"#),
            vec![
                ("body.sessionId".into(), "missing"),
                ("body.intent".into(), "missing"),
                ("body.customerNumber".into(), "missing"),
                ("body.variables".into(), "dict_type"),
            ]
        );
    }

    #[test]
    fn session_and_intent_must_be_non_empty_strings() {
        assert_eq!(
            errs(r#"{"sessionId":"","customerNumber":"C1","intent":5}"#),
            vec![
                ("body.sessionId".into(), "string_too_short"),
                ("body.intent".into(), "string_type")
            ]
        );
        assert_eq!(
            errs(r#"{"sessionId":"  ","customerNumber":"C1","intent":"x"}"#),
            vec![("body.sessionId".into(), "string_too_short")]
        );
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(
            errs(&format!(
                r#"{{"sessionId":"{long}","customerNumber":"C1","intent":"x"}}"#
            )),
            vec![("body.sessionId".into(), "string_too_long")]
        );
    }

    #[test]
    fn customer_number_rules() {
        let check = |cn: &str| {
            errs(&format!(
                r#"{{"sessionId":"s","customerNumber":{cn},"intent":"x"}}"#
            ))
        };
        assert_eq!(
            check(r#""""#),
            vec![("body.customerNumber".into(), "string_too_short")]
        );
        assert_eq!(
            check(&format!(r#""{}""#, "A".repeat(21))),
            vec![("body.customerNumber".into(), "string_too_long")]
        );
        assert_eq!(
            check("123"),
            vec![("body.customerNumber".into(), "string_type")]
        );
        for bad in [
            "../etc",
            "a?b",
            "a&b",
            "a#b",
            "%2F",
            "a b",
            "a\\u0000b",
            "é",
            "a/b",
            "a\\nb",
        ] {
            assert_eq!(
                check(&format!(r#""{bad}""#)),
                vec![("body.customerNumber".into(), "string_pattern_mismatch")],
                "{bad}"
            );
        }
        assert!(parse(
            format!(
                r#"{{"sessionId":"s","customerNumber":"{}","intent":"x"}}"#,
                "A".repeat(20)
            )
            .as_bytes(),
            &pat(),
            32
        )
        .is_ok());
    }

    /// Under a permissive pattern the encoder is what keeps input out of the URL's structure; the
    /// two values it cannot neutralise, the dot segments, are refused outright.
    #[test]
    fn dot_segments_are_refused_whatever_the_pattern() {
        // The regex, and the byte-set fast path (a plain class).
        for pattern in [".+", "[.%/A-Za-z0-9]+"] {
            let any = CustomerPattern::new(pattern).unwrap();
            for cn in [".", ".."] {
                let body = format!(r#"{{"sessionId":"s","customerNumber":"{cn}","intent":"x"}}"#);
                let errors = parse(body.as_bytes(), &any, 32).unwrap_err();
                assert_eq!(errors.len(), 1, "{pattern} {cn}");
                assert_eq!(errors[0].kind, "string_pattern_mismatch", "{pattern} {cn}");
            }
            for cn in ["...", "../x", "a..", ".a", "%2E%2E"] {
                let body = format!(r#"{{"sessionId":"s","customerNumber":"{cn}","intent":"x"}}"#);
                assert!(parse(body.as_bytes(), &any, 32).is_ok(), "{pattern} {cn}");
            }
        }
    }

    #[test]
    fn duplicate_top_level_keys_are_refused() {
        for body in [
            r#"{"sessionId":"s","customerNumber":"A1","customerNumber":"B2","intent":"x"}"#,
            r#"{"sessionId":"s","customerNumber":"A1","intent":"x","intent":"x"}"#,
            r#"{"a":1,"a":1,"sessionId":"s","customerNumber":"A1","intent":"x"}"#,
        ] {
            let errors = parse(body.as_bytes(), &pat(), 32).unwrap_err();
            assert_eq!(errors.len(), 1, "{body}");
            assert_eq!(errors[0].kind, "json_invalid", "{body}");
            assert!(
                errors[0].msg.starts_with("Duplicate key at line 1"),
                "{body}"
            );
        }
        // Nested objects are the caller's own business (`variables` is passed on as it is).
        assert!(parse(
            br#"{"sessionId":"s","customerNumber":"A1","intent":"x","variables":{"k":1,"k":2}}"#,
            &pat(),
            32
        )
        .is_ok());
    }

    #[test]
    fn custom_pattern_applies() {
        let digits = CustomerPattern::new("^[0-9]+$").unwrap();
        assert!(parse(
            br#"{"sessionId":"s","customerNumber":"123","intent":"x"}"#,
            &digits,
            32
        )
        .is_ok());
        assert!(parse(
            br#"{"sessionId":"s","customerNumber":"A1","intent":"x"}"#,
            &digits,
            32
        )
        .is_err());
    }

    /// From e2e_malformed: a number beyond `f64` anywhere in the body, `variables` included, is
    /// invalid JSON as `serde_json::Value` reads it, though nothing keeps it.
    #[test]
    fn numbers_beyond_f64_are_invalid_anywhere() {
        for extra in [
            r#""variables":{"n":-1e400}"#,
            r#""x":[1e400]"#,
            r#""x":1e400"#,
        ] {
            let body = format!(r#"{{"sessionId":"s","customerNumber":"C","intent":"x",{extra}}}"#);
            assert_eq!(
                errs(&body),
                vec![("body".into(), "json_invalid")],
                "{extra}"
            );
        }
    }

    #[test]
    fn not_json_not_object_too_deep_empty() {
        assert_eq!(errs("{nope"), vec![("body".into(), "json_invalid")]);
        assert_eq!(errs(""), vec![("body".into(), "json_invalid")]);
        assert_eq!(errs("[1,2]"), vec![("body".into(), "model_type")]);
        assert_eq!(errs("null"), vec![("body".into(), "model_type")]);
        let deep = format!(
            r#"{{"sessionId":"s","customerNumber":"C","intent":"x","variables":{}{}}}"#,
            "[".repeat(40),
            "]".repeat(40)
        );
        assert_eq!(errs(&deep), vec![("body".into(), "json_invalid")]);
        assert_eq!(
            parse(b"\xff\xfe{}", &pat(), 32).unwrap_err()[0].kind,
            "json_invalid"
        );
    }
}
