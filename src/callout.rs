//! An outgoing HTTP call, described for the host to dispatch.

/// What the glue hands to `dispatch_http_call`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub cluster: String,
    /// Pseudo-headers (`:method`, `:path`, `:authority`) first, then regular headers.
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout_ms: u64,
}

impl Call {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
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
