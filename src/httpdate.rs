//! HTTP-date parsing (RFC 9110 section 5.6.7) for `Retry-After`, by the `httpdate` crate, which
//! accepts all three formats recipients must: IMF-fixdate, the obsolete RFC 850 form and asctime.

use std::time::UNIX_EPOCH;

/// Milliseconds since the Unix epoch for an HTTP-date, or `None` when it is not one (or is
/// before the epoch).
pub fn parse_ms(input: &str) -> Option<u64> {
    let at = ::httpdate::parse_http_date(input.trim()).ok()?;
    let since = at.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(since.as_millis()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const NOV_6_1994: u64 = 784_111_777_000;

    #[test]
    fn all_three_formats() {
        assert_eq!(parse_ms("Sun, 06 Nov 1994 08:49:37 GMT"), Some(NOV_6_1994));
        assert_eq!(parse_ms("Sunday, 06-Nov-94 08:49:37 GMT"), Some(NOV_6_1994));
        assert_eq!(parse_ms("Sun Nov  6 08:49:37 1994"), Some(NOV_6_1994));
    }

    #[test]
    fn epoch_and_leap_day() {
        assert_eq!(parse_ms("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_ms("Thu, 29 Feb 2024 12:00:00 GMT"),
            Some(1_709_208_000_000)
        );
    }

    #[test]
    fn garbage_is_none() {
        for s in [
            "",
            "120",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Wed, 31 Dec 1969 23:59:59 GMT",
            "Sun, 06 Nov 19940 08:49:37 GMT",
        ] {
            assert_eq!(parse_ms(s), None, "{s}");
        }
    }
}
