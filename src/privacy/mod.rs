//! Customer data that stays where it belongs: the `privacy` rules, applied once between parsing
//! the services' replies and building anything from them.
//!
//! - [`PrivacySettings::redact_all`] drops and masks by key in the profile and every list item,
//!   and masks card numbers, IBANs and e-mail addresses found in any other string. The prompt
//!   and every answer shape are built from its result, so none of them can hold a dropped or
//!   unmasked value, and the labels the prompt uses are read again from the redacted records.
//! - [`mask_prompt`] scans the finished prompt: cleaning and templating join text (newlines
//!   become spaces, values meet), which can make a new number out of harmless parts.
//!
//! Host-independent and pure: no I/O, no clock, no proxy-wasm.

use std::borrow::Cow;

use crate::aggregate::Gathered;
use crate::service::{parse_reply, Listing, PerService, Profile, Service, ServiceData};

pub mod apply;
pub mod config;
pub mod mask;
pub mod scan;

#[cfg(test)]
#[path = "tests/corpus.rs"]
mod corpus;

pub use apply::RedactError;
pub use config::{PrivacyConfig, PrivacySettings};

impl PrivacySettings {
    /// Nothing to drop, mask or scan: the data passes as it is, at no cost.
    pub fn is_off(&self) -> bool {
        self.drop_fields.is_empty() && self.mask_fields.is_empty() && !self.mask_patterns
    }

    /// Each service's data with the rules applied (borrowed where nothing changed).
    pub fn redact_all<'a>(
        &self,
        data: [Option<&'a ServiceData>; 3],
    ) -> Result<[Option<Cow<'a, ServiceData>>; 3], RedactError> {
        let [a, b, c] = data;
        Ok([
            self.redact(Service::Profile, a)?,
            self.redact(Service::Orders, b)?,
            self.redact(Service::Tickets, c)?,
        ])
    }

    fn redact<'a>(
        &self,
        service: Service,
        data: Option<&'a ServiceData>,
    ) -> Result<Option<Cow<'a, ServiceData>>, RedactError> {
        let Some(data) = data else {
            return Ok(None);
        };
        if self.is_off() {
            return Ok(Some(Cow::Borrowed(data)));
        }
        let redacted = match data {
            ServiceData::Profile(p) => self.profile(p)?.map(ServiceData::Profile),
            ServiceData::List(l) => self.listing(service, l)?.map(ServiceData::List),
        };
        Ok(Some(match redacted {
            Some(d) => Cow::Owned(d),
            None => Cow::Borrowed(data),
        }))
    }

    fn profile(&self, p: &Profile) -> Result<Option<Profile>, RedactError> {
        let Some(text) = apply::redact_text(&p.raw, self)? else {
            return Ok(None);
        };
        // Checked as JSON and the prompt's labels read again, from the redacted record, the way
        // the reply parser does.
        match parse_reply(Service::Profile, text.as_bytes(), usize::MAX, 1) {
            Ok(ServiceData::Profile(p)) => Ok(Some(p)),
            _ => Err(not_a_record()),
        }
    }

    fn listing(&self, service: Service, l: &Listing) -> Result<Option<Listing>, RedactError> {
        // Copied only from the first item a rule changes on.
        let mut changed: Option<Vec<Box<serde_json::value::RawValue>>> = None;
        for (i, item) in l.items.iter().enumerate() {
            match (apply::redact(item, self)?, &mut changed) {
                (Some(r), Some(items)) => items.push(r),
                (Some(r), None) => {
                    let mut items = Vec::with_capacity(l.items.len());
                    items.extend(l.items.iter().take(i).cloned());
                    items.push(r);
                    changed = Some(items);
                }
                (None, Some(items)) => items.push(item.clone()),
                (None, None) => {}
            }
        }
        let Some(items) = changed else {
            return Ok(None);
        };
        // The label comes from the first item: parse it as a one-item reply.
        let key = service.spec().list_key;
        let first = items.first().map_or("", |i| i.get());
        let probe = format!(r#"{{"{key}":[{first}]}}"#);
        let first_label = match parse_reply(service, probe.as_bytes(), usize::MAX, 1) {
            Ok(ServiceData::List(p)) => p.first_label,
            _ => return Err(not_a_record()),
        };
        Ok(Some(Listing { items, first_label }))
    }
}

/// The services' data after the rules: a record a rule changed, owned; `None` where nothing
/// changed (the original is used).
#[derive(Debug, Default)]
pub struct Redacted {
    records: PerService<Option<ServiceData>>,
    mask_patterns: bool,
}

impl PrivacySettings {
    /// The rules applied to what the services gave; [`Redacted::apply`] makes the `Gathered`
    /// every later step (prompt, tiles, fields, size cap, write) works from.
    pub fn redact_gathered(&self, g: &Gathered<'_>) -> Result<Redacted, RedactError> {
        if self.is_off() {
            return Ok(Redacted::default());
        }
        Ok(Redacted {
            records: PerService::try_from_fn(|s| -> Result<_, RedactError> {
                Ok(match self.redact(s, g.records[s])? {
                    Some(Cow::Owned(changed)) => Some(changed),
                    Some(Cow::Borrowed(_)) | None => None,
                })
            })?,
            mask_patterns: self.mask_patterns,
        })
    }
}

impl Redacted {
    pub fn apply<'a>(&'a self, g: Gathered<'a>) -> Gathered<'a> {
        Gathered {
            records: PerService::from_fn(|s| self.records[s].as_ref().or(g.records[s])),
            mask_patterns: g.mask_patterns || self.mask_patterns,
            ..g
        }
    }
}

fn not_a_record() -> RedactError {
    RedactError::from(<serde_json::Error as serde::de::Error>::custom(
        "redacted record is not a record",
    ))
}

/// Masks card numbers, IBANs and e-mail addresses in the finished prompt, keeping it within
/// `max_chars`: a mask can lengthen an address (`a@x.io` -> `a***@x.io`), and the cut that
/// follows can shorten a long digit run into a valid card number, so cut and scan alternate
/// until a scan finds nothing.
pub fn mask_prompt(prompt: &mut String, max_chars: usize) {
    for _ in 0..4 {
        match scan::mask_text(prompt) {
            Some(masked) => {
                *prompt = masked;
                if let Some((i, _)) = prompt.char_indices().nth(max_chars) {
                    prompt.truncate(i);
                }
            }
            None => return,
        }
    }
    // Still changing after four rounds (never seen): fail closed, keep no digit at all.
    *prompt = prompt
        .chars()
        .map(|c| if c.is_ascii_digit() { mask::MASK } else { c })
        .collect();
}
