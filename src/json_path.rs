//! The field a configuration error is about, found from where serde_json stopped reading.
//!
//! A refusal names the field (`privacy.maskFields[1]`). Tracking the path while deserializing
//! (serde_path_to_error) compiles every `Deserialize` of the configuration a second time, about
//! 37 KB of the filter; the error already carries the line and column where serde_json stopped,
//! so walking the text up to there names the same field, with code that is not generic.

/// One step of a path: an object member or an array element.
#[derive(Clone)]
enum Seg {
    Key(String),
    Index(usize),
    /// Where a key was expected but none was read.
    Unknown,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// An object key; `done` is false for a string the text ends inside.
    Key {
        done: bool,
    },
    /// A string, number or literal value; `closed` is false for a string the text ends inside.
    Scalar {
        closed: bool,
    },
    /// `{` or `[`.
    Open,
    /// `}` or `]`.
    Close,
    Colon,
    Comma,
}

struct Token {
    start: usize,
    end: usize,
    kind: Kind,
    /// Key, scalar, open, close: the path of the member or value. Colon: the member whose value
    /// follows. Comma: the enclosing container.
    path: Vec<Seg>,
    /// Comma and open: whether what comes next is an array element (else an object key).
    in_array: bool,
}

struct Frame {
    path: Vec<Seg>,
    array: bool,
    key: Option<String>,
    expect_key: bool,
    index: usize,
}

impl Frame {
    fn child(&self) -> Vec<Seg> {
        let mut path = self.path.clone();
        path.push(if self.array {
            Seg::Index(self.index)
        } else {
            Seg::Key(self.key.clone().unwrap_or_default())
        });
        path
    }
}

/// The path of the value or key that `error`, from deserializing `text`, is about, in
/// serde_path_to_error's spelling: `a.b[2].c`, `a.?` where a key was expected, empty for the
/// root. serde_json's position is the bytes read (on a 1-based line), or one more where it
/// refused the byte it peeked at. A type or field error is about the token read last (a
/// duplicate key about its object); a syntax error after a whole value is about what follows.
///
/// `is_enum` names the fields read as enums (a value is a variant name): an error inside such a
/// value is about the field itself.
pub fn path_at(text: &[u8], error: &serde_json::Error, is_enum: &dyn Fn(&str) -> bool) -> String {
    let at = offset(text, error.line(), error.column());
    let data = error.is_data();
    let peeked = error.is_syntax();
    let duplicate = data && error.to_string().starts_with("duplicate field");
    let tokens = tokens(text, at);
    let last_read = text
        .get(..at)
        .and_then(|read| read.iter().rposition(|b| !b.is_ascii_whitespace()));
    let Some(q) = last_read else {
        return String::new();
    };
    let Some(t) = tokens.iter().find(|t| t.start <= q && q < t.end) else {
        return String::new();
    };
    let next_key = |container: &[Seg]| {
        let mut path = container.to_vec();
        path.push(Seg::Unknown);
        path
    };
    // After a whole value: the next key of its object, or its array.
    let after = |value: &[Seg]| match value.last() {
        Some(Seg::Index(_)) => parent(value).to_vec(),
        Some(_) => next_key(parent(value)),
        None => Vec::new(),
    };
    for n in 1..=t.path.len() {
        let prefix = t.path.get(..n).unwrap_or_default();
        let inside = n < t.path.len() || matches!(t.kind, Kind::Open | Kind::Close);
        if inside && is_enum(&render(prefix)) {
            return render(prefix);
        }
    }
    let path = match t.kind {
        Kind::Key { done: false } => next_key(parent(&t.path)),
        Kind::Key { done: true } if !data || duplicate => parent(&t.path).to_vec(),
        Kind::Key { done: true } | Kind::Colon => t.path.clone(),
        Kind::Scalar { closed }
            if data
                || (peeked && at == t.start + 1)
                || !closed
                || !whole(text.get(t.start..t.end).unwrap_or_default()) =>
        {
            t.path.clone()
        }
        Kind::Close if data => t.path.clone(),
        Kind::Scalar { .. } | Kind::Close => after(&t.path),
        Kind::Comma | Kind::Open if t.in_array => match tokens.iter().find(|n| n.start >= at) {
            Some(n) if matches!(n.kind, Kind::Open | Kind::Scalar { .. }) => n.path.clone(),
            _ => t.path.clone(),
        },
        Kind::Comma | Kind::Open => next_key(&t.path),
    };
    render(&path)
}

/// Whether a scalar token is a whole JSON value: a closed string, a literal or a number.
fn whole(token: &[u8]) -> bool {
    match token {
        [b'"', .., b'"'] if token.len() > 1 => true,
        b"true" | b"false" | b"null" => true,
        _ => {
            let digits = token.strip_prefix(b"-").unwrap_or(token);
            let int_end = digits
                .iter()
                .position(|b| !b.is_ascii_digit())
                .unwrap_or(digits.len());
            let (int, rest) = digits.split_at(int_end);
            let int_ok = int == b"0" || (!int.is_empty() && int.first() != Some(&b'0'));
            let rest = match rest.strip_prefix(b".") {
                Some(frac) => {
                    let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
                    if n == 0 {
                        return false;
                    }
                    frac.get(n..).unwrap_or_default()
                }
                None => rest,
            };
            let exp_ok = match rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
                Some(exp) => {
                    let exp = exp
                        .strip_prefix(b"+")
                        .or_else(|| exp.strip_prefix(b"-"))
                        .unwrap_or(exp);
                    !exp.is_empty() && exp.iter().all(u8::is_ascii_digit)
                }
                None => rest.is_empty(),
            };
            int_ok && exp_ok
        }
    }
}

/// The path without its last step.
fn parent(path: &[Seg]) -> &[Seg] {
    path.split_last().map_or(path, |(_, rest)| rest)
}

fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Seg::Unknown => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
            Seg::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// The byte offset of a serde_json position.
fn offset(text: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text
            .get(start..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        {
            Some(nl) => start += nl + 1,
            None => break,
        }
    }
    (start + column).min(text.len())
}

/// The tokens of `text` up to and including the first one that starts at or after `at`.
fn tokens(text: &[u8], at: usize) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut pos = 0;
    while let Some(&c) = text.get(pos) {
        if c.is_ascii_whitespace() {
            pos += 1;
            continue;
        }
        if out.last().is_some_and(|t| t.start >= at) {
            break;
        }
        let value_path = |stack: &[Frame]| stack.last().map(Frame::child).unwrap_or_default();
        let start = pos;
        let (kind, path, in_array) = match c {
            b'{' | b'[' => {
                let path = value_path(&stack);
                stack.push(Frame {
                    path: path.clone(),
                    array: c == b'[',
                    key: None,
                    expect_key: c == b'{',
                    index: 0,
                });
                pos += 1;
                (Kind::Open, path, c == b'[')
            }
            b'}' | b']' => {
                let path = stack.pop().map(|f| f.path).unwrap_or_default();
                pos += 1;
                (Kind::Close, path, false)
            }
            b',' | b':' => {
                pos += 1;
                let Some(top) = stack.last_mut() else {
                    continue;
                };
                let array = top.array;
                if c == b':' {
                    top.expect_key = false;
                    (Kind::Colon, top.child(), array)
                } else {
                    if array {
                        top.index += 1;
                    } else {
                        top.expect_key = true;
                        top.key = None;
                    }
                    (Kind::Comma, top.path.clone(), array)
                }
            }
            b'"' => {
                let (text_of, end, done) = string(text, pos);
                pos = end;
                match stack.last_mut() {
                    Some(top) if !top.array && top.expect_key => {
                        top.key = Some(text_of);
                        (Kind::Key { done }, top.child(), false)
                    }
                    _ => (Kind::Scalar { closed: done }, value_path(&stack), false),
                }
            }
            _ => {
                while text
                    .get(pos)
                    .is_some_and(|b| !b.is_ascii_whitespace() && !b",:[]{}\"".contains(b))
                {
                    pos += 1;
                }
                (Kind::Scalar { closed: true }, value_path(&stack), false)
            }
        };
        out.push(Token {
            start,
            end: pos,
            kind,
            path,
            in_array,
        });
    }
    out
}

/// The string starting at the quote at `start`: its text with escapes read, the offset after its
/// closing quote (the end of the text if it has none) and whether it was closed.
fn string(text: &[u8], start: usize) -> (String, usize, bool) {
    let mut bytes = Vec::new();
    let mut units: Vec<u16> = Vec::new();
    let mut pos = start + 1;
    let flush = |units: &mut Vec<u16>, bytes: &mut Vec<u8>| {
        let decoded = char::decode_utf16(units.drain(..))
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect::<String>();
        bytes.extend_from_slice(decoded.as_bytes());
    };
    while let Some(&b) = text.get(pos) {
        match b {
            b'"' => {
                flush(&mut units, &mut bytes);
                return (String::from_utf8_lossy(&bytes).into_owned(), pos + 1, true);
            }
            b'\\' => {
                let escaped = text.get(pos + 1).copied().unwrap_or(b'\\');
                pos += 2;
                if escaped == b'u' {
                    let hex = text.get(pos..pos + 4).unwrap_or_default();
                    let unit = std::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| u16::from_str_radix(h, 16).ok());
                    if let Some(unit) = unit {
                        units.push(unit);
                        pos += 4;
                    }
                    continue;
                }
                flush(&mut units, &mut bytes);
                bytes.push(match escaped {
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    other => other,
                });
            }
            _ => {
                flush(&mut units, &mut bytes);
                bytes.push(b);
                pos += 1;
            }
        }
    }
    flush(&mut units, &mut bytes);
    (
        String::from_utf8_lossy(&bytes).into_owned(),
        text.len(),
        false,
    )
}

// serde_path_to_error is a dev-dependency of the native build only (`make wasm-test` builds the
// library's tests for wasm32 without it).
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::config::PluginConfig;
    use serde::Deserialize;

    /// Every option of the configuration, each set once (from the schema's defaults).
    const FULL: &str = include_str!("json_path_full.json");

    fn ours(text: &[u8]) -> Option<String> {
        let mut de = serde_json::Deserializer::from_slice(text);
        PluginConfig::deserialize(&mut de)
            .err()
            .map(|e| path_at(text, &e, &crate::config::enum_field))
            .map(|p| if p == "?" { String::new() } else { p })
    }

    /// The path serde_path_to_error names, as the configuration used to read it.
    fn tracked(text: &[u8]) -> Option<String> {
        let mut de = serde_json::Deserializer::from_slice(text);
        serde_path_to_error::deserialize::<_, PluginConfig>(&mut de)
            .err()
            .map(|e| match e.path().to_string() {
                p if p == "." || p == "?" => String::new(),
                p => p,
            })
    }

    fn check(text: &str, mismatches: &mut Vec<String>) -> bool {
        let (a, b) = (ours(text.as_bytes()), tracked(text.as_bytes()));
        if a != b {
            let tail = &text[text.len().saturating_sub(24)..];
            mismatches.push(format!("...{tail:?}: ours {a:?}, tracked {b:?}"));
        }
        a.is_some()
    }

    fn variants() -> Vec<String> {
        let compact: serde_json::Value = serde_json::from_str(FULL).unwrap();
        let pretty = serde_json::to_string_pretty(&compact).unwrap();
        vec![compact.to_string(), pretty]
    }

    #[test]
    fn the_full_configuration_is_accepted() {
        for text in variants() {
            assert_eq!(ours(text.as_bytes()), None);
        }
    }

    #[test]
    fn every_truncation_names_what_serde_path_to_error_named() {
        let mut mismatches = Vec::new();
        let mut refused = 0;
        for text in variants() {
            for end in 0..text.len() {
                refused += usize::from(check(&text[..end], &mut mismatches));
            }
        }
        assert!(refused > 1000, "{refused}");
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }

    #[test]
    fn every_wrong_value_and_unknown_key_names_what_serde_path_to_error_named() {
        let replacements = [
            r#""x""#,
            "1.5",
            "-1",
            "true",
            "null",
            "{}",
            "[]",
            r#"{"zz": 1}"#,
            r#"["a"]"#,
            r#"[{"a": 1}]"#,
            "18446744073709551616",
            r#""b\u00e9d""#,
        ];
        let mut mismatches = Vec::new();
        let mut refused = 0;
        for text in variants() {
            for t in tokens(text.as_bytes(), text.len()) {
                let (head, tail) = (&text[..t.start], &text[t.end..]);
                match t.kind {
                    Kind::Scalar { .. } => {
                        for r in replacements {
                            refused +=
                                usize::from(check(&format!("{head}{r}{tail}"), &mut mismatches));
                        }
                    }
                    Kind::Key { .. } => {
                        let unknown = format!(r#"{head}"zz\"Unknown"{tail}"#);
                        refused += usize::from(check(&unknown, &mut mismatches));
                    }
                    Kind::Open if !t.in_array => {
                        let extra = format!(r#"{head}{{"zzExtra": 1, {}"#, &text[t.end..]);
                        refused += usize::from(check(&extra, &mut mismatches));
                    }
                    _ => {}
                }
            }
        }
        assert!(refused > 500, "{refused}");
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }

    #[test]
    fn missing_and_duplicate_fields_name_what_serde_path_to_error_named() {
        let mut mismatches = Vec::new();
        for text in [
            r#"{"services": {"customerProfile": {"cache": {}}}}"#,
            r#"{"services": {"customerProfile": {"cache": {"slots": 3}}}}"#,
            r#"{"copilot": {"identityRows": [{"key": "x"}]}}"#,
            r#"{"copilot": {"identityRows": [{"label": "x", "key": "y"}, {"label": "x"}]}}"#,
            r#"{"deadlineMs": 1000, "deadlineMs": 2000}"#,
            r#"{"privacy": {"maskPatterns": true, "maskPatterns": false}}"#,
            "{\n  \"retry\": {\n    \"maxAttempts\": \"3\"\n  }\n}",
            r#"{"enrichP\u0061th": 3}"#,
            r#"{"answerMode": "nope"}"#,
            r#"{"auth": {"schemes": ["bearer", "nope"]}}"#,
            r#""text""#,
            "3",
            "{,}",
            r#"{"a" 1}"#,
            r#"{"deadlineMs": 1000,}"#,
            r#"{"customerNumberPattern": "a\""#,
            r#"{"enrichPath": "/x\"", "deadlineMs": "x"}"#,
            r#"{"privacy": {"maskFields": ["a\"b", 3]}}"#,
            r#"{"privacy": {"mask\u0046ields": ["a", 3]}}"#,
        ] {
            assert!(check(text, &mut mismatches), "{text} was accepted");
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }
}
