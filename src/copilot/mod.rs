//! Output for Cognigy Agent Copilot tiles, bound directly by a flow designer: `identity` (the
//! rows of an Identity Tile) and `card` (an Adaptive Card 1.5 for an Adaptive Card Tile).
//!
//! Pure and host-independent: it reads the gathered data (after privacy masking, where that
//! runs) and returns what the answer adds. It runs after the prompt and before field selection
//! and the size cap, so both of those see the tiles like any other key. Only the enrich route's
//! answer carries them; a tool result (MCP) never does.

mod card;
mod config;
mod identity;
mod text;

pub use card::{Card, SourceState};
pub use config::{CardLabels, CopilotConfig, CopilotSettings, IdentityRow};
pub use identity::Identity;

use serde_json::value::RawValue;

use card::CardInput;

/// What the tiles are built from.
pub struct Sources<'a> {
    /// The customer profile object; `None` when its service failed.
    pub profile: Option<&'a str>,
    pub orders: Option<&'a [Box<RawValue>]>,
    pub tickets: Option<&'a [Box<RawValue>]>,
    /// Answer keys (`customerProfile`, `recentOrders`, `openTickets`) served from the cache.
    pub stale: &'a [&'static str],
}

/// The answer's optional `identity` and `card`.
#[derive(Debug, Default)]
pub struct Tiles {
    pub identity: Option<Identity>,
    pub card: Option<Card>,
}

/// Builds what `cfg` turns on; nothing (and no parsing) when both are off.
pub fn build(cfg: &CopilotSettings, src: &Sources<'_>) -> Tiles {
    if !cfg.identity && !cfg.card {
        return Tiles::default();
    }
    let profile = src.profile.and_then(text::fields);
    let state = |present: bool, key: &str| {
        if !present {
            SourceState::Unavailable
        } else if src.stale.contains(&key) {
            SourceState::Stale
        } else {
            SourceState::Fresh
        }
    };
    // Built once: the identity object and the card's FactSet are the same rows.
    let facts = profile.map(|p| Identity::build(&cfg.rows, &p));
    let card = cfg.card.then(|| {
        Card::build(
            cfg,
            &CardInput {
                facts: facts.as_ref(),
                profile_state: state(src.profile.is_some(), "customerProfile"),
                orders: src.orders.unwrap_or_default(),
                orders_state: state(src.orders.is_some(), "recentOrders"),
                tickets: src.tickets.unwrap_or_default(),
                tickets_state: state(src.tickets.is_some(), "openTickets"),
            },
        )
    });
    let identity = cfg.identity.then(|| facts.unwrap_or_default());
    Tiles { identity, card }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn on() -> CopilotSettings {
        CopilotSettings {
            identity: true,
            card: true,
            ..CopilotSettings::default()
        }
    }

    #[test]
    fn nothing_unless_turned_on() {
        let t = build(
            &CopilotSettings::default(),
            &Sources {
                profile: None,
                orders: None,
                tickets: None,
                stale: &[],
            },
        );
        assert!(t.identity.is_none() && t.card.is_none());
        let only_card = CopilotSettings {
            card: true,
            ..CopilotSettings::default()
        };
        let t = build(
            &only_card,
            &Sources {
                profile: None,
                orders: None,
                tickets: None,
                stale: &[],
            },
        );
        assert!(t.identity.is_none() && t.card.is_some());
    }

    #[test]
    fn states_follow_degraded_and_stale() {
        let profile = RawValue::from_string(r#"{"fullName":"E"}"#.to_owned()).unwrap();
        let t = build(
            &on(),
            &Sources {
                profile: Some(profile.get()),
                orders: None,
                tickets: Some(&[]),
                stale: &["customerProfile"],
            },
        );
        assert_eq!(
            serde_json::to_string(&t.identity).unwrap(),
            r#"{"Name":"E"}"#
        );
        let card = serde_json::to_string(&t.card).unwrap();
        let labels = CardLabels::default();
        assert!(card.contains(&labels.stale), "{card}");
        assert!(card.contains(&labels.unavailable), "{card}");
        // Without a profile, identity is an empty object rather than missing: the key's
        // presence says the feature is on.
        let t = build(
            &on(),
            &Sources {
                profile: None,
                orders: None,
                tickets: None,
                stale: &[],
            },
        );
        assert_eq!(serde_json::to_string(&t.identity).unwrap(), "{}");
    }
}

/// The tiles inside the enrich answer (src/aggregate.rs).
#[cfg(test)]
mod answer_tests {
    use super::*;
    use crate::aggregate::Gathered;
    use crate::config::PromptSettings;
    use crate::service::{parse_reply, Service};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn the_answer_carries_identity_and_card_only_when_on() {
        let p = parse_reply(
            Service::Profile,
            br#"{"fullName":"Elena Rostova","customerId":"CUST-992847"}"#,
            1 << 20,
            50,
        )
        .unwrap();
        let g = Gathered {
            records: [Some(&p), None, None].into(),
            ..Gathered::default()
        };
        let prompt = PromptSettings::default();
        let off: serde_json::Value = serde_json::from_str(
            &g.answer_json_with(&prompt, Some(&CopilotSettings::default()))
                .unwrap(),
        )
        .unwrap();
        assert!(
            off.get("identity").is_none() && off.get("card").is_none(),
            "{off}"
        );
        let on = CopilotSettings {
            identity: true,
            card: true,
            ..CopilotSettings::default()
        };
        let body = g.answer_json_with(&prompt, Some(&on)).unwrap();
        assert!(
            body.contains(r#""identity":{"Name":"Elena Rostova","Customer ID":"CUST-992847"},"card":{"type":"AdaptiveCard""#),
            "{body}"
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v["degraded"],
            serde_json::json!(["recentOrders", "openTickets"])
        );
        assert!(v["card"].to_string().contains(&on.labels.unavailable));
    }
}
