//! Percent-encoding of caller input placed into upstream URLs, by the `percent-encoding` crate.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Encodes everything but RFC 3986 unreserved characters, so the result is one path segment or
/// one query value whatever the input: `/`, `?`, `&`, `#`, `%`, spaces, controls and non-ASCII
/// can never change the upstream path, query or headers.
pub fn component(input: &str) -> String {
    utf8_percent_encode(input, NOT_UNRESERVED).to_string()
}

/// `application/x-www-form-urlencoded` value encoding (space as `%20`, which every form parser
/// accepts).
pub fn form_value(input: &str) -> String {
    component(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn unreserved_pass_through() {
        assert_eq!(component("CUST-992847_a.b~"), "CUST-992847_a.b~");
    }

    #[test]
    fn everything_structural_is_encoded() {
        assert_eq!(component("../x"), "..%2Fx");
        assert_eq!(component("a?b&c#d"), "a%3Fb%26c%23d");
        assert_eq!(component("%2F"), "%252F");
        assert_eq!(component("a b\r\n"), "a%20b%0D%0A");
        assert_eq!(component("é"), "%C3%A9");
        assert_eq!(component("\0"), "%00");
    }

    /// Whatever the input, the output is unreserved characters and `%XX` only, and decodes back
    /// to exactly the input: one path segment or query value, nothing more, nothing less.
    #[test]
    fn hostile_values_stay_one_component_and_round_trip() {
        let hostile = [
            "../../admin",
            "a?admin=1&limit=999#x",
            "%2F..%2F",
            "a b+c",
            "cr\rheader: x\n",
            "nul\u{0}\u{1b}[31m\u{7f}",
            "\u{202e}Üñï€😀",
            "x;y=1,z'\"<>`{}|\\^",
        ];
        for raw in hostile {
            let enc = component(raw);
            let mut decoded = Vec::new();
            let mut bytes = enc.bytes();
            while let Some(b) = bytes.next() {
                if b == b'%' {
                    let hex: String = bytes.by_ref().take(2).map(char::from).collect();
                    assert!(hex
                        .bytes()
                        .all(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(&h)));
                    decoded.push(u8::from_str_radix(&hex, 16).unwrap());
                } else {
                    assert!(
                        b.is_ascii_alphanumeric() || b"-._~".contains(&b),
                        "{raw:?} -> {enc:?}"
                    );
                    decoded.push(b);
                }
            }
            assert_eq!(decoded, raw.as_bytes(), "{raw:?} -> {enc:?}");
        }
    }
}
