//! Every credential as real servers and Cognigy send it, end to end in the real Envoy: the token
//! endpoint laid out as in the seed, token replies per RFC 6749 5.1, client authentication in
//! the body or by Basic, and every way a Cognigy Connection authenticates (Bearer, both API key
//! forms, Basic, and an OAuth2 Connection's JWT verified by Envoy's jwt_authn).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use mock_upstreams::{ClientAuth, ExpiresIn, TokenReplyShape};
use serde_json::json;
use support::*;

const BASIC_CHALLENGE: &str = r#"Basic realm="cognigy-enrich""#;

fn post(agent: &ureq::Agent, envoy: &Envoy, headers: &[(&str, &str)]) -> Resp {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    send(
        agent,
        "POST",
        &envoy.url(ENRICH_PATH),
        &all,
        Some(ELENA.as_bytes()),
    )
}

/// A 401 in the product's JSON shape, with the challenge the configuration implies.
fn assert_401(r: &Resp, challenge: &str, what: &str) {
    assert_eq!(r.status, 401, "{what}: {}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"), "{what}");
    assert!(!r.detail().is_empty(), "{what}: {}", r.body);
    assert_eq!(r.header("www-authenticate"), Some(challenge), "{what}");
}

/// A request written by hand, for what an HTTP client library will not send: a header twice,
/// bytes that are not UTF-8. Returns the status, the raw response head and the body.
fn raw_post(envoy: &Envoy, headers: &[(&str, &[u8])]) -> (u16, String, String) {
    let headers: Vec<(&[u8], &[u8])> = headers.iter().map(|(n, v)| (n.as_bytes(), *v)).collect();
    raw_post_bytes(envoy, &headers)
}

/// [`raw_post`] with header names as bytes too.
fn raw_post_bytes(envoy: &Envoy, headers: &[(&[u8], &[u8])]) -> (u16, String, String) {
    let mut req = format!(
        "POST {ENRICH_PATH} HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        ELENA.len()
    )
    .into_bytes();
    for (name, value) in headers {
        req.extend_from_slice(name);
        req.extend_from_slice(b": ");
        req.extend_from_slice(value);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"\r\n");
    req.extend_from_slice(ELENA.as_bytes());
    let mut stream = TcpStream::connect(("127.0.0.1", envoy.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(&req).unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

fn head_header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The demo's secret keys, and the Basic pairs the `basic` scheme reads.
const KEYS: &str = "host_env_keys: [ENRICH_CLIENT_ID, ENRICH_CLIENT_SECRET, ENRICH_WEBHOOK_TOKENS]";
const KEYS_WITH_BASIC: &str = "host_env_keys: [ENRICH_CLIENT_ID, ENRICH_CLIENT_SECRET, ENRICH_WEBHOOK_TOKENS, ENRICH_BASIC_CREDENTIALS]";

fn start_env(mocks: &Mocks, plugin_config: &str, env: &[(&'static str, &str)]) -> Envoy {
    let mut opts = EnvoyOptions {
        plugin_config: plugin_config.to_owned(),
        patches: vec![(KEYS.to_owned(), KEYS_WITH_BASIC.to_owned())],
        ..EnvoyOptions::default()
    };
    for (k, v) in env {
        opts.env.retain(|(name, _)| name != k);
        opts.env.push((k, Some((*v).to_owned())));
    }
    Envoy::start(mocks, opts)
}

#[test]
fn token_endpoint_as_the_seed_has_it_and_the_configure_line() {
    let (mocks, envoy) = stack(r#"{"deadlineMs": 4500}"#);
    let agent = agent();
    let r = enrich(&agent, &envoy, ELENA);
    assert_eq!(r.status, 200, "{}", r.body);
    let token = mocks.requests(Service::Token);
    assert_eq!(token.len(), 1);
    assert_eq!(token[0].path_and_query, "/oauth2/token");
    let line = "cognigy-enrich configured: token endpoint cluster token_service, path /oauth2/token, client auth Body";
    let log = envoy.log_when(10, |l| l.contains(line));
    assert!(log.contains(line), "{log}");
    // The line we waited for is there; the client secret is not, anywhere in the log.
    assert!(!log.contains("proxy-secret-key"));

    // The default schemes: a Bearer in any case and both API key forms; Basic is not listed,
    // so it counts as no credential, and the challenge names Bearer only.
    for auth in [
        "Bearer demo-webhook-token",
        "bearer demo-webhook-token",
        "BEARER rotated-token",
        "ApiKey demo-webhook-token",
        "apikey rotated-token",
    ] {
        let r = post(&agent, &envoy, &[("authorization", auth)]);
        assert_eq!(r.status, 200, "{auth}: {}", r.body);
    }
    let r = post(&agent, &envoy, &[("x-api-key", "demo-webhook-token")]);
    assert_eq!(r.status, 200, "{}", r.body);
    let basic = format!("Basic {}", STANDARD.encode("cognigy:demo-webhook-token"));
    let r = post(&agent, &envoy, &[("authorization", &basic)]);
    assert_401(&r, "Bearer", "basic not listed");
    assert_eq!(r.detail(), "Not authenticated");
}

fn shape(expires_in: ExpiresIn, token_type: Option<&str>) -> TokenReplyShape {
    TokenReplyShape {
        expires_in,
        token_type: token_type.map(str::to_owned),
    }
}

#[test]
fn token_replies_real_servers_send_are_accepted() {
    let (mocks, envoy) = stack(r#"{"deadlineMs": 4500}"#);
    let agent = agent();
    let cases = [
        (
            shape(ExpiresIn::Omitted, Some("Bearer")),
            "OAuth token fetched: the reply has no expires_in; assuming token.defaultLifetimeMs (300000 ms)",
        ),
        (shape(ExpiresIn::TtlAsString, Some("bearer")), ""),
        (shape(ExpiresIn::Ttl, Some("BEARER")), ""),
        (
            shape(ExpiresIn::Ttl, None),
            "OAuth token fetched: the reply has no token_type; using it as a Bearer token",
        ),
        (
            shape(ExpiresIn::Raw(json!(31_536_000)), Some("Bearer")),
            "expires_in is over 24 h; renewing within 24 h",
        ),
    ];
    for (i, (shape, line)) in cases.into_iter().enumerate() {
        mocks.set_token_reply(shape.clone());
        // The filter's token is dropped when a service refuses it: the next call fetches anew.
        mocks.revoke_all_tokens();
        let r = enrich(&agent, &envoy, ELENA);
        assert_eq!(r.status, 200, "{shape:?}: {}", r.body);
        assert_eq!(mocks.request_count(Service::Token), i + 1, "{shape:?}");
        if !line.is_empty() {
            let log = envoy.log_when(10, |l| l.contains(line));
            assert!(log.contains(line), "{shape:?}: {log}");
        }
    }
    // The last token (a year, cut to a day) serves every later request: no further fetch.
    for _ in 0..5 {
        assert_eq!(enrich(&agent, &envoy, ELENA).status, 200);
    }
    assert_eq!(mocks.request_count(Service::Token), 5);
    assert_eq!(envoy.stat("wasmcustom.cognigy_enrich.token_fetch.ok"), 5);
}

#[test]
fn unusable_token_replies_fail_with_backoff_never_a_fetch_loop() {
    // A 1 ms backoff, so every request fetches again: one fetch per shape.
    let (mocks, envoy) = stack(
        r#"{"deadlineMs": 4500, "token": {"failureBackoffMs": 1, "failureBackoffMaxMs": 1}}"#,
    );
    let agent = agent();
    let bad_lifetime =
        "OAuth token fetch failed: expires_in is not a positive whole number of seconds";
    let cases = [
        (
            shape(ExpiresIn::Raw(json!(0)), Some("Bearer")),
            bad_lifetime,
        ),
        (
            shape(ExpiresIn::Raw(json!(-5)), Some("Bearer")),
            bad_lifetime,
        ),
        (
            shape(ExpiresIn::Raw(json!(3600.5)), Some("Bearer")),
            bad_lifetime,
        ),
        (
            shape(ExpiresIn::Raw(json!("soon")), Some("Bearer")),
            bad_lifetime,
        ),
        (
            shape(ExpiresIn::Ttl, Some("mac")),
            r#"OAuth token fetch failed: token_type "mac" is not Bearer"#,
        ),
        (
            shape(ExpiresIn::Ttl, Some("DPoP")),
            r#"OAuth token fetch failed: token_type "DPoP" is not Bearer"#,
        ),
    ];
    for (i, (shape, line)) in cases.into_iter().enumerate() {
        mocks.set_token_reply(shape.clone());
        // A request within the same millisecond as the last failure still sees it (the 1 ms
        // backoff): ask until one fetches, each answer the same 502.
        for _ in 0..100 {
            let r = enrich(&agent, &envoy, ELENA);
            assert_eq!(r.status, 502, "{shape:?}: {}", r.body);
            assert_eq!(r.detail(), "OAuth token service unavailable", "{shape:?}");
            if mocks.request_count(Service::Token) > i {
                break;
            }
        }
        assert_eq!(mocks.request_count(Service::Token), i + 1, "{shape:?}");
        let log = envoy.log_when(10, |l| l.contains(line));
        assert!(log.contains(line), "{shape:?}: {log}");
    }
    assert_eq!(mocks.request_count(Service::Profile), 0);
    drop(envoy);

    // With the default backoff (1 s, doubling) a refused reply is not fetched again per request.
    let envoy = start_env(
        &mocks,
        r#"{"deadlineMs": 4500, "token": {"failureBackoffMs": 5000}}"#,
        &[],
    );
    mocks.clear_requests();
    mocks.set_token_reply(shape(ExpiresIn::Raw(json!(0)), Some("Bearer")));
    // Five requests take far less than the 5 s backoff even on a loaded 2-core machine (each
    // is answered locally in milliseconds); all see the recorded failure, none fetches.
    for _ in 0..5 {
        let r = enrich(&agent, &envoy, ELENA);
        assert_eq!(r.status, 502, "{}", r.body);
        assert_eq!(r.detail(), "OAuth token service unavailable");
    }
    assert_eq!(mocks.request_count(Service::Token), 1);
    assert_eq!(
        envoy.stat("wasmcustom.cognigy_enrich.token_fetch.failed"),
        1
    );
}

/// An id and a secret with a space, `:`, `+`, `%`, `/` and non-ASCII characters.
const ODD_ID: &str = "cognigy proxy:+%/é";
const ODD_SECRET: &str = "s3cr:t +%/ü€";

#[test]
fn client_auth_body_and_basic_each_against_a_server_that_refuses_the_other() {
    let env = [
        ("ENRICH_CLIENT_ID", ODD_ID),
        ("ENRICH_CLIENT_SECRET", ODD_SECRET),
    ];
    let agent = agent();
    for server in [ClientAuth::Body, ClientAuth::Basic] {
        let mocks = Mocks::start(MockConfig {
            client_id: ODD_ID.into(),
            client_secret: ODD_SECRET.into(),
            client_auth: server,
            ..MockConfig::default()
        })
        .unwrap();
        for (ours, config) in [
            (ClientAuth::Body, r#"{"deadlineMs": 4500}"#),
            (
                ClientAuth::Basic,
                r#"{"deadlineMs": 4500, "token": {"clientAuth": "basic"}}"#,
            ),
        ] {
            mocks.clear_requests();
            let envoy = start_env(&mocks, config, &env);
            let r = enrich(&agent, &envoy, ELENA);
            let sent = mocks.requests(Service::Token);
            assert_eq!(sent.len(), 1, "{server:?}/{ours:?}");
            let form = sent[0].form();
            let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            match ours {
                ClientAuth::Body => {
                    assert_eq!(sent[0].header("authorization"), None);
                    assert_eq!(field("client_id").as_deref(), Some(ODD_ID));
                    assert_eq!(field("client_secret").as_deref(), Some(ODD_SECRET));
                }
                ClientAuth::Basic => {
                    assert_eq!(field("client_id"), None, "no credentials in the body");
                    assert_eq!(field("client_secret"), None);
                    assert_eq!(field("grant_type").as_deref(), Some("client_credentials"));
                    let value = sent[0].header("authorization").unwrap();
                    assert!(value.starts_with("Basic "), "{value}");
                }
            }
            if server == ours {
                assert_eq!(r.status, 200, "{server:?}/{ours:?}: {}", r.body);
            } else {
                assert_eq!(r.status, 502, "{server:?}/{ours:?}: {}", r.body);
                assert_eq!(r.detail(), "OAuth client credentials invalid");
            }
            let log = envoy.log_when(10, |l| l.contains("enrich "));
            assert!(log.contains("enrich "), "{log}");
            assert!(!log.contains(ODD_SECRET), "secret in the log");
        }
    }
}

#[test]
fn every_cognigy_connection_type_and_what_is_refused() {
    let basic_pairs = "cognigy:pa:ss wörd,other:x";
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let envoy = start_env(
        &mocks,
        r#"{"deadlineMs": 4500, "auth": {"schemes": ["bearer", "apiKey", "basic"]}}"#,
        &[("ENRICH_BASIC_CREDENTIALS", basic_pairs)],
    );
    let agent = agent();
    let challenge = format!("Bearer, {BASIC_CHALLENGE}");
    let basic = |s: &[u8]| format!("Basic {}", STANDARD.encode(s));
    let mut admitted = 0;
    for (name, value) in [
        ("authorization", "Bearer demo-webhook-token".to_owned()),
        ("authorization", "bEaReR demo-webhook-token".to_owned()),
        ("authorization", "ApiKey demo-webhook-token".to_owned()),
        ("x-api-key", "rotated-token".to_owned()),
        ("authorization", basic("cognigy:pa:ss wörd".as_bytes())),
        ("authorization", basic(b"other:x").replace("Basic", "basic")),
    ] {
        let r = post(&agent, &envoy, &[(name, &value)]);
        assert_eq!(r.status, 200, "{name}: {value}: {}", r.body);
        admitted += 1;
    }
    for (what, value, detail) in [
        (
            "wrong password",
            basic(b"cognigy:pa:ss"),
            "Invalid webhook token",
        ),
        ("no colon", basic(b"cognigy"), "Invalid webhook token"),
        (
            "not UTF-8",
            basic(b"cognigy:\xff\xfe"),
            "Invalid webhook token",
        ),
        (
            "bad base64",
            "Basic !!!not*base64".to_owned(),
            "Invalid webhook token",
        ),
        (
            "wrong token",
            "Bearer nope".to_owned(),
            "Invalid webhook token",
        ),
        (
            "other scheme with parameters",
            r#"Digest username="cognigy", realm="x""#.to_owned(),
            "Not authenticated",
        ),
    ] {
        let r = post(&agent, &envoy, &[("authorization", &value)]);
        assert_401(&r, &challenge, what);
        assert_eq!(r.detail(), detail, "{what}");
    }
    let r = post(&agent, &envoy, &[]);
    assert_401(&r, &challenge, "none");

    // What a client library will not send: each header twice, raw non-UTF-8 bytes.
    let good = b"Bearer demo-webhook-token".as_slice();
    for (what, headers) in [
        (
            "two Authorization",
            vec![("Authorization", good), ("Authorization", good)],
        ),
        (
            "two X-API-Key",
            vec![
                ("X-API-Key", b"demo-webhook-token".as_slice()),
                ("X-API-Key", b"rotated-token".as_slice()),
            ],
        ),
        (
            "non-UTF-8 Authorization",
            vec![("Authorization", b"Bearer demo-\xff\xfetoken".as_slice())],
        ),
    ] {
        let (status, head, body) = raw_post(&envoy, &headers);
        assert_eq!(status, 401, "{what}: {head}\n{body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(json["detail"].is_string(), "{what}: {body}");
        if what.starts_with("two") {
            assert_eq!(
                json["detail"], "More than one Authorization or X-API-Key header",
                "{what}"
            );
        }
        assert_eq!(
            head_header(&head, "www-authenticate"),
            Some(challenge.as_str()),
            "{what}"
        );
    }
    // The raw client itself gets through with one good header.
    let (status, _, body) = raw_post(&envoy, &[("Authorization", good)]);
    assert_eq!(status, 200, "{body}");
    admitted += 1;
    assert_eq!(mocks.request_count(Service::Profile), admitted);
    assert_eq!(envoy.stat("wasmcustom.cognigy_enrich.requests.internal"), 0);
    assert_eq!(
        envoy.stat("wasmcustom.cognigy_enrich.requests.unauthorized"),
        10
    );
    let log = envoy.log_when(10, |l| l.contains("rejected: repeated credential headers"));
    assert!(
        log.contains("rejected: repeated credential headers"),
        "{log}"
    );
    assert!(!log.contains("pa:ss"), "a Basic password in the log");
}

// ---- jwt: a key pair made here, Envoy's jwt_authn in front -----------------------------------

fn openssl(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl (scripts/validate-configs.sh needs it too)");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// An RSA key pair in `dir`: the private key's path and the public key as a JWKS entry.
fn key_pair(dir: &Path, name: &str, kid: &str) -> (PathBuf, serde_json::Value) {
    let pem = dir.join(format!("{name}.pem"));
    let pem_s = pem.to_str().unwrap();
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            pem_s,
        ],
        None,
    );
    let modulus =
        String::from_utf8(openssl(&["rsa", "-in", pem_s, "-noout", "-modulus"], None)).unwrap();
    let hex = modulus.trim().trim_start_matches("Modulus=");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let jwk = json!({"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
                     "n": URL_SAFE_NO_PAD.encode(bytes), "e": "AQAB"});
    (pem, jwk)
}

/// An RS256 JWT over `claims`, signed with `pem`.
fn jwt(pem: &Path, kid: &str, claims: &serde_json::Value) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = openssl(
        &["dgst", "-sha256", "-sign", pem.to_str().unwrap()],
        Some(input.as_bytes()),
    );
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// envoy/envoy-jwt.yaml, re-pointed at the mocks, with `patches`.
fn start_jwt_demo(mocks: &Mocks, patches: Vec<(String, String)>) -> Envoy {
    let mut opts = EnvoyOptions {
        patches,
        ..EnvoyOptions::default()
    };
    let yaml = support::envoy::render_shipped_bootstrap(mocks, &opts, "envoy/envoy-jwt.yaml");
    opts.bootstrap = Some(yaml);
    Envoy::start(mocks, opts)
}

#[test]
fn jwt_scheme_admits_only_what_jwt_authn_verified() {
    let dir = std::env::temp_dir().join(format!("cognigy-enrich-jwt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kid = "test-key";
    let (pem, jwk) = key_pair(&dir, "idp", kid);
    // Another key under the same kid: a signature jwt_authn must refuse.
    let (other_pem, _) = key_pair(&dir, "other", kid);
    let jwks_path = dir.join("jwks.json");
    std::fs::write(&jwks_path, json!({"keys": [jwk]}).to_string()).unwrap();

    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let envoy = start_jwt_demo(
        &mocks,
        vec![(
            "filename: envoy/demo-jwt/jwks.json".to_owned(),
            format!("filename: {}", jwks_path.display()),
        )],
    );
    let agent = agent();

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = |iss: &str, aud: &str, exp: u64| json!({"iss": iss, "aud": aud, "sub": "cognigy-flow", "iat": now - 10, "exp": exp});
    let iss = "https://idp.example.com/";
    let aud = "cognigy-enrich";
    let valid = jwt(&pem, kid, &claims(iss, aud, now + 600));
    let r = post(
        &agent,
        &envoy,
        &[("authorization", &format!("Bearer {valid}"))],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(mocks.request_count(Service::Profile), 1);

    // exp an hour ago: far outside the 30 s clock skew jwt_authn allows.
    let expired = jwt(&pem, kid, &claims(iss, aud, now - 3600));
    let wrong_sig = jwt(&other_pem, kid, &claims(iss, aud, now + 600));
    let wrong_iss = jwt(
        &pem,
        kid,
        &claims("https://evil.example.com/", aud, now + 600),
    );
    let wrong_aud = jwt(&pem, kid, &claims(iss, "someone-else", now + 600));
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims(iss, aud, now + 600).to_string())
    );
    let forged_payload = STANDARD.encode(claims(iss, aud, now + 600).to_string());
    let bearer = |t: &str| format!("Bearer {t}");
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("expired", vec![("authorization", bearer(&expired))]),
        (
            "wrong signature",
            vec![("authorization", bearer(&wrong_sig))],
        ),
        ("wrong issuer", vec![("authorization", bearer(&wrong_iss))]),
        (
            "wrong audience",
            vec![("authorization", bearer(&wrong_aud))],
        ),
        ("alg none", vec![("authorization", bearer(&unsigned))]),
        ("none", vec![]),
        (
            "webhook token (bearer not listed)",
            vec![("authorization", bearer("demo-webhook-token"))],
        ),
        (
            "forged payload headers",
            vec![
                ("jwt_payload", forged_payload.clone()),
                ("x-jwt-payload", forged_payload.clone()),
                ("x-envoy-jwt-payload", forged_payload),
            ],
        ),
    ];
    for (what, headers) in &cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post(&agent, &envoy, &headers);
        assert_401(&r, "Bearer", what);
    }
    assert_eq!(
        mocks.request_count(Service::Profile),
        1,
        "no refused call got through"
    );
    assert_eq!(
        envoy.stat("wasmcustom.cognigy_enrich.requests.unauthorized"),
        cases.len() as u64
    );
    // jwt_authn saw every request and let each through (allow_missing_or_failed): every 401
    // came from the filter, in its JSON shape.
    assert_eq!(
        envoy.stat("http.gateway.jwt_authn.allowed"),
        cases.len() as u64 + 1
    );
    assert_eq!(envoy.stat("http.gateway.jwt_authn.denied"), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn demo_jwt_script_and_shipped_jwks_agree() {
    // The shipped demo as a user runs it: envoy/envoy-jwt.yaml with its own JWKS, and a token
    // from scripts/demo-jwt.sh.
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let envoy = start_jwt_demo(&mocks, Vec::new());
    let out = Command::new(support::envoy::repo_root().join("scripts/demo-jwt.sh"))
        .arg("600")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    let agent = agent();
    let r = post(
        &agent,
        &envoy,
        &[("authorization", &format!("Bearer {}", token.trim()))],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post(
        &agent,
        &envoy,
        &[("authorization", "Bearer demo-webhook-token")],
    );
    assert_401(&r, "Bearer", "webhook token on the jwt-only demo");
}

#[test]
fn header_values_that_are_not_utf8_never_take_the_vm_down() {
    // The SDK's string header read unwraps UTF-8; a panic would kill the worker's VM. One
    // worker, so the request after the hostile ones lands on the same VM they did.
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let envoy = Envoy::start(
        &mocks,
        EnvoyOptions {
            concurrency: 1,
            ..EnvoyOptions::default()
        },
    );
    let bearer = format!("Bearer {WEBHOOK_TOKEN}");
    for (name, value) in [
        ("Content-Type", b"application/\xffjson".as_slice()),
        ("X-Request-Id", b"id-\xff\xfe".as_slice()),
        ("Content-Length-Extra", b"\xc3\x28".as_slice()),
    ] {
        let (status, head, body) = raw_post(
            &envoy,
            &[("Authorization", bearer.as_bytes()), (name, value)],
        );
        assert!(
            [200, 400, 415].contains(&status),
            "{name}: {status} {head} {body}"
        );
    }
    // Names: the SDK's read of all headers at once (src/glue/headers.rs) unwraps each name as
    // UTF-8. Envoy's codec refuses a name that is not an RFC 9110 token before any filter runs,
    // which is what makes that read safe: this holds it.
    for name in [b"X-\xff".as_slice(), b"X-\xc3\xa9t".as_slice()] {
        let (status, head, body) = raw_post_bytes(
            &envoy,
            &[(b"Authorization", bearer.as_bytes()), (name, b"v")],
        );
        // Envoy's own codec answer (plain text), not one of the filter's JSON refusals.
        assert_eq!(
            (status, body.as_str()),
            (400, "Bad Request"),
            "{name:?}: {head}"
        );
    }
    let r = enrich_with_id(&agent(), &envoy, ELENA, "after-non-utf8");
    assert_eq!(r.status, 200, "{}", r.body);
    let log = envoy.log_with(10, &["[after-non-utf8] enrich ok status=200"]);
    assert!(!log.contains("panicked"), "{log}");
}
