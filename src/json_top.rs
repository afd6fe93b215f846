//! A JSON body's top level, read the same way for both front doors (the enrich payload and an
//! MCP message): an object whose keys are all different, each with its value's raw text, or what
//! else it is. A key given twice is refused rather than resolved: a proxy or WAF in front that
//! reads the first `customerNumber` (or `method`) must not be shown one value while the filter
//! acts on another. Values are not parsed here; each caller parses only the members it reads.

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

pub enum TopLevel<'a> {
    /// The members in order, no key twice.
    Object(Vec<(String, &'a RawValue)>),
    Array,
    /// A string, number, boolean or null.
    Scalar,
}

impl<'a> TopLevel<'a> {
    /// Reads `body`. A repeated key is the only data error (`is_data()`); anything else that
    /// fails is a syntax error or an early end.
    pub fn read(body: &'a [u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }
}

/// The raw text of member `name`.
pub fn member<'a>(members: &[(String, &'a RawValue)], name: &str) -> Option<&'a str> {
    members
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.get())
}

impl<'de: 'a, 'a> Deserialize<'de> for TopLevel<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TopVisitor(std::marker::PhantomData))
    }
}

struct TopVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TopVisitor<'a> {
    type Value = TopLevel<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out: Vec<(String, &'a RawValue)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom("duplicate key"));
            }
            let value: &'de RawValue = map.next_value()?;
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
