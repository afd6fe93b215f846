//! A request's headers, read from the host in one call.
//!
//! One `proxy_get_header_map_pairs` costs about what one `proxy_get_header_map_value` does (a
//! crossing, and the host calling the VM's allocator for the answer), so reading all of them once
//! replaces the five to eight single reads an enrich request needs (`make bench`, host calls per
//! request). Values stay bytes: the SDK's string forms panic on a value that is not UTF-8 (HTTP/1
//! allows such bytes), which would take the worker's VM down. Names are another matter: the SDK's
//! map read unwraps each name as UTF-8, which is safe only because Envoy's codecs refuse a name
//! that is not an RFC 9110 token (400 before any filter runs); e2e_credentials holds that.

use proxy_wasm::hostcalls;
use proxy_wasm::types::MapType;

use super::count::{self, Kind};
use super::host::allocated;

pub struct RequestHeaders {
    pairs: Vec<(String, Vec<u8>)>,
}

impl RequestHeaders {
    /// Every request header, in the order Envoy holds them; none when the host refuses.
    pub fn read() -> Self {
        count::hit(Kind::GetHeaderMapPairs);
        let pairs = hostcalls::get_map_bytes(MapType::HttpRequestHeaders);
        allocated(pairs.is_ok());
        RequestHeaders {
            pairs: pairs.unwrap_or_default(),
        }
    }

    pub fn all(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// The first value of `name`, as Envoy's single-value read answers it, lossily decoded: such
    /// a value simply fails validation.
    pub fn first(&self, name: &str) -> Option<String> {
        self.all()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}
