//! A JSON object's members in document order, as the upstream wrote them: duplicates kept,
//! values as raw text, keys borrowed from the input unless they hold an escape. The privacy walk
//! and the `fields` allow-list rewrite records member by member and must leave every untouched
//! value byte for byte (serde_json's own map sorts keys and re-serializes values), and they run
//! on every record of every request: a borrowed key costs no allocation and is written back
//! as it came.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The members of one object.
pub struct Members<'a>(pub Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> Members<'a> {
    /// The members of `text`, which must be a JSON object.
    pub fn of(text: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// Appends `key` as a JSON string. A borrowed key had no escape in the input, and valid JSON
/// holds no raw control character, quote or backslash inside a string, so its text between
/// quotes is exactly what serde_json would write; an owned key is escaped anew.
// The `Cow` is the point (borrowed means "written as it came"), not a `&str` in disguise.
#[allow(clippy::ptr_arg)]
pub fn push_key(out: &mut String, key: &Cow<'_, str>) -> Result<(), serde_json::Error> {
    match key {
        Cow::Borrowed(k) => {
            out.push('"');
            out.push_str(k);
            out.push('"');
        }
        Cow::Owned(k) => out.push_str(&serde_json::to_string(k)?),
    }
    Ok(())
}

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(key) = map.next_key_seed(KeySeed)? {
                    let value: &'de RawValue = map.next_value()?;
                    members.push((key, value));
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(MembersVisitor)
    }
}

/// Writes the members of the object `text` whose key `keep` accepts, as `{"key":value,...}` in
/// document order with the values as they came, in one pass: no list of members is built and
/// a member not kept is skipped without being captured (the `fields` allow-list on every record
/// of every answer).
pub fn write_kept(
    text: &str,
    keep: impl Fn(&str) -> bool,
    out: &mut String,
) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let start = out.len();
    let written = KeptSeed { keep, out }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if written.is_err() {
        out.truncate(start);
    }
    written
}

struct KeptSeed<'o, F> {
    keep: F,
    out: &'o mut String,
}

impl<'de, F: Fn(&str) -> bool> DeserializeSeed<'de> for KeptSeed<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: Fn(&str) -> bool> Visitor<'de> for KeptSeed<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.out.push('{');
        let mut first = true;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if !(self.keep)(&key) {
                map.next_value::<serde::de::IgnoredAny>()?;
                continue;
            }
            let value: &'de RawValue = map.next_value()?;
            if !first {
                self.out.push(',');
            }
            first = false;
            push_key(self.out, &key).map_err(serde::de::Error::custom)?;
            self.out.push(':');
            self.out.push_str(value.get());
        }
        self.out.push('}');
        Ok(())
    }
}

/// A key, borrowed when serde_json can hand out the input's own text.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn rewrite(text: &str) -> String {
        let Members(members) = Members::of(text).unwrap();
        let mut out = String::from("{");
        for (i, (key, value)) in members.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_key(&mut out, key).unwrap();
            out.push(':');
            out.push_str(value.get());
        }
        out.push('}');
        out
    }

    #[test]
    fn keys_without_escapes_are_borrowed_and_written_back_as_they_came() {
        let text = r#"{"b":1,"a":[1.50, 2],"b":"x","é\u2028":null}"#;
        let Members(members) = Members::of(text).unwrap();
        let keys: Vec<(&str, bool)> = members
            .iter()
            .map(|(k, _)| (k.as_ref(), matches!(k, Cow::Borrowed(_))))
            .collect();
        assert_eq!(
            keys,
            [("b", true), ("a", true), ("b", true), ("é\u{2028}", false)]
        );
        assert_eq!(
            rewrite(r#"{"b":1,"a":[1.50, 2],"b":"x","é":null}"#),
            r#"{"b":1,"a":[1.50, 2],"b":"x","é":null}"#
        );
    }

    #[test]
    fn escaped_keys_are_decoded_and_escaped_anew() {
        let text = r#"{"a\"b":1,"\u00e9":2,"tab\t":3}"#;
        assert_eq!(rewrite(text), r#"{"a\"b":1,"é":2,"tab\t":3}"#);
        // Whatever the input, the rewrite is JSON with the same members.
        let back: serde_json::Value = serde_json::from_str(&rewrite(text)).unwrap();
        let orig: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(back, orig);
    }

    #[test]
    fn kept_members_are_written_as_they_came_in_one_pass() {
        let text = r#"{"b":1,"a":[1.50, {"x":2}],"b":"x","\u00e9":null,"c":{"d":1}}"#;
        let mut out = String::from("prefix ");
        write_kept(text, |k| k == "b" || k == "é", &mut out).unwrap();
        assert_eq!(out, r#"prefix {"b":1,"b":"x","é":null}"#);
        let mut none = String::new();
        write_kept(text, |_| false, &mut none).unwrap();
        assert_eq!(none, "{}");
        // Not an object, or not JSON: an error, and nothing written.
        for bad in ["[1]", "7", r#"{"a":1"#, r#"{"a":1} x"#] {
            let mut out = String::from("kept");
            assert!(write_kept(bad, |_| true, &mut out).is_err(), "{bad}");
            assert_eq!(out, "kept", "{bad}");
        }
    }

    #[test]
    fn only_objects_have_members() {
        for text in ["[1]", "7", r#""s""#, "null", "{", r#"{"a"}"#] {
            assert!(Members::of(text).is_err(), "{text}");
        }
    }
}
