//! The answer and the prompt, from fuzzed upstream replies: either raw bodies, or well-formed
//! bodies carrying fuzzed label strings (so every input reaches the prompt builder). Never a
//! panic; the answer is always a JSON object of the contract's keys, and upstream text can never
//! add a prompt line, a control character, or more characters than configured. Under a fuzzed
//! `answer.maxBytes` and `fields`, the answer is valid JSON of at most that many bytes, and no
//! cut list could keep its next item.

#![no_main]

use cognigy_enrich::aggregate::{clean, Gathered};
use cognigy_enrich::answer::{self, AnswerError, AnswerSettings, FieldList, Fields};
use cognigy_enrich::config::PromptSettings;
use cognigy_enrich::copilot::CopilotSettings;
use cognigy_enrich::service::{parse_reply, Service, ServiceData};
use cognigy_enrich::template::PromptTemplate;
use cognigy_enrich_fuzz::{array_len, json_object, string_member, Bytes};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

const MAX_BODY: usize = 1 << 20;

/// A fuzzed JSON value for a label: mostly strings, sometimes another type.
fn label(b: &mut Bytes<'_>) -> serde_json::Value {
    let text = String::from_utf8_lossy(b.chunk()).into_owned();
    match b.u8() % 8 {
        0 => json!(null),
        1 => json!(u64::from(b.u32())),
        2 => json!(b.bool()),
        3 => json!({ "nested": text }),
        _ => json!(text),
    }
}

fn bodies(b: &mut Bytes<'_>) -> [Vec<u8>; 3] {
    if b.bool() {
        return [b.chunk().to_vec(), b.chunk().to_vec(), b.chunk().to_vec()];
    }
    let profile = json!({"customerId": "C1", "fullName": label(b), "segment": label(b)});
    let n_orders = usize::from(b.u8() % 4);
    let orders: Vec<_> = (0..n_orders)
        .map(|_| json!({"orderNumber": label(b)}))
        .collect();
    let n_tickets = usize::from(b.u8() % 4);
    let tickets: Vec<_> = (0..n_tickets)
        .map(|_| json!({"priority": label(b), "subject": label(b)}))
        .collect();
    [
        profile.to_string().into_bytes(),
        json!({ "items": orders }).to_string().into_bytes(),
        json!({ "tickets": tickets }).to_string().into_bytes(),
    ]
}

/// Upstream and caller text never adds a line or a control character to the prompt: whatever
/// the prompt holds beyond the template's own text came through `clean`.
fn check_prompt(prompt: &str, cfg: &PromptSettings) {
    assert!(prompt.chars().count() <= cfg.max_chars, "{prompt:?}");
    let lines = prompt.matches('\n').count();
    let literal = cfg.template.as_ref().map(|t| t.render(|_| String::new()));
    let (template_lines, template_controls) = match &literal {
        Some(text) => (
            text.matches('\n').count(),
            text.chars()
                .filter(|c| c.is_control() && *c != '\n')
                .count(),
        ),
        None => (2, 0),
    };
    assert!(lines <= template_lines, "forged line: {prompt:?}");
    if prompt.chars().count() < cfg.max_chars {
        assert_eq!(lines, template_lines, "a line went missing: {prompt:?}");
    }
    let controls = prompt
        .chars()
        .filter(|c| (c.is_control() && *c != '\n') || matches!(c, '\u{2028}' | '\u{2029}'))
        .count();
    let template_separators = literal.as_deref().map_or(0, |t| {
        t.chars()
            .filter(|c| matches!(c, '\u{2028}' | '\u{2029}'))
            .count()
    });
    assert!(
        controls <= template_controls + template_separators,
        "{prompt:?}"
    );
    if literal.is_none() {
        assert!(prompt.starts_with("Customer: "), "{prompt:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let present = b.u8();
    let max_items = usize::from(b.u8() % 8) + 1;
    let max_value_chars = 8 + usize::from(b.u16() % 300);
    let max_chars = 64 + usize::from(b.u16() % 2000);
    let template = if b.bool() {
        PromptTemplate::parse(&String::from_utf8_lossy(b.chunk())).ok()
    } else {
        None
    };
    let cfg = PromptSettings {
        max_value_chars,
        max_chars,
        template,
    };
    let intent = String::from_utf8_lossy(b.chunk()).into_owned();
    let customer_number = String::from_utf8_lossy(b.chunk()).into_owned();
    let stale_bits = b.u8();
    let stale: Vec<&'static str> = Service::ALL
        .iter()
        .filter(|s| stale_bits & (1 << s.ordinal()) != 0)
        .map(|s| s.answer_key())
        .collect();
    // `clean` on its own, with the fuzzer's text.
    let text = String::from_utf8_lossy(b.chunk()).into_owned();
    let cleaned = clean(&text, cfg.max_value_chars);
    assert!(cleaned.chars().count() <= cfg.max_value_chars);
    assert!(!cleaned
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() && c != ' '));
    assert!(!cleaned.starts_with(' ') && !cleaned.ends_with(' ') && !cleaned.contains("  "));

    let [profile_body, orders_body, tickets_body] = bodies(&mut b);
    let profile: Option<ServiceData> =
        match parse_reply(Service::Profile, &profile_body, MAX_BODY, 50) {
            Ok(p @ ServiceData::Profile(_)) if present & 1 == 0 => Some(p),
            _ => None,
        };
    let listing = |service, body: &[u8], skip: bool| -> Option<ServiceData> {
        match parse_reply(service, body, MAX_BODY, max_items) {
            Ok(l @ ServiceData::List(_)) if !skip => Some(l),
            _ => None,
        }
    };
    let orders = listing(Service::Orders, &orders_body, present & 2 != 0);
    let tickets = listing(Service::Tickets, &tickets_body, present & 4 != 0);
    let gathered = Gathered {
        records: [profile.as_ref(), orders.as_ref(), tickets.as_ref()].into(),
        intent: &intent,
        customer_number: &customer_number,
        stale: stale.clone(),
        mask_patterns: false,
    };

    let prompt = gathered.prompt(&cfg);
    check_prompt(&prompt, &cfg);
    let answer = match gathered.answer_json(&cfg) {
        Ok(answer) => answer,
        Err(e) => panic!("answer not serialisable: {e}"),
    };
    let v = json_object(&answer);
    assert!(v
        .get("customerProfile")
        .is_some_and(|p| p.get().starts_with('{')));
    for (key, list) in [("recentOrders", &orders), ("openTickets", &tickets)] {
        let items = array_len(&v, key).unwrap_or(usize::MAX);
        assert_eq!(items, list.as_ref().and_then(ServiceData::as_listing).map_or(0, |l| l.items.len()));
        assert!(items <= max_items);
    }
    assert_eq!(
        string_member(&v, "enrichedPromptContext"),
        Some(prompt.clone())
    );
    let degraded = gathered.degraded();
    assert_eq!(v.contains_key("degraded"), !degraded.is_empty());
    assert_eq!(v.contains_key("stale"), !stale.is_empty());
    let optional = usize::from(!degraded.is_empty()) + usize::from(!stale.is_empty());
    assert_eq!(v.len(), 4 + optional);

    // The same answer with the Agent Copilot tiles on: `identity` rows only of configured labels,
    // and a 1.5 card whose text never has `{{` or `${` side by side (the card's functions,
    // templating, CognigyScript) whatever upstream sent.
    let copilot = CopilotSettings {
        identity: true,
        card: true,
        max_card_items: 1 + usize::from(b.u8() % 10),
        ..CopilotSettings::default()
    };
    let with_tiles = match gathered.answer_json_with(&cfg, Some(&copilot)) {
        Ok(answer) => answer,
        Err(e) => panic!("answer with tiles not serialisable: {e}"),
    };
    let t: serde_json::Value = match serde_json::from_str(&with_tiles) {
        Ok(t) => t,
        Err(e) => panic!("answer with tiles not JSON: {e}"),
    };
    let Some(identity) = t.get("identity").and_then(|i| i.as_object()) else {
        panic!("no identity object: {with_tiles}");
    };
    assert!(identity
        .keys()
        .all(|k| copilot.rows.iter().any(|r| &r.label == k)));
    let card = &t["card"];
    assert_eq!(card["version"], "1.5");
    fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            serde_json::Value::Object(m) => m.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let mut texts = Vec::new();
    strings(card, &mut texts);
    for text in texts {
        assert!(!text.contains("{{") && !text.contains("${"), "{text:?}");
    }

    // The same data through a size cap and field allow-lists.
    let max_bytes = 1024 + usize::from(b.u16());
    let keep = |b: &mut Bytes<'_>| {
        b.bool().then(|| {
            let names = ["fullName", "orderNumber", "priority", "segment", "customerId"];
            let n = 1 + usize::from(b.u8()) % names.len();
            FieldList::new(names[..n].iter().map(|s| (*s).to_owned()).collect())
                .unwrap_or_else(|e| panic!("{e}"))
        })
    };
    let settings = AnswerSettings {
        max_bytes,
        fields: Fields {
            profile: keep(&mut b),
            orders: keep(&mut b),
            tickets: keep(&mut b),
        },
        ..AnswerSettings::default()
    };
    let lead = if b.bool() { "\"ok\":true," } else { "" };
    match answer::write(&gathered, &cfg, &settings, None, lead) {
        Ok(w) => {
            assert!(w.body.len() <= max_bytes, "{} > {max_bytes}", w.body.len());
            let v = json_object(&w.body);
            for (key, list) in [("recentOrders", &orders), ("openTickets", &tickets)] {
                let kept = array_len(&v, key).unwrap_or(usize::MAX);
                let all = list.as_ref().and_then(ServiceData::as_listing).map_or(0, |l| l.items.len());
                assert!(kept <= all);
                assert_eq!(kept < all, w.truncated.contains(&key), "{key}");
            }
            assert_eq!(v.contains_key("truncated"), !w.truncated.is_empty());
        }
        Err(AnswerError::TooLarge { smallest, .. }) => assert!(smallest > max_bytes),
        Err(e) => panic!("{e}"),
    }
});
