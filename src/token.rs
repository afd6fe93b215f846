//! The OAuth2 client-credentials token, shared by every worker's VM through shared data.
//!
//! Two keys: the token entry (valid token with its expiry and refresh time, or the last failure
//! with when to try again) and a lease. A VM fetches only after taking the lease with CAS, so one
//! fetch runs at a time across the whole Envoy; the lease expires by itself, so a VM that dies
//! mid-fetch cannot block the others. Everyone else reads the entry.

use base64::Engine as _;
use log::{info, warn};
use serde::{Deserialize, Serialize};

use crate::callout::{Bearer, Call, CallReply};
use crate::config::{ClientAuth, TokenSettings};
use crate::encode;
use crate::error::TokenFailure;
use crate::store::{ensure_key, unique_id, SharedStore};
use crate::token_reply::{self, Note, Refusal};

/// A VM renews ahead of expiry only while it has used the token this recently, so an idle Envoy
/// does not keep fetching tokens nobody needs.
const RECENT_USE_MS: u64 = 10 * 60 * 1000;
/// Time after the fetch's own timeout before its lease lapses.
const LEASE_SLACK_MS: u64 = 1000;
/// How often a VM looks for a renewal another VM is making.
const RENEWAL_POLL_MS: u64 = 10;
/// Most of a token's life that may be shaved off as a safety margin against clock skew.
const EXPIRY_SKEW_MS: u64 = 5000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
enum Entry {
    #[serde(rename_all = "camelCase")]
    Valid {
        token: String,
        expires_at: u64,
        refresh_at: u64,
        refresh_failures: u32,
    },
    #[serde(rename_all = "camelCase")]
    Failed {
        kind: TokenFailure,
        retry_at: u64,
        failures: u32,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct Lease {
    owner: u64,
    until: u64,
}

/// What a request sees when it needs the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenView {
    Ready(Bearer),
    /// None yet (or expired): wait; some VM is or will be fetching.
    Wait,
    /// The last fetch failed and the backoff has not run out.
    Failed(TokenFailure),
}

#[derive(Debug)]
pub struct TokenCache {
    token_key: String,
    lease_key: String,
    owner: u64,
    /// Set while this VM's fetch is in flight: until when its lease holds.
    fetch_until: Option<u64>,
    last_used_ms: Option<u64>,
    /// The last entry read, so an unchanged entry is not parsed again.
    cached: Option<Cached>,
}

/// An entry as read from the store, by CAS stamp.
#[derive(Debug)]
struct Cached {
    cas: u32,
    entry: Option<Entry>,
    /// A valid entry's token, ready to send.
    bearer: Option<Bearer>,
}

/// The access token and its lifetime in ms, or why the reply is unusable. Logs what a person
/// fixing the token server needs (never the token): one line per fetch, which happens once per
/// token lifetime for the whole Envoy.
fn classify(reply: &CallReply, s: &TokenSettings) -> Result<(String, u64), TokenFailure> {
    match token_reply::parse(reply, s.default_lifetime_ms) {
        Ok(issued) => {
            for note in &issued.notes {
                match note {
                    Note::NoTokenType => warn!(
                        "OAuth token fetched: the reply has no token_type; using it as a Bearer token"
                    ),
                    Note::NoExpiresIn => info!(
                        "OAuth token fetched: the reply has no expires_in; assuming token.defaultLifetimeMs ({} ms)",
                        s.default_lifetime_ms
                    ),
                    Note::Clamped => {
                        info!("OAuth token fetched: the reply's expires_in is over 24 h; renewing within 24 h")
                    }
                }
            }
            Ok((issued.access_token, issued.lifetime_ms))
        }
        Err(refusal) => {
            match &refusal {
                Refusal::UnsupportedType(t) => warn!(
                    "OAuth token fetch failed: token_type {t:?} is not Bearer (only Bearer tokens can be sent to the services)"
                ),
                Refusal::BadExpiresIn => warn!(
                    "OAuth token fetch failed: expires_in is not a positive whole number of seconds"
                ),
                Refusal::NoAccessToken => {
                    warn!("OAuth token fetch failed: the reply has no usable access_token")
                }
                Refusal::NotJson => warn!("OAuth token fetch failed: the reply is not a JSON object"),
                Refusal::Rejected(_) | Refusal::Status(_) => {}
            }
            Err(refusal.kind())
        }
    }
}

fn backoff(s: &TokenSettings, failures: u32) -> u64 {
    crate::backoff::exponential(s.failure_backoff_ms, s.failure_backoff_max_ms, failures)
}

impl TokenCache {
    /// `namespace` separates tokens of differently configured filters that share one VM id.
    pub fn new(store: &dyn SharedStore, namespace: &str) -> Self {
        let token_key = format!("cognigy_enrich.token.{namespace}");
        let lease_key = format!("cognigy_enrich.token_lease.{namespace}");
        ensure_key(store, &token_key);
        ensure_key(store, &lease_key);
        let owner = unique_id(store, "cognigy_enrich.vm_seq");
        TokenCache {
            token_key,
            lease_key,
            owner,
            fetch_until: None,
            last_used_ms: None,
            cached: None,
        }
    }

    fn read(&mut self, store: &dyn SharedStore) -> (Option<Entry>, Option<u32>) {
        match self.current(store) {
            Some(c) => (c.entry.clone(), Some(c.cas)),
            None => (None, None),
        }
    }

    /// The entry in the store, parsed again only when its CAS stamp moved.
    fn current(&mut self, store: &dyn SharedStore) -> Option<&Cached> {
        let (bytes, cas) = store.get(&self.token_key)?;
        if !self.cached.as_ref().is_some_and(|c| c.cas == cas) {
            let entry: Option<Entry> = if bytes.is_empty() {
                None
            } else {
                serde_json::from_slice(&bytes).ok()
            };
            let bearer = match &entry {
                Some(Entry::Valid { token, .. }) => Some(Bearer::new(token)),
                _ => None,
            };
            self.cached = Some(Cached { cas, entry, bearer });
        }
        self.cached.as_ref()
    }

    fn write(&mut self, store: &dyn SharedStore, entry: &Entry) {
        if let Ok(bytes) = serde_json::to_vec(entry) {
            let _ = store.set(&self.token_key, &bytes, None);
        }
    }

    /// The token for a request about to call the services.
    pub fn view(&mut self, now: u64, store: &dyn SharedStore) -> TokenView {
        let bearer = match self.current(store) {
            Some(Cached {
                entry: Some(Entry::Valid { expires_at, .. }),
                bearer: Some(bearer),
                ..
            }) if now < *expires_at => bearer.clone(),
            Some(Cached {
                entry: Some(Entry::Failed { kind, retry_at, .. }),
                ..
            }) if now < *retry_at => return TokenView::Failed(*kind),
            _ => return TokenView::Wait,
        };
        self.last_used_ms = Some(now);
        TokenView::Ready(bearer)
    }

    pub fn is_fetching(&self, now: u64) -> bool {
        self.fetch_until.is_some_and(|until| now < until)
    }

    fn recently_used(&self, now: u64) -> bool {
        self.last_used_ms
            .is_some_and(|t| now.saturating_sub(t) < RECENT_USE_MS)
    }

    /// Called from the root's tick: true when this VM should fetch now, having taken the lease.
    /// `waiters` says whether requests of this VM are waiting for a token.
    pub fn should_fetch(
        &mut self,
        now: u64,
        store: &dyn SharedStore,
        waiters: bool,
        s: &TokenSettings,
    ) -> bool {
        if self.is_fetching(now) {
            return false;
        }
        self.fetch_until = None;
        let recent = self.recently_used(now);
        let want = match self.current(store).and_then(|c| c.entry.as_ref()) {
            Some(Entry::Valid {
                expires_at,
                refresh_at,
                ..
            }) => {
                if now < *expires_at {
                    now >= *refresh_at && recent
                } else {
                    waiters || recent
                }
            }
            Some(Entry::Failed { retry_at, .. }) => waiters && now >= *retry_at,
            None => waiters,
        };
        want && self.take_lease(now, store, s)
    }

    fn take_lease(&mut self, now: u64, store: &dyn SharedStore, s: &TokenSettings) -> bool {
        ensure_key(store, &self.lease_key);
        let Some((bytes, cas)) = store.get(&self.lease_key) else {
            return false;
        };
        if let Ok(lease) = serde_json::from_slice::<Lease>(&bytes) {
            if lease.until > now && lease.owner != self.owner {
                return false;
            }
        }
        let until = now
            .saturating_add(s.timeout_ms)
            .saturating_add(LEASE_SLACK_MS);
        let Ok(lease) = serde_json::to_vec(&Lease {
            owner: self.owner,
            until,
        }) else {
            return false;
        };
        if store.set(&self.lease_key, &lease, Some(cas)).is_ok() {
            self.fetch_until = Some(until);
            true
        } else {
            false
        }
    }

    fn release_lease(&mut self, store: &dyn SharedStore) {
        self.fetch_until = None;
        if let Some((bytes, cas)) = store.get(&self.lease_key) {
            if serde_json::from_slice::<Lease>(&bytes).is_ok_and(|l| l.owner == self.owner) {
                let _ = store.set(&self.lease_key, b"", Some(cas));
            }
        }
    }

    /// The client-credentials request. With `clientAuth: basic` the id and secret go, each
    /// form-encoded first (RFC 6749 2.3.1), into `Authorization: Basic` and not into the body.
    pub fn fetch_call(s: &TokenSettings) -> Call {
        let mut headers = vec![
            (":method", "POST".into()),
            (":path", s.path.clone().into()),
            (":authority", s.authority.clone().into()),
            ("content-type", "application/x-www-form-urlencoded".into()),
            ("accept", "application/json".into()),
        ];
        let body = match s.client_auth {
            ClientAuth::Body => format!(
                "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
                encode::form_value(&s.client_id),
                encode::form_value(s.client_secret.expose()),
                encode::form_value(&s.scope)
            ),
            ClientAuth::Basic => {
                let pair = format!(
                    "{}:{}",
                    encode::form_value(&s.client_id),
                    encode::form_value(s.client_secret.expose())
                );
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                headers.push(("authorization", format!("Basic {encoded}").into()));
                format!(
                    "grant_type=client_credentials&scope={}",
                    encode::form_value(&s.scope)
                )
            }
        };
        Call {
            cluster: s.cluster.as_str().into(),
            headers,
            body: Some(body.into_bytes()),
            timeout_ms: s.timeout_ms,
        }
    }

    /// Records the outcome of this VM's fetch for every VM and gives up the lease. A failed
    /// renewal keeps a still-valid token in place and only pushes the next renewal back.
    pub fn on_reply(
        &mut self,
        now: u64,
        reply: &CallReply,
        store: &dyn SharedStore,
        s: &TokenSettings,
    ) -> Result<(), TokenFailure> {
        let outcome = classify(reply, s);
        let current = self.read(store).0;
        let entry = match (&outcome, current) {
            (Ok((token, life)), _) => {
                let skew = EXPIRY_SKEW_MS.min(life / 10);
                let margin = s.refresh_margin_ms.min(life / 3);
                Entry::Valid {
                    token: token.clone(),
                    expires_at: now.saturating_add(life - skew),
                    refresh_at: now.saturating_add(life - margin),
                    refresh_failures: 0,
                }
            }
            (
                Err(_),
                Some(Entry::Valid {
                    token,
                    expires_at,
                    refresh_failures,
                    ..
                }),
            ) if now < expires_at => {
                let failures = refresh_failures.saturating_add(1);
                Entry::Valid {
                    token,
                    expires_at,
                    refresh_at: now.saturating_add(backoff(s, failures)).min(expires_at),
                    refresh_failures: failures,
                }
            }
            (Err(kind), previous) => {
                let failures = match previous {
                    Some(Entry::Failed { failures, .. }) => failures.saturating_add(1),
                    _ => 1,
                };
                Entry::Failed {
                    kind: *kind,
                    retry_at: now.saturating_add(backoff(s, failures)),
                    failures,
                }
            }
        };
        self.write(store, &entry);
        self.release_lease(store);
        outcome.map(|_| ())
    }

    /// A service answered 401 to `used`: drop it for every VM, unless someone already replaced it.
    pub fn invalidate(&mut self, used: &str, store: &dyn SharedStore) {
        if let (Some(Entry::Valid { token, .. }), Some(cas)) = self.read(store) {
            if token == used {
                let _ = store.set(&self.token_key, b"", Some(cas));
            }
        }
    }

    /// When the root should next look at the token without any request asking: the renewal time
    /// while the token is in use, and the end of this VM's lease while it fetches.
    pub fn next_wake(&self, now: u64) -> Option<u64> {
        let fetch = self.fetch_until;
        let refresh = match &self.cached {
            // A renewal already due is another VM's to make (it holds the lease): look again
            // shortly rather than on every millisecond until its token lands.
            Some(Cached {
                entry: Some(Entry::Valid { refresh_at, .. }),
                ..
            }) if self.recently_used(now) => {
                Some((*refresh_at).max(now.saturating_add(RENEWAL_POLL_MS)))
            }
            _ => None,
        };
        match (fetch, refresh) {
            (Some(f), _) => Some(f),
            (None, r) => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_settings;
    use crate::store::MemoryStore;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn ts() -> TokenSettings {
        test_settings("{}").token
    }

    fn ok(token: &str, expires_in: u64) -> CallReply {
        let body = format!(
            r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{expires_in}}}"#
        );
        CallReply {
            status: Some(200),
            retry_after: None,
            body_size: body.len(),
            body: body.into_bytes(),
        }
    }

    fn status(code: u16) -> CallReply {
        CallReply {
            status: Some(code),
            ..CallReply::default()
        }
    }

    #[test]
    fn fetch_request_is_client_credentials_form() {
        let call = TokenCache::fetch_call(&ts());
        assert_eq!(&*call.cluster, "token_service");
        assert_eq!(call.header(":method"), Some("POST"));
        assert_eq!(call.header(":path"), Some("/oauth2/token"));
        assert_eq!(call.header("authorization"), None);
        assert_eq!(
            call.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        let body = String::from_utf8(call.body.unwrap()).unwrap();
        assert_eq!(
            body,
            "grant_type=client_credentials&client_id=cognigy-proxy-client&client_secret=proxy-secret-key&scope=customer%3Aread%20orders%3Aread%20crm%3Aread"
        );
    }

    #[test]
    fn basic_client_auth_moves_the_credentials_to_the_header() {
        let mut s = ts();
        s.client_auth = ClientAuth::Basic;
        s.client_id = "id with:+%/é".to_owned();
        s.client_secret = crate::secret::Secret::new("s e:c+r%e/t€");
        let call = TokenCache::fetch_call(&s);
        let header = call.header("authorization").unwrap();
        let encoded = header.strip_prefix("Basic ").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "id%20with%3A%2B%25%2F%C3%A9:s%20e%3Ac%2Br%25e%2Ft%E2%82%AC"
        );
        let body = String::from_utf8(call.body.unwrap()).unwrap();
        assert_eq!(
            body,
            "grant_type=client_credentials&scope=customer%3Aread%20orders%3Aread%20crm%3Aread"
        );
        assert!(
            !body.contains("client_id") && !body.contains("client_secret"),
            "no credentials in the body"
        );
    }

    #[test]
    fn reply_without_expires_in_lives_the_default_and_is_fetched_once() {
        let store = MemoryStore::default();
        let s = ts();
        assert_eq!(s.default_lifetime_ms, 300_000);
        let mut a = TokenCache::new(&store, "t");
        let mut b = TokenCache::new(&store, "t");
        assert!(a.should_fetch(0, &store, true, &s));
        let r = CallReply {
            status: Some(200),
            body: br#"{"access_token":"D","token_type":"bearer"}"#.to_vec(),
            ..CallReply::default()
        };
        assert_eq!(a.on_reply(0, &r, &store, &s), Ok(()));
        // both VMs use it; nobody fetches again before the refresh (300 s - 60 s margin)
        assert_eq!(a.view(1, &store), TokenView::Ready("D".into()));
        assert_eq!(b.view(1, &store), TokenView::Ready("D".into()));
        assert!(!a.should_fetch(239_999, &store, true, &s));
        assert!(!b.should_fetch(239_999, &store, true, &s));
        assert_eq!(a.next_wake(2), Some(240_000), "refreshed ahead");
        assert!(a.should_fetch(240_000, &store, false, &s));
        assert!(!b.should_fetch(240_000, &store, false, &s), "one fetch");
        // still valid until 300 s less the skew
        assert_eq!(b.view(294_999, &store), TokenView::Ready("D".into()));
    }

    #[test]
    fn refused_reply_backs_off_instead_of_looping() {
        let store = MemoryStore::default();
        let s = ts();
        let mut a = TokenCache::new(&store, "t");
        let bad = CallReply {
            status: Some(200),
            body: br#"{"access_token":"x","token_type":"Bearer","expires_in":0}"#.to_vec(),
            ..CallReply::default()
        };
        assert!(a.should_fetch(0, &store, true, &s));
        assert_eq!(
            a.on_reply(1, &bad, &store, &s),
            Err(TokenFailure::Unavailable)
        );
        for t in [2, 100, 500, 1000] {
            assert!(!a.should_fetch(t, &store, true, &s), "backoff at {t}");
            assert_eq!(
                a.view(t, &store),
                TokenView::Failed(TokenFailure::Unavailable)
            );
        }
        assert!(a.should_fetch(1001, &store, true, &s), "after 1 s");
    }

    #[test]
    fn cold_start_single_flight_across_vms() {
        let store = MemoryStore::default();
        let s = ts();
        let mut a = TokenCache::new(&store, "t");
        let mut b = TokenCache::new(&store, "t");
        assert_ne!(a.owner, b.owner);
        assert_eq!(a.view(0, &store), TokenView::Wait);
        assert!(
            !a.should_fetch(0, &store, false, &s),
            "no waiters, no fetch"
        );
        assert!(a.should_fetch(0, &store, true, &s));
        assert!(!a.should_fetch(1, &store, true, &s), "already fetching");
        assert!(!b.should_fetch(1, &store, true, &s), "lease held by a");
        a.on_reply(10, &ok("T1", 3600), &store, &s).unwrap();
        assert_eq!(b.view(11, &store), TokenView::Ready("T1".into()));
        assert_eq!(a.view(11, &store), TokenView::Ready("T1".into()));
        assert!(
            !b.should_fetch(12, &store, true, &s),
            "valid token, nothing to fetch"
        );
    }

    #[test]
    fn expiry_and_refresh_times() {
        let store = MemoryStore::default();
        let s = ts();
        let mut a = TokenCache::new(&store, "t");
        assert!(a.should_fetch(0, &store, true, &s));
        a.on_reply(0, &ok("T1", 3600), &store, &s).unwrap();
        // in use; refresh is due 60 s (the margin) before the end
        assert_eq!(a.view(3_500_000, &store), TokenView::Ready("T1".into()));
        assert_eq!(a.next_wake(3_500_000), Some(3_540_000));
        assert!(!a.should_fetch(3_539_999, &store, false, &s));
        assert!(
            a.should_fetch(3_540_000, &store, false, &s),
            "refresh ahead"
        );
        // still usable while the renewal runs; the renewal replaces it
        assert_eq!(a.view(3_540_001, &store), TokenView::Ready("T1".into()));
        a.on_reply(3_540_010, &ok("T2", 3600), &store, &s).unwrap();
        assert_eq!(a.view(3_540_011, &store), TokenView::Ready("T2".into()));
    }

    #[test]
    fn short_lived_token_margin_is_a_third_and_expiry_has_skew() {
        let store = MemoryStore::default();
        let s = ts();
        let mut a = TokenCache::new(&store, "t");
        assert!(a.should_fetch(0, &store, true, &s));
        a.on_reply(0, &ok("T", 3), &store, &s).unwrap();
        assert_eq!(a.view(2699, &store), TokenView::Ready("T".into()));
        assert_eq!(a.view(2700, &store), TokenView::Wait, "expired 10% early");
        assert_eq!(a.next_wake(2700), Some(2710), "past due: poll, not spin");
    }

    #[test]
    fn idle_vm_does_not_refresh() {
        let store = MemoryStore::default();
        let s = ts();
        let mut a = TokenCache::new(&store, "t");
        assert!(a.should_fetch(0, &store, true, &s));
        a.on_reply(0, &ok("T", 3600), &store, &s).unwrap();
        // never used by a request on this VM
        assert_eq!(a.next_wake(1), None);
        assert!(!a.should_fetch(3_550_000, &store, false, &s));
    }

    #[test]
    fn failure_backoff_then_recovery() {
        let store = MemoryStore::default();
        let s = ts();
        let mut a = TokenCache::new(&store, "t");
        assert!(a.should_fetch(0, &store, true, &s));
        assert_eq!(
            a.on_reply(5, &status(503), &store, &s),
            Err(TokenFailure::Unavailable)
        );
        assert_eq!(
            a.view(6, &store),
            TokenView::Failed(TokenFailure::Unavailable)
        );
        assert!(!a.should_fetch(500, &store, true, &s), "backoff 1 s");
        assert_eq!(a.view(1005, &store), TokenView::Wait);
        assert!(a.should_fetch(1005, &store, true, &s));
        assert_eq!(
            a.on_reply(1010, &CallReply::default(), &store, &s),
            Err(TokenFailure::Unavailable)
        );
        assert_eq!(
            a.view(2500, &store),
            TokenView::Failed(TokenFailure::Unavailable),
            "backoff doubled to 2 s"
        );
        assert!(a.should_fetch(3010, &store, true, &s));
        a.on_reply(3020, &ok("T", 60), &store, &s).unwrap();
        assert_eq!(a.view(3021, &store), TokenView::Ready("T".into()));
    }

    #[test]
    fn refused_credentials_and_bad_replies() {
        let s = ts();
        for (reply, want) in [
            (status(401), TokenFailure::Rejected),
            (status(400), TokenFailure::Rejected),
            (status(500), TokenFailure::Unavailable),
            (
                CallReply {
                    status: Some(200),
                    body: br#"{"expires_in":60}"#.to_vec(),
                    ..CallReply::default()
                },
                TokenFailure::Unavailable,
            ),
            (
                CallReply {
                    status: Some(200),
                    body: br#"{"access_token":"x","token_type":"mac","expires_in":60}"#.to_vec(),
                    ..CallReply::default()
                },
                TokenFailure::Unavailable,
            ),
            (
                CallReply {
                    status: Some(200),
                    body: br#"{"access_token":"x","expires_in":"1.5"}"#.to_vec(),
                    ..CallReply::default()
                },
                TokenFailure::Unavailable,
            ),
            (
                CallReply {
                    status: Some(200),
                    body: br#"{"access_token":"x","expires_in":0}"#.to_vec(),
                    ..CallReply::default()
                },
                TokenFailure::Unavailable,
            ),
            (
                CallReply {
                    status: Some(200),
                    body: b"<html>".to_vec(),
                    ..CallReply::default()
                },
                TokenFailure::Unavailable,
            ),
        ] {
            let store = MemoryStore::default();
            let mut a = TokenCache::new(&store, "t");
            assert!(a.should_fetch(0, &store, true, &s));
            assert_eq!(a.on_reply(1, &reply, &store, &s), Err(want));
            assert_eq!(a.view(2, &store), TokenView::Failed(want));
        }
        let store = MemoryStore::default();
        let mut a = TokenCache::new(&store, "t");
        assert!(a.should_fetch(0, &store, true, &s));
        let r = CallReply {
            status: Some(200),
            body: br#"{"access_token":"x","expires_in":"120"}"#.to_vec(),
            ..CallReply::default()
        };
        assert_eq!(a.on_reply(1, &r, &store, &s), Ok(()));
    }

    #[test]
    fn failed_renewal_keeps_valid_token() {
        let store = MemoryStore::default();
        let s = ts();
        let mut a = TokenCache::new(&store, "t");
        assert!(a.should_fetch(0, &store, true, &s));
        a.on_reply(0, &ok("T", 3600), &store, &s).unwrap();
        a.view(3_500_000, &store);
        assert!(a.should_fetch(3_540_000, &store, false, &s));
        assert!(a.on_reply(3_540_001, &status(503), &store, &s).is_err());
        assert_eq!(a.view(3_540_002, &store), TokenView::Ready("T".into()));
        assert!(
            !a.should_fetch(3_540_500, &store, false, &s),
            "renewal backs off"
        );
        assert!(a.should_fetch(3_541_001, &store, false, &s));
    }

    #[test]
    fn invalidate_drops_only_the_token_that_was_used() {
        let store = MemoryStore::default();
        let s = ts();
        let mut a = TokenCache::new(&store, "t");
        let mut b = TokenCache::new(&store, "t");
        assert!(a.should_fetch(0, &store, true, &s));
        a.on_reply(0, &ok("T1", 3600), &store, &s).unwrap();
        b.invalidate("OTHER", &store);
        assert_eq!(a.view(1, &store), TokenView::Ready("T1".into()));
        b.invalidate("T1", &store);
        assert_eq!(a.view(2, &store), TokenView::Wait);
        assert!(b.should_fetch(3, &store, true, &s));
        assert!(!a.should_fetch(3, &store, true, &s));
    }

    #[test]
    fn dead_fetcher_lease_expires() {
        let store = MemoryStore::default();
        let s = ts();
        let mut a = TokenCache::new(&store, "t");
        let mut b = TokenCache::new(&store, "t");
        assert!(a.should_fetch(0, &store, true, &s));
        drop(a); // the VM holding the lease is gone
        let lapse = s.timeout_ms + LEASE_SLACK_MS;
        assert!(!b.should_fetch(lapse - 1, &store, true, &s));
        assert!(b.should_fetch(lapse, &store, true, &s));
    }
}
