//! One downstream request: forwards its events to the engine.

use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, MapType};

use crate::auth::Scheme;
use crate::engine::{self, McpHeaders, RequestHead};

use super::count::{self, Kind};
use super::credentials;
use super::headers::RequestHeaders;
use super::host::{self, HostStore};
use super::vm::Vm;

pub struct Http {
    id: u32,
    vm: Rc<Vm>,
}

impl Http {
    pub fn new(id: u32, vm: Rc<Vm>) -> Self {
        Http { id, vm }
    }
}

fn action(a: engine::Action) -> Action {
    match a {
        engine::Action::Continue => Action::Continue,
        engine::Action::Pause => Action::Pause,
    }
}

impl Context for Http {
    fn on_http_call_response(
        &mut self,
        call_id: u32,
        _headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        // The SDK made this context effective before calling here.
        count::hit(Kind::OnHttpCallResponse);
        count::hit(Kind::SetEffectiveContext);
        self.vm.call_replied(self.id, call_id, body_size);
    }

    fn on_done(&mut self) -> bool {
        count::hit(Kind::OnDone);
        count::publish();
        if let Ok(mut guard) = self.vm.engine.try_borrow_mut() {
            if let Some(engine) = guard.as_mut() {
                engine.on_request_gone(self.id);
            }
        }
        true
    }
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        count::hit(Kind::OnRequestHeaders);
        // `:path` alone first: a request that is not ours costs one read.
        let path = host::header(MapType::HttpRequestHeaders, ":path").unwrap_or_default();
        let (ours, jwt_key) = self.vm.engine.borrow().as_ref().map_or((false, None), |e| {
            let s = e.settings();
            let jwt = s
                .auth
                .accepts(Scheme::Jwt)
                .then(|| s.jwt_payload_key.clone());
            (e.handles(&path), jwt)
        });
        if !ours {
            return Action::Continue;
        }
        let headers = RequestHeaders::read();
        let get = |name: &str| headers.first(name);
        let method = get(":method").unwrap_or_default();
        let content_type = get("content-type");
        let content_length = get("content-length");
        let creds = credentials::read(&headers, jwt_key.as_deref());
        let request_id = get("x-request-id");
        let head = RequestHead {
            method: &method,
            path: &path,
            content_type: content_type.as_deref(),
            content_length: content_length.as_deref(),
            authorization: creds.authorization.as_deref(),
            api_key: creds.api_key.as_deref(),
            request_id: request_id.as_deref(),
            end_of_stream,
            repeated_credentials: creds.repeated,
            jwt_verified: creds.jwt_verified,
        };
        let id = self.id;
        let is_mcp = self
            .vm
            .engine
            .borrow()
            .as_ref()
            .is_some_and(|e| e.is_mcp_path(&path));
        if is_mcp {
            let accept = get("accept");
            let origin = get("origin");
            let protocol_version = get("mcp-protocol-version");
            let mcp = McpHeaders {
                accept: accept.as_deref(),
                origin: origin.as_deref(),
                protocol_version: protocol_version.as_deref(),
            };
            return self
                .vm
                .drive(id, |engine, now| {
                    engine.on_mcp_request_headers(id, &head, &mcp, now, &HostStore)
                })
                .map_or(Action::Continue, action);
        }
        self.vm
            .drive(id, |engine, now| {
                engine.on_request_headers(id, &head, now, &HostStore)
            })
            .map_or(Action::Continue, action)
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        count::hit(Kind::OnRequestBody);
        let id = self.id;
        let mut read = || host::buffer(BufferType::HttpRequestBody, body_size);
        self.vm
            .drive(id, |engine, now| {
                engine.on_request_body(id, body_size, end_of_stream, &mut read, now, &HostStore)
            })
            .map_or(Action::Continue, action)
    }
}
