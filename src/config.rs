//! The plugin configuration: what Envoy hands to `on_configure`, validated once into [`Settings`].
//!
//! Secrets are not part of it: they come from the Envoy process environment
//! (`vm_config.environment_variables.host_env_keys`), so they never appear in `/config_dump`.

use std::fmt;

use regex_lite::Regex;
use serde::Deserialize;

use crate::answer::{self, AnswerMode, AnswerSettings, FieldList};
use crate::auth::{parse_basic_list, BasicListError, Scheme, WebhookAuth, DEFAULT_SCHEMES};
use crate::backoff::RetryPolicy;
use crate::cache::CacheSettings;
use crate::copilot::{CopilotConfig, CopilotSettings};
use crate::mcp::config::{McpConfig, McpSettings};
use crate::privacy::{PrivacyConfig, PrivacySettings};
use crate::secret::Secret;
use crate::service::Service;
use crate::template::PromptTemplate;

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct PluginConfig {
    /// Path (without query) the filter answers; every other path passes through untouched.
    pub enrich_path: String,
    pub auth: AuthConfig,
    pub customer_number_pattern: String,
    pub deadline_ms: u64,
    pub limits: LimitsConfig,
    pub retry: RetryConfig,
    pub token: TokenConfig,
    pub services: ServicesConfig,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct RetryConfig {
    pub max_attempts: u32,
    pub base_backoff_ms: u64,
    pub max_backoff_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct TokenConfig {
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct ServicesConfig {
    pub customer_profile: ServiceConfig,
    pub recent_orders: ServiceConfig,
    pub open_tickets: ServiceConfig,
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
    pub cache: Option<CacheConfig>,
    /// Top-level keys kept from the record (the profile, or each list item); all when absent.
    pub fields: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CacheConfig {
    pub ttl_ms: u64,
    #[serde(default)]
    pub stale_if_error_ms: u64,
    #[serde(default = "default_cache_slots")]
    pub slots: u32,
}

fn default_cache_slots() -> u32 {
    1024
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

impl Default for PluginConfig {
    fn default() -> Self {
        PluginConfig {
            enrich_path: "/api/v1/agent-assist/enrich".into(),
            auth: AuthConfig::default(),
            customer_number_pattern: DEFAULT_CUSTOMER_PATTERN.into(),
            deadline_ms: 4500,
            limits: LimitsConfig::default(),
            retry: RetryConfig::default(),
            token: TokenConfig::default(),
            services: ServicesConfig::default(),
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

impl Default for RetryConfig {
    fn default() -> Self {
        let p = RetryPolicy::default();
        RetryConfig {
            max_attempts: p.max_attempts,
            base_backoff_ms: p.base_backoff_ms,
            max_backoff_ms: p.max_backoff_ms,
        }
    }
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
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

/// A path template split at configure time, so building a URL per call is a concatenation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    parts: Vec<PathPart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PathPart {
    Literal(String),
    CustomerNumber,
    Limit,
}

impl PathTemplate {
    fn parse(field: &str, template: &str, allow_limit: bool) -> Result<Self, ConfigError> {
        if !template.starts_with('/') {
            return Err(refuse(field, "must start with '/'"));
        }
        if let Some(c) = template
            .chars()
            .find(|c| c.is_control() || c.is_whitespace() || *c == '#' || !c.is_ascii())
        {
            return Err(refuse(
                field,
                format!("contains a character not allowed in a URL: {c:?}"),
            ));
        }
        let mut parts = Vec::new();
        let mut rest = template;
        let mut has_customer = false;
        while let Some(open) = rest.find('{') {
            let (literal, tail) = rest.split_at(open);
            if literal.contains('}') {
                return Err(refuse(field, "unmatched '}'"));
            }
            if !literal.is_empty() {
                parts.push(PathPart::Literal(literal.to_owned()));
            }
            let close = tail
                .find('}')
                .ok_or_else(|| refuse(field, "unclosed '{'"))?;
            let name = tail.get(1..close).unwrap_or_default();
            match name {
                "customerNumber" => {
                    has_customer = true;
                    parts.push(PathPart::CustomerNumber);
                }
                "limit" if allow_limit => parts.push(PathPart::Limit),
                other => return Err(refuse(field, format!("unknown placeholder {{{other}}}"))),
            }
            rest = tail.get(close + 1..).unwrap_or_default();
        }
        if rest.contains('}') {
            return Err(refuse(field, "unmatched '}'"));
        }
        if !rest.is_empty() {
            parts.push(PathPart::Literal(rest.to_owned()));
        }
        if !has_customer {
            return Err(refuse(field, "must contain {customerNumber}"));
        }
        Ok(PathTemplate { parts })
    }

    /// The path for one customer. `encoded_customer` must already be percent-encoded.
    pub fn render(&self, encoded_customer: &str, limit: u32) -> String {
        let mut out = String::with_capacity(64);
        for part in &self.parts {
            match part {
                PathPart::Literal(s) => out.push_str(s),
                PathPart::CustomerNumber => out.push_str(encoded_customer),
                PathPart::Limit => out.push_str(&limit.to_string()),
            }
        }
        out
    }
}

#[derive(Debug, Clone)]
pub struct ServiceSettings {
    pub service: Service,
    pub cluster: String,
    pub authority: String,
    pub path: PathTemplate,
    pub required: bool,
    pub timeout_ms: u64,
    pub limit: u32,
    pub cache: Option<CacheSettings>,
    /// `fields`: the allow-list of top-level keys; `None` keeps every key.
    pub fields: Option<FieldList>,
}

#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub cluster: String,
    pub authority: String,
    pub path: String,
    pub scope: String,
    pub timeout_ms: u64,
    pub refresh_margin_ms: u64,
    pub failure_backoff_ms: u64,
    pub failure_backoff_max_ms: u64,
    pub client_id: String,
    pub client_secret: Secret,
    pub default_lifetime_ms: u64,
    pub client_auth: ClientAuth,
}

/// One settings entry per service, addressed by [`Service`] without indexing.
#[derive(Debug, Clone)]
pub struct ServiceSet {
    pub profile: ServiceSettings,
    pub orders: ServiceSettings,
    pub tickets: ServiceSettings,
}

impl ServiceSet {
    pub fn get(&self, s: Service) -> &ServiceSettings {
        match s {
            Service::Profile => &self.profile,
            Service::Orders => &self.orders,
            Service::Tickets => &self.tickets,
        }
    }
}

/// The validated configuration the engine runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub enrich_path: String,
    pub auth: WebhookAuth,
    /// The `jwt_authn` metadata key read for the `jwt` scheme.
    pub jwt_payload_key: String,
    pub customer_pattern: Regex,
    pub deadline_ms: u64,
    pub limits: LimitsConfig,
    pub retry: RetryPolicy,
    pub token: TokenSettings,
    pub services: ServiceSet,
    pub prompt: PromptSettings,
    pub server_timing: bool,
    pub privacy: PrivacySettings,
    pub copilot: CopilotSettings,
    pub answer_mode: AnswerMode,
    /// `answer.maxBytes`, the services' `fields` and `prompt.unavailableText`, for the pipeline.
    pub answer: AnswerSettings,
    pub mcp: McpSettings,
}

struct ServiceDefaults {
    field: &'static str,
    cluster: &'static str,
    path: &'static str,
    required: bool,
}

const PROFILE_DEFAULTS: ServiceDefaults = ServiceDefaults {
    field: "services.customerProfile",
    cluster: "customer_profile",
    path: "/api/v1/customers/{customerNumber}",
    required: true,
};
const ORDERS_DEFAULTS: ServiceDefaults = ServiceDefaults {
    field: "services.recentOrders",
    cluster: "orders",
    path: "/api/v1/orders?customerId={customerNumber}&limit={limit}&sort=createdDesc",
    required: false,
};
const TICKETS_DEFAULTS: ServiceDefaults = ServiceDefaults {
    field: "services.openTickets",
    cluster: "crm",
    path: "/api/v1/crm/tickets?customerId={customerNumber}&status=open",
    required: false,
};
const DEFAULT_ORDERS_LIMIT: u32 = 5;

fn non_empty(field: &str, value: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() {
        return Err(refuse(field, "must not be empty"));
    }
    Ok(())
}

fn in_range(field: &str, value: u64, min: u64, max: u64) -> Result<(), ConfigError> {
    if value < min || value > max {
        return Err(refuse(
            field,
            format!("must be between {min} and {max}, got {value}"),
        ));
    }
    Ok(())
}

fn service_settings(
    service: Service,
    cfg: ServiceConfig,
    d: &ServiceDefaults,
    deadline_ms: u64,
) -> Result<ServiceSettings, ConfigError> {
    let field = d.field;
    let cluster = cfg.cluster.unwrap_or_else(|| d.cluster.to_owned());
    non_empty(&format!("{field}.cluster"), &cluster)?;
    let authority = cfg.authority.unwrap_or_else(|| cluster.clone());
    non_empty(&format!("{field}.authority"), &authority)?;
    let is_orders = service == Service::Orders;
    if cfg.limit.is_some() && !is_orders {
        return Err(refuse(
            format!("{field}.limit"),
            "only services.recentOrders has a limit",
        ));
    }
    let limit = cfg.limit.unwrap_or(DEFAULT_ORDERS_LIMIT);
    in_range(&format!("{field}.limit"), u64::from(limit), 1, 100)?;
    let path = PathTemplate::parse(
        &format!("{field}.path"),
        cfg.path.as_deref().unwrap_or(d.path),
        is_orders,
    )?;
    let timeout_ms = cfg.timeout_ms.unwrap_or(deadline_ms);
    in_range(&format!("{field}.timeoutMs"), timeout_ms, 1, deadline_ms)?;
    let cache = match cfg.cache {
        Some(c) => {
            in_range(&format!("{field}.cache.ttlMs"), c.ttl_ms, 1, 86_400_000)?;
            in_range(
                &format!("{field}.cache.staleIfErrorMs"),
                c.stale_if_error_ms,
                0,
                7 * 86_400_000,
            )?;
            in_range(
                &format!("{field}.cache.slots"),
                u64::from(c.slots),
                1,
                65_536,
            )?;
            Some(CacheSettings {
                ttl_ms: c.ttl_ms,
                stale_if_error_ms: c.stale_if_error_ms,
                slots: c.slots,
            })
        }
        None => None,
    };
    let fields = match cfg.fields {
        Some(names) => {
            Some(FieldList::new(names).map_err(|why| refuse(format!("{field}.fields"), why))?)
        }
        None => None,
    };
    Ok(ServiceSettings {
        service,
        cluster,
        authority,
        path,
        required: cfg.required.unwrap_or(d.required),
        timeout_ms,
        limit,
        cache,
        fields,
    })
}

/// What a list field holds. serde reads a JSON array into a struct by position, so every array
/// but these is refused; a list of objects has its elements checked like any other object.
enum ListOf {
    Strings,
    Objects,
}

/// The fields that are lists: `auth.schemes`, `services.<service>.fields`,
/// `copilot.identityRows`, `privacy.dropFields` / `privacy.maskFields` and `mcp.allowedOrigins`.
fn list_field(path: &str) -> Option<ListOf> {
    if path == "copilot.identityRows" {
        return Some(ListOf::Objects);
    }
    if path == "auth.schemes"
        || path == "privacy.dropFields"
        || path == "privacy.maskFields"
        || path == "mcp.allowedOrigins"
    {
        return Some(ListOf::Strings);
    }
    path.strip_prefix("services.")
        .and_then(|rest| rest.strip_suffix(".fields"))
        .is_some_and(|service| !service.contains('.'))
        .then_some(ListOf::Strings)
}

/// The fields read as enums (a variant name): `answerMode`, `token.clientAuth`, `auth.schemes[i]`.
pub(crate) fn enum_field(path: &str) -> bool {
    path == "answerMode"
        || path == "token.clientAuth"
        || path
            .strip_prefix("auth.schemes[")
            .and_then(|rest| rest.strip_suffix(']'))
            .is_some_and(|i| i.bytes().all(|b| b.is_ascii_digit()))
}

/// Where the first JSON array in `value` is, as a dotted field path (lists are skipped).
fn first_array(value: &serde_json::Value, path: &str) -> Option<String> {
    match value {
        serde_json::Value::Array(items) if list_field(path).is_some() => match list_field(path) {
            Some(ListOf::Objects) => items.iter().enumerate().find_map(|(i, item)| {
                let path = format!("{path}[{i}]");
                match item {
                    serde_json::Value::Array(_) => Some(path),
                    _ => first_array(item, &path),
                }
            }),
            _ => None,
        },
        serde_json::Value::Array(_) => Some(if path.is_empty() {
            "(root)".to_owned()
        } else {
            path.to_owned()
        }),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(name, v)| {
            let path = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            first_array(v, &path)
        }),
        _ => None,
    }
}

/// Caller auth from `auth` and the environment: only the secrets of the listed schemes are
/// required (webhook tokens for `bearer` / `apiKey`, `ENRICH_BASIC_CREDENTIALS` for `basic`).
fn caller_auth(
    cfg: &AuthConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<WebhookAuth, ConfigError> {
    if !cfg.enabled {
        return Ok(WebhookAuth::disabled());
    }
    if cfg.schemes.is_empty() {
        return Err(refuse(
            "auth.schemes",
            "must list at least one scheme; disable caller auth explicitly with auth.enabled=false",
        ));
    }
    let key = &cfg.jwt_payload_key;
    if key.is_empty() || key.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(refuse(
            "auth.jwtPayloadKey",
            "must be a non-empty name without spaces",
        ));
    }
    let mut schemes = Vec::new();
    for s in &cfg.schemes {
        if !schemes.contains(s) {
            schemes.push(*s);
        }
    }
    let tokens = env(ENV_WEBHOOK_TOKENS).unwrap_or_default();
    let auth = WebhookAuth::new(schemes.clone(), &tokens, Vec::new());
    let wants_tokens = schemes.contains(&Scheme::Bearer) || schemes.contains(&Scheme::ApiKey);
    if wants_tokens && auth.token_count() == 0 {
        return Err(refuse(
            ENV_WEBHOOK_TOKENS,
            "no webhook token set; set it, or disable caller auth explicitly with auth.enabled=false",
        ));
    }
    let basic = if schemes.contains(&Scheme::Basic) {
        parse_basic_list(&env(ENV_BASIC_CREDENTIALS).unwrap_or_default()).map_err(|e| {
            refuse(
                ENV_BASIC_CREDENTIALS,
                match e {
                    BasicListError::Empty => {
                        "not set, but auth.schemes lists basic (add it to host_env_keys)".to_owned()
                    }
                    BasicListError::Entry(n) => format!(
                        "entry {n} is not user:password (comma-separated, neither part empty)"
                    ),
                },
            )
        })?
    } else {
        Vec::new()
    };
    Ok(WebhookAuth::new(schemes, &tokens, basic))
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
        // lists are those of `list_field`, so any other array is refused before that can happen.
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(text) {
            if let Some(field) = first_array(&value, "") {
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
        Self::validate(cfg, env)
    }

    fn validate(
        cfg: PluginConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        if !cfg.enrich_path.starts_with('/') || cfg.enrich_path.contains(['?', '#']) {
            return Err(refuse(
                "enrichPath",
                "must be a path starting with '/', without query or fragment",
            ));
        }
        // Anchored here so a pattern written without ^...$ still has to match the whole value:
        // a substring match would let "../" or "?" through around an allowed core.
        // The raw pattern must compile by itself too, or "a)|(b" would break out of the group.
        let bad_pattern = |e: regex_lite::Error| {
            refuse(
                "customerNumberPattern",
                format!("not a valid regular expression: {e}"),
            )
        };
        Regex::new(&cfg.customer_number_pattern).map_err(bad_pattern)?;
        let customer_pattern =
            Regex::new(&format!("^(?:{})$", cfg.customer_number_pattern)).map_err(bad_pattern)?;
        in_range("deadlineMs", cfg.deadline_ms, 100, 60_000)?;
        let l = cfg.limits;
        in_range(
            "limits.maxBodyBytes",
            l.max_body_bytes as u64,
            64,
            16 * 1024 * 1024,
        )?;
        in_range("limits.maxJsonDepth", l.max_json_depth as u64, 2, 128)?;
        in_range(
            "limits.maxUpstreamBodyBytes",
            l.max_upstream_body_bytes as u64,
            64,
            64 * 1024 * 1024,
        )?;
        in_range("limits.maxListItems", l.max_list_items as u64, 1, 1000)?;
        in_range(
            "retry.maxAttempts",
            u64::from(cfg.retry.max_attempts),
            1,
            10,
        )?;
        in_range("retry.baseBackoffMs", cfg.retry.base_backoff_ms, 1, 60_000)?;
        in_range(
            "retry.maxBackoffMs",
            cfg.retry.max_backoff_ms,
            cfg.retry.base_backoff_ms,
            600_000,
        )?;
        let t = cfg.token;
        non_empty("token.cluster", &t.cluster)?;
        non_empty("token.authority", &t.authority)?;
        if !t.path.starts_with('/') {
            return Err(refuse("token.path", "must start with '/'"));
        }
        non_empty("token.scope", &t.scope)?;
        in_range("token.timeoutMs", t.timeout_ms, 1, 60_000)?;
        in_range("token.failureBackoffMs", t.failure_backoff_ms, 1, 600_000)?;
        in_range(
            "token.failureBackoffMaxMs",
            t.failure_backoff_max_ms,
            t.failure_backoff_ms,
            3_600_000,
        )?;
        in_range(
            "token.defaultLifetimeMs",
            t.default_lifetime_ms,
            1000,
            crate::token_reply::MAX_LIFETIME_MS,
        )?;
        in_range(
            "prompt.maxValueChars",
            cfg.prompt.max_value_chars as u64,
            8,
            10_000,
        )?;
        in_range("prompt.maxChars", cfg.prompt.max_chars as u64, 64, 100_000)?;
        let template = match &cfg.prompt.template {
            Some(t) => {
                Some(PromptTemplate::parse(t).map_err(|why| refuse("prompt.template", why))?)
            }
            None => None,
        };
        let unavailable_text = cfg.prompt.unavailable_text.clone();
        let unavailable_chars = unavailable_text.chars().count();
        in_range(
            "prompt.unavailableText",
            unavailable_chars as u64,
            1,
            cfg.prompt.max_chars as u64,
        )
        .map_err(|_| {
            refuse(
                "prompt.unavailableText",
                format!(
                    "must be 1 to prompt.maxChars ({}) characters, got {unavailable_chars}",
                    cfg.prompt.max_chars
                ),
            )
        })?;
        in_range(
            "answer.maxBytes",
            cfg.answer.max_bytes as u64,
            1024,
            16 * 1024 * 1024,
        )?;
        let prompt = PromptSettings {
            max_value_chars: cfg.prompt.max_value_chars,
            max_chars: cfg.prompt.max_chars,
            template,
        };

        let privacy = cfg.privacy.validate()?;

        let client_id = env(ENV_CLIENT_ID)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default();
        if client_id.is_empty() {
            return Err(refuse(
                ENV_CLIENT_ID,
                "environment variable is not set (add it to host_env_keys)",
            ));
        }
        let client_secret = Secret::new(
            env(ENV_CLIENT_SECRET)
                .map(|v| v.trim().to_owned())
                .unwrap_or_default(),
        );
        if client_secret.is_empty() {
            return Err(refuse(
                ENV_CLIENT_SECRET,
                "environment variable is not set (add it to host_env_keys)",
            ));
        }
        let auth = caller_auth(&cfg.auth, env)?;

        let copilot = cfg.copilot.validate()?;
        let mcp = cfg.mcp.validate(&cfg.enrich_path)?;
        let deadline = cfg.deadline_ms;
        let s = cfg.services;
        let services = ServiceSet {
            profile: service_settings(
                Service::Profile,
                s.customer_profile,
                &PROFILE_DEFAULTS,
                deadline,
            )?,
            orders: service_settings(Service::Orders, s.recent_orders, &ORDERS_DEFAULTS, deadline)?,
            tickets: service_settings(
                Service::Tickets,
                s.open_tickets,
                &TICKETS_DEFAULTS,
                deadline,
            )?,
        };
        Ok(Settings {
            enrich_path: cfg.enrich_path,
            auth,
            jwt_payload_key: cfg.auth.jwt_payload_key,
            customer_pattern,
            deadline_ms: deadline,
            limits: l,
            retry: RetryPolicy {
                max_attempts: cfg.retry.max_attempts,
                base_backoff_ms: cfg.retry.base_backoff_ms,
                max_backoff_ms: cfg.retry.max_backoff_ms,
            },
            token: TokenSettings {
                cluster: t.cluster,
                authority: t.authority,
                path: t.path,
                scope: t.scope,
                timeout_ms: t.timeout_ms,
                refresh_margin_ms: t.refresh_margin_ms,
                failure_backoff_ms: t.failure_backoff_ms,
                failure_backoff_max_ms: t.failure_backoff_max_ms,
                client_id,
                client_secret,
                default_lifetime_ms: t.default_lifetime_ms,
                client_auth: t.client_auth,
            },
            answer: AnswerSettings {
                max_bytes: cfg.answer.max_bytes,
                fields: answer::Fields {
                    profile: services.profile.fields.clone(),
                    orders: services.orders.fields.clone(),
                    tickets: services.tickets.fields.clone(),
                },
                unavailable_text,
            },
            services,
            prompt,
            server_timing: cfg.server_timing,
            privacy,
            copilot,
            answer_mode: cfg.answer_mode,
            mcp,
        })
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
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn env_all(k: &str) -> Option<String> {
        match k {
            ENV_CLIENT_ID => Some("id".into()),
            ENV_CLIENT_SECRET => Some("s3cret-value".into()),
            ENV_WEBHOOK_TOKENS => Some("a,b".into()),
            _ => None,
        }
    }

    fn err(json: &str) -> ConfigError {
        Settings::from_json(json.as_bytes(), &env_all).unwrap_err()
    }

    #[test]
    fn empty_config_means_defaults() {
        for json in ["", "{}", "  \n"] {
            let s = Settings::from_json(json.as_bytes(), &env_all).unwrap();
            assert_eq!(s.enrich_path, "/api/v1/agent-assist/enrich");
            assert_eq!(s.deadline_ms, 4500);
            assert!(
                s.services.profile.required
                    && !s.services.orders.required
                    && !s.services.tickets.required
            );
            assert_eq!(
                s.services.orders.path.render("C%2F1", 5),
                "/api/v1/orders?customerId=C%2F1&limit=5&sort=createdDesc"
            );
            assert_eq!(
                s.services.tickets.path.render("C1", 5),
                "/api/v1/crm/tickets?customerId=C1&status=open"
            );
            assert_eq!(s.services.profile.cluster, "customer_profile");
            assert_eq!(s.token.scope, "customer:read orders:read crm:read");
            assert_eq!(s.auth.token_count(), 2);
        }
    }

    #[test]
    fn unknown_fields_are_named() {
        let e = err(r#"{"enrichPth": "/x"}"#);
        assert_eq!(e.field, "enrichPth");
        assert!(e.reason.contains("unknown field"), "{e}");
        let e = err(r#"{"services": {"recentOrders": {"limitt": 3}}}"#);
        assert_eq!(e.field, "services.recentOrders.limitt");
    }

    #[test]
    fn wrong_types_and_ranges_are_named() {
        assert_eq!(err(r#"{"deadlineMs": "fast"}"#).field, "deadlineMs");
        assert_eq!(err(r#"{"deadlineMs": 5}"#).field, "deadlineMs");
        assert_eq!(
            err(r#"{"retry": {"maxAttempts": 0}}"#).field,
            "retry.maxAttempts"
        );
        assert_eq!(
            err(r#"{"customerNumberPattern": "("}"#).field,
            "customerNumberPattern"
        );
        assert_eq!(
            err(r#"{"customerNumberPattern": "a)|(b"}"#).field,
            "customerNumberPattern"
        );
        assert_eq!(
            err(r#"{"services": {"customerProfile": {"limit": 3}}}"#).field,
            "services.customerProfile.limit"
        );
        assert_eq!(
            err(r#"{"services": {"openTickets": {"timeoutMs": 99999}}}"#).field,
            "services.openTickets.timeoutMs"
        );
        assert!(err("[1]").reason.contains("invalid"), "{}", err("[1]"));
        assert_eq!(err("{").field, "(root)");
        // serde would read an array into a struct by position; nothing here is a list.
        assert_eq!(err(r#"{"limits": [4096, 8]}"#).field, "limits");
        assert_eq!(err("[]").field, "(root)");
    }

    #[test]
    fn path_templates_are_checked() {
        for (path, why) in [
            ("api/{customerNumber}", "start with"),
            ("/api/v1/customers", "must contain"),
            ("/api/{customerNumber}/{limit}", "unknown placeholder"),
            ("/api/{customerNumber", "unclosed"),
            ("/api/{customerNumber}}", "unmatched"),
            ("/a}/{customerNumber}", "unmatched"),
            ("/api/{customerNumber}#x", "not allowed"),
            ("/api/ {customerNumber}", "not allowed"),
        ] {
            let json = format!(r#"{{"services": {{"customerProfile": {{"path": "{path}"}}}}}}"#);
            let e = err(&json);
            assert_eq!(e.field, "services.customerProfile.path", "{path}");
            assert!(e.reason.contains(why), "{path}: {e}");
        }
        let s = Settings::from_json(
            br#"{"services": {"recentOrders": {"path": "/o/{customerNumber}?n={limit}", "limit": 9}}}"#,
            &env_all,
        )
        .unwrap();
        assert_eq!(
            s.services.orders.path.render("X", s.services.orders.limit),
            "/o/X?n=9"
        );
    }

    #[test]
    fn cache_is_off_unless_configured() {
        let s = Settings::from_json(b"{}", &env_all).unwrap();
        assert!(s.services.profile.cache.is_none());
        let s = Settings::from_json(
            br#"{"services": {"customerProfile": {"cache": {"ttlMs": 30000}}}}"#,
            &env_all,
        )
        .unwrap();
        assert_eq!(
            s.services.profile.cache,
            Some(CacheSettings {
                ttl_ms: 30000,
                stale_if_error_ms: 0,
                slots: 1024
            })
        );
        assert_eq!(
            err(r#"{"services": {"customerProfile": {"cache": {"ttlMs": 0}}}}"#).field,
            "services.customerProfile.cache.ttlMs"
        );
        assert_eq!(
            err(r#"{"services": {"customerProfile": {"cache": {}}}}"#).field,
            "services.customerProfile.cache"
        );
    }

    #[test]
    fn prompt_template_fields_are_checked() {
        let e = err(r#"{"prompt": {"template": "Name: {fullName}"}}"#);
        assert_eq!(e.field, "prompt.template");
        assert!(e.reason.contains("unknown field {fullName}"), "{e}");
        let s = Settings::from_json(
            br#"{"prompt": {"template": "{customerName} ({segment})"}}"#,
            &env_all,
        )
        .unwrap();
        assert!(s.prompt.template.is_some());
    }

    #[test]
    fn customer_pattern_is_anchored() {
        let s =
            Settings::from_json(br#"{"customerNumberPattern": "[A-Z0-9]+"}"#, &env_all).unwrap();
        assert!(s.customer_pattern.is_match("AB12"));
        assert!(!s.customer_pattern.is_match("../AB12"));
        assert!(!s.customer_pattern.is_match("AB12?x=1"));
    }

    #[test]
    fn secrets_come_from_env_and_are_required() {
        let only = |keys: &'static [&'static str]| {
            move |k: &str| if keys.contains(&k) { env_all(k) } else { None }
        };
        let e = Settings::from_json(b"{}", &only(&[ENV_CLIENT_SECRET, ENV_WEBHOOK_TOKENS]))
            .unwrap_err();
        assert_eq!(e.field, ENV_CLIENT_ID);
        let e =
            Settings::from_json(b"{}", &only(&[ENV_CLIENT_ID, ENV_WEBHOOK_TOKENS])).unwrap_err();
        assert_eq!(e.field, ENV_CLIENT_SECRET);
        let e = Settings::from_json(b"{}", &only(&[ENV_CLIENT_ID, ENV_CLIENT_SECRET])).unwrap_err();
        assert_eq!(e.field, ENV_WEBHOOK_TOKENS);
        let s = Settings::from_json(
            br#"{"auth": {"enabled": false}}"#,
            &only(&[ENV_CLIENT_ID, ENV_CLIENT_SECRET]),
        )
        .unwrap();
        assert!(!s.auth.is_enabled());
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let s = Settings::from_json(b"{}", &env_all).unwrap();
        let dump = format!("{s:?}");
        assert!(!dump.contains("s3cret-value"));
        assert!(dump.contains("redacted"));
    }

    #[test]
    fn token_endpoint_defaults_follow_the_seed() {
        let s = Settings::from_json(b"{}", &env_all).unwrap();
        assert_eq!(s.token.path, "/oauth2/token");
        assert_eq!(s.token.default_lifetime_ms, 300_000);
        assert_eq!(s.token.client_auth, ClientAuth::Body);
        let s = Settings::from_json(
            br#"{"token": {"clientAuth": "basic", "defaultLifetimeMs": 60000}}"#,
            &env_all,
        )
        .unwrap();
        assert_eq!(s.token.client_auth, ClientAuth::Basic);
        assert_eq!(s.token.default_lifetime_ms, 60_000);
        assert_eq!(
            err(r#"{"token": {"clientAuth": "header"}}"#).field,
            "token.clientAuth"
        );
        assert_eq!(
            err(r#"{"token": {"defaultLifetimeMs": 999}}"#).field,
            "token.defaultLifetimeMs"
        );
        assert_eq!(
            err(r#"{"token": {"defaultLifetimeMs": 86400001}}"#).field,
            "token.defaultLifetimeMs"
        );
    }

    #[test]
    fn auth_schemes_require_only_their_own_secrets() {
        let s = Settings::from_json(b"{}", &env_all).unwrap();
        assert_eq!(s.auth.schemes(), &[Scheme::Bearer, Scheme::ApiKey]);
        assert_eq!(s.jwt_payload_key, "jwt_payload");
        let ids = |k: &str| match k {
            ENV_CLIENT_ID | ENV_CLIENT_SECRET => env_all(k),
            _ => None,
        };
        // jwt alone needs no webhook token
        let s = Settings::from_json(br#"{"auth": {"schemes": ["jwt"]}}"#, &ids).unwrap();
        assert!(s.auth.accepts(Scheme::Jwt) && !s.auth.accepts(Scheme::Bearer));
        // bearer or apiKey without tokens is refused
        for schemes in [r#"["bearer"]"#, r#"["apiKey", "jwt"]"#] {
            let json = format!(r#"{{"auth": {{"schemes": {schemes}}}}}"#);
            let e = Settings::from_json(json.as_bytes(), &ids).unwrap_err();
            assert_eq!(e.field, ENV_WEBHOOK_TOKENS, "{schemes}");
        }
        // basic needs its credentials, well formed, and never echoes them
        let e = Settings::from_json(br#"{"auth": {"schemes": ["basic"]}}"#, &ids).unwrap_err();
        assert_eq!(e.field, ENV_BASIC_CREDENTIALS);
        let bad = |k: &str| match k {
            ENV_BASIC_CREDENTIALS => Some("good:pw,secretvalue-without-colon".into()),
            _ => ids(k),
        };
        let e = Settings::from_json(br#"{"auth": {"schemes": ["basic"]}}"#, &bad).unwrap_err();
        assert_eq!(e.field, ENV_BASIC_CREDENTIALS);
        assert!(e.reason.contains("entry 2"), "{e}");
        assert!(!e.to_string().contains("secretvalue"), "{e}");
        let good = |k: &str| match k {
            ENV_BASIC_CREDENTIALS => Some("cognigy:p:w".into()),
            _ => ids(k),
        };
        let s = Settings::from_json(br#"{"auth": {"schemes": ["basic"]}}"#, &good).unwrap();
        assert!(s.auth.accepts(Scheme::Basic));
        assert!(!format!("{s:?}").contains("p:w"));
        // the list itself
        assert_eq!(err(r#"{"auth": {"schemes": []}}"#).field, "auth.schemes");
        assert_eq!(
            err(r#"{"auth": {"schemes": ["digest"]}}"#).field,
            "auth.schemes[0]"
        );
        assert_eq!(
            err(r#"{"auth": {"schemes": "bearer"}}"#).field,
            "auth.schemes"
        );
        assert_eq!(
            err(r#"{"auth": {"jwtPayloadKey": "a b"}}"#).field,
            "auth.jwtPayloadKey"
        );
        // every other array is still refused
        assert_eq!(
            err(r#"{"auth": {"enabled": [true]}}"#).field,
            "auth.enabled"
        );
        let s =
            Settings::from_json(br#"{"auth": {"enabled": false, "schemes": []}}"#, &ids).unwrap();
        assert!(!s.auth.is_enabled());
    }
}
