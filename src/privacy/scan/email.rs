//! E-mail addresses in free text: a local part, '@' and a domain, masked to the first character
//! and the domain.

use super::super::mask;

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
pub(super) fn mask_emails(chars: &mut Vec<char>) -> bool {
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
