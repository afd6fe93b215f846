//! When to retry a 429, and whether the retry still fits the request's deadline.

use serde::Deserialize;

use crate::httpdate;

/// `retry`, read as is and range-checked by the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    pub base_backoff_ms: u64,
    pub max_backoff_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_backoff_ms: 1000,
            max_backoff_ms: 4000,
        }
    }
}

/// A `Retry-After` value: delta-seconds or an HTTP-date, as a delay from `now_ms`. A date in the
/// past means "now". Anything else is ignored (the caller falls back to backoff).
pub fn retry_after_ms(value: &str, now_ms: u64) -> Option<u64> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        // Saturate absurd values rather than overflow; they are past any deadline anyway.
        return Some(
            v.parse::<u64>()
                .unwrap_or(u64::MAX / 1000)
                .saturating_mul(1000),
        );
    }
    httpdate::parse_ms(v).map(|at| at.saturating_sub(now_ms))
}

/// Exponential backoff after `failures` failed attempts (>= 1): base, 2*base, 4*base, ...
/// capped at `max_ms`. The 429 retries and the token fetch both wait this way.
pub fn exponential(base_ms: u64, max_ms: u64, failures: u32) -> u64 {
    let exp = failures.saturating_sub(1).min(32);
    base_ms.saturating_mul(1u64 << exp).min(max_ms)
}

impl RetryPolicy {
    /// The backoff before attempt `attempts_made + 1`: see [`exponential`].
    pub fn backoff_ms(&self, attempts_made: u32) -> u64 {
        exponential(self.base_backoff_ms, self.max_backoff_ms, attempts_made)
    }

    /// The instant of the next attempt after a 429, or `None` when no retry may be made: attempts
    /// used up, or the retry would start at or past the deadline.
    pub fn next_attempt_at(
        &self,
        attempts_made: u32,
        retry_after: Option<&str>,
        now_ms: u64,
        deadline_ms: u64,
    ) -> Option<u64> {
        if attempts_made >= self.max_attempts {
            return None;
        }
        let delay = retry_after
            .and_then(|v| retry_after_ms(v, now_ms))
            .unwrap_or_else(|| self.backoff_ms(attempts_made));
        let at = now_ms.saturating_add(delay);
        (at < deadline_ms).then_some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const NOW: u64 = 784_111_777_000; // Sun, 06 Nov 1994 08:49:37 GMT

    #[test]
    fn retry_after_delta_and_date() {
        assert_eq!(retry_after_ms("1", NOW), Some(1000));
        assert_eq!(retry_after_ms(" 0 ", NOW), Some(0));
        assert_eq!(
            retry_after_ms("Sun, 06 Nov 1994 08:49:39 GMT", NOW),
            Some(2000)
        );
        assert_eq!(
            retry_after_ms("Sun, 06 Nov 1994 08:00:00 GMT", NOW),
            Some(0)
        );
        assert_eq!(retry_after_ms("-1", NOW), None);
        assert_eq!(retry_after_ms("1.5", NOW), None);
        assert_eq!(retry_after_ms("soon", NOW), None);
        assert_eq!(
            retry_after_ms("99999999999999999999999", NOW),
            Some(u64::MAX / 1000 * 1000)
        );
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_backoff_ms: 1000,
            max_backoff_ms: 5000,
        };
        let seq: Vec<u64> = (1..=5).map(|n| p.backoff_ms(n)).collect();
        assert_eq!(seq, [1000, 2000, 4000, 5000, 5000]);
        assert_eq!(p.backoff_ms(200), 5000);
    }

    #[test]
    fn retry_respects_attempts_and_deadline() {
        let p = RetryPolicy::default();
        assert_eq!(p.next_attempt_at(1, None, 0, 4500), Some(1000));
        assert_eq!(p.next_attempt_at(2, None, 1000, 4500), Some(3000));
        assert_eq!(
            p.next_attempt_at(3, None, 3000, 4500),
            None,
            "attempts used up"
        );
        assert_eq!(
            p.next_attempt_at(1, Some("10"), 0, 4500),
            None,
            "Retry-After past deadline"
        );
        assert_eq!(p.next_attempt_at(1, Some("1"), 0, 4500), Some(1000));
        assert_eq!(
            p.next_attempt_at(2, None, 2600, 4500),
            None,
            "backoff ends past deadline"
        );
        assert_eq!(
            p.next_attempt_at(1, Some("garbage"), 0, 4500),
            Some(1000),
            "falls back to backoff"
        );
    }
}
