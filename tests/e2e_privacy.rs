//! Privacy end to end: the release filter in a real Envoy drops and masks what the services
//! return before the answer and the prompt are built, by default and as configured.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::json;
use support::*;

fn body(v: &serde_json::Value) -> Fault {
    Fault::Body {
        status: 200,
        body: v.to_string().into_bytes(),
    }
}

#[test]
fn default_rules_mask_the_demo_contact_data_and_what_the_scanners_find() {
    let (mocks, envoy) = stack(r#"{"deadlineMs": 4500}"#);
    let agent = agent();

    // The demo customer: e-mail and phone masked, nothing else touched.
    let r = enrich(&agent, &envoy, ELENA);
    assert_eq!(r.status, 200, "{}", r.body);
    let mut expected = elena_unmasked();
    expected["customerProfile"]["email"] = json!("e***@example.com");
    expected["customerProfile"]["phone"] = json!("+** ** **** **34");
    assert_eq!(r.json(), expected);
    assert!(!r.body.contains("elena.rostova@") && !r.body.contains("5550 1234"));

    // Records carrying a card, IBANs and addresses where no key says so.
    mocks.push_fault(
        Service::Profile,
        body(&json!({
            "customerId": "CUST-992847",
            "fullName": "Elena Rostova <elena.rostova@example.com>",
            "segment": "Premium",
            "Mobile": 4915123456789_u64,
            "payment": {"iban": "DE89370400440532013000", "note": "refund to NL91 ABNA 0417 1643 00"},
            "loyaltyId": "4111111111111112"
        })),
    );
    mocks.push_fault(
        Service::Orders,
        body(&json!({"items": [
            {"orderNumber": "4111 1111 1111 1111", "status": "shipped"},
            {"orderNumber": "ORD-2024-88412", "paidWith": "card 5500-0055-5555-5559"}
        ]})),
    );
    let r = enrich(&agent, &envoy, ELENA);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(
        v["customerProfile"],
        json!({
            "customerId": "CUST-992847",
            "fullName": "Elena Rostova <e***@example.com>",
            "segment": "Premium",
            "Mobile": "***********89",
            "payment": {"iban": "******************3000", "note": "refund to **** **** **** **43 00"},
            "loyaltyId": "4111111111111112"
        })
    );
    assert_eq!(
        v["recentOrders"],
        json!([
            {"orderNumber": "**** **** **** 1111", "status": "shipped"},
            {"orderNumber": "ORD-2024-88412", "paidWith": "card ****-****-****-5559"}
        ])
    );
    // The prompt is built from the masked records.
    assert_eq!(
        v["enrichedPromptContext"],
        "Customer: Elena Rostova <e***@example.com> | Segment: Premium\nRecent Orders: 2 items. Last order: **** **** **** 1111\nOpen Tickets: 1 active cases. Priority: High"
    );
    assert!(!r.body.contains("4111 1111 1111 1111") && !r.body.contains("elena.rostova@"));
}

#[test]
fn configured_rules_drop_and_mask_and_the_prompt_follows() {
    let (mocks, envoy) = stack(
        r#"{"deadlineMs": 4500, "privacy": {"dropFields": ["email", "PHONE", "items"], "maskFields": ["fullName"], "maskPatterns": false}}"#,
    );
    let agent = agent();
    let r = enrich(&agent, &envoy, ELENA);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(
        v["customerProfile"],
        json!({
            "customerId": "CUST-992847", "fullName": "*********tova", "segment": "Premium",
            "language": "de-DE", "accountStatus": "active", "customerSince": "2019-03-14",
            "loyaltyTier": "Gold"
        })
    );
    // Dropped inside list items too (the order's own "items" list).
    assert_eq!(
        v["recentOrders"][0],
        json!({"orderNumber": "ORD-2024-88412", "status": "shipped", "total": 249.90,
               "currency": "EUR", "createdAt": "2024-11-02T10:15:00Z"})
    );
    assert_eq!(
        v["enrichedPromptContext"],
        "Customer: *********tova | Segment: Premium\nRecent Orders: 1 items. Last order: ORD-2024-88412\nOpen Tickets: 1 active cases. Priority: High"
    );
    // maskPatterns off: a card in free text passes.
    mocks.push_fault(
        Service::Tickets,
        body(&json!({"tickets": [{"ticketId": "T1", "subject": "card 4111 1111 1111 1111", "priority": "Low"}]})),
    );
    let r = enrich(&agent, &envoy, ELENA);
    assert_eq!(
        r.json()["openTickets"][0]["subject"],
        "card 4111 1111 1111 1111"
    );
}

#[test]
fn masking_off_gives_the_records_as_they_are() {
    let (_mocks, envoy) =
        stack(r#"{"deadlineMs": 4500, "privacy": {"maskFields": [], "maskPatterns": false}}"#);
    let r = enrich(&agent(), &envoy, ELENA);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), elena_unmasked());
}

#[test]
fn a_bad_rule_refuses_the_configuration_naming_the_field() {
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let opts = EnvoyOptions {
        plugin_config: r#"{"deadlineMs": 4500, "privacy": {"maskFields": ["email", "EMAIL"]}}"#
            .into(),
        ..EnvoyOptions::default()
    };
    let Err((_, log)) = Envoy::try_start(&mocks, &opts) else {
        panic!("Envoy accepted a duplicate privacy rule")
    };
    assert!(
        log.contains("privacy.maskFields[1]"),
        "log does not name the field:\n{log}"
    );
}
