//! IBANs in free text: the registry's lengths by country, the mod-97 check, and the masking of
//! an IBAN written compact or in groups.

use super::super::mask;
use super::{bounded_left, bounded_right};

/// IBAN length by country: the countries of the ISO 13616 IBAN registry kept by SWIFT (89 as of
/// 2025; territories that use their parent's code, such as French overseas departments, are
/// covered by it). An IBAN of a country not listed here is not recognised.
pub(super) const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HN", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

/// The registry length of the IBANs of country `a b` (either case), if it has IBANs.
pub fn iban_length(a: char, b: char) -> Option<usize> {
    let code = [a.to_ascii_uppercase(), b.to_ascii_uppercase()];
    IBAN_LENGTHS.iter().find_map(|(c, len)| {
        let mut cc = c.chars();
        (cc.next() == code.first().copied() && cc.next() == code.get(1).copied()).then_some(*len)
    })
}

/// ISO 7064 mod 97-10 over an IBAN's characters (country, check digits, BBAN): the first four
/// move to the end, letters count as 10-35. A valid IBAN leaves 1.
pub fn iban_mod97(iban: &[char]) -> Option<u32> {
    let (head, tail) = (iban.get(..4)?, iban.get(4..)?);
    let mut r = 0u32;
    for c in tail.iter().chain(head) {
        let v = c.to_digit(36)?;
        r = if v >= 10 { r * 100 + v } else { r * 10 + v } % 97;
    }
    Some(r)
}

/// Masks every IBAN: a country code of the registry and two check digits written together,
/// then the BBAN to exactly the country's length, optionally grouped by single spaces, no
/// letter or digit on either side, mod 97 = 1.
pub(super) fn mask_ibans(chars: &mut [char]) -> bool {
    let mut changed = false;
    let mut i = 0;
    while i + 4 <= chars.len() {
        match iban_at(chars, i) {
            Some(end) => {
                if let Some(span) = chars.get_mut(i..end) {
                    changed |= mask::iban_in_place(span);
                }
                i = end;
            }
            None => i += 1,
        }
    }
    changed
}

/// The end of the IBAN starting at `i`, if one does.
fn iban_at(chars: &[char], i: usize) -> Option<usize> {
    let (a, b) = (*chars.get(i)?, *chars.get(i + 1)?);
    if !a.is_ascii_alphabetic() || !b.is_ascii_alphabetic() || !bounded_left(chars, i) {
        return None;
    }
    if !(chars.get(i + 2)?.is_ascii_digit() && chars.get(i + 3)?.is_ascii_digit()) {
        return None;
    }
    let len = iban_length(a, b)?;
    let mut compact = Vec::with_capacity(len);
    let mut pos = i;
    while compact.len() < len {
        let c = *chars.get(pos)?;
        if c.is_ascii_alphanumeric() {
            compact.push(c);
            pos += 1;
        } else if c == ' ' && compact.len() >= 4 && chars.get(pos + 1)?.is_ascii_alphanumeric() {
            pos += 1;
        } else {
            return None;
        }
    }
    (bounded_right(chars, pos) && iban_mod97(&compact) == Some(1)).then_some(pos)
}
