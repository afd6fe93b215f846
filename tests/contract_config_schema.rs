//! schema/plugin-config.schema.json and src/config/ must describe the same configuration.
//! No Envoy needed: the schema is read as JSON and its keywords are turned into cases for
//! `Settings::from_json`.
//!
//! - the fields: every object's `properties` are the fields serde knows there; a field serde knows
//!   but the schema leaves out (`limit` outside recentOrders) must be refused;
//! - `additionalProperties: false`: an unknown field anywhere is refused, naming it;
//! - `type`: a value of another type is refused, naming the field; `null` only where allowed;
//! - `minimum` / `maximum`: both bounds accepted, one past each refused, naming the field;
//! - `required`: leaving a required field out is refused (and the cases above fill them in);
//! - `default`: for every object, spelling out the schema's defaults changes nothing;
//! - schema/examples/valid.json are accepted, schema/examples/invalid.json refused naming the
//!   field (tests/contracts/test_schema.py checks the schema's verdict on the same files);
//! - the plugin configuration of every envoy/*.yaml is accepted.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use cognigy_enrich::config::{ConfigError, PluginConfig, Settings};
use serde_json::{json, Map, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_json(rel: &str) -> Value {
    let text = std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn schema() -> Value {
    read_json("schema/plugin-config.schema.json")
}

fn env(k: &str) -> Option<String> {
    match k {
        "ENRICH_CLIENT_ID" => Some("id".into()),
        "ENRICH_CLIENT_SECRET" => Some("secret".into()),
        "ENRICH_WEBHOOK_TOKENS" => Some("t1,t2".into()),
        _ => None,
    }
}

fn load(config: &Value) -> Result<Settings, ConfigError> {
    Settings::from_json(config.to_string().as_bytes(), &env)
}

fn load_text(text: &str) -> Result<Settings, ConfigError> {
    Settings::from_json(text.as_bytes(), &env)
}

/// Follows a local `$ref`.
fn resolve<'a>(schema: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.strip_prefix("#/$defs/").expect("local $defs reference");
            let target = &schema["$defs"][name];
            assert!(target.is_object(), "unresolved {r}");
            resolve(schema, target)
        }
        None => node,
    }
}

fn types(node: &Value) -> Vec<&str> {
    match &node["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        other => panic!("no type in {other}"),
    }
}

/// Every property of the schema: its path and its (resolved) schema, objects included.
fn properties(schema: &Value) -> Vec<(Vec<String>, Value)> {
    fn walk(schema: &Value, node: &Value, path: &[String], out: &mut Vec<(Vec<String>, Value)>) {
        let node = resolve(schema, node);
        out.push((path.to_vec(), node.clone()));
        if let Some(props) = node.get("properties").and_then(Value::as_object) {
            for (name, child) in props {
                let mut p = path.to_vec();
                p.push(name.clone());
                walk(schema, child, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(schema, schema, &[], &mut out);
    out
}

/// `{"a": {"b": value}}` for path `[a, b]`.
fn at(path: &[String], value: Value) -> Value {
    path.iter().rev().fold(value, |v, key| {
        Value::Object(Map::from_iter([(key.clone(), v)]))
    })
}

fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

/// A value the schema accepts for `node`, for filling in required fields.
fn sample(node: &Value) -> Value {
    if let Some(d) = node.get("default") {
        return d.clone();
    }
    match types(node).first().copied() {
        Some("integer") => node.get("minimum").cloned().unwrap_or(json!(1)),
        Some("boolean") => json!(false),
        Some("object") => json!({}),
        _ => json!("x"),
    }
}

/// The schema's `required` fields of every object from the root down to `path` (the object at
/// `path` included when `inclusive`), filled with sample values; the path's own next step is
/// left to the caller.
fn required_along(schema: &Value, path: &[String], inclusive: bool) -> Value {
    let mut out = json!({});
    let mut node = resolve(schema, schema);
    let steps = if inclusive {
        path.len() + 1
    } else {
        path.len()
    };
    for depth in 0..steps {
        let here = path.get(..depth).unwrap_or_default();
        let next = path.get(depth);
        for name in node
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if next.is_some_and(|n| n == name) {
                continue;
            }
            let mut p = here.to_vec();
            p.push(name.to_owned());
            merge(
                &mut out,
                at(&p, sample(resolve(schema, &node["properties"][name]))),
            );
        }
        match next {
            Some(n) => node = resolve(schema, &node["properties"][n.as_str()]),
            None => break,
        }
    }
    out
}

/// `value` at `path`, with whatever the schema requires around it.
fn config_with(schema: &Value, path: &[String], value: Value) -> Value {
    let mut c = required_along(schema, path, false);
    merge(&mut c, at(path, value));
    c
}

fn field_name(path: &[String]) -> String {
    if path.is_empty() {
        "(root)".to_owned()
    } else {
        path.join(".")
    }
}

fn assert_refused(config: &Value, field: &str, why: &str) {
    match load(config) {
        Ok(_) => panic!("{why}: accepted {config}"),
        Err(e) => assert_eq!(e.field, field, "{why}: {config} refused as {e}"),
    }
}

/// The fields serde knows in the object at `path`, read from its unknown-field message.
fn serde_fields(path: &[String]) -> Vec<String> {
    let probe = at(path, json!({"zz-not-a-field": 1}));
    let err = serde_json::from_value::<PluginConfig>(probe)
        .map(|_| ())
        .expect_err("an unknown field is refused");
    let msg = err.to_string();
    let expected = msg
        .split_once("expected")
        .unwrap_or_else(|| panic!("{msg}"))
        .1;
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn schema_objects_list_exactly_the_fields_serde_knows() {
    let s = schema();
    for (path, node) in properties(&s) {
        let Some(props) = node.get("properties").and_then(Value::as_object) else {
            continue;
        };
        assert_eq!(
            node["additionalProperties"],
            json!(false),
            "{} must refuse unknown fields",
            field_name(&path)
        );
        let mut in_schema: Vec<String> = props.keys().cloned().collect();
        in_schema.sort();
        let mut in_code = serde_fields(&path);
        in_code.sort();
        for f in &in_schema {
            assert!(
                in_code.contains(f),
                "{}.{f} is in the schema but not in src/config/ ({in_code:?})",
                field_name(&path)
            );
        }
        for f in in_code.iter().filter(|f| !in_schema.contains(f)) {
            // A field the code parses but the schema leaves out must be refused by validation.
            let mut p = path.clone();
            p.push(f.clone());
            for value in [json!(1), json!("x"), json!(true)] {
                assert!(
                    load(&at(&p, value.clone())).is_err(),
                    "{} is parsed by src/config/, not in the schema, yet accepted with {value}",
                    field_name(&p)
                );
            }
        }
    }
}

#[test]
fn unknown_fields_are_refused_everywhere() {
    let s = schema();
    for (path, node) in properties(&s) {
        if node.get("properties").is_none() {
            continue;
        }
        let mut p = path.clone();
        p.push("notAField".to_owned());
        assert_refused(
            &config_with(&s, &p, json!(1)),
            &field_name(&p),
            "additionalProperties: false",
        );
    }
}

#[test]
fn values_of_another_type_are_refused() {
    let s = schema();
    for (path, node) in properties(&s) {
        if path.is_empty() {
            continue;
        }
        let allowed = types(&node);
        let candidates = [
            ("integer", json!(7)),
            ("number", json!(7.5)),
            ("string", json!("7")),
            ("boolean", json!(true)),
            ("object", json!({})),
            ("array", json!([])),
            ("null", Value::Null),
        ];
        for (kind, value) in candidates {
            let fits =
                allowed.contains(&kind) || (kind == "integer" && allowed.contains(&"number"));
            if fits {
                continue;
            }
            assert_refused(
                &config_with(&s, &path, value),
                &field_name(&path),
                &format!("schema type {allowed:?} excludes {kind}"),
            );
        }
        if allowed.contains(&"null") {
            assert!(
                load(&config_with(&s, &path, Value::Null)).is_ok(),
                "{}: the schema allows null",
                field_name(&path)
            );
        }
    }
}

#[test]
fn required_fields_are_required() {
    let s = schema();
    let mut checked = 0;
    for (path, node) in properties(&s) {
        for name in node
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let mut c = required_along(&s, &path, true);
            let mut p = path.clone();
            p.push(name.to_owned());
            let mut object = &mut c;
            for step in &path {
                object = &mut object[step.as_str()];
            }
            if let Some(o) = object.as_object_mut() {
                o.remove(name);
            }
            assert_refused(
                &c,
                &field_name(&path),
                &format!("{} is required", field_name(&p)),
            );
            checked += 1;
        }
    }
    assert!(checked >= 1, "the schema requires nothing");
}

/// Rules between fields the schema cannot state: the configuration a bound is valid in.
fn context_for(path: &[String]) -> Value {
    match field_name(path).as_str() {
        "retry.baseBackoffMs" => json!({"retry": {"maxBackoffMs": 600000}}),
        "retry.maxBackoffMs" => json!({"retry": {"baseBackoffMs": 1}}),
        "token.failureBackoffMs" => json!({"token": {"failureBackoffMaxMs": 3600000}}),
        "token.failureBackoffMaxMs" => json!({"token": {"failureBackoffMs": 1}}),
        f if f.starts_with("services.") && f.ends_with(".timeoutMs") => {
            json!({"deadlineMs": 60000})
        }
        _ => json!({}),
    }
}

#[test]
fn integer_ranges_agree() {
    let s = schema();
    let mut checked = 0;
    for (path, node) in properties(&s) {
        if !types(&node).contains(&"integer") {
            continue;
        }
        let bound = |k: &str| -> i128 {
            let n = node[k]
                .as_u64()
                .unwrap_or_else(|| panic!("{} has no {k}", field_name(&path)));
            i128::from(n)
        };
        let (min, max) = (bound("minimum"), bound("maximum"));
        let field = field_name(&path);
        let with = |n: i128| {
            let number: Value = serde_json::from_str(&n.to_string()).expect("a JSON number");
            let mut c = context_for(&path);
            merge(&mut c, config_with(&s, &path, number));
            c
        };
        for ok in [min, max] {
            if let Err(e) = load(&with(ok)) {
                panic!("{field} = {ok} is within the schema's range but refused: {e}");
            }
        }
        for bad in [min - 1, max + 1] {
            assert_refused(&with(bad), &field, "outside the schema's range");
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} integer fields found");
}

#[test]
fn schema_defaults_are_the_code_defaults() {
    let s = schema();
    let mut objects = 0;
    for (path, node) in properties(&s) {
        let Some(props) = node.get("properties").and_then(Value::as_object) else {
            continue;
        };
        // The object as the code sees it with nothing said, then with every default spelled out.
        let minimal = required_along(&s, &path, true);
        let mut spelled = minimal.clone();
        for (name, child) in props {
            if let Some(d) = resolve(&s, child).get("default") {
                let mut p = path.clone();
                p.push(name.clone());
                merge(&mut spelled, at(&p, d.clone()));
            }
        }
        let explicit = load(&spelled).unwrap_or_else(|e| panic!("{spelled}: {e}"));
        let implicit = load(&minimal).unwrap_or_else(|e| panic!("{minimal}: {e}"));
        assert_eq!(
            format!("{explicit:?}"),
            format!("{implicit:?}"),
            "schema defaults {spelled} differ from src/config/"
        );
        objects += 1;
    }
    assert!(objects >= 10, "only {objects} objects");
}

#[test]
fn shared_examples_get_the_same_verdict() {
    let valid = read_json("schema/examples/valid.json");
    for ex in valid.as_array().expect("a list") {
        if let Err(e) = load(&ex["config"]) {
            panic!("{}: {e}", ex["name"]);
        }
    }
    let invalid = read_json("schema/examples/invalid.json");
    for ex in invalid.as_array().expect("a list") {
        let field = ex["field"].as_str().expect("field");
        assert_refused(
            &ex["config"],
            field,
            ex["name"].as_str().unwrap_or_default(),
        );
    }
}

/// The block scalar after each `value: |` of a `google.protobuf.StringValue`.
fn plugin_configs(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim() != "value: |" || i == 0 {
            continue;
        }
        let typed = lines
            .get(i.saturating_sub(1))
            .is_some_and(|l| l.contains("google.protobuf.StringValue"));
        if !typed {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let block: Vec<&str> = lines
            .iter()
            .skip(i + 1)
            .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
            .copied()
            .collect();
        out.push(block.join("\n"));
    }
    out
}

#[test]
fn shipped_envoy_configs_carry_a_valid_plugin_configuration() {
    let mut files = 0;
    for entry in std::fs::read_dir(root().join("envoy")).expect("envoy/") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let yaml = std::fs::read_to_string(&path).expect("read");
        let configs = plugin_configs(&yaml);
        assert!(
            !configs.is_empty(),
            "{}: no `value: |` plugin configuration found",
            path.display()
        );
        for c in configs {
            if let Err(e) = load_text(&c) {
                panic!("{}: {e}\n{c}", path.display());
            }
        }
        files += 1;
    }
    assert!(files >= 2, "envoy.yaml and production.yaml at least");
}
