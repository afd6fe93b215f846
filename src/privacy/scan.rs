//! Finds payment card numbers, IBANs and e-mail addresses in free text and masks them in place.
//!
//! Written by hand: the only regex engine the filter carries (regex-lite) cannot check a Luhn
//! digit or a mod-97 remainder, and a scanner that knows the three shapes is one linear pass
//! per shape with no backtracking. Every index is checked (`get`), so no input can panic it; the
//! `privacy` fuzz target holds it to that.

use super::mask;

/// After masking, the text is scanned again until nothing changes, so the digits a mask keeps
/// (a card's last four) can never join their neighbours into a new, unmasked number. Two rounds
/// are the norm; this bounds them.
const MAX_ROUNDS: usize = 8;

/// `text` with every card number, IBAN and e-mail address masked, or `None` when it holds none
/// (the caller then keeps its original bytes).
pub fn mask_text(text: &str) -> Option<String> {
    let need = Needs::of(text);
    if !(need.email || need.iban || need.card) {
        return None;
    }
    let mut chars: Vec<char> = text.chars().collect();
    let mut changed = false;
    for _ in 0..MAX_ROUNDS {
        // Masks only ever write `*` (and keep an address's first character and domain), so what
        // a text cannot hold before the first round it cannot hold after it.
        let round = (need.email && mask_emails(&mut chars))
            | (need.iban && mask_ibans(&mut chars))
            | (need.card && mask_cards(&mut chars));
        if !round {
            return changed.then(|| chars.into_iter().collect());
        }
        changed = true;
    }
    // Unreachable in practice (each round masks at least one more digit or letter, or leaves an
    // e-mail in its masked form, which the next round leaves alone); if it ever were reached,
    // fail closed: nothing that could still be a number or an address leaves unmasked.
    for c in &mut chars {
        if c.is_ascii_digit() {
            *c = mask::MASK;
        }
    }
    Some(chars.into_iter().collect())
}

/// Whether a scanner could find anything in `text` (a look at the bytes, no decoding). Also
/// sound for a whole JSON text without escapes: each of its strings is a piece of it.
pub fn might_match(text: &str) -> bool {
    let need = Needs::of(text);
    need.email || need.iban || need.card
}

/// Which scanners can find anything, from a look at the bytes: most values (names, statuses,
/// dates) can hold none of the shapes, and are not decoded at all.
struct Needs {
    email: bool,
    iban: bool,
    card: bool,
}

impl Needs {
    fn of(text: &str) -> Needs {
        let bytes = text.as_bytes();
        // The most digits in one run of digit groups joined by single spaces or dashes: a card
        // needs 12 (a date or a time, "2024-11-02T10:15:00Z", has at most 8).
        let (mut run, mut longest, mut prev_digit, mut after_sep) = (0usize, 0usize, false, false);
        for &b in bytes {
            if b.is_ascii_digit() {
                if !prev_digit && !after_sep {
                    run = 0;
                }
                run += 1;
                longest = longest.max(run);
                prev_digit = true;
                after_sep = false;
            } else {
                after_sep = prev_digit && (b == b' ' || b == b'-');
                prev_digit = false;
            }
        }
        Needs {
            email: bytes.contains(&b'@'),
            // The shortest IBAN (Norway) has 15 characters; every one starts with a country
            // code and two check digits written together.
            iban: bytes.len() >= 15
                && bytes.windows(4).any(|w| {
                    matches!(w, [a, b, c, d] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic()
                        && c.is_ascii_digit() && d.is_ascii_digit())
                }),
            card: longest >= 12,
        }
    }
}

fn is_alnum_at(chars: &[char], i: usize) -> bool {
    chars.get(i).is_some_and(|c| c.is_alphanumeric())
}

/// No letter or digit right before `start`.
fn bounded_left(chars: &[char], start: usize) -> bool {
    start == 0 || !is_alnum_at(chars, start - 1)
}

/// No letter or digit at `end` (one past the match).
fn bounded_right(chars: &[char], end: usize) -> bool {
    !is_alnum_at(chars, end)
}

// ---- payment cards --------------------------------------------------------------------------

/// The Luhn check over ASCII digits (other characters are skipped).
pub fn luhn_valid<I: DoubleEndedIterator<Item = char>>(chars: I) -> bool {
    let mut sum = 0u32;
    let mut count = 0usize;
    for (i, d) in chars.rev().filter_map(|c| c.to_digit(10)).enumerate() {
        let v = if i % 2 == 1 {
            let dd = d * 2;
            if dd > 9 {
                dd - 9
            } else {
                dd
            }
        } else {
            d
        };
        sum += v;
        count += 1;
    }
    count > 0 && sum % 10 == 0
}

/// Maximal runs of ASCII digits, as `[start, end)` char indices.
fn digit_groups(chars: &[char]) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars.get(i).is_some_and(char::is_ascii_digit) {
            let start = i;
            while chars.get(i).is_some_and(char::is_ascii_digit) {
                i += 1;
            }
            groups.push((start, i));
        } else {
            i += 1;
        }
    }
    groups
}

/// Masks every card number: 12-19 ASCII digits, in groups joined by single spaces or dashes,
/// no letter or digit on either side, Luhn-valid. The unit is the whole run of joined groups,
/// as written: a run that fails the check stays untouched, so a 16-digit order number is never
/// partly masked because some of its groups happen to pass. A run longer than 19 digits cannot
/// be one card; within it, the longest valid number from each group on is masked (two cards
/// written one after the other).
fn mask_cards(chars: &mut [char]) -> bool {
    let groups = digit_groups(chars);
    let mut changed = false;
    let mut chain_start = 0;
    while chain_start < groups.len() {
        // The chain: groups joined by exactly one separator.
        let mut chain_end = chain_start + 1;
        while let (Some(prev), Some(next)) = (groups.get(chain_end - 1), groups.get(chain_end)) {
            let joined = next.0 == prev.1 + 1 && matches!(chars.get(prev.1), Some(' ' | '-'));
            if !joined {
                break;
            }
            chain_end += 1;
        }
        let chain = groups.get(chain_start..chain_end).unwrap_or_default();
        chain_start = chain_end;
        let total: usize = chain.iter().map(|(s, e)| e - s).sum();
        if total <= 19 {
            if let (Some(&(start, _)), Some(&(_, end))) = (chain.first(), chain.last()) {
                changed |= total >= 12 && mask_card_at(chars, start, end);
            }
            continue;
        }
        let mut i = 0;
        while let Some(&(start, _)) = chain.get(i) {
            let mut best = None;
            let mut digits = 0;
            for (j, &(s, e)) in chain.iter().enumerate().skip(i) {
                digits += e - s;
                if digits > 19 {
                    break;
                }
                if digits >= 12 && is_card_at(chars, start, e) {
                    best = Some((j, e));
                }
            }
            match best {
                Some((j, end)) => {
                    changed |= mask_card_at(chars, start, end);
                    i = j + 1;
                }
                None => i += 1,
            }
        }
    }
    changed
}

fn is_card_at(chars: &[char], start: usize, end: usize) -> bool {
    bounded_left(chars, start)
        && bounded_right(chars, end)
        && chars
            .get(start..end)
            .is_some_and(|span| luhn_valid(span.iter().copied()))
}

/// Masks `chars[start..end]` as a card if it is one.
fn mask_card_at(chars: &mut [char], start: usize, end: usize) -> bool {
    is_card_at(chars, start, end) && chars.get_mut(start..end).is_some_and(mask::card_in_place)
}

// ---- IBANs ----------------------------------------------------------------------------------

/// IBAN length by country: the countries of the ISO 13616 IBAN registry kept by SWIFT (89 as of
/// 2025; territories that use their parent's code, such as French overseas departments, are
/// covered by it). An IBAN of a country not listed here is not recognised.
const IBAN_LENGTHS: &[(&str, usize)] = &[
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
fn mask_ibans(chars: &mut [char]) -> bool {
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

// ---- e-mail addresses -----------------------------------------------------------------------

/// Characters of an address's local part (RFC 5322 atext and dots; letters and digits of any
/// script, for internationalised addresses).
fn is_local(c: char) -> bool {
    c.is_alphanumeric() || "._%+-!#$&'*/=?^`{|}~".contains(c)
}

fn is_label(c: char) -> bool {
    c.is_alphanumeric() || c == '-'
}

/// Masks every e-mail address: a local part, '@', and a domain of at least two labels whose
/// last is two or more letters. Quoted local parts and address literals are not recognised.
fn mask_emails(chars: &mut Vec<char>) -> bool {
    if !chars.contains(&'@') {
        return false;
    }
    let mut out: Vec<char> = Vec::with_capacity(chars.len() + 8);
    let mut copied = 0; // chars[..copied] are in `out`
    let mut changed = false;
    let mut p = 0;
    while p < chars.len() {
        if chars.get(p) != Some(&'@') {
            p += 1;
            continue;
        }
        let Some((start, end)) = email_around(chars, p, copied) else {
            p += 1;
            continue;
        };
        out.extend(chars.get(copied..start).unwrap_or_default());
        let local = chars.get(start..p).unwrap_or_default();
        let domain = chars.get(p + 1..end).unwrap_or_default();
        let masked = mask::email_parts(local, domain);
        changed |= masked.as_slice() != chars.get(start..end).unwrap_or_default();
        out.extend(masked);
        copied = end;
        p = end;
    }
    if changed {
        out.extend(chars.get(copied..).unwrap_or_default());
        *chars = out;
    }
    changed
}

/// Where the '@' is, when all of `chars` is one e-mail address.
pub fn whole_email_at(chars: &[char]) -> Option<usize> {
    let at = chars.iter().position(|c| *c == '@')?;
    let (start, end) = email_around(chars, at, 0)?;
    (start == 0 && end == chars.len()).then_some(at)
}

/// The address around the '@' at `at`, not reaching back before `floor`.
fn email_around(chars: &[char], at: usize, floor: usize) -> Option<(usize, usize)> {
    let mut start = at;
    while start > floor && chars.get(start - 1).is_some_and(|c| is_local(*c)) {
        start -= 1;
    }
    while chars.get(start) == Some(&'.') && start < at {
        start += 1;
    }
    let local = chars.get(start..at)?;
    if !local.iter().any(|c| c.is_alphanumeric()) {
        return None;
    }
    // Labels after the '@'; the domain ends with the last label that can be a top-level one.
    let mut q = at + 1;
    let mut labels = 0;
    let mut end = None;
    loop {
        let label_start = q;
        while chars.get(q).is_some_and(|c| is_label(*c)) {
            q += 1;
        }
        if q == label_start {
            break;
        }
        labels += 1;
        let label = chars.get(label_start..q)?;
        if labels >= 2 && label.len() >= 2 && label.iter().all(|c| c.is_alphabetic()) {
            end = Some(q);
        }
        if chars.get(q) == Some(&'.') && chars.get(q + 1).is_some_and(|c| is_label(*c)) {
            q += 1;
        } else {
            break;
        }
    }
    end.map(|end| (start, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn m(s: &str) -> String {
        mask_text(s).unwrap_or_else(|| s.to_owned())
    }

    #[test]
    fn luhn() {
        assert!(luhn_valid("4111111111111111".chars()));
        assert!(luhn_valid("4111 1111-1111 1111".chars()));
        assert!(!luhn_valid("4111111111111112".chars()));
        assert!(luhn_valid("79927398713".chars()));
        assert!(!luhn_valid("".chars()));
    }

    #[test]
    fn cards_in_text() {
        assert_eq!(
            m("card 4111 1111 1111 1111 on file"),
            "card **** **** **** 1111 on file"
        );
        assert_eq!(m("4111-1111-1111-1111"), "****-****-****-1111");
        assert_eq!(m("(5500005555555559)"), "(************5559)");
        // Fails Luhn, or glued to letters, or double separators: untouched.
        assert_eq!(mask_text("ref 4111111111111112 x"), None);
        assert_eq!(mask_text("X4111111111111111"), None);
        assert_eq!(mask_text("4111111111111111a"), None);
        assert_eq!(mask_text("4111  1111  1111  1111"), None);
        // The run as written is the unit: 18 digits failing the check stay, even though the
        // last 16 would pass; "5678 9012 3456" passes, but "1234 5678 9012 3456" does not.
        assert_eq!(mask_text("Order 12 4111 1111 1111 1111"), None);
        assert_eq!(mask_text("Order 1234 5678 9012 3456"), None);
        // Longer than any card: the cards within it.
        assert_eq!(
            m("4111 1111 1111 1111 5500 0055 5555 5559"),
            "**** **** **** 1111 **** **** **** 5559"
        );
        // 12 and 19 digits.
        assert_eq!(m("100000000008"), "********0008");
        assert_eq!(m("4000000000000000006"), "***************0006");
    }

    #[test]
    fn kept_digits_never_form_a_new_card() {
        // Two cards in one chain: masking the first leaves "1111", which with the following
        // groups must not make a third, unmasked number.
        let out = m("4111 1111 1111 1111 4111 1111 1111 1111");
        assert_eq!(out, "**** **** **** 1111 **** **** **** 1111");
    }

    #[test]
    fn ibans_of_several_countries() {
        assert_eq!(
            m("IBAN DE89 3704 0044 0532 0130 00."),
            "IBAN **** **** **** **** **30 00."
        );
        assert_eq!(m("GB29NWBK60161331926819"), "******************6819");
        assert_eq!(
            m("fr1420041010050500013m02606"),
            "***********************2606"
        );
        assert_eq!(m("NO9386011117947"), "***********7947");
        // Wrong check digits, wrong length, unknown country: untouched.
        assert_eq!(mask_text("DE88 3704 0044 0532 0130 00"), None);
        assert_eq!(mask_text("DE89 3704 0044 0532 0130 0"), None);
        assert_eq!(mask_text("ZZ89 3704 0044 0532 0130 00"), None);
        assert_eq!(mask_text("XDE89370400440532013000"), None);
    }

    #[test]
    fn emails() {
        assert_eq!(
            m("Elena Rostova <elena.rostova@example.com>"),
            "Elena Rostova <e***@example.com>"
        );
        assert_eq!(m("mail: a@b.co."), "mail: a***@b.co.");
        assert_eq!(m("józef@przykład.pl"), "j***@przykład.pl");
        assert_eq!(m("x@y.com,z@w.org"), "x***@y.com,z***@w.org");
        assert_eq!(mask_text("user@localhost and @handle"), None);
        assert_eq!(mask_text("e***@example.com"), None);
    }

    #[test]
    fn registry_lengths() {
        assert_eq!(iban_length('d', 'E'), Some(22));
        assert_eq!(iban_length('N', 'O'), Some(15));
        assert_eq!(iban_length('L', 'C'), Some(32));
        assert_eq!(iban_length('U', 'S'), None);
        assert_eq!(IBAN_LENGTHS.len(), 89);
        assert!(IBAN_LENGTHS.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
