//! The one place that defines the filter's metrics. The engine reports [`Observation`]s; the glue
//! defines [`catalog`] with the host once per VM and records each observation by its index.
//! Envoy shows them under `wasmcustom.` in `/stats` and `/stats/prometheus`.

use crate::build_info;
use crate::mcp::protocol::{Method as McpMethod, Outcome as McpOutcome};
use crate::service::Service;

pub const PREFIX: &str = "cognigy_enrich";

/// Every request outcome: `ok`, `degraded`, then one per error (see `EnrichError::outcome`).
pub const OUTCOMES: [&str; 16] = [
    "ok",
    "degraded",
    "method_not_allowed",
    "unauthorized",
    "unsupported_media_type",
    "payload_too_large",
    "invalid_payload",
    "upstream_status",
    "upstream_unreachable",
    "upstream_malformed",
    "upstream_retries_exhausted",
    "token_rejected",
    "token_unavailable",
    "deadline_exceeded",
    "internal",
    "answer_too_large",
];

/// How an upstream call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    S2xx,
    S3xx,
    S4xx,
    S5xx,
    /// No HTTP answer (refused, reset, timed out).
    Reset,
}

impl StatusClass {
    const ALL: [StatusClass; 5] = [
        StatusClass::S2xx,
        StatusClass::S3xx,
        StatusClass::S4xx,
        StatusClass::S5xx,
        StatusClass::Reset,
    ];

    pub fn of(status: Option<u16>) -> StatusClass {
        match status {
            Some(200..=299) => StatusClass::S2xx,
            Some(300..=399) => StatusClass::S3xx,
            Some(400..=499) => StatusClass::S4xx,
            Some(_) => StatusClass::S5xx,
            None => StatusClass::Reset,
        }
    }

    fn label(self) -> &'static str {
        match self {
            StatusClass::S2xx => "2xx",
            StatusClass::S3xx => "3xx",
            StatusClass::S4xx => "4xx",
            StatusClass::S5xx => "5xx",
            StatusClass::Reset => "reset",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Histogram,
}

/// Something the engine saw that a metric counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    Request {
        outcome: &'static str,
        duration_ms: u64,
        /// 429 retries the request made; for logs and tests, no metric of its own (see `Retry`).
        retries: u32,
    },
    Upstream {
        service: Service,
        class: StatusClass,
        latency_ms: u64,
    },
    Retry {
        service: Service,
    },
    TokenFetch {
        ok: bool,
    },
    Cache {
        service: Service,
        hit: bool,
    },
    /// A root context accepted its plugin configuration (each worker's, and the canary Envoy
    /// configures to vet it); counted under this build's version.
    Configured,
    /// A root context ended: its plugin configuration or module was replaced and the last request
    /// that used it finished.
    RootDone,
    /// One MCP exchange on the MCP route, by method (unknown ones are `other`) and outcome.
    Mcp {
        method: McpMethod,
        outcome: McpOutcome,
        duration_ms: u64,
    },
}

const SERVICES: usize = Service::COUNT;
const CLASSES: usize = 5;

// Index layout of the catalog, in this order.
const REQ: usize = 0;
const REQ_LATENCY: usize = REQ + OUTCOMES.len();
const UP: usize = REQ_LATENCY + 1;
const UP_LATENCY: usize = UP + SERVICES * CLASSES;
const RETRY: usize = UP_LATENCY + SERVICES;
const TOKEN: usize = RETRY + SERVICES;
const CACHE: usize = TOKEN + 2;
const LIFECYCLE: usize = CACHE + SERVICES * 2;
const MCP: usize = LIFECYCLE + 2;
const MCP_OUTCOMES: usize = McpOutcome::ALL.len();
const MCP_LATENCY: usize = MCP + McpMethod::ALL.len() * MCP_OUTCOMES;
const LEN: usize = MCP_LATENCY + 1;

/// Every metric, in index order: what the glue defines with the host.
pub fn catalog() -> Vec<(MetricKind, String)> {
    let mut out = Vec::with_capacity(LEN);
    for o in OUTCOMES {
        out.push((MetricKind::Counter, format!("{PREFIX}.requests.{o}")));
    }
    out.push((
        MetricKind::Histogram,
        format!("{PREFIX}.request_latency_ms"),
    ));
    for s in Service::ALL {
        for c in StatusClass::ALL {
            out.push((
                MetricKind::Counter,
                format!("{PREFIX}.upstream.{}.{}", s.short_name(), c.label()),
            ));
        }
    }
    for s in Service::ALL {
        out.push((
            MetricKind::Histogram,
            format!("{PREFIX}.upstream.{}.latency_ms", s.short_name()),
        ));
    }
    for s in Service::ALL {
        out.push((
            MetricKind::Counter,
            format!("{PREFIX}.retries.{}", s.short_name()),
        ));
    }
    out.push((MetricKind::Counter, format!("{PREFIX}.token_fetch.ok")));
    out.push((MetricKind::Counter, format!("{PREFIX}.token_fetch.failed")));
    for s in Service::ALL {
        out.push((
            MetricKind::Counter,
            format!("{PREFIX}.cache.{}.hit", s.short_name()),
        ));
        out.push((
            MetricKind::Counter,
            format!("{PREFIX}.cache.{}.miss", s.short_name()),
        ));
    }
    out.push((
        MetricKind::Counter,
        format!(
            "{PREFIX}.configured.{}",
            build_info::metric_label(build_info::VERSION)
        ),
    ));
    out.push((MetricKind::Counter, format!("{PREFIX}.root_done")));
    for m in McpMethod::ALL {
        for o in McpOutcome::ALL {
            out.push((
                MetricKind::Counter,
                format!("{PREFIX}.mcp.{}.{}", m.label(), o.label()),
            ));
        }
    }
    out.push((MetricKind::Histogram, format!("{PREFIX}.mcp.latency_ms")));
    out
}

fn class_index(c: StatusClass) -> usize {
    match c {
        StatusClass::S2xx => 0,
        StatusClass::S3xx => 1,
        StatusClass::S4xx => 2,
        StatusClass::S5xx => 3,
        StatusClass::Reset => 4,
    }
}

impl Observation {
    /// What to record: (catalog index, value). A request gives its outcome counter and its
    /// latency; an upstream reply its status-class counter and its latency.
    pub fn records(&self) -> Vec<(usize, u64)> {
        match *self {
            Observation::Request {
                outcome,
                duration_ms,
                ..
            } => {
                let mut out = vec![(REQ_LATENCY, duration_ms)];
                if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
                    out.push((REQ + i, 1));
                }
                out
            }
            Observation::Upstream {
                service,
                class,
                latency_ms,
            } => vec![
                (UP + service.ordinal() * CLASSES + class_index(class), 1),
                (UP_LATENCY + service.ordinal(), latency_ms),
            ],
            Observation::Retry { service } => vec![(RETRY + service.ordinal(), 1)],
            Observation::TokenFetch { ok } => vec![(TOKEN + usize::from(!ok), 1)],
            Observation::Cache { service, hit } => {
                vec![(CACHE + service.ordinal() * 2 + usize::from(!hit), 1)]
            }
            Observation::Configured => vec![(LIFECYCLE, 1)],
            Observation::RootDone => vec![(LIFECYCLE + 1, 1)],
            Observation::Mcp {
                method,
                outcome,
                duration_ms,
            } => vec![
                (MCP + method.index() * MCP_OUTCOMES + outcome.index(), 1),
                (MCP_LATENCY, duration_ms),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{EnrichError, ServiceFailure, TokenFailure};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn name(i: usize) -> String {
        catalog()[i].1.clone()
    }

    #[test]
    fn catalog_layout_matches_indices() {
        let c = catalog();
        assert_eq!(c.len(), LEN);
        let mut names: Vec<&String> = c.iter().map(|(_, n)| n).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), LEN, "names are unique");
    }

    #[test]
    fn observations_hit_the_right_metric() {
        let r = Observation::Request {
            outcome: "degraded",
            duration_ms: 12,
            retries: 0,
        }
        .records();
        assert_eq!(
            r.iter().map(|(i, v)| (name(*i), *v)).collect::<Vec<_>>(),
            [
                ("cognigy_enrich.request_latency_ms".to_owned(), 12),
                ("cognigy_enrich.requests.degraded".to_owned(), 1)
            ]
        );
        let r = Observation::Upstream {
            service: Service::Tickets,
            class: StatusClass::Reset,
            latency_ms: 5,
        }
        .records();
        assert_eq!(name(r[0].0), "cognigy_enrich.upstream.tickets.reset");
        assert_eq!(name(r[1].0), "cognigy_enrich.upstream.tickets.latency_ms");
        assert_eq!(
            name(
                Observation::Retry {
                    service: Service::Orders
                }
                .records()[0]
                    .0
            ),
            "cognigy_enrich.retries.orders"
        );
        assert_eq!(
            name(Observation::TokenFetch { ok: false }.records()[0].0),
            "cognigy_enrich.token_fetch.failed"
        );
        assert_eq!(
            name(
                Observation::Cache {
                    service: Service::Profile,
                    hit: false
                }
                .records()[0]
                    .0
            ),
            "cognigy_enrich.cache.profile.miss"
        );
        assert_eq!(StatusClass::of(Some(503)), StatusClass::S5xx);
        assert_eq!(
            name(Observation::Configured.records()[0].0),
            format!(
                "cognigy_enrich.configured.{}",
                build_info::metric_label(build_info::VERSION)
            )
        );
        assert_eq!(
            name(Observation::RootDone.records()[0].0),
            "cognigy_enrich.root_done"
        );
    }

    #[test]
    fn mcp_exchanges_by_method_and_outcome() {
        let r = Observation::Mcp {
            method: McpMethod::ToolsCall,
            outcome: McpOutcome::ToolError,
            duration_ms: 7,
        }
        .records();
        assert_eq!(name(r[0].0), "cognigy_enrich.mcp.tools_call.tool_error");
        assert_eq!(
            (name(r[1].0), r[1].1),
            ("cognigy_enrich.mcp.latency_ms".to_owned(), 7)
        );
        let r = Observation::Mcp {
            method: McpMethod::of("resources/list"),
            outcome: McpOutcome::RpcError,
            duration_ms: 0,
        }
        .records();
        assert_eq!(name(r[0].0), "cognigy_enrich.mcp.other.rpc_error");
        let r = Observation::Mcp {
            method: McpMethod::None,
            outcome: McpOutcome::Rejected,
            duration_ms: 0,
        }
        .records();
        assert_eq!(name(r[0].0), "cognigy_enrich.mcp.none.rejected");
        assert_eq!(r[0].0 + 2, LEN, "the last counter, then the histogram");
    }

    #[test]
    fn every_error_outcome_has_a_counter() {
        let errors = [
            EnrichError::MethodNotAllowed,
            EnrichError::Unauthorized(crate::auth::AuthFailure::Missing),
            EnrichError::UnsupportedMediaType,
            EnrichError::PayloadTooLarge { limit: 1 },
            EnrichError::InvalidPayload(Vec::new()),
            EnrichError::Upstream {
                service: Service::Profile,
                failure: ServiceFailure::Status(500),
            },
            EnrichError::Upstream {
                service: Service::Profile,
                failure: ServiceFailure::Unreachable,
            },
            EnrichError::Upstream {
                service: Service::Profile,
                failure: ServiceFailure::Malformed,
            },
            EnrichError::Upstream {
                service: Service::Profile,
                failure: ServiceFailure::RetriesExhausted { attempts: 3 },
            },
            EnrichError::Token(TokenFailure::Rejected),
            EnrichError::Token(TokenFailure::Unavailable),
            EnrichError::DeadlineExceeded { budget_ms: 1 },
            EnrichError::Internal,
            EnrichError::AnswerTooLarge,
        ];
        for e in errors {
            assert!(OUTCOMES.contains(&e.outcome()), "{}", e.outcome());
        }
    }
}
