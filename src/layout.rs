//! The version of what this build keeps in proxy-wasm shared data.
//!
//! Shared data belongs to the Envoy process and is keyed by `vm_id`, not by module: during a
//! module upgrade the old and the new build run side by side (the old one until its last request
//! is answered) and read and write the same entries. Every key is therefore prefixed with a
//! layout version. A build that changes what it writes (a key, the JSON of the token entry, the
//! lease or a cache slot) bumps [`LAYOUT`]; the two builds then keep apart - the new one fetches
//! its own token and fills its own cache - instead of one misreading the other's entries. Builds
//! with the same layout share them, so an upgrade that keeps the layout fetches no new token.

use crate::store::{CasMismatch, SharedStore};

/// This build's layout. 0 is the unprefixed keys of the builds before layouts.
pub const LAYOUT: u32 = 1;

/// The key `key` has under layout `version`.
pub fn layout_key(version: u32, key: &str) -> String {
    format!("v{version}.{key}")
}

/// A store seen through one layout version: every key is prefixed by [`layout_key`]. The glue
/// reaches the host's shared data only through this, with [`LAYOUT`].
pub struct Layout<'a> {
    pub version: u32,
    pub store: &'a dyn SharedStore,
}

impl SharedStore for Layout<'_> {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.store.get(&layout_key(self.version, key))
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), CasMismatch> {
        self.store.set(&layout_key(self.version, key), value, cas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{self, CacheSettings};
    use crate::callout::CallReply;
    use crate::config::test_settings;
    use crate::store::MemoryStore;
    use crate::token::{TokenCache, TokenView};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn token_reply(token: &str) -> CallReply {
        let body =
            format!(r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":3600}}"#);
        CallReply {
            status: Some(200),
            retry_after: None,
            body_size: body.len(),
            body: body.into_bytes(),
        }
    }

    const CACHE: CacheSettings = CacheSettings {
        ttl_ms: 30_000,
        stale_if_error_ms: 0,
        slots: 4,
    };

    /// An old and a new build on one store (one Envoy, one `vm_id`), one layout apart.
    #[test]
    fn two_layouts_side_by_side_never_read_each_other() {
        let host = MemoryStore::default();
        let old = Layout {
            version: 1,
            store: &host,
        };
        let new = Layout {
            version: 2,
            store: &host,
        };
        let s = test_settings("{}").token;
        let mut old_token = TokenCache::new(&old, "ns");
        let mut new_token = TokenCache::new(&new, "ns");

        // The old build fetches (it holds its lease meanwhile); the new one is not blocked by
        // that lease and fetches its own.
        assert!(old_token.should_fetch(0, &old, true, &s));
        assert!(
            new_token.should_fetch(1, &new, true, &s),
            "not the old lease"
        );
        old_token
            .on_reply(10, &token_reply("OLD"), &old, &s)
            .unwrap();
        assert_eq!(
            new_token.view(11, &new),
            TokenView::Wait,
            "not the old token"
        );
        new_token
            .on_reply(12, &token_reply("NEW"), &new, &s)
            .unwrap();
        assert_eq!(old_token.view(13, &old), TokenView::Ready("OLD".into()));
        assert_eq!(new_token.view(13, &new), TokenView::Ready("NEW".into()));

        // The caches: the same request in the same slot number, two entries.
        cache::put(&old, "profile", "/c/A", 0, br#"{"v":1}"#, &CACHE);
        assert_eq!(cache::lookup(&new, "profile", "/c/A", 1, &CACHE), None);
        cache::put(&new, "profile", "/c/A", 0, br#"{"v":2}"#, &CACHE);
        let body =
            |store: &Layout<'_>| cache::lookup(store, "profile", "/c/A", 1, &CACHE).map(|c| c.body);
        assert_eq!(body(&old), Some(br#"{"v":1}"#.to_vec()));
        assert_eq!(body(&new), Some(br#"{"v":2}"#.to_vec()));

        // Every entry either wrote is under its own prefix.
        let keys = |v: u32| {
            ["cognigy_enrich.token.ns", "cognigy_enrich.token_lease.ns"]
                .iter()
                .chain(&[cache::slot_key("profile", "/c/A", CACHE.slots).as_str()])
                .all(|k| host.get(&layout_key(v, k)).is_some())
        };
        assert!(keys(1) && keys(2));
        assert_eq!(
            host.get("cognigy_enrich.token.ns"),
            None,
            "nothing unprefixed"
        );
    }

    /// Whatever an unversioned (layout 0) build left under the bare keys stays invisible.
    #[test]
    fn entries_of_the_builds_before_layouts_are_not_read() {
        let host = MemoryStore::default();
        host.set(
            "cognigy_enrich.token.ns",
            br#"{"state":"valid","token":"ANCIENT","expiresAt":99999999999,"refreshAt":99999999999,"refreshFailures":0}"#,
            None,
        )
        .unwrap();
        let current = Layout {
            version: LAYOUT,
            store: &host,
        };
        let mut token = TokenCache::new(&current, "ns");
        assert_eq!(token.view(0, &current), TokenView::Wait);
        // The same bytes under this layout's key are read: the test looks at the right entry.
        let (bytes, _) = host.get("cognigy_enrich.token.ns").unwrap();
        current
            .set("cognigy_enrich.token.ns", &bytes, None)
            .unwrap();
        assert_eq!(token.view(0, &current), TokenView::Ready("ANCIENT".into()));
    }
}
