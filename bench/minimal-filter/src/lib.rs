//! The benchmark's limit: the least a proxy-wasm filter can do for the enrich route. It reads the
//! request body, sends the three GETs the product sends (same clusters, same headers, a fixed
//! bearer from its configuration) and answers 200 with the three reply bodies concatenated. No
//! validation, no caller auth, no JSON, no metrics, no logs: `make bench` divides the product's
//! Envoy CPU per request by this filter's, measured in the same Envoy process.
//!
//! Configuration (one line, `key=value` words separated by spaces; values without spaces):
//! `bearer=T path=/api/v1/agent-assist/enrich timeoutMs=4500` and one `call=CLUSTER,PATH` per
//! service, `{customerNumber}` in PATH replaced by the body's `customerNumber` (the bench's
//! customer numbers need no percent-encoding). The authority is the cluster name, as the
//! product's default.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| Box::new(Root::default()));
}}

#[derive(Default)]
struct Config {
    bearer: String,
    path: String,
    timeout_ms: u64,
    /// (cluster, path template)
    calls: Vec<(String, String)>,
}

fn parse(text: &str) -> Option<Config> {
    let mut c = Config {
        timeout_ms: 4500,
        ..Config::default()
    };
    for word in text.split_whitespace() {
        let (key, value) = word.split_once('=')?;
        match key {
            "bearer" => c.bearer = format!("Bearer {value}"),
            "path" => c.path = value.to_owned(),
            "timeoutMs" => c.timeout_ms = value.parse().ok()?,
            "call" => {
                let (cluster, path) = value.split_once(',')?;
                c.calls.push((cluster.to_owned(), path.to_owned()));
            }
            _ => return None,
        }
    }
    (!c.bearer.is_empty() && !c.path.is_empty() && !c.calls.is_empty()).then_some(c)
}

#[derive(Default)]
struct Root {
    config: Rc<Config>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, size: usize) -> bool {
        let bytes = match hostcalls::get_buffer(BufferType::PluginConfiguration, 0, size) {
            Ok(Some(b)) => b,
            _ => return false,
        };
        match parse(&String::from_utf8_lossy(&bytes)) {
            Some(c) => {
                self.config = Rc::new(c);
                true
            }
            None => false,
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Request {
            config: Rc::clone(&self.config),
            request_id: String::new(),
            pending: 0,
            bodies: RefCell::new(Vec::new()),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Request {
    config: Rc<Config>,
    request_id: String,
    /// Calls dispatched and not answered yet.
    pending: usize,
    /// (dispatch order, body)
    bodies: RefCell<Vec<(u32, Vec<u8>)>>,
}

/// The string value of `"customerNumber"` in the body, found without parsing the JSON.
fn customer_number(body: &[u8]) -> &str {
    let text = std::str::from_utf8(body).unwrap_or("");
    let key = "\"customerNumber\"";
    let Some(at) = text.find(key) else { return "" };
    let rest = text.get(at + key.len()..).unwrap_or("");
    let rest = rest.trim_start().trim_start_matches(':').trim_start();
    let rest = rest.strip_prefix('"').unwrap_or("");
    rest.split('"').next().unwrap_or("")
}

impl Context for Request {
    fn on_http_call_response(
        &mut self,
        token: u32,
        _headers: usize,
        size: usize,
        _trailers: usize,
    ) {
        let body = match hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, size) {
            Ok(Some(b)) => b,
            _ => Vec::new(),
        };
        self.bodies.borrow_mut().push((token, body));
        self.pending = self.pending.saturating_sub(1);
        if self.pending == 0 {
            let mut bodies = self.bodies.take();
            bodies.sort_by_key(|(token, _)| *token);
            let answer: Vec<u8> = bodies.into_iter().flat_map(|(_, b)| b).collect();
            let _ = hostcalls::send_http_response(
                200,
                vec![("content-type", "application/json")],
                Some(&answer),
            );
        }
    }
}

impl HttpContext for Request {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let path = hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, ":path");
        if !matches!(&path, Ok(Some(p)) if *p == self.config.path.as_bytes()) {
            return Action::Continue;
        }
        if let Ok(Some(id)) =
            hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, "x-request-id")
        {
            self.request_id = String::from_utf8_lossy(&id).into_owned();
        }
        if end_of_stream {
            let _ = hostcalls::send_http_response(400, vec![], None);
        }
        Action::Pause
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.config.path.is_empty() || self.pending > 0 || !end_of_stream {
            return Action::Pause;
        }
        let body = match hostcalls::get_buffer(BufferType::HttpRequestBody, 0, body_size) {
            Ok(Some(b)) => b,
            _ => Vec::new(),
        };
        let customer = customer_number(&body);
        let config = Rc::clone(&self.config);
        for (cluster, template) in &config.calls {
            let path = template.replace("{customerNumber}", customer);
            let headers = vec![
                (":method", "GET"),
                (":path", path.as_str()),
                (":authority", cluster.as_str()),
                ("authorization", config.bearer.as_str()),
                ("accept", "application/json"),
                ("x-request-id", self.request_id.as_str()),
            ];
            let timeout = Duration::from_millis(config.timeout_ms);
            if hostcalls::dispatch_http_call(cluster, headers, None, vec![], timeout).is_ok() {
                self.pending += 1;
            }
        }
        if self.pending == 0 {
            let _ = hostcalls::send_http_response(502, vec![], None);
        }
        Action::Pause
    }
}
