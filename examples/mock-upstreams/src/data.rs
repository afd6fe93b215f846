//! The fixed customer data set served by the profile, orders and CRM mocks.
//!
//! The records are public so tests can assert the filter's enrichment against
//! the same values the mocks answered with, instead of duplicating literals.

use std::sync::OnceLock;

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

/// The customer the demo and most end-to-end tests use.
pub const DEMO_CUSTOMER_ID: &str = "CUST-992847";

/// A customer profile as returned by `GET /api/v1/customers/{id}`.
///
/// Optional fields are omitted from the JSON when `None`, so tests can
/// exercise the filter's handling of sparse profiles.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// Customer identifier, e.g. `CUST-992847`.
    pub customer_id: String,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// Commercial segment, e.g. `Premium`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// Contact e-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Contact phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Preferred language as a BCP 47 tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Account state, e.g. `active` or `suspended`.
    pub account_status: String,
    /// Date the customer relationship started (`YYYY-MM-DD`).
    pub customer_since: String,
    /// Loyalty programme tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loyalty_tier: Option<String>,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderItem {
    /// Stock keeping unit.
    pub sku: String,
    /// Product name.
    pub name: String,
    /// Units ordered.
    pub quantity: u32,
}

/// An order as listed by `GET /api/v1/orders`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// Human-facing order number.
    pub order_number: String,
    /// Fulfilment state, e.g. `shipped`.
    pub status: String,
    /// Order total; serialised with exactly two decimals, as a shop API would.
    #[serde(serialize_with = "money")]
    pub total: f64,
    /// ISO 4217 currency code.
    pub currency: String,
    /// Creation time, RFC 3339 in UTC; orders sort on it.
    pub created_at: String,
    /// Order lines.
    pub items: Vec<OrderItem>,
}

/// A support ticket as listed by `GET /api/v1/crm/tickets`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    /// Ticket identifier.
    pub ticket_id: String,
    /// Short description.
    pub subject: String,
    /// `Low`, `Medium`, `High` or `Urgent`.
    pub priority: String,
    /// `open`, `pending` or `closed`.
    pub status: String,
    /// Creation time, RFC 3339 in UTC.
    pub created_at: String,
}

/// Everything the mocks know about one customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    /// The profile served by the profile mock.
    pub profile: Profile,
    /// All orders, newest first (the order the orders mock answers in).
    pub orders: Vec<Order>,
    /// All tickets in the order the CRM mock lists them, whatever their status.
    pub tickets: Vec<Ticket>,
}

impl Customer {
    /// The customer's identifier.
    pub fn id(&self) -> &str {
        &self.profile.customer_id
    }

    /// The tickets the CRM mock returns for `status=open`, in listing order.
    pub fn open_tickets(&self) -> impl Iterator<Item = &Ticket> {
        self.tickets.iter().filter(|t| t.status == "open")
    }
}

/// The whole data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Every known customer.
    pub customers: Vec<Customer>,
}

impl Dataset {
    /// Looks a customer up by exact identifier.
    pub fn customer(&self, id: &str) -> Option<&Customer> {
        self.customers.iter().find(|c| c.id() == id)
    }
}

/// The data set every mock instance serves. Built once, never changes.
pub fn dataset() -> &'static Dataset {
    static DATASET: OnceLock<Dataset> = OnceLock::new();
    DATASET.get_or_init(build)
}

fn money<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    match RawValue::from_string(format!("{value:.2}")) {
        Ok(raw) => raw.serialize(serializer),
        Err(_) => serializer.serialize_f64(*value),
    }
}

fn s(text: &str) -> String {
    text.to_owned()
}

fn some(text: &str) -> Option<String> {
    Some(text.to_owned())
}

fn item(sku: &str, name: &str, quantity: u32) -> OrderItem {
    OrderItem {
        sku: s(sku),
        name: s(name),
        quantity,
    }
}

fn order(
    number: &str,
    status: &str,
    total: f64,
    currency: &str,
    created_at: &str,
    items: Vec<OrderItem>,
) -> Order {
    Order {
        order_number: s(number),
        status: s(status),
        total,
        currency: s(currency),
        created_at: s(created_at),
        items,
    }
}

fn ticket(id: &str, subject: &str, priority: &str, status: &str, created_at: &str) -> Ticket {
    Ticket {
        ticket_id: s(id),
        subject: s(subject),
        priority: s(priority),
        status: s(status),
        created_at: s(created_at),
    }
}

fn build() -> Dataset {
    let mut customers = vec![
        Customer {
            profile: Profile {
                customer_id: s(DEMO_CUSTOMER_ID),
                full_name: some("Elena Rostova"),
                segment: some("Premium"),
                email: some("elena.rostova@example.com"),
                phone: some("+49 30 5550 1234"),
                language: some("de-DE"),
                account_status: s("active"),
                customer_since: s("2019-03-14"),
                loyalty_tier: some("Gold"),
            },
            orders: vec![order(
                "ORD-2024-88412",
                "shipped",
                249.90,
                "EUR",
                "2024-11-02T10:15:00Z",
                vec![item("HDP-220", "Wireless Headphones", 1)],
            )],
            tickets: vec![ticket(
                "TCK-55102",
                "Delivery delayed",
                "High",
                "open",
                "2024-11-05T08:30:00Z",
            )],
        },
        Customer {
            profile: Profile {
                customer_id: s("CUST-100001"),
                full_name: None,
                segment: None,
                email: some("new.customer@example.com"),
                phone: None,
                language: some("en-US"),
                account_status: s("active"),
                customer_since: s("2024-10-28"),
                loyalty_tier: None,
            },
            orders: Vec::new(),
            tickets: Vec::new(),
        },
        Customer {
            profile: Profile {
                customer_id: s("CUST-100002"),
                full_name: some("Marcus Webb"),
                segment: some("Standard"),
                email: some("marcus.webb@example.com"),
                phone: some("+44 20 7946 0321"),
                language: some("en-GB"),
                account_status: s("active"),
                customer_since: s("2021-07-02"),
                loyalty_tier: some("Silver"),
            },
            orders: vec![
                order(
                    "ORD-2024-90117",
                    "processing",
                    89.00,
                    "GBP",
                    "2024-11-20T16:42:00Z",
                    vec![item("CBL-USB-C2", "USB-C Cable 2m", 3)],
                ),
                order(
                    "ORD-2024-71230",
                    "delivered",
                    1299.00,
                    "GBP",
                    "2024-08-14T09:05:00Z",
                    vec![
                        item("LTP-14-PRO", "14\" Laptop Pro", 1),
                        item("SLV-14", "Laptop Sleeve", 1),
                    ],
                ),
                order(
                    "ORD-2023-40988",
                    "returned",
                    45.50,
                    "GBP",
                    "2023-12-01T12:00:00Z",
                    vec![item("MSE-W1", "Wireless Mouse", 1)],
                ),
            ],
            tickets: vec![
                ticket(
                    "TCK-60311",
                    "Invoice address change",
                    "Low",
                    "open",
                    "2024-11-21T10:00:00Z",
                ),
                ticket(
                    "TCK-60287",
                    "Order not dispatched",
                    "Medium",
                    "open",
                    "2024-11-20T18:15:00Z",
                ),
            ],
        },
        Customer {
            profile: Profile {
                customer_id: s("CUST-100003"),
                full_name: some("Aiko Tanaka"),
                segment: some("Business"),
                email: some("a.tanaka@example.co.jp"),
                phone: some("+81 3 5550 8890"),
                language: some("ja-JP"),
                account_status: s("active"),
                customer_since: s("2017-01-09"),
                loyalty_tier: some("Platinum"),
            },
            orders: vec![
                order(
                    "ORD-2024-93001",
                    "shipped",
                    18400.00,
                    "JPY",
                    "2024-11-25T02:30:00Z",
                    vec![item("TNR-BK-45", "Toner Cartridge Black", 4)],
                ),
                order(
                    "ORD-2024-88950",
                    "delivered",
                    52800.00,
                    "JPY",
                    "2024-11-04T01:10:00Z",
                    vec![item("MON-27-4K", "27\" 4K Monitor", 1)],
                ),
                order(
                    "ORD-2024-80220",
                    "delivered",
                    9900.00,
                    "JPY",
                    "2024-09-30T05:45:00Z",
                    vec![item("KBD-JP-01", "Keyboard (JIS)", 2)],
                ),
                order(
                    "ORD-2024-66012",
                    "cancelled",
                    3300.00,
                    "JPY",
                    "2024-06-17T07:20:00Z",
                    vec![item("PAD-A4", "A4 Notepad (10-pack)", 1)],
                ),
                order(
                    "ORD-2024-51007",
                    "delivered",
                    121000.00,
                    "JPY",
                    "2024-03-08T03:00:00Z",
                    vec![item("DSK-STAND-E", "Electric Standing Desk", 1)],
                ),
            ],
            tickets: vec![
                ticket(
                    "TCK-61002",
                    "Bulk discount request",
                    "Medium",
                    "open",
                    "2024-11-26T00:40:00Z",
                ),
                ticket(
                    "TCK-58840",
                    "Damaged monitor stand",
                    "High",
                    "closed",
                    "2024-11-06T03:12:00Z",
                ),
            ],
        },
        Customer {
            profile: Profile {
                customer_id: s("CUST-100004"),
                full_name: some("José Álvarez-Núñez"),
                segment: some("Premium"),
                email: some("jose.alvarez@example.es"),
                phone: some("+34 91 555 0147"),
                language: some("es-ES"),
                account_status: s("suspended"),
                customer_since: s("2020-05-22"),
                loyalty_tier: some("Gold"),
            },
            orders: vec![order(
                "ORD-2024-77001",
                "payment_failed",
                310.00,
                "EUR",
                "2024-10-11T19:30:00Z",
                vec![item("ESP-BAR-2", "Espresso Machine \"Barista 2\"", 1)],
            )],
            tickets: vec![ticket(
                "TCK-57230",
                "Account suspended – payment",
                "Urgent",
                "open",
                "2024-10-12T08:00:00Z",
            )],
        },
    ];
    for customer in &mut customers {
        customer
            .orders
            .sort_by(|a, b| b.created_at.cmp(&a.created_at));
    }
    Dataset { customers }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_customer_matches_the_contract() {
        let c = dataset().customer(DEMO_CUSTOMER_ID).unwrap();
        let json = serde_json::to_string(&c.profile).unwrap();
        assert_eq!(
            json,
            r#"{"customerId":"CUST-992847","fullName":"Elena Rostova","segment":"Premium","email":"elena.rostova@example.com","phone":"+49 30 5550 1234","language":"de-DE","accountStatus":"active","customerSince":"2019-03-14","loyaltyTier":"Gold"}"#
        );
        let order = serde_json::to_string(&c.orders).unwrap();
        assert_eq!(
            order,
            r#"[{"orderNumber":"ORD-2024-88412","status":"shipped","total":249.90,"currency":"EUR","createdAt":"2024-11-02T10:15:00Z","items":[{"sku":"HDP-220","name":"Wireless Headphones","quantity":1}]}]"#
        );
        assert_eq!(c.open_tickets().count(), 1);
    }

    #[test]
    fn orders_are_newest_first_and_ids_unique() {
        let data = dataset();
        for c in &data.customers {
            assert!(c
                .orders
                .windows(2)
                .all(|w| w[0].created_at >= w[1].created_at));
            assert_eq!(
                data.customers.iter().filter(|o| o.id() == c.id()).count(),
                1
            );
        }
    }

    #[test]
    fn sparse_profile_omits_missing_fields() {
        let c = dataset().customer("CUST-100001").unwrap();
        let v: serde_json::Value = serde_json::to_value(&c.profile).unwrap();
        assert!(v.get("fullName").is_none());
        assert!(v.get("segment").is_none());
        assert!(c.orders.is_empty() && c.tickets.is_empty());
    }
}
