//! Caller credentials at the engine: the schemes of the configuration, repeated headers, the
//! JWT verdict the host reports, and the challenge a 401 carries.

use std::rc::Rc;

use super::sim::*;
use crate::config::ENV_WEBHOOK_TOKENS;
use crate::config::{Settings, ENV_BASIC_CREDENTIALS, ENV_CLIENT_ID, ENV_CLIENT_SECRET};
use crate::engine::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// A sim whose settings read `ENRICH_BASIC_CREDENTIALS` too.
fn sim_with_basic(config: &str) -> Sim {
    let mut sim = Sim::new("{}");
    let settings = Settings::from_json(config.as_bytes(), &|k| match k {
        ENV_CLIENT_ID => Some("cognigy-proxy-client".into()),
        ENV_CLIENT_SECRET => Some("proxy-secret-key".into()),
        ENV_WEBHOOK_TOKENS => Some("demo-webhook-token".into()),
        ENV_BASIC_CREDENTIALS => Some("cognigy:pa:ss".into()),
        _ => None,
    })
    .unwrap();
    sim.engine = Engine::new(Rc::new(settings), &*sim.store);
    sim
}

fn challenge(r: &Reply) -> Option<&str> {
    r.headers
        .iter()
        .find(|(k, _)| *k == "www-authenticate")
        .map(|(_, v)| v.as_str())
}

#[test]
fn the_401_challenge_names_exactly_the_accepted_schemes() {
    for (config, want) in [
        ("{}", Some("Bearer")),
        (r#"{"auth": {"schemes": ["jwt"]}}"#, Some("Bearer")),
        (r#"{"auth": {"schemes": ["apiKey"]}}"#, None),
        (
            r#"{"auth": {"schemes": ["apiKey", "basic"]}}"#,
            Some(r#"Basic realm="cognigy-enrich""#),
        ),
        (
            r#"{"auth": {"schemes": ["basic", "bearer", "jwt"]}}"#,
            Some(r#"Bearer, Basic realm="cognigy-enrich""#),
        ),
    ] {
        let mut sim = sim_with_basic(config);
        let h = RequestHead {
            authorization: None,
            ..head("POST")
        };
        assert_eq!(sim.start_with(1, &h, BODY), Action::Pause);
        let r = &sim.answers[&1];
        assert_eq!(r.status, 401, "{config}");
        assert_eq!(challenge(r), want, "{config}");
        assert_eq!(
            r.headers
                .iter()
                .filter(|(k, _)| *k == "www-authenticate")
                .count(),
            usize::from(want.is_some()),
            "{config}: one challenge header at most"
        );
        assert_eq!(json(r)["detail"], "Not authenticated");
        assert!(sim.calls.is_empty());
    }
}

#[test]
fn basic_and_api_key_forms_are_admitted_when_listed() {
    let mut sim = sim_with_basic(r#"{"auth": {"schemes": ["apiKey", "basic"]}}"#);
    // base64("cognigy:pa:ss")
    for (ctx, auth) in [
        (1, "Basic Y29nbmlneTpwYTpzcw=="),
        (2, "ApiKey demo-webhook-token"),
    ] {
        let h = RequestHead {
            authorization: Some(auth),
            ..head("POST")
        };
        assert_eq!(sim.start_with(ctx, &h, BODY), Action::Pause);
        assert!(
            !sim.answers.contains_key(&ctx),
            "{auth}: admitted, waits for data"
        );
    }
    // bearer is not listed: the webhook token as a Bearer is no credential here
    let h = RequestHead {
        authorization: Some("Bearer demo-webhook-token"),
        ..head("POST")
    };
    sim.start_with(3, &h, BODY);
    assert_eq!(sim.answers[&3].status, 401);
}

#[test]
fn repeated_credential_headers_are_refused_even_when_right() {
    let mut sim = Sim::new("{}");
    let h = RequestHead {
        repeated_credentials: true,
        ..head("POST")
    };
    assert_eq!(sim.start_with(1, &h, BODY), Action::Pause);
    let r = &sim.answers[&1];
    assert_eq!(r.status, 401);
    assert_eq!(
        json(r)["detail"],
        "More than one Authorization or X-API-Key header"
    );
    assert_eq!(request_observation(&mut sim.engine).0, "unauthorized");
    assert!(sim.calls.is_empty());
}

#[test]
fn jwt_admits_only_on_the_hosts_verdict() {
    let mut sim = Sim::new(r#"{"auth": {"schemes": ["jwt"]}}"#);
    let jwt = RequestHead {
        authorization: Some("Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig"),
        ..head("POST")
    };
    let unverified = sim.start_with(1, &jwt, BODY);
    assert_eq!(unverified, Action::Pause);
    assert_eq!(sim.answers[&1].status, 401);
    assert_eq!(json(&sim.answers[&1])["detail"], "Invalid webhook token");
    let verified = RequestHead {
        jwt_verified: true,
        ..jwt
    };
    assert_eq!(sim.start_with(2, &verified, BODY), Action::Pause);
    assert!(!sim.answers.contains_key(&2), "admitted");
    sim.with_token();
    sim.answer_all_ok();
    assert_eq!(sim.answers[&2].status, 200);
}
