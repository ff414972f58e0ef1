//! The HTTPS server: TLS with rustls, HTTP/1.1 with hyper, routes with axum.
//!
//! | path | |
//! | --- | --- |
//! | `POST /validate` | checks; the namespace's mode comes from the settings file or the default |
//! | `POST /validate/{enforce,warn,audit}` | the same, for namespaces whose `palisade.dev/mode` label routed them here |
//! | `POST /mutate` | safe defaults as a JSONPatch |
//! | `GET /healthz` | 200 while the process serves |
//! | `GET /readyz` | 200 until shutdown begins, then 503 |
//! | `GET /metrics` | Prometheus text format |
//!
//! Each request has a deadline (`timeout-ms`) covering reading its body and checking it;
//! checks run on the blocking pool so a slow policy never stalls the accept loop, and a
//! request whose checks overrun is answered per `failure-mode`. SIGTERM or SIGINT stops
//! accepting, lets requests in flight finish, then returns. A background task polls the
//! policy files and the certificate every `reload-interval-secs` and swaps in new ones.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::audit::{self, AuditLog};
use super::check::{Checker, Outcome};
use super::config::Mode;
use super::metrics::Metrics;
use super::policy::Reload;
use super::review::{self, AdmissionRequest, Verdict};
use crate::serving;
use crate::tls::{self, ReloadingCert, TlsError};

/// A TLS handshake must finish within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Request headers must arrive within this after a connection goes idle. Longer than the
/// 90 s for which Go clients (the API server) keep idle connections, so that the client
/// closes idle connections first and never sends a request into one we are closing.
const HEADER_TIMEOUT: Duration = Duration::from_secs(120);

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub listen: SocketAddr,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    /// Runtime worker threads; 0 means one per core.
    pub worker_threads: usize,
    /// Stop gracefully on SIGTERM and SIGINT.
    pub handle_signals: bool,
    /// Diagnostics (reloads, failures) on stderr.
    pub log: bool,
}

/// The server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the server: {0}")]
    Start(std::io::Error),
    #[error("{0}")]
    Setup(String),
}

struct AppState {
    checker: Arc<Checker>,
    metrics: Metrics,
    audit: AuditLog,
    ready: AtomicBool,
    deadline: Duration,
    max_body: usize,
    log: bool,
}

impl AppState {
    fn log(&self, msg: &str) {
        if self.log {
            eprintln!("palisade admission: {msg}");
        }
    }
}

/// A server running on its own threads.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    /// The address it listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets requests in flight finish, and returns when it has stopped.
    pub fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        self.join();
    }

    /// Waits until the server stops (on a signal, when it handles them).
    pub fn wait(mut self) {
        self.join();
    }

    fn join(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.join();
    }
}

/// Loads the certificate, opens the decision log, binds the address and starts serving.
/// Every error here is a startup error worth showing the user as is.
pub fn start(opts: ServerOptions, checker: Checker) -> Result<RunningServer, ServerError> {
    let cert = Arc::new(ReloadingCert::load(&opts.tls_cert, &opts.tls_key)?);
    let tls_config = tls::server_config(Arc::clone(&cert))?;
    let cfg = checker.config();
    let audit = match &cfg.audit_log {
        Some(p) => AuditLog::open(p).map_err(ServerError::Setup)?,
        None => AuditLog::stdout(),
    };
    let deadline = Duration::from_millis(cfg.timeout_ms);
    let reload_every = Duration::from_secs(cfg.reload_interval_secs);
    let max_body = usize::try_from(cfg.max_body_bytes).unwrap_or(usize::MAX);
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if opts.worker_threads > 0 {
        rt.worker_threads(opts.worker_threads);
    }
    let rt = rt
        .enable_io()
        .enable_time()
        .thread_name("palisade-admission")
        .build()
        .map_err(ServerError::Start)?;
    let listener =
        std::net::TcpListener::bind(opts.listen).map_err(|source| ServerError::Listen {
            addr: opts.listen,
            source,
        })?;
    listener.set_nonblocking(true).map_err(ServerError::Start)?;
    let addr = listener.local_addr().map_err(ServerError::Start)?;
    let state = Arc::new(AppState {
        metrics: Metrics::default(),
        checker: Arc::new(checker),
        audit,
        ready: AtomicBool::new(true),
        deadline,
        max_body,
        log: opts.log,
    });
    state
        .metrics
        .policy_generation
        .store(state.checker.policies().generation(), Ordering::Relaxed);
    let (tx, rx) = watch::channel(false);
    let signal_tx = tx.clone();
    let handle_signals = opts.handle_signals;
    let thread = std::thread::Builder::new()
        .name("palisade-admission-main".into())
        .spawn(move || {
            rt.block_on(async move {
                let listener = match TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        state.log(&format!("cannot use the listening socket: {e}"));
                        return;
                    }
                };
                if handle_signals {
                    tokio::spawn(wait_for_signal(signal_tx, rx.clone(), Arc::clone(&state)));
                }
                if !reload_every.is_zero() {
                    tokio::spawn(reload_loop(
                        Arc::clone(&state),
                        Arc::clone(&cert),
                        reload_every,
                        rx.clone(),
                    ));
                }
                serve(listener, TlsAcceptor::from(tls_config), state, rx).await;
            });
            // Checks that overran their deadline may still run on the blocking pool; their
            // requests were answered already, so do not wait long for them.
            rt.shutdown_timeout(Duration::from_secs(1));
        })
        .map_err(ServerError::Start)?;
    Ok(RunningServer {
        addr,
        shutdown: tx,
        thread: Some(thread),
    })
}

async fn wait_for_signal(
    tx: watch::Sender<bool>,
    mut rx: watch::Receiver<bool>,
    state: Arc<AppState>,
) {
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
        _ = stopped(&mut rx) => return,
    }
    state.log("signal received: finishing requests in flight, then stopping");
    let _ = tx.send(true);
}

/// Resolves once shutdown has been asked for (the guard `wait_for` returns is not held
/// across awaits: it is not `Send`).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

fn file_stamp(paths: [&Path; 2]) -> Vec<Option<(SystemTime, u64)>> {
    paths
        .iter()
        .map(|p| {
            let m = std::fs::metadata(p).ok()?;
            Some((m.modified().ok()?, m.len()))
        })
        .collect()
}

async fn reload_loop(
    state: Arc<AppState>,
    cert: Arc<ReloadingCert>,
    every: Duration,
    mut rx: watch::Receiver<bool>,
) {
    let mut cert_stamp = file_stamp(cert.paths());
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped(&mut rx) => return,
        }
        let st = Arc::clone(&state);
        let c = Arc::clone(&cert);
        let before = cert_stamp.clone();
        let work = tokio::task::spawn_blocking(move || {
            let policies = st.checker.policies().reload_if_changed();
            let now = file_stamp(c.paths());
            let cert_result = (now != before).then(|| c.reload());
            (policies, now, cert_result)
        })
        .await;
        let Ok((policies, now, cert_result)) = work else {
            continue;
        };
        cert_stamp = now;
        match policies {
            Reload::Unchanged => {}
            Reload::Reloaded(n) => {
                state.metrics.reload("policies", "ok");
                state
                    .metrics
                    .policy_generation
                    .store(state.checker.policies().generation(), Ordering::Relaxed);
                state.log(&format!("policies changed: reloaded ({n} rules)"));
            }
            Reload::Failed(e) => {
                state.metrics.reload("policies", "error");
                state.log(&format!(
                    "policies changed but do not load; still using the previous ones: {e}"
                ));
            }
        }
        match cert_result {
            None => {}
            Some(Ok(())) => {
                state.metrics.reload("certificate", "ok");
                state.log("serving certificate changed: reloaded");
            }
            Some(Err(e)) => {
                state.metrics.reload("certificate", "error");
                state.log(&format!(
                    "serving certificate changed but cannot be used; still using the previous one: {e}"
                ));
            }
        }
    }
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/validate",
            post(|State(s): State<Arc<AppState>>, req: Request| async move {
                handle(s, Endpoint::Validate, None, req).await
            }),
        )
        .route(
            "/validate/{mode}",
            post(
                |State(s): State<Arc<AppState>>, UrlPath(mode): UrlPath<String>, req: Request| async move {
                    match Mode::parse(&mode) {
                        Some(m) => handle(s, Endpoint::Validate, Some(m), req).await,
                        None => status_response(
                            StatusCode::NOT_FOUND,
                            "NotFound",
                            &format!("unknown mode {mode:?}: use /validate/enforce, /validate/warn or /validate/audit"),
                        ),
                    }
                },
            ),
        )
        .route(
            "/mutate",
            post(|State(s): State<Arc<AppState>>, req: Request| async move {
                handle(s, Endpoint::Mutate, None, req).await
            }),
        )
        .route("/healthz", get(|| async { text_response(StatusCode::OK, "ok\n") }))
        .route(
            "/readyz",
            get(|State(s): State<Arc<AppState>>| async move {
                if s.ready.load(Ordering::Relaxed) {
                    text_response(StatusCode::OK, "ok\n")
                } else {
                    text_response(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")
                }
            }),
        )
        .route(
            "/metrics",
            get(|State(s): State<Arc<AppState>>| async move {
                let mut r = text_response(StatusCode::OK, &s.metrics.render());
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                r
            }),
        )
        .fallback(|| async {
            status_response(
                StatusCode::NOT_FOUND,
                "NotFound",
                "no such endpoint: use POST /validate or /mutate, GET /healthz, /readyz or /metrics",
            )
        })
        .with_state(state)
}

async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<AppState>,
    mut rx: watch::Receiver<bool>,
) {
    let app = router(Arc::clone(&state));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped(&mut rx) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, _peer)) => {
                    connections.spawn(connection(
                        tcp,
                        acceptor.clone(),
                        app.clone(),
                        rx.clone(),
                        Arc::clone(&state),
                    ));
                }
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    state.log(&format!("accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    state.ready.store(false, Ordering::Relaxed);
    drop(listener);
    // Requests in flight end by their deadline; allow a little more for writing answers.
    let grace = state.deadline + Duration::from_secs(2);
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        state.log("some connections did not close in time; stopping anyway");
    }
}

async fn connection(
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    app: Router,
    mut rx: watch::Receiver<bool>,
    state: Arc<AppState>,
) {
    let _ = tcp.set_nodelay(true);
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        _ => {
            state.metrics.tls_errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let conn = builder.serve_connection(TokioIo::new(tls), TowerToHyperService::new(app));
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stopped(&mut rx) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Validate,
    Mutate,
}

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Endpoint::Validate => "/validate",
            Endpoint::Mutate => "/mutate",
        }
    }
}

fn json_response(code: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = code;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn status_response(code: StatusCode, reason: &str, message: &str) -> Response {
    json_response(code, &review::status_body(code.as_u16(), reason, message))
}

fn text_response(code: StatusCode, text: &str) -> Response {
    let mut r = Response::new(Body::from(text.to_string()));
    *r.status_mut() = code;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Keeps the in-flight gauge right however the handler ends.
struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn handle(
    state: Arc<AppState>,
    endpoint: Endpoint,
    label_mode: Option<Mode>,
    req: Request,
) -> Response {
    let started = Instant::now();
    state.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let _in_flight = InFlight(&state.metrics);
    let (response, result) = admit(&state, endpoint, label_mode, req, started).await;
    state
        .metrics
        .request(endpoint.path(), result, started.elapsed());
    response
}

async fn admit(
    state: &Arc<AppState>,
    endpoint: Endpoint,
    label_mode: Option<Mode>,
    req: Request,
    started: Instant,
) -> (Response, &'static str) {
    let deadline = tokio::time::Instant::from_std(started + state.deadline);
    let too_large = || {
        (
            status_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                &format!(
                    "request body is over the {} byte limit (max-body-bytes)",
                    state.max_body
                ),
            ),
            "too_large",
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.max_body as u64) {
        serving::drain(req.into_body(), state.max_body.saturating_mul(4), deadline).await;
        return too_large();
    }
    let mut raw = req.into_body();
    let collected = Limited::new(&mut raw, state.max_body).collect();
    let body = match tokio::time::timeout_at(deadline, collected).await {
        Err(_) => {
            return (
                status_response(
                    StatusCode::REQUEST_TIMEOUT,
                    "Timeout",
                    "the request body did not arrive before the deadline",
                ),
                "timeout",
            );
        }
        Ok(Err(e)) if e.is::<LengthLimitError>() => {
            serving::drain(raw, state.max_body.saturating_mul(4), deadline).await;
            return too_large();
        }
        Ok(Err(e)) => {
            return (
                status_response(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!("cannot read the request body: {e}"),
                ),
                "bad_request",
            );
        }
        Ok(Ok(c)) => c.to_bytes(),
    };
    let request = match AdmissionRequest::parse(&body) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            return (
                status_response(StatusCode::BAD_REQUEST, "BadRequest", &e.to_string()),
                "bad_request",
            );
        }
    };
    let checker = Arc::clone(&state.checker);
    let r = Arc::clone(&request);
    let task = tokio::task::spawn_blocking(move || match endpoint {
        Endpoint::Validate => checker.validate(&r, label_mode),
        Endpoint::Mutate => checker.mutate(&r),
    });
    let outcome = match tokio::time::timeout_at(deadline, task).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            state.log(&format!(
                "checking {} (uid {}) failed: {e}",
                request.describe(),
                request.uid
            ));
            failed(state, endpoint, &request, label_mode, "checks failed")
        }
        Err(_) => {
            state.log(&format!(
                "checking {} (uid {}) did not finish within {} ms",
                request.describe(),
                request.uid,
                state.deadline.as_millis()
            ));
            failed(
                state,
                endpoint,
                &request,
                label_mode,
                "checks did not finish before the deadline",
            )
        }
    };
    record(state, &request, &outcome);
    let result = if outcome.verdict.allowed {
        "allowed"
    } else {
        "denied"
    };
    let body = review::response(&request, &outcome.verdict);
    (json_response(StatusCode::OK, &body), result)
}

/// The answer when checks failed or overran: per the failure mode for validation; a
/// mutation is best effort and allows without a patch.
fn failed(
    state: &AppState,
    endpoint: Endpoint,
    request: &AdmissionRequest,
    label_mode: Option<Mode>,
    reason: &str,
) -> Outcome {
    match endpoint {
        Endpoint::Validate => state.checker.failed(request, label_mode, reason),
        Endpoint::Mutate => {
            let mut o = state.checker.failed(request, label_mode, reason);
            o.verdict = Verdict::allow();
            o
        }
    }
}

/// Metrics, stderr and the decision log for one answered request.
fn record(state: &AppState, request: &AdmissionRequest, outcome: &Outcome) {
    let m = &state.metrics;
    if let Some(t) = outcome.builtin_time {
        m.builtin_eval.observe(t);
    }
    if let Some(t) = outcome.policy_time {
        m.policy_eval.observe(t);
    }
    for (v, a) in &outcome.findings {
        m.decision(&v.rule_id, outcome.mode.as_str(), a.as_str());
    }
    if let Some(e) = &outcome.policy_error {
        m.policy_errors.fetch_add(1, Ordering::Relaxed);
        state.log(&format!(
            "policy evaluation failed for {} (uid {}): {e}",
            request.describe(),
            request.uid
        ));
    }
    if outcome.mode == Mode::Audit || outcome.notable() {
        state.audit.write(&audit::line(request, outcome));
    }
}
