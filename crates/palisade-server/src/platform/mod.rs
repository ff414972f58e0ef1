//! `palisade serve`: the platform's HTTP server, API, identity and audit log.
//!
//! - [`config`]: the `[server]` settings; [`state`]: what handlers share.
//! - [`auth`]: sessions, API tokens, bearer JWTs ([`auth::JwtVerifier`]), passwords;
//!   [`csrf`]: Origin and CSRF token checks; [`ratelimit`]: failed sign-ins;
//!   [`tokens`]: the secrets handed out.
//! - [`api`]: the route table (one list for the router, the OpenAPI document and the access
//!   tests) and the handlers; [`openapi`]: the document built from it.
//! - [`audit`]: writing the audit log; [`ingest`]: reading uploaded reports (security
//!   events go to the event store of `palisade_siem`, see `api::events`);
//!   [`metrics`]: Prometheus; [`error`]: the JSON error shape.
//! - [`alerts`]: rule matches become alerts ([`alerts::AlertSink`]); [`notify`]: webhooks.
//! - [`sources`]: syslog listeners (UDP, TCP, TLS) feeding the event store.
//! - [`oidc`]: sign-in through an OpenID Connect provider, bearer JWTs; `api::sso` puts
//!   them behind `/login/oidc` and the bearer check.
//!
//! Every response carries a strict Content-Security-Policy and related headers; every API
//! error is JSON. What does not live here: storage (palisade-store), the console's HTML
//! pages, argument parsing (the `palisade` binary).

pub mod alerts;
pub mod api;
pub mod audit;
pub mod auth;
pub mod config;
pub mod csrf;
pub mod detection;
pub mod error;
pub mod ingest;
pub mod metrics;
pub mod notify;
pub mod oidc;
pub mod openapi;
pub mod ratelimit;
pub mod retention;
pub mod sources;
pub mod state;
pub mod tail;
pub mod tokens;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use palisade_store::{NewUser, Role, Store, StoreError};
use serde_json::json;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::serving::{self, Hooks, Timeouts};
use crate::tls::{self, ReloadingCert, TlsError};
pub use config::Settings;
pub use state::AppState;

/// The Content-Security-Policy of every response: only this server's own scripts, styles
/// and images (and inline `data:` images), no framing, no plugins, no form posts elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The first account.
pub const ADMIN_USERNAME: &str = "admin";

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub settings: Settings,
    /// Runtime worker threads; 0 means one per core.
    pub worker_threads: usize,
    /// Stop gracefully on SIGTERM and SIGINT.
    pub handle_signals: bool,
    /// Diagnostics (startup notes, errors) on stderr.
    pub log: bool,
}

/// The server could not start.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the database {location}: {message}")]
    Store { location: String, message: String },
    #[error("cannot open the event store {location}: {message}")]
    EventStore { location: String, message: String },
    #[error("cannot start the server: {0}")]
    Start(String),
}

/// A server running on its own threads.
#[derive(Debug)]
pub struct RunningPlatform {
    addr: SocketAddr,
    first_login_link: Option<String>,
    syslog_addrs: Vec<SocketAddr>,
    shutdown: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
    state: SharedState,
}

/// The running server's state, for [`RunningPlatform::hold_event_appends`].
struct SharedState(Arc<AppState>);

impl std::fmt::Debug for SharedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppState")
    }
}

/// Event appends held back (see [`RunningPlatform::hold_event_appends`]) until dropped.
#[must_use = "appends resume when the hold is dropped"]
pub struct EventAppendHold {
    state: Arc<AppState>,
    held: usize,
}

impl Drop for EventAppendHold {
    fn drop(&mut self) {
        self.state.event_slots.add_permits(self.held);
    }
}

impl RunningPlatform {
    /// The address it listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The addresses the syslog listeners are bound to, in the order configured.
    pub fn syslog_addrs(&self) -> &[SocketAddr] {
        &self.syslog_addrs
    }

    /// The one-time login link made for the admin account on first start.
    pub fn first_login_link(&self) -> Option<&str> {
        self.first_login_link.as_deref()
    }

    /// For tests: makes the event store look as if it fell behind. No new append starts
    /// until the returned hold is dropped (appends in flight finish), so HTTP ingestion
    /// answers 429 and the other sources wait.
    #[doc(hidden)]
    pub fn hold_event_appends(&self) -> EventAppendHold {
        let state = Arc::clone(&self.state.0);
        let held = state
            .event_slots
            .forget_permits(state::CONCURRENT_EVENT_APPENDS);
        EventAppendHold { state, held }
    }

    /// Where detections go: [`alerts::AlertSink::raise`] records a rule match as an alert.
    pub fn alerts(&self) -> alerts::AlertSink {
        self.state.0.alerts.clone()
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

impl Drop for RunningPlatform {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.join();
    }
}

/// A database location fit for messages: the password of a PostgreSQL URL masked.
pub fn redact(location: &str) -> String {
    if !config::is_postgres(location) {
        return location.to_string();
    }
    let Some(scheme_end) = location.find("://").map(|i| i + 3) else {
        return location.to_string();
    };
    let rest = &location[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => format!(
                "{}{}:***{}",
                &location[..scheme_end],
                &rest[..colon],
                &rest[at..]
            ),
            None => location.to_string(),
        },
        None => location.to_string(),
    }
}

fn runtime(worker_threads: usize) -> Result<tokio::runtime::Runtime, PlatformError> {
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if worker_threads > 0 {
        rt.worker_threads(worker_threads);
    }
    rt.enable_io()
        .enable_time()
        .thread_name("palisade-serve")
        .build()
        .map_err(|e| PlatformError::Start(e.to_string()))
}

/// Opens the store (creating the data directory for SQLite, owner-only).
async fn open_store(settings: &Settings) -> Result<Arc<dyn Store>, PlatformError> {
    let err = |message: String| PlatformError::Store {
        location: redact(&settings.database),
        message,
    };
    if !config::is_postgres(&settings.database) {
        let parent = Path::new(&settings.database)
            .parent()
            .filter(|p| !p.as_os_str().is_empty());
        if let Some(dir) = parent
            && !dir.exists()
        {
            create_private_dir(dir)
                .map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
        }
    }
    palisade_store::open(&settings.database)
        .await
        .map_err(|e| err(e.to_string()))
}

/// Where security events are kept: the platform's PostgreSQL database when it has one, else
/// `DATA_DIR/events.db`.
pub fn event_store_location(settings: &Settings) -> String {
    if config::is_postgres(&settings.database) {
        settings.database.clone()
    } else {
        settings
            .data_dir
            .join("events.db")
            .to_string_lossy()
            .into_owned()
    }
}

/// Opens the event store (creating the data directory for SQLite, owner-only).
async fn open_event_store(
    settings: &Settings,
) -> Result<palisade_siem::store::EventStore, PlatformError> {
    let location = event_store_location(settings);
    let err = |message: String| PlatformError::EventStore {
        location: redact(&location),
        message,
    };
    if !config::is_postgres(&location) && !settings.data_dir.exists() {
        create_private_dir(&settings.data_dir).map_err(|e| {
            err(format!(
                "cannot create {}: {e}",
                settings.data_dir.display()
            ))
        })?;
    }
    palisade_siem::store::open(&location)
        .await
        .map_err(|e| err(e.to_string()))
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// First start: when there are no users, creates `admin` (no password) and returns a
/// one-time login link for it.
async fn bootstrap(
    store: &dyn Store,
    settings: &Settings,
    now: i64,
) -> Result<Option<String>, PlatformError> {
    let err = |e: String| PlatformError::Store {
        location: redact(&settings.database),
        message: e,
    };
    if store.count_users().await.map_err(|e| err(e.to_string()))? > 0 {
        return Ok(None);
    }
    let user = match store
        .create_user(
            NewUser {
                username: ADMIN_USERNAME.into(),
                display_name: "Administrator".into(),
                role: Role::Admin,
                password_hash: None,
                oidc_subject: None,
            },
            now,
        )
        .await
    {
        Ok(u) => u,
        // Another process made it first (two servers starting on one PostgreSQL).
        Err(StoreError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(err(e.to_string())),
    };
    let (link, _) = api::session::new_login_link(store, &settings.public_url, user.id, now)
        .await
        .map_err(|e| err(e.error))?;
    let actor = audit::Actor {
        name: "palisade".into(),
        user_id: None,
        via: Some("first-start".into()),
    };
    let entry = palisade_store::NewAuditEntry {
        at: now,
        actor: actor.name,
        actor_user_id: None,
        action: "user.create".into(),
        target: format!("user:{}", user.id),
        outcome: "success".into(),
        ip: None,
        user_agent: None,
        details: json!({ "username": ADMIN_USERNAME, "role": "admin", "first_start": true }),
    };
    store
        .append_audit(entry)
        .await
        .map_err(|e| err(e.to_string()))?;
    Ok(Some(link))
}

/// `palisade serve --reset-admin`: makes sure `admin` exists, is enabled and is an admin,
/// and returns a fresh one-time login link for it.
pub fn reset_admin(settings: &Settings) -> Result<String, PlatformError> {
    let rt = runtime(1)?;
    rt.block_on(async {
        let store = open_store(settings).await?;
        let err = |e: StoreError| PlatformError::Store {
            location: redact(&settings.database),
            message: e.to_string(),
        };
        let now = state::now_millis();
        let user = match store.user_by_username(ADMIN_USERNAME).await.map_err(err)? {
            Some(u) => u,
            None => store
                .create_user(
                    NewUser {
                        username: ADMIN_USERNAME.into(),
                        display_name: "Administrator".into(),
                        role: Role::Admin,
                        password_hash: None,
                        oidc_subject: None,
                    },
                    now,
                )
                .await
                .map_err(err)?,
        };
        if user.disabled {
            store.set_user_disabled(user.id, false).await.map_err(err)?;
        }
        if user.role != Role::Admin {
            store.set_user_role(user.id, Role::Admin).await.map_err(err)?;
        }
        let (link, _) = api::session::new_login_link(&*store, &settings.public_url, user.id, now)
            .await
            .map_err(|e| PlatformError::Store {
                location: redact(&settings.database),
                message: e.error,
            })?;
        store
            .append_audit(palisade_store::NewAuditEntry {
                at: now,
                actor: "cli".into(),
                actor_user_id: None,
                action: "admin.login_link".into(),
                target: format!("user:{}", user.id),
                outcome: "success".into(),
                ip: None,
                user_agent: Some("palisade serve --reset-admin".into()),
                details: json!({ "reenabled": user.disabled, "role_restored": user.role != Role::Admin }),
            })
            .await
            .map_err(err)?;
        Ok(link)
    })
}

/// The application: every route of the table behind its guard, the JSON fallback, and the
/// layer that times requests and adds the security headers.
pub fn app(state: Arc<AppState>) -> Router {
    let table = api::routes();
    api::router(Arc::clone(&state), &table)
        .fallback(not_found)
        .layer(from_fn_with_state(Arc::clone(&state), observe))
        .with_state(state)
}

async fn not_found() -> Response {
    error::ApiError::new(
        StatusCode::NOT_FOUND,
        "no such endpoint; the API is described at /api/openapi.json",
    )
    .into_response()
}

/// Times and counts every request, makes API errors JSON, adds the security headers.
async fn observe(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_string();
    let api = api::is_api(req.uri().path());
    let browser = !api
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
    let mut response = next.run(req).await;
    let status = response.status();
    if api && (status.is_client_error() || status.is_server_error()) {
        response = json_error_body(response).await;
    }
    // A browser that gets a JSON error outside the API (a role too low for a console page,
    // an unknown path) sees it as a page.
    if browser && (status.is_client_error() || status.is_server_error()) {
        response = crate::console::html::json_error_as_page(response).await;
    }
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null` on
    // form posts, which the Origin check (csrf.rs) must refuse, so no console form would
    // work. Other sites still get no referrer.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.settings.tls.is_some() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    state
        .metrics
        .request(&route, &method, status.as_u16(), started.elapsed());
    response
}

/// An API error answer that is not JSON yet (axum's own 405, a body-limit 413, …) gets the
/// `{"error": ...}` shape with the status's reason.
async fn json_error_body(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // axum's plain-text rejections say what was wrong with the request; keep a short one.
    let text = http_body_util::Limited::new(body, 1024)
        .collect()
        .await
        .ok()
        .map(|c| String::from_utf8_lossy(&c.to_bytes()).trim().to_string())
        .filter(|t| !t.is_empty() && parts.status.is_client_error());
    let reason = parts
        .status
        .canonical_reason()
        .unwrap_or("error")
        .to_lowercase();
    let body = json!({ "error": text.unwrap_or(reason) });
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body.to_string()))
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

/// Background upkeep: expired sessions and links go hourly; the certificate is reloaded when
/// its files change.
async fn upkeep(
    state: Arc<AppState>,
    cert: Option<Arc<ReloadingCert>>,
    mut rx: watch::Receiver<bool>,
) {
    let mut stamp = cert.as_ref().map(|c| file_stamp(c.paths()));
    let mut last_purge = Instant::now() - Duration::from_secs(3600);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(10)) => {}
            _ = serving::stopped(&mut rx) => return,
        }
        if last_purge.elapsed() >= Duration::from_secs(3600) {
            last_purge = Instant::now();
            if let Err(e) = state.store.purge_expired(state.now()).await {
                metrics::store_error();
                state.log(&format!("cannot purge expired sessions: {e}"));
            }
        }
        if let Some(c) = &cert {
            let now = file_stamp(c.paths());
            if Some(&now) != stamp.as_ref() {
                stamp = Some(now);
                match c.reload() {
                    Ok(()) => state.log("serving certificate changed: reloaded"),
                    Err(e) => state.log(&format!(
                        "serving certificate changed but cannot be used; still using the previous one: {e}"
                    )),
                }
            }
        }
    }
}

/// Opens the store, creates the first admin when there are no users, binds the address and
/// starts serving. Every error here is a startup error worth showing the user as is.
pub fn start(opts: ServeOptions) -> Result<RunningPlatform, PlatformError> {
    let settings = opts.settings;
    let rt = runtime(opts.worker_threads)?;
    let cert = match &settings.tls {
        Some((c, k)) => Some(Arc::new(ReloadingCert::load(c, k)?)),
        None => None,
    };
    let acceptor = match &cert {
        Some(c) => Some(TlsAcceptor::from(match &settings.client_ca {
            Some(ca) => tls::server_config_with_client_ca(Arc::clone(c), ca)?,
            None => tls::server_config(Arc::clone(c))?,
        })),
        None => None,
    };
    let listener =
        std::net::TcpListener::bind(settings.listen).map_err(|source| PlatformError::Listen {
            addr: settings.listen,
            source,
        })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| PlatformError::Start(e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| PlatformError::Start(e.to_string()))?;
    let syslog = sources::bind(&settings.syslog)?;
    let syslog_addrs: Vec<SocketAddr> = syslog.iter().map(sources::Bound::local_addr).collect();
    let mut settings = settings;
    if !settings.public_url_set && settings.listen.port() == 0 {
        // Port 0 picks a free port: links and the Origin check need the real one.
        settings.listen = addr;
        if let Some(base) = settings.public_url.strip_suffix(":0") {
            settings.public_url = format!("{base}:{}", addr.port());
        }
    }
    // OIDC: console sign-in (`api::sso`) and bearer JWTs on the API; checked before the
    // store is touched.
    let oidc = match &settings.oidc {
        Some(table) => Some(
            api::sso::from_settings(table, &settings.public_url).map_err(PlatformError::Start)?,
        ),
        None => None,
    };
    let store = rt.block_on(open_store(&settings))?;
    // Before the first admin is made: a start that fails here keeps its one-time link.
    let events = rt.block_on(open_event_store(&settings))?;
    let first_login_link = rt.block_on(bootstrap(&*store, &settings, state::now_millis()))?;
    let mut app_state = AppState::new(store, events, settings, opts.log);
    if let Some(oidc) = oidc {
        app_state.jwt = Some(Arc::new(api::sso::BearerJwt(Arc::clone(&oidc))));
        app_state.oidc = Some(oidc);
    }
    let state = Arc::new(app_state);
    let (tx, rx) = watch::channel(false);
    let log_state = Arc::clone(&state);
    let log: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(move |m: &str| log_state.log(m));
    let hooks = Hooks {
        log: Arc::clone(&log),
        handshake_failed: Arc::new(|| {}),
    };
    let timeouts = Timeouts {
        handshake: Duration::from_secs(10),
        headers: Duration::from_secs(30),
        grace: Duration::from_secs(10),
    };
    let signal_tx = tx.clone();
    let handle_signals = opts.handle_signals;
    let shared = SharedState(Arc::clone(&state));
    let thread = std::thread::Builder::new()
        .name("palisade-serve-main".into())
        .spawn(move || {
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        state.log(&format!("cannot use the listening socket: {e}"));
                        return;
                    }
                };
                if handle_signals {
                    tokio::spawn(serving::stop_on_signal(signal_tx, rx.clone(), log));
                }
                tokio::spawn(upkeep(Arc::clone(&state), cert, rx.clone()));
                tokio::spawn(retention::run(Arc::clone(&state), rx.clone()));
                // The alert writer outlives the stop signal: detection still raises alerts for
                // what the sources flush during shutdown, so it stops only after detection.
                let (alerts_stop, alerts_stop_rx) = watch::channel(false);
                let alert_writer = state.alerts.spawn_writer(alerts_stop_rx);
                let router = app(Arc::clone(&state));
                let ready = Arc::clone(&state);
                let mut stop = rx.clone();
                tokio::spawn(async move {
                    serving::stopped(&mut stop).await;
                    ready.ready.store(false, Ordering::Relaxed);
                    ready.tail.close();
                });
                let mut syslog = sources::spawn(&state, syslog, rx.clone());
                serving::serve(listener, acceptor, router, rx, timeouts, hooks).await;
                // Listeners stop on the same signal; their writers store what is queued.
                let flushed = tokio::time::timeout(timeouts.grace, async {
                    while syslog.join_next().await.is_some() {}
                })
                .await;
                if flushed.is_err() {
                    state.log("syslog and file sources: queued events not stored in time; stopping anyway");
                }
                // Detection finishes what was stored and saves its correlation windows.
                let detection = state.detection.clone();
                let _ = tokio::task::spawn_blocking(move || detection.close()).await;
                let _ = alerts_stop.send(true);
                if let Some(writer) = alert_writer
                    && tokio::time::timeout(timeouts.grace, writer).await.is_err()
                {
                    state.log("alerts: queued matches or webhook deliveries not done in time; stopping anyway");
                }
            });
            // A webhook request still running on the blocking pool (each has its own timeout,
            // up to 60 s) must not hold the stop past the grace period.
            rt.shutdown_timeout(Duration::from_secs(1));
        })
        .map_err(|e| PlatformError::Start(e.to_string()))?;
    Ok(RunningPlatform {
        addr,
        first_login_link,
        syslog_addrs,
        shutdown: tx,
        thread: Some(thread),
        state: shared,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_database_passwords() {
        assert_eq!(
            redact("postgres://pal:s3cret@db:5432/pal?sslmode=require"),
            "postgres://pal:***@db:5432/pal?sslmode=require"
        );
        assert_eq!(redact("postgres://db/pal"), "postgres://db/pal");
        assert_eq!(redact("postgresql://u@db/pal"), "postgresql://u@db/pal");
        assert_eq!(
            redact("/var/lib/palisade/palisade.db"),
            "/var/lib/palisade/palisade.db"
        );
    }
}
