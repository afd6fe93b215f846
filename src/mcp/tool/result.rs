//! The tool result written around the enrich answer: `structuredContent` with its members in the
//! answer's order (without the Copilot tiles) and the text `content`, or an `isError` result.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

/// Keys the enrich answer may carry that are not part of the tool's result: the Agent Copilot
/// tiles are for the human agent's workspace, not for a model.
const NOT_FOR_MODELS: [&str; 2] = ["card", "identity"];

/// A JSON object's members in order, or `None` if `text` is not one.
pub(super) fn members(text: &str) -> Option<Vec<(String, Box<RawValue>)>> {
    let map: OrderedObject = serde_json::from_str(text).ok()?;
    Some(map.0)
}

/// A JSON object read with its members in order (serde_json's `Map` sorts them).
struct OrderedObject(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for OrderedObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedObject, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
                    out.push((k, v));
                }
                Ok(OrderedObject(out))
            }
        }
        d.deserialize_map(V)
    }
}

struct Ordered<'a>(&'a [(String, Box<RawValue>)]);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Text<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolResult<'a> {
    content: Vec<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    structured_content: Option<Ordered<'a>>,
    is_error: bool,
}

/// The result of a successful call: `structuredContent` is the enrich answer (without the
/// Copilot tiles); `content` is first the prompt line (what a model should read), then the same
/// JSON as text for clients that ignore structured content. `None` if `answer` is not an object.
pub fn success_result(answer: &str) -> Option<Box<RawValue>> {
    let kept: Vec<(String, Box<RawValue>)> = members(answer)?
        .into_iter()
        .filter(|(k, _)| !NOT_FOR_MODELS.contains(&k.as_str()))
        .collect();
    let structured = serde_json::to_string(&Ordered(&kept)).ok()?;
    let prompt: Option<String> = kept
        .iter()
        .find(|(k, _)| k == "enrichedPromptContext")
        .and_then(|(_, v)| serde_json::from_str(v.get()).ok());
    let mut content = Vec::new();
    if let Some(p) = prompt.as_deref() {
        content.push(Text {
            kind: "text",
            text: p,
        });
    }
    content.push(Text {
        kind: "text",
        text: &structured,
    });
    let result = ToolResult {
        content,
        structured_content: Some(Ordered(&kept)),
        is_error: false,
    };
    serde_json::value::to_raw_value(&result).ok()
}

/// A failed call as the model sees it: `isError` and the reason as text.
pub fn error_result(text: &str) -> Box<RawValue> {
    let result = ToolResult {
        content: vec![Text { kind: "text", text }],
        structured_content: None,
        is_error: true,
    };
    // Serializing a struct of strings cannot fail; the fallback keeps that a non-panicking fact.
    serde_json::value::to_raw_value(&result).unwrap_or_else(|_| RawValue::NULL.to_owned())
}
