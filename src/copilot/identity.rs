//! `identity`: label -> value rows for a Copilot Identity Tile, in the configured order.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;

use super::config::IdentityRow;
use super::text::scalar;

/// The rows that have a value, in configured order. A JSON object with its keys in this order
/// (a map type would sort them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub rows: Vec<(String, String)>,
}

impl Identity {
    /// One row per configured `(label, key)` whose profile value is a non-empty scalar; values
    /// are passed on exactly (the Identity Tile shows them as text, not markup).
    pub fn build(rows: &[IdentityRow], profile: &BTreeMap<String, &RawValue>) -> Identity {
        Identity {
            rows: rows
                .iter()
                .filter_map(|row| {
                    scalar(profile.get(&row.key)).map(|value| (row.label.clone(), value))
                })
                .collect(),
        }
    }
}

impl Serialize for Identity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.rows.len()))?;
        for (label, value) in &self.rows {
            map.serialize_entry(label, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copilot::config::CopilotSettings;
    use crate::copilot::text::fields;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn identity(profile: &str, rows: &[IdentityRow]) -> String {
        let raw = RawValue::from_string(profile.to_owned()).unwrap();
        let f = fields(raw.get()).unwrap();
        serde_json::to_string(&Identity::build(rows, &f)).unwrap()
    }

    #[test]
    fn default_rows_in_order_missing_ones_left_out() {
        let rows = CopilotSettings::default().rows;
        let out = identity(
            r#"{"customerSince":"2019-03-14","fullName":"Elena Rostova","segment":"Premium","customerId":"CUST-992847","email":"e@x"}"#,
            &rows,
        );
        assert_eq!(
            out,
            r#"{"Name":"Elena Rostova","Segment":"Premium","Customer ID":"CUST-992847","Customer since":"2019-03-14"}"#
        );
    }

    #[test]
    fn values_are_strings_numbers_as_written() {
        let rows = vec![
            IdentityRow {
                label: "Balance".into(),
                key: "balance".into(),
            },
            IdentityRow {
                label: "VIP".into(),
                key: "vip".into(),
            },
            IdentityRow {
                label: "Nested".into(),
                key: "address".into(),
            },
            IdentityRow {
                label: "Gone".into(),
                key: "nothing".into(),
            },
            IdentityRow {
                label: "Markup".into(),
                key: "note".into(),
            },
        ];
        let out = identity(
            r#"{"balance":1249.50,"vip":true,"address":{"city":"Berlin"},"nothing":null,"note":"[x](https://evil.example) {{profile.x}}"}"#,
            &rows,
        );
        assert_eq!(
            out,
            r#"{"Balance":"1249.50","VIP":"true","Markup":"[x](https://evil.example) {{profile.x}}"}"#
        );
    }
}
