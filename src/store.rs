//! proxy-wasm shared data as the core sees it: a key/value store with compare-and-swap, shared by
//! every worker's VM. The glue implements it over the host; [`MemoryStore`] implements it with the
//! host's semantics for tests, where several engines sharing one store model several workers.

use std::cell::RefCell;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CasMismatch;

pub trait SharedStore {
    /// The value and its CAS stamp, or `None` when the key was never set.
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)>;
    /// Sets `key`. With `cas`, only if the key still carries that stamp (like the host, a key that
    /// does not exist yet is always set).
    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), CasMismatch>;
}

/// An in-process store with Envoy's semantics (every write gets a new stamp).
type Entries = HashMap<String, (Vec<u8>, u32)>;

#[derive(Debug, Default)]
pub struct MemoryStore {
    /// The entries and the last stamp given out.
    inner: RefCell<(Entries, u32)>,
}

impl SharedStore for MemoryStore {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.inner.borrow().0.get(key).cloned()
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), CasMismatch> {
        let mut inner = self.inner.borrow_mut();
        let (map, next) = &mut *inner;
        if let (Some(expected), Some((_, stamp))) = (cas, map.get(key)) {
            if expected != 0 && expected != *stamp {
                return Err(CasMismatch);
            }
        }
        *next = next.wrapping_add(1).max(1);
        map.insert(key.to_owned(), (value.to_vec(), *next));
        Ok(())
    }
}

/// Creates `key` (empty) when it does not exist, so later CAS writes on it are real CAS writes.
pub fn ensure_key(store: &dyn SharedStore, key: &str) {
    if store.get(key).is_none() {
        let _ = store.set(key, b"", None);
    }
}

/// A number no other VM sharing `store` got from this function: VMs need distinct identities to
/// hold a lease, and context ids repeat across VMs.
pub fn unique_id(store: &dyn SharedStore, key: &str) -> u64 {
    ensure_key(store, key);
    for _ in 0..1000 {
        let Some((bytes, cas)) = store.get(key) else {
            continue;
        };
        let current: u64 = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let next = current.wrapping_add(1);
        if store
            .set(key, next.to_string().as_bytes(), Some(cas))
            .is_ok()
        {
            return next;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn cas_semantics() {
        let s = MemoryStore::default();
        assert_eq!(s.get("k"), None);
        s.set("k", b"a", Some(42)).unwrap();
        let (v, cas) = s.get("k").unwrap();
        assert_eq!(v, b"a");
        assert_eq!(s.set("k", b"b", Some(cas + 1)), Err(CasMismatch));
        s.set("k", b"b", Some(cas)).unwrap();
        assert_eq!(s.set("k", b"c", Some(cas)), Err(CasMismatch));
        s.set("k", b"c", None).unwrap();
        assert_eq!(s.get("k").unwrap().0, b"c");
    }

    #[test]
    fn unique_ids_differ() {
        let s = MemoryStore::default();
        let ids: Vec<u64> = (0..5).map(|_| unique_id(&s, "seq")).collect();
        assert_eq!(ids, [1, 2, 3, 4, 5]);
    }
}
