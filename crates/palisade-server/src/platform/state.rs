//! What every handler shares: the store, the settings, metrics, the login limiter, and the
//! optional JWT verifier.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use palisade_store::{Millis, Store};
use tokio::sync::Semaphore;

use super::auth::JwtVerifier;
use super::config::Settings;
use super::metrics::Metrics;
use super::oidc::Oidc;
use super::ratelimit::LoginLimiter;

/// Reports parsed at the same time. Parsing holds the whole report in memory (a few times
/// its size), so this bounds memory under a burst of large uploads; others wait their turn.
const CONCURRENT_INGESTS: usize = 4;

/// The server's shared state.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Settings,
    pub metrics: Metrics,
    pub limiter: LoginLimiter,
    /// Validates bearer JWTs; `None` when OIDC is not configured.
    pub jwt: Option<Arc<dyn JwtVerifier>>,
    /// Single sign-on; `None` when OIDC is not configured.
    pub oidc: Option<Arc<Oidc>>,
    /// Permits to parse an uploaded report.
    pub ingest_slots: Semaphore,
    /// Cleared when shutdown begins (`/readyz` then answers 503).
    pub ready: AtomicBool,
    /// Diagnostics on stderr.
    pub log: bool,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, settings: Settings, log: bool) -> AppState {
        AppState {
            store,
            settings,
            metrics: Metrics::default(),
            limiter: LoginLimiter::default(),
            jwt: None,
            oidc: None,
            ingest_slots: Semaphore::new(CONCURRENT_INGESTS),
            ready: AtomicBool::new(true),
            log,
        }
    }

    /// The current time in Unix milliseconds.
    pub fn now(&self) -> Millis {
        now_millis()
    }

    pub fn log(&self, msg: &str) {
        if self.log {
            eprintln!("palisade serve: {msg}");
        }
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }
}

/// The current time in Unix milliseconds.
pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
