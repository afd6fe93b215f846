//! The plugin configuration: what Envoy hands to `on_configure`, validated once into [`Settings`].
//!
//! Secrets are not part of it: they come from the Envoy process environment
//! (`vm_config.environment_variables.host_env_keys`), so they never appear in `/config_dump`.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;

use crate::answer::{AnswerMode, AnswerSettings, FieldList};
use crate::auth::WebhookAuth;
use crate::backoff::RetryPolicy;
use crate::cache::CacheSettings;
use crate::copilot::CopilotSettings;
use crate::customer_pattern::CustomerPattern;
use crate::mcp::config::McpSettings;
use crate::privacy::PrivacySettings;
use crate::service::PerService;
use crate::template::PromptTemplate;

mod lists;
mod path;
mod raw;
mod validate;

pub(crate) use lists::enum_field;
pub use path::PathTemplate;
pub use raw::*;

pub const ENV_CLIENT_ID: &str = "ENRICH_CLIENT_ID";
pub const ENV_CLIENT_SECRET: &str = "ENRICH_CLIENT_SECRET";
pub const ENV_WEBHOOK_TOKENS: &str = "ENRICH_WEBHOOK_TOKENS";
/// `user:password` pairs for the `basic` scheme, comma-separated.
pub const ENV_BASIC_CREDENTIALS: &str = "ENRICH_BASIC_CREDENTIALS";

/// The token endpoint path when none is configured: where the seed (and most servers laid out
/// like it) answer the client-credentials grant.
pub const DEFAULT_TOKEN_PATH: &str = "/oauth2/token";
/// A token reply without `expires_in` is taken to live this long unless configured.
pub const DEFAULT_TOKEN_LIFETIME_MS: u64 = 300_000;
/// The dynamic-metadata key under which `jwt_authn` puts a verified payload by default.
pub const DEFAULT_JWT_PAYLOAD_KEY: &str = "jwt_payload";

/// Customer numbers allowed by default: letters, digits, `-`, `_`. The 1-20 length rule is
/// checked separately, so a custom pattern cannot widen it.
pub const DEFAULT_CUSTOMER_PATTERN: &str = "^[A-Za-z0-9_-]+$";

/// The validated prompt settings.
#[derive(Debug, Clone)]
pub struct PromptSettings {
    pub max_value_chars: usize,
    pub max_chars: usize,
    pub template: Option<PromptTemplate>,
}

impl Default for PromptSettings {
    fn default() -> Self {
        let d = PromptConfig::default();
        PromptSettings {
            max_value_chars: d.max_value_chars,
            max_chars: d.max_chars,
            template: None,
        }
    }
}

/// A refused configuration: which field, and why. Never carries a secret's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub field: String,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid plugin configuration: {}: {}",
            self.field, self.reason
        )
    }
}

impl std::error::Error for ConfigError {}

fn refuse(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, Default)]
pub struct ServiceSettings {
    /// Shared, like `authority`, by every call to the service.
    pub cluster: Arc<str>,
    pub authority: Arc<str>,
    pub path: PathTemplate,
    pub required: bool,
    pub timeout_ms: u64,
    pub limit: u32,
    pub cache: Option<CacheSettings>,
    /// `fields`: the allow-list of top-level keys; `None` keeps every key.
    pub fields: Option<FieldList>,
}

/// The validated configuration the engine runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub enrich_path: String,
    pub auth: WebhookAuth,
    /// The `jwt_authn` metadata key read for the `jwt` scheme.
    pub jwt_payload_key: String,
    pub customer_pattern: CustomerPattern,
    pub deadline_ms: u64,
    pub limits: LimitsConfig,
    pub retry: RetryPolicy,
    pub token: TokenSettings,
    pub services: PerService<ServiceSettings>,
    pub prompt: PromptSettings,
    pub server_timing: bool,
    pub privacy: PrivacySettings,
    pub copilot: CopilotSettings,
    pub answer_mode: AnswerMode,
    /// `answer.maxBytes`, the services' `fields` and `prompt.unavailableText`, for the pipeline.
    pub answer: AnswerSettings,
    pub mcp: McpSettings,
}

impl Settings {
    /// Parses and validates the plugin configuration. `env` reads the Envoy process environment;
    /// it is a parameter so the validation is testable without one.
    pub fn from_json(
        bytes: &[u8],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let text = if bytes.iter().all(u8::is_ascii_whitespace) {
            &b"{}"[..]
        } else {
            bytes
        };
        // serde reads a JSON array into a struct by position ({"limits": [4096, 8]}); the only
        // lists are those of `lists`, so any other array is refused before that can happen.
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(text) {
            if let Some(field) = lists::first_array(&value, "") {
                return Err(refuse(field, "invalid type: sequence, expected a map"));
            }
        }
        // No check for trailing text after the object: the configuration was always read so.
        let mut de = serde_json::Deserializer::from_slice(text);
        let cfg = PluginConfig::deserialize(&mut de).map_err(|e| {
            let path = crate::json_path::path_at(text, &e, &enum_field);
            let field = if path.is_empty() || path == "?" {
                "(root)".to_owned()
            } else {
                path
            };
            // serde's message for an unknown field lists the expected ones; keep only the cause.
            let reason = e.to_string();
            let reason = reason
                .split(", expected")
                .next()
                .unwrap_or_default()
                .to_owned();
            refuse(field, reason)
        })?;
        validate::validate(cfg, env)
    }
}

/// Settings for tests: defaults, demo credentials, one webhook token.
#[cfg(test)]
pub fn test_settings(json: &str) -> Settings {
    Settings::from_json(json.as_bytes(), &|k| match k {
        ENV_CLIENT_ID => Some("cognigy-proxy-client".into()),
        ENV_CLIENT_SECRET => Some("proxy-secret-key".into()),
        ENV_WEBHOOK_TOKENS => Some("demo-webhook-token".into()),
        _ => None,
    })
    .unwrap()
}

#[cfg(test)]
mod tests;
