//! The engine's side of the service calls: sending them, routing their callout ids and replies to
//! the [`ServiceCall`](crate::service_call::ServiceCall) state machine, and recording each call's
//! final result (the response cache, identical calls shared, settling the requests).

use std::rc::Rc;
use std::sync::Arc;

use log::{debug, info, warn};

use super::coalesce::Joined;
use super::timers::Timer;
use super::{Effect, Ending, Engine, Owner, DEADLINE_SLACK_MS};
use crate::cache;
use crate::callout::{Bearer, Call, CallReply};
use crate::config::LimitsConfig;
use crate::error::{EnrichError, ServiceFailure, JSON};
use crate::metrics::{Observation, StatusClass};
use crate::request::Request;
use crate::service::{parse_reply, Service, ServiceData};
use crate::service_call::{AfterReply, CallId, CallState, ReplyContext};
use crate::store::SharedStore;

/// A cached body read back like a fresh reply (the limits may have changed since it was stored).
fn cached_data(service: Service, body: &[u8], limits: &LimitsConfig) -> Option<ServiceData> {
    parse_reply(
        service,
        body,
        limits.max_upstream_body_bytes,
        limits.max_list_items,
    )
    .ok()
}

impl Engine {
    /// Sends one attempt of `service` for `ctx`, with `bearer`, or with the previous attempt's
    /// token (a 429 retry) when `None`. A first attempt identical to a call another request of
    /// this worker has out follows that one instead.
    pub(super) fn send(
        &mut self,
        ctx: u32,
        service: Service,
        bearer: Option<&Bearer>,
        now: u64,
    ) -> Option<Effect> {
        let settings = Rc::clone(&self.settings);
        let request = self.requests.get_mut(&ctx)?;
        let remaining = request.deadline_ms.saturating_sub(now);
        let svc = &settings.services[service];
        let path = &request.upstream_paths[service];
        let call = &mut request.calls[service];
        if call.never_sent() {
            if self.groups.join(service, path, ctx) == Joined::Follow {
                call.state = CallState::Following;
                return None;
            }
            call.leads = true;
        }
        let bearer = call.start_attempt(bearer, now)?;
        let call = Call {
            cluster: Arc::clone(&svc.cluster),
            headers: vec![
                (":method", "GET".into()),
                (":path", Arc::clone(path).into()),
                (":authority", Arc::clone(&svc.authority).into()),
                ("authorization", bearer.header()),
                ("accept", JSON.into()),
                ("x-request-id", Arc::clone(&request.id).into()),
            ],
            body: None,
            timeout_ms: if svc.timeout_ms < remaining {
                svc.timeout_ms
            } else {
                remaining.saturating_add(DEADLINE_SLACK_MS)
            }
            .max(1),
        };
        Some(Effect::Dispatch {
            owner: Owner::Service { ctx, service },
            call,
        })
    }

    /// The host's answer to a [`Effect::Dispatch`]: the callout id, or `Err` when it refused the
    /// call (unknown cluster, request gone).
    pub fn dispatched(
        &mut self,
        owner: Owner,
        result: Result<CallId, ()>,
        now: u64,
        store: &dyn SharedStore,
    ) -> Vec<Effect> {
        match (owner, result) {
            (Owner::Token, Ok(id)) => {
                self.callouts.insert(id, Owner::Token);
                Vec::new()
            }
            (Owner::Token, Err(())) => {
                warn!(
                    "token fetch could not be dispatched to cluster {}",
                    self.settings.token.cluster
                );
                self.token_reply(&CallReply::default(), now, store)
            }
            (Owner::Service { ctx, service }, Ok(id)) => {
                let taken = self
                    .requests
                    .get_mut(&ctx)
                    .is_some_and(|r| r.calls[service].dispatched(id));
                if taken {
                    self.callouts.insert(id, owner);
                }
                Vec::new()
            }
            (Owner::Service { ctx, service }, Err(())) => {
                let Some(request) = self.requests.get(&ctx) else {
                    return Vec::new();
                };
                warn!(
                    "[{}] {} call could not be dispatched",
                    request.id,
                    service.short_name()
                );
                self.observations.push(Observation::Upstream {
                    service,
                    class: StatusClass::Reset,
                    latency_ms: 0,
                });
                let failure = Err(ServiceFailure::Unreachable);
                self.complete(ctx, service, failure, None, now, store)
            }
        }
    }

    /// A callout answered. Replies nobody waits for any more (the request ended) are dropped.
    pub fn on_call_reply(
        &mut self,
        id: CallId,
        reply: &CallReply,
        now: u64,
        store: &dyn SharedStore,
    ) -> Vec<Effect> {
        self.clock = self.clock.max(now);
        match self.callouts.remove(&id) {
            None => {
                debug!("late reply for callout {} dropped", id.0);
                Vec::new()
            }
            Some(Owner::Token) => self.token_reply(reply, now, store),
            Some(Owner::Service { ctx, service }) => {
                self.service_reply(ctx, service, reply, now, store)
            }
        }
    }

    fn service_reply(
        &mut self,
        ctx: u32,
        service: Service,
        reply: &CallReply,
        now: u64,
        store: &dyn SharedStore,
    ) -> Vec<Effect> {
        let settings = Rc::clone(&self.settings);
        let Some(request) = self.requests.get_mut(&ctx) else {
            return Vec::new();
        };
        if now >= request.deadline_ms {
            let error = EnrichError::DeadlineExceeded {
                budget_ms: settings.deadline_ms,
            };
            return self.end(ctx, Ending::Enrich(Err(error)), now);
        }
        let call = &mut request.calls[service];
        // Envoy's own reply for a call that never reached the service counts as no answer.
        let local_reply = reply
            .status
            .and_then(|code| crate::local_reply::classify(code, &reply.body));
        self.observations.push(Observation::Upstream {
            service,
            class: if local_reply.is_some() {
                StatusClass::Reset
            } else {
                StatusClass::of(reply.status)
            },
            latency_ms: call.latency_ms(now),
        });
        let cx = ReplyContext {
            retry: &settings.retry,
            limits: &settings.limits,
            now,
            deadline_ms: request.deadline_ms,
            request_id: &request.id,
        };
        let next = call.on_reply(service, reply, local_reply, &cx);
        match next {
            AfterReply::Finished(result) => {
                let raw = result.is_ok().then_some(&reply.body[..]);
                self.complete(ctx, service, result, raw, now, store)
            }
            AfterReply::RetryAt(at) => {
                request.retries += 1;
                self.observations.push(Observation::Retry { service });
                self.timers.set(Timer::Retry(ctx, service), at);
                Vec::new()
            }
            AfterReply::Reauthenticate { bearer } => {
                if let Some(bearer) = bearer {
                    self.token.invalidate(bearer.token(), store);
                }
                self.supply_token(ctx, now, store)
            }
        }
    }

    /// Completes the calls of `ctx` that a fresh cache entry answers.
    pub(super) fn serve_from_cache(&mut self, ctx: u32, now: u64, store: &dyn SharedStore) {
        let settings = Rc::clone(&self.settings);
        let Some(request) = self.requests.get_mut(&ctx) else {
            return;
        };
        for service in Service::ALL {
            let svc = &settings.services[service];
            let Some(c) = &svc.cache else {
                continue;
            };
            let key = &request.upstream_paths[service];
            let hit = cache::lookup(store, &svc.cluster, key, now, c)
                .filter(|hit| hit.fresh)
                .and_then(|hit| cached_data(service, &hit.body, &settings.limits));
            self.observations.push(Observation::Cache {
                service,
                hit: hit.is_some(),
            });
            if let Some(data) = hit {
                request.calls[service].finish(Ok(data), false, now);
            }
        }
    }

    /// Records the final result of `service` for `ctx`: caches a fresh reply, falls back to a
    /// stale cached one when the service failed, shares it with requests following the same call,
    /// and settles every request involved.
    pub(super) fn complete(
        &mut self,
        ctx: u32,
        service: Service,
        result: Result<ServiceData, ServiceFailure>,
        raw: Option<&[u8]>,
        now: u64,
        store: &dyn SharedStore,
    ) -> Vec<Effect> {
        let settings = Rc::clone(&self.settings);
        let svc = &settings.services[service];
        let Some(request) = self.requests.get_mut(&ctx) else {
            return Vec::new();
        };
        let key = &request.upstream_paths[service];
        let mut stale = false;
        let result = match (result, &svc.cache) {
            (Ok(data), Some(c)) => {
                if let Some(raw) = raw {
                    cache::put(store, &svc.cluster, key, now, raw, c);
                }
                Ok(data)
            }
            (Err(failure), Some(c)) if c.stale_if_error_ms > 0 => {
                let cached = cache::lookup(store, &svc.cluster, key, now, c)
                    .and_then(|hit| cached_data(service, &hit.body, &settings.limits));
                match cached {
                    Some(data) => {
                        info!(
                            "[{}] {} failed ({failure:?}); answering from cache",
                            request.id,
                            service.short_name()
                        );
                        stale = true;
                        Ok(data)
                    }
                    None => Err(failure),
                }
            }
            (result, _) => result,
        };
        let call = &mut request.calls[service];
        if let Some(id) = call.call_id() {
            self.callouts.remove(&id);
        }
        let followers = if std::mem::take(&mut call.leads) {
            self.groups.finish(service, key)
        } else {
            Vec::new()
        };
        let mut effects = Vec::new();
        for follower in followers {
            if let Some(r) = self.requests.get_mut(&follower) {
                let c = &mut r.calls[service];
                if matches!(c.state, CallState::Following) {
                    c.finish(result.clone(), stale, now);
                }
            }
            effects.extend(self.settle(follower, now));
        }
        // The request's own copy last, moved: a copy per follower, none for a call nobody
        // followed (the common case).
        if let Some(r) = self.requests.get_mut(&ctx) {
            r.calls[service].finish(result, stale, now);
        }
        effects.extend(self.settle(ctx, now));
        effects
    }

    /// `request` ended while leading calls others follow: the first follower still waiting takes
    /// the lead and sends the call at the next tick.
    pub(super) fn release_groups(&mut self, request: &Request) {
        for (service, call) in request.calls.iter() {
            if !call.leads {
                continue;
            }
            let requests = &self.requests;
            let leader = self
                .groups
                .hand_on(service, &request.upstream_paths[service], |f| {
                    requests
                        .get(&f)
                        .is_some_and(|r| matches!(r.calls[service].state, CallState::Following))
                });
            let Some(leader) = leader.and_then(|l| self.requests.get_mut(&l)) else {
                continue;
            };
            let call = &mut leader.calls[service];
            call.state = CallState::WaitingForToken;
            call.leads = true;
            self.timers.set_earliest(Timer::TokenPoll, self.clock);
        }
    }
}
