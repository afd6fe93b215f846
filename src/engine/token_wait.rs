//! Requests waiting for the OAuth token: fetching it when due, handing it to every waiting call,
//! looking again while another VM fetches it, and failing the waiting calls when it cannot be had.

use log::{debug, info, warn};

use super::timers::Timer;
use super::{Effect, Ending, Engine, Owner, TOKEN_POLL_MS};
use crate::callout::CallReply;
use crate::error::{EnrichError, ServiceFailure, TokenFailure};
use crate::metrics::Observation;
use crate::request::Request;
use crate::service::Service;
use crate::store::SharedStore;
use crate::token::{TokenCache, TokenView};

impl Engine {
    /// The token part of a tick: fetch one when due, else hand a token another VM fetched to the
    /// requests waiting for it, looking again every [`TOKEN_POLL_MS`] while they wait.
    pub(super) fn look_for_token(&mut self, now: u64, store: &dyn SharedStore) -> Vec<Effect> {
        let waiters = self.requests.values().any(Request::waits_for_token);
        if self
            .token
            .should_fetch(now, store, waiters, &self.settings.token)
        {
            debug!("fetching OAuth token (waiting requests: {waiters})");
            self.timers.cancel(Timer::TokenPoll);
            return vec![Effect::Dispatch {
                owner: Owner::Token,
                call: TokenCache::fetch_call(&self.settings.token),
            }];
        }
        if !waiters {
            self.timers.cancel(Timer::TokenPoll);
            return Vec::new();
        }
        let effects = self.serve_token_waiters(now, store);
        let still = self.requests.values().any(Request::waits_for_token);
        if still && !self.token.is_fetching(now) {
            self.timers.set(Timer::TokenPoll, now + TOKEN_POLL_MS);
        } else {
            self.timers.cancel(Timer::TokenPoll);
        }
        effects
    }

    /// Dispatches every call of `ctx` that waits for a token, if one is to be had.
    pub(super) fn supply_token(
        &mut self,
        ctx: u32,
        now: u64,
        store: &dyn SharedStore,
    ) -> Vec<Effect> {
        match self.token.view(now, store) {
            TokenView::Ready(token) => {
                let mut effects = Vec::new();
                for service in Service::ALL {
                    let waiting = self
                        .requests
                        .get(&ctx)
                        .is_some_and(|r| r.calls[service].waits_for_token());
                    if waiting {
                        effects.extend(self.send(ctx, service, Some(&token), now));
                    }
                }
                effects
            }
            TokenView::Wait => {
                self.timers.set_earliest(Timer::TokenPoll, now);
                Vec::new()
            }
            TokenView::Failed(kind) => self.fail_token_waiters(ctx, kind, now, store),
        }
    }

    /// The token could not be had: a required call never sent fails the request with the token
    /// error; other waiting calls fail on their own (an optional one degrades the answer).
    fn fail_token_waiters(
        &mut self,
        ctx: u32,
        kind: TokenFailure,
        now: u64,
        store: &dyn SharedStore,
    ) -> Vec<Effect> {
        let Some(request) = self.requests.get(&ctx) else {
            return Vec::new();
        };
        let waiting: Vec<(Service, ServiceFailure)> = request
            .calls
            .iter()
            .filter(|(_, c)| c.waits_for_token())
            .map(|(s, c)| (s, c.token_failure()))
            .collect();
        let required_unsent = waiting.iter().any(|(s, failure)| {
            *failure == ServiceFailure::Unreachable && self.settings.services[*s].required
        });
        if required_unsent {
            return self.end(ctx, Ending::Enrich(Err(EnrichError::Token(kind))), now);
        }
        let mut effects = Vec::new();
        for (service, failure) in waiting {
            effects.extend(self.complete(ctx, service, Err(failure), None, now, store));
        }
        effects
    }

    fn serve_token_waiters(&mut self, now: u64, store: &dyn SharedStore) -> Vec<Effect> {
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
        self.timers.cancel(Timer::TokenPoll);
        self.serve_token_waiters(now, store)
    }
}
