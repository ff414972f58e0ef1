//! What every handler shares: the store, the event store, the settings, metrics, the login
//! limiter, and the optional JWT verifier.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use palisade_siem::store::EventStore;
use palisade_store::{Millis, Store};
use tokio::sync::Semaphore;

use super::alerts::AlertSink;
use super::auth::JwtVerifier;
use super::config::Settings;
use super::detection::DetectionBus;
use super::metrics::Metrics;
use super::notify::{Notifier, RetryPolicy};
use super::oidc::Oidc;
use super::ratelimit::LoginLimiter;
use super::tail::TailBus;

/// Reports parsed at the same time. Parsing holds the whole report in memory (a few times
/// its size), so this bounds memory under a burst of large uploads; others wait their turn.
const CONCURRENT_INGESTS: usize = 4;

/// Event batches handed to the event store at the same time (`api::events`). A batch that
/// cannot get a slot within a few seconds is refused with 429 and `Retry-After`: the store's
/// `append` waits when its queue is full, and a sender told to retry is better off than one
/// whose request hangs.
pub const CONCURRENT_EVENT_APPENDS: usize = 8;

/// The server's shared state.
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Security events (`palisade_siem`): `DATA_DIR/events.db`, or the platform's PostgreSQL
    /// database.
    pub events: EventStore,
    pub settings: Settings,
    pub metrics: Metrics,
    pub limiter: LoginLimiter,
    /// Validates bearer JWTs; `None` when OIDC is not configured.
    pub jwt: Option<Arc<dyn JwtVerifier>>,
    /// Single sign-on; `None` when OIDC is not configured.
    pub oidc: Option<Arc<Oidc>>,
    /// Permits to parse an uploaded report.
    pub ingest_slots: Semaphore,
    /// Permits to append a batch of events (see [`CONCURRENT_EVENT_APPENDS`]).
    pub event_slots: Semaphore,
    /// Cleared when shutdown begins (`/readyz` then answers 503).
    pub ready: AtomicBool,
    /// Newly stored events for the live tail: publish what was appended here.
    pub tail: TailBus,
    /// Where detections go: stores alerts, counts them, notifies webhooks.
    pub alerts: AlertSink,
    /// Sigma rules over stored events (see [`AppState::stored`]).
    pub detection: DetectionBus,
    /// Diagnostics on stderr.
    pub log: bool,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        events: EventStore,
        settings: Settings,
        log: bool,
    ) -> AppState {
        let notifier = Notifier::new(
            settings.alerts.webhooks.clone(),
            &settings.public_url,
            RetryPolicy::default(),
            log,
        );
        let alerts = AlertSink::new(
            Arc::clone(&store),
            i64::try_from(settings.alerts.dedup_window.as_millis()).unwrap_or(i64::MAX),
            settings.alerts.queue,
            notifier,
            log,
        );
        let detection = if settings.detect.enabled {
            let rules = super::detection::load_rules(&settings.data_dir, &settings.detect);
            let started = DetectionBus::start(
                &rules,
                settings.detect.suppressions.clone(),
                alerts.clone(),
                &settings.data_dir,
                move |m: &str| {
                    if log {
                        eprintln!("palisade serve: {m}");
                    }
                },
            );
            match started {
                Ok(bus) => bus,
                Err(e) => {
                    eprintln!("palisade serve: detection is off: {e}");
                    DetectionBus::disabled()
                }
            }
        } else {
            DetectionBus::disabled()
        };
        AppState {
            detection,
            store,
            events,
            settings,
            metrics: Metrics::default(),
            limiter: LoginLimiter::default(),
            jwt: None,
            oidc: None,
            ingest_slots: Semaphore::new(CONCURRENT_INGESTS),
            event_slots: Semaphore::new(CONCURRENT_EVENT_APPENDS),
            ready: AtomicBool::new(true),
            tail: TailBus::default(),
            log,
            alerts,
        }
    }

    /// Events the store acknowledged: to the live tail and to detection (which waits while
    /// the detector is behind, so sources push back instead of events going unexamined).
    pub async fn stored(
        &self,
        events: &[palisade_siem::Event],
        receipt: &palisade_siem::store::Receipt,
    ) {
        self.tail.publish_stored(events, receipt);
        self.detection.submit(events, receipt).await;
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

/// The current time in Unix nanoseconds (the event store's clock).
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
