//! The configuration's unit tests.

use super::*;
use crate::auth::Scheme;
use crate::service::Service;
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
            s.services[Service::Profile].required
                && !s.services[Service::Orders].required
                && !s.services[Service::Tickets].required
        );
        assert_eq!(
            s.services[Service::Orders].path.render("C%2F1", 5),
            "/api/v1/orders?customerId=C%2F1&limit=5&sort=createdDesc"
        );
        assert_eq!(
            s.services[Service::Tickets].path.render("C1", 5),
            "/api/v1/crm/tickets?customerId=C1&status=open"
        );
        assert_eq!(&*s.services[Service::Profile].cluster, "customer_profile");
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
        s.services[Service::Orders]
            .path
            .render("X", s.services[Service::Orders].limit),
        "/o/X?n=9"
    );
}

#[test]
fn cache_is_off_unless_configured() {
    let s = Settings::from_json(b"{}", &env_all).unwrap();
    assert!(s.services[Service::Profile].cache.is_none());
    let s = Settings::from_json(
        br#"{"services": {"customerProfile": {"cache": {"ttlMs": 30000}}}}"#,
        &env_all,
    )
    .unwrap();
    assert_eq!(
        s.services[Service::Profile].cache,
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
    let s = Settings::from_json(br#"{"customerNumberPattern": "[A-Z0-9]+"}"#, &env_all).unwrap();
    assert!(s.customer_pattern.is_match("AB12"));
    assert!(!s.customer_pattern.is_match("../AB12"));
    assert!(!s.customer_pattern.is_match("AB12?x=1"));
}

#[test]
fn secrets_come_from_env_and_are_required() {
    let only = |keys: &'static [&'static str]| {
        move |k: &str| if keys.contains(&k) { env_all(k) } else { None }
    };
    let e =
        Settings::from_json(b"{}", &only(&[ENV_CLIENT_SECRET, ENV_WEBHOOK_TOKENS])).unwrap_err();
    assert_eq!(e.field, ENV_CLIENT_ID);
    let e = Settings::from_json(b"{}", &only(&[ENV_CLIENT_ID, ENV_WEBHOOK_TOKENS])).unwrap_err();
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
    let s = Settings::from_json(br#"{"auth": {"enabled": false, "schemes": []}}"#, &ids).unwrap();
    assert!(!s.auth.is_enabled());
}
