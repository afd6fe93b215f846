//! cognigy-enrich: an Envoy proxy-wasm HTTP filter that answers a NICE Cognigy HTTP Request node
//! call with a customer context for Agent Assist, built from three internal services.
//!
//! Everything except [`glue`] is host-independent and unit-tested natively and on wasm32: the
//! request lifecycle is a sans-IO state machine ([`engine::Engine`]) that takes events and returns
//! effects. The proxy-wasm glue only translates host callbacks into events and effects into host
//! calls.

pub mod admission;
pub mod aggregate;
pub mod answer;
pub mod auth;
pub mod backoff;
pub mod build_info;
pub mod cache;
pub mod callout;
pub mod config;
pub mod copilot;
pub mod customer_pattern;
pub mod encode;
pub mod engine;
pub mod error;
pub mod httpdate;
pub mod json_depth;
pub mod json_members;
pub mod json_path;
pub mod json_top;
pub mod layout;
pub mod local_reply;
pub mod mcp;
pub mod metrics;
pub mod payload;
pub mod privacy;
pub mod request;
pub mod secret;
pub mod service;
pub mod service_call;
pub mod store;
pub mod template;
pub mod token;
pub mod token_reply;

#[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
mod glue;
