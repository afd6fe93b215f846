//! Calls shared between requests: the response cache in shared data, and identical concurrent
//! calls of one worker made once.

use super::*;

/// Requests of this worker waiting on the same upstream call (same service, same path).
#[derive(Debug)]
pub(super) struct Group {
    pub(super) leader: u32,
    pub(super) followers: Vec<u32>,
}

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
    /// Completes the calls of `ctx` that a fresh cache entry answers.
    pub(super) fn serve_from_cache(&mut self, ctx: u32, now: u64, store: &dyn SharedStore) {
        let settings = Rc::clone(&self.settings);
        let limits = settings.limits;
        let Some(request) = self.requests.get_mut(&ctx) else {
            return;
        };
        for service in Service::ALL {
            let svc = &settings.services[service];
            let Some(c) = &svc.cache else {
                continue;
            };
            let key = svc.path.render(&request.customer, svc.limit);
            let hit = cache::lookup(store, &svc.cluster, &key, now, c)
                .filter(|hit| hit.fresh)
                .and_then(|hit| cached_data(service, &hit.body, &limits));
            self.observations.push(Observation::Cache {
                service,
                hit: hit.is_some(),
            });
            if let Some(data) = hit {
                let slot = &mut request.slots[service];
                slot.state = SlotState::Done(Ok(data));
                slot.done_ms = Some(now);
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
        let limits = settings.limits;
        let svc = &settings.services[service];
        let Some(request) = self.requests.get_mut(&ctx) else {
            return Vec::new();
        };
        let mut stale = false;
        let result = match (result, &svc.cache) {
            (Ok(data), Some(c)) => {
                let key = svc.path.render(&request.customer, svc.limit);
                if let Some(raw) = raw {
                    cache::put(store, &svc.cluster, &key, now, raw, c);
                }
                Ok(data)
            }
            (Err(failure), Some(c)) if c.stale_if_error_ms > 0 => {
                let key = svc.path.render(&request.customer, svc.limit);
                let cached = cache::lookup(store, &svc.cluster, &key, now, c)
                    .and_then(|hit| cached_data(service, &hit.body, &limits));
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
        let slot = &mut request.slots[service];
        if let Some(token) = slot.in_flight_token() {
            self.callouts.remove(&token);
        }
        let group = slot.group.take();
        let mut effects = Vec::new();
        if let Some(g) = group.and_then(|path| self.groups.remove(&(service, path))) {
            for follower in g.followers {
                if let Some(r) = self.requests.get_mut(&follower) {
                    let s = &mut r.slots[service];
                    if matches!(s.state, SlotState::Following) {
                        s.state = SlotState::Done(result.clone());
                        s.done_ms = Some(now);
                        s.stale = stale;
                    }
                }
                effects.extend(self.settle(follower, now));
            }
        }
        if let Some(request) = self.requests.get_mut(&ctx) {
            let slot = &mut request.slots[service];
            slot.state = SlotState::Done(result);
            slot.done_ms = Some(now);
            slot.stale = stale;
        }
        effects.extend(self.settle(ctx, now));
        effects
    }

    /// `request` ended while leading calls others follow: the first follower still waiting takes
    /// the lead and sends the call on the next tick.
    pub(super) fn release_groups(&mut self, request: &Request) {
        for service in Service::ALL {
            let Some(path) = &request.slots[service].group else {
                continue;
            };
            let key = (service, path.clone());
            let Some(mut g) = self.groups.remove(&key) else {
                continue;
            };
            g.followers.retain(|f| {
                self.requests
                    .get(f)
                    .is_some_and(|r| matches!(r.slots[service].state, SlotState::Following))
            });
            if g.followers.is_empty() {
                continue;
            }
            let leader = g.followers.remove(0);
            if let Some(r) = self.requests.get_mut(&leader) {
                let slot = &mut r.slots[service];
                slot.state = SlotState::NeedToken;
                slot.group = Some(path.clone());
            }
            self.groups.insert(
                key,
                Group {
                    leader,
                    followers: g.followers,
                },
            );
            self.token_poll_at = Some(0);
        }
    }
}
