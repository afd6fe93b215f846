//! A JSON body's top level, read the same way for both front doors (the enrich payload and an
//! MCP message): an object whose keys are all different, each with its value's raw text, or what
//! else it is. A key given twice is refused rather than resolved: a proxy or WAF in front that
//! reads the first `customerNumber` (or `method`) must not be shown one value while the filter
//! acts on another. Values are not parsed here; each caller parses only the members it reads.

use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The top level of a body, with each member's value read as a `V` (raw text, or what a caller
/// needs to know of it).
pub enum TopLevel<V> {
    /// The members in order, no key twice.
    Object(Vec<(String, V)>),
    Array,
    /// A string, number, boolean or null.
    Scalar,
}

impl<'de, V: Deserialize<'de>> TopLevel<V> {
    /// Reads `body`. A repeated key is the only data error (`is_data()`) the top level raises;
    /// the values' own errors are those of `V`.
    pub fn read(body: &'de [u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }
}

/// The value of member `name`.
pub fn member<'m, V>(members: &'m [(String, V)], name: &str) -> Option<&'m V> {
    members.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for TopLevel<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TopVisitor(PhantomData))
    }
}

struct TopVisitor<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for TopVisitor<V> {
    type Value = TopLevel<V>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out: Vec<(String, V)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom("duplicate key"));
            }
            let value: V = map.next_value()?;
            out.push((key, value));
        }
        Ok(TopLevel::Object(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(TopLevel::Array)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(TopLevel::Scalar)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(TopLevel::Scalar)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(TopLevel::Scalar)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(TopLevel::Scalar)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(TopLevel::Scalar)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(TopLevel::Scalar)
    }
}

/// What a caller that reads only strings needs to know of a value, checked exactly as a
/// `serde_json::Value` would be (numbers beyond `f64` are refused, nested values included)
/// without building anything but a top-level string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Text(String),
    Null,
    Object,
    /// A number, boolean or array.
    Other,
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ShapeVisitor { top: true })
    }
}

/// Reads any value; `top` keeps the text of a top-level string (nested ones are only checked).
struct ShapeVisitor {
    top: bool,
}

/// A nested value, checked like [`Shape`] and dropped.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(ShapeVisitor { top: false })
            .map(|_| Checked)
    }
}

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        while map.next_entry::<IgnoredAny, Checked>()?.is_some() {}
        Ok(Shape::Object)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Shape::Other)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::Other)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Shape, E> {
        Ok(Shape::Text(if self.top {
            v.to_owned()
        } else {
            String::new()
        }))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Shape, E> {
        Ok(Shape::Null)
    }
}
