//! The answer pipeline end to end (parsed replies in, body out) and its configuration.

use super::*;
use crate::config::{test_settings, Settings, ENV_CLIENT_ID, ENV_CLIENT_SECRET};
use crate::service::{parse_reply, Service, ServiceData};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const PROFILE: &str = r#"{"customerId":"CUST-992847","fullName":"Elena Rostova","segment":"Premium","email":"elena@example.com"}"#;

fn profile(json: &str) -> ServiceData {
    parse_reply(Service::Profile, json.as_bytes(), 1 << 22, 50).unwrap()
}

fn listing(service: Service, json: &str) -> ServiceData {
    parse_reply(service, json.as_bytes(), 1 << 22, 50).unwrap()
}

/// Order `i` as JSON text of exactly `bytes` bytes.
fn order(i: usize, bytes: usize) -> String {
    let head = format!(r#"{{"orderNumber":"ORD-{i}","status":"shipped","note":""#);
    let pad = bytes - head.len() - 2;
    format!("{head}{}\"}}", "x".repeat(pad))
}

fn orders_reply(items: &[String]) -> String {
    format!(r#"{{"items":[{}]}}"#, items.join(","))
}

fn settings(max_bytes: usize) -> AnswerSettings {
    AnswerSettings {
        max_bytes,
        ..AnswerSettings::default()
    }
}

/// The issue's case: a profile and 50 orders of 5 kB under the default cap of 32000 bytes.
#[test]
fn fifty_orders_of_5kb_are_cut_to_the_largest_answer_that_fits() {
    let orders: Vec<String> = (0..50).map(|i| order(i, 5000)).collect();
    assert!(orders.iter().all(|o| o.len() == 5000));
    let p = profile(PROFILE);
    let o = listing(Service::Orders, &orders_reply(&orders));
    let t = listing(Service::Tickets, r#"{"tickets":[]}"#);
    let g = Gathered {
        records: [Some(&p), Some(&o), Some(&t)].into(),
        ..Gathered::default()
    };
    let prompt_settings = PromptSettings::default();
    let w = write(&g, &prompt_settings, &AnswerSettings::default(), None, "").unwrap();

    // The prompt counts what the service returned, not what the answer keeps.
    let prompt = "Customer: Elena Rostova | Segment: Premium\nRecent Orders: 50 items. Last order: ORD-0\nOpen Tickets: 0 active cases. Priority: None";
    // 6 orders: 30005 bytes of orders plus about 400 of the rest; a 7th would add 5001.
    let expected = format!(
        r#"{{"customerProfile":{PROFILE},"recentOrders":[{}],"openTickets":[],"enrichedPromptContext":{},"truncated":["recentOrders"]}}"#,
        orders[..6].join(","),
        serde_json::to_string(prompt).unwrap()
    );
    assert_eq!(w.body, expected);
    assert!(w.body.len() <= DEFAULT_MAX_BYTES, "{}", w.body.len());
    assert_eq!(w.truncated, ["recentOrders"]);
    // Maximal: with the next order back (and the same marker) it is over the cap.
    let with_next = format!(
        r#"{{"customerProfile":{PROFILE},"recentOrders":[{}],"openTickets":[],"enrichedPromptContext":{},"truncated":["recentOrders"]}}"#,
        orders[..7].join(","),
        serde_json::to_string(prompt).unwrap()
    );
    assert!(with_next.len() > DEFAULT_MAX_BYTES, "{}", with_next.len());
    let v: serde_json::Value = serde_json::from_str(&w.body).unwrap();
    assert_eq!(v["recentOrders"].as_array().unwrap().len(), 6);
}

#[test]
fn an_answer_within_the_cap_is_untouched_and_has_no_marker() {
    let p = profile(PROFILE);
    let o = listing(Service::Orders, r#"{"items":[{"orderNumber":"O-1"}]}"#);
    let g = Gathered {
        records: [Some(&p), Some(&o), None].into(),
        stale: vec!["customerProfile"],
        ..Gathered::default()
    };
    let w = write(
        &g,
        &PromptSettings::default(),
        &AnswerSettings::default(),
        None,
        "",
    )
    .unwrap();
    assert!(w.truncated.is_empty());
    assert_eq!(w.body, g.answer_json(&PromptSettings::default()).unwrap());
    assert!(w.body.starts_with(&format!(r#"{{"customerProfile":{PROFILE},"recentOrders":[{{"orderNumber":"O-1"}}],"openTickets":[],"enrichedPromptContext":"#)));
    assert!(
        w.body
            .ends_with(r#","degraded":["openTickets"],"stale":["customerProfile"]}"#),
        "{}",
        w.body
    );
}

#[test]
fn the_lead_is_written_first_and_counts_toward_the_cap() {
    let orders: Vec<String> = (0..10).map(|i| order(i, 200)).collect();
    let p = profile(PROFILE);
    let o = listing(Service::Orders, &orders_reply(&orders));
    let g = Gathered {
        records: [Some(&p), Some(&o), None].into(),
        ..Gathered::default()
    };
    let plain = write(
        &g,
        &PromptSettings::default(),
        &settings(usize::MAX),
        None,
        "",
    )
    .unwrap();
    let lead = AnswerMode::Always200.success_lead();
    let led = write(
        &g,
        &PromptSettings::default(),
        &settings(usize::MAX),
        None,
        lead,
    )
    .unwrap();
    assert_eq!(led.body, format!("{{{lead}{}", &plain.body[1..]));
    let v: serde_json::Value = serde_json::from_str(&led.body).unwrap();
    assert_eq!(v["ok"], serde_json::json!(true));
    // A cap that just fits the plain answer does not fit the one with the lead.
    let cap = plain.body.len();
    let w = write(&g, &PromptSettings::default(), &settings(cap), None, lead).unwrap();
    assert!(w.body.len() <= cap);
    assert_eq!(w.truncated, ["recentOrders"]);
}

#[test]
fn fields_narrow_the_records_but_not_the_prompt() {
    let p = profile(PROFILE);
    let o = listing(
        Service::Orders,
        r#"{"items":[{"orderNumber":"O-1","total":5,"address":"Street 1"},{"orderNumber":"O-0","address":"x"}]}"#,
    );
    let t = listing(
        Service::Tickets,
        r#"{"tickets":[{"ticketId":"T-1","priority":"High","subject":"s"}]}"#,
    );
    let g = Gathered {
        records: [Some(&p), Some(&o), Some(&t)].into(),
        ..Gathered::default()
    };
    let list = |names: &[&str]| {
        Some(FieldList::new(names.iter().map(|s| (*s).to_owned()).collect()).unwrap())
    };
    let cfg = AnswerSettings {
        fields: Fields {
            profile: list(&["customerId", "segment"]),
            orders: list(&["orderNumber", "total"]),
            tickets: list(&["ticketId"]),
        },
        ..AnswerSettings::default()
    };
    let w = write(&g, &PromptSettings::default(), &cfg, None, "").unwrap();
    let prompt = "Customer: Elena Rostova | Segment: Premium\nRecent Orders: 2 items. Last order: O-1\nOpen Tickets: 1 active cases. Priority: High";
    assert_eq!(
        w.body,
        format!(
            r#"{{"customerProfile":{{"customerId":"CUST-992847","segment":"Premium"}},"recentOrders":[{{"orderNumber":"O-1","total":5}},{{"orderNumber":"O-0"}}],"openTickets":[{{"ticketId":"T-1"}}],"enrichedPromptContext":{}}}"#,
            serde_json::to_string(prompt).unwrap()
        )
    );
}

#[test]
fn a_profile_too_large_for_the_cap_is_an_error_not_a_cut() {
    let big = format!(r#"{{"fullName":"E","blob":"{}"}}"#, "b".repeat(3000));
    let p = profile(&big);
    let o = listing(Service::Orders, r#"{"items":[{"orderNumber":"O-1"}]}"#);
    let g = Gathered {
        records: [Some(&p), Some(&o), None].into(),
        ..Gathered::default()
    };
    let e = write(&g, &PromptSettings::default(), &settings(2048), None, "").unwrap_err();
    assert!(
        matches!(e, AnswerError::TooLarge { smallest, max_bytes: 2048 } if smallest > 3000),
        "{e:?}"
    );
    assert!(e.to_string().contains("answer.maxBytes 2048"));
    // `fields` can make the same profile fit.
    let cfg = AnswerSettings {
        max_bytes: 2048,
        fields: Fields {
            profile: Some(FieldList::new(vec!["fullName".into()]).unwrap()),
            ..Fields::default()
        },
        ..AnswerSettings::default()
    };
    let w = write(&g, &PromptSettings::default(), &cfg, None, "").unwrap();
    assert!(
        w.body.starts_with(
            r#"{"customerProfile":{"fullName":"E"},"recentOrders":[{"orderNumber":"O-1"}]"#
        ),
        "{}",
        w.body
    );
}

#[test]
fn multibyte_text_is_counted_in_bytes() {
    // 1000 items of 3-byte characters: the cap is on UTF-8 bytes, not characters.
    let orders: Vec<String> = (0..20)
        .map(|i| format!(r#"{{"orderNumber":"O-{i}","note":"{}"}}"#, "€".repeat(100)))
        .collect();
    let p = profile(r#"{"fullName":"Zoë"}"#);
    let o = listing(Service::Orders, &orders_reply(&orders));
    let g = Gathered {
        records: [Some(&p), Some(&o), None].into(),
        ..Gathered::default()
    };
    let w = write(&g, &PromptSettings::default(), &settings(2000), None, "").unwrap();
    assert!(w.body.len() <= 2000, "{}", w.body.len());
    assert!(w.body.chars().count() < w.body.len());
    let kept = serde_json::from_str::<serde_json::Value>(&w.body).unwrap()["recentOrders"]
        .as_array()
        .unwrap()
        .len();
    assert!(w.body.len() + orders[kept].len() + 1 > 2000);
}

fn env(k: &str) -> Option<String> {
    match k {
        ENV_CLIENT_ID => Some("id".into()),
        ENV_CLIENT_SECRET => Some("secret".into()),
        _ => None,
    }
}

fn refused(json: &str) -> crate::config::ConfigError {
    let json = json.replacen('{', r#"{"auth": {"enabled": false}, "#, 1);
    Settings::from_json(json.as_bytes(), &env).unwrap_err()
}

#[test]
fn configuration_of_the_answer() {
    let s = test_settings("{}");
    assert_eq!(s.answer_mode, AnswerMode::Status);
    assert_eq!(s.answer, AnswerSettings::default());
    assert_eq!(
        s.answer.unavailable_text,
        "Customer context is unavailable."
    );
    let s = test_settings(
        r#"{"answerMode": "always200", "answer": {"maxBytes": 4096}, "prompt": {"unavailableText": "No context."},
            "services": {"customerProfile": {"fields": ["fullName", "segment"]}, "openTickets": {"fields": ["ticketId"]}}}"#,
    );
    assert_eq!(s.answer_mode, AnswerMode::Always200);
    assert_eq!(s.answer.max_bytes, 4096);
    assert_eq!(s.answer.unavailable_text, "No context.");
    assert_eq!(
        s.answer.fields.profile.as_ref().map(FieldList::names),
        Some(&["fullName".to_owned(), "segment".to_owned()][..])
    );
    assert!(s.answer.fields.orders.is_none());
    assert_eq!(
        s.services[crate::service::Service::Tickets].fields,
        s.answer.fields.tickets
    );
}

#[test]
fn bad_answer_configuration_is_refused_naming_the_field() {
    for (json, field, why) in [
        (
            r#"{"services": {"recentOrders": {"fields": []}}}"#,
            "services.recentOrders.fields",
            "at least one",
        ),
        (
            r#"{"services": {"customerProfile": {"fields": ["a", "b", "a"]}}}"#,
            "services.customerProfile.fields",
            "\"a\" is listed twice",
        ),
        (
            r#"{"services": {"openTickets": {"fields": [""]}}}"#,
            "services.openTickets.fields",
            "empty",
        ),
        (
            r#"{"services": {"openTickets": {"fields": "ticketId"}}}"#,
            "services.openTickets.fields",
            "invalid type",
        ),
        (
            r#"{"services": {"openTickets": {"fields": [1]}}}"#,
            "services.openTickets.fields[0]",
            "invalid type",
        ),
        (
            r#"{"answerMode": "always_200"}"#,
            "answerMode",
            "unknown variant",
        ),
        (
            r#"{"answer": {"maxBytes": 1023}}"#,
            "answer.maxBytes",
            "between",
        ),
        (
            r#"{"answer": {"maxBytes": 16777217}}"#,
            "answer.maxBytes",
            "between",
        ),
        (
            r#"{"answer": {"maxByte": 5000}}"#,
            "answer.maxByte",
            "unknown field",
        ),
        (
            r#"{"prompt": {"unavailableText": ""}}"#,
            "prompt.unavailableText",
            "1 to prompt.maxChars",
        ),
        // Only `fields` is a list: an array elsewhere is still refused before serde reads it.
        (r#"{"limits": [1, 2]}"#, "limits", "sequence"),
        (
            r#"{"services": {"customerProfile": {"cache": {"fields": ["a"]}}}}"#,
            "services.customerProfile.cache.fields",
            "sequence",
        ),
    ] {
        let e = refused(json);
        assert_eq!(e.field, field, "{json}: {e}");
        assert!(e.reason.contains(why), "{json}: {e}");
    }
}
