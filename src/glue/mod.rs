//! The proxy-wasm glue: translates host callbacks into engine events and engine effects into host
//! calls. No decisions are made here.

mod count;
mod credentials;
mod headers;
mod host;
mod http;
mod metrics;
mod root;
mod vm;

#[cfg(not(feature = "count-host-calls"))]
use proxy_wasm::types::LogLevel;

proxy_wasm::main! {{
    #[cfg(not(feature = "count-host-calls"))]
    proxy_wasm::set_log_level(LogLevel::Info);
    // The counting build counts every log call: its logger replaces the SDK's (same output).
    #[cfg(feature = "count-host-calls")]
    {
        log::set_max_level(log::LevelFilter::Info);
        let _ = log::set_logger(&count::LOGGER);
    }
    proxy_wasm::set_root_context(|context_id| Box::new(root::Root::new(context_id)));
}}
