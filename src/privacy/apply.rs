//! The walk over one record (the profile, or one list item): drops and masks by key, scans the
//! other strings. The record stays the upstream's JSON text: serde_json splits each object and
//! array into its members as raw text, and only what a rule touches is written anew, so key
//! order, number formatting and every unmatched value come out byte for byte as they came in.

use std::fmt;

use serde_json::value::RawValue;

use super::{mask, scan, PrivacySettings};
use crate::json_members::{push_key, Members};

/// A record that could not be rewritten. Only reachable with text that is not JSON, which the
/// reply parser has already refused; the caller fails closed on it (nothing is answered).
#[derive(Debug)]
pub struct RedactError(serde_json::Error);

impl fmt::Display for RedactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record could not be redacted: {}", self.0)
    }
}

impl std::error::Error for RedactError {}

impl From<serde_json::Error> for RedactError {
    fn from(e: serde_json::Error) -> Self {
        RedactError(e)
    }
}

/// How a value is treated: as found, or inside a value whose key is masked.
#[derive(Clone, Copy)]
enum Mode {
    Scan,
    Masked { phone_key: bool },
}

/// `record` with the rules applied, or `None` when no rule changed anything (the caller keeps
/// the original).
pub fn redact(
    record: &RawValue,
    rules: &PrivacySettings,
) -> Result<Option<Box<RawValue>>, RedactError> {
    // Re-checked as JSON: whatever the walk wrote, nothing invalid leaves.
    match redact_text(record.get(), rules)? {
        Some(out) => Ok(Some(RawValue::from_string(out)?)),
        None => Ok(None),
    }
}

/// The JSON text of [`redact`], not yet re-checked: for a caller that parses it anyway.
/// `record` is JSON text its caller has checked (a reply's record, or a `RawValue`'s text).
pub fn redact_text(record: &str, rules: &PrivacySettings) -> Result<Option<String>, RedactError> {
    if !could_change(record, rules) {
        return Ok(None);
    }
    redact_walk(record, rules)
}

/// [`redact_text`] without the look at the bytes first (the fuzz target compares the two).
pub fn redact_walk(record: &str, rules: &PrivacySettings) -> Result<Option<String>, RedactError> {
    let mut out = String::with_capacity(record.len() + 16);
    let mut changed = false;
    walk(record, rules, Mode::Scan, &mut out, &mut changed)?;
    Ok(changed.then_some(out))
}

/// Whether any rule could change `json`, from its bytes, without parsing it: most list items
/// hold no key of the rules and nothing a scanner looks for. Answers `true` whenever it cannot
/// be sure: with an escape in the text (`\u0040` is an '@'), a rule key that is not ASCII, or a
/// character outside ASCII that lowercases to ASCII (the Kelvin sign is a `k`).
pub fn could_change(json: &str, rules: &PrivacySettings) -> bool {
    let keys = || rules.drop_fields.iter().chain(&rules.mask_fields);
    if json.contains('\\')
        || keys().any(|k| !k.is_ascii() || k.contains('"'))
        || (!json.is_ascii()
            && json
                .chars()
                .any(|c| !c.is_ascii() && c.to_lowercase().all(|l| l.is_ascii())))
    {
        return true;
    }
    if rules.mask_patterns && scan::might_match(json) {
        return true;
    }
    // A rule key can only match the text between two consecutive quotes (no key holds one):
    // one pass over the quotes. Bit n of `lengths`: some key is n bytes long (bit 63: 63 or
    // longer), so most segments are passed over on their length alone.
    let lengths = keys().fold(0u64, |m, k| m | 1 << k.len().min(63));
    let bytes = json.as_bytes();
    let mut open: Option<usize> = None;
    for (i, &b) in bytes.iter().enumerate() {
        if b != b'"' {
            continue;
        }
        if let Some(o) = open {
            let len = i - o - 1;
            if lengths & (1 << len.min(63)) != 0 {
                if let Some(segment) = bytes.get(o + 1..i) {
                    if keys().any(|k| segment.eq_ignore_ascii_case(k.as_bytes())) {
                        return true;
                    }
                }
            }
        }
        open = Some(i);
    }
    false
}

/// A JSON string's text: borrowed when it has no escape (valid JSON holds no raw control
/// character, so the text between the quotes is the value), decoded otherwise.
fn unescape(text: &str) -> Result<std::borrow::Cow<'_, str>, RedactError> {
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) if !inner.contains('\\') => Ok(inner.into()),
        _ => Ok(serde_json::from_str::<String>(text)?.into()),
    }
}

/// `key` lowercased as the rules' keys are (`str::to_lowercase`), into `scratch` for an ASCII
/// key so the walk allocates nothing per member.
fn lowercase<'k>(key: &'k str, scratch: &'k mut String) -> std::borrow::Cow<'k, str> {
    if key.is_ascii() {
        if !key.bytes().any(|b| b.is_ascii_uppercase()) {
            return key.into();
        }
        scratch.clear();
        scratch.push_str(key);
        scratch.make_ascii_lowercase();
        return scratch.as_str().into();
    }
    if key.chars().any(char::is_uppercase) {
        key.to_lowercase().into()
    } else {
        key.into()
    }
}

fn walk(
    text: &str,
    rules: &PrivacySettings,
    mode: Mode,
    out: &mut String,
    changed: &mut bool,
) -> Result<(), RedactError> {
    match text.as_bytes().first() {
        Some(b'{') => {
            let Members(members) = Members::of(text)?;
            let start = out.len();
            out.push('{');
            let mut first = true;
            let mut here = false;
            let mut scratch = String::new();
            for (key, value) in &members {
                let lower = lowercase(key, &mut scratch);
                if rules.drop_fields.iter().any(|k| *k == lower) {
                    here = true;
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                push_key(out, key)?;
                out.push(':');
                let child = if rules.mask_fields.iter().any(|k| *k == lower) {
                    Mode::Masked {
                        phone_key: mask::is_phone_key(&lower),
                    }
                } else if let Mode::Masked { phone_key: above } = mode {
                    Mode::Masked {
                        phone_key: above || mask::is_phone_key(&lower),
                    }
                } else {
                    Mode::Scan
                };
                walk(value.get(), rules, child, out, &mut here)?;
            }
            out.push('}');
            if here {
                *changed = true;
            } else {
                // Nothing below changed: keep the object exactly as it came.
                out.truncate(start);
                out.push_str(text);
            }
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text)?;
            let start = out.len();
            out.push('[');
            let mut here = false;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                walk(item.get(), rules, mode, out, &mut here)?;
            }
            out.push(']');
            if here {
                *changed = true;
            } else {
                out.truncate(start);
                out.push_str(text);
            }
        }
        Some(b'"') => {
            let masked = match mode {
                Mode::Masked { phone_key } => {
                    let s = unescape(text)?;
                    Some(mask::value(&s, phone_key)).filter(|m| *m != s)
                }
                Mode::Scan if rules.mask_patterns => scan::mask_text(&unescape(text)?),
                Mode::Scan => None,
            };
            match masked {
                Some(m) => {
                    out.push_str(&serde_json::to_string(&m)?);
                    *changed = true;
                }
                None => out.push_str(text),
            }
        }
        Some(b'-' | b'0'..=b'9') => match mode {
            // A number under a masked key becomes a masked string of its digits as written.
            Mode::Masked { phone_key } => {
                out.push_str(&serde_json::to_string(&mask::value(text, phone_key))?);
                *changed = true;
            }
            Mode::Scan => out.push_str(text),
        },
        // true, false, null: nothing to hide.
        _ => out.push_str(text),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn run(rules: &PrivacySettings, json: &str) -> String {
        let raw: Box<RawValue> = serde_json::from_str(json).unwrap();
        match redact(&raw, rules).unwrap() {
            Some(r) => r.get().to_owned(),
            None => json.to_owned(),
        }
    }

    #[test]
    fn untouched_records_stay_byte_for_byte() {
        let rules = PrivacySettings::default();
        let json = r#"{"z":1,"a":[1.50,1e400,{"k":"v"}],"n":null,"b":true,"d":"x","d":"y"}"#;
        let raw: Box<RawValue> = serde_json::from_str(json).unwrap();
        assert!(redact(&raw, &rules).unwrap().is_none());
    }

    #[test]
    fn drop_mask_and_scan() {
        let rules = PrivacySettings {
            drop_fields: vec!["ssn".into()],
            mask_fields: vec!["email".into(), "phone".into(), "contact".into()],
            mask_patterns: true,
        };
        assert_eq!(
            run(
                &rules,
                r#"{"SSN":"123-45-6789","Email":"elena@example.com","total":1e400,"contact":{"home":"+49 30 1234567","n":4930123},"note":"card 4111 1111 1111 1111","list":[{"ssn":1},{"phone":4930555012}]}"#
            ),
            r#"{"Email":"e***@example.com","total":1e400,"contact":{"home":"+** ** *****67","n":"*******"},"note":"card **** **** **** 1111","list":[{},{"phone":"********12"}]}"#
        );
    }

    #[test]
    fn the_byte_prefilter_only_skips_what_cannot_change() {
        let rules = PrivacySettings::default();
        for json in [
            r#"{"orderNumber":"ORD-2024-88412","createdAt":"2024-11-02T10:15:00Z"}"#,
            r#"{"note":"emails are welcome","n":[1,2]}"#,
        ] {
            assert!(!could_change(json, &rules), "{json}");
        }
        for json in [
            r#"{"EMAIL":"x"}"#,
            r#"{"n":"a@b.co"}"#,
            r#"{"n":"4111 1111 1111 1111"}"#,
            r#"{"n":"NO9386011117947"}"#,
            r#"{"em\u0061il":"x"}"#,
            "{\"\u{212A}\":1}",
        ] {
            assert!(could_change(json, &rules), "{json}");
        }
        let kelvin = PrivacySettings {
            drop_fields: vec!["k".into()],
            mask_fields: Vec::new(),
            mask_patterns: false,
        };
        assert_eq!(run(&kelvin, "{\"\u{212A}\":1,\"j\":2}"), r#"{"j":2}"#);
    }

    #[test]
    fn booleans_and_null_under_masked_keys_stay() {
        let rules = PrivacySettings::default();
        assert_eq!(
            run(&rules, r#"{"email":null,"phone":false}"#),
            r#"{"email":null,"phone":false}"#
        );
    }
}
