//! Event retention: `[server] retention = "30d"` and `retention_size = "10GB"` applied to
//! the event store (`EventStore::retain`) when the server starts and every
//! [`RETENTION_EVERY`] after, until it stops. Nothing runs when neither is set.
//!
//! A pass drops whole days of events older than the age (trimming the day that straddles
//! the cut-off), then the oldest days while the store is over the size; what it deleted is
//! logged. A failed pass is logged and counted as a store error; the next one tries again.

use std::sync::Arc;
use std::time::Duration;

use palisade_siem::store::{Retention, RetentionReport};
use tokio::sync::watch;

use super::state::{AppState, now_nanos};
use crate::serving;

/// Time between retention passes.
pub const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// Whether `policy` deletes anything at all.
pub fn enabled(policy: &Retention) -> bool {
    policy.max_age.is_some() || policy.max_bytes.is_some()
}

/// One pass now.
pub async fn apply(state: &AppState) -> Result<RetentionReport, String> {
    let policy = state.settings.retention;
    state
        .events
        .retain(policy, now_nanos())
        .await
        .map_err(|e| e.to_string())
}

/// Runs a pass at once and then every [`RETENTION_EVERY`] until `rx` says stop.
pub async fn run(state: Arc<AppState>, mut rx: watch::Receiver<bool>) {
    if !enabled(&state.settings.retention) {
        return;
    }
    loop {
        match apply(&state).await {
            Ok(r) if r.events_deleted > 0 || r.partitions_dropped > 0 => state.log(&format!(
                "event retention: deleted {} events ({} days dropped)",
                r.events_deleted, r.partitions_dropped
            )),
            Ok(_) => {}
            Err(e) => {
                super::metrics::store_error();
                state.log(&format!("event retention failed (tried again later): {e}"));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(RETENTION_EVERY) => {}
            _ = serving::stopped(&mut rx) => return,
        }
    }
}
