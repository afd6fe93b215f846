//! One enrich request's state: where it is in its life, and each service call's progress.

use std::sync::Arc;

use crate::aggregate::Gathered;
use crate::service::PerService;
use crate::service_call::{CallId, ServiceCall};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Headers accepted; waiting for the whole body.
    Body,
    /// Payload valid; calls are waiting for a token, in flight, or waiting to be retried.
    Calls,
}

#[derive(Debug)]
pub struct Request {
    pub ctx: u32,
    /// `x-request-id` (Envoy's, or the caller's): in every log line and upstream call (shared
    /// with each call, like the paths).
    pub id: Arc<str>,
    pub started_ms: u64,
    pub deadline_ms: u64,
    pub phase: Phase,
    /// The customer number and intent as the caller sent them, for prompt templates.
    pub raw_customer_number: String,
    pub intent: String,
    /// Each service's upstream path and query (the customer number percent-encoded in it): the
    /// call's `:path`, its cache key and its coalescing key, rendered once.
    pub upstream_paths: PerService<Arc<str>>,
    pub calls: PerService<ServiceCall>,
    pub retries: u32,
    /// Set when the request came through the MCP route: how to read it and write its answer.
    pub mcp: Option<crate::mcp::Exchange>,
}

impl Request {
    pub fn new(ctx: u32, id: Arc<str>, now: u64, budget_ms: u64) -> Self {
        Request {
            ctx,
            id,
            started_ms: now,
            deadline_ms: now.saturating_add(budget_ms),
            phase: Phase::Body,
            raw_customer_number: String::new(),
            intent: String::new(),
            upstream_paths: PerService::default(),
            calls: PerService::default(),
            retries: 0,
            mcp: None,
        }
    }

    pub fn waits_for_token(&self) -> bool {
        self.phase == Phase::Calls && self.calls.iter().any(|(_, c)| c.waits_for_token())
    }

    /// Callout ids of the calls still in flight, to forget when the request ends.
    pub fn call_ids(&self) -> impl Iterator<Item = CallId> + '_ {
        self.calls.iter().filter_map(|(_, c)| c.call_id())
    }

    /// `Server-Timing` value: each finished call's duration from its first attempt.
    pub fn server_timing(&self) -> String {
        let parts: Vec<String> = self
            .calls
            .iter()
            .filter_map(|(s, c)| Some(format!("{};dur={}", s.short_name(), c.duration_ms()?)))
            .collect();
        parts.join(", ")
    }

    /// What the services gave, for the answer pipeline ([`crate::answer::write`]): each
    /// finished call's data, or nothing for one that failed or is still out.
    pub fn gathered(&self) -> Gathered<'_> {
        Gathered {
            records: PerService::from_fn(|s| self.calls[s].data()),
            intent: &self.intent,
            customer_number: &self.raw_customer_number,
            stale: self
                .calls
                .iter()
                .filter(|(_, c)| c.is_stale())
                .map(|(s, _)| s.answer_key())
                .collect(),
            // Set by the privacy step (`crate::privacy::Redacted::apply`).
            mask_patterns: false,
        }
    }
}
