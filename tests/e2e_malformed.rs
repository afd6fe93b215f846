//! 300 malformed bodies, end to end, after which Envoy and the filter's VMs must still be healthy
//! and no upstream was called. `HOSTILE_SEED=<n>` reproduces a failing run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use support::*;

/// xorshift64*: a small deterministic generator, so a failing body can be reproduced from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

const BODY_LIMIT: usize = 65536;

/// One malformed body of kind `kind`. None of them is a valid payload.
fn malformed(rng: &mut Rng, kind: usize) -> Vec<u8> {
    let valid = r#"{"sessionId":"s","customerNumber":"CUST-992847","intent":"x","variables":{}}"#;
    match kind {
        // Random bytes.
        0 => {
            let n = rng.below(3000);
            rng.bytes(n)
        }
        // Random bytes after a plausible start.
        1 => {
            let mut b = valid.as_bytes()[..rng.below(valid.len() - 10)].to_vec();
            let n = rng.below(200);
            b.extend(rng.bytes(n));
            b
        }
        // Deep nesting, up to 10k levels, of arrays, objects or both.
        2 => {
            let depth = 33 + rng.below(10_000 - 33);
            let (open, close) = *rng.pick(&[("[", "]"), (r#"{"a":"#, "}"), (r#"[{"a":"#, "}]")]);
            let closed = rng.below(2) == 0;
            format!(
                r#"{{"sessionId":"s","customerNumber":"C1","intent":"x","variables":{{"v":{}1{}}}}}"#,
                open.repeat(depth),
                if closed { close.repeat(depth) } else { String::new() }
            )
            .into_bytes()
        }
        // Huge strings, up to (and a little past) the body limit.
        3 => {
            let field = *rng.pick(&["sessionId", "intent", "customerNumber", "variables"]);
            let n = BODY_LIMIT - 200 + rng.below(400);
            let filler = *rng.pick(&["x", "é", "\\u0000", "\\\"", "€"]);
            let text = filler.repeat(n / filler.len());
            let body = format!(
                r#"{{"sessionId":"s","customerNumber":"C1","intent":"x","{field}":"{text}"}}"#
            );
            // Over the limit: 413 either way. Under it: too long, wrong type or duplicate key.
            body.into_bytes()
        }
        // Odd unicode: lone surrogates, invalid UTF-8, overlong forms, noncharacters.
        4 => {
            let odd: &[&[u8]] = &[
                b"\"\\ud800\"",
                b"\"\\udfff\"",
                b"\"\\ud800\\u0041\"",
                b"\"\\udbff\\udbff\"",
                b"\"\xed\xa0\x80\"",
                b"\"\xc0\xaf\"",
                b"\"\xff\xfe\"",
                b"\"\xf4\x90\x80\x80\"",
                b"\"\x80\"",
                b"\"\\u12\"",
                b"\"\\x41\"",
            ];
            let field = rng.below(3);
            let odd_value = *rng.pick(odd);
            let mut b = b"{".to_vec();
            for (i, (name, value)) in [
                ("sessionId", &b"\"s\""[..]),
                ("intent", &b"\"x\""[..]),
                ("customerNumber", &b"\"C1\""[..]),
            ]
            .into_iter()
            .enumerate()
            {
                if i > 0 {
                    b.push(b',');
                }
                b.extend_from_slice(format!("\"{name}\":").as_bytes());
                b.extend_from_slice(if i == field { odd_value } else { value });
            }
            b.push(b'}');
            b
        }
        // Wrong types.
        5 => {
            let field = *rng.pick(&["sessionId", "intent", "customerNumber", "variables"]);
            let value = *rng.pick(&[
                "123",
                "1.5",
                "true",
                "null",
                "[]",
                "{}",
                r#"["CUST-1"]"#,
                r#"{"$ne":""}"#,
                "-0",
            ]);
            let mut v: serde_json::Value = serde_json::from_str(valid).unwrap();
            if field == "variables"
                && (value == "{}" || value == "null" || value == r#"{"$ne":""}"#)
            {
                // Those are valid variables; break another field instead.
                v["sessionId"] = serde_json::json!(7);
            }
            v[field] = serde_json::from_str(value).unwrap();
            v.to_string().into_bytes()
        }
        // Duplicate keys.
        6 => {
            let field = *rng.pick(&["sessionId", "intent", "customerNumber", "variables"]);
            let value = if field == "variables" {
                "{}"
            } else {
                r#""dup""#
            };
            valid
                .replacen('{', &format!(r#"{{"{field}":{value},"#), 1)
                .into_bytes()
        }
        // Numbers out of range.
        7 => {
            let n = *rng.pick(&["1e400", "-1e400", "1e99999", "123e1000000"]);
            valid
                .replace(r#""variables":{}"#, &format!(r#""variables":{{"n":{n}}}"#))
                .into_bytes()
        }
        // Not quite JSON.
        8 => {
            let bad = [
                r#"{"sessionId":"s","customerNumber":"C1","intent":"x",}"#,
                r#"{'sessionId':'s','customerNumber':'C1','intent':'x'}"#,
                r#"{"sessionId":"s","customerNumber":"C1","intent":"x"} x"#,
                r#"{"sessionId":"s","customerNumber":"C1","intent":"x"}{}"#,
                r#"{"sessionId":"s","customerNumber":"C1","intent":"x","variables":{"n":NaN}}"#,
                r#"{"sessionId":"s","customerNumber":"C1","intent":"x","variables":{"n":Infinity}}"#,
                r#"{"sessionId":"s",/* c */"customerNumber":"C1","intent":"x"}"#,
                r#"{"sessionId":"s","customerNumber":"C1","intent":"x""#,
                "\u{feff}{\"sessionId\":\"s\",\"customerNumber\":\"C1\",\"intent\":\"x\"}",
                r#"{"sessionId":"s","customerNumber":"C1","intent":"x","variables":{"n":01}}"#,
                "",
                "   ",
                "null",
            ];
            rng.pick(&bad).as_bytes().to_vec()
        }
        // Valid JSON, not an object.
        _ => {
            let other = [
                "[]",
                "[{}]",
                "\"x\"",
                "42",
                "true",
                r#"[{"sessionId":"s"}]"#,
            ];
            rng.pick(&other).as_bytes().to_vec()
        }
    }
}

#[test]
fn three_hundred_malformed_bodies_leave_envoy_and_the_filter_healthy() {
    let seed: u64 = std::env::var("HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c0de_2026);
    let (mocks, envoy) = stack(r#"{"deadlineMs": 4500}"#);
    let agent = agent();
    let mut rng = Rng(seed);
    let mut by_status = std::collections::BTreeMap::new();
    for i in 0..300 {
        let kind = i % 10;
        let body = malformed(&mut rng, kind);
        let r = enrich_bytes_with_id(&agent, &envoy, &body, &format!("bad-{i}"));
        assert!(
            (400..500).contains(&r.status),
            "seed {seed} body {i} (kind {kind}) answered {}: {}\nbody: {:?}",
            r.status,
            r.body,
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
        let detail = serde_json::from_str::<serde_json::Value>(&r.body)
            .ok()
            .and_then(|v| v["detail"].as_str().map(str::to_owned));
        assert!(
            detail.is_some_and(|d| !d.is_empty()),
            "seed {seed} body {i}: no JSON detail: {}",
            r.body
        );
        *by_status.entry(r.status).or_insert(0) += 1;
    }
    assert!(
        by_status.contains_key(&422) && by_status.contains_key(&413),
        "{by_status:?}"
    );
    for s in [
        Service::Token,
        Service::Profile,
        Service::Orders,
        Service::Tickets,
    ] {
        assert_eq!(
            mocks.request_count(s),
            0,
            "{s:?} called for a malformed body"
        );
    }

    // Still healthy: ready, answering, and no VM failed (FAIL_RELOAD would hide a crash from the
    // callers, not from the log or the reload counters).
    assert_eq!(envoy.admin("/ready").0, 200);
    let r = enrich_with_id(&agent, &envoy, ELENA, "after-malformed");
    assert_eq!(r.status, 200, "{}", r.body);
    // The log holds the last request's answer line, so it covers all 300 bodies before it.
    let log = envoy.log_with(10, &["[after-malformed] enrich ok status=200"]);
    for sign in [
        "panicked",
        "RuntimeError",
        "Function: proxy_on",
        "failed to load",
    ] {
        assert!(!log.contains(sign), "{sign:?} in the Envoy log:\n{log}");
    }
    for stat in [
        "wasm.cognigy_enrich.vm_reload_success",
        "wasm.cognigy_enrich.vm_reload_failure",
        "wasm.cognigy_enrich.vm_reload_backoff",
    ] {
        assert_eq!(envoy.stat(stat), 0, "{stat}");
    }
}
