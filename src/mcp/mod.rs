//! The MCP front door: the same enrichment served as a Model Context Protocol tool over Streamable
//! HTTP (revisions 2025-06-18 and 2025-11-25), stateless, on `mcp.path`. Pure pieces around the
//! one pipeline: the HTTP checks ([`http`]), one JSON-RPC message ([`jsonrpc`]), the protocol
//! methods ([`protocol`]) and the tool ([`tool`]). The engine (`engine/mcp.rs`) admits the
//! request like the enrich route and, for `tools/call`, runs the enrich pipeline unchanged.

pub mod config;
pub mod http;
pub mod jsonrpc;
pub mod protocol;
pub mod tool;
pub mod value;

use jsonrpc::Id;
use protocol::{Method, Revision};

/// What an MCP request carries through the engine next to the enrich request state.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// The `MCP-Protocol-Version` header's revision, if sent.
    pub revision: Option<Revision>,
    /// The method, once the body is read.
    pub method: Method,
    /// The id of a `tools/call` running the pipeline.
    pub call_id: Option<Id>,
}

impl Exchange {
    pub fn new(revision: Option<Revision>) -> Self {
        Exchange {
            revision,
            method: Method::None,
            call_id: None,
        }
    }

    /// The revision whose rules apply: the header's, else 2025-06-18 (the older behaviour, as the
    /// specification says to assume an older revision when the header is missing).
    pub fn effective_revision(&self) -> Revision {
        self.revision.unwrap_or(Revision::V2025_06_18)
    }
}
