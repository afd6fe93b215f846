//! The optional prompt template: text with named fields such as `{customerName}`, checked at
//! configure time so a typo refuses the configuration instead of reaching the LLM.

/// A value the template can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    CustomerName,
    Segment,
    OrderCount,
    LastOrder,
    TicketCount,
    TopPriority,
    Intent,
    CustomerNumber,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::CustomerName,
        Field::Segment,
        Field::OrderCount,
        Field::LastOrder,
        Field::TicketCount,
        Field::TopPriority,
        Field::Intent,
        Field::CustomerNumber,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::CustomerName => "customerName",
            Field::Segment => "segment",
            Field::OrderCount => "orderCount",
            Field::LastOrder => "lastOrder",
            Field::TicketCount => "ticketCount",
            Field::TopPriority => "topPriority",
            Field::Intent => "intent",
            Field::CustomerNumber => "customerNumber",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(Field),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptTemplate {
    parts: Vec<Part>,
}

impl PromptTemplate {
    /// Parses `{field}` placeholders; `{{` and `}}` stand for literal braces.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(format!("unclosed '{{{name}'")),
                        }
                    }
                    let field = Field::ALL
                        .into_iter()
                        .find(|f| f.name() == name)
                        .ok_or_else(|| {
                            let known: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
                            format!(
                                "unknown field {{{name}}}; known fields: {}",
                                known.join(", ")
                            )
                        })?;
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Field(field));
                }
                '}' => return Err("unmatched '}' (write '}}' for a literal brace)".to_owned()),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(PromptTemplate { parts })
    }

    pub fn render(&self, value: impl Fn(Field) -> String) -> String {
        let mut out = String::new();
        self.render_into(&mut out, |f, out| out.push_str(&value(f)));
        out
    }

    /// [`PromptTemplate::render`] appending to `out`, each field written in place by `value`:
    /// the prompt is built in one buffer, not one string per field and line.
    pub fn render_into(&self, out: &mut String, mut value: impl FnMut(Field, &mut String)) {
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field(f) => value(*f, out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn renders_fields_and_escapes() {
        let t = PromptTemplate::parse("{{x}} {customerName}/{intent}!").unwrap();
        assert_eq!(
            t.render(|f| f.name().to_uppercase()),
            "{x} CUSTOMERNAME/INTENT!"
        );
    }

    #[test]
    fn refuses_unknown_and_unbalanced() {
        assert!(PromptTemplate::parse("{fullName}")
            .unwrap_err()
            .contains("unknown field {fullName}"));
        assert!(PromptTemplate::parse("a {segment")
            .unwrap_err()
            .contains("unclosed"));
        assert!(PromptTemplate::parse("a } b")
            .unwrap_err()
            .contains("unmatched"));
        assert!(PromptTemplate::parse("")
            .unwrap()
            .render(|_| String::new())
            .is_empty());
    }
}
