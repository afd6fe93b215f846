//! Payment card numbers in free text: digit groups, the Luhn check, and the masking of a whole
//! run of groups.

use super::super::mask;
use super::{bounded_left, bounded_right};

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
pub(super) fn mask_cards(chars: &mut [char]) -> bool {
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
