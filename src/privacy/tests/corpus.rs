//! The corpus: realistic records through the whole answer path (reply parser, privacy, prompt,
//! answer), each with the exact answer expected.

use super::*;
use crate::aggregate::Gathered;
use crate::config::{PromptSettings, Settings};
use crate::template::PromptTemplate;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const PROFILE: &str = r#"{"customerId":"CUST-992847","fullName":"Elena Rostova <elena.rostova@example.com>","segment":"Premium","email":"elena.rostova@example.com","phone":"+49 30 5550 1234","mobile":"+49 151 23456789","language":"de-DE","address":{"street":"Torstraße 12","city":"Berlin","postalCode":"10119"},"payment":{"iban":"DE89 3704 0044 0532 0130 00","cardNumber":4111111111111111,"cardHolder":"Elena Rostova"},"contacts":[{"type":"work","Email":"e.rostova@firma.de","PHONE":"+49 30 9999 0000"},{"type":"privat","note":"über józef@przykład.pl\nbitte nicht anrufen"}],"notes":"Refund to NL91ABNA0417164300 agreed; old card 5500-0055-5555-5559 cancelled","loyaltyId":"4111111111111112","customerSince":"2019-03-14"}"#;

const ORDERS: &str = r#"{"items":[{"orderNumber":"ORD-2024-88412","status":"shipped","total":249.90,"currency":"EUR","trackingId":"00340434161094000057","items":[{"sku":"HDP-220","name":"Kopfhörer „Wireless“","quantity":1}],"billing":{"iban":"GB29 NWBK 6016 1331 9268 19","email":"billing@rostova.example"}},{"orderNumber":"4111111111111111","status":"returned","refundTo":"CH93 0076 2011 6238 5295 7"}],"total":2}"#;

const TICKETS: &str = r#"{"tickets":[{"ticketId":"TCK-55102","subject":"Rückruf an 0151 2345 6789 – Kundin nennt IBAN ES91 2100 0418 4502 0005 1332","priority":"High","requester":{"name":"Elena","phone":"0151 2345 6789"}},{"ticketId":"TCK-55103","subject":"Order 1234 5678 9012 3456 missing; Amex 3764 490473 33005 on file","priority":"Low","tags":["billing","call 491512345678"]}]}"#;

fn parse(service: Service, body: &str) -> ServiceData {
    parse_reply(service, body.as_bytes(), 1 << 20, 50).unwrap()
}

fn settings(json: &str) -> Settings {
    crate::config::test_settings(json)
}

/// The answer for the three bodies under `settings`, built the way the engine builds it.
fn answer(s: &Settings, bodies: [&str; 3], intent: &str, customer_number: &str) -> String {
    let data = [
        parse(Service::Profile, bodies[0]),
        parse(Service::Orders, bodies[1]),
        parse(Service::Tickets, bodies[2]),
    ];
    let [p, o, t] = s
        .privacy
        .redact_all([Some(&data[0]), Some(&data[1]), Some(&data[2])])
        .unwrap();
    let g = Gathered {
        records: [p.as_deref(), o.as_deref(), t.as_deref()].into(),
        intent,
        customer_number,
        stale: Vec::new(),
        mask_patterns: s.privacy.mask_patterns,
    };
    g.answer_json(&s.prompt).unwrap()
}

#[test]
fn default_rules_on_the_corpus() {
    let got = answer(
        &settings("{}"),
        [PROFILE, ORDERS, TICKETS],
        "order_status",
        "CUST-992847",
    );
    let expected = concat!(
        r#"{"customerProfile":{"customerId":"CUST-992847","fullName":"Elena Rostova <e***@example.com>","segment":"Premium","email":"e***@example.com","phone":"+** ** **** **34","mobile":"+** *** ******89","language":"de-DE","address":{"street":"Torstraße 12","city":"Berlin","postalCode":"10119"},"payment":{"iban":"**** **** **** **** **30 00","cardNumber":"************1111","cardHolder":"Elena Rostova"},"contacts":[{"type":"work","Email":"e***@firma.de","PHONE":"+** ** **** **00"},{"type":"privat","note":"über j***@przykład.pl\nbitte nicht anrufen"}],"notes":"Refund to **************4300 agreed; old card ****-****-****-5559 cancelled","loyaltyId":"4111111111111112","customerSince":"2019-03-14"},"#,
        r#""recentOrders":[{"orderNumber":"ORD-2024-88412","status":"shipped","total":249.90,"currency":"EUR","trackingId":"00340434161094000057","items":[{"sku":"HDP-220","name":"Kopfhörer „Wireless“","quantity":1}],"billing":{"iban":"**** **** **** **** **68 19","email":"b***@rostova.example"}},{"orderNumber":"************1111","status":"returned","refundTo":"**** **** **** **** *295 7"}],"#,
        r#""openTickets":[{"ticketId":"TCK-55102","subject":"Rückruf an 0151 2345 6789 – Kundin nennt IBAN **** **** **** **** **** 1332","priority":"High","requester":{"name":"Elena","phone":"**** **** **89"}},{"ticketId":"TCK-55103","subject":"Order 1234 5678 9012 3456 missing; Amex **** ****** *3005 on file","priority":"Low","tags":["billing","call 491512345678"]}],"#,
        r#""enrichedPromptContext":"Customer: Elena Rostova <e***@example.com> | Segment: Premium\nRecent Orders: 2 items. Last order: ORD-2024-88412\nOpen Tickets: 2 active cases. Priority: High"}"#
    );
    assert_eq!(got, expected);
}

#[test]
fn dropped_keys_and_a_masked_name_never_reach_the_prompt() {
    let s = settings(
        r#"{"privacy": {"dropFields": ["payment", "CONTACTS", "notes", "requester", "tags"], "maskFields": ["fullName", "email", "subject"], "maskPatterns": false}}"#,
    );
    let got = answer(
        &s,
        [PROFILE, ORDERS, TICKETS],
        "order_status",
        "CUST-992847",
    );
    let expected = concat!(
        r#"{"customerProfile":{"customerId":"CUST-992847","fullName":"*************************************com>","segment":"Premium","email":"e***@example.com","phone":"+49 30 5550 1234","mobile":"+49 151 23456789","language":"de-DE","address":{"street":"Torstraße 12","city":"Berlin","postalCode":"10119"},"loyaltyId":"4111111111111112","customerSince":"2019-03-14"},"#,
        r#""recentOrders":[{"orderNumber":"ORD-2024-88412","status":"shipped","total":249.90,"currency":"EUR","trackingId":"00340434161094000057","items":[{"sku":"HDP-220","name":"Kopfhörer „Wireless“","quantity":1}],"billing":{"iban":"GB29 NWBK 6016 1331 9268 19","email":"b***@rostova.example"}},{"orderNumber":"4111111111111111","status":"returned","refundTo":"CH93 0076 2011 6238 5295 7"}],"#,
        r#""openTickets":[{"ticketId":"TCK-55102","subject":"***********************************************************************1332","priority":"High"},{"ticketId":"TCK-55103","subject":"*************************************************************file","priority":"Low"}],"#,
        r#""enrichedPromptContext":"Customer: *************************************com> | Segment: Premium\nRecent Orders: 2 items. Last order: ORD-2024-88412\nOpen Tickets: 2 active cases. Priority: High"}"#
    );
    assert_eq!(got, expected);
}

#[test]
fn the_prompt_is_scanned_after_it_is_built() {
    // Each value is harmless on its own in the record; the prompt joins them: a newline inside
    // a name becomes a space (a grouped card number appears), and the caller's own values reach
    // the template.
    let profile = r#"{"fullName":"4111 1111\n1111 1111","segment":"Premium"}"#;
    let orders = r#"{"items":[{"orderNumber":"4111111111111111"}]}"#;
    let tickets = r#"{"tickets":[]}"#;
    let mut s = settings("{}");
    s.prompt = PromptSettings {
        template: Some(
            PromptTemplate::parse(
                "{customerName} | {customerNumber} | {intent} | last {lastOrder}",
            )
            .unwrap(),
        ),
        ..PromptSettings::default()
    };
    let got = answer(
        &s,
        [profile, orders, tickets],
        "refund to jane.doe@example.org",
        "5500005555555559",
    );
    let v: serde_json::Value = serde_json::from_str(&got).unwrap();
    // The record keeps the name as it was (no card in it: a newline is not a separator) ...
    assert_eq!(v["customerProfile"]["fullName"], "4111 1111\n1111 1111");
    // ... the order number is a card wherever it is.
    assert_eq!(v["recentOrders"][0]["orderNumber"], "************1111");
    assert_eq!(
        v["enrichedPromptContext"],
        "**** **** **** 1111 | ************5559 | refund to j***@example.org | last ************1111"
    );
}

#[test]
fn masking_off_passes_every_byte_through() {
    let s = settings(r#"{"privacy": {"maskFields": [], "maskPatterns": false}}"#);
    assert!(s.privacy.is_off());
    let got = answer(
        &s,
        [PROFILE, ORDERS, TICKETS],
        "order_status",
        "CUST-992847",
    );
    let v: serde_json::Value = serde_json::from_str(&got).unwrap();
    let original: serde_json::Value = serde_json::from_str(PROFILE).unwrap();
    assert_eq!(v["customerProfile"], original);
    assert!(got.starts_with(&format!(r#"{{"customerProfile":{PROFILE},"#)));
    assert!(got.contains(
        r#""subject":"Order 1234 5678 9012 3456 missing; Amex 3764 490473 33005 on file""#
    ));
}

#[test]
fn prompt_stays_within_its_limit_when_a_mask_lengthens_it() {
    // Short addresses grow by their mask ("a@b.io" -> "a***@b.io"); the prompt is cut again.
    let names: Vec<String> = (0..40).map(|i| format!("a@b{i}.io")).collect();
    let profile = serde_json::json!({"fullName": names.join(" ")}).to_string();
    let mut s = settings("{}");
    s.prompt = PromptSettings {
        max_value_chars: 10_000,
        max_chars: 200,
        template: None,
    };
    let got = answer(
        &s,
        [&profile, r#"{"items":[]}"#, r#"{"tickets":[]}"#],
        "x",
        "C1",
    );
    let v: serde_json::Value = serde_json::from_str(&got).unwrap();
    let prompt = v["enrichedPromptContext"].as_str().unwrap();
    assert_eq!(prompt.chars().count(), 200, "{prompt}");
    assert!(
        prompt.starts_with("Customer: a***@b0.io a***@b1.io"),
        "{prompt}"
    );
    assert!(!prompt.contains("a@"), "{prompt}");
}
