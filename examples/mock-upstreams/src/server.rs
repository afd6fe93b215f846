//! Listeners, connections and the per-request pipeline:
//! record, pick a fault, add latency, answer.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::watch;

use crate::faults::{Fault, MALFORMED_BODY};
use crate::record::Recorded;
use crate::reply::{self, Reply};
use crate::state::State;
use crate::{api, Service};

/// Request bodies above this are refused; the filter only ever sends small forms.
const MAX_BODY_BYTES: usize = 1 << 20;

/// How long closing a listener waits for its sockets to be released.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Back-off after a failed `accept` (e.g. out of file descriptors), so the
/// loop does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// Keeps one service's listener, and every connection it accepted, alive.
#[derive(Debug)]
pub struct ListenerGuard {
    /// Dropping it tells the accept loop and all its connections to stop.
    stop: watch::Sender<()>,
    /// Disconnects once the accept loop and every connection it accepted
    /// have dropped their sockets: each holds a clone of the sender.
    closed: mpsc::Receiver<()>,
}

impl ListenerGuard {
    /// Stops accepting and drops all of this listener's connections
    /// (in-flight requests included); returns once they are all closed, so
    /// the port refuses connections and pooled clients see a reset.
    pub fn close(self) {
        drop(self.stop);
        let _ = self.closed.recv_timeout(CLOSE_TIMEOUT);
    }
}

/// Serves `service` on an already bound, non-blocking listener.
pub fn spawn_listener(
    runtime: &Handle,
    state: Arc<State>,
    service: Service,
    listener: std::net::TcpListener,
) -> ListenerGuard {
    let (stop_tx, stop_rx) = watch::channel(());
    let (closed_tx, closed_rx) = mpsc::sync_channel(0);
    runtime.spawn(accept_loop(listener, state, service, stop_rx, closed_tx));
    ListenerGuard {
        stop: stop_tx,
        closed: closed_rx,
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    state: Arc<State>,
    service: Service,
    mut stop: watch::Receiver<()>,
    closed: mpsc::SyncSender<()>,
) {
    if let Ok(listener) = TcpListener::from_std(listener) {
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let tls = crate::lock(&state.service(service).tls).clone();
                        if let Some(config) = tls {
                            tokio::spawn(serve_tls(
                                tokio_rustls::TlsAcceptor::from(config),
                                stream,
                                state.clone(),
                                service,
                                stop.clone(),
                                closed.clone(),
                            ));
                            continue;
                        }
                        tokio::spawn(serve_connection(
                            stream,
                            state.clone(),
                            service,
                            stop.clone(),
                            closed.clone(),
                        ));
                    }
                    Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
                },
            }
        }
        drop(listener);
    }
    drop(closed);
}

/// Serves one connection over TLS: the handshake first (a client that refuses the certificate
/// ends it here), then the same HTTP pipeline as plain connections.
async fn serve_tls(
    acceptor: tokio_rustls::TlsAcceptor,
    stream: TcpStream,
    state: Arc<State>,
    service: Service,
    mut stop: watch::Receiver<()>,
    closed: mpsc::SyncSender<()>,
) {
    let _ = stream.set_nodelay(true);
    let accepted = tokio::select! {
        accepted = acceptor.accept(stream) => accepted,
        _ = stop.changed() => return,
    };
    if let Ok(tls_stream) = accepted {
        state
            .service(service)
            .tls_handshakes
            .fetch_add(1, Ordering::Relaxed);
        serve_io(tls_stream, state, service, stop, closed).await;
    }
}

async fn serve_connection(
    stream: TcpStream,
    state: Arc<State>,
    service: Service,
    stop: watch::Receiver<()>,
    closed: mpsc::SyncSender<()>,
) {
    let _ = stream.set_nodelay(true);
    serve_io(stream, state, service, stop, closed).await;
}

async fn serve_io<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    stream: S,
    state: Arc<State>,
    service: Service,
    mut stop: watch::Receiver<()>,
    closed: mpsc::SyncSender<()>,
) {
    let handler = service_fn(move |request| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(respond(&state, service, request).await) }
    });
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), handler);
    tokio::select! {
        _ = connection => {}
        _ = stop.changed() => {}
    }
    drop(closed);
}

/// tokio's timer rounds a sleep up past the next millisecond tick (20 ms became ~21.4 ms), and the
/// benchmark compares latency with the configured delay; a thread sleep on the blocking pool is
/// accurate to well under a millisecond.
async fn precise_sleep(d: Duration) {
    if tokio::task::spawn_blocking(move || std::thread::sleep(d))
        .await
        .is_err()
    {
        tokio::time::sleep(d).await;
    }
}

/// Waits out the path delays that match `path_and_query`, or less when a test lifts them
/// meanwhile (so a test can hold requests until an event and then let them answer).
async fn path_delay(service_state: &crate::state::ServiceState, path_and_query: &str) {
    let matching = || -> u64 {
        crate::lock(&service_state.path_delays)
            .iter()
            .filter(|(needle, _)| path_and_query.contains(needle.as_str()))
            .map(|(_, ms)| *ms)
            .sum()
    };
    let started = Instant::now();
    loop {
        let total = Duration::from_millis(matching());
        let Some(left) = total
            .checked_sub(started.elapsed())
            .filter(|d| !d.is_zero())
        else {
            return;
        };
        tokio::time::sleep(left.min(Duration::from_millis(10))).await;
    }
}

async fn respond(
    state: &State,
    service: Service,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let at = Instant::now();
    let (parts, body) = request.into_parts();
    let body = Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
        .map(|collected| collected.to_bytes());
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |pq| pq.as_str());

    let service_state = state.service(service);
    service_state.log.note(&state.recording, || Recorded {
        method: parts.method.as_str().to_owned(),
        path_and_query: path_and_query.to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect(),
        body: body.as_ref().map(|b| b.to_vec()).unwrap_or_default(),
        at,
    });
    let fault = service_state.faults.next();

    let delay_ms = service_state.delay_ms.load(Ordering::Relaxed);
    if delay_ms > 0 {
        precise_sleep(Duration::from_millis(delay_ms)).await;
    }
    path_delay(service_state, path_and_query).await;

    let Ok(body) = body else {
        return reply::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            r#"{"error":"payload_too_large"}"#,
        )
        .into_response();
    };
    let reply = match fault {
        None => normal(state, service, &parts, &body),
        Some(Fault::Delay { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            normal(state, service, &parts, &body)
        }
        Some(Fault::Status {
            status,
            headers,
            body,
        }) => reply::custom(status, &headers, Bytes::from(body)),
        Some(Fault::Malformed) => reply::json(
            StatusCode::OK,
            Bytes::from_static(MALFORMED_BODY.as_bytes()),
        ),
        Some(Fault::Body { status, body }) => reply::custom(status, &[], Bytes::from(body)),
        Some(Fault::Hang) => std::future::pending::<Reply>().await,
    };
    reply.into_response()
}

fn normal(
    state: &State,
    service: Service,
    parts: &hyper::http::request::Parts,
    body: &[u8],
) -> Reply {
    let path = parts.uri.path();
    match service {
        Service::Token => state
            .tokens
            .handle(&parts.method, path, &parts.headers, body),
        _ => api::handle(
            service,
            &state.tokens,
            &parts.method,
            path,
            parts.uri.query().unwrap_or(""),
            &parts.headers,
        ),
    }
}
