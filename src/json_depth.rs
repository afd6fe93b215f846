//! A nesting-depth check run before JSON parsing, so a hostile body cannot make the parser recurse
//! deeply (serde_json stops at 128 levels; callers may want far fewer).

/// True when no array/object in `bytes` nests deeper than `max`. Brackets inside strings are
/// ignored; malformed JSON is left for the parser to reject.
pub fn within(bytes: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn counts_only_structure() {
        assert!(within(br#"{"a":[1,{"b":2}]}"#, 3));
        assert!(!within(br#"{"a":[1,{"b":2}]}"#, 2));
        assert!(within(br#"{"a":"[[[[[[\"[[["}"#, 1));
        assert!(!within(&[b'['; 10_000], 32));
    }
}
