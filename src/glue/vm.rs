//! The state one VM (one Envoy worker) shares between its root context and its HTTP contexts:
//! the engine and the root's timer.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::time::Duration;

use log::warn;
use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, LogLevel, MapType};

use crate::callout::CallReply;
use crate::engine::{CallId, Effect, Engine};

use super::count::{self, Kind};
use super::host::{self, HostStore};
use super::metrics::Metrics;

/// Longest tick the timer is armed for; a later wake simply re-arms.
const MAX_TICK_MS: u64 = 60_000;

/// The one status whose `Retry-After` the engine reads (src/service_call.rs).
const RETRY_AFTER_STATUS: u16 = 429;

/// How often the host's log level is read again: a level changed at run time (Envoy's admin
/// `/logging`) applies within this long.
const LOG_LEVEL_CHECK_MS: u64 = 1000;

pub struct Vm {
    pub root_id: u32,
    pub engine: RefCell<Option<Engine>>,
    pub metrics: RefCell<Metrics>,
    /// When the armed timer fires next, and its period.
    armed: Cell<Option<(u64, u64)>>,
    /// The context host calls act on, as far as the glue knows (the host makes a callback's own
    /// context effective before calling it): a switch to it again is a host call saved.
    effective: Cell<Option<u32>>,
    /// When the host's log level is read next (see [`Vm::follow_log_level`]).
    log_level_check_at: Cell<u64>,
}

impl Vm {
    pub fn new(root_id: u32) -> Self {
        Vm {
            root_id,
            engine: RefCell::new(None),
            metrics: RefCell::new(Metrics::default()),
            armed: Cell::new(None),
            effective: Cell::new(None),
            log_level_check_at: Cell::new(0),
        }
    }

    /// Lowers the VM's log level to the host's (never above `info`, the filter's own), so a line
    /// the host would drop is neither formatted nor sent: with Envoy at `warn`, the per-request
    /// `info` line costs nothing. Read again every [`LOG_LEVEL_CHECK_MS`].
    fn follow_log_level(&self, now: u64) {
        if now < self.log_level_check_at.get() {
            return;
        }
        self.log_level_check_at
            .set(now.saturating_add(LOG_LEVEL_CHECK_MS));
        count::hit(Kind::GetLogLevel);
        let filter = match hostcalls::get_log_level() {
            Ok(LogLevel::Warn) => log::LevelFilter::Warn,
            Ok(LogLevel::Error | LogLevel::Critical) => log::LevelFilter::Error,
            // Trace, debug and info, or no answer: the filter's own level.
            _ => log::LevelFilter::Info,
        };
        log::set_max_level(filter);
    }

    /// Makes `context_id` the one later host calls act on, unless it already is; `false` when it
    /// no longer exists.
    fn focus(&self, context_id: u32) -> bool {
        if self.effective.get() == Some(context_id) {
            return true;
        }
        let ok = host::focus(context_id);
        if ok {
            self.effective.set(Some(context_id));
        }
        ok
    }

    /// Runs `f` on the engine (if configured), then carries out the effects it returned.
    /// `current` is the context whose callback this is, made effective again at the end.
    pub fn drive<R>(
        &self,
        current: u32,
        f: impl FnOnce(&mut Engine, u64) -> (R, Vec<Effect>),
    ) -> Option<R> {
        self.drive_at(current, host::now_ms(), f)
    }

    /// [`drive`](Self::drive) for a callback that has read the clock already: one read per event.
    pub fn drive_at<R>(
        &self,
        current: u32,
        now: u64,
        f: impl FnOnce(&mut Engine, u64) -> (R, Vec<Effect>),
    ) -> Option<R> {
        self.effective.set(Some(current));
        self.follow_log_level(now);
        let (result, effects) = {
            let mut guard = self.engine.borrow_mut();
            let engine = guard.as_mut()?;
            f(engine, now)
        };
        self.execute(effects, now);
        self.focus(current);
        let observations = self
            .engine
            .borrow_mut()
            .as_mut()
            .map(Engine::take_observations);
        if let Some(observations) = observations {
            self.metrics.borrow().record(observations);
        }
        self.reschedule(now);
        Some(result)
    }

    fn execute(&self, effects: Vec<Effect>, now: u64) {
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(effect) = queue.pop_front() {
            match effect {
                Effect::Dispatch { owner, call, .. } => {
                    // Every callout is bound to the root context: the host then never cancels one
                    // silently when its request goes away, so each reply arrives, clears the SDK's
                    // token map, and is dropped by the engine if nobody waits for it.
                    self.focus(self.root_id);
                    let headers: Vec<(&str, &str)> =
                        call.headers.iter().map(|(k, v)| (*k, &**v)).collect();
                    count::hit(Kind::DispatchHttpCall);
                    let result = hostcalls::dispatch_http_call(
                        &call.cluster,
                        headers,
                        call.body.as_deref(),
                        Vec::new(),
                        Duration::from_millis(call.timeout_ms),
                    );
                    if let Err(status) = result {
                        // Service calls carry their request's id; the token fetch has none.
                        warn!(
                            "[{}] dispatch to cluster {} refused by host: {status:?}",
                            call.header("x-request-id").unwrap_or("-"),
                            call.cluster
                        );
                    }
                    let more = match self.engine.borrow_mut().as_mut() {
                        Some(engine) => {
                            let result = result.map(CallId).map_err(|_| ());
                            engine.dispatched(owner, result, now, &HostStore)
                        }
                        None => Vec::new(),
                    };
                    queue.extend(more);
                }
                Effect::Respond {
                    ctx,
                    reply,
                    outcome,
                } => {
                    if self.focus(ctx) {
                        host::publish_outcome(outcome);
                        let headers: Vec<(&str, &str)> = reply
                            .headers
                            .iter()
                            .map(|(k, v)| (*k, v.as_str()))
                            .collect();
                        count::hit(Kind::SendHttpResponse);
                        if let Err(status) = hostcalls::send_http_response(
                            u32::from(reply.status),
                            headers,
                            Some(reply.body.as_bytes()),
                        ) {
                            let id = reply
                                .headers
                                .iter()
                                .find(|(k, _)| *k == "x-request-id")
                                .map_or("-", |(_, v)| v.as_str());
                            warn!("[{id}] local reply for context {ctx} failed: {status:?}");
                        }
                    }
                }
            }
        }
    }

    /// Arms the root's timer for the engine's next wake, or stops it when nothing is due.
    pub fn reschedule(&self, now: u64) {
        let wake = self.engine.borrow().as_ref().and_then(|e| e.next_wake(now));
        match (wake, self.armed.get()) {
            (None, Some(_)) => {
                host::set_tick_ms(0);
                self.armed.set(None);
            }
            (None, None) => {}
            (Some(at), armed) => {
                let delay = at.saturating_sub(now).clamp(1, MAX_TICK_MS);
                let fire_at = now + delay;
                let early_enough =
                    armed.is_some_and(|(armed_at, _)| armed_at > now && armed_at <= fire_at);
                if !early_enough {
                    host::set_tick_ms(delay);
                    self.armed.set(Some((fire_at, delay)));
                }
            }
        }
    }

    /// The timer fired; the host re-arms it with the same period.
    pub fn ticked(&self, now: u64) {
        if let Some((_, period)) = self.armed.get() {
            self.armed.set(Some((now + period, period)));
        }
    }

    /// A callout answered; the SDK delivers it to whichever context dispatched it.
    pub fn call_replied(&self, current: u32, call_id: u32, body_size: usize) {
        let reply = self.read_reply(body_size);
        self.drive(current, |engine, now| {
            (
                (),
                engine.on_call_reply(CallId(call_id), &reply, now, &HostStore),
            )
        });
    }

    /// Reads a callout's reply; the body only when it is within the engine's limit.
    pub fn read_reply(&self, body_size: usize) -> CallReply {
        let limit = self
            .engine
            .borrow()
            .as_ref()
            .map_or(0, |e| e.settings().limits.max_upstream_body_bytes);
        let status: Option<u16> =
            host::header(MapType::HttpCallResponseHeaders, ":status").and_then(|s| s.parse().ok());
        // Only a 429 is retried after the service's own wait; no other status looks at it, so
        // the other replies save the host call.
        let retry_after = (status == Some(RETRY_AFTER_STATUS))
            .then(|| host::header(MapType::HttpCallResponseHeaders, "retry-after"))
            .flatten();
        let body = if body_size > 0 && body_size <= limit {
            host::buffer(BufferType::HttpCallResponseBody, body_size).unwrap_or_default()
        } else {
            Vec::new()
        };
        CallReply {
            status,
            retry_after,
            body,
            body_size,
        }
    }
}
