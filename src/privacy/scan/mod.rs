//! Finds payment card numbers, IBANs and e-mail addresses in free text and masks them in place.
//!
//! Written by hand: the only regex engine the filter carries (regex-lite) cannot check a Luhn
//! digit or a mod-97 remainder, and a scanner that knows the three shapes is one linear pass
//! per shape with no backtracking. Every index is checked (`get`), so no input can panic it; the
//! `privacy` fuzz target holds it to that.
//!
//! This module owns the driver (rounds until nothing changes, the byte-level prefilter) and the
//! word boundaries every shape shares; each shape's scanner is its own file.

use super::mask;

mod cards;
mod email;
mod iban;

pub use cards::luhn_valid;
pub use email::whole_email_at;
pub use iban::{iban_length, iban_mod97};

use cards::mask_cards;
use email::mask_emails;
use iban::mask_ibans;

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
    /// One pass over the bytes (this runs on every record and every string of every answer),
    /// stepping over everything but digits quickly: every shape needs digits but the e-mail,
    /// which is one `memchr`.
    fn of(text: &str) -> Needs {
        let bytes = text.as_bytes();
        let email = bytes.contains(&b'@');
        let mut iban = false;
        // The most digits in one chain of digit groups joined by single spaces or dashes: a card
        // needs 12 (a date or a time, "2024-11-02T10:15:00Z", has at most 8).
        let (mut chain, mut longest) = (0usize, 0usize);
        // Where the last digit group ended (one past its last digit).
        let mut last_end: Option<usize> = None;
        let mut i = 0;
        while i < bytes.len() {
            if !bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
                continue;
            }
            let start = i;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let run = i - start;
            // A letter, a letter, then two digits: how every IBAN starts (a country code and
            // two check digits written together).
            iban |= run >= 2
                && start >= 2
                && bytes.get(start - 2).is_some_and(u8::is_ascii_alphabetic)
                && bytes.get(start - 1).is_some_and(u8::is_ascii_alphabetic);
            // Joined: one space or dash between this group and the one before.
            let joined = start.checked_sub(1).is_some_and(|sep| {
                last_end == Some(sep) && matches!(bytes.get(sep), Some(b' ' | b'-'))
            });
            chain = if joined { chain + run } else { run };
            longest = longest.max(chain);
            last_end = Some(i);
        }
        Needs {
            email,
            // The shortest IBAN (Norway) has 15 characters.
            iban: iban && bytes.len() >= 15,
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

#[cfg(test)]
mod tests {
    use super::iban::IBAN_LENGTHS;
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

    /// The byte prefilter as first written (three plain passes), against the one-pass version
    /// over every text of up to 6 bytes from an alphabet of each byte class it looks at, and
    /// longer pseudo-random texts.
    #[test]
    fn the_one_pass_prefilter_agrees_with_the_plain_one() {
        fn plain(bytes: &[u8]) -> (bool, bool, bool) {
            let (mut run, mut longest, mut prev_digit, mut after_sep) = (0, 0, false, false);
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
            let iban = bytes.len() >= 15
                && bytes.windows(4).any(|w| {
                    w[0].is_ascii_alphabetic()
                        && w[1].is_ascii_alphabetic()
                        && w[2].is_ascii_digit()
                        && w[3].is_ascii_digit()
                });
            (bytes.contains(&b'@'), iban, longest >= 12)
        }
        fn check(text: &str) {
            let n = Needs::of(text);
            assert_eq!(
                (n.email, n.iban, n.card),
                plain(text.as_bytes()),
                "{text:?}"
            );
        }
        let alphabet = b"a9 -@.";
        let mut text = Vec::new();
        for len in 0..=6u32 {
            for mut code in 0..6usize.pow(len) {
                text.clear();
                for _ in 0..len {
                    text.push(alphabet[code % 6]);
                    code /= 6;
                }
                // Padded to 15 bytes so the IBAN check is reached.
                let padded = format!(
                    "{}{}",
                    String::from_utf8(text.clone()).unwrap(),
                    "x".repeat(15)
                );
                check(std::str::from_utf8(&text).unwrap());
                check(&padded);
            }
        }
        let mut seed = 0x2545_f491_u32;
        for _ in 0..20_000 {
            let len = (seed % 40) as usize;
            let t: String = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    char::from(b"AZaz0123456789 -@._"[(seed % 19) as usize])
                })
                .collect();
            check(&t);
        }
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
