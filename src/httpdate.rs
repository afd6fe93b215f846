//! HTTP-date parsing (RFC 9110 section 5.6.7) for `Retry-After`. Recipients must accept all three
//! formats: IMF-fixdate, the obsolete RFC 850 form and asctime.

/// Milliseconds since the Unix epoch for an HTTP-date, or `None` when it is not one.
pub fn parse_ms(input: &str) -> Option<u64> {
    let s = input.trim();
    let parts: Vec<&str> = s.split_ascii_whitespace().collect();
    let (day, month, year, time) = match parts.as_slice() {
        // Sun, 06 Nov 1994 08:49:37 GMT
        [wd, d, m, y, t, "GMT"] if wd.ends_with(',') => (*d, *m, year4(y)?, *t),
        // Sunday, 06-Nov-94 08:49:37 GMT
        [wd, dmy, t, "GMT"] if wd.ends_with(',') => {
            let mut it = dmy.split('-');
            let (d, m, y) = (it.next()?, it.next()?, it.next()?);
            if it.next().is_some() || y.len() != 2 {
                return None;
            }
            let yy: u64 = y.parse().ok()?;
            // RFC 9110: a two-digit year more than 50 years in the future is in the past century.
            (d, m, if yy < 70 { 2000 + yy } else { 1900 + yy }, *t)
        }
        // Sun Nov  6 08:49:37 1994
        [_wd, m, d, t, y] => (*d, *m, year4(y)?, *t),
        _ => return None,
    };
    let day: u64 = digits(day, 1, 2)?;
    let month = month_number(month)?;
    let (h, mi, se) = clock(time)?;
    if !(1..=31).contains(&day) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    let secs = days
        .checked_mul(86_400)?
        .checked_add(h * 3600 + mi * 60 + se)?;
    secs.checked_mul(1000)
}

fn year4(y: &str) -> Option<u64> {
    digits(y, 4, 4)
}

fn digits(s: &str, min: usize, max: usize) -> Option<u64> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn clock(t: &str) -> Option<(u64, u64, u64)> {
    let mut it = t.split(':');
    let h = digits(it.next()?, 2, 2)?;
    let m = digits(it.next()?, 2, 2)?;
    let s = digits(it.next()?, 2, 2)?;
    if it.next().is_some() {
        return None;
    }
    Some((h, m, s))
}

fn month_number(m: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS
        .iter()
        .position(|name| *name == m)
        .map(|i| i as u64 + 1)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm); dates
/// before the epoch are refused.
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    let y = if month <= 2 {
        year.checked_sub(1)?
    } else {
        year
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
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
