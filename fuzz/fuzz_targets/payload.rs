//! The request body: any bytes through the depth check, the JSON parser and the payload validation,
//! with the default customer-number pattern and a permissive one. Never a panic; an accepted
//! payload always satisfies the contract, and its customer number always encodes to a single,
//! structure-free URL component; a refused one always lists a problem and answers valid JSON.

#![no_main]

use std::sync::OnceLock;

use cognigy_enrich::config::Settings;
use cognigy_enrich::error::EnrichError;
use cognigy_enrich::payload::{self, MAX_CUSTOMER_NUMBER_CHARS, MAX_TEXT_CHARS};
use cognigy_enrich::{encode, json_depth};
use cognigy_enrich_fuzz::{is_safe_encoding_of, json_object, settings, string_member};
use libfuzzer_sys::fuzz_target;

fn default_settings() -> &'static Settings {
    static S: OnceLock<Settings> = OnceLock::new();
    S.get_or_init(|| settings("{}"))
}

fn permissive_settings() -> &'static Settings {
    static S: OnceLock<Settings> = OnceLock::new();
    S.get_or_init(|| settings(r#"{"customerNumberPattern": ".+"}"#))
}

fn check(body: &[u8], s: &Settings, default_pattern: bool) {
    let depth = s.limits.max_json_depth;
    let shallow = json_depth::within(body, depth);
    match payload::parse(body, &s.customer_pattern, depth) {
        Ok(req) => {
            assert!(shallow, "accepted a body nested deeper than {depth}");
            let cn = &req.customer_number;
            let n = cn.chars().count();
            assert!((1..=MAX_CUSTOMER_NUMBER_CHARS).contains(&n), "{cn:?}");
            assert!(s.customer_pattern.is_match(cn), "{cn:?}");
            assert!(cn != "." && cn != "..", "a dot segment was accepted");
            for text in [&req.session_id, &req.intent] {
                assert!(!text.trim().is_empty(), "{text:?}");
                assert!(text.chars().count() <= MAX_TEXT_CHARS, "{text:?}");
            }
            let encoded = encode::component(cn);
            assert!(is_safe_encoding_of(&encoded, cn), "{cn:?} -> {encoded:?}");
            if default_pattern {
                assert!(
                    cn.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                    "default pattern let {cn:?} through"
                );
                assert_eq!(&encoded, cn, "nothing to encode under the default pattern");
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "refused without naming a problem");
            for e in &errors {
                assert_eq!(e.loc.first().map(String::as_str), Some("body"));
                assert!(!e.msg.is_empty());
            }
            let reply = EnrichError::InvalidPayload(errors).reply();
            assert_eq!(reply.status, 422);
            let body = json_object(&reply.body);
            assert!(string_member(&body, "detail").is_some());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(data, default_settings(), true);
    check(data, permissive_settings(), false);
});
