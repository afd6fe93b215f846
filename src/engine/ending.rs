//! How a request ends: deciding its answer once every call it needs is done ([`Engine::settle`]),
//! and the one path every answer goes out by ([`Engine::end`]: forget, then respond).

use log::{info, warn};

use super::{Effect, Ending, Engine};
use crate::answer::{self, AnswerError};
use crate::error::{EnrichError, Reply};
use crate::metrics::Observation;
use crate::request::Request;

impl Engine {
    /// Ends `ctx` once its answer is decided: at the first failed required service, or when
    /// every call is done. Until then it does nothing.
    pub(super) fn settle(&mut self, ctx: u32, now: u64) -> Vec<Effect> {
        let Some(request) = self.requests.get(&ctx) else {
            return Vec::new();
        };
        let failed_required = request.calls.iter().find_map(|(service, call)| {
            let failure = call.failure()?;
            self.settings.services[service]
                .required
                .then_some(EnrichError::Upstream { service, failure })
        });
        if let Some(error) = failed_required {
            return self.end(ctx, Ending::Enrich(Err(error)), now);
        }
        if !request.calls.iter().all(|(_, c)| c.is_done()) {
            return Vec::new();
        }
        let result = self.write_answer(request);
        self.end(ctx, Ending::Enrich(result), now)
    }

    /// The answer body of a request whose calls are all done, and whether it is degraded.
    fn write_answer(&self, request: &Request) -> Result<(String, bool), EnrichError> {
        let gathered = request.gathered();
        // Answer step 2, privacy: drop and mask before the prompt, the tiles or any answer is
        // built from the data.
        let Ok(redacted) = self.settings.privacy.redact_gathered(&gathered) else {
            return Err(EnrichError::Internal);
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
        match written {
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
        }
    }

    /// The one way an admitted request ends with an answer: it is forgotten, then answered.
    pub(super) fn end(&mut self, ctx: u32, ending: Ending, now: u64) -> Vec<Effect> {
        let Some(request) = self.forget(ctx) else {
            return Vec::new();
        };
        vec![self.respond(&request, ending, now)]
    }

    /// Removes `ctx` with its callouts (a late reply then finds no owner) and its timers, and
    /// hands its shared calls on; the one cleanup of every way a request ends.
    pub(super) fn forget(&mut self, ctx: u32) -> Option<Request> {
        let request = self.requests.remove(&ctx)?;
        for id in request.call_ids() {
            self.callouts.remove(&id);
        }
        self.timers.cancel_request(ctx);
        self.release_groups(&request);
        Some(request)
    }

    /// The answer to `request`: the reply with its headers, the log line and the metric.
    pub(super) fn respond(&mut self, request: &Request, ending: Ending, now: u64) -> Effect {
        let result = match ending {
            Ending::Mcp(reply) => return self.mcp_effect(request, reply, now),
            Ending::Enrich(result) if request.mcp.is_some() => {
                return self.mcp_answer(request, result, now)
            }
            Ending::Enrich(result) => result,
        };
        let mode = self.settings.answer_mode;
        let (mut reply, outcome, real_status) = match result {
            Ok((body, degraded)) => (
                Reply::ok_json(body),
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
        reply.headers.push(("x-request-id", request.id.to_string()));
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
}
