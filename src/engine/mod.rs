//! The per-VM engine: every in-flight enrich request of one worker, the callouts they wait on and
//! the shared token. Host-independent: it takes events (headers, body, callout reply, tick, request
//! gone) with the current time and returns effects (dispatch this call, answer with this reply).
//! The host tells it the outcome of a dispatch through [`Engine::dispatched`]; when to wake it is
//! read from [`Engine::next_wake`].

use std::collections::HashMap;
use std::rc::Rc;

use log::{debug, info, warn};

pub use crate::admission::RequestHead;
use crate::admission::{self, request_id};
use crate::auth::AuthFailure;
use crate::callout::Call;
use crate::config::Settings;
use crate::encode;
use crate::error::{EnrichError, Reply, ServiceFailure};
use crate::metrics::Observation;
use crate::payload;
use crate::request::{Phase, Request};
use crate::service::{PerService, Service};
pub use crate::service_call::CallId;
use crate::service_call::CallState;
use crate::store::SharedStore;
use crate::token::TokenCache;

mod coalesce;
mod ending;
mod mcp;
mod timers;
mod token_wait;
mod upstream;

pub use mcp::McpHeaders;

use coalesce::Groups;
use timers::{Timer, Timers};

/// How often a VM whose requests wait for a token fetched by another VM looks for it.
pub const TOKEN_POLL_MS: u64 = 10;

/// How far past the request's deadline a call's timeout runs when the deadline, not the service's
/// own timeout, is what limits it. The deadline is the engine's to enforce (504): a host times a
/// call out by itself (Envoy answers it 504 "upstream request timeout") and may fire that timer a
/// little early (Envoy schedules it from its cached event-loop time), so a call timed out at
/// exactly the deadline can come back a hair before it and read as a failed service (502). With
/// the slack the deadline always comes first; the call's late reply finds no owner.
pub const DEADLINE_SLACK_MS: u64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Not ours (or already answered and done): let the request go on through the chain.
    Continue,
    /// Ours: hold the request; the engine answers it.
    Pause,
}

/// Who a callout answers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Token,
    Service { ctx: u32, service: Service },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Dispatch `call` (the glue binds every call to the root context). Report the outcome with
    /// [`Engine::dispatched`].
    Dispatch { owner: Owner, call: Call },
    /// Answer request `ctx` locally. `outcome` is the label of [`Observation::Request`], for the
    /// host to publish to its access log.
    Respond {
        ctx: u32,
        reply: Reply,
        outcome: &'static str,
    },
}

/// The hasher of the maps keyed by ids Envoy assigns (context ids, callout tokens): no caller
/// chooses them, so a fixed-seed fast hash is enough.
type IdHash = foldhash::fast::FixedState;

pub struct Engine {
    settings: Rc<Settings>,
    token: TokenCache,
    requests: HashMap<u32, Request, IdHash>,
    /// Who each callout in flight answers to.
    callouts: HashMap<CallId, Owner, IdHash>,
    timers: Timers,
    /// The latest time an event brought, for what is due "now" on an event that brings none.
    clock: u64,
    observations: Vec<Observation>,
    groups: Groups,
}

/// How a request ends: the pipeline's result (or an error before it ran), or an MCP reply
/// written without the pipeline.
pub(crate) enum Ending {
    Enrich(Result<(String, bool), EnrichError>),
    Mcp(mcp::McpEnding),
}

impl Engine {
    pub fn new(settings: Rc<Settings>, store: &dyn SharedStore) -> Self {
        let namespace = format!("{}.{}", settings.token.cluster, settings.token.client_id);
        let token = TokenCache::new(store, &namespace);
        Engine {
            settings,
            token,
            requests: HashMap::default(),
            callouts: HashMap::default(),
            timers: Timers::default(),
            clock: 0,
            observations: Vec::new(),
            groups: Groups::default(),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn in_flight(&self) -> usize {
        self.requests.len()
    }

    pub fn pending_callouts(&self) -> usize {
        self.callouts.len()
    }

    /// What happened since the last call, for the metrics.
    pub fn take_observations(&mut self) -> Vec<Observation> {
        std::mem::take(&mut self.observations)
    }

    /// Whether `path` (query and fragment ignored) is the route this filter answers.
    pub fn is_enrich_path(&self, path: &str) -> bool {
        path.split(['?', '#']).next() == Some(self.settings.enrich_path.as_str())
    }

    /// Admits a request (a new one: each id once) and keeps it, with its deadline timer.
    fn admit(&mut self, request: Request) {
        self.clock = self.clock.max(request.started_ms);
        self.timers
            .set(Timer::Deadline(request.ctx), request.deadline_ms);
        self.requests.insert(request.ctx, request);
    }

    pub fn on_request_headers(
        &mut self,
        ctx: u32,
        head: &RequestHead<'_>,
        now: u64,
        store: &dyn SharedStore,
    ) -> (Action, Vec<Effect>) {
        if !self.is_enrich_path(head.path) {
            return (Action::Continue, Vec::new());
        }
        let id = request_id(head.request_id);
        let mut request = Request::new(ctx, id, now, self.settings.deadline_ms);
        let admitted = admission::check_enrich(
            head,
            &self.settings.auth,
            self.settings.limits.max_body_bytes,
        );
        if let Err(error) = admitted {
            match error {
                EnrichError::Unauthorized(AuthFailure::Invalid) => {
                    warn!("[{}] rejected: invalid webhook token", request.id);
                }
                EnrichError::Unauthorized(AuthFailure::Repeated) => {
                    warn!("[{}] rejected: repeated credential headers", request.id);
                }
                _ => {}
            }
            let effect = self.respond(&request, Ending::Enrich(Err(error)), now);
            return (Action::Pause, vec![effect]);
        }
        if head.end_of_stream {
            request.phase = Phase::Calls;
            self.admit(request);
            let effects = self.accept_body(ctx, b"", now, store);
            return (Action::Pause, effects);
        }
        self.admit(request);
        (Action::Pause, Vec::new())
    }

    /// A body chunk arrived; `size` is everything buffered so far. `read` fetches the buffered body
    /// and is called at most once, at the end of the stream.
    pub fn on_request_body(
        &mut self,
        ctx: u32,
        size: usize,
        end_of_stream: bool,
        read: &mut dyn FnMut() -> Option<Vec<u8>>,
        now: u64,
        store: &dyn SharedStore,
    ) -> (Action, Vec<Effect>) {
        self.clock = self.clock.max(now);
        let Some(request) = self.requests.get_mut(&ctx) else {
            return (Action::Continue, Vec::new());
        };
        if request.phase != Phase::Body {
            return (Action::Pause, Vec::new());
        }
        let limit = self.settings.limits.max_body_bytes;
        if size > limit {
            let error = EnrichError::PayloadTooLarge { limit };
            return (
                Action::Pause,
                self.end(ctx, Ending::Enrich(Err(error)), now),
            );
        }
        if !end_of_stream {
            return (Action::Pause, Vec::new());
        }
        request.phase = Phase::Calls;
        let body = if size == 0 { Some(Vec::new()) } else { read() };
        let effects = match body {
            Some(body) => self.accept_body(ctx, &body, now, store),
            None => self.end(ctx, Ending::Enrich(Err(EnrichError::Internal)), now),
        };
        (Action::Pause, effects)
    }

    fn accept_body(
        &mut self,
        ctx: u32,
        body: &[u8],
        now: u64,
        store: &dyn SharedStore,
    ) -> Vec<Effect> {
        if self.requests.get(&ctx).is_some_and(|r| r.mcp.is_some()) {
            return self.mcp_body(ctx, body, now, store);
        }
        let parsed = payload::parse(
            body,
            &self.settings.customer_pattern,
            self.settings.limits.max_json_depth,
        );
        match parsed {
            Ok(p) => self.start_pipeline(ctx, p.customer_number, p.intent, now, store),
            Err(errors) => {
                let error = EnrichError::InvalidPayload(errors);
                self.end(ctx, Ending::Enrich(Err(error)), now)
            }
        }
    }

    /// Runs the pipeline for an admitted, validated request (enrich payload or MCP tool call):
    /// cache, token, calls; the answer comes through [`Engine::settle`].
    fn start_pipeline(
        &mut self,
        ctx: u32,
        customer_number: String,
        intent: String,
        now: u64,
        store: &dyn SharedStore,
    ) -> Vec<Effect> {
        if let Some(request) = self.requests.get_mut(&ctx) {
            let encoded = encode::component(&customer_number);
            let services = &self.settings.services;
            request.upstream_paths = PerService::from_fn(|s| {
                services[s].path.render(&encoded, services[s].limit).into()
            });
            debug!(
                "[{}] enrich accepted, intent length {}",
                request.id,
                intent.len()
            );
            request.raw_customer_number = customer_number;
            request.intent = intent;
        }
        self.serve_from_cache(ctx, now, store);
        if !self
            .requests
            .get(&ctx)
            .is_some_and(Request::waits_for_token)
        {
            return self.settle(ctx, now);
        }
        self.supply_token(ctx, now, store)
    }

    /// The request went away (client hung up, stream reset): forget it. Its callouts' replies, if
    /// any still come, find no owner and are dropped.
    pub fn on_request_gone(&mut self, ctx: u32) {
        if let Some(request) = self.forget(ctx) {
            debug!("[{}] request gone before an answer", request.id);
        }
    }

    /// The root's timer: deadlines, due retries, token fetches and renewals.
    pub fn on_tick(&mut self, now: u64, store: &dyn SharedStore) -> Vec<Effect> {
        self.clock = self.clock.max(now);
        let mut effects = Vec::new();
        for timer in self.timers.take_due(now) {
            match timer {
                Timer::Deadline(ctx) => effects.extend(self.expire(ctx, now, store)),
                Timer::Retry(ctx, service) => {
                    let due = self.requests.get(&ctx).is_some_and(|r| {
                        matches!(r.calls[service].state, CallState::RetryAt { .. })
                    });
                    if due {
                        effects.extend(self.send(ctx, service, None, now));
                    }
                }
                // Looked at below on every tick.
                Timer::TokenPoll => {}
            }
        }
        effects.extend(self.look_for_token(now, store));
        effects
    }

    /// The deadline passed. With every required service answered, the optional ones still out
    /// count as failed and the caller gets the partial answer; otherwise 504.
    fn expire(&mut self, ctx: u32, now: u64, store: &dyn SharedStore) -> Vec<Effect> {
        let Some(request) = self.requests.get(&ctx) else {
            return Vec::new();
        };
        let required_done = request
            .calls
            .iter()
            .all(|(s, c)| !self.settings.services[s].required || c.data().is_some());
        if !required_done {
            let error = EnrichError::DeadlineExceeded {
                budget_ms: self.settings.deadline_ms,
            };
            return self.end(ctx, Ending::Enrich(Err(error)), now);
        }
        let pending: Vec<Service> = request
            .calls
            .iter()
            .filter(|(_, c)| !c.is_done())
            .map(|(s, _)| s)
            .collect();
        let id = request.id.clone();
        let mut effects = Vec::new();
        for service in pending {
            info!(
                "[{id}] {} did not answer before the deadline",
                service.short_name()
            );
            let failure = Err(ServiceFailure::Unreachable);
            effects.extend(self.complete(ctx, service, failure, None, now, store));
        }
        effects
    }

    /// The earliest instant the engine needs [`Engine::on_tick`], if any.
    pub fn next_wake(&self, now: u64) -> Option<u64> {
        [self.timers.next(), self.token.next_wake(now)]
            .into_iter()
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests;
