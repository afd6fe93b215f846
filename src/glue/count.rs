//! Host-call counting for `make bench` (cargo feature `count-host-calls`; the product build
//! compiles every [`hit`] away). Each crossing between the VM and Envoy that the glue makes or
//! receives is counted by kind; the counting build publishes the running totals as gauges
//! (`cognigy_enrich_bench.<plugin name>.calls.<kind>` and `….contexts`, read from Envoy's
//! `/stats` as `wasmcustom.…`; the plugin name keeps several counting VMs in one Envoy apart) when
//! a request's context ends, so the benchmark divides them by the number of requests.
//!
//! The SDK's own `set_effective_context` before each callout reply is counted with the reply. Not
//! counted, because the glue never sees them: `proxy_on_log` and `proxy_on_delete` (one each per
//! request, handled by the SDK), and the publishing itself.

/// One kind of crossing. `On*` are calls into the VM; `MemoryAllocate` is the host calling the
/// VM's allocator to hand back data (once per host call that returns bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "count-host-calls"), allow(dead_code))]
pub enum Kind {
    GetHeaderMapValue,
    GetHeaderMapPairs,
    GetBuffer,
    GetProperty,
    SetProperty,
    GetCurrentTime,
    SetEffectiveContext,
    SetTickPeriod,
    DispatchHttpCall,
    SendHttpResponse,
    IncrementMetric,
    RecordMetric,
    GetSharedData,
    SetSharedData,
    Log,
    GetLogLevel,
    OnContextCreate,
    OnRequestHeaders,
    OnRequestBody,
    OnHttpCallResponse,
    OnDone,
    OnTick,
    MemoryAllocate,
}

#[cfg(feature = "count-host-calls")]
mod counting {
    use std::cell::{Cell, RefCell};

    use proxy_wasm::hostcalls;
    use proxy_wasm::types::MetricType;

    use super::Kind;

    const KINDS: [(Kind, &str); 23] = [
        (Kind::GetHeaderMapValue, "get_header_map_value"),
        (Kind::GetHeaderMapPairs, "get_header_map_pairs"),
        (Kind::GetBuffer, "get_buffer_bytes"),
        (Kind::GetProperty, "get_property"),
        (Kind::SetProperty, "set_property"),
        (Kind::GetCurrentTime, "get_current_time_nanoseconds"),
        (Kind::SetEffectiveContext, "set_effective_context"),
        (Kind::SetTickPeriod, "set_tick_period_milliseconds"),
        (Kind::DispatchHttpCall, "http_call"),
        (Kind::SendHttpResponse, "send_local_response"),
        (Kind::IncrementMetric, "increment_metric"),
        (Kind::RecordMetric, "record_metric"),
        (Kind::GetSharedData, "get_shared_data"),
        (Kind::SetSharedData, "set_shared_data"),
        (Kind::Log, "log"),
        (Kind::GetLogLevel, "get_log_level"),
        (Kind::OnContextCreate, "on_context_create"),
        (Kind::OnRequestHeaders, "on_request_headers"),
        (Kind::OnRequestBody, "on_request_body"),
        (Kind::OnHttpCallResponse, "on_http_call_response"),
        (Kind::OnDone, "on_done"),
        (Kind::OnTick, "on_tick"),
        (Kind::MemoryAllocate, "on_memory_allocate"),
    ];

    thread_local! {
        static COUNTS: [Cell<u64>; 23] = Default::default();
        /// Gauge ids by kind, and the gauge of HTTP contexts created; defined on first publish.
        static GAUGES: RefCell<Option<(Vec<u32>, u32)>> = const { RefCell::new(None) };
        static CONTEXTS: Cell<u64> = const { Cell::new(0) };
    }

    fn index(kind: Kind) -> usize {
        KINDS.iter().position(|(k, _)| *k == kind).unwrap_or(0)
    }

    pub fn hit(kind: Kind) {
        COUNTS.with(|c| {
            if let Some(cell) = c.get(index(kind)) {
                cell.set(cell.get() + 1);
            }
        });
    }

    pub fn context_created() {
        CONTEXTS.with(|c| c.set(c.get() + 1));
    }

    /// Sets every gauge to its running total (these host calls are not counted).
    pub fn publish() {
        GAUGES.with(|g| {
            let mut g = g.borrow_mut();
            if g.is_none() {
                let plugin = match hostcalls::get_property(vec!["plugin_name"]) {
                    Ok(Some(name)) => String::from_utf8_lossy(&name).into_owned(),
                    _ => "unknown".to_owned(),
                };
                let define = |name: &str| {
                    let name = format!("cognigy_enrich_bench.{plugin}.{name}");
                    hostcalls::define_metric(MetricType::Gauge, &name).unwrap_or(u32::MAX)
                };
                let ids = KINDS
                    .iter()
                    .map(|(_, name)| define(&format!("calls.{name}")))
                    .collect();
                *g = Some((ids, define("contexts")));
            }
            if let Some((ids, contexts)) = g.as_ref() {
                COUNTS.with(|c| {
                    for (id, cell) in ids.iter().zip(c.iter()) {
                        let _ = hostcalls::record_metric(*id, cell.get());
                    }
                });
                let _ = hostcalls::record_metric(*contexts, CONTEXTS.with(Cell::get));
            }
        });
    }

    /// The SDK's logger, counted: the counting build installs it instead.
    pub struct Logger;

    impl log::Log for Logger {
        fn enabled(&self, metadata: &log::Metadata) -> bool {
            metadata.level() <= log::max_level()
        }

        fn log(&self, record: &log::Record) {
            use proxy_wasm::types::LogLevel;
            if !self.enabled(record.metadata()) {
                return;
            }
            let level = match record.level() {
                log::Level::Trace => LogLevel::Trace,
                log::Level::Debug => LogLevel::Debug,
                log::Level::Info => LogLevel::Info,
                log::Level::Warn => LogLevel::Warn,
                log::Level::Error => LogLevel::Error,
            };
            hit(Kind::Log);
            let _ = hostcalls::log(level, &record.args().to_string());
        }

        fn flush(&self) {}
    }

    pub static LOGGER: Logger = Logger;
}

#[cfg(feature = "count-host-calls")]
pub use counting::{context_created, hit, publish, LOGGER};

#[cfg(not(feature = "count-host-calls"))]
#[inline(always)]
pub fn hit(_kind: Kind) {}

#[cfg(not(feature = "count-host-calls"))]
#[inline(always)]
pub fn context_created() {}

#[cfg(not(feature = "count-host-calls"))]
#[inline(always)]
pub fn publish() {}
