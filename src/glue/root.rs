//! The root context: configuration, the timer, and replies to callouts it dispatched.

use std::rc::Rc;

use log::{error, info};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType};

use crate::build_info::VERSION;
use crate::config::Settings;
use crate::engine::Engine;
use crate::layout::LAYOUT;
use crate::metrics::Observation;

use super::count::{self, Kind};
use super::host::{self, HostStore};
use super::http::Http;
use super::metrics::Metrics;
use super::vm::Vm;

pub struct Root {
    vm: Rc<Vm>,
}

impl Root {
    pub fn new(context_id: u32) -> Self {
        Root {
            vm: Rc::new(Vm::new(context_id)),
        }
    }
}

impl Context for Root {
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
        self.vm.call_replied(self.vm.root_id, call_id, body_size);
    }

    /// Envoy ends a root context when its plugin configuration or module was replaced (an ECDS or
    /// LDS push) and the last request that used it is gone. Logged and counted so an operator (and
    /// the end-to-end tests) can see that old configurations do not pile up.
    fn on_done(&mut self) -> bool {
        let in_flight = self
            .vm
            .engine
            .borrow()
            .as_ref()
            .map_or(0, Engine::in_flight);
        info!(
            "cognigy-enrich {VERSION}: root context {} done ({in_flight} requests in flight)",
            self.vm.root_id
        );
        self.vm.metrics.borrow().record(vec![Observation::RootDone]);
        true
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, size: usize) -> bool {
        let bytes = host::buffer(BufferType::PluginConfiguration, size).unwrap_or_default();
        let env = |key: &str| std::env::var(key).ok();
        match Settings::from_json(&bytes, &env) {
            Ok(settings) => {
                info!(
                    "cognigy-enrich configured: path {}, deadline {} ms, caller auth {}, version {VERSION}, shared-data layout v{LAYOUT}, root context {}",
                    settings.enrich_path,
                    settings.deadline_ms,
                    if settings.auth.is_enabled() {
                        "on"
                    } else {
                        "OFF"
                    },
                    self.vm.root_id
                );
                // Where the token comes from, once: a wrong path or cluster otherwise shows only
                // as 502s. No secret here (the client id is not one, but is left out anyway).
                info!(
                    "cognigy-enrich configured: token endpoint cluster {}, path {}, client auth {:?}; caller auth schemes {:?}",
                    settings.token.cluster,
                    settings.token.path,
                    settings.token.client_auth,
                    settings.auth.schemes()
                );
                *self.vm.engine.borrow_mut() = Some(Engine::new(Rc::new(settings), &HostStore));
                *self.vm.metrics.borrow_mut() = Metrics::define();
                self.vm
                    .metrics
                    .borrow()
                    .record(vec![Observation::Configured]);
                true
            }
            Err(e) => {
                error!("cognigy-enrich: {e}");
                false
            }
        }
    }

    fn on_tick(&mut self) {
        count::hit(Kind::OnTick);
        let now = host::now_ms();
        self.vm.ticked(now);
        self.vm.drive_at(self.vm.root_id, now, |engine, now| {
            ((), engine.on_tick(now, &HostStore))
        });
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        count::hit(Kind::OnContextCreate);
        count::context_created();
        Some(Box::new(Http::new(context_id, Rc::clone(&self.vm))))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
