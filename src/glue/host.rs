//! Host calls the glue makes, each returning `Option`/`Result` instead of panicking.

use std::time::{Duration, UNIX_EPOCH};

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType, Status};

use super::count::{self, Kind};
use crate::layout::{Layout, LAYOUT};
use crate::store::{CasMismatch, SharedStore};

/// Wall-clock milliseconds: shared-data expiries must mean the same to every worker.
pub fn now_ms() -> u64 {
    count::hit(Kind::GetCurrentTime);
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One header value. Read as bytes: the SDK's string form unwraps `String::from_utf8`, and
/// HTTP/1 lets a caller (or a service) send any byte in a value, so a non-UTF-8 value would
/// panic and take the worker's VM down. Decoded lossily, such a value simply fails validation.
pub fn header(map: MapType, name: &str) -> Option<String> {
    count::hit(Kind::GetHeaderMapValue);
    let value = hostcalls::get_map_value_bytes(map, name).ok().flatten();
    allocated(value.is_some());
    value.map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// Counts the host's call into the VM's allocator when a host call handed data back.
pub fn allocated(returned: bool) {
    if returned {
        count::hit(Kind::MemoryAllocate);
    }
}

pub fn buffer(kind: BufferType, size: usize) -> Option<Vec<u8>> {
    count::hit(Kind::GetBuffer);
    match hostcalls::get_buffer(kind, 0, size) {
        Ok(Some(bytes)) => {
            allocated(true);
            Some(bytes)
        }
        Ok(None) => Some(Vec::new()),
        Err(_) => None,
    }
}

pub fn set_tick_ms(ms: u64) {
    count::hit(Kind::SetTickPeriod);
    let ms = u32::try_from(ms).unwrap_or(u32::MAX);
    let _ = hostcalls::set_tick_period(Duration::from_millis(u64::from(ms)));
}

/// Makes `context_id` the one later host calls act on; `false` when it no longer exists.
pub fn focus(context_id: u32) -> bool {
    count::hit(Kind::SetEffectiveContext);
    hostcalls::set_effective_context(context_id).is_ok()
}

/// Shared data over the host, under this build's layout version ([`LAYOUT`]).
pub struct HostStore;

impl SharedStore for HostStore {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        Layout {
            version: LAYOUT,
            store: &RawHostStore,
        }
        .get(key)
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), CasMismatch> {
        Layout {
            version: LAYOUT,
            store: &RawHostStore,
        }
        .set(key, value, cas)
    }
}

/// The host's shared data, keys as given.
struct RawHostStore;

impl SharedStore for RawHostStore {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        count::hit(Kind::GetSharedData);
        match hostcalls::get_shared_data(key) {
            Ok((value, Some(cas))) => {
                allocated(value.is_some());
                Some((value.unwrap_or_default(), cas))
            }
            _ => None,
        }
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), CasMismatch> {
        count::hit(Kind::SetSharedData);
        match hostcalls::set_shared_data(key, Some(value), cas) {
            Ok(()) => Ok(()),
            Err(Status::CasMismatch) => Err(CasMismatch),
            Err(_) => Err(CasMismatch),
        }
    }
}

/// Filter-state key (Envoy prefixes it with `wasm.`): access logs read the outcome as
/// `%FILTER_STATE(wasm.enrich_outcome:PLAIN)%`.
pub const OUTCOME_PROPERTY: &str = "enrich_outcome";

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_set_property(
        path_data: *const u8,
        path_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
}

/// Publishes the request's outcome label to the focused stream's filter state. Calls the ABI
/// directly: the SDK's `set_property` panics (aborting the VM) when the host refuses, and a
/// refusal here only means the access log shows `-`.
pub fn publish_outcome(outcome: &str) {
    count::hit(Kind::SetProperty);
    let path = OUTCOME_PROPERTY.as_bytes();
    // SAFETY: both pointers come from live slices whose lengths are passed with them; the host
    // only reads them for the duration of the call.
    let _status =
        unsafe { proxy_set_property(path.as_ptr(), path.len(), outcome.as_ptr(), outcome.len()) };
}
