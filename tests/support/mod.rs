//! End-to-end harness: the release `.wasm` in a real Envoy (the demo bootstrap, re-pointed at
//! in-process mock upstreams on free ports), and a small blocking HTTP client.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod ecds;
pub mod envoy;
pub mod golden;
pub mod load;
pub mod production;
pub mod trap;

pub use envoy::{Envoy, EnvoyOptions};
#[allow(unused_imports)]
pub use mock_upstreams::{Fault, MockConfig, Mocks, Service};

use std::time::Duration;

pub const WEBHOOK_TOKEN: &str = "demo-webhook-token";
pub const ENRICH_PATH: &str = "/api/v1/agent-assist/enrich";
pub const ELENA: &str = r#"{"sessionId":"sess-1","customerNumber":"CUST-992847","intent":"order_status","variables":{"channel":"voice"}}"#;

/// The demo customer's answer as the demo configuration gives it (default privacy masks on).
pub fn elena_expected() -> serde_json::Value {
    serde_json::json!({
        "customerProfile": {
            "customerId": "CUST-992847", "fullName": "Elena Rostova", "segment": "Premium",
            // Masked by the default privacy rules (a deliberate change: see README "Privacy").
            "email": "e***@example.com", "phone": "+** ** **** **34", "language": "de-DE",
            "accountStatus": "active", "customerSince": "2019-03-14", "loyaltyTier": "Gold"
        },
        "recentOrders": [{
            "orderNumber": "ORD-2024-88412", "status": "shipped", "total": 249.90, "currency": "EUR",
            "createdAt": "2024-11-02T10:15:00Z",
            "items": [{"sku": "HDP-220", "name": "Wireless Headphones", "quantity": 1}]
        }],
        "openTickets": [{
            "ticketId": "TCK-55102", "subject": "Delivery delayed", "priority": "High", "status": "open",
            "createdAt": "2024-11-05T08:30:00Z"
        }],
        "enrichedPromptContext": "Customer: Elena Rostova | Segment: Premium\nRecent Orders: 1 items. Last order: ORD-2024-88412\nOpen Tickets: 1 active cases. Priority: High"
    })
}

/// [`elena_expected`] with masking off: the services' records as they are.
pub fn elena_unmasked() -> serde_json::Value {
    let mut v = elena_expected();
    v["customerProfile"]["email"] = "elena.rostova@example.com".into();
    v["customerProfile"]["phone"] = "+49 30 5550 1234".into();
    v
}

/// A response as the test sees it.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub fn detail(&self) -> String {
        self.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
}

fn to_resp(r: ureq::Response) -> Resp {
    let status = r.status();
    let headers = r
        .headers_names()
        .into_iter()
        .map(|n| {
            let v = r.header(&n).unwrap_or_default().to_owned();
            (n, v)
        })
        .collect();
    let body = r.into_string().unwrap_or_default();
    Resp {
        status,
        headers,
        body,
    }
}

/// Sends a request; any status is a `Resp`, only transport failures panic.
pub fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Resp {
    let mut req = agent.request(method, url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let result = match body {
        Some(b) => req.send_bytes(b),
        None => req.call(),
    };
    match result {
        Ok(r) => to_resp(r),
        Err(ureq::Error::Status(_, r)) => to_resp(r),
        Err(e) => panic!("{method} {url}: {e}"),
    }
}

/// POSTs an enrich payload with the demo webhook token.
pub fn enrich(agent: &ureq::Agent, envoy: &Envoy, body: &str) -> Resp {
    send(
        agent,
        "POST",
        &envoy.url(ENRICH_PATH),
        &[
            ("authorization", &format!("Bearer {WEBHOOK_TOKEN}")),
            ("content-type", "application/json"),
        ],
        Some(body.as_bytes()),
    )
}

/// POSTs an enrich payload with the demo webhook token and the given `x-request-id`.
pub fn enrich_with_id(agent: &ureq::Agent, envoy: &Envoy, body: &str, id: &str) -> Resp {
    enrich_bytes_with_id(agent, envoy, body.as_bytes(), id)
}

/// [`enrich_with_id`] for a body that need not be text (a malformed body, say).
pub fn enrich_bytes_with_id(agent: &ureq::Agent, envoy: &Envoy, body: &[u8], id: &str) -> Resp {
    send(
        agent,
        "POST",
        &envoy.url(ENRICH_PATH),
        &[
            ("authorization", &format!("Bearer {WEBHOOK_TOKEN}")),
            ("content-type", "application/json"),
            ("x-request-id", id),
        ],
        Some(body),
    )
}

pub fn payload(customer: &str) -> String {
    serde_json::json!({"sessionId": "sess-1", "customerNumber": customer, "intent": "order_status"})
        .to_string()
}

/// Mocks and an Envoy in front of them with the given plugin configuration.
pub fn stack(plugin_config: &str) -> (Mocks, Envoy) {
    stack_with(MockConfig::default(), plugin_config)
}

/// Mocks with `cfg` and an Envoy with `plugin_config` in front of them.
pub fn stack_with(cfg: MockConfig, plugin_config: &str) -> (Mocks, Envoy) {
    let mocks = Mocks::start(cfg).expect("mock upstreams start");
    let envoy = Envoy::start(
        &mocks,
        EnvoyOptions {
            plugin_config: plugin_config.to_owned(),
            ..EnvoyOptions::default()
        },
    );
    (mocks, envoy)
}
