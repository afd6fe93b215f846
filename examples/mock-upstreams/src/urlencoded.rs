//! Percent-decoding for paths, query strings and form bodies, by `percent_decode_str` of the
//! `percent-encoding` crate, which keeps a malformed escape as it is rather than rejecting it: the
//! point is to show the filter exactly what it sent.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`).
/// Invalid escapes are kept literally; invalid UTF-8 is replaced lossily.
pub fn decode(input: &str, plus_is_space: bool) -> String {
    // A `+` is a space only where it was sent as such; an encoded one (`%2B`) stays a `+`.
    let spaced: Cow<'_, str> = if plus_is_space && input.contains('+') {
        Cow::Owned(input.replace('+', " "))
    } else {
        Cow::Borrowed(input)
    };
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// Splits `a=1&b=2` into decoded pairs, keeping order and duplicates.
/// A key without `=` gets an empty value; empty segments are skipped.
pub fn parse_pairs(input: &str) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            let (key, value) = segment.split_once('=').unwrap_or((segment, ""));
            (decode(key, true), decode(value, true))
        })
        .collect()
}

/// The decoded value of the first `name` parameter in a query string.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|segment| {
            let (key, value) = segment.split_once('=').unwrap_or((segment, ""));
            (decode(key, true) == name).then(|| decode(value, true))
        })
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_plus() {
        assert_eq!(decode("CUST%2D992847", false), "CUST-992847");
        assert_eq!(decode("a+b%20c", true), "a b c");
        assert_eq!(decode("a+b", false), "a+b");
        assert_eq!(decode("Jos%C3%A9", false), "José");
    }

    #[test]
    fn keeps_malformed_escapes() {
        assert_eq!(decode("100%", false), "100%");
        assert_eq!(decode("%zz%4", false), "%zz%4");
        assert_eq!(decode("%FF", false), "\u{FFFD}");
    }

    #[test]
    fn parses_pairs_and_params() {
        let pairs = parse_pairs("grant_type=client_credentials&scope=read+write&flag&&x=%26");
        assert_eq!(
            pairs,
            vec![
                ("grant_type".into(), "client_credentials".into()),
                ("scope".into(), "read write".into()),
                ("flag".into(), String::new()),
                ("x".into(), "&".into()),
            ]
        );
        assert_eq!(
            query_param("customerId=CUST-1&limit=5", "limit").as_deref(),
            Some("5")
        );
        assert_eq!(query_param("customerId=CUST-1", "limit"), None);
    }
}
