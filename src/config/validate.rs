//! Validation of the read configuration into [`Settings`]: ranges, templates, the services with
//! their defaults, and the secrets from the environment.

use super::{
    refuse, AuthConfig, ConfigError, LimitsConfig, PathTemplate, PluginConfig, PromptConfig,
    PromptSettings, ServiceConfig, ServiceSettings, Settings, TokenSettings, ENV_BASIC_CREDENTIALS,
    ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_WEBHOOK_TOKENS,
};
use crate::answer::{self, AnswerSettings, FieldList};
use crate::auth::{parse_basic_list, BasicListError, Scheme, WebhookAuth};
use crate::backoff::RetryPolicy;
use crate::customer_pattern::CustomerPattern;
use crate::secret::Secret;
use crate::service::{PerService, Service};
use crate::template::PromptTemplate;

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
    deadline_ms: u64,
) -> Result<ServiceSettings, ConfigError> {
    let d = service.spec();
    let field = format!("services.{}", d.answer_key);
    let cluster = cfg.cluster.unwrap_or_else(|| d.cluster.to_owned());
    non_empty(&format!("{field}.cluster"), &cluster)?;
    let authority = cfg.authority.unwrap_or_else(|| cluster.clone());
    non_empty(&format!("{field}.authority"), &authority)?;
    if cfg.limit.is_some() && !d.has_limit {
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
        d.has_limit,
    )?;
    let timeout_ms = cfg.timeout_ms.unwrap_or(deadline_ms);
    in_range(&format!("{field}.timeoutMs"), timeout_ms, 1, deadline_ms)?;
    if let Some(c) = &cfg.cache {
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
    }
    let fields = match cfg.fields {
        Some(names) => {
            Some(FieldList::new(names).map_err(|why| refuse(format!("{field}.fields"), why))?)
        }
        None => None,
    };
    Ok(ServiceSettings {
        cluster: cluster.into(),
        authority: authority.into(),
        path,
        required: cfg.required.unwrap_or(d.required),
        timeout_ms,
        limit,
        cache: cfg.cache,
        fields,
    })
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

/// The whole check, section by section in a fixed order (the first refusal is the one
/// reported).
pub(super) fn validate(
    cfg: PluginConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigError> {
    let customer_pattern = route(&cfg)?;
    limits(&cfg.limits)?;
    retry(&cfg.retry)?;
    token_endpoint(&cfg.token)?;
    let prompt = prompt(&cfg.prompt)?;
    in_range(
        "answer.maxBytes",
        cfg.answer.max_bytes as u64,
        1024,
        16 * 1024 * 1024,
    )?;
    let privacy = cfg.privacy.validate()?;
    let (client_id, client_secret) = client_credentials(env)?;
    let auth = caller_auth(&cfg.auth, env)?;
    let copilot = cfg.copilot.validate()?;
    let mcp = cfg.mcp.validate(&cfg.enrich_path)?;
    let deadline = cfg.deadline_ms;
    let mut raw = cfg.services;
    let services =
        PerService::try_from_fn(|s| service_settings(s, std::mem::take(&mut raw[s]), deadline))?;
    Ok(Settings {
        enrich_path: cfg.enrich_path,
        auth,
        jwt_payload_key: cfg.auth.jwt_payload_key,
        customer_pattern,
        deadline_ms: deadline,
        limits: cfg.limits,
        retry: cfg.retry,
        token: TokenSettings {
            client_id,
            client_secret,
            ..cfg.token
        },
        answer: AnswerSettings {
            max_bytes: cfg.answer.max_bytes,
            fields: answer::Fields {
                profile: services[Service::Profile].fields.clone(),
                orders: services[Service::Orders].fields.clone(),
                tickets: services[Service::Tickets].fields.clone(),
            },
            unavailable_text: cfg.prompt.unavailable_text,
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

/// `enrichPath`, `customerNumberPattern` (compiled, anchored) and `deadlineMs`.
fn route(cfg: &PluginConfig) -> Result<CustomerPattern, ConfigError> {
    if !cfg.enrich_path.starts_with('/') || cfg.enrich_path.contains(['?', '#']) {
        return Err(refuse(
            "enrichPath",
            "must be a path starting with '/', without query or fragment",
        ));
    }
    // Anchored, so a pattern written without ^...$ still has to match the whole value.
    let customer_pattern = CustomerPattern::new(&cfg.customer_number_pattern).map_err(|e| {
        refuse(
            "customerNumberPattern",
            format!("not a valid regular expression: {e}"),
        )
    })?;
    in_range("deadlineMs", cfg.deadline_ms, 100, 60_000)?;
    Ok(customer_pattern)
}

fn limits(l: &LimitsConfig) -> Result<(), ConfigError> {
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
    in_range("limits.maxListItems", l.max_list_items as u64, 1, 1000)
}

fn retry(r: &RetryPolicy) -> Result<(), ConfigError> {
    in_range("retry.maxAttempts", u64::from(r.max_attempts), 1, 10)?;
    in_range("retry.baseBackoffMs", r.base_backoff_ms, 1, 60_000)?;
    in_range(
        "retry.maxBackoffMs",
        r.max_backoff_ms,
        r.base_backoff_ms,
        600_000,
    )
}

fn token_endpoint(t: &TokenSettings) -> Result<(), ConfigError> {
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
    )
}

fn prompt(p: &PromptConfig) -> Result<PromptSettings, ConfigError> {
    in_range("prompt.maxValueChars", p.max_value_chars as u64, 8, 10_000)?;
    in_range("prompt.maxChars", p.max_chars as u64, 64, 100_000)?;
    let template = match &p.template {
        Some(t) => Some(PromptTemplate::parse(t).map_err(|why| refuse("prompt.template", why))?),
        None => None,
    };
    let unavailable_chars = p.unavailable_text.chars().count();
    if unavailable_chars == 0 || unavailable_chars > p.max_chars {
        return Err(refuse(
            "prompt.unavailableText",
            format!(
                "must be 1 to prompt.maxChars ({}) characters, got {unavailable_chars}",
                p.max_chars
            ),
        ));
    }
    Ok(PromptSettings {
        max_value_chars: p.max_value_chars,
        max_chars: p.max_chars,
        template,
    })
}

/// `ENRICH_CLIENT_ID` and `ENRICH_CLIENT_SECRET`, both required.
fn client_credentials(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, Secret), ConfigError> {
    let read = |name: &str| {
        let value = env(name).map(|v| v.trim().to_owned()).unwrap_or_default();
        if value.is_empty() {
            return Err(refuse(
                name,
                "environment variable is not set (add it to host_env_keys)",
            ));
        }
        Ok(value)
    };
    Ok((read(ENV_CLIENT_ID)?, Secret::new(read(ENV_CLIENT_SECRET)?)))
}
