//! State shared between the control API and the request handlers.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

use crate::faults::FaultPlan;
use crate::record::RequestLog;
use crate::token::TokenStore;
use crate::{MockConfig, Service};

/// Everything one mock service's handlers consult or update per request.
#[derive(Debug)]
pub struct ServiceState {
    pub log: RequestLog,
    pub faults: FaultPlan,
    /// Latency added before every answer, faulted or not.
    pub delay_ms: AtomicU64,
    /// More latency for requests whose path and query contain the text: one customer slow while
    /// the others are not.
    pub path_delays: Mutex<Vec<(String, u64)>>,
    /// When set, new connections are served over TLS with this configuration.
    pub tls: Mutex<Option<Arc<tokio_rustls::rustls::ServerConfig>>>,
    /// TLS handshakes that completed (a refused certificate never completes one).
    pub tls_handshakes: AtomicU64,
}

impl ServiceState {
    fn new(delay_ms: u64) -> Self {
        Self {
            log: RequestLog::new(),
            faults: FaultPlan::default(),
            delay_ms: AtomicU64::new(delay_ms),
            path_delays: Mutex::new(Vec::new()),
            tls: Mutex::new(None),
            tls_handshakes: AtomicU64::new(0),
        }
    }
}

/// State of a whole [`Mocks`](crate::Mocks) instance.
#[derive(Debug)]
pub struct State {
    pub tokens: TokenStore,
    /// Whether request captures are kept; counts are kept regardless.
    pub recording: AtomicBool,
    services: [ServiceState; 4],
}

impl State {
    pub fn new(cfg: &MockConfig) -> Self {
        Self {
            tokens: TokenStore::new(
                cfg.client_id.clone(),
                cfg.client_secret.clone(),
                cfg.token_ttl_secs,
            ),
            recording: AtomicBool::new(true),
            services: Service::ALL
                .map(|s| ServiceState::new(if s == Service::Token { 0 } else { cfg.delay_ms })),
        }
    }

    pub fn service(&self, s: Service) -> &ServiceState {
        &self.services[s.index()]
    }

    pub fn all(&self) -> impl Iterator<Item = &ServiceState> {
        self.services.iter()
    }
}
