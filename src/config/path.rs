//! Upstream path templates (`services.<service>.path`): checked and split once at configure
//! time, so building a URL per call is a concatenation.

use super::{refuse, ConfigError};

/// A path template split at configure time, so building a URL per call is a concatenation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathTemplate {
    parts: Vec<PathPart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PathPart {
    Literal(String),
    CustomerNumber,
    Limit,
}

impl PathTemplate {
    pub(super) fn parse(
        field: &str,
        template: &str,
        allow_limit: bool,
    ) -> Result<Self, ConfigError> {
        if !template.starts_with('/') {
            return Err(refuse(field, "must start with '/'"));
        }
        if let Some(c) = template
            .chars()
            .find(|c| c.is_control() || c.is_whitespace() || *c == '#' || !c.is_ascii())
        {
            return Err(refuse(
                field,
                format!("contains a character not allowed in a URL: {c:?}"),
            ));
        }
        let mut parts = Vec::new();
        let mut rest = template;
        let mut has_customer = false;
        while let Some(open) = rest.find('{') {
            let (literal, tail) = rest.split_at(open);
            if literal.contains('}') {
                return Err(refuse(field, "unmatched '}'"));
            }
            if !literal.is_empty() {
                parts.push(PathPart::Literal(literal.to_owned()));
            }
            let close = tail
                .find('}')
                .ok_or_else(|| refuse(field, "unclosed '{'"))?;
            let name = tail.get(1..close).unwrap_or_default();
            match name {
                "customerNumber" => {
                    has_customer = true;
                    parts.push(PathPart::CustomerNumber);
                }
                "limit" if allow_limit => parts.push(PathPart::Limit),
                other => return Err(refuse(field, format!("unknown placeholder {{{other}}}"))),
            }
            rest = tail.get(close + 1..).unwrap_or_default();
        }
        if rest.contains('}') {
            return Err(refuse(field, "unmatched '}'"));
        }
        if !rest.is_empty() {
            parts.push(PathPart::Literal(rest.to_owned()));
        }
        if !has_customer {
            return Err(refuse(field, "must contain {customerNumber}"));
        }
        Ok(PathTemplate { parts })
    }

    /// The path for one customer. `encoded_customer` must already be percent-encoded.
    pub fn render(&self, encoded_customer: &str, limit: u32) -> String {
        let mut out = String::with_capacity(64);
        for part in &self.parts {
            match part {
                PathPart::Literal(s) => out.push_str(s),
                PathPart::CustomerNumber => out.push_str(encoded_customer),
                PathPart::Limit => out.push_str(&limit.to_string()),
            }
        }
        out
    }
}
