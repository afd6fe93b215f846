//! The per-VM engine: every in-flight enrich request of one worker, the callouts they wait on and
//! the shared token. Host-independent: it takes events (headers, body, callout reply, tick, request
//! gone) with the current time and returns effects (dispatch this call, answer with this reply).
//! The host tells it the outcome of a dispatch through [`Engine::dispatched`]; when to wake it is
//! read from [`Engine::next_wake`].

use std::collections::HashMap;
use std::rc::Rc;

use log::{debug, info, warn};

use crate::answer::{self, AnswerError};
use crate::auth::{AuthFailure, Presented};
use crate::cache;
use crate::call::{Call, CallReply};
use crate::config::{LimitsConfig, Settings};
use crate::encode;
use crate::error::{EnrichError, Reply, ServiceFailure, TokenFailure, JSON};
use crate::metrics::{Observation, StatusClass};
use crate::payload;
use crate::request::{Phase, Request, SlotState};
use crate::service::{parse_reply, Service, ServiceData};
use crate::shared::SharedStore;
use crate::token::{TokenCache, TokenView};

mod calls;
mod mcp;

pub use mcp::McpHeaders;
mod sharing;

use sharing::Group;

/// How often a VM whose requests wait for a token fetched by another VM looks for it.
pub const TOKEN_POLL_MS: u64 = 10;

/// How far past the request's deadline a call's timeout runs when the deadline, not the service's
/// own timeout, is what limits it. The deadline is the engine's to enforce (504): a host times a
/// call out by itself (Envoy answers it 504 "upstream request timeout") and may fire that timer a
/// little early (Envoy schedules it from its cached event-loop time), so a call timed out at
/// exactly the deadline can come back a hair before it and read as a failed service (502). With
/// the slack the deadline always comes first; the call's late reply finds no owner.
pub const DEADLINE_SLACK_MS: u64 = 100;

/// The request line and headers the engine looks at.
#[derive(Debug, Default, Clone)]
pub struct RequestHead<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub content_type: Option<&'a str>,
    pub content_length: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub api_key: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub end_of_stream: bool,
    /// More than one `Authorization` or `X-API-Key` header arrived.
    pub repeated_credentials: bool,
    /// Envoy's `jwt_authn` put a verified JWT payload into this request's dynamic metadata.
    pub jwt_verified: bool,
}

impl<'a> RequestHead<'a> {
    /// The credentials the caller presented, for [`crate::auth::WebhookAuth::check_presented`]
    /// (every route that admits callers checks them the same way).
    pub fn credentials(&self) -> Presented<'a> {
        Presented {
            authorization: self.authorization,
            api_key: self.api_key,
            repeated: self.repeated_credentials,
            jwt_verified: self.jwt_verified,
        }
    }
}

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
    /// Dispatch `call`, bound to request `on_behalf` (so the host cancels it if the request goes)
    /// or, for `None`, to the root context. Report the outcome with [`Engine::dispatched`].
    Dispatch {
        owner: Owner,
        on_behalf: Option<u32>,
        call: Call,
    },
    /// Answer request `ctx` locally. `outcome` is the label of [`Observation::Request`], for the
    /// host to publish to its access log.
    Respond {
        ctx: u32,
        reply: Reply,
        outcome: &'static str,
    },
}

pub struct Engine {
    settings: Rc<Settings>,
    token: TokenCache,
    requests: HashMap<u32, Request>,
    callouts: HashMap<u32, Owner>,
    /// When to next try for a token on behalf of waiting requests.
    token_poll_at: Option<u64>,
    observations: Vec<Observation>,
    /// Calls in progress by (service, upstream path), so identical concurrent calls are made once.
    groups: HashMap<(Service, String), Group>,
}

/// The request id for logs, the answer and the upstream calls: the caller's (or Envoy's)
/// `x-request-id` when it is 1-128 visible ASCII characters, else `-`. It goes into every log
/// line and upstream header as is, so it must not carry control characters (a NUL or a line break
/// forging log lines or headers), spaces or non-ASCII.
fn request_id(raw: Option<&str>) -> String {
    raw.filter(|id| (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("-")
        .to_owned()
}

fn is_json_media_type(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}
impl Engine {
    pub fn new(settings: Rc<Settings>, store: &dyn SharedStore) -> Self {
        let namespace = format!("{}.{}", settings.token.cluster, settings.token.client_id);
        let token = TokenCache::new(store, &namespace);
        Engine {
            settings,
            token,
            requests: HashMap::new(),
            callouts: HashMap::new(),
            token_poll_at: None,
            observations: Vec::new(),
            groups: HashMap::new(),
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
        let rejection = if head.method != "POST" {
            Some(EnrichError::MethodNotAllowed)
        } else if let Err(failure) = self.settings.auth.check_presented(&head.credentials()) {
            Some(EnrichError::Unauthorized(failure))
        } else if !head.content_type.is_some_and(is_json_media_type) {
            Some(EnrichError::UnsupportedMediaType)
        } else if head
            .content_length
            .and_then(|l| l.trim().parse::<u64>().ok())
            .is_some_and(|l| l > self.settings.limits.max_body_bytes as u64)
        {
            Some(EnrichError::PayloadTooLarge {
                limit: self.settings.limits.max_body_bytes,
            })
        } else {
            None
        };
        if let Some(error) = rejection {
            match error {
                EnrichError::Unauthorized(AuthFailure::Invalid) => {
                    warn!("[{}] rejected: invalid webhook token", request.id);
                }
                EnrichError::Unauthorized(AuthFailure::Repeated) => {
                    warn!("[{}] rejected: repeated credential headers", request.id);
                }
                _ => {}
            }
            let effect = self.answer(&request, Err(error), now);
            return (Action::Pause, vec![effect]);
        }
        if head.end_of_stream {
            request.phase = Phase::Calls;
            self.requests.insert(ctx, request);
            let effects = self.accept_body(ctx, b"", now, store);
            return (Action::Pause, effects);
        }
        self.requests.insert(ctx, request);
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
        let Some(request) = self.requests.get_mut(&ctx) else {
            return (Action::Continue, Vec::new());
        };
        if request.phase != Phase::Body {
            return (Action::Pause, Vec::new());
        }
        let limit = self.settings.limits.max_body_bytes;
        if size > limit {
            return (
                Action::Pause,
                self.finish(ctx, Err(EnrichError::PayloadTooLarge { limit }), now),
            );
        }
        if !end_of_stream {
            return (Action::Pause, Vec::new());
        }
        request.phase = Phase::Calls;
        let body = if size == 0 { Some(Vec::new()) } else { read() };
        let effects = match body {
            Some(body) => self.accept_body(ctx, &body, now, store),
            None => self.finish(ctx, Err(EnrichError::Internal), now),
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
        let payload = match parsed {
            Ok(p) => p,
            Err(errors) => return self.finish(ctx, Err(EnrichError::InvalidPayload(errors)), now),
        };
        self.start_pipeline(ctx, payload.customer_number, payload.intent, now, store)
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
            request.customer = encode::component(&customer_number);
            debug!(
                "[{}] enrich accepted, intent length {}",
                request.id,
                intent.len()
            );
            request.customer_number = customer_number;
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

    /// Answers `ctx` once its answer is decided: at the first failed required service, or when
    /// every call is done.
    fn settle(&mut self, ctx: u32, now: u64) -> Vec<Effect> {
        let Some(request) = self.requests.get(&ctx) else {
            return Vec::new();
        };
        for service in Service::ALL {
            if let SlotState::Done(Err(failure)) = &request.slots[service].state {
                if self.settings.services[service].required {
                    let error = EnrichError::Upstream {
                        service,
                        failure: *failure,
                    };
                    return self.finish(ctx, Err(error), now);
                }
            }
        }
        if !Service::ALL.iter().all(|s| request.slots[*s].is_done()) {
            return Vec::new();
        }
        let gathered = request.gathered();
        // Answer step 2, privacy: drop and mask before the prompt, the tiles or any answer is
        // built from the data.
        let Ok(redacted) = self.settings.privacy.redact_gathered(&gathered) else {
            return self.finish(ctx, Err(EnrichError::Internal), now);
        };
        let gathered = redacted.apply(gathered);
        let degraded = !gathered.degraded().is_empty() || !gathered.stale.is_empty();
        // The MCP tool result carries the answer without the Copilot tiles, and `answerMode`
        // never applies to it (see `mcp::tool::output_schema`, which calls the writer the same
        // way).
        let mcp = request.mcp.is_some();
        let written = answer::write(
            &gathered,
            &self.settings.prompt,
            &self.settings.answer,
            (!mcp).then_some(&self.settings.copilot),
            if mcp {
                ""
            } else {
                self.settings.answer_mode.success_lead()
            },
        );
        let result = match written {
            Ok(w) => {
                if !w.truncated.is_empty() {
                    info!(
                        "[{}] answer cut to answer.maxBytes: {}",
                        request.id,
                        w.truncated.join(",")
                    );
                }
                Ok((w.body, degraded))
            }
            Err(e @ AnswerError::TooLarge { .. }) => {
                warn!("[{}] {e}", request.id);
                Err(EnrichError::AnswerTooLarge)
            }
            Err(AnswerError::Unwritable) => Err(EnrichError::Internal),
        };
        self.finish(ctx, result, now)
    }

    /// Ends `ctx` with its answer and forgets it and its callouts.
    fn finish(
        &mut self,
        ctx: u32,
        result: Result<(String, bool), EnrichError>,
        now: u64,
    ) -> Vec<Effect> {
        let Some(request) = self.forget(ctx) else {
            return Vec::new();
        };
        vec![self.answer(&request, result, now)]
    }

    /// Removes `ctx` with its callouts (a late reply then finds no owner) and hands its shared
    /// calls on; the one cleanup of every way a request ends.
    fn forget(&mut self, ctx: u32) -> Option<Request> {
        let request = self.requests.remove(&ctx)?;
        for token in request.in_flight_tokens() {
            self.callouts.remove(&token);
        }
        self.release_groups(&request);
        Some(request)
    }

    fn answer(
        &mut self,
        request: &Request,
        result: Result<(String, bool), EnrichError>,
        now: u64,
    ) -> Effect {
        if request.mcp.is_some() {
            return self.mcp_answer(request, result, now);
        }
        let mode = self.settings.answer_mode;
        let (mut reply, outcome, real_status) = match result {
            Ok((body, degraded)) => (
                Reply {
                    status: 200,
                    headers: vec![
                        ("content-type", JSON.to_owned()),
                        ("cache-control", "no-store".to_owned()),
                    ],
                    body,
                },
                if degraded { "degraded" } else { "ok" },
                200,
            ),
            Err(e) => (
                mode.error_reply(&e, &self.settings.answer.unavailable_text),
                e.outcome(),
                e.status(),
            ),
        };
        self.challenge(&mut reply);
        mode.mark(&mut reply, real_status);
        reply.headers.push(("x-request-id", request.id.clone()));
        if self.settings.server_timing {
            let timing = request.server_timing();
            if !timing.is_empty() {
                reply.headers.push(("server-timing", timing));
            }
        }
        let duration_ms = now.saturating_sub(request.started_ms);
        let retries = request.retries;
        info!(
            "[{}] enrich {outcome} status={real_status} duration_ms={duration_ms} retries={retries}",
            request.id
        );
        self.observations.push(Observation::Request {
            outcome,
            duration_ms,
            retries,
        });
        Effect::Respond {
            ctx: request.ctx,
            reply,
            outcome,
        }
    }

    /// A 401 names exactly the schemes this configuration accepts in its challenge (every route).
    pub(crate) fn challenge(&self, reply: &mut Reply) {
        if reply.status == 401 {
            reply.headers.retain(|(k, _)| *k != "www-authenticate");
            if let Some(challenge) = self.settings.auth.challenge() {
                reply.headers.push(("www-authenticate", challenge));
            }
        }
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
        let mut effects = Vec::new();
        let expired: Vec<u32> = self
            .requests
            .values()
            .filter(|r| now >= r.deadline_ms)
            .map(|r| r.ctx)
            .collect();
        for ctx in expired {
            effects.extend(self.expire(ctx, now, store));
        }

        let due: Vec<(u32, Service)> = self
            .requests
            .values()
            .flat_map(|r| {
                Service::ALL
                    .into_iter()
                    .filter(
                        move |s| matches!(r.slots[*s].state, SlotState::RetryAt(at) if at <= now),
                    )
                    .map(move |s| (r.ctx, s))
            })
            .collect();
        for (ctx, service) in due {
            effects.extend(self.send(ctx, service, None, now));
        }

        let waiters = self.requests.values().any(Request::waits_for_token);
        if self
            .token
            .should_fetch(now, store, waiters, &self.settings.token)
        {
            debug!("fetching OAuth token (waiting requests: {waiters})");
            self.token_poll_at = None;
            effects.push(Effect::Dispatch {
                owner: Owner::Token,
                on_behalf: None,
                call: TokenCache::fetch_call(&self.settings.token),
            });
        } else if waiters {
            effects.extend(self.serve_token_waiters(now, store));
            let still = self.requests.values().any(Request::waits_for_token);
            self.token_poll_at =
                (still && !self.token.is_fetching(now)).then_some(now + TOKEN_POLL_MS);
        } else {
            self.token_poll_at = None;
        }
        effects
    }

    /// The deadline passed. With every required service answered, the optional ones still out
    /// count as failed and the caller gets the partial answer; otherwise 504.
    fn expire(&mut self, ctx: u32, now: u64, store: &dyn SharedStore) -> Vec<Effect> {
        let Some(request) = self.requests.get(&ctx) else {
            return Vec::new();
        };
        let required_done = Service::ALL.into_iter().all(|s| {
            !self.settings.services[s].required
                || matches!(request.slots[s].state, SlotState::Done(Ok(_)))
        });
        if !required_done {
            let error = EnrichError::DeadlineExceeded {
                budget_ms: self.settings.deadline_ms,
            };
            return self.finish(ctx, Err(error), now);
        }
        let pending: Vec<Service> = Service::ALL
            .into_iter()
            .filter(|s| !request.slots[*s].is_done())
            .collect();
        let id = request.id.clone();
        let mut effects = Vec::new();
        for service in pending {
            info!(
                "[{id}] {} did not answer before the deadline",
                service.short_name()
            );
            effects.extend(self.complete(
                ctx,
                service,
                Err(ServiceFailure::Unreachable),
                None,
                now,
                store,
            ));
        }
        effects
    }

    /// The earliest instant the engine needs [`Engine::on_tick`], if any.
    pub fn next_wake(&self, now: u64) -> Option<u64> {
        let mut wake = self.token_poll_at;
        let mut consider = |t: u64| wake = Some(wake.map_or(t, |w| w.min(t)));
        for r in self.requests.values() {
            consider(r.deadline_ms);
            for s in Service::ALL {
                if let SlotState::RetryAt(at) = r.slots[s].state {
                    consider(at);
                }
            }
        }
        if let Some(t) = self.token.next_wake(now) {
            consider(t);
        }
        wake
    }
}

#[cfg(test)]
mod tests;
