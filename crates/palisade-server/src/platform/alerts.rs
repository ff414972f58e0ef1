//! Where detections become alerts: [`AlertSink`], the one entry point the detection engine
//! calls, and the task that writes what it queues.
//!
//! [`AlertSink::raise`] never waits: it puts the match on a bounded queue and returns, so the
//! ingest path that evaluates rules is never held up by the database. One writer task takes
//! matches off the queue and records them (`Store::raise_alert`, which deduplicates by rule
//! and entities within the configured window), counts them, and hands alerts that are new,
//! or whose count just reached 10, 100 or 1000, to the webhook notifier (`notify`). A full
//! queue drops the match and counts it (`palisade_alerts_dropped_total`).
//!
//! What does not live here: matching rules (palisade-detect), storage (palisade-store), the
//! API and pages (`api::alerts`, `console::alerts`), webhook delivery (`notify`).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use palisade_store::{Alert, AlertLevel, NewAlert, Store, StoreError};
use tokio::sync::{mpsc, watch};

use super::notify::{Notification, NotificationKind, Notifier};

/// Counts at which a deduplicated alert is notified again.
pub const RENOTIFY_AT: [i64; 3] = [10, 100, 1000];

/// Why [`AlertSink::raise`] did not queue a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RaiseError {
    /// The queue is full: the writer has fallen behind. The match is dropped (and counted).
    #[error("the alert queue is full; the match was dropped")]
    QueueFull,
    /// The server is stopping.
    #[error("the alert writer has stopped")]
    Stopped,
}

/// The alert counters shown on `/metrics`.
#[derive(Debug, Default)]
pub struct AlertCounters {
    raised: Mutex<BTreeMap<AlertLevel, u64>>,
    deduplicated: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
}

impl AlertCounters {
    /// `palisade_alerts_*` in the text exposition format.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP palisade_alerts_raised_total Alerts created, by level (matches added to an open alert are not counted here).\n# TYPE palisade_alerts_raised_total counter"
        );
        let raised = self.raised.lock().map(|m| m.clone()).unwrap_or_default();
        for level in AlertLevel::ALL {
            let n = raised.get(&level).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "palisade_alerts_raised_total{{level=\"{}\"}} {n}",
                level.as_str()
            );
        }
        for (name, help, v) in [
            (
                "palisade_alerts_deduplicated_total",
                "Matches added to an alert that was already open (same rule and entities within the window).",
                &self.deduplicated,
            ),
            (
                "palisade_alerts_dropped_total",
                "Matches dropped because the alert queue was full or the server was stopping.",
                &self.dropped,
            ),
            (
                "palisade_alerts_store_failures_total",
                "Matches the store refused or could not record.",
                &self.failed,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
    }

    fn raised(&self, level: AlertLevel) {
        if let Ok(mut m) = self.raised.lock() {
            *m.entry(level).or_default() += 1;
        }
    }
}

struct Shared {
    store: Arc<dyn Store>,
    window_ms: i64,
    notifier: Notifier,
    counters: AlertCounters,
    /// Taken by the writer task when it starts.
    queue: Mutex<Option<mpsc::Receiver<NewAlert>>>,
    log: bool,
}

/// The entry point for detections: cheap to clone, safe to call from any task.
#[derive(Clone)]
pub struct AlertSink {
    tx: mpsc::Sender<NewAlert>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for AlertSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertSink")
            .field("window_ms", &self.shared.window_ms)
            .finish_non_exhaustive()
    }
}

impl AlertSink {
    /// A sink writing to `store` with a dedup window, a queue of `queue` matches, and
    /// `notifier` for webhooks. Nothing is written until [`AlertSink::spawn_writer`] runs.
    pub fn new(
        store: Arc<dyn Store>,
        dedup_window_ms: i64,
        queue: usize,
        notifier: Notifier,
        log: bool,
    ) -> AlertSink {
        let (tx, rx) = mpsc::channel(queue.max(1));
        AlertSink {
            tx,
            shared: Arc::new(Shared {
                store,
                window_ms: dedup_window_ms.max(0),
                notifier,
                counters: AlertCounters::default(),
                queue: Mutex::new(Some(rx)),
                log,
            }),
        }
    }

    /// Queues a match and returns at once (never waits, never touches the database). The
    /// writer records it shortly after; a full queue drops it.
    pub fn raise(&self, alert: NewAlert) -> Result<(), RaiseError> {
        match self.tx.try_send(alert) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.shared.counters.dropped.fetch_add(1, Ordering::Relaxed);
                Err(match e {
                    mpsc::error::TrySendError::Full(_) => RaiseError::QueueFull,
                    mpsc::error::TrySendError::Closed(_) => RaiseError::Stopped,
                })
            }
        }
    }

    /// Queues a match from a thread outside the async runtime (the detector's), waiting while
    /// the queue is full instead of dropping: detection then slows ingest down rather than
    /// losing alerts. Fails only when the writer has stopped.
    pub fn raise_blocking(&self, alert: NewAlert) -> Result<(), RaiseError> {
        self.tx.blocking_send(alert).map_err(|_| {
            self.shared.counters.dropped.fetch_add(1, Ordering::Relaxed);
            RaiseError::Stopped
        })
    }

    /// Records a match now, past the queue, and returns the alert and whether it was
    /// created: for callers that can wait (tests, offline replays). Counts and notifies like
    /// the writer.
    pub async fn raise_now(&self, alert: NewAlert) -> Result<(Alert, bool), StoreError> {
        record(&self.shared, alert).await
    }

    /// The dedup window, in milliseconds.
    pub fn dedup_window_ms(&self) -> i64 {
        self.shared.window_ms
    }

    /// The counters, for `/metrics`.
    pub fn counters(&self) -> &AlertCounters {
        &self.shared.counters
    }

    /// The webhook notifier.
    pub fn notifier(&self) -> &Notifier {
        &self.shared.notifier
    }

    /// Starts the writer (once; later calls do nothing) and the notifier's delivery task.
    /// When `stop` turns true the writer records what is already queued, then the notifier
    /// delivers what that queued; the returned handle finishes when both are done.
    pub fn spawn_writer(&self, stop: watch::Receiver<bool>) -> Option<tokio::task::JoinHandle<()>> {
        let rx = self.shared.queue.lock().ok().and_then(|mut q| q.take());
        let rx = rx?;
        let (notify_stop, notify_stop_rx) = watch::channel(false);
        let notifier = self.shared.notifier.spawn(notify_stop_rx);
        let shared = Arc::clone(&self.shared);
        Some(tokio::spawn(async move {
            write_loop(shared, rx, stop).await;
            let _ = notify_stop.send(true);
            if let Some(n) = notifier {
                let _ = n.await;
            }
        }))
    }
}

async fn write_loop(
    shared: Arc<Shared>,
    mut rx: mpsc::Receiver<NewAlert>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            next = rx.recv() => match next {
                Some(a) => { let _ = record(&shared, a).await; }
                None => return,
            },
            _ = crate::serving::stopped(&mut stop) => break,
        }
    }
    // Stopping: what is queued is recorded, nothing more is taken.
    rx.close();
    while let Some(a) = rx.recv().await {
        let _ = record(&shared, a).await;
    }
}

async fn record(shared: &Shared, alert: NewAlert) -> Result<(Alert, bool), StoreError> {
    let rule = alert.rule_id.clone();
    match shared.store.raise_alert(alert, shared.window_ms).await {
        Ok((a, created)) => {
            if created {
                shared.counters.raised(a.level);
                shared.notifier.enqueue(Notification {
                    kind: NotificationKind::Raised,
                    alert: a.clone(),
                });
            } else {
                shared.counters.deduplicated.fetch_add(1, Ordering::Relaxed);
                if RENOTIFY_AT.contains(&a.count) {
                    shared.notifier.enqueue(Notification {
                        kind: NotificationKind::Count,
                        alert: a.clone(),
                    });
                }
            }
            Ok((a, created))
        }
        Err(e) => {
            shared.counters.failed.fetch_add(1, Ordering::Relaxed);
            if !matches!(e, StoreError::Invalid(_)) {
                super::metrics::store_error();
            }
            if shared.log {
                let rule: String = rule.chars().take(200).collect();
                eprintln!("palisade serve: cannot record an alert of rule {rule:?}: {e}");
            }
            Err(e)
        }
    }
}
