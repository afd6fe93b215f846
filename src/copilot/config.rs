//! `copilot`: the plugin configuration of the tile output, validated into [`CopilotSettings`].

use serde::Deserialize;

use crate::config::ConfigError;

/// The raw `copilot` object. Everything is off unless `identity` or `card` is `true`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct CopilotConfig {
    /// Adds `identity`: label -> value rows for an Identity Tile.
    pub identity: bool,
    /// Adds `card`: an Adaptive Card 1.5 for an Adaptive Card Tile.
    pub card: bool,
    /// The rows of `identity` and of the card's FactSet, in this order.
    pub identity_rows: Vec<IdentityRow>,
    /// Orders and tickets shown on the card, each.
    pub max_card_items: usize,
    /// Longest upstream value on the card, in characters.
    pub max_value_chars: usize,
    pub labels: CardLabels,
}

/// One identity row: what the agent reads, and which top-level key of the customer profile holds
/// its value.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityRow {
    pub label: String,
    pub key: String,
}

/// The card's own words, so a deployment can translate them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct CardLabels {
    pub customer: String,
    pub orders: String,
    pub tickets: String,
    pub no_orders: String,
    pub no_tickets: String,
    /// Shown where a source failed (the answer's `degraded`).
    pub unavailable: String,
    /// Shown where a source was answered from the cache (the answer's `stale`).
    pub stale: String,
}

/// The validated `copilot` configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopilotSettings {
    pub identity: bool,
    pub card: bool,
    pub rows: Vec<IdentityRow>,
    pub max_card_items: usize,
    pub max_value_chars: usize,
    pub labels: CardLabels,
}

pub const DEFAULT_IDENTITY_ROWS: [(&str, &str); 5] = [
    ("Name", "fullName"),
    ("Segment", "segment"),
    ("Customer ID", "customerId"),
    ("Status", "accountStatus"),
    ("Customer since", "customerSince"),
];

const MAX_ROWS: usize = 20;
const MAX_LABEL_CHARS: usize = 100;

impl Default for CopilotConfig {
    fn default() -> Self {
        CopilotConfig {
            identity: false,
            card: false,
            identity_rows: DEFAULT_IDENTITY_ROWS
                .iter()
                .map(|(label, key)| IdentityRow {
                    label: (*label).to_owned(),
                    key: (*key).to_owned(),
                })
                .collect(),
            max_card_items: 3,
            max_value_chars: 200,
            labels: CardLabels::default(),
        }
    }
}

impl Default for CardLabels {
    fn default() -> Self {
        CardLabels {
            customer: "Customer".into(),
            orders: "Last orders".into(),
            tickets: "Open tickets".into(),
            no_orders: "No orders".into(),
            no_tickets: "No open tickets".into(),
            unavailable: "Unavailable: the service did not answer".into(),
            stale: "From the cache: may be out of date".into(),
        }
    }
}

impl Default for CopilotSettings {
    fn default() -> Self {
        // The defaults are valid by construction; the fallback only keeps this panic-free.
        CopilotConfig::default()
            .validate()
            .unwrap_or_else(|_| CopilotSettings {
                identity: false,
                card: false,
                rows: Vec::new(),
                max_card_items: 3,
                max_value_chars: 200,
                labels: CardLabels::default(),
            })
    }
}

fn refuse(field: String, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        field,
        reason: reason.into(),
    }
}

fn text_field(field: String, value: &str) -> Result<(), ConfigError> {
    let n = value.chars().count();
    if value.trim().is_empty() || n > MAX_LABEL_CHARS {
        return Err(refuse(
            field,
            format!("must be 1-{MAX_LABEL_CHARS} characters and not blank"),
        ));
    }
    Ok(())
}

fn in_range(field: &str, value: usize, min: usize, max: usize) -> Result<(), ConfigError> {
    if value < min || value > max {
        return Err(refuse(
            field.to_owned(),
            format!("must be between {min} and {max}, got {value}"),
        ));
    }
    Ok(())
}

impl CopilotConfig {
    /// Checks every field, naming the first bad one as `copilot.<field>`.
    pub fn validate(self) -> Result<CopilotSettings, ConfigError> {
        let rows_field = "copilot.identityRows";
        if self.identity_rows.is_empty() || self.identity_rows.len() > MAX_ROWS {
            return Err(refuse(
                rows_field.to_owned(),
                format!("must hold 1-{MAX_ROWS} rows"),
            ));
        }
        for (i, row) in self.identity_rows.iter().enumerate() {
            text_field(format!("{rows_field}[{i}].label"), &row.label)?;
            text_field(format!("{rows_field}[{i}].key"), &row.key)?;
            // The identity object is keyed by label: a second row with the same label would
            // silently replace the first.
            if self
                .identity_rows
                .iter()
                .take(i)
                .any(|earlier| earlier.label == row.label)
            {
                return Err(refuse(
                    format!("{rows_field}[{i}].label"),
                    format!("duplicate label {:?}", row.label),
                ));
            }
        }
        in_range("copilot.maxCardItems", self.max_card_items, 1, 10)?;
        in_range("copilot.maxValueChars", self.max_value_chars, 8, 1000)?;
        let l = &self.labels;
        for (name, value) in [
            ("customer", &l.customer),
            ("orders", &l.orders),
            ("tickets", &l.tickets),
            ("noOrders", &l.no_orders),
            ("noTickets", &l.no_tickets),
            ("unavailable", &l.unavailable),
            ("stale", &l.stale),
        ] {
            text_field(format!("copilot.labels.{name}"), value)?;
        }
        Ok(CopilotSettings {
            identity: self.identity,
            card: self.card,
            rows: self.identity_rows,
            max_card_items: self.max_card_items,
            max_value_chars: self.max_value_chars,
            labels: self.labels,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn env(k: &str) -> Option<String> {
        match k {
            "ENRICH_CLIENT_ID" => Some("id".into()),
            "ENRICH_CLIENT_SECRET" => Some("secret".into()),
            "ENRICH_WEBHOOK_TOKENS" => Some("t".into()),
            _ => None,
        }
    }

    fn field_of(json: &str) -> String {
        Settings::from_json(json.as_bytes(), &env)
            .unwrap_err()
            .field
    }

    #[test]
    fn off_by_default_with_the_documented_rows() {
        let s = Settings::from_json(b"{}", &env).unwrap();
        assert!(!s.copilot.identity && !s.copilot.card);
        let rows: Vec<(&str, &str)> = s
            .copilot
            .rows
            .iter()
            .map(|r| (r.label.as_str(), r.key.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("Name", "fullName"),
                ("Segment", "segment"),
                ("Customer ID", "customerId"),
                ("Status", "accountStatus"),
                ("Customer since", "customerSince"),
            ]
        );
        assert_eq!(s.copilot.max_card_items, 3);
    }

    #[test]
    fn rows_are_a_list_in_the_configured_order() {
        let s = Settings::from_json(
            br#"{"copilot": {"identity": true, "identityRows": [{"label": "Tier", "key": "loyaltyTier"}, {"label": "Name", "key": "fullName"}]}}"#,
            &env,
        )
        .unwrap();
        assert!(s.copilot.identity);
        assert_eq!(s.copilot.rows.len(), 2);
        assert_eq!(s.copilot.rows[0].label, "Tier");
        assert_eq!(s.copilot.rows[1].key, "fullName");
    }

    #[test]
    fn bad_fields_are_named() {
        assert_eq!(
            field_of(r#"{"copilot": {"idenity": true}}"#),
            "copilot.idenity"
        );
        assert_eq!(field_of(r#"{"copilot": {"card": "yes"}}"#), "copilot.card");
        assert_eq!(
            field_of(r#"{"copilot": {"maxCardItems": 0}}"#),
            "copilot.maxCardItems"
        );
        assert_eq!(
            field_of(r#"{"copilot": {"maxCardItems": 11}}"#),
            "copilot.maxCardItems"
        );
        assert_eq!(
            field_of(r#"{"copilot": {"identityRows": []}}"#),
            "copilot.identityRows"
        );
        assert_eq!(
            field_of(r#"{"copilot": {"identityRows": [{"label": "A", "key": "a", "x": 1}]}}"#),
            "copilot.identityRows[0].x"
        );
        assert_eq!(
            field_of(
                r#"{"copilot": {"identityRows": [{"label": "A", "key": "a"}, {"label": "A", "key": "b"}]}}"#
            ),
            "copilot.identityRows[1].label"
        );
        assert_eq!(
            field_of(r#"{"copilot": {"identityRows": [{"label": " ", "key": "a"}]}}"#),
            "copilot.identityRows[0].label"
        );
        assert_eq!(
            field_of(r#"{"copilot": {"labels": {"orders": ""}}}"#),
            "copilot.labels.orders"
        );
        assert_eq!(
            field_of(r#"{"copilot": {"labels": {"order": "x"}}}"#),
            "copilot.labels.order"
        );
    }

    /// serde would read `["Name", "fullName"]` into a row by position; only the rows list itself
    /// may be an array.
    #[test]
    fn a_row_given_as_an_array_is_refused() {
        assert_eq!(
            field_of(r#"{"copilot": {"identityRows": [["Name", "fullName"]]}}"#),
            "copilot.identityRows[0]"
        );
        assert_eq!(
            field_of(r#"{"copilot": {"labels": ["x"]}}"#),
            "copilot.labels"
        );
    }
}
