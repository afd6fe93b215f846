//! Defines the core's metric catalog with the host and records observations.

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

use super::count::{self, Kind};
use crate::metrics::{catalog, MetricKind, Observation};

#[derive(Default)]
pub struct Metrics {
    /// Host metric ids by catalog index; `None` where the host refused the definition.
    ids: Vec<Option<(MetricKind, u32)>>,
}

impl Metrics {
    pub fn define() -> Self {
        let ids = catalog()
            .into_iter()
            .map(|(kind, name)| {
                let host_kind = match kind {
                    MetricKind::Counter => MetricType::Counter,
                    MetricKind::Histogram => MetricType::Histogram,
                };
                hostcalls::define_metric(host_kind, &name)
                    .ok()
                    .map(|id| (kind, id))
            })
            .collect();
        Metrics { ids }
    }

    pub fn record(&self, observations: Vec<Observation>) {
        for obs in observations {
            for (index, value) in obs.records() {
                match self.ids.get(index).copied().flatten() {
                    Some((MetricKind::Counter, id)) => {
                        count::hit(Kind::IncrementMetric);
                        let _ = hostcalls::increment_metric(
                            id,
                            i64::try_from(value).unwrap_or(i64::MAX),
                        );
                    }
                    Some((MetricKind::Histogram, id)) => {
                        count::hit(Kind::RecordMetric);
                        let _ = hostcalls::record_metric(id, value);
                    }
                    None => {}
                }
            }
        }
    }
}
