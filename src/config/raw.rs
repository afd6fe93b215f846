//! The plugin configuration as Envoy hands it over, section by section, with its defaults. What
//! needs no more than a range check is read straight into the type the filter runs with.

use serde::Deserialize;

use super::{
    DEFAULT_CUSTOMER_PATTERN, DEFAULT_JWT_PAYLOAD_KEY, DEFAULT_TOKEN_LIFETIME_MS,
    DEFAULT_TOKEN_PATH,
};
use crate::answer::{self, AnswerMode};
use crate::auth::{Scheme, DEFAULT_SCHEMES};
use crate::backoff::RetryPolicy;
use crate::cache::CacheSettings;
use crate::copilot::CopilotConfig;
use crate::mcp::config::McpConfig;
use crate::privacy::PrivacyConfig;
use crate::secret::Secret;
use crate::service::PerService;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct PluginConfig {
    /// Path (without query) the filter answers; every other path passes through untouched.
    pub enrich_path: String,
    pub auth: AuthConfig,
    pub customer_number_pattern: String,
    pub deadline_ms: u64,
    pub limits: LimitsConfig,
    pub retry: RetryPolicy,
    pub token: TokenSettings,
    /// `services.<answer key>`: per-service overrides of [`crate::service::ServiceSpec`].
    pub services: PerService<ServiceConfig>,
    pub prompt: PromptConfig,
    /// Adds a `Server-Timing` header with each service's duration to the answer.
    pub server_timing: bool,
    /// What is dropped and masked before anything is built from the services' data.
    pub privacy: PrivacyConfig,
    /// Agent Copilot tile output (`identity`, `card`); off by default.
    pub copilot: CopilotConfig,
    /// How the enrich route answers: HTTP errors (`status`) or always 200 with `ok`.
    pub answer_mode: AnswerMode,
    pub answer: AnswerConfig,
    /// The MCP endpoint (`tools/call get_customer_context` runs the enrich pipeline).
    pub mcp: McpConfig,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct AnswerConfig {
    /// Cap on the answer body's UTF-8 length, every key included.
    pub max_bytes: usize,
}

impl Default for AnswerConfig {
    fn default() -> Self {
        AnswerConfig {
            max_bytes: answer::DEFAULT_MAX_BYTES,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct AuthConfig {
    /// `false` turns caller authentication off; it must be said explicitly, since an empty token
    /// list is otherwise refused.
    pub enabled: bool,
    /// The accepted schemes; only their secrets are required.
    pub schemes: Vec<Scheme>,
    /// The `payload_in_metadata` name of the `jwt_authn` provider (namespace
    /// `envoy.filters.http.jwt_authn`) whose verified payload admits a `jwt` caller.
    pub jwt_payload_key: String,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct LimitsConfig {
    pub max_body_bytes: usize,
    pub max_json_depth: usize,
    pub max_upstream_body_bytes: usize,
    pub max_list_items: usize,
}

/// Where the client id and secret go in the token request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body (as the seed does).
    #[default]
    Body,
    /// `Authorization: Basic base64(form(id) ":" form(secret))`, nothing in the body.
    Basic,
}

/// Per-service overrides; what is left out takes that service's default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct ServiceConfig {
    pub cluster: Option<String>,
    pub authority: Option<String>,
    /// Path and query, with `{customerNumber}` (percent-encoded) and, for orders, `{limit}`.
    pub path: Option<String>,
    pub required: Option<bool>,
    pub timeout_ms: Option<u64>,
    pub limit: Option<u32>,
    /// Off unless given.
    pub cache: Option<CacheSettings>,
    /// Top-level keys kept from the record (the profile, or each list item); all when absent.
    pub fields: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct PromptConfig {
    /// Longest upstream value copied into the prompt, in characters.
    pub max_value_chars: usize,
    /// Longest prompt, in characters.
    pub max_chars: usize,
    /// Replaces the default prompt; named fields in braces (see [`crate::template::Field`]).
    pub template: Option<String>,
    /// The prompt of an `answerMode: "always200"` failure envelope.
    pub unavailable_text: String,
}

/// `token`, read as is; the client id and secret come from the environment (never from the
/// configuration, so they never show in `/config_dump`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct TokenSettings {
    pub cluster: String,
    pub authority: String,
    pub path: String,
    pub scope: String,
    pub timeout_ms: u64,
    /// Renew this long before expiry (at most a third of the token's lifetime).
    pub refresh_margin_ms: u64,
    pub failure_backoff_ms: u64,
    pub failure_backoff_max_ms: u64,
    /// Lifetime of a token whose reply has no `expires_in` (it is only RECOMMENDED, RFC 6749 5.1).
    pub default_lifetime_ms: u64,
    /// How the client authenticates to the token endpoint (RFC 6749 2.3.1).
    pub client_auth: ClientAuth,
    /// `ENRICH_CLIENT_ID`.
    #[serde(skip)]
    pub client_id: String,
    /// `ENRICH_CLIENT_SECRET`.
    #[serde(skip)]
    pub client_secret: Secret,
}

impl Default for PluginConfig {
    fn default() -> Self {
        PluginConfig {
            enrich_path: "/api/v1/agent-assist/enrich".into(),
            auth: AuthConfig::default(),
            customer_number_pattern: DEFAULT_CUSTOMER_PATTERN.into(),
            deadline_ms: 4500,
            limits: LimitsConfig::default(),
            retry: RetryPolicy::default(),
            token: TokenSettings::default(),
            services: PerService::default(),
            prompt: PromptConfig::default(),
            server_timing: false,
            privacy: PrivacyConfig::default(),
            copilot: CopilotConfig::default(),
            answer_mode: AnswerMode::default(),
            answer: AnswerConfig::default(),
            mcp: McpConfig::default(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            enabled: true,
            schemes: DEFAULT_SCHEMES.to_vec(),
            jwt_payload_key: DEFAULT_JWT_PAYLOAD_KEY.into(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 64 * 1024,
            max_json_depth: 32,
            max_upstream_body_bytes: 1024 * 1024,
            max_list_items: 50,
        }
    }
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            cluster: "token_service".into(),
            authority: "token-service".into(),
            path: DEFAULT_TOKEN_PATH.into(),
            scope: "customer:read orders:read crm:read".into(),
            timeout_ms: 2000,
            refresh_margin_ms: 60_000,
            failure_backoff_ms: 1000,
            failure_backoff_max_ms: 10_000,
            default_lifetime_ms: DEFAULT_TOKEN_LIFETIME_MS,
            client_auth: ClientAuth::Body,
            client_id: String::new(),
            client_secret: Secret::default(),
        }
    }
}

impl Default for PromptConfig {
    fn default() -> Self {
        PromptConfig {
            max_value_chars: 120,
            max_chars: 1000,
            template: None,
            unavailable_text: answer::DEFAULT_UNAVAILABLE_TEXT.to_owned(),
        }
    }
}
