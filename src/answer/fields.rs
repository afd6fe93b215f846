//! `services.<service>.fields`: the top-level keys kept from the profile and from each list item
//! (an allow-list). Only the top level is looked at: a kept key keeps its whole value.

use crate::json_members::write_kept;

/// A validated allow-list: at least one name, none twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldList {
    names: Vec<String>,
}

impl FieldList {
    /// Checks the configured list; the error is the reason, for the caller to name the field.
    pub fn new(names: Vec<String>) -> Result<Self, String> {
        if names.is_empty() {
            return Err("must list at least one key (leave it out to keep every key)".to_owned());
        }
        for (i, name) in names.iter().enumerate() {
            if name.is_empty() {
                return Err("a key name must not be empty".to_owned());
            }
            if names.iter().take(i).any(|earlier| earlier == name) {
                return Err(format!("{name:?} is listed twice"));
            }
        }
        Ok(FieldList { names })
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    fn keeps(&self, key: &str) -> bool {
        self.names.iter().any(|n| n == key)
    }

    /// The JSON text of `record` with only the allow-listed members, in the upstream's order. A
    /// record that is not a JSON object has no keys to keep and becomes `{}`: passing it on
    /// whole would let through what the allow-list is there to keep out.
    pub fn select(&self, record: &str) -> String {
        let mut out = String::with_capacity(record.len().min(4096));
        if write_kept(record, |k| self.keeps(k), &mut out).is_err() {
            return "{}".to_owned();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn list(names: &[&str]) -> FieldList {
        FieldList::new(names.iter().map(|s| (*s).to_owned()).collect()).unwrap()
    }

    #[test]
    fn keeps_listed_keys_in_upstream_order_with_values_verbatim() {
        let l = list(&["segment", "fullName", "absent"]);
        assert_eq!(
            l.select(r#"{"fullName" : "E", "email":"e@x", "segment":{"a":[1, 2]},"n":1e400}"#),
            r#"{"fullName":"E","segment":{"a":[1, 2]}}"#
        );
    }

    #[test]
    fn escaped_keys_match_and_are_written_escaped() {
        let l = list(&["a\"b", "é"]);
        assert_eq!(
            l.select(r#"{"a\"b":1,"\u00e9":2,"x":3}"#),
            r#"{"a\"b":1,"é":2}"#
        );
    }

    #[test]
    fn a_record_that_is_not_an_object_keeps_nothing() {
        let l = list(&["a"]);
        for record in ["7", r#""secret""#, "[1,2]", "null", "{}"] {
            assert_eq!(l.select(record), "{}", "{record}");
        }
        assert_eq!(l.select(r#"{"b":1}"#), "{}");
    }

    #[test]
    fn empty_or_duplicated_lists_are_refused() {
        assert!(FieldList::new(Vec::new())
            .unwrap_err()
            .contains("at least one"));
        assert!(FieldList::new(vec!["a".into(), "b".into(), "a".into()])
            .unwrap_err()
            .contains("\"a\" is listed twice"));
        assert!(FieldList::new(vec![String::new()])
            .unwrap_err()
            .contains("empty"));
    }
}
