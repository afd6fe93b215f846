//! One service call of one request, as a state machine: each state carries what it needs, and each
//! event (sent, dispatched, replied, finished) is a method that says what the engine does next.
//! It knows nothing of other requests, timers or the host: the engine routes callout ids to it
//! and owns the timers.

use log::{debug, info, warn};

use crate::backoff::RetryPolicy;
use crate::callout::{Bearer, CallReply};
use crate::config::LimitsConfig;
use crate::error::ServiceFailure;
use crate::local_reply::LocalReply;
use crate::service::{parse_reply, ReplyError, Service, ServiceData};

/// The host's id of a dispatched callout (proxy-wasm calls it a token; here "token" is only ever
/// the OAuth token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u32);

#[derive(Debug)]
pub enum CallState {
    /// Waits for an OAuth token (first attempt, or after a 401 dropped the old one).
    WaitingForToken,
    /// Handed to the host with `bearer`; `call_id` is `None` until the host reports the dispatch.
    InFlight {
        call_id: Option<CallId>,
        sent_ms: u64,
        bearer: Bearer,
    },
    /// A 429 asked for a retry with the same token; the engine's timer table says when.
    RetryAt { bearer: Option<Bearer> },
    /// Another request of this worker makes the same call; its result is shared.
    Following,
    Done {
        result: Result<ServiceData, ServiceFailure>,
        /// From the first attempt to the result, for `Server-Timing` (`None`: never sent).
        duration_ms: Option<u64>,
        /// The data came from the cache after the service failed.
        stale: bool,
    },
}

/// What a reply is read against.
pub struct ReplyContext<'a> {
    pub retry: &'a RetryPolicy,
    pub limits: &'a LimitsConfig,
    pub now: u64,
    /// The request's deadline: a 429 retry must start before it.
    pub deadline_ms: u64,
    /// The request's id, for the log.
    pub request_id: &'a str,
}

/// What the engine does after a reply.
#[derive(Debug)]
pub enum AfterReply {
    /// The call is over with this result.
    Finished(Result<ServiceData, ServiceFailure>),
    /// Try again at this instant (a 429 within the retry budget).
    RetryAt(u64),
    /// The service refused `bearer` (a 401, the first one): drop it and wait for a new token.
    Reauthenticate { bearer: Option<Bearer> },
}

#[derive(Debug)]
pub struct ServiceCall {
    pub state: CallState,
    /// Attempts sent so far (a re-send after a 401 counts too).
    attempts: u32,
    /// Whether the one re-authentication a call gets after a 401 has been used.
    reauthenticated: bool,
    first_sent_ms: Option<u64>,
    /// This call leads identical calls of other requests (see `engine::coalesce`).
    pub leads: bool,
}

impl Default for ServiceCall {
    fn default() -> Self {
        ServiceCall {
            state: CallState::WaitingForToken,
            attempts: 0,
            reauthenticated: false,
            first_sent_ms: None,
            leads: false,
        }
    }
}

impl ServiceCall {
    pub fn is_done(&self) -> bool {
        matches!(self.state, CallState::Done { .. })
    }

    pub fn waits_for_token(&self) -> bool {
        matches!(self.state, CallState::WaitingForToken)
    }

    pub fn never_sent(&self) -> bool {
        self.attempts == 0
    }

    pub fn call_id(&self) -> Option<CallId> {
        match self.state {
            CallState::InFlight { call_id, .. } => call_id,
            _ => None,
        }
    }

    /// The data, once the call succeeded (fresh or from the cache).
    pub fn data(&self) -> Option<&ServiceData> {
        match &self.state {
            CallState::Done { result: Ok(d), .. } => Some(d),
            _ => None,
        }
    }

    pub fn failure(&self) -> Option<ServiceFailure> {
        match &self.state {
            CallState::Done { result: Err(f), .. } => Some(*f),
            _ => None,
        }
    }

    pub fn is_stale(&self) -> bool {
        matches!(self.state, CallState::Done { stale: true, .. })
    }

    pub fn duration_ms(&self) -> Option<u64> {
        match self.state {
            CallState::Done { duration_ms, .. } => duration_ms,
            _ => None,
        }
    }

    /// Starts an attempt with `bearer`, or with the token of the previous attempt (a 429 retry)
    /// when `None`. Returns the token to send, or `None` when there is none and the call now
    /// waits for one.
    pub fn start_attempt(&mut self, bearer: Option<&Bearer>, now: u64) -> Option<Bearer> {
        let bearer = match (bearer, &self.state) {
            (Some(b), _) => b.clone(),
            (None, CallState::RetryAt { bearer: Some(b) }) => b.clone(),
            (None, _) => {
                self.state = CallState::WaitingForToken;
                return None;
            }
        };
        self.attempts += 1;
        self.first_sent_ms.get_or_insert(now);
        self.state = CallState::InFlight {
            call_id: None,
            sent_ms: now,
            bearer: bearer.clone(),
        };
        Some(bearer)
    }

    /// The host took the attempt under `id`. `false` when the call is no longer waiting for
    /// that (the id then has no owner).
    pub fn dispatched(&mut self, id: CallId) -> bool {
        match &mut self.state {
            CallState::InFlight { call_id, .. } if call_id.is_none() => {
                *call_id = Some(id);
                true
            }
            _ => false,
        }
    }

    /// How long the current attempt has been out.
    pub fn latency_ms(&self, now: u64) -> u64 {
        match self.state {
            CallState::InFlight { sent_ms, .. } => now.saturating_sub(sent_ms),
            _ => 0,
        }
    }

    /// The failure of a call whose token could not be had: one that lost its token to a 401 keeps
    /// that 401; one never sent was unreachable.
    pub fn token_failure(&self) -> ServiceFailure {
        if self.never_sent() {
            ServiceFailure::Unreachable
        } else {
            ServiceFailure::Status(401)
        }
    }

    /// Reads a reply. `local_reply` says Envoy answered for a call that never reached the
    /// service.
    pub fn on_reply(
        &mut self,
        service: Service,
        reply: &CallReply,
        local_reply: Option<LocalReply>,
        cx: &ReplyContext<'_>,
    ) -> AfterReply {
        let (name, id, now) = (service.short_name(), cx.request_id, cx.now);
        let result = match reply.status {
            Some(200..=299) => read_body(service, reply, cx.limits).map_err(|e| {
                warn!("[{id}] {name} reply unusable: {e:?}");
                ServiceFailure::Malformed
            }),
            Some(401) if !self.reauthenticated => {
                self.reauthenticated = true;
                info!("[{id}] {name} answered 401; token dropped, fetching a new one");
                let bearer = self.take_bearer();
                self.state = CallState::WaitingForToken;
                return AfterReply::Reauthenticate { bearer };
            }
            Some(429) => {
                let retry_after = reply.retry_after.as_deref();
                match cx
                    .retry
                    .next_attempt_at(self.attempts, retry_after, now, cx.deadline_ms)
                {
                    Some(at) => {
                        let bearer = self.take_bearer();
                        self.state = CallState::RetryAt { bearer };
                        debug!("[{id}] {name} answered 429; retry in {} ms", at - now);
                        return AfterReply::RetryAt(at);
                    }
                    None => Err(ServiceFailure::RetriesExhausted {
                        attempts: self.attempts,
                    }),
                }
            }
            Some(code) => match local_reply {
                Some(kind) => {
                    info!("[{id}] {name} unreachable: Envoy answered {code} itself ({kind:?})");
                    Err(ServiceFailure::Unreachable)
                }
                None => Err(ServiceFailure::Status(code)),
            },
            None => Err(ServiceFailure::Unreachable),
        };
        if let Err(failure) = &result {
            info!("[{id}] {name} failed: {failure:?}");
        }
        AfterReply::Finished(result)
    }

    /// The token of the attempt out, leaving the call waiting for one.
    fn take_bearer(&mut self) -> Option<Bearer> {
        match std::mem::replace(&mut self.state, CallState::WaitingForToken) {
            CallState::InFlight { bearer, .. } => Some(bearer),
            other => {
                self.state = other;
                None
            }
        }
    }

    /// The call's final result (fresh, shared, cached or a failure).
    pub fn finish(&mut self, result: Result<ServiceData, ServiceFailure>, stale: bool, now: u64) {
        self.state = CallState::Done {
            result,
            duration_ms: self.first_sent_ms.map(|t| now.saturating_sub(t)),
            stale,
        };
    }
}

/// A 2xx body as the service's data. The glue leaves the body out when its announced size is over
/// the limit, so that is checked here; [`parse_reply`] checks the bytes themselves.
fn read_body(
    service: Service,
    reply: &CallReply,
    limits: &LimitsConfig,
) -> Result<ServiceData, ReplyError> {
    if reply.body_size > limits.max_upstream_body_bytes {
        return Err(ReplyError::TooLarge);
    }
    parse_reply(
        service,
        &reply.body,
        limits.max_upstream_body_bytes,
        limits.max_list_items,
    )
}
