//! `card`: an Adaptive Card 1.5 for a Copilot Adaptive Card Tile - the customer's facts, the last
//! orders, the open tickets, and a line where a source failed or came from the cache.
//!
//! Built as typed structs (not `serde_json::Value`, whose objects sort their keys) so the card
//! reads top-down like one written by hand. Upstream text is data: it goes into `TextRun`s, which
//! no renderer reads as markdown, except the FactSet's values, which are escaped (see
//! [`super::text`]).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::value::RawValue;

use super::config::CopilotSettings;
use super::identity::Identity;
use super::text::{date_part, fields, markdown_text, run_text, scalar};

pub const VERSION: &str = "1.5";
const SCHEMA: &str = "http://adaptivecards.io/schemas/adaptive-card.json";
/// Between the parts of an order or ticket line.
const SEPARATOR: &str = " · ";

#[derive(Debug, Serialize)]
pub struct Card {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    body: Vec<Element>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type")]
enum Element {
    RichTextBlock {
        inlines: Vec<TextRun>,
    },
    FactSet {
        facts: Vec<Fact>,
    },
    Container {
        items: Vec<Element>,
        separator: bool,
        spacing: &'static str,
    },
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TextRun {
    #[serde(rename = "type")]
    kind: &'static str,
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    weight: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    color: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_subtle: bool,
}

#[derive(Debug, Serialize)]
struct Fact {
    title: String,
    value: String,
}

impl TextRun {
    fn plain(text: String) -> TextRun {
        TextRun {
            kind: "TextRun",
            text,
            weight: None,
            size: None,
            color: None,
            is_subtle: false,
        }
    }

    fn bold(text: String) -> TextRun {
        TextRun {
            weight: Some("Bolder"),
            ..TextRun::plain(text)
        }
    }
}

fn line(runs: Vec<TextRun>) -> Element {
    Element::RichTextBlock { inlines: runs }
}

/// How one source did, for its section's notice line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceState {
    Fresh,
    /// Answered from the cache after the service failed.
    Stale,
    /// Nothing: the service failed.
    Unavailable,
}

/// What the card is built from: the data after privacy masking.
pub struct CardInput<'a> {
    /// The identity rows the profile has values for (the FactSet); `None` without a profile.
    pub facts: Option<&'a Identity>,
    pub profile_state: SourceState,
    pub orders: &'a [Box<RawValue>],
    pub orders_state: SourceState,
    pub tickets: &'a [Box<RawValue>],
    pub tickets_state: SourceState,
}

impl Card {
    pub fn build(cfg: &CopilotSettings, input: &CardInput<'_>) -> Card {
        let labels = &cfg.labels;
        let max = cfg.max_value_chars;
        let mut body = vec![line(vec![TextRun {
            size: Some("Medium"),
            ..TextRun::bold(run_text(&labels.customer, max))
        }])];
        if let Some(identity) = input.facts {
            let facts: Vec<Fact> = identity
                .rows
                .iter()
                .map(|(title, value)| Fact {
                    title: markdown_text(title, max),
                    value: markdown_text(value, max),
                })
                .collect();
            if !facts.is_empty() {
                body.push(Element::FactSet { facts });
            }
        }
        body.extend(notice(cfg, input.profile_state));

        let orders = section(
            cfg,
            &labels.orders,
            &labels.no_orders,
            input.orders,
            input.orders_state,
            order_line,
        );
        let tickets = section(
            cfg,
            &labels.tickets,
            &labels.no_tickets,
            input.tickets,
            input.tickets_state,
            ticket_line,
        );
        body.push(orders);
        body.push(tickets);
        Card {
            kind: "AdaptiveCard",
            schema: SCHEMA,
            version: VERSION,
            body,
        }
    }
}

/// The line under a source that failed or came from the cache.
fn notice(cfg: &CopilotSettings, state: SourceState) -> Option<Element> {
    let (text, color) = match state {
        SourceState::Fresh => return None,
        SourceState::Stale => (&cfg.labels.stale, "Warning"),
        SourceState::Unavailable => (&cfg.labels.unavailable, "Attention"),
    };
    Some(line(vec![TextRun {
        color: Some(color),
        ..TextRun::plain(run_text(text, cfg.max_value_chars))
    }]))
}

fn section(
    cfg: &CopilotSettings,
    title: &str,
    empty: &str,
    items: &[Box<RawValue>],
    state: SourceState,
    item_line: fn(&BTreeMap<String, &RawValue>, usize) -> Element,
) -> Element {
    let max = cfg.max_value_chars;
    let mut out = vec![line(vec![TextRun::bold(run_text(title, max))])];
    let shown: Vec<Element> = items
        .iter()
        .filter_map(|item| fields(item.get()))
        .take(cfg.max_card_items)
        .map(|f| item_line(&f, max))
        .collect();
    if shown.is_empty() && state != SourceState::Unavailable {
        out.push(line(vec![TextRun {
            is_subtle: true,
            ..TextRun::plain(run_text(empty, max))
        }]));
    }
    out.extend(shown);
    out.extend(notice(cfg, state));
    Element::Container {
        items: out,
        separator: true,
        spacing: "Medium",
    }
}

/// `ORD-2024-88412` then ` · shipped · 2024-11-02 · 249.90 EUR`: the number bold, the parts that
/// exist after it.
fn order_line(order: &BTreeMap<String, &RawValue>, max: usize) -> Element {
    let amount =
        scalar(order.get("total").or_else(|| order.get("amount"))).map(|total| {
            match scalar(order.get("currency")) {
                Some(currency) => format!("{total} {currency}"),
                None => total,
            }
        });
    let date = scalar(order.get("createdAt")).map(|d| date_part(&d).to_owned());
    item_line(
        scalar(order.get("orderNumber")),
        [scalar(order.get("status")), date, amount],
        max,
    )
}

/// `Delivery delayed` then ` · High · 2024-11-05`.
fn ticket_line(ticket: &BTreeMap<String, &RawValue>, max: usize) -> Element {
    let created = scalar(ticket.get("createdAt")).map(|d| date_part(&d).to_owned());
    item_line(
        scalar(ticket.get("subject")),
        [scalar(ticket.get("priority")), created],
        max,
    )
}

fn item_line<const N: usize>(
    head: Option<String>,
    rest: [Option<String>; N],
    max: usize,
) -> Element {
    let head = head.map_or_else(|| "-".to_owned(), |h| run_text(&h, max));
    let rest: Vec<String> = rest
        .into_iter()
        .flatten()
        .map(|part| run_text(&part, max))
        .filter(|part| !part.is_empty())
        .collect();
    let mut runs = vec![TextRun::bold(head)];
    if !rest.is_empty() {
        runs.push(TextRun::plain(format!(
            "{SEPARATOR}{}",
            rest.join(SEPARATOR)
        )));
    }
    line(runs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn raws(json: &str) -> Vec<Box<RawValue>> {
        serde_json::from_str(json).unwrap()
    }

    fn card(
        cfg: &CopilotSettings,
        profile: Option<&str>,
        states: [SourceState; 3],
        orders: &str,
        tickets: &str,
    ) -> Value {
        let raw = profile.map(|p| RawValue::from_string(p.to_owned()).unwrap());
        let f = raw
            .as_deref()
            .and_then(|r| fields(r.get()))
            .map(|f| Identity::build(&cfg.rows, &f));
        let orders = raws(orders);
        let tickets = raws(tickets);
        let c = Card::build(
            cfg,
            &CardInput {
                facts: f.as_ref(),
                profile_state: states[0],
                orders: &orders,
                orders_state: states[1],
                tickets: &tickets,
                tickets_state: states[2],
            },
        );
        serde_json::to_value(&c).unwrap()
    }

    const FRESH: [SourceState; 3] = [SourceState::Fresh; 3];

    /// Every text run of the card, in order.
    fn texts(v: &Value) -> Vec<String> {
        let mut out = Vec::new();
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(t)) = m.get("text") {
                        out.push(t.clone());
                    }
                    if let (Some(Value::String(t)), Some(Value::String(val))) =
                        (m.get("title"), m.get("value"))
                    {
                        out.push(format!("{t}={val}"));
                    }
                    m.values().for_each(|c| walk(c, out));
                }
                Value::Array(a) => a.iter().for_each(|c| walk(c, out)),
                _ => {}
            }
        }
        walk(v, &mut out);
        out
    }

    #[test]
    fn full_card() {
        let cfg = CopilotSettings::default();
        let v = card(
            &cfg,
            Some(
                r#"{"fullName":"Elena Rostova","segment":"Premium","customerId":"CUST-992847","accountStatus":"active","customerSince":"2019-03-14"}"#,
            ),
            FRESH,
            r#"[{"orderNumber":"ORD-2024-88412","status":"shipped","total":249.90,"currency":"EUR","createdAt":"2024-11-02T10:15:00Z"}]"#,
            r#"[{"ticketId":"TCK-55102","subject":"Delivery delayed","priority":"High","createdAt":"2024-11-05T08:30:00Z"}]"#,
        );
        assert_eq!(v["type"], "AdaptiveCard");
        assert_eq!(v["version"], "1.5");
        assert_eq!(v["body"][1]["type"], "FactSet");
        assert_eq!(
            v["body"][1]["facts"][0],
            json!({"title": "Name", "value": "Elena Rostova"})
        );
        assert_eq!(
            texts(&v),
            [
                "Customer",
                "Name=Elena Rostova",
                "Segment=Premium",
                "Customer ID=CUST-992847",
                "Status=active",
                "Customer since=2019-03-14",
                "Last orders",
                "ORD-2024-88412",
                " · shipped · 2024-11-02 · 249.90 EUR",
                "Open tickets",
                "Delivery delayed",
                " · High · 2024-11-05",
            ]
        );
        // Keys in the order written, `type` first.
        let text = serde_json::to_string(&Card::build(
            &cfg,
            &CardInput {
                facts: None,
                profile_state: SourceState::Fresh,
                orders: &[],
                orders_state: SourceState::Fresh,
                tickets: &[],
                tickets_state: SourceState::Fresh,
            },
        ))
        .unwrap();
        assert!(
            text.starts_with(r#"{"type":"AdaptiveCard","$schema":"http://adaptivecards.io/schemas/adaptive-card.json","version":"1.5","body":[{"type":"RichTextBlock","inlines":[{"type":"TextRun","text":"Customer","weight":"Bolder","size":"Medium"}]}"#),
            "{text}"
        );
    }

    #[test]
    fn at_most_max_card_items_of_each() {
        let cfg = CopilotSettings {
            max_card_items: 2,
            ..CopilotSettings::default()
        };
        let orders: Vec<Value> = (0..5)
            .map(|i| json!({"orderNumber": format!("O{i}")}))
            .collect();
        let tickets: Vec<Value> = (0..5)
            .map(|i| json!({"subject": format!("T{i}")}))
            .collect();
        let v = card(
            &cfg,
            Some("{}"),
            FRESH,
            &Value::from(orders).to_string(),
            &Value::from(tickets).to_string(),
        );
        let t = texts(&v);
        assert!(
            t.contains(&"O1".to_owned()) && !t.contains(&"O2".to_owned()),
            "{t:?}"
        );
        assert!(
            t.contains(&"T1".to_owned()) && !t.contains(&"T2".to_owned()),
            "{t:?}"
        );
        // A profile without any configured key: no empty FactSet.
        assert!(!v.to_string().contains("FactSet"));
    }

    #[test]
    fn empty_unavailable_and_stale_sources_say_so() {
        let cfg = CopilotSettings::default();
        let v = card(
            &cfg,
            None,
            [
                SourceState::Unavailable,
                SourceState::Fresh,
                SourceState::Fresh,
            ],
            "[]",
            "[]",
        );
        let t = texts(&v);
        assert!(t.contains(&cfg.labels.unavailable), "{t:?}");
        assert!(t.contains(&cfg.labels.no_orders) && t.contains(&cfg.labels.no_tickets));

        let v = card(
            &cfg,
            Some(r#"{"fullName":"E"}"#),
            [
                SourceState::Stale,
                SourceState::Unavailable,
                SourceState::Stale,
            ],
            "[]",
            r#"[{"subject":"S"}]"#,
        );
        let t = texts(&v);
        assert_eq!(
            t,
            [
                "Customer",
                "Name=E",
                &cfg.labels.stale,
                "Last orders",
                &cfg.labels.unavailable,
                "Open tickets",
                "S",
                &cfg.labels.stale,
            ]
        );
        // The notices are coloured, the FactSet and items are not.
        let s = v.to_string();
        assert!(s.contains(r#""color":"Attention""#) && s.contains(r#""color":"Warning""#));
    }

    #[test]
    fn labels_are_configurable() {
        let mut cfg = CopilotSettings::default();
        cfg.labels.orders = "Letzte Bestellungen".into();
        cfg.labels.no_tickets = "Keine offenen Tickets".into();
        let t = texts(&card(&cfg, None, FRESH, "[]", "[]"));
        assert!(t.contains(&"Letzte Bestellungen".to_owned()), "{t:?}");
        assert!(t.contains(&"Keine offenen Tickets".to_owned()), "{t:?}");
    }

    #[test]
    fn upstream_text_stays_literal() {
        let cfg = CopilotSettings::default();
        let v = card(
            &cfg,
            Some(
                r#"{"fullName":"[x](https://evil.example) **b**","segment":"{{DATE(2024-11-05T08:30:00Z)}}"}"#,
            ),
            FRESH,
            r#"[{"orderNumber":"<b>O</b>","status":"a\nb"}]"#,
            r#"[{"subject":"[x](https://evil.example)"},{"subject":"${x} {{context.secret}}"}, 7, "x"]"#,
        );
        let t = texts(&v);
        assert!(
            t.contains(&r"Name=\[x\](https://evil.example) \*\*b\*\*".to_owned()),
            "{t:?}"
        );
        assert!(
            t.contains(&"Segment={\u{2060}{DATE(2024-11-05T08:30:00Z)}}".to_owned()),
            "{t:?}"
        );
        // TextRuns are never markdown: no escaping there, only one line.
        assert!(t.contains(&"<b>O</b>".to_owned()) && t.contains(&" · a b".to_owned()));
        assert!(t.contains(&"[x](https://evil.example)".to_owned()), "{t:?}");
        assert!(
            t.contains(&"$\u{2060}{x} {\u{2060}{context.secret}}".to_owned()),
            "{t:?}"
        );
        // Items that are not objects are skipped.
        assert_eq!(t.iter().filter(|s| *s == "-").count(), 0, "{t:?}");
    }

    #[test]
    fn values_are_cut_to_max_value_chars() {
        let cfg = CopilotSettings {
            max_value_chars: 8,
            ..CopilotSettings::default()
        };
        let v = card(
            &cfg,
            None,
            FRESH,
            "[]",
            &json!([{"subject": "x".repeat(50)}]).to_string(),
        );
        assert!(texts(&v).contains(&"x".repeat(8)));
    }
}
