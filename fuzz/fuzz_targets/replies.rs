//! What upstreams send back: any bytes as a profile / orders / tickets reply, as a token endpoint
//! reply (through `TokenCache::on_reply` over a `MemoryStore`, with whatever another VM may have
//! left in the shared entries), and as a `Retry-After` value. Never a panic; what is accepted
//! keeps its promises (list lengths, raw JSON, tokens without control characters).

#![no_main]

use std::sync::OnceLock;

use cognigy_enrich::backoff::{retry_after_ms, RetryPolicy};
use cognigy_enrich::callout::CallReply;
use cognigy_enrich::config::{Settings, TokenSettings};
use cognigy_enrich::httpdate;
use cognigy_enrich::service::{parse_reply, ReplyError, Service, ServiceData};
use cognigy_enrich::store::{MemoryStore, SharedStore};
use cognigy_enrich::token::{TokenCache, TokenView};
use cognigy_enrich_fuzz::{settings, Bytes};
use libfuzzer_sys::fuzz_target;

const NAMESPACE: &str = "fuzz";
const TOKEN_KEY: &str = "cognigy_enrich.token.fuzz";
const LEASE_KEY: &str = "cognigy_enrich.token_lease.fuzz";
/// A realistic wall clock (ms since the epoch).
const NOW: u64 = 1_767_225_600_000;

fn token_settings() -> &'static TokenSettings {
    static S: OnceLock<Settings> = OnceLock::new();
    &S.get_or_init(|| settings("{}")).token
}

fn service_reply(b: &mut Bytes<'_>) {
    let service = *b.pick(&Service::ALL);
    let max_items = usize::from(b.u8() % 60) + 1;
    let max_body = *b.pick(&[64usize, 1024, 1 << 20]);
    let body = b.rest();
    match parse_reply(service, body, max_body, max_items) {
        Ok(data) => {
            assert!(body.len() <= max_body);
            match (service, data) {
                (Service::Profile, ServiceData::Profile(p)) => {
                    // One JSON object, exactly the body less the whitespace around it: the
                    // record is kept as text, so nothing but this pass vouches for it.
                    assert!(p.raw.starts_with('{'));
                    let whole: &serde_json::value::RawValue = serde_json::from_slice(body)
                        .unwrap_or_else(|e| panic!("accepted a profile that is not JSON: {e}"));
                    assert_eq!(whole.get(), &*p.raw);
                    for label in [&p.full_name, &p.segment].into_iter().flatten() {
                        assert!(!label.is_empty());
                    }
                }
                (Service::Orders | Service::Tickets, ServiceData::List(l)) => {
                    assert!(l.items.len() <= max_items);
                    // Items are passed on verbatim: valid JSON text, though not necessarily
                    // representable by every parser (a number like 1e400 is valid JSON that
                    // serde_json refuses and JavaScript reads as Infinity).
                    for item in &l.items {
                        let ok = serde_json::from_str::<serde::de::IgnoredAny>(item.get());
                        assert!(ok.is_ok(), "{:?}", item.get());
                    }
                    if l.items.is_empty() {
                        assert!(l.first_label.is_none());
                    }
                }
                (s, d) => panic!("{s:?} gave {d:?}"),
            }
        }
        Err(ReplyError::TooLarge) => assert!(body.len() > max_body),
        Err(_) => assert!(body.len() <= max_body),
    }
}

fn token_reply(b: &mut Bytes<'_>) {
    let s = token_settings();
    let store = MemoryStore::default();
    // Whatever another VM (another version of the filter, say) left in the shared entries.
    if b.bool() {
        let _ = store.set(TOKEN_KEY, b.chunk(), None);
    }
    if b.bool() {
        let _ = store.set(LEASE_KEY, b.chunk(), None);
    }
    let mut cache = TokenCache::new(&store, NAMESPACE);
    let mut other = TokenCache::new(&store, NAMESPACE);
    let now = NOW + u64::from(b.u16());
    let _ = cache.view(now, &store);
    let _ = cache.should_fetch(now, &store, b.bool(), s);
    let _ = cache.next_wake(now);
    let status = *b.pick(&[
        Some(200),
        Some(201),
        Some(204),
        Some(400),
        Some(401),
        Some(403),
        Some(429),
        Some(500),
        Some(503),
        None,
    ]);
    let body = b.rest().to_vec();
    let reply = CallReply {
        status,
        retry_after: None,
        body_size: body.len(),
        body,
    };
    let outcome = cache.on_reply(now, &reply, &store, s);
    let later = now + 1;
    match (outcome, other.view(later, &store)) {
        (Ok(()), TokenView::Ready(token)) => {
            let t = token.token();
            assert!(!t.is_empty() && !t.chars().any(char::is_control));
            assert_eq!(cache.view(later, &store), TokenView::Ready(token));
        }
        (Ok(()), v) => panic!("a fetched token is not ready for other VMs: {v:?}"),
        (Err(kind), TokenView::Failed(seen)) => assert_eq!(kind, seen),
        // A failed renewal keeps a still-valid token (one the store already held).
        (Err(_), TokenView::Ready(_)) => {}
        (Err(_), TokenView::Wait) => panic!("a failed fetch is not seen as failed"),
    }
    let _ = other.should_fetch(later, &store, true, s);
    let _ = other.next_wake(later);
    other.invalidate("x", &store);
}

fn retry_after(b: &mut Bytes<'_>) {
    let now = NOW + u64::from(b.u32());
    let value = String::from_utf8_lossy(b.rest());
    let _ = httpdate::parse_ms(&value);
    if let Some(delay) = retry_after_ms(&value, now) {
        let policy = RetryPolicy::default();
        let deadline = now + 4500;
        if let Some(at) = policy.next_attempt_at(1, Some(&value), now, deadline) {
            assert!(at >= now && at < deadline && at - now == delay);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    match b.u8() % 3 {
        0 => service_reply(&mut b),
        1 => token_reply(&mut b),
        _ => retry_after(&mut b),
    }
});
