//! Native micro-benchmarks of the core's per-request work (`cargo bench --bench engine`), to
//! attribute the filter's own CPU: the whole engine lifecycle of one enrich request with the
//! token cached, and its parts (payload validation, the three upstream replies, the answer).
//! The upstream bodies are the mock services' real answers. Not part of `make test`; `make bench`
//! measures the filter inside Envoy.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

use cognigy_enrich::aggregate::Gathered;
use cognigy_enrich::payload;
use cognigy_enrich::service::{parse_reply, Service};

mod harness;
use harness::{bench_settings, settings, Host, BODY, ORDERS, PROFILE, TICKETS};

fn engine(c: &mut Criterion) {
    for (name, settings, new_customers) in [
        ("engine/enrich_request_token_cached", settings(), false),
        ("engine/enrich_request_bench_config", bench_settings(), true),
    ] {
        let Some(mut host) = settings.and_then(Host::new) else {
            eprintln!("{name}: bench settings refused");
            continue;
        };
        one_request(c, name, &mut host, new_customers);
    }
}

/// Warms the engine up (the first request waits for the token) and measures one request.
fn one_request(c: &mut Criterion, name: &str, host: &mut Host, new_customers: bool) {
    if !host.warm_up() {
        eprintln!("the first request was not answered; the numbers below mean nothing");
    }
    host.request(2);
    eprintln!(
        "{name}: one request with the token cached: {} dispatches, {} local answer(s)",
        host.dispatches, host.answers
    );
    let mut ctx = 2u32;
    c.bench_function(name, |b| {
        b.iter(|| {
            ctx = ctx.wrapping_add(1).max(3);
            if new_customers {
                host.new_customer(ctx);
            }
            host.request(ctx);
        });
    });
}

fn parts(c: &mut Criterion) {
    let Some(settings) = settings() else {
        eprintln!("bench settings refused");
        return;
    };
    c.bench_function("payload/parse", |b| {
        b.iter(|| {
            payload::parse(
                black_box(BODY),
                &settings.customer_pattern,
                settings.limits.max_json_depth,
            )
        });
    });
    let max_body = settings.limits.max_upstream_body_bytes;
    let max_items = settings.limits.max_list_items;
    for (name, service, body) in [
        ("service/parse_profile", Service::Profile, PROFILE),
        ("service/parse_orders", Service::Orders, ORDERS),
        ("service/parse_tickets", Service::Tickets, TICKETS),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| parse_reply(service, black_box(body.as_bytes()), max_body, max_items));
        });
    }
    let profile = parse_reply(Service::Profile, PROFILE.as_bytes(), max_body, max_items);
    let orders = parse_reply(Service::Orders, ORDERS.as_bytes(), max_body, max_items);
    let tickets = parse_reply(Service::Tickets, TICKETS.as_bytes(), max_body, max_items);
    let (Ok(p), Ok(o), Ok(t)) = (profile, orders, tickets) else {
        eprintln!("mock bodies refused");
        return;
    };
    let gathered = Gathered {
        records: [Some(&p), Some(&o), Some(&t)].into(),
        ..Gathered::default()
    };
    c.bench_function("aggregate/answer_json", |b| {
        b.iter(|| black_box(&gathered).answer_json(&settings.prompt));
    });
    // The privacy step with the default rules on the demo records (what the engine runs before
    // the prompt), against the same records with the rules off.
    let data = [p.clone(), o.clone(), t.clone()];
    let off = cognigy_enrich::privacy::PrivacySettings {
        drop_fields: Vec::new(),
        mask_fields: Vec::new(),
        mask_patterns: false,
    };
    for (name, rules) in [
        ("privacy/redact_all_default", &settings.privacy),
        ("privacy/redact_all_off", &off),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                rules.redact_all(black_box([Some(&data[0]), Some(&data[1]), Some(&data[2])]))
            });
        });
    }
    c.bench_function("privacy/mask_text_prompt", |b| {
        let prompt = "Customer: Elena Rostova | Segment: Premium\nRecent Orders: 1 items. Last order: ORD-2024-88412\nOpen Tickets: 1 active cases. Priority: High";
        b.iter(|| cognigy_enrich::privacy::scan::mask_text(black_box(prompt)));
    });
    // The same answer with the Agent Copilot identity and card (what the demo sends).
    let copilot = cognigy_enrich::copilot::CopilotSettings {
        identity: true,
        card: true,
        ..Default::default()
    };
    c.bench_function("aggregate/answer_json_with_tiles", |b| {
        b.iter(|| black_box(&gathered).answer_json_with(&settings.prompt, Some(&copilot)));
    });
    c.bench_function("payload/customer_pattern_is_match", |b| {
        b.iter(|| settings.customer_pattern.is_match(black_box("CUST-992847")));
    });
}

/// The answer pipeline on a large answer: a profile and 50 orders of 5 kB, cut to the default
/// `answer.maxBytes`, with and without a `fields` allow-list on the orders.
fn answer_cap(c: &mut Criterion) {
    use cognigy_enrich::answer::{self, AnswerSettings, FieldList};
    let orders: Vec<String> = (0..50)
        .map(|i| {
            format!(
                r#"{{"orderNumber":"ORD-{i:02}","status":"shipped","note":"{}"}}"#,
                "n".repeat(4950)
            )
        })
        .collect();
    let body = format!(r#"{{"items":[{}]}}"#, orders.join(","));
    let (Ok(p), Ok(o)) = (
        parse_reply(Service::Profile, PROFILE.as_bytes(), 1 << 20, 50),
        parse_reply(Service::Orders, body.as_bytes(), 1 << 20, 50),
    ) else {
        eprintln!("bench bodies refused");
        return;
    };
    let gathered = Gathered {
        records: [Some(&p), Some(&o), None].into(),
        ..Gathered::default()
    };
    let prompt = cognigy_enrich::config::PromptSettings::default();
    let capped = AnswerSettings::default();
    c.bench_function("answer/write_50x5kb_capped", |b| {
        b.iter(|| answer::write(black_box(&gathered), &prompt, &capped, None, ""));
    });
    let mut with_fields = AnswerSettings::default();
    with_fields.fields.orders = FieldList::new(vec!["orderNumber".into(), "status".into()]).ok();
    c.bench_function("answer/write_50x5kb_fields", |b| {
        b.iter(|| answer::write(black_box(&gathered), &prompt, &with_fields, None, ""));
    });
}

criterion_group!(benches, engine, parts, answer_cap);
criterion_main!(benches);
