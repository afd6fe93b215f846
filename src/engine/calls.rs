//! Getting each service call out and its reply back: the token, dispatch, 429 retries, 401
//! re-authentication and reading what came back.

use super::*;

impl Engine {
    /// Dispatches every call of `ctx` that waits for a token, if one is to be had.
    pub(super) fn supply_token(
        &mut self,
        ctx: u32,
        now: u64,
        store: &dyn SharedStore,
    ) -> Vec<Effect> {
        match self.token.view(now, store) {
            TokenView::Ready(token) => self.dispatch_waiting(ctx, &token, now),
            TokenView::Wait => {
                self.token_poll_at = Some(self.token_poll_at.map_or(now, |t| t.min(now)));
                Vec::new()
            }
            TokenView::Failed(kind) => self.fail_token_waiters(ctx, kind, now, store),
        }
    }

    pub(super) fn dispatch_waiting(&mut self, ctx: u32, token: &str, now: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        for service in Service::ALL {
            let waiting = self
                .requests
                .get(&ctx)
                .is_some_and(|r| matches!(r.slots[service].state, SlotState::NeedToken));
            if waiting {
                effects.extend(self.send(ctx, service, Some(token), now));
            }
        }
        effects
    }

    /// The token could not be had: a required call never sent fails the request with the token
    /// error; other waiting calls fail on their own (an optional one degrades the answer).
    pub(super) fn fail_token_waiters(
        &mut self,
        ctx: u32,
        kind: TokenFailure,
        now: u64,
        store: &dyn SharedStore,
    ) -> Vec<Effect> {
        let Some(request) = self.requests.get(&ctx) else {
            return Vec::new();
        };
        let waiting: Vec<(Service, bool)> = Service::ALL
            .into_iter()
            .filter(|s| matches!(request.slots[*s].state, SlotState::NeedToken))
            .map(|s| (s, request.slots[s].attempts > 0))
            .collect();
        if waiting
            .iter()
            .any(|(s, sent)| !sent && self.settings.services[*s].required)
        {
            return self.finish(ctx, Err(EnrichError::Token(kind)), now);
        }
        let mut effects = Vec::new();
        for (service, sent) in waiting {
            // A call that lost its token to a 401 keeps that 401; one never sent was unreachable.
            let failure = if sent {
                ServiceFailure::Status(401)
            } else {
                ServiceFailure::Unreachable
            };
            effects.extend(self.complete(ctx, service, Err(failure), None, now, store));
        }
        effects
    }

    /// Builds and emits one attempt of `service` for `ctx`. `bearer` is the token to use; `None`
    /// re-uses the one of the previous attempt (a 429 retry).
    pub(super) fn send(
        &mut self,
        ctx: u32,
        service: Service,
        bearer: Option<&str>,
        now: u64,
    ) -> Vec<Effect> {
        let settings = Rc::clone(&self.settings);
        let Some(request) = self.requests.get_mut(&ctx) else {
            return Vec::new();
        };
        let remaining = request.deadline_ms.saturating_sub(now);
        let svc = &settings.services[service];
        let slot = &mut request.slots[service];
        let path = svc.path.render(&request.customer, svc.limit);
        if slot.attempts == 0 {
            match self.groups.get_mut(&(service, path.clone())) {
                Some(g) if g.leader != ctx => {
                    g.followers.push(ctx);
                    slot.state = SlotState::Following;
                    return Vec::new();
                }
                Some(_) => {}
                None => {
                    self.groups.insert(
                        (service, path.clone()),
                        Group {
                            leader: ctx,
                            followers: Vec::new(),
                        },
                    );
                }
            }
            slot.group = Some(path.clone());
        }
        if let Some(b) = bearer {
            slot.bearer = Some(b.to_owned());
        }
        let Some(bearer) = slot.bearer.clone() else {
            slot.state = SlotState::NeedToken;
            return Vec::new();
        };
        slot.attempts += 1;
        slot.state = SlotState::Dispatching;
        slot.first_sent_ms.get_or_insert(now);
        slot.sent_ms = Some(now);
        let call = Call {
            cluster: svc.cluster.clone(),
            headers: vec![
                (":method", "GET".to_owned()),
                (":path", path),
                (":authority", svc.authority.clone()),
                ("authorization", format!("Bearer {bearer}")),
                ("accept", JSON.to_owned()),
                ("x-request-id", request.id.clone()),
            ],
            body: None,
            timeout_ms: if svc.timeout_ms < remaining {
                svc.timeout_ms
            } else {
                remaining.saturating_add(DEADLINE_SLACK_MS)
            }
            .max(1),
        };
        vec![Effect::Dispatch {
            owner: Owner::Service { ctx, service },
            on_behalf: Some(ctx),
            call,
        }]
    }

    /// The host's answer to a [`Effect::Dispatch`]: the callout token, or `Err` when it refused
    /// the call (unknown cluster, request gone).
    pub fn dispatched(
        &mut self,
        owner: Owner,
        result: Result<u32, ()>,
        now: u64,
        store: &dyn SharedStore,
    ) -> Vec<Effect> {
        match (owner, result) {
            (Owner::Token, Ok(token)) => {
                self.callouts.insert(token, Owner::Token);
                Vec::new()
            }
            (Owner::Token, Err(())) => {
                warn!(
                    "token fetch could not be dispatched to cluster {}",
                    self.settings.token.cluster
                );
                self.token_reply(&CallReply::default(), now, store)
            }
            (Owner::Service { ctx, service }, Ok(token)) => {
                let Some(request) = self.requests.get_mut(&ctx) else {
                    return Vec::new();
                };
                let slot = &mut request.slots[service];
                if matches!(slot.state, SlotState::Dispatching) {
                    slot.state = SlotState::InFlight { token };
                    self.callouts.insert(token, owner);
                }
                Vec::new()
            }
            (Owner::Service { ctx, service }, Err(())) => {
                let Some(request) = self.requests.get_mut(&ctx) else {
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
                self.complete(
                    ctx,
                    service,
                    Err(ServiceFailure::Unreachable),
                    None,
                    now,
                    store,
                )
            }
        }
    }

    /// A callout answered. Replies nobody waits for any more (the request ended) are dropped.
    pub fn on_call_reply(
        &mut self,
        token: u32,
        reply: &CallReply,
        now: u64,
        store: &dyn SharedStore,
    ) -> Vec<Effect> {
        match self.callouts.remove(&token) {
            None => {
                debug!("late reply for callout {token} dropped");
                Vec::new()
            }
            Some(Owner::Token) => self.token_reply(reply, now, store),
            Some(Owner::Service { ctx, service }) => {
                self.service_reply(ctx, service, reply, now, store)
            }
        }
    }

    pub(super) fn token_reply(
        &mut self,
        reply: &CallReply,
        now: u64,
        store: &dyn SharedStore,
    ) -> Vec<Effect> {
        let outcome = self.token.on_reply(now, reply, store, &self.settings.token);
        self.observations.push(Observation::TokenFetch {
            ok: outcome.is_ok(),
        });
        match outcome {
            Ok(()) => info!("OAuth token fetched"),
            Err(kind) => warn!(
                "OAuth token fetch failed: {kind:?} (status {:?})",
                reply.status
            ),
        }
        self.token_poll_at = None;
        self.serve_token_waiters(now, store)
    }

    pub(super) fn serve_token_waiters(&mut self, now: u64, store: &dyn SharedStore) -> Vec<Effect> {
        let waiting: Vec<u32> = self
            .requests
            .values()
            .filter(|r| r.waits_for_token())
            .map(|r| r.ctx)
            .collect();
        let mut effects = Vec::new();
        for ctx in waiting {
            effects.extend(self.supply_token(ctx, now, store));
        }
        effects
    }

    pub(super) fn service_reply(
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
            return self.finish(
                ctx,
                Err(EnrichError::DeadlineExceeded {
                    budget_ms: settings.deadline_ms,
                }),
                now,
            );
        }
        let deadline = request.deadline_ms;
        let id = request.id.clone();
        let slot = &mut request.slots[service];
        let latency_ms = slot.sent_ms.map_or(0, |t| now.saturating_sub(t));
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
            latency_ms,
        });
        let limits = settings.limits;
        let outcome = match reply.status {
            Some(200..=299) => {
                let body = if reply.body_size > limits.max_upstream_body_bytes {
                    &[][..]
                } else {
                    &reply.body[..]
                };
                let size = reply.body_size.max(body.len());
                let parsed = if size > limits.max_upstream_body_bytes {
                    Err(crate::service::ReplyError::TooLarge)
                } else {
                    parse_reply(
                        service,
                        body,
                        limits.max_upstream_body_bytes,
                        limits.max_list_items,
                    )
                };
                Some(parsed.map_err(|e| {
                    warn!("[{id}] {} reply unusable: {e:?}", service.short_name());
                    ServiceFailure::Malformed
                }))
            }
            Some(401) if !slot.reauthenticated => {
                slot.reauthenticated = true;
                if let Some(bearer) = slot.bearer.take() {
                    self.token.invalidate(&bearer, store);
                }
                info!(
                    "[{id}] {} answered 401; token dropped, fetching a new one",
                    service.short_name()
                );
                if let Some(request) = self.requests.get_mut(&ctx) {
                    request.slots[service].state = SlotState::NeedToken;
                }
                return self.supply_token(ctx, now, store);
            }
            Some(429) => match settings.retry.next_attempt_at(
                slot.attempts,
                reply.retry_after.as_deref(),
                now,
                deadline,
            ) {
                Some(at) => {
                    slot.state = SlotState::RetryAt(at);
                    request.retries += 1;
                    self.observations.push(Observation::Retry { service });
                    debug!(
                        "[{id}] {} answered 429; retry in {} ms",
                        service.short_name(),
                        at - now
                    );
                    return Vec::new();
                }
                None => Some(Err(ServiceFailure::RetriesExhausted {
                    attempts: slot.attempts,
                })),
            },
            Some(code) => match local_reply {
                Some(kind) => {
                    info!(
                        "[{id}] {} unreachable: Envoy answered {code} itself ({kind:?})",
                        service.short_name()
                    );
                    Some(Err(ServiceFailure::Unreachable))
                }
                None => Some(Err(ServiceFailure::Status(code))),
            },
            None => Some(Err(ServiceFailure::Unreachable)),
        };
        match outcome {
            Some(result) => {
                if let Err(failure) = &result {
                    info!("[{id}] {} failed: {failure:?}", service.short_name());
                }
                let raw = result.is_ok().then_some(&reply.body[..]);
                self.complete(ctx, service, result, raw, now, store)
            }
            None => self.settle(ctx, now),
        }
    }
}
