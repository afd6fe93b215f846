//! The masks: how a value under a masked key, or a match the scanners found, is written out.
//! Characters are Unicode scalar values; only `*` is ever written, so a mask can add no line,
//! control character or quote.

use super::scan;

pub const MASK: char = '*';

/// A masked e-mail address: the local part's first character, `***@`, the domain.
pub fn email_parts(local: &[char], domain: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(domain.len() + 5);
    out.extend(local.first());
    out.extend([MASK, MASK, MASK, '@']);
    out.extend_from_slice(domain);
    out
}

/// Every digit but the last `keep` replaced by `*`; other characters kept. True if it changed.
fn digits_in_place(chars: &mut [char], keep: usize) -> bool {
    let total = chars.iter().filter(|c| c.is_numeric()).count();
    let mut to_mask = total.saturating_sub(keep);
    let mut changed = false;
    for c in chars.iter_mut() {
        if to_mask == 0 {
            break;
        }
        if c.is_numeric() {
            *c = MASK;
            to_mask -= 1;
            changed = true;
        }
    }
    changed
}

/// A card number: every digit but the last four, separators kept.
pub fn card_in_place(chars: &mut [char]) -> bool {
    digits_in_place(chars, 4)
}

/// An IBAN: every character but the last four, spaces kept.
pub fn iban_in_place(chars: &mut [char]) -> bool {
    let total = chars.iter().filter(|c| **c != ' ').count();
    let mut to_mask = total.saturating_sub(4);
    let mut changed = false;
    for c in chars.iter_mut() {
        if to_mask == 0 {
            break;
        }
        if *c != ' ' {
            changed |= *c != MASK;
            *c = MASK;
            to_mask -= 1;
        }
    }
    changed
}

/// Any other string: more than 8 characters, all but the last 4 masked; 8 or fewer, all.
fn other(chars: &mut [char]) {
    let keep = if chars.len() > 8 { 4 } else { 0 };
    let n = chars.len().saturating_sub(keep);
    for c in chars.iter_mut().take(n) {
        *c = MASK;
    }
}

/// Keys named like a phone number: their values take the phone mask.
pub fn is_phone_key(lowercase_key: &str) -> bool {
    ["phone", "mobile", "fax"]
        .iter()
        .any(|k| lowercase_key.contains(k))
        || lowercase_key == "tel"
}

/// Text a phone number is written in: digits, `+`, spaces and `-()./`, at least 6 digits, and a
/// `+` or a separator (a bare digit run is more likely an account or order number).
fn looks_like_phone(chars: &[char]) -> bool {
    let digits = chars.iter().filter(|c| c.is_ascii_digit()).count();
    digits >= 6
        && digits < chars.len()
        && chars
            .iter()
            .all(|c| c.is_ascii_digit() || " +-()./".contains(*c))
}

/// The whole value is one e-mail address: `(local, domain)`.
fn whole_email(chars: &[char]) -> Option<(&[char], &[char])> {
    let at = scan::whole_email_at(chars)?;
    Some((chars.get(..at)?, chars.get(at + 1..)?))
}

/// The masked form of a string found under a masked key. `phone_key`: the key (or one above it
/// inside the masked value) is named like a phone number.
pub fn value(text: &str, phone_key: bool) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    if let Some((local, domain)) = whole_email(&chars) {
        return email_parts(local, domain).into_iter().collect();
    }
    let compact: Vec<char> = chars.iter().copied().filter(|c| *c != ' ').collect();
    let is_iban = compact
        .first()
        .zip(compact.get(1))
        .and_then(|(a, b)| scan::iban_length(*a, *b))
        .is_some_and(|len| len == compact.len() && scan::iban_mod97(&compact) == Some(1));
    let digits = chars.iter().filter(|c| c.is_ascii_digit()).count();
    let is_card = (12..=19).contains(&digits)
        && chars
            .iter()
            .all(|c| c.is_ascii_digit() || *c == ' ' || *c == '-')
        && scan::luhn_valid(chars.iter().copied());
    // A key named like a phone decides first: a phone number can pass the Luhn check.
    if phone_key && digits > 2 {
        digits_in_place(&mut chars, 2);
    } else if is_iban {
        iban_in_place(&mut chars);
    } else if is_card {
        card_in_place(&mut chars);
    } else if looks_like_phone(&chars) && digits > 2 {
        digits_in_place(&mut chars, 2);
    } else {
        other(&mut chars);
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn the_masks_of_the_issue() {
        assert_eq!(value("elena@example.com", false), "e***@example.com");
        assert_eq!(value("+49 30 5550 1234", true), "+** ** **** **34");
        assert_eq!(value("+49 30 5550 1234", false), "+** ** **** **34");
        assert_eq!(value("4111 1111 1111 1111", false), "**** **** **** 1111");
        // Under a phone key the phone mask wins, even for a Luhn-valid number.
        assert_eq!(value("4111111111111111", true), "**************11");
        assert_eq!(
            value("DE89 3704 0044 0532 0130 00", false),
            "**** **** **** **** **30 00"
        );
        assert_eq!(value("Rostova-Ivanova", false), "***********nova");
        assert_eq!(value("12345678", false), "********");
        assert_eq!(value("Elena", false), "*****");
        assert_eq!(value("", false), "");
        // Unicode scalar values, not bytes.
        assert_eq!(value("Ñúñez-Álvarez", false), "*********arez");
        assert_eq!(value("ü@example.de", false), "ü***@example.de");
    }

    #[test]
    fn phone_rule_needs_a_phone() {
        // A phone key with almost no digits: the generic mask, never the value as it was.
        assert_eq!(value("n/a", true), "***");
        assert_eq!(value("call 12", true), "*******");
        assert_eq!(value("(030) 555-01", false), "(***) ***-01");
    }

    #[test]
    fn phone_keys() {
        for k in [
            "phone",
            "mobilephone",
            "fax",
            "tel",
            "phonenumber",
            "mobile",
        ] {
            assert!(is_phone_key(k), "{k}");
        }
        assert!(!is_phone_key("hotel"));
        assert!(!is_phone_key("email"));
    }
}
