//! Mock versions of the four HTTP services the `cognigy-enrich` filter calls:
//! an OAuth 2.0 token endpoint and the profile, orders and CRM APIs.
//!
//! The same code backs the `mock-upstreams` binary (demo and benchmark) and
//! in-process end-to-end tests, which get fault injection and a record of
//! every request through [`Mocks`]:
//!
//! ```no_run
//! use mock_upstreams::{Fault, MockConfig, Mocks, Service};
//!
//! let mocks = Mocks::start(MockConfig::default())?;
//! mocks.push_fault(Service::Profile, Fault::Malformed);
//! let profile_port = mocks.port(Service::Profile);
//! // ... point Envoy at the ports, send traffic ...
//! assert_eq!(mocks.request_count(Service::Profile), 0);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

mod api;
mod data;
mod faults;
mod mocks;
mod pki;
mod record;
mod reply;
mod server;
mod state;
mod token;
mod urlencoded;

pub use data::{dataset, Customer, Dataset, Order, OrderItem, Profile, Ticket, DEMO_CUSTOMER_ID};
pub use faults::{Fault, MALFORMED_BODY};
pub use mocks::Mocks;
pub use pki::{PkiError, ServerIdentity, TestCa, Validity};
pub use record::Recorded;
pub use token::{ClientAuth, ExpiresIn, TokenReplyShape, TOKEN_PATH};

/// Client id the demo configuration accepts.
pub const DEFAULT_CLIENT_ID: &str = "cognigy-proxy-client";
/// Client secret the demo configuration accepts.
pub const DEFAULT_CLIENT_SECRET: &str = "proxy-secret-key";
/// Token lifetime when none is configured.
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 3600;
/// Ports of the token, profile, orders and CRM services in the demo setup.
pub const DEFAULT_PORTS: [u16; 4] = [9001, 9002, 9003, 9004];

/// One of the mocked services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// `POST /oauth2/token`.
    Token,
    /// `GET /api/v1/customers/{id}`.
    Profile,
    /// `GET /api/v1/orders?customerId=..&limit=..&sort=createdDesc`.
    Orders,
    /// `GET /api/v1/crm/tickets?customerId=..&status=open`.
    Tickets,
}

impl Service {
    /// All services, in the order of [`MockConfig::ports`].
    pub const ALL: [Service; 4] = [
        Service::Token,
        Service::Profile,
        Service::Orders,
        Service::Tickets,
    ];

    /// Short lowercase name, as used in the binary's output.
    pub const fn name(self) -> &'static str {
        match self {
            Service::Token => "token",
            Service::Profile => "profile",
            Service::Orders => "orders",
            // The binary's output and `--crm-port` keep the name the demo scripts use.
            Service::Tickets => "crm",
        }
    }

    /// Position in [`Service::ALL`] and in [`MockConfig::ports`].
    pub(crate) const fn index(self) -> usize {
        match self {
            Service::Token => 0,
            Service::Profile => 1,
            Service::Orders => 2,
            Service::Tickets => 3,
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How to start [`Mocks`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockConfig {
    /// Ports for token, profile, orders and CRM; `None` picks free ports.
    pub ports: Option<[u16; 4]>,
    /// The only client id the token service accepts.
    pub client_id: String,
    /// The only client secret the token service accepts.
    pub client_secret: String,
    /// Lifetime of issued tokens; changeable later with [`Mocks::set_token_ttl`].
    pub token_ttl_secs: u64,
    /// Latency added to every answer of the profile, orders and CRM services.
    pub delay_ms: u64,
    /// How the token service wants the client credentials (the other way is refused).
    pub client_auth: ClientAuth,
}

impl Default for MockConfig {
    /// Free ports, demo credentials, one-hour tokens, no added latency.
    fn default() -> Self {
        Self {
            ports: None,
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            token_ttl_secs: DEFAULT_TOKEN_TTL_SECS,
            delay_ms: 0,
            client_auth: ClientAuth::Body,
        }
    }
}

/// Locks `mutex`, ignoring poisoning: every guarded value here stays
/// consistent across a panic, and a test that panicked must not make the
/// mocks unusable for the rest of the run.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
