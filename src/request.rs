//! One enrich request's state: where it is in its life, and each service call's progress.

use crate::aggregate::Gathered;
use crate::error::ServiceFailure;
use crate::service::{PerService, Service, ServiceData};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Headers accepted; waiting for the whole body.
    Body,
    /// Payload valid; calls are waiting for a token, in flight, or waiting to be retried.
    Calls,
}

#[derive(Debug)]
pub enum SlotState {
    /// Waits for a token (first call, or after a 401 dropped the old one).
    NeedToken,
    /// Handed to the host; the token id is not known yet.
    Dispatching,
    InFlight {
        token: u32,
    },
    /// A 429 asked for a retry at this instant.
    RetryAt(u64),
    /// Another request of this worker already calls for the same data; its result is shared.
    Following,
    Done(Result<ServiceData, ServiceFailure>),
}

/// One service call of a request.
#[derive(Debug)]
pub struct Slot {
    pub state: SlotState,
    /// Attempts sent so far (a re-send after a 401 counts too).
    pub attempts: u32,
    /// Whether the one re-authentication a call gets after a 401 has been used.
    pub reauthenticated: bool,
    /// The bearer token of the last attempt, so a 401 drops exactly that one.
    pub bearer: Option<String>,
    pub first_sent_ms: Option<u64>,
    /// When the current attempt was sent, for the per-call latency metric.
    pub sent_ms: Option<u64>,
    pub done_ms: Option<u64>,
    /// Set while this call leads a group of identical calls: the upstream request key.
    pub group: Option<String>,
    /// The data came from the cache after the service failed.
    pub stale: bool,
}

impl Slot {
    fn new() -> Self {
        Slot {
            state: SlotState::NeedToken,
            attempts: 0,
            reauthenticated: false,
            bearer: None,
            first_sent_ms: None,
            sent_ms: None,
            done_ms: None,
            group: None,
            stale: false,
        }
    }

    pub fn is_done(&self) -> bool {
        matches!(self.state, SlotState::Done(_))
    }

    pub fn in_flight_token(&self) -> Option<u32> {
        match self.state {
            SlotState::InFlight { token } => Some(token),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub struct Request {
    pub ctx: u32,
    /// `x-request-id` (Envoy's, or the caller's): in every log line and upstream call.
    pub id: String,
    pub started_ms: u64,
    pub deadline_ms: u64,
    pub phase: Phase,
    /// The customer number, percent-encoded once for every URL it goes into.
    pub customer: String,
    /// The customer number and intent as sent, for prompt templates.
    pub customer_number: String,
    pub intent: String,
    pub slots: PerService<Slot>,
    pub retries: u32,
    /// Set when the request came through the MCP route: how to read it and write its answer.
    pub mcp: Option<crate::mcp::Exchange>,
}

impl Request {
    pub fn new(ctx: u32, id: String, now: u64, budget_ms: u64) -> Self {
        Request {
            ctx,
            id,
            started_ms: now,
            deadline_ms: now.saturating_add(budget_ms),
            phase: Phase::Body,
            customer: String::new(),
            customer_number: String::new(),
            intent: String::new(),
            slots: PerService::from_fn(|_| Slot::new()),
            retries: 0,
            mcp: None,
        }
    }

    pub fn waits_for_token(&self) -> bool {
        self.phase == Phase::Calls
            && self
                .slots
                .iter()
                .any(|(_, slot)| matches!(slot.state, SlotState::NeedToken))
    }

    /// Host tokens of the calls still in flight, to forget when the request ends.
    pub fn in_flight_tokens(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots
            .iter()
            .filter_map(|(_, slot)| slot.in_flight_token())
    }

    /// `Server-Timing` value: each finished call's duration from its first attempt.
    pub fn server_timing(&self) -> String {
        let mut parts = Vec::new();
        for (s, slot) in self.slots.iter() {
            if let (Some(start), Some(end)) = (slot.first_sent_ms, slot.done_ms) {
                parts.push(format!(
                    "{};dur={}",
                    s.short_name(),
                    end.saturating_sub(start)
                ));
            }
        }
        parts.join(", ")
    }
}

impl Request {
    /// What the services gave, for the answer pipeline ([`crate::answer::write`]): each
    /// finished call's data, or nothing for one that failed or is still out.
    pub fn gathered(&self) -> Gathered<'_> {
        let data = |s: Service| match &self.slots[s].state {
            SlotState::Done(Ok(d)) => Some(d),
            _ => None,
        };
        Gathered {
            profile: match data(Service::Profile) {
                Some(ServiceData::Profile(p)) => Some(p),
                _ => None,
            },
            orders: match data(Service::Orders) {
                Some(ServiceData::Orders(l)) => Some(l),
                _ => None,
            },
            tickets: match data(Service::Tickets) {
                Some(ServiceData::Tickets(l)) => Some(l),
                _ => None,
            },
            intent: &self.intent,
            customer_number: &self.customer_number,
            stale: self
                .slots
                .iter()
                .filter(|(_, slot)| slot.stale)
                .map(|(s, _)| s.answer_key())
                .collect(),
            // Set by the privacy step (`crate::privacy::Redacted::apply`).
            mask_patterns: false,
        }
    }
}
