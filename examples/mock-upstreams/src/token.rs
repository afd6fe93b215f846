//! The OAuth 2.0 client-credentials token endpoint and the set of tokens it
//! has issued, which the data services consult to authenticate callers.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use hyper::body::Bytes;
use hyper::header::CONTENT_TYPE;
use hyper::{HeaderMap, Method, StatusCode};
use serde::Serialize;

use crate::reply::{self, Reply};
use crate::{lock, urlencoded};

/// The path the token endpoint answers on (the seed's, and the filter's default).
pub const TOKEN_PATH: &str = "/oauth2/token";

/// How the token endpoint wants the client to authenticate (RFC 6749 2.3.1). Each refuses the
/// other, so a test proves which one the filter used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body; an `Authorization` header is refused.
    #[default]
    Body,
    /// `Authorization: Basic base64(form(id) ":" form(secret))`; credentials in the body are
    /// refused.
    Basic,
}

/// How `expires_in` appears in a token reply.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ExpiresIn {
    /// The token lifetime, as a JSON number (the usual).
    #[default]
    Ttl,
    /// The token lifetime as a JSON string (`"3600"`), as some servers send it.
    TtlAsString,
    /// Left out (it is only RECOMMENDED).
    Omitted,
    /// Exactly this JSON value, whatever the real lifetime.
    Raw(serde_json::Value),
}

/// The shape of the token endpoint's successful reply; issued tokens stay valid for the TTL
/// whatever the reply says.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenReplyShape {
    /// How `expires_in` is sent.
    pub expires_in: ExpiresIn,
    /// `token_type` as sent; `None` leaves it out.
    pub token_type: Option<String>,
}

impl Default for TokenReplyShape {
    fn default() -> Self {
        Self {
            expires_in: ExpiresIn::Ttl,
            token_type: Some("Bearer".to_owned()),
        }
    }
}

/// Once this many tokens are held, expired ones are purged on the next issue,
/// so a long benchmark run cannot grow the set without bound.
const PURGE_THRESHOLD: usize = 4096;

/// Issued tokens and their wall-clock expiry.
#[derive(Debug)]
pub struct TokenStore {
    client_id: String,
    client_secret: String,
    client_auth: ClientAuth,
    shape: Mutex<TokenReplyShape>,
    ttl_secs: AtomicU64,
    counter: AtomicU64,
    random: RandomState,
    issued: Mutex<HashMap<String, SystemTime>>,
}

#[derive(Serialize)]
struct Issued<'a> {
    access_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<serde_json::Value>,
    scope: &'a str,
}

impl TokenStore {
    #[cfg(test)]
    pub fn new(client_id: String, client_secret: String, ttl_secs: u64) -> Self {
        Self::with_client_auth(client_id, client_secret, ttl_secs, ClientAuth::Body)
    }

    /// A store whose endpoint wants the client credentials the `client_auth` way.
    pub fn with_client_auth(
        client_id: String,
        client_secret: String,
        ttl_secs: u64,
        client_auth: ClientAuth,
    ) -> Self {
        Self {
            client_id,
            client_secret,
            client_auth,
            shape: Mutex::new(TokenReplyShape::default()),
            ttl_secs: AtomicU64::new(ttl_secs),
            counter: AtomicU64::new(0),
            random: RandomState::new(),
            issued: Mutex::new(HashMap::new()),
        }
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_ttl(&self, secs: u64) {
        self.ttl_secs.store(secs, Ordering::Relaxed);
    }

    /// How successful replies look from now on.
    pub fn set_reply_shape(&self, shape: TokenReplyShape) {
        *lock(&self.shape) = shape;
    }

    /// Forgets every token issued so far, so they all fail authentication.
    pub fn revoke_all(&self) {
        lock(&self.issued).clear();
    }

    /// Whether `token` was issued here, is unexpired and was not revoked.
    pub fn is_valid(&self, token: &str) -> bool {
        lock(&self.issued)
            .get(token)
            .is_some_and(|&expiry| SystemTime::now() < expiry)
    }

    /// Handles a request to the token endpoint.
    pub fn handle(&self, method: &Method, path: &str, headers: &HeaderMap, body: &[u8]) -> Reply {
        if path != TOKEN_PATH {
            return reply::not_found();
        }
        if method != Method::POST {
            return reply::method_not_allowed("POST");
        }
        let is_form = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if !is_form {
            return reply::error(
                StatusCode::BAD_REQUEST,
                r#"{"error":"invalid_request","error_description":"content-type must be application/x-www-form-urlencoded"}"#,
            );
        }
        let form = urlencoded::parse_pairs(&String::from_utf8_lossy(body));
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let header = headers
            .get(hyper::header::AUTHORIZATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let in_body = field("client_id").is_some() || field("client_secret").is_some();
        let authenticated = match self.client_auth {
            ClientAuth::Body => {
                if header.is_some() {
                    // RFC 6749 2.3: one client authentication method per request.
                    return reply::error(
                        StatusCode::BAD_REQUEST,
                        r#"{"error":"invalid_request","error_description":"client authentication must be in the body"}"#,
                    );
                }
                field("client_id") == Some(self.client_id.as_str())
                    && field("client_secret") == Some(self.client_secret.as_str())
            }
            ClientAuth::Basic => {
                if in_body {
                    return reply::error(
                        StatusCode::BAD_REQUEST,
                        r#"{"error":"invalid_request","error_description":"client credentials must be in the Authorization header"}"#,
                    );
                }
                basic_client(header.as_deref())
                    == Some((self.client_id.clone(), self.client_secret.clone()))
            }
        };
        if !authenticated {
            return reply::error(StatusCode::UNAUTHORIZED, r#"{"error":"invalid_client"}"#);
        }
        if field("grant_type") != Some("client_credentials") {
            return reply::error(
                StatusCode::BAD_REQUEST,
                r#"{"error":"unsupported_grant_type"}"#,
            );
        }
        let scope = field("scope").unwrap_or("");
        self.issue(scope)
    }

    fn issue(&self, scope: &str) -> Reply {
        let serial = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        let mut hasher = self.random.build_hasher();
        hasher.write_u64(serial);
        let token = format!("mock-at-{serial}-{:016x}", hasher.finish());
        let ttl = self.ttl_secs.load(Ordering::Relaxed);
        let expiry = SystemTime::now() + Duration::from_secs(ttl);
        {
            let mut issued = lock(&self.issued);
            if issued.len() >= PURGE_THRESHOLD {
                let now = SystemTime::now();
                issued.retain(|_, &mut expiry| now < expiry);
            }
            issued.insert(token.clone(), expiry);
        }
        let shape = lock(&self.shape).clone();
        let expires_in = match shape.expires_in {
            ExpiresIn::Ttl => Some(serde_json::Value::from(ttl)),
            ExpiresIn::TtlAsString => Some(serde_json::Value::from(ttl.to_string())),
            ExpiresIn::Omitted => None,
            ExpiresIn::Raw(v) => Some(v),
        };
        let body = Issued {
            access_token: &token,
            token_type: shape.token_type,
            expires_in,
            scope,
        };
        match serde_json::to_vec(&body) {
            Ok(json) => reply::json(StatusCode::OK, Bytes::from(json)),
            Err(_) => reply::internal_error(),
        }
    }
}

/// The client id and secret of an `Authorization: Basic` header: base64 of the two
/// form-urlencoded values joined by the first `:` (RFC 6749 2.3.1).
fn basic_client(header: Option<&str>) -> Option<(String, String)> {
    use base64::Engine as _;
    let (scheme, encoded) = header?.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((
        urlencoded::decode(id, true),
        urlencoded::decode(secret, true),
    ))
}

/// The token from an `Authorization: Bearer <token>` header, if well-formed.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(hyper::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::{HeaderValue, AUTHORIZATION};

    fn form_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        h
    }

    fn store() -> TokenStore {
        TokenStore::new("id".into(), "secret".into(), 60)
    }

    #[test]
    fn issues_unique_valid_tokens() {
        let s = store();
        let body = b"grant_type=client_credentials&client_id=id&client_secret=secret&scope=a+b";
        let first = s.handle(&Method::POST, TOKEN_PATH, &form_headers(), body);
        let second = s.handle(&Method::POST, TOKEN_PATH, &form_headers(), body);
        assert_eq!(first.status, StatusCode::OK);
        let a: serde_json::Value = serde_json::from_slice(&first.body).unwrap();
        let b: serde_json::Value = serde_json::from_slice(&second.body).unwrap();
        assert_ne!(a["access_token"], b["access_token"]);
        assert_eq!(a["scope"], "a b");
        assert_eq!(a["expires_in"], 60);
        assert!(a["access_token"]
            .as_str()
            .unwrap()
            .starts_with("mock-at-1-"));
        assert!(s.is_valid(a["access_token"].as_str().unwrap()));
        s.revoke_all();
        assert!(!s.is_valid(a["access_token"].as_str().unwrap()));
    }

    #[test]
    fn refuses_bad_requests() {
        let s = store();
        let h = form_headers();
        let bad_secret = b"grant_type=client_credentials&client_id=id&client_secret=nope";
        let bad_grant = b"grant_type=password&client_id=id&client_secret=secret";
        assert_eq!(
            s.handle(&Method::POST, TOKEN_PATH, &h, bad_secret).status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            s.handle(&Method::POST, TOKEN_PATH, &h, bad_grant).status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            s.handle(&Method::GET, TOKEN_PATH, &h, b"").status,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            s.handle(&Method::POST, "/other", &h, b"").status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            s.handle(&Method::POST, TOKEN_PATH, &HeaderMap::new(), bad_grant)
                .status,
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn zero_ttl_tokens_are_born_expired() {
        let s = store();
        s.set_ttl(0);
        let r = s.handle(
            &Method::POST,
            TOKEN_PATH,
            &form_headers(),
            b"grant_type=client_credentials&client_id=id&client_secret=secret",
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert!(!s.is_valid(v["access_token"].as_str().unwrap()));
    }

    #[test]
    fn basic_client_auth_refuses_body_credentials_and_the_other_way_round() {
        use base64::Engine as _;
        let id = "id with:+%/é";
        let secret = "s e:c+r%e/t€";
        let basic = TokenStore::with_client_auth(id.into(), secret.into(), 60, ClientAuth::Basic);
        let body = TokenStore::new(id.into(), secret.into(), 60);
        let enc = |s: &str| {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        char::from(b).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        };
        let value = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                enc(id),
                enc(secret)
            ))
        );
        let mut h = form_headers();
        h.insert(AUTHORIZATION, HeaderValue::from_str(&value).unwrap());
        let grant = b"grant_type=client_credentials&scope=a";
        assert_eq!(
            basic.handle(&Method::POST, TOKEN_PATH, &h, grant).status,
            StatusCode::OK
        );
        assert_eq!(
            body.handle(&Method::POST, TOKEN_PATH, &h, grant).status,
            StatusCode::BAD_REQUEST
        );
        let in_body = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            enc(id),
            enc(secret)
        );
        assert_eq!(
            body.handle(
                &Method::POST,
                TOKEN_PATH,
                &form_headers(),
                in_body.as_bytes()
            )
            .status,
            StatusCode::OK
        );
        assert_eq!(
            basic
                .handle(
                    &Method::POST,
                    TOKEN_PATH,
                    &form_headers(),
                    in_body.as_bytes()
                )
                .status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            basic
                .handle(&Method::POST, TOKEN_PATH, &form_headers(), grant)
                .status,
            StatusCode::UNAUTHORIZED
        );
    }

    #[test]
    fn reply_shapes() {
        let s = store();
        let body = b"grant_type=client_credentials&client_id=id&client_secret=secret";
        let get = |s: &TokenStore| {
            let r = s.handle(&Method::POST, TOKEN_PATH, &form_headers(), body);
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()
        };
        s.set_reply_shape(TokenReplyShape {
            expires_in: ExpiresIn::Omitted,
            token_type: None,
        });
        let v = get(&s);
        assert!(v.get("expires_in").is_none() && v.get("token_type").is_none());
        assert!(s.is_valid(v["access_token"].as_str().unwrap()));
        s.set_reply_shape(TokenReplyShape {
            expires_in: ExpiresIn::TtlAsString,
            token_type: Some("bearer".into()),
        });
        let v = get(&s);
        assert_eq!(
            (v["expires_in"].as_str(), v["token_type"].as_str()),
            (Some("60"), Some("bearer"))
        );
        s.set_reply_shape(TokenReplyShape {
            expires_in: ExpiresIn::Raw(serde_json::json!(1.5)),
            ..TokenReplyShape::default()
        });
        assert_eq!(get(&s)["expires_in"], 1.5);
    }

    #[test]
    fn parses_bearer_header() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(AUTHORIZATION, HeaderValue::from_static("bearer  abc "));
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
    }
}
