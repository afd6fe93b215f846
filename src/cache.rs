//! The optional per-service response cache in shared data, shared by every worker.
//!
//! Memory is bounded by a fixed number of slots per service: a reply is stored in the slot its
//! request hashes to, replacing whatever was there. Each entry carries the exact upstream request
//! path it answers, so a slot shared by two customers can only ever miss, never answer for the
//! wrong one.

use serde::{Deserialize, Serialize};

use crate::store::SharedStore;

/// `services.<service>.cache`, read as is and range-checked by the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CacheSettings {
    pub ttl_ms: u64,
    /// How long past the TTL an entry may still answer when the service fails.
    #[serde(default)]
    pub stale_if_error_ms: u64,
    #[serde(default = "default_slots")]
    pub slots: u32,
}

fn default_slots() -> u32 {
    1024
}

#[derive(Serialize, Deserialize)]
struct Entry {
    /// The upstream request path and query this reply answers.
    key: String,
    stored_at: u64,
    body: String,
}

/// A cached reply and whether it is still within its TTL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached {
    pub body: Vec<u8>,
    pub fresh: bool,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The shared-data key of the slot for `request_key` of the service behind `cluster`.
pub fn slot_key(cluster: &str, request_key: &str, slots: u32) -> String {
    let slot = fnv1a(request_key.as_bytes()) % u64::from(slots.max(1));
    format!("cognigy_enrich.cache.{cluster}.{slot}")
}

/// The entry for exactly `request_key`, if it is within TTL (fresh) or within the stale window.
pub fn lookup(
    store: &dyn SharedStore,
    cluster: &str,
    request_key: &str,
    now: u64,
    s: &CacheSettings,
) -> Option<Cached> {
    let (bytes, _) = store.get(&slot_key(cluster, request_key, s.slots))?;
    if bytes.is_empty() {
        return None;
    }
    let entry: Entry = serde_json::from_slice(&bytes).ok()?;
    if entry.key != request_key {
        return None;
    }
    let age = now.saturating_sub(entry.stored_at);
    let fresh = age < s.ttl_ms;
    if !fresh && age >= s.ttl_ms.saturating_add(s.stale_if_error_ms) {
        return None;
    }
    Some(Cached {
        body: entry.body.into_bytes(),
        fresh,
    })
}

pub fn put(
    store: &dyn SharedStore,
    cluster: &str,
    request_key: &str,
    now: u64,
    body: &[u8],
    s: &CacheSettings,
) {
    let Ok(body) = std::str::from_utf8(body) else {
        return;
    };
    let entry = Entry {
        key: request_key.to_owned(),
        stored_at: now,
        body: body.to_owned(),
    };
    if let Ok(bytes) = serde_json::to_vec(&entry) {
        let _ = store.set(&slot_key(cluster, request_key, s.slots), &bytes, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const S: CacheSettings = CacheSettings {
        ttl_ms: 1000,
        stale_if_error_ms: 5000,
        slots: 8,
    };

    #[test]
    fn hit_expiry_and_stale_window() {
        let store = MemoryStore::default();
        assert_eq!(lookup(&store, "p", "/c/A", 0, &S), None);
        put(&store, "p", "/c/A", 100, b"{\"a\":1}", &S);
        assert_eq!(
            lookup(&store, "p", "/c/A", 1099, &S),
            Some(Cached {
                body: b"{\"a\":1}".to_vec(),
                fresh: true
            })
        );
        assert_eq!(
            lookup(&store, "p", "/c/A", 1100, &S).map(|c| c.fresh),
            Some(false)
        );
        assert_eq!(
            lookup(&store, "p", "/c/A", 6099, &S).map(|c| c.fresh),
            Some(false)
        );
        assert_eq!(lookup(&store, "p", "/c/A", 6100, &S), None);
    }

    #[test]
    fn bounded_slots_and_never_another_customers_reply() {
        let store = MemoryStore::default();
        for i in 0..100 {
            put(
                &store,
                "p",
                &format!("/c/{i}"),
                0,
                format!("{{\"i\":{i}}}").as_bytes(),
                &S,
            );
        }
        let keys: std::collections::HashSet<String> = (0..100)
            .map(|i| slot_key("p", &format!("/c/{i}"), S.slots))
            .collect();
        assert!(keys.len() <= 8, "{} keys", keys.len());
        for i in 0..100 {
            if let Some(hit) = lookup(&store, "p", &format!("/c/{i}"), 1, &S) {
                assert_eq!(
                    hit.body,
                    format!("{{\"i\":{i}}}").into_bytes(),
                    "slot answered for another customer"
                );
            }
        }
        assert!(
            lookup(&store, "p", "/c/99", 1, &S).is_some(),
            "the last write of a slot is kept"
        );
    }

    #[test]
    fn services_do_not_share_entries() {
        let store = MemoryStore::default();
        put(&store, "profile", "/c/A", 0, b"{}", &S);
        assert_eq!(lookup(&store, "orders", "/c/A", 1, &S), None);
    }
}
