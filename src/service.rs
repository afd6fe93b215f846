//! The three upstream services and how their replies are read.

use serde::Deserialize;
use serde_json::value::RawValue;

/// One of the internal services the filter fans out to. The order is the order of the answer's
/// keys and of the prompt lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    Profile,
    Orders,
    Tickets,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Profile, Service::Orders, Service::Tickets];

    pub fn index(self) -> usize {
        match self {
            Service::Profile => 0,
            Service::Orders => 1,
            Service::Tickets => 2,
        }
    }

    /// The key of this service's data in the answer (also used in `degraded`).
    pub fn answer_key(self) -> &'static str {
        match self {
            Service::Profile => "customerProfile",
            Service::Orders => "recentOrders",
            Service::Tickets => "openTickets",
        }
    }

    /// Stable short name for metrics, logs and `Server-Timing`.
    pub fn short_name(self) -> &'static str {
        match self {
            Service::Profile => "profile",
            Service::Orders => "orders",
            Service::Tickets => "tickets",
        }
    }

    /// How an error message names the service to a flow designer.
    pub fn display_name(self) -> &'static str {
        match self {
            Service::Profile => "customer profile service",
            Service::Orders => "orders service",
            Service::Tickets => "CRM tickets service",
        }
    }
}

/// What a service returned, reduced to what the answer and the prompt need. Lists and the profile
/// stay as the upstream's raw JSON text so they are passed through without being rebuilt.
#[derive(Debug, Clone)]
pub enum ServiceData {
    Profile(Profile),
    Orders(Listing),
    Tickets(Listing),
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub raw: Box<RawValue>,
    pub full_name: Option<String>,
    pub segment: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Listing {
    pub items: Vec<Box<RawValue>>,
    /// `orderNumber` of the first order, or `priority` of the first ticket.
    pub first_label: Option<String>,
}

/// Why a 2xx reply could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyError {
    TooLarge,
    NotJson,
    WrongShape,
}

#[derive(Deserialize)]
struct Labelled<'a> {
    #[serde(borrow, rename = "fullName")]
    full_name: Option<&'a RawValue>,
    #[serde(borrow)]
    segment: Option<&'a RawValue>,
    #[serde(borrow, rename = "orderNumber")]
    order_number: Option<&'a RawValue>,
    #[serde(borrow)]
    priority: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct OrdersReply {
    items: Vec<Box<RawValue>>,
}

#[derive(Deserialize)]
struct TicketsReply {
    tickets: Vec<Box<RawValue>>,
}

/// Text of a scalar field as it should appear in the prompt: strings as they are, numbers and
/// booleans in their JSON form, anything else (null, objects, arrays, empty strings) as absent.
fn scalar_text(raw: Option<&RawValue>) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(raw?.get()).ok()?;
    match value {
        serde_json::Value::String(s) if !s.is_empty() => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn label_of(
    item: Option<&RawValue>,
    pick: fn(Labelled<'_>) -> Option<&RawValue>,
) -> Option<String> {
    let item = item?;
    if !item.get().starts_with('{') {
        return None;
    }
    let labelled: Labelled<'_> = serde_json::from_str(item.get()).ok()?;
    scalar_text(pick(labelled))
}

/// Reads a 2xx body of `service`, keeping at most `max_items` list entries.
pub fn parse_reply(
    service: Service,
    body: &[u8],
    max_body: usize,
    max_items: usize,
) -> Result<ServiceData, ReplyError> {
    if body.len() > max_body {
        return Err(ReplyError::TooLarge);
    }
    let text = std::str::from_utf8(body).map_err(|_| ReplyError::NotJson)?;
    match service {
        Service::Profile => {
            let raw: Box<RawValue> = serde_json::from_str(text).map_err(|_| ReplyError::NotJson)?;
            if !raw.get().starts_with('{') {
                return Err(ReplyError::WrongShape);
            }
            let labelled: Labelled<'_> =
                serde_json::from_str(raw.get()).map_err(|_| ReplyError::WrongShape)?;
            let full_name = scalar_text(labelled.full_name);
            let segment = scalar_text(labelled.segment);
            Ok(ServiceData::Profile(Profile {
                raw,
                full_name,
                segment,
            }))
        }
        Service::Orders => {
            let mut reply: OrdersReply = from_json(text)?;
            reply.items.truncate(max_items);
            let first_label = label_of(reply.items.first().map(|b| &**b), |l| l.order_number);
            Ok(ServiceData::Orders(Listing {
                items: reply.items,
                first_label,
            }))
        }
        Service::Tickets => {
            let mut reply: TicketsReply = from_json(text)?;
            reply.tickets.truncate(max_items);
            let first_label = label_of(reply.tickets.first().map(|b| &**b), |l| l.priority);
            Ok(ServiceData::Tickets(Listing {
                items: reply.tickets,
                first_label,
            }))
        }
    }
}

fn from_json<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, ReplyError> {
    serde_json::from_str(text).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ReplyError::NotJson
        } else {
            ReplyError::WrongShape
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn profile_keeps_raw_and_reads_labels() {
        let body = br#"{"fullName":"Elena Rostova","segment":"Premium","x":[1,2]}"#;
        let ServiceData::Profile(p) = parse_reply(Service::Profile, body, 1024, 5).unwrap() else {
            panic!("not a profile")
        };
        assert_eq!(p.full_name.as_deref(), Some("Elena Rostova"));
        assert_eq!(p.segment.as_deref(), Some("Premium"));
        assert_eq!(p.raw.get(), std::str::from_utf8(body).unwrap());
    }

    #[test]
    fn profile_labels_absent_null_empty_or_structured() {
        for body in [
            r#"{}"#,
            r#"{"fullName":null}"#,
            r#"{"fullName":""}"#,
            r#"{"fullName":{"a":1}}"#,
        ] {
            let ServiceData::Profile(p) =
                parse_reply(Service::Profile, body.as_bytes(), 1024, 5).unwrap()
            else {
                panic!()
            };
            assert_eq!(p.full_name, None, "{body}");
        }
    }

    #[test]
    fn profile_must_be_an_object() {
        assert_eq!(
            parse_reply(Service::Profile, b"[1]", 1024, 5).err(),
            Some(ReplyError::WrongShape)
        );
        assert_eq!(
            parse_reply(Service::Profile, b"{nope", 1024, 5).err(),
            Some(ReplyError::NotJson)
        );
        assert_eq!(
            parse_reply(Service::Profile, b"\xff\xfe", 1024, 5).err(),
            Some(ReplyError::NotJson)
        );
    }

    #[test]
    fn orders_truncated_and_first_number_read() {
        let body = br#"{"items":[{"orderNumber":"A1"},{"orderNumber":"A2"},{"orderNumber":"A3"}],"total":3}"#;
        let ServiceData::Orders(l) = parse_reply(Service::Orders, body, 1024, 2).unwrap() else {
            panic!()
        };
        assert_eq!(l.items.len(), 2);
        assert_eq!(l.first_label.as_deref(), Some("A1"));
    }

    #[test]
    fn orders_without_items_key_is_wrong_shape() {
        assert_eq!(
            parse_reply(Service::Orders, br#"{"orders":[]}"#, 1024, 5).err(),
            Some(ReplyError::WrongShape)
        );
        assert_eq!(
            parse_reply(Service::Orders, br#"{"items":{}}"#, 1024, 5).err(),
            Some(ReplyError::WrongShape)
        );
    }

    #[test]
    fn tickets_first_priority_and_non_object_items() {
        let ServiceData::Tickets(l) = parse_reply(
            Service::Tickets,
            br#"{"tickets":[{"priority":"High"},7]}"#,
            1024,
            5,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(l.first_label.as_deref(), Some("High"));
        let ServiceData::Tickets(l) =
            parse_reply(Service::Tickets, br#"{"tickets":[7]}"#, 1024, 5).unwrap()
        else {
            panic!()
        };
        assert_eq!(l.first_label, None);
    }

    #[test]
    fn oversized_reply_refused_before_parsing() {
        assert_eq!(
            parse_reply(Service::Orders, &[b' '; 100], 99, 5).err(),
            Some(ReplyError::TooLarge)
        );
    }

    /// From the `replies` fuzz target: list items are passed on as the upstream wrote them, so a
    /// number beyond f64 (valid JSON; JavaScript reads it as Infinity) reaches the answer as is,
    /// and so does odd whitespace; only the syntax is checked.
    #[test]
    fn items_are_passed_on_verbatim() {
        let body = b"{\"tickets\":\r[\r{\"priority\" : 1e400}\t, [18E33333333333333300]]}";
        let ServiceData::Tickets(l) = parse_reply(Service::Tickets, body, 1024, 5).unwrap() else {
            panic!()
        };
        let items: Vec<&str> = l.items.iter().map(|i| i.get()).collect();
        assert_eq!(items, [r#"{"priority" : 1e400}"#, "[18E33333333333333300]"]);
        // The label is read through serde_json, which refuses the number: no label, no failure.
        assert_eq!(l.first_label, None);
        assert!(parse_reply(Service::Tickets, br#"{"tickets":[1e]}"#, 1024, 5).is_err());
    }
}
