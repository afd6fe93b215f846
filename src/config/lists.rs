//! The configuration's lists. serde reads a JSON array into a struct by position
//! (`{"limits": [4096, 8]}`), so every array but the real lists is refused before serde runs.

/// What a list field holds. serde reads a JSON array into a struct by position, so every array
/// but these is refused; a list of objects has its elements checked like any other object.
enum ListOf {
    Strings,
    Objects,
}

/// The fields that are lists: `auth.schemes`, `services.<service>.fields`,
/// `copilot.identityRows`, `privacy.dropFields` / `privacy.maskFields` and `mcp.allowedOrigins`.
fn list_field(path: &str) -> Option<ListOf> {
    if path == "copilot.identityRows" {
        return Some(ListOf::Objects);
    }
    if path == "auth.schemes"
        || path == "privacy.dropFields"
        || path == "privacy.maskFields"
        || path == "mcp.allowedOrigins"
    {
        return Some(ListOf::Strings);
    }
    path.strip_prefix("services.")
        .and_then(|rest| rest.strip_suffix(".fields"))
        .is_some_and(|service| !service.contains('.'))
        .then_some(ListOf::Strings)
}

/// The fields read as enums (a variant name): `answerMode`, `token.clientAuth`, `auth.schemes[i]`.
pub(crate) fn enum_field(path: &str) -> bool {
    path == "answerMode"
        || path == "token.clientAuth"
        || path
            .strip_prefix("auth.schemes[")
            .and_then(|rest| rest.strip_suffix(']'))
            .is_some_and(|i| i.bytes().all(|b| b.is_ascii_digit()))
}

/// Where the first JSON array in `value` is, as a dotted field path (lists are skipped).
pub(super) fn first_array(value: &serde_json::Value, path: &str) -> Option<String> {
    match value {
        serde_json::Value::Array(items) => match list_field(path) {
            Some(ListOf::Strings) => None,
            Some(ListOf::Objects) => items.iter().enumerate().find_map(|(i, item)| {
                let path = format!("{path}[{i}]");
                match item {
                    serde_json::Value::Array(_) => Some(path),
                    _ => first_array(item, &path),
                }
            }),
            None if path.is_empty() => Some("(root)".to_owned()),
            None => Some(path.to_owned()),
        },
        serde_json::Value::Object(fields) => fields.iter().find_map(|(name, v)| {
            let path = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            first_array(v, &path)
        }),
        _ => None,
    }
}
