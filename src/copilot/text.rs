//! Upstream values as card text: read from the raw JSON, made one line, and kept literal.
//!
//! Two places on an Adaptive Card show text, and they treat it differently:
//! - a `TextRun` (inside a `RichTextBlock`) never interprets markdown (the schema says so, and
//!   Microsoft's renderer sets it as plain text), but it still expands the card's own
//!   `{{DATE(...)}}` / `{{TIME(...)}}` functions;
//! - a `TextBlock` - and so every `Fact` of a `FactSet`, which renderers draw as TextBlocks - is
//!   markdown wherever the host has a markdown processor (Teams, the designer, any host that
//!   plugs markdown-it into Microsoft's renderer).
//!
//! So upstream text goes into TextRuns wherever the card's layout allows, and only the FactSet
//! (which the card must have) gets markdown escaping. In both, `{{` and `${` are split by an
//! invisible U+2060 WORD JOINER: the card's date functions, Adaptive Card templating and
//! CognigyScript all look for the two characters side by side, and the agent still reads `{{`.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use crate::aggregate::clean;

/// Invisible, and not a line-break opportunity: the text reads and wraps as before.
const WORD_JOINER: char = '\u{2060}';

/// The top-level fields of a JSON object, values left unparsed; `None` for anything else.
pub fn fields(json: &str) -> Option<BTreeMap<String, &RawValue>> {
    if !json.starts_with('{') {
        return None;
    }
    serde_json::from_str(json).ok()
}

/// A scalar as text: strings as they are, numbers exactly as they were written (`249.90` stays
/// `249.90`), booleans as `true` / `false`; `null`, objects, arrays and empty strings are absent.
pub fn scalar(raw: Option<&&RawValue>) -> Option<String> {
    let text = raw?.get();
    match text.as_bytes().first()? {
        // Without a backslash the JSON string is its own text between the quotes: no parse.
        b'"' if !text.contains('\\') => text
            .get(1..text.len().saturating_sub(1))
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        b'"' => serde_json::from_str::<String>(text)
            .ok()
            .filter(|s| !s.is_empty()),
        b'-' | b'0'..=b'9' => Some(text.to_owned()),
        b't' => Some("true".to_owned()),
        b'f' => Some("false".to_owned()),
        _ => None,
    }
}

/// Upstream text for a `TextRun`: one line, at most `max_chars`, template markers split.
pub fn run_text(value: &str, max_chars: usize) -> String {
    split_template_markers(&clean(value, max_chars))
}

/// Upstream text for a `TextBlock` or `Fact`: as [`run_text`], and every character markdown
/// could read as syntax escaped with a backslash (CommonMark renders `\` + ASCII punctuation as
/// that character, so the agent sees the original text).
pub fn markdown_text(value: &str, max_chars: usize) -> String {
    let line = run_text(value, max_chars);
    let mut out = String::with_capacity(line.len() + 8);
    let mut chars = line.chars().peekable();
    let mut at_start = true;
    let mut leading_digits = true;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let escape = match c {
            // Inline syntax anywhere: emphasis, code, links and images, autolinks and raw HTML,
            // entities, strikethrough, and the escape character itself.
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '~' | '|' => true,
            // Block syntax only counts at the start of a line, and a value is one line:
            // a heading, a list item or thematic break, an ordered list item (`1.` / `1)`).
            '#' | '+' | '-' | '=' => at_start,
            '.' | ')' => !at_start && leading_digits && next.map_or(true, |n| n == ' '),
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
        if !c.is_ascii_digit() {
            leading_digits = false;
        }
        at_start = false;
    }
    out
}

/// Puts a WORD JOINER between `{{` and between `${`.
fn split_template_markers(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut prev = None;
    for c in value.chars() {
        if c == '{' && matches!(prev, Some('{' | '$')) {
            out.push(WORD_JOINER);
        }
        out.push(c);
        prev = Some(c);
    }
    out
}

/// `2024-11-05T08:30:00Z` -> `2024-11-05`; anything that does not start with a calendar date is
/// kept as it is.
pub fn date_part(value: &str) -> &str {
    let b = value.as_bytes();
    let is_date = b.len() >= 10
        && b.iter().take(10).enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
        && b.get(10).map_or(true, |c| matches!(c, b'T' | b't' | b' '));
    match value.get(..10) {
        Some(day) if is_date => day,
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    #[test]
    fn scalars_keep_their_written_form() {
        let r = |j: &str| scalar(Some(&&*raw(j)));
        assert_eq!(r(r#""Elena""#).as_deref(), Some("Elena"));
        assert_eq!(r(r#""a\"b\u00e9""#).as_deref(), Some("a\"bé"));
        assert_eq!(r("249.90").as_deref(), Some("249.90"));
        assert_eq!(r("-1e3").as_deref(), Some("-1e3"));
        assert_eq!(r("true").as_deref(), Some("true"));
        assert_eq!(r("false").as_deref(), Some("false"));
        for absent in ["null", r#""""#, "{}", "[1]"] {
            assert_eq!(r(absent), None, "{absent}");
        }
        assert_eq!(scalar(None), None);
    }

    #[test]
    fn fields_only_of_objects() {
        let profile = raw(r#"{"fullName":"E","n":{"x":[1]}}"#);
        let f = fields(profile.get()).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f["n"].get(), r#"{"x":[1]}"#);
        assert!(fields(raw("[1]").get()).is_none());
        assert!(fields(raw(r#""x""#).get()).is_none());
    }

    #[test]
    fn template_markers_are_split_invisibly() {
        assert_eq!(
            run_text("{{DATE(2024-11-05T08:30:00Z, SHORT)}}", 200),
            "{\u{2060}{DATE(2024-11-05T08:30:00Z, SHORT)}}"
        );
        assert_eq!(
            run_text("${secret} {{{x", 200),
            "$\u{2060}{secret} {\u{2060}{\u{2060}{x"
        );
        assert_eq!(run_text("{ {", 200), "{ {");
        // An upstream word joiner is dropped first, so it cannot pair with the one added.
        assert_eq!(run_text("{\u{2060}{", 200), "{\u{2060}{");
    }

    #[test]
    fn text_is_one_line_and_cut() {
        assert_eq!(run_text("a\nb\r\n\tc", 200), "a b c");
        assert_eq!(run_text(&"x".repeat(300), 10), "x".repeat(10));
    }

    #[test]
    fn markdown_syntax_is_escaped() {
        assert_eq!(
            markdown_text("[x](https://evil.example)", 200),
            r"\[x\](https://evil.example)"
        );
        assert_eq!(markdown_text("![i](u)", 200), r"!\[i\](u)");
        assert_eq!(
            markdown_text("**b** _i_ `c`", 200),
            r"\*\*b\*\* \_i\_ \`c\`"
        );
        assert_eq!(
            markdown_text("<https://e.x> <b>", 200),
            r"\<https://e.x\> \<b\>"
        );
        assert_eq!(
            markdown_text("&lt; ~~s~~ a|b", 200),
            r"\&lt; \~\~s\~\~ a\|b"
        );
        assert_eq!(markdown_text(r"a\b", 200), r"a\\b");
        assert_eq!(markdown_text("# h", 200), r"\# h");
        assert_eq!(markdown_text("- item", 200), r"\- item");
        assert_eq!(markdown_text("+ item", 200), r"\+ item");
        assert_eq!(markdown_text("=== x", 200), r"\=== x");
        assert_eq!(markdown_text("12. item", 200), r"12\. item");
        assert_eq!(markdown_text("3) item", 200), r"3\) item");
        assert_eq!(markdown_text("1.", 200), r"1\.");
        // Ordinary values keep their punctuation unescaped.
        assert_eq!(markdown_text("ORD-2024-88412", 200), "ORD-2024-88412");
        assert_eq!(
            markdown_text("José Álvarez-Núñez", 200),
            "José Álvarez-Núñez"
        );
        assert_eq!(markdown_text("2019-03-14", 200), "2019-03-14");
        assert_eq!(markdown_text("249.90 EUR", 200), "249.90 EUR");
        assert_eq!(markdown_text("v1.2) a", 200), "v1.2) a");
    }

    #[test]
    fn dates_keep_the_day() {
        assert_eq!(date_part("2024-11-05T08:30:00Z"), "2024-11-05");
        assert_eq!(date_part("2024-11-05"), "2024-11-05");
        assert_eq!(date_part("2024-11-05 08:30"), "2024-11-05");
        assert_eq!(date_part("05.11.2024"), "05.11.2024");
        assert_eq!(date_part("2024-11-05X"), "2024-11-05X");
        assert_eq!(date_part("é"), "é");
        assert_eq!(date_part("2024-1é-05T"), "2024-1é-05T");
    }
}
