//! `mcp.*` of the plugin configuration.

use serde::Deserialize;

use crate::config::ConfigError;

/// Most origins `mcp.allowedOrigins` may list.
pub const MAX_ORIGINS: usize = 64;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct McpConfig {
    /// Serve the MCP endpoint (off unless said).
    pub enabled: bool,
    /// Exact path (query ignored), like `enrichPath`.
    pub path: String,
    /// Browser origins allowed to call the endpoint; a request with any other `Origin` is
    /// refused 403. Empty: every request that carries an `Origin` is refused.
    pub allowed_origins: Vec<String>,
}

impl Default for McpConfig {
    fn default() -> Self {
        McpConfig {
            enabled: false,
            path: "/mcp".to_owned(),
            allowed_origins: Vec::new(),
        }
    }
}

/// The validated `mcp.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpSettings {
    pub enabled: bool,
    pub path: String,
    pub allowed_origins: Vec<String>,
}

impl Default for McpSettings {
    fn default() -> Self {
        McpSettings {
            enabled: false,
            path: "/mcp".to_owned(),
            allowed_origins: Vec::new(),
        }
    }
}

fn refuse(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// An origin as browsers send it: `http(s)://host[:port]`, nothing after; or `null`.
fn is_origin(o: &str) -> bool {
    if o == "null" {
        return true;
    }
    let Some(rest) = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

impl McpConfig {
    pub fn validate(self, enrich_path: &str) -> Result<McpSettings, ConfigError> {
        if !self.path.starts_with('/') || self.path.contains(['?', '#']) {
            return Err(refuse(
                "mcp.path",
                "must be a path starting with '/', without query or fragment",
            ));
        }
        if self.path == enrich_path {
            return Err(refuse("mcp.path", "must differ from enrichPath"));
        }
        if self.allowed_origins.len() > MAX_ORIGINS {
            return Err(refuse(
                "mcp.allowedOrigins",
                format!("at most {MAX_ORIGINS} origins"),
            ));
        }
        let mut origins = Vec::with_capacity(self.allowed_origins.len());
        for (i, o) in self.allowed_origins.iter().enumerate() {
            let o = o.to_ascii_lowercase();
            if !is_origin(&o) {
                return Err(refuse(
                    format!("mcp.allowedOrigins[{i}]"),
                    "must be an origin such as https://cognigy.example.com (scheme and host, optional port, no path)",
                ));
            }
            origins.push(o);
        }
        Ok(McpSettings {
            enabled: self.enabled,
            path: self.path,
            allowed_origins: origins,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Settings, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_WEBHOOK_TOKENS};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn env(k: &str) -> Option<String> {
        match k {
            ENV_CLIENT_ID | ENV_CLIENT_SECRET | ENV_WEBHOOK_TOKENS => Some("x".into()),
            _ => None,
        }
    }

    fn field(json: &str) -> String {
        Settings::from_json(json.as_bytes(), &env)
            .unwrap_err()
            .field
    }

    #[test]
    fn off_by_default_and_validated() {
        let s = Settings::from_json(b"{}", &env).unwrap();
        assert!(!s.mcp.enabled);
        assert_eq!(s.mcp.path, "/mcp");
        let s = Settings::from_json(
            br#"{"mcp": {"enabled": true, "path": "/tools/mcp", "allowedOrigins": ["HTTPS://Cognigy.Example.com", "http://localhost:6274", "null"]}}"#,
            &env,
        )
        .unwrap();
        assert!(s.mcp.enabled);
        assert_eq!(
            s.mcp.allowed_origins,
            [
                "https://cognigy.example.com",
                "http://localhost:6274",
                "null"
            ]
        );
        assert_eq!(field(r#"{"mcp": {"path": "mcp"}}"#), "mcp.path");
        assert_eq!(field(r#"{"mcp": {"path": "/mcp?x"}}"#), "mcp.path");
        assert_eq!(
            field(r#"{"mcp": {"path": "/api/v1/agent-assist/enrich"}}"#),
            "mcp.path"
        );
        assert_eq!(field(r#"{"mcp": {"enable": true}}"#), "mcp.enable");
        assert_eq!(
            field(r#"{"mcp": {"allowedOrigins": ["https://a.example/path"]}}"#),
            "mcp.allowedOrigins[0]"
        );
        assert_eq!(
            field(r#"{"mcp": {"allowedOrigins": ["ok.example"]}}"#),
            "mcp.allowedOrigins[0]"
        );
        assert_eq!(
            field(r#"{"mcp": {"allowedOrigins": "https://a.example"}}"#),
            "mcp.allowedOrigins"
        );
        let many: Vec<String> = (0..65)
            .map(|i| format!("\"https://h{i}.example\""))
            .collect();
        assert_eq!(
            field(&format!(
                r#"{{"mcp": {{"allowedOrigins": [{}]}}}}"#,
                many.join(",")
            )),
            "mcp.allowedOrigins"
        );
        // The one list field is a list; arrays elsewhere are still refused.
        assert_eq!(field(r#"{"mcp": {"path": ["/mcp"]}}"#), "mcp.path");
    }
}
