//! The privacy rules and scanners, on fuzzed text and records. Never a panic; every record comes
//! out as valid JSON with the same keys in the same order (less the dropped ones); with
//! `maskPatterns` no string of the answer or the prompt is left holding a Luhn-valid 16-digit
//! card number; masking text twice changes nothing the second time (the scan is a fixpoint); the
//! byte prefilter never skips a record the rules would change.

#![no_main]

use cognigy_enrich::aggregate::Gathered;
use cognigy_enrich::config::PromptSettings;
use cognigy_enrich::privacy::{apply, scan, PrivacySettings};
use cognigy_enrich::service::{parse_reply, Service, ServiceData};
use cognigy_enrich_fuzz::{json_strings, unmasked_card16, Bytes};
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;
use serde_json::json;

/// Keys the records use, so the rules hit them.
const KEYS: &[&str] = &["email", "Phone", "note", "iban", "items", "x", "CardNumber", "a"];
/// Fragments that reach the scanners' interesting paths.
const PIECES: &[&str] = &[
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "5500005555555559",
    "DE89 3704 0044 0532 0130 00",
    "NL91ABNA0417164300",
    "elena@example.com",
    "a@b.co",
    "@",
    " ",
    "-",
    "\n",
    "1",
    "0",
    "é",
    "***",
];

fn text(b: &mut Bytes<'_>) -> String {
    let mut s = String::new();
    for _ in 0..(b.u8() % 8) {
        if b.bool() {
            s.push_str(*b.pick(PIECES));
        } else {
            let n = usize::from(b.u8() % 24);
            s.push_str(&String::from_utf8_lossy(b.take(n)));
        }
    }
    s
}

fn value(b: &mut Bytes<'_>, depth: u8) -> serde_json::Value {
    match b.u8() % 8 {
        0 if depth < 4 => {
            let mut m = serde_json::Map::new();
            for _ in 0..(b.u8() % 4) {
                m.insert((*b.pick(KEYS)).to_owned(), value(b, depth + 1));
            }
            serde_json::Value::Object(m)
        }
        1 if depth < 4 => json!((0..(b.u8() % 3)).map(|_| value(b, depth + 1)).collect::<Vec<_>>()),
        2 => json!(b.u32()),
        3 => json!(u64::from(b.u32()) * 4_000_000_000 + u64::from(b.u32())),
        4 => serde_json::Value::Null,
        _ => json!(text(b)),
    }
}

fn keys_in_order(raw: &str) -> Vec<String> {
    // Keys of the top-level object, in order (a Vec of pairs keeps duplicates and order).
    struct Keys(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Keys, A::Error> {
                    let mut out = Vec::new();
                    while let Some(k) = m.next_key::<String>()? {
                        m.next_value::<serde::de::IgnoredAny>()?;
                        out.push(k);
                    }
                    Ok(Keys(out))
                }
            }
            d.deserialize_map(V)
        }
    }
    serde_json::from_str::<Keys>(raw).map(|k| k.0).unwrap_or_default()
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let mut rules = PrivacySettings {
        drop_fields: Vec::new(),
        mask_fields: Vec::new(),
        mask_patterns: b.bool() || b.bool(),
    };
    for _ in 0..(b.u8() % 3) {
        let k = b.pick(KEYS).to_lowercase();
        if !rules.drop_fields.contains(&k) {
            rules.drop_fields.push(k);
        }
    }
    for _ in 0..(b.u8() % 4) {
        let k = b.pick(KEYS).to_lowercase();
        if !rules.mask_fields.contains(&k) && !rules.drop_fields.contains(&k) {
            rules.mask_fields.push(k);
        }
    }

    // The scanner on its own: a fixpoint, and nothing left behind.
    let t = text(&mut b);
    if let Some(masked) = scan::mask_text(&t) {
        assert_eq!(scan::mask_text(&masked), None, "{t:?} -> {masked:?}");
        assert!(unmasked_card16(&masked).is_none(), "{t:?} -> {masked:?}");
    } else {
        assert!(unmasked_card16(&t).is_none(), "missed a card in {t:?}");
    }

    // A record: fuzzed bytes as the upstream wrote them, or one built to hit the rules.
    let body = if b.bool() {
        b.chunk().to_vec()
    } else {
        let mut m = serde_json::Map::new();
        for _ in 0..(b.u8() % 6) {
            m.insert((*b.pick(KEYS)).to_owned(), value(&mut b, 0));
        }
        serde_json::Value::Object(m).to_string().into_bytes()
    };
    let Ok(ServiceData::Profile(profile)) = parse_reply(Service::Profile, &body, 1 << 20, 50) else {
        return;
    };
    // The look at the bytes never skips a record a rule would change.
    if !apply::could_change(&profile.raw, &rules) {
        match apply::redact_walk(&profile.raw, &rules) {
            Ok(None) => {}
            other => panic!("prefilter skipped a change: {other:?}: {}", &*profile.raw),
        }
    }
    let data = ServiceData::Profile(profile.clone());
    let [redacted, _, _] = match rules.redact_all([Some(&data), None, None]) {
        Ok(r) => r,
        Err(e) => panic!("valid JSON not redacted: {e}: {:?}", String::from_utf8_lossy(&body)),
    };
    let Some(ServiceData::Profile(out)) = redacted.as_deref() else {
        panic!("the profile went missing");
    };
    // Valid JSON, an object, the same keys in the same order less the dropped ones.
    let reparsed: Box<RawValue> = match serde_json::from_str(&out.raw) {
        Ok(r) => r,
        Err(e) => panic!("invalid JSON out ({e}): {}", &*out.raw),
    };
    let expected_keys: Vec<String> = keys_in_order(&profile.raw)
        .into_iter()
        .filter(|k| !rules.drop_fields.contains(&k.to_lowercase()))
        .collect();
    assert_eq!(keys_in_order(reparsed.get()), expected_keys);
    if rules.is_off() {
        // No rule: the bytes are the upstream's.
        assert_eq!(&*out.raw, &*profile.raw);
    }
    if rules.mask_patterns {
        let mut strings = Vec::new();
        json_strings(&reparsed, &mut strings);
        for s in &strings {
            assert!(unmasked_card16(s).is_none(), "card left in {s:?}: {}", &*out.raw);
        }
        // The prompt, with fuzzed caller values.
        let intent = text(&mut b);
        let customer_number = text(&mut b);
        let g = Gathered {
            records: [redacted.as_deref(), None, None].into(),
            intent: &intent,
            customer_number: &customer_number,
            mask_patterns: true,
            ..Gathered::default()
        };
        let cfg = PromptSettings {
            max_value_chars: 8 + usize::from(b.u8()),
            max_chars: 64 + usize::from(b.u16() % 1000),
            template: cognigy_enrich::template::PromptTemplate::parse(
                "{customerName} {intent} {customerNumber} {segment}",
            )
            .ok(),
        };
        let prompt = g.prompt(&cfg);
        assert!(prompt.chars().count() <= cfg.max_chars);
        assert!(unmasked_card16(&prompt).is_none(), "card left in the prompt {prompt:?}");
    }
});
