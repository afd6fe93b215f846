//! The enrich answer: from what the services gave (`Gathered`) to the body, written by one
//! function, [`write`], in one processing order. Every front door that answers with the enrich
//! answer calls it: the enrich route (through its [`AnswerMode`]) and any other (an MCP tool
//! call passes an empty `lead` and gets the very same answer).
//!
//! The order, and where later steps go:
//!
//! 1. **parse the replies** - done when each reply arrives ([`crate::service::parse_reply`]): the
//!    records stay the upstream's JSON text, borrowed ([`Records`]) until a step rewrites one;
//! 2. **drop / mask** (privacy) - slot below, on the parsed records, before anything is derived
//!    from them;
//! 3. **prompt** - [`Gathered::prompt`]: its counts are what the services returned, before
//!    `fields` and the size cap;
//! 4. **tiles** (Agent Copilot) - slot below;
//! 5. **fields** - the per-service allow-list of top-level keys ([`fields::FieldList`]);
//! 6. **size cap** - `answer.maxBytes`: list items go from the end until the body fits
//!    ([`fit::Layout::fit`]);
//! 7. **write** - the body, once ([`fit::Layout::write`]).

pub mod fields;
pub mod fit;
pub mod mode;

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

use crate::aggregate::Gathered;
use crate::config::PromptSettings;
use crate::copilot::{self, CopilotSettings, Tiles};

pub use fields::FieldList;
pub use mode::AnswerMode;

/// Default of `answer.maxBytes`: half of Cognigy's 65 kB context default, which also holds the
/// flow's own data.
pub const DEFAULT_MAX_BYTES: usize = 32_000;
/// Default of `prompt.unavailableText`.
pub const DEFAULT_UNAVAILABLE_TEXT: &str = "Customer context is unavailable.";

/// What shapes the answer, validated at configure time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerSettings {
    /// `answer.maxBytes`: the UTF-8 length of the whole body, every key included.
    pub max_bytes: usize,
    /// `services.<service>.fields`; `None` keeps every key.
    pub fields: Fields,
    /// `prompt.unavailableText`: the prompt of an `always200` failure envelope.
    pub unavailable_text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    pub profile: Option<FieldList>,
    pub orders: Option<FieldList>,
    pub tickets: Option<FieldList>,
}

impl Default for AnswerSettings {
    fn default() -> Self {
        AnswerSettings {
            max_bytes: DEFAULT_MAX_BYTES,
            fields: Fields::default(),
            unavailable_text: DEFAULT_UNAVAILABLE_TEXT.to_owned(),
        }
    }
}

impl AnswerSettings {
    /// Every key, no cap: the answer as the services gave it (fuzzing, benches).
    pub fn unlimited() -> Self {
        AnswerSettings {
            max_bytes: usize::MAX,
            ..AnswerSettings::default()
        }
    }
}

/// A written answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub body: String,
    /// Answer keys of the lists the size cap shortened (also in the body as `truncated`).
    pub truncated: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerError {
    /// Over `answer.maxBytes` even with both lists empty (a huge profile or prompt).
    TooLarge { smallest: usize, max_bytes: usize },
    /// A value could not be written as JSON (cannot happen with strings; kept panic-free).
    Unwritable,
}

impl fmt::Display for AnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnswerError::TooLarge {
                smallest,
                max_bytes,
            } => write!(
                f,
                "answer of at least {smallest} bytes exceeds answer.maxBytes {max_bytes}"
            ),
            AnswerError::Unwritable => f.write_str("answer could not be written as JSON"),
        }
    }
}

impl std::error::Error for AnswerError {}

/// The records as the steps pass them on: the upstream's JSON text, borrowed until a step
/// rewrites one. `None`: the service gave nothing (its answer key is in `degraded`).
#[derive(Debug, Clone)]
pub struct Records<'a> {
    pub profile: Option<Cow<'a, str>>,
    pub orders: Option<Vec<Cow<'a, str>>>,
    pub tickets: Option<Vec<Cow<'a, str>>>,
}

impl<'a> Records<'a> {
    fn of(g: &Gathered<'a>) -> Self {
        let items = |l: &'a crate::service::Listing| -> Vec<Cow<'a, str>> {
            l.items.iter().map(|i| Cow::Borrowed(i.get())).collect()
        };
        Records {
            profile: g.profile().map(|p| Cow::Borrowed(&*p.raw)),
            orders: g.orders().map(items),
            tickets: g.tickets().map(items),
        }
    }

    /// Step 5: keep the allow-listed keys of each record.
    fn select_fields(self, f: &Fields) -> Self {
        fn one<'a>(record: Cow<'a, str>, list: Option<&FieldList>) -> Cow<'a, str> {
            match list {
                Some(l) => Cow::Owned(l.select(&record)),
                None => record,
            }
        }
        fn all<'a>(items: Vec<Cow<'a, str>>, list: Option<&FieldList>) -> Vec<Cow<'a, str>> {
            match list {
                Some(_) => items.into_iter().map(|i| one(i, list)).collect(),
                None => items,
            }
        }
        Records {
            profile: self.profile.map(|p| one(p, f.profile.as_ref())),
            orders: self.orders.map(|o| all(o, f.orders.as_ref())),
            tickets: self.tickets.map(|t| all(t, f.tickets.as_ref())),
        }
    }
}

fn json<T: Serialize + ?Sized>(value: &T) -> Result<String, AnswerError> {
    serde_json::to_string(value).map_err(|_| AnswerError::Unwritable)
}

/// `,"enrichedPromptContext":...` and the optional `degraded` / `stale` / `identity` / `card`
/// members.
fn tail(
    prompt: &str,
    degraded: &[&str],
    stale: &[&str],
    tiles: &Tiles,
) -> Result<String, AnswerError> {
    let mut out = String::with_capacity(prompt.len() + 64);
    out.push_str(",\"enrichedPromptContext\":");
    out.push_str(&json(prompt)?);
    if !degraded.is_empty() {
        out.push_str(",\"degraded\":");
        out.push_str(&json(degraded)?);
    }
    if !stale.is_empty() {
        out.push_str(",\"stale\":");
        out.push_str(&json(stale)?);
    }
    if let Some(identity) = &tiles.identity {
        out.push_str(",\"identity\":");
        out.push_str(&json(identity)?);
    }
    if let Some(card) = &tiles.card {
        out.push_str(",\"card\":");
        out.push_str(&json(card)?);
    }
    Ok(out)
}

/// Writes the answer for `g`. `lead` is written first inside the object, each member followed
/// by a comma (the enrich route's `always200` mode passes `"ok":true,`; it counts toward the
/// cap like every other byte).
///
/// The body is exactly `{<lead>"customerProfile":...,"recentOrders":[...],"openTickets":[...],
/// "enrichedPromptContext":"...", ["degraded":[...],] ["stale":[...],] ["identity":{...},]
/// ["card":{...},] ["truncated":[...]]}`. `copilot` is the enrich route's tile settings; a
/// front door whose answer never carries tiles (an MCP tool result) passes `None`.
pub fn write(
    g: &Gathered<'_>,
    prompt_settings: &PromptSettings,
    settings: &AnswerSettings,
    copilot: Option<&CopilotSettings>,
    lead: &str,
) -> Result<Written, AnswerError> {
    // 1. Parse the replies: already done; borrow the parsed records.
    let records = Records::of(g);

    // 2. Drop / mask (privacy): masks and drops on `records` go here, before the prompt and
    //    everything after it are derived from them.

    // 3. Prompt: from what the services returned (its counts are theirs, before 5 and 6).
    let prompt = g.prompt(prompt_settings);

    // 4. Tiles (Agent Copilot): from the records as the services gave them (after privacy),
    //    before `fields` narrows the records for the answer; the size cap counts them.
    let tiles = copilot.map_or_else(Tiles::default, |c| {
        copilot::build(
            c,
            &copilot::Sources {
                profile: g.profile().map(|p| &*p.raw),
                orders: g.orders().map(|l| l.items.as_slice()),
                tickets: g.tickets().map(|l| l.items.as_slice()),
                stale: &g.stale,
            },
        )
    });

    // 5. Fields.
    let records = records.select_fields(&settings.fields);

    // 6. Size cap.
    let layout = fit::Layout {
        lead,
        profile: records.profile.unwrap_or(Cow::Borrowed("{}")),
        orders: records.orders.unwrap_or_default(),
        tickets: records.tickets.unwrap_or_default(),
        tail: tail(&prompt, &g.degraded(), &g.stale, &tiles)?,
    };
    let kept = layout
        .fit(settings.max_bytes)
        .map_err(|e| AnswerError::TooLarge {
            smallest: e.smallest,
            max_bytes: settings.max_bytes,
        })?;

    // 7. Write.
    Ok(Written {
        body: layout.write(kept),
        truncated: layout.truncated(kept),
    })
}

#[cfg(test)]
mod tests;
