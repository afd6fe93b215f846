//! Helpers shared by the fuzz targets: a byte reader that never fails (it yields zeros once the
//! input runs out), validated settings, and the checks every target makes on what the core
//! produces.

use std::collections::BTreeMap;

use cognigy_enrich::config::{Settings, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_WEBHOOK_TOKENS};
use serde_json::value::RawValue;

/// The webhook token the fuzzed settings accept.
pub const WEBHOOK_TOKEN: &str = "fuzz-webhook-token";

/// Reads structured values off the fuzzer's bytes. Exhausted input reads as zeros / empty, so a
/// target never has to bail out half-way and every input is a valid program.
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// One of `items`, by the next byte.
    pub fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        let i = usize::from(self.u8()) % items.len().max(1);
        &items[i]
    }

    /// The next `n` bytes (fewer at the end of the input).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    /// A length-prefixed slice: a u16 length, then that many bytes.
    pub fn chunk(&mut self) -> &'a [u8] {
        let n = usize::from(self.u16());
        self.take(n)
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}

/// The environment a configured filter sees: demo credentials and one webhook token.
pub fn env(key: &str) -> Option<String> {
    match key {
        ENV_CLIENT_ID => Some("fuzz-client".to_owned()),
        ENV_CLIENT_SECRET => Some("fuzz-client-secret".to_owned()),
        ENV_WEBHOOK_TOKENS => Some(WEBHOOK_TOKEN.to_owned()),
        _ => None,
    }
}

/// Settings from a plugin configuration the tests know to be valid.
pub fn settings(json: &str) -> Settings {
    match Settings::from_json(json.as_bytes(), &env) {
        Ok(s) => s,
        Err(e) => panic!("fuzz settings {json} refused: {e}"),
    }
}

/// Whether `encoded` is a percent-encoding of `raw` that only uses RFC 3986 unreserved
/// characters and `%XX` escapes (uppercase hex), so it can never change a URL's structure.
pub fn is_safe_encoding_of(encoded: &str, raw: &str) -> bool {
    let mut decoded = Vec::with_capacity(raw.len());
    let bytes = encoded.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            };
            let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) else {
                return false;
            };
            decoded.push(hi << 4 | lo);
            i += 3;
        } else if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            decoded.push(b);
            i += 1;
        } else {
            return false;
        }
    }
    decoded == raw.as_bytes()
}

/// A JSON object's members as raw JSON text, or a panic naming what came instead. Raw, because
/// the filter passes upstream data on verbatim: valid JSON, but possibly numbers (`1e400`) that
/// serde_json's `Value` refuses.
pub fn json_object(body: &str) -> BTreeMap<String, Box<RawValue>> {
    match serde_json::from_str(body) {
        Ok(map) => map,
        Err(e) => panic!("not a JSON object ({e}): {body:?}"),
    }
}

/// A member that must be a JSON string.
pub fn string_member(map: &BTreeMap<String, Box<RawValue>>, key: &str) -> Option<String> {
    serde_json::from_str(map.get(key)?.get()).ok()
}

/// The length of a member that must be a JSON array.
pub fn array_len(map: &BTreeMap<String, Box<RawValue>>, key: &str) -> Option<usize> {
    serde_json::from_str::<Vec<Box<RawValue>>>(map.get(key)?.get())
        .ok()
        .map(|v| v.len())
}

/// Every JSON string in `raw` (object keys excluded), unescaped, for checks on values.
pub fn json_strings(raw: &RawValue, out: &mut Vec<String>) {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'{') => {
            if let Ok(map) = serde_json::from_str::<BTreeMap<String, Box<RawValue>>>(text) {
                for v in map.values() {
                    json_strings(v, out);
                }
            }
        }
        Some(b'[') => {
            if let Ok(items) = serde_json::from_str::<Vec<Box<RawValue>>>(text) {
                for v in &items {
                    json_strings(v, out);
                }
            }
        }
        Some(b'"') => {
            if let Ok(s) = serde_json::from_str::<String>(text) {
                out.push(s);
            }
        }
        _ => {}
    }
}

/// An unmasked card number of 16 digits in `text`: a run of ASCII digits in groups joined by
/// single spaces or dashes, 16 digits in all, no letter or digit on either side, Luhn-valid.
/// Written independently of the scanner it checks.
pub fn unmasked_card16(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let alnum = |i: usize| chars.get(i).is_some_and(|c| c.is_alphanumeric());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = Vec::new();
        let mut end = i;
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_digit() {
                digits.push(c.to_digit(10).unwrap_or(0));
                i += 1;
                end = i;
            } else if (c == ' ' || c == '-') && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                i += 1;
            } else {
                break;
            }
        }
        let bounded = (start == 0 || !alnum(start - 1)) && !alnum(end);
        if bounded && digits.len() == 16 {
            let sum: u32 = digits
                .iter()
                .rev()
                .enumerate()
                .map(|(k, d)| if k % 2 == 1 { let x = d * 2; if x > 9 { x - 9 } else { x } } else { *d })
                .sum();
            if sum % 10 == 0 {
                return Some(chars[start..end].iter().collect());
            }
        }
    }
    None
}
