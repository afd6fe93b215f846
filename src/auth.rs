//! Caller authentication: the webhook token a Cognigy flow sends.

use crate::secret::{constant_time_eq, Secret};

/// The accepted webhook tokens (several, so a token can be rotated without downtime).
#[derive(Debug, Clone)]
pub struct WebhookAuth {
    tokens: Vec<Secret>,
    enabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Invalid,
}

impl WebhookAuth {
    /// Reads a comma-separated token list; blanks around and between tokens are ignored.
    pub fn from_list(list: &str, enabled: bool) -> Self {
        let tokens = list
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(Secret::new)
            .collect();
        WebhookAuth { tokens, enabled }
    }

    pub fn disabled() -> Self {
        WebhookAuth {
            tokens: Vec::new(),
            enabled: false,
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    pub fn token_count(&self) -> usize {
        self.tokens.len()
    }

    /// Checks `Authorization: Bearer <t>` first, then `X-API-Key: <t>`. Every accepted token is
    /// compared, match or not, so timing does not reveal which one matched.
    pub fn check(
        &self,
        authorization: Option<&str>,
        api_key: Option<&str>,
    ) -> Result<(), AuthFailure> {
        if !self.enabled {
            return Ok(());
        }
        let presented = authorization
            .and_then(bearer_token)
            .or_else(|| api_key.map(str::trim).filter(|k| !k.is_empty()));
        let Some(presented) = presented else {
            return Err(AuthFailure::Missing);
        };
        let mut ok = false;
        for token in &self.tokens {
            ok |= constant_time_eq(presented.as_bytes(), token.expose().as_bytes());
        }
        if ok {
            Ok(())
        } else {
            Err(AuthFailure::Invalid)
        }
    }
}

fn bearer_token(header: &str) -> Option<&str> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn auth() -> WebhookAuth {
        WebhookAuth::from_list(" old-token , new-token,,", true)
    }

    #[test]
    fn accepts_every_listed_token_by_bearer_or_api_key() {
        let a = auth();
        assert_eq!(a.token_count(), 2);
        assert_eq!(a.check(Some("Bearer old-token"), None), Ok(()));
        assert_eq!(a.check(Some("bearer   new-token "), None), Ok(()));
        assert_eq!(a.check(None, Some("new-token")), Ok(()));
    }

    #[test]
    fn missing_or_wrong() {
        let a = auth();
        assert_eq!(a.check(None, None), Err(AuthFailure::Missing));
        assert_eq!(
            a.check(Some("Basic b2xkLXRva2Vu"), None),
            Err(AuthFailure::Missing)
        );
        assert_eq!(a.check(Some("Bearer"), None), Err(AuthFailure::Missing));
        assert_eq!(
            a.check(Some("Bearer old-tokenX"), None),
            Err(AuthFailure::Invalid)
        );
        assert_eq!(a.check(Some("Bearer old"), None), Err(AuthFailure::Invalid));
        assert_eq!(a.check(None, Some("nope")), Err(AuthFailure::Invalid));
    }

    #[test]
    fn bad_bearer_falls_back_to_api_key() {
        assert_eq!(auth().check(Some("Basic x"), Some("old-token")), Ok(()));
    }

    #[test]
    fn empty_list_refuses_everything_when_enabled() {
        let a = WebhookAuth::from_list("", true);
        assert_eq!(a.check(Some("Bearer "), None), Err(AuthFailure::Missing));
        assert_eq!(a.check(Some("Bearer x"), None), Err(AuthFailure::Invalid));
        assert_eq!(WebhookAuth::disabled().check(None, None), Ok(()));
    }
}
