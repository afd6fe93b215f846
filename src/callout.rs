//! An outgoing HTTP call, described for the host to dispatch.

use std::ops::Deref;
use std::sync::Arc;

/// A header value. The values of a service call are constants or text that outlives the call
/// (the settings' authority, the request's path and id, the token's `Authorization` value), so
/// the engine shares them rather than copying each for every call. `Arc`, not `Rc`, keeps the
/// settings that hold some of them `Send + Sync`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Deref for Value {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Value::Static(s) => s,
            Value::Shared(s) => s,
        }
    }
}

impl From<&'static str> for Value {
    fn from(s: &'static str) -> Self {
        Value::Static(s)
    }
}

impl From<Arc<str>> for Value {
    fn from(s: Arc<str>) -> Self {
        Value::Shared(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Shared(s.into())
    }
}

/// What the glue hands to `dispatch_http_call`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub cluster: Arc<str>,
    /// Pseudo-headers (`:method`, `:path`, `:authority`) first, then regular headers.
    pub headers: Vec<(&'static str, Value)>,
    pub body: Option<Vec<u8>>,
    pub timeout_ms: u64,
}

impl Call {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| &**v)
    }
}

/// A token as the services get it: the `Authorization` value, written once per token and shared
/// by every call that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Bearer(Arc<str>);

/// A secret: a `{:?}` that reaches a log line must not carry it.
impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

impl Bearer {
    pub fn new(token: &str) -> Self {
        Bearer(format!("Bearer {token}").into())
    }

    /// The `Authorization` header value.
    pub fn header(&self) -> Value {
        Value::Shared(Arc::clone(&self.0))
    }

    /// The token itself.
    pub fn token(&self) -> &str {
        self.0.strip_prefix("Bearer ").unwrap_or_default()
    }
}

impl From<&str> for Bearer {
    fn from(token: &str) -> Self {
        Bearer::new(token)
    }
}

/// What came back from a dispatched call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallReply {
    /// `None` when the host delivered no HTTP answer (reset, refused, timed out before headers).
    pub status: Option<u16>,
    pub retry_after: Option<String>,
    /// The body, left empty by the glue when `body_size` is over the limit.
    pub body: Vec<u8>,
    pub body_size: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_bearer_sends_its_token_and_never_prints_it() {
        let b = Bearer::new("s3cr3t-token");
        assert_eq!(&*b.header(), "Bearer s3cr3t-token");
        assert_eq!(b.token(), "s3cr3t-token");
        let printed = format!("{b:?}");
        assert!(!printed.contains("s3cr3t"), "{printed}");
    }
}
