//! The proxy-wasm glue: translates host callbacks into engine events and engine effects into host
//! calls. No decisions are made here.

mod credentials;
mod host;
mod http;
mod metrics;
mod root;
mod vm;

use proxy_wasm::types::LogLevel;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|context_id| Box::new(root::Root::new(context_id)));
}}
