//! The compiled `customerNumberPattern`, with a fast path for its usual shape.
//!
//! Every enrich request and MCP tool call checks the caller's customer number against it.
//! regex-lite has no literal or class prefilter: even the default `^[A-Za-z0-9_-]+$` runs its
//! PikeVM (about 1 us of the core's ~17 us per request in V8). Patterns of that shape, one
//! bracket class of ASCII characters repeated with `+`, are a byte set, so they are recognised
//! from the operator's text and checked byte by byte. The recogniser is deliberately tiny and
//! refuses anything it is not sure of; those patterns, and every other, go to the regex.

use regex_lite::Regex;

/// The pattern anchored as `^(?:pattern)$`, and its byte set when it has the simple shape.
#[derive(Debug, Clone)]
pub struct CustomerPattern {
    regex: Regex,
    /// Bit `b` set: ASCII byte `b` is in the class. `None`: the regex decides.
    ascii_set: Option<u128>,
}

impl CustomerPattern {
    /// Compiles the operator's pattern anchored at both ends, so it has to match the whole
    /// value: a substring match would let "../" or "?" through around an allowed core. The raw
    /// pattern must compile by itself first, or "a)|(b" would break out of the group.
    pub fn new(pattern: &str) -> Result<Self, regex_lite::Error> {
        Regex::new(pattern)?;
        let regex = Regex::new(&format!("^(?:{pattern})$"))?;
        Ok(CustomerPattern {
            regex,
            ascii_set: ascii_class_plus(pattern),
        })
    }

    /// The anchored pattern's text, as the regex reports it.
    pub fn as_str(&self) -> &str {
        self.regex.as_str()
    }

    /// Whether the whole of `text` matches, exactly as the anchored regex would say.
    pub fn is_match(&self, text: &str) -> bool {
        match self.ascii_set {
            Some(set) => !text.is_empty() && text.bytes().all(|b| b < 128 && (set >> b) & 1 == 1),
            None => self.regex.is_match(text),
        }
    }
}

/// The byte set of `^?[CLASS]+$?` when CLASS holds only printable ASCII literals and ranges
/// between two of them, with an optional `-` first and an optional `-` last; `None` for
/// anything else. Not accepted, so the regex decides: `[^` negation, `\` escapes, nested `[`,
/// `]` inside the class, `&`/`~` (set operations), `^` inside the class, a `-` after a range
/// that is not the last character (`[a-c-e]`), other quantifiers, flags, non-ASCII.
fn ascii_class_plus(pattern: &str) -> Option<u128> {
    let p = pattern.as_bytes();
    let p = p.strip_prefix(b"^").unwrap_or(p);
    let p = p.strip_suffix(b"$").unwrap_or(p);
    let body = p
        .strip_suffix(b"+")?
        .strip_prefix(b"[")?
        .strip_suffix(b"]")?;
    let (mut set, body) = match body.strip_prefix(b"-") {
        Some(rest) => (bit(b'-'), rest),
        None => (0, body),
    };
    let (body, trailing_dash) = match body.strip_suffix(b"-") {
        Some(rest) => (rest, true),
        None => (body, false),
    };
    if trailing_dash {
        set |= bit(b'-');
    }
    let mut rest = body;
    while let Some((&lo, after)) = rest.split_first() {
        if !is_literal(lo) {
            return None;
        }
        match after {
            [b'-', hi, tail @ ..] => {
                if !is_literal(*hi) || lo > *hi {
                    return None;
                }
                set |= (lo..=*hi).fold(0, |s, b| s | bit(b));
                rest = tail;
            }
            _ => {
                set |= bit(lo);
                rest = after;
            }
        }
    }
    (set != 0).then_some(set)
}

/// Printable ASCII that stands for itself in a regex-lite class wherever it appears.
fn is_literal(b: u8) -> bool {
    (b' '..=b'~').contains(&b) && !matches!(b, b'[' | b']' | b'\\' | b'^' | b'&' | b'~' | b'-')
}

/// Only called with bytes below 128 (printable ASCII).
fn bit(b: u8) -> u128 {
    1u128.checked_shl(u32::from(b)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_CUSTOMER_PATTERN;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn set_of(chars: &str) -> u128 {
        chars.bytes().fold(0, |s, b| s | bit(b))
    }

    #[test]
    fn simple_shapes_take_the_fast_path() {
        let digits = set_of("0123456789");
        assert_eq!(ascii_class_plus("[0-9]+"), Some(digits));
        assert_eq!(ascii_class_plus("^[0-9]+"), Some(digits));
        assert_eq!(ascii_class_plus("[0-9]+$"), Some(digits));
        assert_eq!(ascii_class_plus("^[0-9]+$"), Some(digits));
        let upper: String = ('A'..='Z').collect();
        let lower: String = ('a'..='z').collect();
        assert_eq!(
            ascii_class_plus(DEFAULT_CUSTOMER_PATTERN),
            Some(set_of(&format!("{upper}{lower}0123456789_-")))
        );
        assert_eq!(ascii_class_plus("[-a-c]+"), Some(set_of("-abc")));
        assert_eq!(ascii_class_plus("[a-c-]+"), Some(set_of("-abc")));
        assert_eq!(ascii_class_plus("[-]+"), Some(set_of("-")));
        assert_eq!(ascii_class_plus("[_.]+"), Some(set_of("_.")));
        assert_eq!(ascii_class_plus("[ a]+"), Some(set_of(" a")));
        assert_eq!(ascii_class_plus("[a$+.*]+"), Some(set_of("a$+.*")));
        assert_eq!(ascii_class_plus("[!-/]+"), Some(set_of("!\"#$%&'()*+,-./")));
    }

    #[test]
    fn anything_else_falls_back() {
        for p in [
            "[^a]+",
            "[a-z]{2,4}",
            "[a-z]*",
            "[a-z]",
            "[a-z]+?",
            "[a-z]++",
            "(?i)[a-z]+",
            "(?x)[ a]+",
            r"[\d]+",
            r"[a\-z]+",
            "[[:alpha:]]+",
            "[]a]+",
            "[a]]+",
            "[a-z&&b]+",
            "[a~~b]+",
            "[a^]+",
            "[--a]+",
            "[a--]+",
            "[a-c-e]+",
            "[z-a]+",
            "[é]+",
            "[a\tb]+",
            "^^[a]+",
            "[a]+$$",
            "[a]+\\$",
            "[a][b]+",
            "(?:[a]+)",
            "[a]+|[b]+",
            "[]+",
            "",
        ] {
            assert_eq!(ascii_class_plus(p), None, "{p:?}");
        }
    }

    #[test]
    fn reports_the_anchored_text() {
        let p = CustomerPattern::new(DEFAULT_CUSTOMER_PATTERN).unwrap();
        assert_eq!(p.as_str(), format!("^(?:{DEFAULT_CUSTOMER_PATTERN})$"));
        assert!(p.ascii_set.is_some());
        assert!(CustomerPattern::new("a)|(b").is_err());
        assert!(CustomerPattern::new("[a").is_err());
    }

    /// Fixed-seed xorshift: the same strings on every run and target.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// The fast path and the regex agree on every string of up to 3 characters over an alphabet
    /// that straddles the classes, and on random strings from a wider one.
    #[test]
    fn agrees_with_the_anchored_regex() {
        let fast = [
            DEFAULT_CUSTOMER_PATTERN,
            "[0-9]+",
            "^[A-Z0-9-]+$",
            "[-a-c]+",
            "[a-c-]+",
            "[_.]+",
            "[ a]+",
            "[Z-a]+",
            "[a$+.*()|{}?#/]+",
        ];
        let slow = ["[^a]+", "[a-z]{2,4}", "(?i)[a-z]+", r"[\d]+", "[]a]+"];
        let small = ['a', 'Z', '0', '-', '_', '.', ' ', 'é', '\n', '^', ']'];
        let mut strings = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..3 {
            last = last
                .iter()
                .flat_map(|s| small.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(last.iter().cloned());
        }
        let wide: Vec<char> = (' '..='\u{7f}')
            .chain(['\n', '\t', '\0', 'é', 'ß', '\u{212a}', '\u{1f600}'])
            .collect();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            let len = rng.below(12);
            strings.push((0..len).map(|_| wide[rng.below(wide.len())]).collect());
        }
        // Strings that match each fast pattern, so agreement is not only on refusals.
        strings.extend(
            [
                "CUST-992847",
                "a_b",
                "0123",
                "ABC-9",
                "-a-c-",
                "_._",
                " a a",
                "a$(#)",
            ]
            .map(String::from),
        );
        for (patterns, fast_path) in [(&fast[..], true), (&slow[..], false)] {
            for p in patterns {
                let ours = CustomerPattern::new(p).unwrap();
                assert_eq!(ours.ascii_set.is_some(), fast_path, "{p:?}");
                let regex = Regex::new(&format!("^(?:{p})$")).unwrap();
                let mut matched = 0;
                for s in &strings {
                    assert_eq!(ours.is_match(s), regex.is_match(s), "{p:?} on {s:?}");
                    matched += usize::from(regex.is_match(s));
                }
                assert!(matched > 0, "{p:?} matched none of the strings");
            }
        }
    }
}
