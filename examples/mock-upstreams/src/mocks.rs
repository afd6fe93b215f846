//! [`Mocks`]: the four services running on a private runtime, controlled
//! synchronously so plain `#[test]` functions can drive them.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::runtime::{Handle, Runtime};

use crate::faults::Fault;
use crate::pki::{PkiError, ServerIdentity};
use crate::record::Recorded;
use crate::server::{spawn_listener, ListenerGuard};
use crate::state::State;
use crate::{lock, MockConfig, Service};

/// How long bringing a service back up retries while its port is still
/// held, e.g. by a socket the kernel has not finished releasing.
const REBIND_TIMEOUT: Duration = Duration::from_secs(2);
const REBIND_RETRY: Duration = Duration::from_millis(20);

/// Running mock services. Dropping it closes every listener and connection
/// and frees the ports before `drop` returns.
#[derive(Debug)]
pub struct Mocks {
    state: Arc<State>,
    ports: [u16; 4],
    listeners: Mutex<[Option<ListenerGuard>; 4]>,
    /// `None` only while dropping.
    runtime: Option<Runtime>,
}

impl Mocks {
    /// Binds all four services on 127.0.0.1 and starts serving.
    ///
    /// Fails if a fixed port is taken or the runtime cannot start; nothing
    /// is left running in that case.
    pub fn start(cfg: MockConfig) -> io::Result<Mocks> {
        let mut bound = Vec::with_capacity(Service::ALL.len());
        for service in Service::ALL {
            let port = cfg.ports.map_or(0, |ports| ports[service.index()]);
            bound.push(bind(service, port)?);
        }
        let mut ports = [0; 4];
        for (slot, listener) in ports.iter_mut().zip(&bound) {
            *slot = listener.local_addr()?.port();
        }

        let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("mock-upstreams")
            .enable_all()
            .build()?;
        let state = Arc::new(State::new(&cfg));
        let mut listeners: [Option<ListenerGuard>; 4] = Default::default();
        for ((slot, listener), service) in listeners.iter_mut().zip(bound).zip(Service::ALL) {
            *slot = Some(spawn_listener(
                runtime.handle(),
                state.clone(),
                service,
                listener,
            ));
        }
        Ok(Mocks {
            state,
            ports,
            listeners: Mutex::new(listeners),
            runtime: Some(runtime),
        })
    }

    /// The port `s` listens on (kept while the service is down).
    pub fn port(&self, s: Service) -> u16 {
        self.ports[s.index()]
    }

    /// `http://127.0.0.1:<port>` for `s`.
    pub fn base_url(&self, s: Service) -> String {
        format!("http://127.0.0.1:{}", self.port(s))
    }

    /// Every request `s` received since start or the last
    /// [`clear_requests`](Self::clear_requests), in arrival order.
    pub fn requests(&self, s: Service) -> Vec<Recorded> {
        self.state.service(s).log.snapshot()
    }

    /// Number of requests `s` received since start or the last clear. Counts
    /// even while recording is off.
    pub fn request_count(&self, s: Service) -> usize {
        self.state.service(s).log.count()
    }

    /// Forgets the requests recorded on every service.
    pub fn clear_requests(&self) {
        for service in self.state.all() {
            service.log.clear();
        }
    }

    /// Turns request capture on (the default) or off. Off keeps memory flat
    /// under sustained load; counts are still kept.
    pub fn set_recording(&self, on: bool) {
        self.state.recording.store(on, Ordering::Relaxed);
    }

    /// Queues a fault for exactly one future request to `s`. Queued faults
    /// are consumed in order, one per request, before any sticky fault.
    pub fn push_fault(&self, s: Service, f: Fault) {
        self.state.service(s).faults.push(f);
    }

    /// Sets (or with `None` clears) a fault applied to every request to `s`
    /// once its queued one-shot faults are used up.
    pub fn set_sticky_fault(&self, s: Service, f: Option<Fault>) {
        self.state.service(s).faults.set_sticky(f);
    }

    /// Drops every queued and sticky fault on every service.
    pub fn clear_faults(&self) {
        for service in self.state.all() {
            service.faults.clear();
        }
    }

    /// Takes `s` down (listener closed so connects are refused, open
    /// connections dropped) or brings it back up on the same port.
    ///
    /// # Panics
    ///
    /// If the port cannot be bound again; see [`try_set_down`](Self::try_set_down).
    pub fn set_down(&self, s: Service, down: bool) {
        if let Err(e) = self.try_set_down(s, down) {
            panic!("mock-upstreams: cannot bring {s} back up: {e}");
        }
    }

    /// [`set_down`](Self::set_down) that reports a failed rebind (the port
    /// was taken by another process meanwhile) instead of panicking.
    pub fn try_set_down(&self, s: Service, down: bool) -> io::Result<()> {
        let mut listeners = lock(&self.listeners);
        let slot = &mut listeners[s.index()];
        if down {
            if let Some(guard) = slot.take() {
                guard.close();
            }
            return Ok(());
        }
        if slot.is_some() {
            return Ok(());
        }
        let listener = rebind(s, self.port(s))?;
        *slot = Some(spawn_listener(
            self.handle()?,
            self.state.clone(),
            s,
            listener,
        ));
        Ok(())
    }

    /// Whether `s` is currently down.
    pub fn is_down(&self, s: Service) -> bool {
        lock(&self.listeners)[s.index()].is_none()
    }

    /// Lifetime, in seconds, of tokens issued from now on.
    pub fn set_token_ttl(&self, secs: u64) {
        self.state.tokens.set_ttl(secs);
    }

    /// Latency added before every answer of `s`, faulted or not.
    pub fn set_delay_ms(&self, s: Service, ms: u64) {
        self.state.service(s).delay_ms.store(ms, Ordering::Relaxed);
    }

    /// Latency added before answers of `s` whose path and query contain `needle` (on top of
    /// [`set_delay_ms`](Self::set_delay_ms)); `0` removes it, and lets requests already waiting
    /// on it answer at once. A test can slow down one customer while the others answer at once,
    /// or hold its requests until something happened.
    pub fn set_path_delay_ms(&self, s: Service, needle: &str, ms: u64) {
        let mut delays = lock(&self.state.service(s).path_delays);
        delays.retain(|(n, _)| n != needle);
        if ms > 0 {
            delays.push((needle.to_owned(), ms));
        }
    }

    /// Invalidates every token issued so far; new ones are valid as usual.
    pub fn revoke_all_tokens(&self) {
        self.state.tokens.revoke_all();
    }

    /// Serves `s` over HTTPS with `identity` from the next connection on, or (`None`) plain HTTP
    /// again. Connections already open keep what they had: take the service down and up
    /// ([`set_down`](Self::set_down)) to make clients reconnect.
    pub fn set_tls(&self, s: Service, identity: Option<&ServerIdentity>) -> Result<(), PkiError> {
        let config = match identity {
            Some(id) => Some(id.server_config()?),
            None => None,
        };
        *lock(&self.state.service(s).tls) = config;
        Ok(())
    }

    /// TLS handshakes `s` completed since start.
    pub fn tls_handshakes(&self, s: Service) -> u64 {
        self.state.service(s).tls_handshakes.load(Ordering::Relaxed)
    }

    fn handle(&self) -> io::Result<&Handle> {
        self.runtime
            .as_ref()
            .map(Runtime::handle)
            .ok_or_else(|| io::Error::other("mock runtime already shut down"))
    }
}

impl Drop for Mocks {
    fn drop(&mut self) {
        let listeners = std::mem::take(&mut *lock(&self.listeners));
        for guard in listeners.into_iter().flatten() {
            guard.close();
        }
        if let Some(runtime) = self.runtime.take() {
            if Handle::try_current().is_ok() {
                runtime.shutdown_background();
            } else {
                runtime.shutdown_timeout(Duration::from_secs(1));
            }
        }
    }
}

fn bind(service: Service, port: u16) -> io::Result<TcpListener> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = TcpListener::bind(addr).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("mock {service} cannot listen on {addr}: {e}"),
        )
    })?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

fn rebind(service: Service, port: u16) -> io::Result<TcpListener> {
    let deadline = Instant::now() + REBIND_TIMEOUT;
    loop {
        match bind(service, port) {
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                std::thread::sleep(REBIND_RETRY);
            }
            result => return result,
        }
    }
}
