//! Wire names held byte-identical by golden files in tests/golden/ (see tests/support/golden.rs):
//! the metric names the filter defines, as a real Envoy shows them in `/stats` and
//! `/stats/prometheus`, and every field of the plugin configuration's JSON Schema. A rename
//! fails here; an addition too, until the golden file is regenerated and the diff reviewed:
//! `make build && UPDATE_GOLDEN=1 cargo test --test e2e_wire_names`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::golden::check_golden;
use support::*;

const REGENERATE: &str = "make build && UPDATE_GOLDEN=1 cargo test --test e2e_wire_names";

/// The filter's metric names in `/stats` (`wasmcustom.cognigy_enrich.*`, counters and
/// histograms) and in `/stats/prometheus` (`<name> <type>` from its `# TYPE` lines), read after
/// traffic that touches every kind: a success through a token fetch, a degraded answer, a retry,
/// a rejection and a cache hit.
#[test]
fn metric_names_match_the_golden_lists() {
    let (mocks, envoy) = stack(
        r#"{"deadlineMs": 4500, "services": {"customerProfile": {"cache": {"ttlMs": 60000}}}}"#,
    );
    let agent = agent();
    let r = enrich_with_id(&agent, &envoy, ELENA, "golden-1");
    assert_eq!(r.status, 200, "{}", r.body);
    mocks.push_fault(
        Service::Orders,
        Fault::Status {
            status: 500,
            headers: vec![],
            body: String::new(),
        },
    );
    mocks.push_fault(
        Service::Tickets,
        Fault::Status {
            status: 429,
            headers: vec![("retry-after".into(), "0".into())],
            body: String::new(),
        },
    );
    let r = enrich_with_id(&agent, &envoy, ELENA, "golden-2");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["degraded"].is_array(), "{}", r.body);
    let r = send(
        &agent,
        "POST",
        &envoy.url(ENRICH_PATH),
        &[("content-type", "application/json")],
        Some(ELENA.as_bytes()),
    );
    assert_eq!(r.status, 401);
    // The traffic is counted before the names are read (every one of them is defined at VM start,
    // so this only proves the stats are the live ones).
    assert_eq!(envoy.stat("wasmcustom.cognigy_enrich.requests.ok"), 1);
    assert_eq!(envoy.stat("wasmcustom.cognigy_enrich.requests.degraded"), 1);
    assert_eq!(envoy.stat("wasmcustom.cognigy_enrich.cache.profile.hit"), 1);

    let (status, stats) = envoy.admin("/stats?filter=^wasmcustom\\.");
    assert_eq!(status, 200);
    let names: BTreeSet<String> = stats
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(name, _)| without_version(name, "wasmcustom.cognigy_enrich.configured."))
        .collect();
    check_golden(
        "stats-names.txt",
        "The metric names the filter defines, as a real Envoy lists them in /stats after traffic\n\
         (tests/e2e_wire_names.rs). Dashboards and alerts use them: a rename breaks them.\n\
         After adding a metric (src/metrics.rs), regenerate and review the diff (additions only):\n  \
         make build && UPDATE_GOLDEN=1 cargo test --test e2e_wire_names",
        REGENERATE,
        &names,
    );

    let (status, prom) = envoy.admin("/stats/prometheus");
    assert_eq!(status, 200);
    let types: BTreeSet<String> = prom
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter(|l| l.contains("cognigy_enrich"))
        .map(|l| without_version(l, "cognigy_enrich_configured_"))
        .collect();
    check_golden(
        "prometheus-names.txt",
        "The filter's metrics as a real Envoy exposes them on /stats/prometheus: `<name> <type>`\n\
         from the `# TYPE` lines (tests/e2e_wire_names.rs), with Envoy's own `envoy_wasm_*` stats\n\
         of the plugin, named after its plugin name. Scrapers and dashboards use them.\n\
         After adding a metric (src/metrics.rs), regenerate and review the diff (additions only):\n  \
         make build && UPDATE_GOLDEN=1 cargo test --test e2e_wire_names",
        REGENERATE,
        &types,
    );
}

/// `name` with the build version that follows `prefix` (the `configured.<version>` counter, see
/// src/build_info.rs) written as `<version>`, so the list holds across releases; a Prometheus
/// `# TYPE` line keeps its type.
fn without_version(name: &str, prefix: &str) -> String {
    match name.strip_prefix(prefix) {
        Some(rest) => {
            let kind = rest.split_once(' ').map(|(_, kind)| kind);
            match kind {
                Some(kind) => format!("{prefix}<version> {kind}"),
                None => format!("{prefix}<version>"),
            }
        }
        None => name.to_owned(),
    }
}

/// Every field path of `schema`'s node `node` under `prefix`: objects' properties as `a.b`,
/// array items as `a[]`, maps (`additionalProperties` / `patternProperties` with a schema) as
/// `a.*`; local `$ref`s and `allOf` / `anyOf` / `oneOf` branches followed.
fn field_paths(schema: &Value, node: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let Some(target) = node.get("$ref").and_then(Value::as_str) {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("only local $refs are followed: {target}"));
        let resolved = schema
            .pointer(pointer)
            .unwrap_or_else(|| panic!("$ref {target} resolves to nothing"));
        field_paths(schema, resolved, prefix, out);
    }
    for combinator in ["allOf", "anyOf", "oneOf"] {
        for branch in node
            .get(combinator)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            field_paths(schema, branch, prefix, out);
        }
    }
    let join = |name: &str| {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        }
    };
    if let Some(properties) = node.get("properties").and_then(Value::as_object) {
        for (name, sub) in properties {
            let path = join(name);
            out.insert(path.clone());
            field_paths(schema, sub, &path, out);
        }
    }
    let maps = node.get("additionalProperties").into_iter().chain(
        node.get("patternProperties")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values()),
    );
    for sub in maps.filter(|v| v.is_object()) {
        let path = join("*");
        out.insert(path.clone());
        field_paths(schema, sub, &path, out);
    }
    if let Some(items) = node.get("items").filter(|v| v.is_object()) {
        let path = format!("{prefix}[]");
        field_paths(schema, items, &path, out);
    }
}

#[test]
fn config_schema_fields_match_the_golden_list() {
    let path = support::envoy::repo_root().join("schema/plugin-config.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("the schema"))
        .expect("the schema is JSON");
    let mut fields = BTreeSet::new();
    field_paths(&schema, &schema, "", &mut fields);
    // The walk itself: fields known to be there at three depths.
    for known in [
        "deadlineMs",
        "retry.maxAttempts",
        "services.customerProfile.cache.ttlMs",
    ] {
        assert!(fields.contains(known), "{known} not found: {fields:#?}");
    }
    check_golden(
        "config-schema-fields.txt",
        "Every field of the plugin configuration, as dotted paths flattened from\n\
         schema/plugin-config.schema.json (tests/e2e_wire_names.rs; `a[]` is an array's items,\n\
         `a.*` a map's values). Deployed configurations use these keys: a rename breaks them.\n\
         After adding a field (src/config/ and the schema), regenerate and review the diff:\n  \
         UPDATE_GOLDEN=1 cargo test --test e2e_wire_names",
        REGENERATE,
        &fields,
    );
}
