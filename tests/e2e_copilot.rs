//! Agent Copilot tiles, end to end: the release filter in a real Envoy, with the demo's plugin
//! configuration (copilot on), in front of the mocks. The answer's `card` is checked by
//! Microsoft's own `adaptivecards` parser, validator and HTML renderer under Node
//! (tests/copilot/check-card.cjs, installed by `scripts/install-tools.sh copilot`): the card must
//! parse for version 1.5 without warnings, validate clean, show the customer's name and every
//! ticket subject, and hold no link even when upstream text is hostile markdown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::PathBuf;
use std::process::Command;

use mock_upstreams::dataset;
use support::envoy::{repo_root, DEMO_PLUGIN_CONFIG};
use support::*;

/// Runs the Node check on `answer` (the enrich body as received) with the texts the render must
/// show; returns the check's JSON summary. Panics with the check's own explanation on failure.
fn check_card(name: &str, answer: &str, expect: &[&str]) -> serde_json::Value {
    let dir = repo_root().join("tests/copilot");
    assert!(
        dir.join("node_modules/adaptivecards").exists(),
        "tests/copilot/node_modules missing: run `scripts/install-tools.sh copilot` (make test does)"
    );
    let file: PathBuf =
        std::env::temp_dir().join(format!("e2e-copilot-{}-{name}.json", std::process::id()));
    std::fs::write(&file, answer).unwrap();
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("check-card.cjs")).arg(&file);
    for e in expect {
        cmd.arg("--expect").arg(e);
    }
    let out = cmd
        .output()
        .expect("node runs (scripts/install-tools.sh copilot)");
    let _ = std::fs::remove_file(&file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{name}: Adaptive Card check failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("{name}: no JSON summary ({e}): {stdout}\n{stderr}");
    });
    assert_eq!(summary["parseEvents"], 0, "{summary}");
    assert_eq!(summary["validationEvents"], 0, "{summary}");
    assert_eq!(summary["links"], 0, "{summary}");
    assert_eq!(summary["expected"], expect.len(), "{summary}");
    summary
}

fn fault_200(body: serde_json::Value) -> Fault {
    Fault::Status {
        status: 200,
        headers: Vec::new(),
        body: body.to_string(),
    }
}

#[test]
fn tiles_from_the_real_answer_pass_microsofts_renderer() {
    let (_mocks, envoy) = stack(DEMO_PLUGIN_CONFIG);
    let agent = agent();

    // Identity: the configured rows in order, values as the profile service sent them.
    let elena = dataset().customer("CUST-992847").unwrap();
    let r = enrich(&agent, &envoy, &payload(elena.id()));
    assert_eq!(r.status, 200, "{}", r.body);
    let p = &elena.profile;
    let identity = serde_json::json!({
        "Name": p.full_name, "Segment": p.segment, "Customer ID": p.customer_id,
        "Status": p.account_status, "Customer since": p.customer_since,
    });
    assert_eq!(r.json()["identity"], identity);
    assert!(
        r.body.contains(&format!(
            r#""identity":{{"Name":{},"Segment":{},"Customer ID":{},"Status":{},"Customer since":{}}}"#,
            identity["Name"], identity["Segment"], identity["Customer ID"], identity["Status"],
            identity["Customer since"]
        )),
        "rows in the configured order: {}",
        r.body
    );
    // The four keys are still there, unchanged by the tiles.
    assert_eq!(r.json()["openTickets"][0]["subject"], "Delivery delayed");

    // Card: a customer with several orders and tickets, checked by the renderer.
    let marcus = dataset().customer("CUST-100002").unwrap();
    let r = enrich(&agent, &envoy, &payload(marcus.id()));
    assert_eq!(r.status, 200, "{}", r.body);
    let name = marcus.profile.full_name.as_deref().unwrap();
    let subjects: Vec<&str> = marcus.open_tickets().map(|t| t.subject.as_str()).collect();
    assert!(subjects.len() >= 2);
    let mut expect = vec![name];
    expect.extend(&subjects);
    expect.push(&marcus.orders[0].order_number);
    check_card("marcus", &r.body, &expect);

    // At most maxCardItems (3 by default) orders, newest first.
    let aiko = dataset().customer("CUST-100003").unwrap();
    assert!(aiko.orders.len() > 3);
    let r = enrich(&agent, &envoy, &payload(aiko.id()));
    let card = r.json()["card"].to_string();
    for (i, order) in aiko.orders.iter().enumerate() {
        assert_eq!(card.contains(&order.order_number), i < 3, "{card}");
    }
}

#[test]
fn hostile_upstream_text_stays_text_and_failures_are_said() {
    let (mocks, envoy) = stack(DEMO_PLUGIN_CONFIG);
    let agent = agent();
    let hostile_name = "Eve [y](https://evil.example) **bold** <https://evil.example> &lt;b&gt;";
    let subjects = [
        "[x](https://evil.example)",
        "{{DATE(2024-11-05T08:30:00Z, SHORT)}} {{context.secret}} ${x}",
        "<a href=\"https://evil.example\">click</a> ![i](https://evil.example/i.png) _i_",
    ];
    mocks.push_fault(
        Service::Profile,
        fault_200(serde_json::json!({
            "customerId": "CUST-666", "fullName": hostile_name, "segment": "# Premium",
            "accountStatus": "- active", "customerSince": "1. 2020"
        })),
    );
    mocks.push_fault(
        Service::Tickets,
        fault_200(serde_json::json!({"tickets": subjects
            .iter()
            .map(|s| serde_json::json!({"subject": s, "priority": "**High**", "createdAt": "2024-11-05T08:30:00Z"}))
            .collect::<Vec<_>>()})),
    );
    // The optional orders service fails: the card says so instead of "No orders".
    mocks.push_fault(
        Service::Orders,
        Fault::Status {
            status: 503,
            headers: Vec::new(),
            body: "{}".into(),
        },
    );
    let r = enrich(&agent, &envoy, &payload("CUST-666"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["degraded"], serde_json::json!(["recentOrders"]));
    // The identity tile gets the values exactly; the tile shows them as text.
    assert_eq!(r.json()["identity"]["Name"], hostile_name);

    let unavailable = "Unavailable: the service did not answer";
    let mut expect = vec![
        hostile_name,
        "# Premium",
        "- active",
        "1. 2020",
        unavailable,
    ];
    expect.extend(subjects);
    let summary = check_card("hostile", &r.body, &expect);
    let html = summary["html"].as_str().unwrap();
    // Seen as text, not as markup: no link, image, emphasis or HTML element came from upstream.
    for tag in [
        "<a", "<img", "<strong", "<em", "<h1", "<ul", "<ol", "<li", "<b>",
    ] {
        assert!(!html.contains(tag), "{tag} in the render: {html}");
    }
    assert!(!r.json()["card"].to_string().contains("No orders"));
}
