//! The profile, orders and CRM endpoints.
//!
//! Replies that never vary (profiles, open tickets) are serialised once up
//! front so the benchmark measures the filter, not the mock's JSON encoder.

use std::collections::HashMap;
use std::sync::OnceLock;

use hyper::body::Bytes;
use hyper::{HeaderMap, Method, StatusCode};
use serde::Serialize;

use crate::data::{dataset, Customer, Order, Ticket};
use crate::reply::{self, Reply};
use crate::token::{bearer, TokenStore};
use crate::{urlencoded, Service};

const PROFILE_PREFIX: &str = "/api/v1/customers/";
const ORDERS_PATH: &str = "/api/v1/orders";
const TICKETS_PATH: &str = "/api/v1/crm/tickets";

/// Orders returned when the caller gives no `limit`.
const DEFAULT_ORDER_LIMIT: usize = 10;
/// Upper bound on `limit`, as a real paging API would enforce.
const MAX_ORDER_LIMIT: usize = 100;

struct Prepared {
    customer: &'static Customer,
    profile: Bytes,
    open_tickets: Bytes,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrdersPage<'a> {
    customer_id: &'a str,
    items: Vec<&'a Order>,
    total: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TicketList<'a> {
    customer_id: &'a str,
    tickets: Vec<&'a Ticket>,
}

fn catalog() -> &'static HashMap<&'static str, Prepared> {
    static CATALOG: OnceLock<HashMap<&'static str, Prepared>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        dataset()
            .customers
            .iter()
            .map(|customer| {
                let prepared = Prepared {
                    customer,
                    profile: to_bytes(&customer.profile),
                    open_tickets: to_bytes(&TicketList {
                        customer_id: customer.id(),
                        tickets: customer.open_tickets().collect(),
                    }),
                };
                (customer.id(), prepared)
            })
            .collect()
    })
}

/// Serialises a data-set value. Plain structs of strings and numbers cannot
/// fail to encode, so the empty fallback is unreachable in practice.
fn to_bytes<T: Serialize>(value: &T) -> Bytes {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .unwrap_or_default()
}

/// Handles a request to one of the data services (not the token service).
pub fn handle(
    service: Service,
    tokens: &TokenStore,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
) -> Reply {
    let known = match service {
        Service::Profile => path
            .strip_prefix(PROFILE_PREFIX)
            .is_some_and(|id| !id.is_empty() && !id.contains('/')),
        Service::Orders => path == ORDERS_PATH,
        Service::Tickets => path == TICKETS_PATH,
        Service::Token => false,
    };
    if !known {
        return reply::not_found();
    }
    if method != Method::GET {
        return reply::method_not_allowed("GET");
    }
    if !bearer(headers).is_some_and(|token| tokens.is_valid(token)) {
        return reply::invalid_token();
    }
    match service {
        Service::Profile => profile(path.get(PROFILE_PREFIX.len()..).unwrap_or_default()),
        Service::Orders => orders(query),
        Service::Tickets => tickets(query),
        Service::Token => reply::not_found(),
    }
}

fn profile(raw_id: &str) -> Reply {
    let id = urlencoded::decode(raw_id, false);
    match catalog().get(id.as_str()) {
        Some(prepared) => reply::json(StatusCode::OK, prepared.profile.clone()),
        None => reply::error(StatusCode::NOT_FOUND, r#"{"detail":"Customer not found"}"#),
    }
}

fn orders(query: &str) -> Reply {
    let Some(customer_id) = urlencoded::query_param(query, "customerId") else {
        return reply::bad_request("customerId is required");
    };
    let limit = match urlencoded::query_param(query, "limit") {
        None => DEFAULT_ORDER_LIMIT,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) => n.min(MAX_ORDER_LIMIT),
            Err(_) => return reply::bad_request("limit must be a non-negative integer"),
        },
    };
    let newest_first = match urlencoded::query_param(query, "sort").as_deref() {
        None | Some("createdDesc") => true,
        Some("createdAsc") => false,
        Some(_) => return reply::bad_request("sort must be createdDesc or createdAsc"),
    };
    let all: &[Order] = catalog()
        .get(customer_id.as_str())
        .map_or(&[], |p| p.customer.orders.as_slice());
    let items: Vec<&Order> = if newest_first {
        all.iter().take(limit).collect()
    } else {
        all.iter().rev().take(limit).collect()
    };
    let page = OrdersPage {
        customer_id: &customer_id,
        items,
        total: all.len(),
    };
    reply::json(StatusCode::OK, to_bytes(&page))
}

fn tickets(query: &str) -> Reply {
    let Some(customer_id) = urlencoded::query_param(query, "customerId") else {
        return reply::bad_request("customerId is required");
    };
    let status = urlencoded::query_param(query, "status");
    let prepared = catalog().get(customer_id.as_str());
    if let (Some(prepared), Some("open")) = (prepared, status.as_deref()) {
        return reply::json(StatusCode::OK, prepared.open_tickets.clone());
    }
    let tickets = prepared
        .map(|p| {
            p.customer
                .tickets
                .iter()
                .filter(|t| status.as_deref().map_or(true, |s| t.status == s))
                .collect()
        })
        .unwrap_or_default();
    let list = TicketList {
        customer_id: &customer_id,
        tickets,
    };
    reply::json(StatusCode::OK, to_bytes(&list))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn body(reply: &Reply) -> Value {
        serde_json::from_slice(&reply.body).unwrap()
    }

    #[test]
    fn orders_respect_limit_sort_and_total() {
        let r = orders("customerId=CUST-100003&limit=2&sort=createdDesc");
        let v = body(&r);
        assert_eq!(v["total"], 5);
        assert_eq!(v["items"].as_array().unwrap().len(), 2);
        assert_eq!(v["items"][0]["orderNumber"], "ORD-2024-93001");
        let asc = body(&orders("customerId=CUST-100003&limit=1&sort=createdAsc"));
        assert_eq!(asc["items"][0]["orderNumber"], "ORD-2024-51007");
        let unknown = body(&orders("customerId=CUST-000000&limit=3"));
        assert_eq!(unknown["items"], serde_json::json!([]));
        assert_eq!(unknown["total"], 0);
        assert_eq!(orders("limit=3").status, StatusCode::BAD_REQUEST);
        assert_eq!(
            orders("customerId=x&limit=-1").status,
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn tickets_filter_on_status() {
        let open = body(&tickets("customerId=CUST-100003&status=open"));
        assert_eq!(open["tickets"].as_array().unwrap().len(), 1);
        let all = body(&tickets("customerId=CUST-100003"));
        assert_eq!(all["tickets"].as_array().unwrap().len(), 2);
        let closed = body(&tickets("customerId=CUST-100003&status=closed"));
        assert_eq!(closed["tickets"][0]["ticketId"], "TCK-58840");
    }

    #[test]
    fn profile_decodes_the_id() {
        assert_eq!(profile("CUST%2D992847").status, StatusCode::OK);
        assert_eq!(profile("CUST-404").status, StatusCode::NOT_FOUND);
    }
}
