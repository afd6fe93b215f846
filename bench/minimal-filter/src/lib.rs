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
//!
//! For bench/host-call-cost.sh only: `extra=KIND:N` (repeatable, or `extra=KIND:N,KIND:N`) makes
//! N more host calls of KIND per enrich request, in the last body callback before the dispatch,
//! results discarded; KIND is one of `time`, `counter`, `histogram`, `log`, `property`,
//! `shared_data`, `header`, `header_pairs`, `context` (N even: to the root and back), see
//! src/extra.rs. Without `extra=` words the filter makes exactly the calls described above: it is
//! `make bench`'s limit row.

mod extra;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|context_id| {
        Box::new(Root {
            context_id,
            config: Rc::default(),
        })
    });
}}

#[derive(Default)]
struct Config {
    bearer: String,
    path: String,
    timeout_ms: u64,
    /// (cluster, path template)
    calls: Vec<(String, String)>,
    extras: extra::Extras,
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
            "extra" => c.extras.add(value)?,
            _ => return None,
        }
    }
    (!c.bearer.is_empty() && !c.path.is_empty() && !c.calls.is_empty()).then_some(c)
}

struct Root {
    context_id: u32,
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
            Some(mut c) => {
                if c.extras.prepare().is_none() {
                    return false;
                }
                self.config = Rc::new(c);
                true
            }
            None => false,
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Request {
            context_id,
            root_id: self.context_id,
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
    context_id: u32,
    root_id: u32,
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
            let mut answer = Vec::with_capacity(bodies.iter().map(|(_, b)| b.len()).sum());
            for (_, body) in &bodies {
                answer.extend_from_slice(body);
            }
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
        config.extras.run(self.context_id, self.root_id);
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
