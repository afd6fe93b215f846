//! Every limit, end to end: the request body's size (with and without Content-Length) and
//! nesting, and the upstream replies' size and list lengths, shipped and configured.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::*;

/// Sends `body` with chunked transfer encoding (no Content-Length, so only the filter's running
/// count can stop it) and returns the status line's code.
fn post_chunked(envoy: &Envoy, body: &[u8], chunk: usize) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", envoy.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST {ENRICH_PATH} HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer {WEBHOOK_TOKEN}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    .unwrap();
    for part in body.chunks(chunk) {
        // The filter may answer and Envoy close the stream before the client has sent it all.
        if write!(s, "{:x}\r\n", part.len()).is_err()
            || s.write_all(part).is_err()
            || s.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n");
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    let line = String::from_utf8_lossy(&head).into_owned();
    line[9..12]
        .parse()
        .unwrap_or_else(|_| panic!("status line {line:?}"))
}

#[test]
fn request_body_size_and_nesting_limits() {
    let (mocks, envoy) = stack(r#"{"deadlineMs": 4500, "limits": {"maxBodyBytes": 4096}}"#);
    let agent = agent();
    let padded = |len: usize| {
        let base = r#"{"sessionId":"s","customerNumber":"CUST-992847","intent":"x","variables":{"pad":""}}"#;
        let pad = "x".repeat(len - base.len());
        base.replace(r#""pad":"""#, &format!(r#""pad":"{pad}""#))
    };
    let at_limit = padded(4096);
    assert_eq!(at_limit.len(), 4096);
    let r = enrich(&agent, &envoy, &at_limit);
    assert_eq!(
        r.status, 200,
        "a body of exactly the limit is fine: {}",
        r.body
    );
    let r = enrich(&agent, &envoy, &padded(4097));
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.detail(), "Request body exceeds 4096 bytes");
    // Without a Content-Length the running count stops it, however it is chunked.
    assert_eq!(post_chunked(&envoy, padded(4096).as_bytes(), 1000), 200);
    assert_eq!(post_chunked(&envoy, padded(4097).as_bytes(), 1000), 413);
    assert_eq!(post_chunked(&envoy, &vec![b' '; 1 << 20], 64 * 1024), 413);

    // Nesting: the object itself is level 1, `variables` level 2.
    let nested = |levels: usize| {
        format!(
            r#"{{"sessionId":"s","customerNumber":"CUST-992847","intent":"x","variables":{{"n":{}1{}}}}}"#,
            "[".repeat(levels - 2),
            "]".repeat(levels - 2)
        )
    };
    let r = enrich(&agent, &envoy, &nested(32));
    assert_eq!(r.status, 200, "32 levels are allowed: {}", r.body);
    let r = enrich(&agent, &envoy, &nested(33));
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["errors"][0]["type"], "json_invalid");
    assert!(r.json()["errors"][0]["msg"]
        .as_str()
        .unwrap()
        .contains("nested deeper than 32"));
    let r = enrich(&agent, &envoy, &"[".repeat(4000));
    assert_eq!(r.status, 422);
    assert_eq!(mocks.request_count(Service::Profile), 3);
}

fn big_orders(n: usize) -> Vec<u8> {
    let items: Vec<_> = (0..n)
        .map(|i| serde_json::json!({"orderNumber": format!("ORD-{i}"), "status": "shipped"}))
        .collect();
    serde_json::json!({ "items": items, "total": n })
        .to_string()
        .into_bytes()
}

#[test]
fn upstream_reply_size_and_list_limits() {
    let (mocks, envoy) = stack(r#"{"deadlineMs": 4500}"#);
    let agent = agent();
    // Over the default 1 MiB: an upstream error, never buffered into the answer.
    let mut huge = br#"{"customerId":"CUST-992847","fullName":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'x', (1 << 20) + 1));
    huge.extend_from_slice(br#""}"#);
    mocks.push_fault(
        Service::Profile,
        Fault::Body {
            status: 200,
            body: huge,
        },
    );
    let r = enrich(&agent, &envoy, ELENA);
    assert_eq!(r.status, 502, "{}", &r.body[..r.body.len().min(300)]);
    assert!(
        r.detail().contains("customer profile service"),
        "{}",
        r.body
    );
    assert!(r.body.len() < 1000);
    // An optional service's oversized reply degrades the answer instead.
    mocks.push_fault(
        Service::Orders,
        Fault::Body {
            status: 200,
            body: big_orders(30_000),
        },
    );
    let r = enrich(&agent, &envoy, ELENA);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["degraded"], serde_json::json!(["recentOrders"]));
    assert_eq!(r.json()["recentOrders"], serde_json::json!([]));
    // The default keeps 50 items.
    mocks.push_fault(
        Service::Orders,
        Fault::Body {
            status: 200,
            body: big_orders(80),
        },
    );
    let r = enrich(&agent, &envoy, ELENA);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["recentOrders"].as_array().unwrap().len(), 50);
    assert_eq!(v["recentOrders"][0]["orderNumber"], "ORD-0");
    assert!(v["enrichedPromptContext"]
        .as_str()
        .unwrap()
        .contains("Recent Orders: 50 items. Last order: ORD-0"));
}

#[test]
fn configured_upstream_and_list_limits() {
    let (mocks, envoy) = stack(
        r#"{"deadlineMs": 4500, "limits": {"maxUpstreamBodyBytes": 1024, "maxListItems": 3}}"#,
    );
    let agent = agent();
    // Valid JSON, padded with whitespace to just over 1 KiB: the size alone refuses it.
    let mut padded_tickets = br#"{"tickets":[]}"#.to_vec();
    padded_tickets.resize(1025, b' ');
    mocks.push_fault(
        Service::Tickets,
        Fault::Body {
            status: 200,
            body: padded_tickets,
        },
    );
    mocks.push_fault(
        Service::Orders,
        Fault::Body {
            status: 200,
            body: big_orders(7),
        },
    );
    let r = enrich(&agent, &envoy, ELENA);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["degraded"], serde_json::json!(["openTickets"]), "{v}");
    let orders = v["recentOrders"].as_array().unwrap();
    assert_eq!(orders.len(), 3, "{v}");
    assert_eq!(
        orders
            .iter()
            .map(|o| o["orderNumber"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["ORD-0", "ORD-1", "ORD-2"]
    );
    // The profile (well under 1 KiB) is unaffected.
    assert_eq!(v["customerProfile"]["fullName"], "Elena Rostova");
}
