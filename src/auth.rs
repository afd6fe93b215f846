//! Caller authentication: every way a Cognigy Connection sends its credential, checked in one
//! place so every route that admits callers (the enrich route, and any later one) agrees.
//!
//! | Cognigy Connection            | what arrives                           | scheme   |
//! |-------------------------------|----------------------------------------|----------|
//! | API Key `X-API-Key`           | `X-API-Key: <t>`                       | `apiKey` |
//! | API Key `Authorization`       | `Authorization: ApiKey <t>`            | `apiKey` |
//! | (a static bearer header)      | `Authorization: Bearer <t>`            | `bearer` |
//! | Basic                         | `Authorization: Basic base64(u:p)`     | `basic`  |
//! | OAuth2 (the IdP issues a JWT) | `Authorization: Bearer <jwt>`          | `jwt`    |
//!
//! `jwt` is never validated here: Envoy's `jwt_authn` filter runs first and, only for a JWT it
//! verified, puts the payload into the request's dynamic metadata; the glue reports that as
//! [`Presented::jwt_verified`]. A header a caller sends can never stand in for it.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use serde::Deserialize;

use crate::secret::{constant_time_eq, Secret};

/// The realm of the `Basic` challenge (RFC 7617).
pub const BASIC_REALM: &str = "cognigy-enrich";

/// A way a caller may authenticate (`auth.schemes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Scheme {
    /// `Authorization: Bearer <webhook token>`.
    #[serde(rename = "bearer")]
    Bearer,
    /// `X-API-Key: <webhook token>` or `Authorization: ApiKey <webhook token>`.
    #[serde(rename = "apiKey")]
    ApiKey,
    /// `Authorization: Basic base64(user:password)` against `ENRICH_BASIC_CREDENTIALS`.
    #[serde(rename = "basic")]
    Basic,
    /// `Authorization: Bearer <JWT>` verified by Envoy's `jwt_authn` filter.
    #[serde(rename = "jwt")]
    Jwt,
}

/// The schemes accepted when `auth.schemes` is not given.
pub const DEFAULT_SCHEMES: [Scheme; 2] = [Scheme::Bearer, Scheme::ApiKey];

/// What a request presented, as the glue read it from the host.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Presented<'a> {
    /// The `Authorization` header (the only one; see `repeated`).
    pub authorization: Option<&'a str>,
    /// The `X-API-Key` header (the only one; see `repeated`).
    pub api_key: Option<&'a str>,
    /// More than one `Authorization` or more than one `X-API-Key` header arrived: which one a
    /// proxy in front looked at is unknowable, so none counts.
    pub repeated: bool,
    /// `jwt_authn` verified a JWT of this request (its payload is in the dynamic metadata).
    pub jwt_verified: bool,
}

/// The accepted credentials: the webhook tokens (several, so a token can be rotated without
/// downtime), the Basic user:password pairs and the schemes they may arrive by.
#[derive(Debug, Clone)]
pub struct WebhookAuth {
    tokens: Vec<Secret>,
    basic: Vec<Secret>,
    schemes: Vec<Scheme>,
    enabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No credential of an accepted scheme.
    Missing,
    /// A credential of an accepted scheme that does not match (or cannot be read).
    Invalid,
    /// More than one `Authorization` or `X-API-Key` header.
    Repeated,
}

/// Standard base64 that takes input with or without its `=` padding (some clients drop it).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn split_list(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|t| !t.is_empty())
}

/// Why `ENRICH_BASIC_CREDENTIALS` was refused; never carries the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BasicListError {
    Empty,
    /// Entry number (1-based) has no `:`, an empty user or an empty password.
    Entry(usize),
}

/// Reads `user:password,user2:password2`; each entry splits at its first `:` (a user id cannot
/// hold one, RFC 7617; a password can).
pub fn parse_basic_list(list: &str) -> Result<Vec<Secret>, BasicListError> {
    let mut out = Vec::new();
    for (i, entry) in split_list(list).enumerate() {
        match entry.split_once(':') {
            Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                out.push(Secret::new(entry));
            }
            _ => return Err(BasicListError::Entry(i + 1)),
        }
    }
    if out.is_empty() {
        return Err(BasicListError::Empty);
    }
    Ok(out)
}

impl WebhookAuth {
    /// Reads a comma-separated token list; blanks around and between tokens are ignored. The
    /// schemes are the default ones (`bearer`, `apiKey`).
    pub fn from_list(list: &str, enabled: bool) -> Self {
        WebhookAuth {
            tokens: split_list(list).map(Secret::new).collect(),
            basic: Vec::new(),
            schemes: DEFAULT_SCHEMES.to_vec(),
            enabled,
        }
    }

    /// Caller auth with these schemes, webhook tokens and Basic pairs (already validated).
    pub fn new(schemes: Vec<Scheme>, tokens: &str, basic: Vec<Secret>) -> Self {
        WebhookAuth {
            tokens: split_list(tokens).map(Secret::new).collect(),
            basic,
            schemes,
            enabled: true,
        }
    }

    pub fn disabled() -> Self {
        WebhookAuth {
            tokens: Vec::new(),
            basic: Vec::new(),
            schemes: Vec::new(),
            enabled: false,
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    pub fn token_count(&self) -> usize {
        self.tokens.len()
    }

    pub fn schemes(&self) -> &[Scheme] {
        &self.schemes
    }

    pub fn accepts(&self, scheme: Scheme) -> bool {
        self.enabled && self.schemes.contains(&scheme)
    }

    /// The `WWW-Authenticate` value of a 401: exactly the registered schemes accepted (`Bearer`
    /// for a webhook token or a JWT, `Basic` with its realm). API keys have no registered scheme,
    /// so an `apiKey`-only configuration sends none.
    pub fn challenge(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.accepts(Scheme::Bearer) || self.accepts(Scheme::Jwt) {
            parts.push("Bearer".to_owned());
        }
        if self.accepts(Scheme::Basic) {
            parts.push(format!("Basic realm=\"{BASIC_REALM}\""));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// The check with only the two header values (no repeated header, no JWT metadata).
    pub fn check(
        &self,
        authorization: Option<&str>,
        api_key: Option<&str>,
    ) -> Result<(), AuthFailure> {
        self.check_presented(&Presented {
            authorization,
            api_key,
            ..Presented::default()
        })
    }

    /// Admits a caller when any credential it presented in an accepted scheme is right. Every
    /// candidate is compared with every accepted value, match or not, so the time taken does not
    /// reveal which one matched.
    pub fn check_presented(&self, p: &Presented<'_>) -> Result<(), AuthFailure> {
        if !self.enabled {
            return Ok(());
        }
        if p.repeated {
            return Err(AuthFailure::Repeated);
        }
        let mut presented = false;
        let mut ok = false;
        if let Some((scheme, credential)) = p.authorization.and_then(split_scheme) {
            if scheme.eq_ignore_ascii_case("bearer") {
                if self.accepts(Scheme::Bearer) {
                    presented = true;
                    ok |= self.token_matches(credential);
                }
                if self.accepts(Scheme::Jwt) {
                    presented = true;
                    ok |= p.jwt_verified;
                }
            } else if scheme.eq_ignore_ascii_case("apikey") && self.accepts(Scheme::ApiKey) {
                presented = true;
                ok |= self.token_matches(credential);
            } else if scheme.eq_ignore_ascii_case("basic") && self.accepts(Scheme::Basic) {
                presented = true;
                ok |= self.basic_matches(credential);
            }
        }
        if let Some(key) = p.api_key.map(str::trim) {
            if self.accepts(Scheme::ApiKey) && !key.is_empty() {
                presented = true;
                ok |= self.token_matches(key);
            }
        }
        // jwt_authn may take the JWT from somewhere else than `Authorization` (its
        // `from_headers`); whatever it verified counts.
        if p.jwt_verified && self.accepts(Scheme::Jwt) {
            presented = true;
            ok = true;
        }
        match (ok, presented) {
            (true, _) => Ok(()),
            (false, true) => Err(AuthFailure::Invalid),
            (false, false) => Err(AuthFailure::Missing),
        }
    }

    fn token_matches(&self, presented: &str) -> bool {
        let mut ok = false;
        for token in &self.tokens {
            ok |= constant_time_eq(presented.as_bytes(), token.expose().as_bytes());
        }
        ok
    }

    /// Malformed base64, a decoded value without `:` or that is not UTF-8 all simply fail.
    fn basic_matches(&self, encoded: &str) -> bool {
        let Ok(decoded) = BASE64.decode(encoded) else {
            return false;
        };
        let Ok(decoded) = std::str::from_utf8(&decoded) else {
            return false;
        };
        if !decoded.contains(':') {
            return false;
        }
        let mut ok = false;
        for pair in &self.basic {
            ok |= constant_time_eq(decoded.as_bytes(), pair.expose().as_bytes());
        }
        ok
    }
}

/// `<scheme> <credential>` (RFC 9110 11.4): the scheme name in any case, then one or more
/// spaces. A value holding a comma is two headers merged by a proxy (none of the accepted
/// credentials contains one), so it is never split into a credential.
fn split_scheme(header: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    let credential = rest.trim();
    (!credential.is_empty()).then_some((scheme, credential))
}

/// Whether an `X-API-Key` value carries more than one key: none of the accepted ones holds a
/// comma, so one means the host merged two headers.
pub fn looks_merged(value: &str) -> bool {
    value.contains(',')
}

/// Whether an `Authorization` value is two merged into one: it is not a list header, and Envoy
/// joins a repeated one with `,`. Only for the schemes read here (their credentials never hold a
/// comma); a scheme with comma-separated parameters (`Digest a=1, b=2`) is simply not accepted.
pub fn looks_merged_authorization(value: &str) -> bool {
    value.contains(',')
        && split_scheme(value).is_some_and(|(scheme, _)| {
            ["bearer", "apikey", "basic"]
                .iter()
                .any(|s| scheme.eq_ignore_ascii_case(s))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn auth() -> WebhookAuth {
        WebhookAuth::from_list(" old-token , new-token,,", true)
    }

    fn b64(s: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn all_schemes() -> WebhookAuth {
        WebhookAuth::new(
            vec![Scheme::Bearer, Scheme::ApiKey, Scheme::Basic, Scheme::Jwt],
            "tok-1",
            parse_basic_list("cognigy:pa:ss word, other:x").unwrap(),
        )
    }

    #[test]
    fn accepts_every_listed_token_by_bearer_or_api_key() {
        let a = auth();
        assert_eq!(a.token_count(), 2);
        assert_eq!(a.check(Some("Bearer old-token"), None), Ok(()));
        assert_eq!(a.check(Some("bearer   new-token "), None), Ok(()));
        assert_eq!(a.check(Some("BEARER new-token"), None), Ok(()));
        assert_eq!(a.check(None, Some("new-token")), Ok(()));
        assert_eq!(a.check(Some("ApiKey old-token"), None), Ok(()));
        assert_eq!(a.check(Some("apikey new-token"), None), Ok(()));
    }

    #[test]
    fn missing_or_wrong() {
        let a = auth();
        assert_eq!(a.check(None, None), Err(AuthFailure::Missing));
        assert_eq!(
            a.check(Some("Basic b2xkLXRva2Vu"), None),
            Err(AuthFailure::Missing),
            "basic is not listed by default"
        );
        assert_eq!(a.check(Some("Bearer"), None), Err(AuthFailure::Missing));
        assert_eq!(
            a.check(Some("Bearer old-tokenX"), None),
            Err(AuthFailure::Invalid)
        );
        assert_eq!(a.check(Some("Bearer old"), None), Err(AuthFailure::Invalid));
        assert_eq!(a.check(None, Some("nope")), Err(AuthFailure::Invalid));
        assert_eq!(
            a.check(Some("ApiKey nope"), None),
            Err(AuthFailure::Invalid)
        );
        assert_eq!(
            a.check(Some("Bearer old-token,Bearer x"), None),
            Err(AuthFailure::Invalid),
            "merged headers never match"
        );
    }

    #[test]
    fn any_right_credential_admits() {
        assert_eq!(auth().check(Some("Basic x"), Some("old-token")), Ok(()));
        assert_eq!(auth().check(Some("Bearer x"), Some("old-token")), Ok(()));
    }

    #[test]
    fn only_listed_schemes_count() {
        let bearer_only = WebhookAuth::new(vec![Scheme::Bearer], "t", Vec::new());
        assert_eq!(bearer_only.check(Some("Bearer t"), None), Ok(()));
        assert_eq!(
            bearer_only.check(None, Some("t")),
            Err(AuthFailure::Missing)
        );
        assert_eq!(
            bearer_only.check(Some("ApiKey t"), None),
            Err(AuthFailure::Missing)
        );
        let key_only = WebhookAuth::new(vec![Scheme::ApiKey], "t", Vec::new());
        assert_eq!(
            key_only.check(Some("Bearer t"), None),
            Err(AuthFailure::Missing)
        );
        assert_eq!(key_only.check(Some("ApiKey t"), None), Ok(()));
        assert_eq!(key_only.challenge(), None);
    }

    #[test]
    fn basic_credentials_split_at_the_first_colon() {
        let a = all_schemes();
        let ok = format!("Basic {}", b64(b"cognigy:pa:ss word"));
        assert_eq!(a.check(Some(&ok), None), Ok(()));
        let lower = format!("basic {}", b64(b"other:x"));
        assert_eq!(a.check(Some(&lower), None), Ok(()));
        let unpadded = format!("Basic {}", b64(b"other:x").trim_end_matches('='));
        assert_eq!(a.check(Some(&unpadded), None), Ok(()));
        for wrong in [
            b64(b"cognigy:pa:ss"),
            b64(b"cognigy"),             // no colon
            b64(b"cognigy:pa:ss word "), // one byte more
            b64(b"\xff\xfe:\xff"),       // not UTF-8
            "%%%not-base64%%%".to_owned(),
            "Y29nbmln=eTpw".to_owned(),
            String::new(),
        ] {
            assert_eq!(
                a.check(Some(&format!("Basic {wrong}")), None),
                if wrong.is_empty() {
                    Err(AuthFailure::Missing)
                } else {
                    Err(AuthFailure::Invalid)
                },
                "{wrong:?}"
            );
        }
    }

    #[test]
    fn basic_list_is_validated_without_echoing_it() {
        assert_eq!(parse_basic_list(" , "), Err(BasicListError::Empty));
        assert_eq!(
            parse_basic_list("a:b,nocolon"),
            Err(BasicListError::Entry(2))
        );
        assert_eq!(parse_basic_list(":pw"), Err(BasicListError::Entry(1)));
        assert_eq!(parse_basic_list("user:"), Err(BasicListError::Entry(1)));
        assert_eq!(parse_basic_list("u:p:q").unwrap().len(), 1);
    }

    #[test]
    fn jwt_counts_only_when_verified_by_the_host() {
        let jwt_only = WebhookAuth::new(vec![Scheme::Jwt], "", Vec::new());
        let p = |authorization, jwt_verified| Presented {
            authorization,
            jwt_verified,
            ..Presented::default()
        };
        assert_eq!(
            jwt_only.check_presented(&p(Some("Bearer eyJ.x.y"), true)),
            Ok(())
        );
        assert_eq!(
            jwt_only.check_presented(&p(Some("Bearer eyJ.x.y"), false)),
            Err(AuthFailure::Invalid)
        );
        assert_eq!(
            jwt_only.check_presented(&p(None, false)),
            Err(AuthFailure::Missing)
        );
        assert_eq!(
            auth().check_presented(&p(Some("Bearer eyJ.x.y"), true)),
            Err(AuthFailure::Invalid),
            "jwt not listed: a verified JWT is not enough"
        );
        assert_eq!(jwt_only.challenge().as_deref(), Some("Bearer"));
    }

    #[test]
    fn repeated_headers_are_refused_before_anything_else() {
        let p = Presented {
            authorization: Some("Bearer old-token"),
            repeated: true,
            ..Presented::default()
        };
        assert_eq!(auth().check_presented(&p), Err(AuthFailure::Repeated));
        assert!(looks_merged("key-1,key-2"));
        assert!(!looks_merged("key-1"));
        assert!(looks_merged_authorization("Bearer a,Bearer b"));
        assert!(looks_merged_authorization("basic YTpi,Basic YTpj"));
        assert!(!looks_merged_authorization("Bearer a"));
        assert!(!looks_merged_authorization(
            r#"Digest username="a", realm="b""#
        ));
    }

    #[test]
    fn challenge_lists_exactly_the_accepted_schemes() {
        assert_eq!(auth().challenge().as_deref(), Some("Bearer"));
        assert_eq!(
            all_schemes().challenge().as_deref(),
            Some("Bearer, Basic realm=\"cognigy-enrich\"")
        );
        let basic_only =
            WebhookAuth::new(vec![Scheme::Basic], "", parse_basic_list("u:p").unwrap());
        assert_eq!(
            basic_only.challenge().as_deref(),
            Some("Basic realm=\"cognigy-enrich\"")
        );
        assert_eq!(
            basic_only.check(Some("Bearer u:p"), None),
            Err(AuthFailure::Missing)
        );
    }

    #[test]
    fn empty_list_refuses_everything_when_enabled() {
        let a = WebhookAuth::from_list("", true);
        assert_eq!(a.check(Some("Bearer "), None), Err(AuthFailure::Missing));
        assert_eq!(a.check(Some("Bearer x"), None), Err(AuthFailure::Invalid));
        assert_eq!(WebhookAuth::disabled().check(None, None), Ok(()));
    }
}
