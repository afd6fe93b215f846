//! The upstream services: each one's names and defaults ([`ServiceSpec`]), how its reply is read,
//! and [`PerService`], the one way anything per service is stored.

use serde::Deserialize;
use serde_json::value::RawValue;

/// One of the internal services the filter fans out to. The order is the order of the answer's
/// keys, of the prompt lines and of the metrics. A service is this enum, its [`ServiceSpec`] and
/// its arm of [`parse_reply`]; everything per service elsewhere is a [`PerService`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    Profile,
    Orders,
    Tickets,
}

/// The names and defaults of one service: the only place they are written.
#[derive(Debug)]
pub struct ServiceSpec {
    /// The key of the service's data in the answer (also used in `degraded`) and of its
    /// configuration under `services`.
    pub answer_key: &'static str,
    /// Stable short name for metrics, logs and `Server-Timing`.
    pub short_name: &'static str,
    /// How an error message names the service to a flow designer.
    pub display_name: &'static str,
    /// How the default prompt's line for this service starts.
    pub prompt_label: &'static str,
    /// The default prompt's line after the label when the service answered, in
    /// [`crate::template`] syntax.
    pub prompt_line: &'static str,
    /// Defaults of `services.<answer_key>`.
    pub cluster: &'static str,
    pub path: &'static str,
    pub required: bool,
    /// Whether the path has a `{limit}` (and the configuration a `limit`).
    pub has_limit: bool,
    /// The member of a list service's reply that holds the list (`{"items":[...]}`), for the
    /// steps that read one item again as a reply (privacy); empty for the profile.
    pub list_key: &'static str,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Profile, Service::Orders, Service::Tickets];
    pub const COUNT: usize = Service::ALL.len();

    pub const fn spec(self) -> &'static ServiceSpec {
        match self {
            Service::Profile => &ServiceSpec {
                answer_key: "customerProfile",
                short_name: "profile",
                display_name: "customer profile service",
                prompt_label: "Customer",
                prompt_line: "{customerName} | Segment: {segment}",
                cluster: "customer_profile",
                path: "/api/v1/customers/{customerNumber}",
                required: true,
                has_limit: false,
                list_key: "",
            },
            Service::Orders => &ServiceSpec {
                answer_key: "recentOrders",
                short_name: "orders",
                display_name: "orders service",
                prompt_label: "Recent Orders",
                prompt_line: "{orderCount} items. Last order: {lastOrder}",
                cluster: "orders",
                path: "/api/v1/orders?customerId={customerNumber}&limit={limit}&sort=createdDesc",
                required: false,
                has_limit: true,
                list_key: "items",
            },
            Service::Tickets => &ServiceSpec {
                answer_key: "openTickets",
                short_name: "tickets",
                display_name: "CRM tickets service",
                prompt_label: "Open Tickets",
                prompt_line: "{ticketCount} active cases. Priority: {topPriority}",
                cluster: "crm",
                path: "/api/v1/crm/tickets?customerId={customerNumber}&status=open",
                required: false,
                has_limit: false,
                list_key: "tickets",
            },
        }
    }

    /// Every service's [`ServiceSpec::answer_key`], in order (the keys of `services`).
    // Evaluated at compile time: an index out of bounds fails the build, it cannot run.
    #[allow(clippy::indexing_slicing)]
    pub const ANSWER_KEYS: [&'static str; Service::COUNT] = {
        let mut keys = [""; Service::COUNT];
        let mut i = 0;
        while i < Service::COUNT {
            keys[i] = Service::ALL[i].spec().answer_key;
            i += 1;
        }
        keys
    };

    /// Position in [`Service::ALL`] (the declaration order), for [`PerService`] and the metrics.
    pub fn ordinal(self) -> usize {
        self as usize
    }

    pub fn answer_key(self) -> &'static str {
        self.spec().answer_key
    }

    pub fn short_name(self) -> &'static str {
        self.spec().short_name
    }

    pub fn display_name(self) -> &'static str {
        self.spec().display_name
    }
}

// `ordinal` is the position in `ALL`: what `PerService` relies on to stay in bounds. Checked when
// the crate is built.
#[allow(clippy::indexing_slicing)]
const _: () = {
    let mut i = 0;
    while i < Service::COUNT {
        assert!(Service::ALL[i] as usize == i);
        i += 1;
    }
};

/// One value per service, addressed by [`Service`] (`per[service]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PerService<T>([T; Service::COUNT]);

impl<T> PerService<T> {
    pub fn from_fn(f: impl FnMut(Service) -> T) -> Self {
        PerService(Service::ALL.map(f))
    }

    /// Builds each service's value in order, stopping at the first error.
    pub fn try_from_fn<E>(mut f: impl FnMut(Service) -> Result<T, E>) -> Result<Self, E>
    where
        T: Default,
    {
        let mut out = PerService::<T>::default();
        for s in Service::ALL {
            out[s] = f(s)?;
        }
        Ok(out)
    }

    /// Each service with its value, in [`Service::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Service, &T)> {
        Service::ALL.into_iter().zip(self.0.iter())
    }

    pub fn map<U>(&self, mut f: impl FnMut(Service, &T) -> U) -> PerService<U> {
        PerService::from_fn(|s| f(s, &self[s]))
    }
}

/// Read like a struct with one optional field per service, named by its answer key
/// (`services.customerProfile`, ...): unknown and repeated keys are refused as serde refuses them
/// in a struct, so error messages and paths stay those of a derived struct.
impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for PerService<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Keys<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Default> serde::de::Visitor<'de> for Keys<T> {
            type Value = PerService<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("struct ServicesConfig")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = PerService::<T>::default();
                let mut seen = PerService::<bool>::default();
                while let Some(ServiceKey(service)) = map.next_key()? {
                    if std::mem::replace(&mut seen[service], true) {
                        return Err(serde::de::Error::duplicate_field(service.answer_key()));
                    }
                    out[service] = map.next_value()?;
                }
                Ok(out)
            }
        }
        deserializer.deserialize_map(Keys(std::marker::PhantomData))
    }
}

/// A key of `services`: refused while it is read, like a derived struct's field name, so the
/// error's path names it.
struct ServiceKey(Service);

impl<'de> Deserialize<'de> for ServiceKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = ServiceKey;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("field identifier")
            }

            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<ServiceKey, E> {
                Service::ALL
                    .into_iter()
                    .find(|s| s.answer_key() == key)
                    .map(ServiceKey)
                    .ok_or_else(|| E::unknown_field(key, &Service::ANSWER_KEYS))
            }
        }
        deserializer.deserialize_identifier(Name)
    }
}

/// The first services' values, in [`Service::ALL`] order; any service after them gets the
/// default, so code written for the services of its day (tests, benches) still builds when one
/// is added. More values than services fails the build.
impl<T: Default, const N: usize> From<[T; N]> for PerService<T> {
    fn from(values: [T; N]) -> Self {
        const { assert!(N <= Service::COUNT, "more values than services") };
        let mut out = PerService::<T>::default();
        for (s, v) in Service::ALL.into_iter().zip(values) {
            out[s] = v;
        }
        out
    }
}

impl<T> std::ops::Index<Service> for PerService<T> {
    type Output = T;

    // In bounds by construction: the array has `Service::COUNT` entries and `ordinal` is below
    // that (checked at compile time above).
    #[allow(clippy::indexing_slicing)]
    fn index(&self, s: Service) -> &T {
        &self.0[s.ordinal()]
    }
}

impl<T> std::ops::IndexMut<Service> for PerService<T> {
    #[allow(clippy::indexing_slicing)]
    fn index_mut(&mut self, s: Service) -> &mut T {
        &mut self.0[s.ordinal()]
    }
}

/// What a service returned, reduced to what the answer and the prompt need. Lists and the profile
/// stay as the upstream's raw JSON text so they are passed through without being rebuilt. Named
/// by shape, not by service: which service a value came from is where it is kept (a
/// [`PerService`]), so a new list service needs no variant of its own.
#[derive(Debug, Clone)]
pub enum ServiceData {
    Profile(Profile),
    List(Listing),
}

impl ServiceData {
    pub fn as_profile(&self) -> Option<&Profile> {
        match self {
            ServiceData::Profile(p) => Some(p),
            _ => None,
        }
    }

    pub fn as_listing(&self) -> Option<&Listing> {
        match self {
            ServiceData::List(l) => Some(l),
            ServiceData::Profile(_) => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Profile {
    /// The reply's JSON object as it came, without the whitespace around it: [`parse_reply`]
    /// checked it in the same pass that read the labels (a `Box<RawValue>` would cost a second
    /// pass over the record, on arrival and again after the privacy rules rewrote it).
    pub raw: Box<str>,
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
    // Read as the one type its first byte announces (a `Value` would allocate a tree for an
    // object or array that is then thrown away).
    let text = raw?.get();
    match text.as_bytes().first()? {
        b'"' => serde_json::from_str::<String>(text)
            .ok()
            .filter(|s| !s.is_empty()),
        b'-' | b'0'..=b'9' => serde_json::from_str::<serde_json::Number>(text)
            .ok()
            .map(|n| n.to_string()),
        b't' | b'f' => serde_json::from_str::<bool>(text)
            .ok()
            .map(|b| b.to_string()),
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
            let object = text.trim_matches(is_json_whitespace);
            if !object.starts_with('{') {
                // Not an object: valid JSON of another shape, or not JSON at all.
                return Err(match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                    Ok(_) => ReplyError::WrongShape,
                    Err(_) => ReplyError::NotJson,
                });
            }
            // One pass: reading the labels checks the whole text as JSON (every other member
            // is skipped by serde_json's validating `ignore_value`, and nothing may follow).
            let labelled: Labelled<'_> = from_json(object)?;
            let full_name = scalar_text(labelled.full_name);
            let segment = scalar_text(labelled.segment);
            Ok(ServiceData::Profile(Profile {
                raw: object.into(),
                full_name,
                segment,
            }))
        }
        Service::Orders => {
            let mut reply: OrdersReply = from_json(text)?;
            reply.items.truncate(max_items);
            let first_label = label_of(reply.items.first().map(|b| &**b), |l| l.order_number);
            Ok(ServiceData::List(Listing {
                items: reply.items,
                first_label,
            }))
        }
        Service::Tickets => {
            let mut reply: TicketsReply = from_json(text)?;
            reply.tickets.truncate(max_items);
            let first_label = label_of(reply.tickets.first().map(|b| &**b), |l| l.priority);
            Ok(ServiceData::List(Listing {
                items: reply.tickets,
                first_label,
            }))
        }
    }
}

/// The four characters JSON allows around a value.
fn is_json_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
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
    fn every_default_prompt_line_parses() {
        for s in Service::ALL {
            assert!(
                crate::template::PromptTemplate::parse(s.spec().prompt_line).is_ok(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn per_service_from_an_array_fills_the_first_services() {
        let p: PerService<u8> = [1, 2].into();
        assert_eq!(p[Service::Profile], 1);
        assert_eq!(p[Service::Orders], 2);
        assert_eq!(p[Service::Tickets], 0);
    }

    #[test]
    fn every_list_key_is_the_one_the_parser_reads() {
        for s in Service::ALL {
            let key = s.spec().list_key;
            let body = format!(r#"{{"{key}":[{{"a":1}}]}}"#);
            let parsed = parse_reply(s, body.as_bytes(), 1024, 5);
            if key.is_empty() {
                assert!(matches!(parsed, Ok(ServiceData::Profile(_))), "{s:?}");
            } else {
                assert!(
                    matches!(&parsed, Ok(ServiceData::List(l)) if l.items.len() == 1),
                    "{s:?}"
                );
            }
        }
    }

    #[test]
    fn per_service_reads_like_a_struct_of_optional_fields() {
        let p: PerService<Option<u8>> = serde_json::from_str(r#"{"recentOrders": 3}"#).unwrap();
        assert_eq!(p[Service::Orders], Some(3));
        assert_eq!(p[Service::Profile], None);
        let e = serde_json::from_str::<PerService<u8>>(r#"{"orders": 1}"#).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("unknown field `orders`, expected one of `customerProfile`, `recentOrders`, `openTickets`"),
            "{e}"
        );
        let e = serde_json::from_str::<PerService<u8>>(r#"{"openTickets": 1, "openTickets": 2}"#)
            .unwrap_err();
        assert!(
            e.to_string().starts_with("duplicate field `openTickets`"),
            "{e}"
        );
    }

    #[test]
    fn profile_keeps_raw_and_reads_labels() {
        let body = br#"{"fullName":"Elena Rostova","segment":"Premium","x":[1,2]}"#;
        let ServiceData::Profile(p) = parse_reply(Service::Profile, body, 1024, 5).unwrap() else {
            panic!("not a profile")
        };
        assert_eq!(p.full_name.as_deref(), Some("Elena Rostova"));
        assert_eq!(p.segment.as_deref(), Some("Premium"));
        assert_eq!(&*p.raw, std::str::from_utf8(body).unwrap());
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
    fn scalar_labels_read_as_their_json_form() {
        let label = |v: &str| {
            let body = format!(r#"{{"fullName":{v}}}"#);
            match parse_reply(Service::Profile, body.as_bytes(), 1024, 5) {
                Ok(ServiceData::Profile(p)) => p.full_name,
                _ => panic!("{body}"),
            }
        };
        assert_eq!(label(r#""El\u00e9na""#).as_deref(), Some("Eléna"));
        assert_eq!(label("1.50").as_deref(), Some("1.5"));
        assert_eq!(label("-7").as_deref(), Some("-7"));
        assert_eq!(label("1e2").as_deref(), Some("100.0"));
        assert_eq!(label("true").as_deref(), Some("true"));
        assert_eq!(label("false").as_deref(), Some("false"));
        assert_eq!(label("[1]"), None);
        // Beyond f64: no label rather than a wrong one.
        assert_eq!(label("1e400"), None);
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
        // The one pass that reads the labels is the whole check: what it must still refuse.
        for (body, want) in [
            (&b" 5 "[..], ReplyError::WrongShape),
            (b"\"x\"", ReplyError::WrongShape),
            (b"[1", ReplyError::NotJson),
            (b"", ReplyError::NotJson),
            (br#"{"a":1} x"#, ReplyError::NotJson),
            (br#"{"a":1}{}"#, ReplyError::NotJson),
            (br#"{"a":[1,}"#, ReplyError::NotJson),
            (br#"{"a":"\q"}"#, ReplyError::NotJson),
            (b"{\"a\":\"\x01\"}", ReplyError::NotJson),
            (
                br#"{"fullName":"a","fullName":"b"}"#,
                ReplyError::WrongShape,
            ),
        ] {
            assert_eq!(
                parse_reply(Service::Profile, body, 1024, 5).err(),
                Some(want),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        // Whitespace around the object is not part of the record.
        let Ok(ServiceData::Profile(p)) =
            parse_reply(Service::Profile, b" \r\n\t{\"a\": [ 1 ]} \n", 1024, 5)
        else {
            panic!("a profile");
        };
        assert_eq!(&*p.raw, r#"{"a": [ 1 ]}"#);
    }

    #[test]
    fn orders_truncated_and_first_number_read() {
        let body = br#"{"items":[{"orderNumber":"A1"},{"orderNumber":"A2"},{"orderNumber":"A3"}],"total":3}"#;
        let ServiceData::List(l) = parse_reply(Service::Orders, body, 1024, 2).unwrap() else {
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
        let ServiceData::List(l) = parse_reply(
            Service::Tickets,
            br#"{"tickets":[{"priority":"High"},7]}"#,
            1024,
            5,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(l.first_label.as_deref(), Some("High"));
        let ServiceData::List(l) =
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
        let ServiceData::List(l) = parse_reply(Service::Tickets, body, 1024, 5).unwrap() else {
            panic!()
        };
        let items: Vec<&str> = l.items.iter().map(|i| i.get()).collect();
        assert_eq!(items, [r#"{"priority" : 1e400}"#, "[18E33333333333333300]"]);
        // The label is read through serde_json, which refuses the number: no label, no failure.
        assert_eq!(l.first_label, None);
        assert!(parse_reply(Service::Tickets, br#"{"tickets":[1e]}"#, 1024, 5).is_err());
    }
}
