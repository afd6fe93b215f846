//! The `privacy` section of the plugin configuration, validated into [`PrivacySettings`].

use serde::Deserialize;

use crate::config::ConfigError;

/// Most keys one list may name; far more than a record has, small enough to match quickly.
pub const MAX_KEYS: usize = 256;
/// Longest key a list may name, in characters.
pub const MAX_KEY_CHARS: usize = 256;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct PrivacyConfig {
    /// Keys removed at any depth of the profile and the list items.
    pub drop_fields: Vec<String>,
    /// Keys whose values are masked, at any depth.
    pub mask_fields: Vec<String>,
    /// Scan every string of the answer and the prompt for card numbers, IBANs and e-mails.
    pub mask_patterns: bool,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig {
            drop_fields: Vec::new(),
            mask_fields: ["email", "phone", "mobile", "iban", "cardNumber"]
                .map(str::to_owned)
                .to_vec(),
            mask_patterns: true,
        }
    }
}

/// The validated rules. Keys are kept lowercased (keys match case-insensitively); a key in both
/// lists is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacySettings {
    pub drop_fields: Vec<String>,
    pub mask_fields: Vec<String>,
    pub mask_patterns: bool,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        // The default configuration is valid by construction; an empty rule set would be the
        // unsafe fallback, so refuse to guess: the same lists, lowercased.
        let d = PrivacyConfig::default();
        PrivacySettings {
            drop_fields: Vec::new(),
            mask_fields: d.mask_fields.iter().map(|k| k.to_lowercase()).collect(),
            mask_patterns: d.mask_patterns,
        }
    }
}

fn keys(field: &str, list: &[String]) -> Result<Vec<String>, ConfigError> {
    let refuse = |i: usize, reason: String| ConfigError {
        field: format!("{field}[{i}]"),
        reason,
    };
    if list.len() > MAX_KEYS {
        return Err(ConfigError {
            field: field.to_owned(),
            reason: format!("at most {MAX_KEYS} keys"),
        });
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (i, key) in list.iter().enumerate() {
        if key.trim().is_empty() {
            return Err(refuse(i, "must not be empty".to_owned()));
        }
        if key.chars().count() > MAX_KEY_CHARS {
            return Err(refuse(i, format!("longer than {MAX_KEY_CHARS} characters")));
        }
        let lower = key.to_lowercase();
        if let Some(first) = out.iter().position(|k| *k == lower) {
            return Err(refuse(
                i,
                format!("duplicate of {field}[{first}] (keys match case-insensitively)"),
            ));
        }
        out.push(lower);
    }
    Ok(out)
}

impl PrivacyConfig {
    pub fn validate(self) -> Result<PrivacySettings, ConfigError> {
        let drop_fields = keys("privacy.dropFields", &self.drop_fields)?;
        let mut mask_fields = keys("privacy.maskFields", &self.mask_fields)?;
        // Dropping is the stronger rule: `dropFields: ["email"]` works without restating the
        // default mask list.
        mask_fields.retain(|k| !drop_fields.contains(k));
        Ok(PrivacySettings {
            drop_fields,
            mask_fields,
            mask_patterns: self.mask_patterns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn validate(json: &str) -> Result<PrivacySettings, ConfigError> {
        serde_json::from_str::<PrivacyConfig>(json)
            .unwrap()
            .validate()
    }

    #[test]
    fn defaults() {
        let s = validate("{}").unwrap();
        assert_eq!(
            s.mask_fields,
            ["email", "phone", "mobile", "iban", "cardnumber"]
        );
        assert!(s.drop_fields.is_empty() && s.mask_patterns);
        assert_eq!(s, PrivacySettings::default());
    }

    #[test]
    fn bad_rules_are_named() {
        let e = validate(r#"{"maskFields": ["email", ""]}"#).unwrap_err();
        assert_eq!(e.field, "privacy.maskFields[1]");
        let e = validate(r#"{"dropFields": ["ssn", "  "]}"#).unwrap_err();
        assert_eq!(e.field, "privacy.dropFields[1]");
        let e = validate(r#"{"dropFields": ["Ssn", "sSN"]}"#).unwrap_err();
        assert_eq!(e.field, "privacy.dropFields[1]");
        assert!(
            e.reason.contains("duplicate of privacy.dropFields[0]"),
            "{e}"
        );
        let many: Vec<String> = (0..=MAX_KEYS).map(|i| format!("k{i}")).collect();
        let e = validate(&serde_json::json!({ "maskFields": many }).to_string()).unwrap_err();
        assert_eq!(e.field, "privacy.maskFields");
    }

    #[test]
    fn drop_wins_over_mask() {
        let s = validate(r#"{"dropFields": ["EMAIL"]}"#).unwrap();
        assert_eq!(s.drop_fields, ["email"]);
        assert!(!s.mask_fields.contains(&"email".to_owned()));
    }
}
