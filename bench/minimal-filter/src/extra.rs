//! Extra host calls for bench/host-call-cost.sh: `extra=KIND:N` words make the filter cross into
//! Envoy N more times per enrich request with one kind of call, results discarded, so the
//! difference in Envoy's CPU per request against the plain filter, divided by N, is what one such
//! crossing costs. The kinds are the ones the product makes and this filter does not.

use proxy_wasm::hostcalls;
use proxy_wasm::types::{LogLevel, MapType, MetricType};

/// One kind of host call (the word in `extra=KIND:N`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `proxy_get_current_time_nanoseconds`.
    Time,
    /// `proxy_increment_metric` on a counter.
    Counter,
    /// `proxy_record_metric` on a histogram.
    Histogram,
    /// `proxy_log` at info, a line of [`LOG_LINE`]'s length (the product's per-request line).
    Log,
    /// `proxy_set_property` of a filter-state key, as the product publishes its outcome.
    Property,
    /// `proxy_get_shared_data` of a [`SHARED_VALUE_BYTES`] value (and the host's allocation).
    SharedData,
    /// `proxy_get_header_map_value` of `x-request-id` (and the host's allocation).
    Header,
    /// `proxy_get_header_map_pairs` of the request headers (and the host's allocation).
    HeaderPairs,
    /// `proxy_set_effective_context`, alternately to the root context and back to the request.
    Context,
}

impl Kind {
    fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "time" => Kind::Time,
            "counter" => Kind::Counter,
            "histogram" => Kind::Histogram,
            "log" => Kind::Log,
            "property" => Kind::Property,
            "shared_data" => Kind::SharedData,
            "header" => Kind::Header,
            "header_pairs" => Kind::HeaderPairs,
            "context" => Kind::Context,
            _ => return None,
        })
    }
}

/// About the product's per-request info line (~200 bytes); its content does not matter to Envoy.
const LOG_LINE: &str = "[bench-probe-0000-0000-0000-000000000000] enrich answered 200 in 12 ms: \
customerProfile 200 3 ms, recentOrders 200 4 ms, openTickets 200 3 ms; answer 1830 bytes, \
prompt 412 bytes, masked 5 fields, 0 patterns";

/// The filter-state key (Envoy stores it as `wasm.bench_probe`), one path element as the
/// product's `enrich_outcome`.
const PROPERTY: &str = "bench_probe";
const PROPERTY_VALUE: &str = "ok";

const SHARED_KEY: &str = "bench_probe";
/// About the product's cached token entry.
const SHARED_VALUE_BYTES: usize = 300;

const COUNTER: &str = "bench_probe_calls";
const HISTOGRAM: &str = "bench_probe_ms";

/// The `extra=` words of a configuration: (kind, calls per request), in the order given.
#[derive(Default)]
pub struct Extras {
    calls: Vec<(Kind, u32)>,
    counter: Option<u32>,
    histogram: Option<u32>,
}

impl Extras {
    /// Adds the value of one `extra=` word: `KIND:N` or a comma list of them. `context` needs
    /// an even N: each pair goes to the root and back, so the request's own calls stay its own.
    pub fn add(&mut self, value: &str) -> Option<()> {
        for item in value.split(',') {
            let (kind, n) = item.split_once(':')?;
            let kind = Kind::parse(kind)?;
            let n: u32 = n.parse().ok()?;
            if kind == Kind::Context && !n.is_multiple_of(2) {
                return None;
            }
            self.calls.push((kind, n));
        }
        Some(())
    }

    /// Defines the metrics and stores the shared value the kinds asked for need; `None` when
    /// the host refuses.
    pub fn prepare(&mut self) -> Option<()> {
        let wants = |k| self.calls.iter().any(|(kind, _)| *kind == k);
        if wants(Kind::Counter) {
            self.counter = hostcalls::define_metric(MetricType::Counter, COUNTER).ok();
            self.counter?;
        }
        if wants(Kind::Histogram) {
            self.histogram = hostcalls::define_metric(MetricType::Histogram, HISTOGRAM).ok();
            self.histogram?;
        }
        if wants(Kind::SharedData) {
            let value = [b'x'; SHARED_VALUE_BYTES];
            hostcalls::set_shared_data(SHARED_KEY, Some(&value), None).ok()?;
        }
        Some(())
    }

    /// Makes the extra calls for one request whose context is `own`; `root` is the root's.
    pub fn run(&self, own: u32, root: u32) {
        for &(kind, n) in &self.calls {
            for i in 0..n {
                self.one(kind, i, own, root);
            }
        }
    }

    fn one(&self, kind: Kind, i: u32, own: u32, root: u32) {
        match kind {
            Kind::Time => {
                let _ = hostcalls::get_current_time();
            }
            Kind::Counter => {
                if let Some(id) = self.counter {
                    let _ = hostcalls::increment_metric(id, 1);
                }
            }
            Kind::Histogram => {
                if let Some(id) = self.histogram {
                    let _ = hostcalls::record_metric(id, u64::from(i % 16));
                }
            }
            Kind::Log => {
                let _ = hostcalls::log(LogLevel::Info, LOG_LINE);
            }
            Kind::Property => set_property(PROPERTY, PROPERTY_VALUE),
            Kind::SharedData => {
                let _ = hostcalls::get_shared_data(SHARED_KEY);
            }
            Kind::Header => {
                let _ = hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, "x-request-id");
            }
            Kind::HeaderPairs => {
                let _ = hostcalls::get_map_bytes(MapType::HttpRequestHeaders);
            }
            Kind::Context => {
                let _ =
                    hostcalls::set_effective_context(if i.is_multiple_of(2) { root } else { own });
            }
        }
    }
}

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_set_property(
        path_data: *const u8,
        path_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
}

/// The ABI directly, as the product: the SDK's `set_property` panics when the host refuses.
fn set_property(path: &str, value: &str) {
    // SAFETY: both pointers come from live slices whose lengths are passed with them; the host
    // only reads them for the duration of the call.
    let _status =
        unsafe { proxy_set_property(path.as_ptr(), path.len(), value.as_ptr(), value.len()) };
}
