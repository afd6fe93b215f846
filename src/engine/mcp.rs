//! The MCP route through the engine: admitted like the enrich route (the same caller auth, before
//! any JSON-RPC is read), answered locally for everything but `tools/call`, which runs the enrich
//! pipeline unchanged and has its answer written as a tool result instead of the enrich body.

use std::rc::Rc;

use log::{info, warn};
use serde_json::Value;

use super::{Action, Effect, Ending, Engine};
use crate::admission::{request_id, RequestHead};
use crate::auth::AuthFailure;
use crate::error::{EnrichError, Reply};
use crate::mcp::http::{self as mcp_http, Refusal};
use crate::mcp::jsonrpc::{self, Id, Message, RpcError, METHOD_NOT_FOUND};
use crate::mcp::protocol::{self, Method, Outcome};
use crate::mcp::tool::{self, CallError};
use crate::mcp::value::obj;
use crate::mcp::Exchange;
use crate::metrics::Observation;
use crate::request::{Phase, Request};
use crate::store::SharedStore;

/// 202 Accepted without a body: the answer to a notification or a client's response.
fn accepted() -> Reply {
    Reply {
        status: 202,
        headers: vec![("cache-control", "no-store".to_owned())],
        body: String::new(),
    }
}

/// An MCP answer as written: the reply, and what the log line and the metric say of it.
pub(crate) struct McpEnding {
    reply: Reply,
    method: Method,
    outcome: Outcome,
    /// The enrich pipeline's outcome label, when it ran (or refused before it could).
    pipeline: Option<&'static str>,
}

impl McpEnding {
    fn new(reply: Reply, method: Method, outcome: Outcome) -> Self {
        McpEnding {
            reply,
            method,
            outcome,
            pipeline: None,
        }
    }
}

/// The headers only the MCP route reads.
#[derive(Debug, Default, Clone)]
pub struct McpHeaders<'a> {
    pub accept: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub protocol_version: Option<&'a str>,
}

impl Engine {
    /// Whether `path` (query and fragment ignored) is the MCP endpoint, when it is enabled.
    pub fn is_mcp_path(&self, path: &str) -> bool {
        let mcp = &self.settings.mcp;
        mcp.enabled && path.split(['?', '#']).next() == Some(mcp.path.as_str())
    }

    /// Whether the filter answers `path` itself; every other path passes through.
    pub fn handles(&self, path: &str) -> bool {
        self.is_enrich_path(path) || self.is_mcp_path(path)
    }

    /// The headers of a request on the MCP path (see [`Engine::is_mcp_path`]); `head` is read
    /// exactly as for the enrich route, so caller auth sees the same credentials.
    pub fn on_mcp_request_headers(
        &mut self,
        ctx: u32,
        head: &RequestHead<'_>,
        mcp: &McpHeaders<'_>,
        now: u64,
        store: &dyn SharedStore,
    ) -> (Action, Vec<Effect>) {
        if !self.is_mcp_path(head.path) {
            return (Action::Continue, Vec::new());
        }
        let mut request = Request::new(
            ctx,
            request_id(head.request_id),
            now,
            self.settings.deadline_ms,
        );
        let settings = Rc::clone(&self.settings);
        let max_body = settings.limits.max_body_bytes;
        let admitted = mcp_http::check_origin_and_method(
            head.method,
            mcp.origin,
            &settings.mcp.allowed_origins,
        )
        .and_then(|()| {
            // The enrich route's caller auth, whatever schemes it accepts.
            settings
                .auth
                .check_presented(&head.credentials())
                .map_err(|f| Refusal::Enrich(EnrichError::Unauthorized(f)))
        })
        .and_then(|()| mcp_http::check_content(head.content_type, mcp.accept, mcp.protocol_version))
        .and_then(|revision| {
            if head.announces_more_than(max_body) {
                Err(Refusal::Enrich(EnrichError::PayloadTooLarge {
                    limit: max_body,
                }))
            } else {
                Ok(revision)
            }
        });
        let revision = match admitted {
            Ok(revision) => revision,
            Err(refusal) => {
                if refusal == Refusal::Enrich(EnrichError::Unauthorized(AuthFailure::Invalid)) {
                    warn!("[{}] mcp rejected: invalid webhook token", request.id);
                }
                let ending = McpEnding::new(refusal.reply(), Method::None, Outcome::Rejected);
                let effect = self.mcp_effect(&request, ending, now);
                return (Action::Pause, vec![effect]);
            }
        };
        request.mcp = Some(Exchange::new(revision));
        if head.end_of_stream {
            request.phase = Phase::Calls;
            self.admit(request);
            return (Action::Pause, self.accept_body(ctx, b"", now, store));
        }
        self.admit(request);
        (Action::Pause, Vec::new())
    }

    /// The whole body of an admitted MCP request: one JSON-RPC message.
    pub(super) fn mcp_body(
        &mut self,
        ctx: u32,
        body: &[u8],
        now: u64,
        store: &dyn SharedStore,
    ) -> Vec<Effect> {
        let message = match jsonrpc::parse(body, self.settings.limits.max_json_depth) {
            Ok(m) => m,
            Err(e) => {
                let reply = mcp_http::error_reply(e.http_status(), &e);
                return self.mcp_finish(ctx, reply, Method::None, Outcome::RpcError, now);
            }
        };
        let (id, method, params) = match message {
            Message::Response => {
                return self.mcp_finish(ctx, accepted(), Method::None, Outcome::Ok, now)
            }
            Message::Notification { method } => {
                return self.mcp_finish(ctx, accepted(), Method::of(&method), Outcome::Ok, now)
            }
            Message::Request { id, method, params } => (id, method, params),
        };
        let label = Method::of(&method);
        let result: Result<Value, RpcError> = match label {
            Method::Initialize => protocol::initialize(&params.object()),
            Method::Ping => Ok(Value::Object(serde_json::Map::new())),
            Method::ToolsList => Ok(obj([(
                "tools",
                Value::Array(vec![tool::descriptor(&self.settings)]),
            )])),
            Method::ToolsCall => return self.mcp_tools_call(ctx, id, params.object(), now, store),
            _ => Err(RpcError::new(METHOD_NOT_FOUND, "Method not found")),
        };
        let (reply, outcome) = rpc_reply(&id, result);
        self.mcp_finish(ctx, reply, label, outcome, now)
    }

    fn mcp_tools_call(
        &mut self,
        ctx: u32,
        id: Id,
        params: serde_json::Map<String, Value>,
        now: u64,
        store: &dyn SharedStore,
    ) -> Vec<Effect> {
        let revision = self.requests.get(&ctx).and_then(|r| r.mcp.as_ref()).map_or(
            protocol::Revision::V2025_06_18,
            Exchange::effective_revision,
        );
        match tool::parse_call(params, &self.settings) {
            Ok(args) => {
                if let Some(exchange) = self.requests.get_mut(&ctx).and_then(|r| r.mcp.as_mut()) {
                    exchange.method = Method::ToolsCall;
                    exchange.call_id = Some(id);
                }
                self.start_pipeline(ctx, args.customer_number, args.intent, now, store)
            }
            Err(CallError::Params(e)) => {
                let (reply, outcome) = rpc_reply(&id, Err(e));
                self.mcp_finish(ctx, reply, Method::ToolsCall, outcome, now)
            }
            Err(CallError::Arguments(errors)) if revision.argument_errors_are_tool_results() => {
                let result = tool::error_result(&tool::arguments_message(&errors));
                let reply = mcp_http::json_reply(200, jsonrpc::result_response(&id, &result));
                self.mcp_finish(ctx, reply, Method::ToolsCall, Outcome::ToolError, now)
            }
            Err(CallError::Arguments(errors)) => {
                let (reply, outcome) = rpc_reply(&id, Err(tool::arguments_rpc_error(&errors)));
                self.mcp_finish(ctx, reply, Method::ToolsCall, outcome, now)
            }
        }
    }

    /// Ends an MCP request answered without the pipeline (it has no calls out).
    fn mcp_finish(
        &mut self,
        ctx: u32,
        reply: Reply,
        method: Method,
        outcome: Outcome,
        now: u64,
    ) -> Vec<Effect> {
        let ending = McpEnding::new(reply, method, outcome);
        self.end(ctx, Ending::Mcp(ending), now)
    }

    /// The pipeline's result (or an error before the body was read) as the MCP answer: a tool
    /// result for a `tools/call` (`isError` with the detail when the enrichment failed), else the
    /// enrich route's status with a JSON-RPC error body.
    pub(super) fn mcp_answer(
        &mut self,
        request: &Request,
        result: Result<(String, bool), EnrichError>,
        now: u64,
    ) -> Effect {
        let call_id = request.mcp.as_ref().and_then(|x| x.call_id.clone());
        let Some(id) = call_id else {
            let error = result.err().unwrap_or(EnrichError::Internal);
            let reply = mcp_http::enrich_error_reply(&error);
            let ending = McpEnding {
                pipeline: Some(error.outcome()),
                ..McpEnding::new(reply, Method::None, Outcome::Rejected)
            };
            return self.mcp_effect(request, ending, now);
        };
        let (result, outcome, pipeline) = match result {
            Ok((body, degraded)) => match tool::success_result(&body) {
                Some(r) if degraded => (r, Outcome::Degraded, "degraded"),
                Some(r) => (r, Outcome::Ok, "ok"),
                None => (
                    tool::error_result(&format!(
                        "{} failed: Context enrichment failed",
                        tool::NAME
                    )),
                    Outcome::ToolError,
                    "internal",
                ),
            },
            Err(e) => {
                let detail = mcp_http::detail_of(&e.reply());
                (
                    tool::error_result(&format!("{} failed: {detail}", tool::NAME)),
                    Outcome::ToolError,
                    e.outcome(),
                )
            }
        };
        let reply = mcp_http::json_reply(200, jsonrpc::result_response(&id, &result));
        let ending = McpEnding {
            pipeline: Some(pipeline),
            ..McpEnding::new(reply, Method::ToolsCall, outcome)
        };
        self.mcp_effect(request, ending, now)
    }

    /// Headers every MCP answer carries, the log line and the metric.
    pub(super) fn mcp_effect(&mut self, request: &Request, ending: McpEnding, now: u64) -> Effect {
        let McpEnding {
            mut reply,
            method,
            outcome,
            pipeline,
        } = ending;
        self.challenge(&mut reply);
        reply.headers.push(("x-request-id", request.id.to_string()));
        if method == Method::ToolsCall && self.settings.server_timing {
            let timing = request.server_timing();
            if !timing.is_empty() {
                reply.headers.push(("server-timing", timing));
            }
        }
        let duration_ms = now.saturating_sub(request.started_ms);
        let enrich = pipeline.map_or(String::new(), |p| format!(" enrich={p}"));
        info!(
            "[{}] mcp {} {}{enrich} status={} duration_ms={duration_ms} retries={}",
            request.id,
            method.label(),
            outcome.label(),
            reply.status,
            request.retries
        );
        self.observations.push(Observation::Mcp {
            method,
            outcome,
            duration_ms,
        });
        Effect::Respond {
            ctx: request.ctx,
            reply,
            outcome: outcome.access_log_label(),
        }
    }
}

/// A method's result or JSON-RPC error as a reply, with its outcome.
fn rpc_reply(id: &Id, result: Result<Value, RpcError>) -> (Reply, Outcome) {
    match result {
        Ok(value) => (
            mcp_http::json_reply(200, jsonrpc::result_response(id, &value)),
            Outcome::Ok,
        ),
        Err(e) => (
            mcp_http::json_reply(e.http_status(), jsonrpc::error_response(Some(id), &e)),
            Outcome::RpcError,
        ),
    }
}
