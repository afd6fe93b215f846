//! JSON values built without `serde_json::json!`: the macro turns every leaf into a
//! `serde_json::to_value` call, a serializer the module otherwise does without (it made the
//! optimized `.wasm` 11 kB larger).

use serde_json::{Map, Value};

/// An object with these members, in this order of insertion.
pub fn obj<const N: usize>(members: [(&str, Value); N]) -> Value {
    let mut map = Map::new();
    for (k, v) in members {
        map.insert(k.to_owned(), v);
    }
    Value::Object(map)
}

pub fn s(text: &str) -> Value {
    Value::String(text.to_owned())
}

pub fn strings(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|t| s(t)).collect())
}

pub fn n(number: usize) -> Value {
    Value::from(number)
}
