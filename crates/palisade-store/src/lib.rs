//! Palisade's platform storage: one [`Store`] trait, two backends.
//!
//! - [`sqlite::SqliteStore`]: the embedded default, one file in the data directory (WAL mode).
//! - [`postgres::PgStore`]: PostgreSQL, for when one machine is not enough.
//!
//! Both run the same versioned migrations (`migrations/sqlite`, `migrations/postgres`) and pass
//! the same integration suite (`tests/store.rs`). Every query is parameterised.

mod common;
pub mod model;
pub mod postgres;
pub mod sqlite;

pub use model::*;

use async_trait::async_trait;

/// Why a store call failed. Messages are safe to log; none is meant for HTTP clients verbatim
/// except `Conflict` and `NotFound`, which name only what the caller sent.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value already exists (e.g. a username).
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    /// The caller passed something the store cannot hold (too long, bad value).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The database could not be reached or failed.
    #[error("database error: {0}")]
    Backend(String),
    /// The schema on disk is newer than this binary knows.
    #[error(
        "the database schema is at version {found}, this palisade knows up to {known}; upgrade palisade"
    )]
    SchemaTooNew { found: i64, known: i64 },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Everything the platform keeps. Implementations must be safe to call concurrently; writes that
/// touch several rows (applying a report, appending to the audit chain) are one transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Cheap round trip for `/readyz`.
    async fn ping(&self) -> Result<()>;

    // ---- users -------------------------------------------------------------------------
    async fn create_user(&self, user: NewUser, at: Millis) -> Result<User>;
    async fn user_by_id(&self, id: i64) -> Result<Option<User>>;
    /// Case-insensitive.
    async fn user_by_username(&self, username: &str) -> Result<Option<User>>;
    async fn user_by_oidc_subject(&self, subject: &str) -> Result<Option<User>>;
    async fn list_users(&self) -> Result<Vec<User>>;
    async fn count_users(&self) -> Result<i64>;
    async fn set_user_role(&self, id: i64, role: Role) -> Result<()>;
    async fn set_user_disabled(&self, id: i64, disabled: bool) -> Result<()>;
    async fn set_user_password(&self, id: i64, password_hash: &str) -> Result<()>;
    async fn touch_user_login(&self, id: i64, at: Millis) -> Result<()>;

    // ---- sessions ----------------------------------------------------------------------
    async fn create_session(&self, session: Session) -> Result<()>;
    /// The session and its user, when the session exists, is not expired at `now`, and the user
    /// is not disabled.
    async fn session(&self, id_hash: &str, now: Millis) -> Result<Option<(Session, User)>>;
    async fn delete_session(&self, id_hash: &str) -> Result<()>;
    async fn delete_user_sessions(&self, user_id: i64) -> Result<()>;
    /// Removes expired sessions and login links; returns how many rows went.
    async fn purge_expired(&self, now: Millis) -> Result<u64>;

    // ---- one-time login links ----------------------------------------------------------
    async fn create_login_link(&self, link: LoginLink) -> Result<()>;
    /// Consumes the link: returns its user id once, when unexpired at `now`; `None` afterwards.
    async fn take_login_link(&self, secret_hash: &str, now: Millis) -> Result<Option<i64>>;

    // ---- API tokens --------------------------------------------------------------------
    async fn create_token(&self, token: NewApiToken, at: Millis) -> Result<ApiToken>;
    /// The token and its owner, when the token exists, is not revoked, not expired at `now`,
    /// and the owner is not disabled. Records `last_used_at = now`.
    async fn token_by_hash(
        &self,
        secret_hash: &str,
        now: Millis,
    ) -> Result<Option<(ApiToken, User)>>;
    /// Tokens of one user, or of everyone when `user_id` is `None`.
    async fn list_tokens(&self, user_id: Option<i64>) -> Result<Vec<ApiToken>>;
    async fn token_by_id(&self, id: i64) -> Result<Option<ApiToken>>;
    async fn revoke_token(&self, id: i64, at: Millis) -> Result<()>;

    // Saved event searches. Names are unique per owner (`Conflict` otherwise).
    async fn create_saved_search(&self, search: NewSavedSearch, at: Millis) -> Result<SavedSearch>;
    /// Every saved search, by name then id.
    async fn list_saved_searches(&self) -> Result<Vec<SavedSearch>>;
    async fn saved_search(&self, id: i64) -> Result<Option<SavedSearch>>;
    async fn delete_saved_search(&self, id: i64) -> Result<()>;

    // ---- audit log (append-only: there is no update or delete) --------------------------
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry>;
    /// Newest first.
    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>>;
    /// Recomputes the hash chain; returns the id of the first entry that does not match.
    async fn verify_audit_chain(&self) -> Result<Option<i64>>;

    // ---- reports, assets and the findings ledger ---------------------------------------
    /// Creates or updates the asset, records the report, and applies its findings to the
    /// ledger in one transaction: new ones open, seen ones refresh `last_seen`, fixed ones
    /// reopen, and open findings of the report's scanners that it no longer lists are fixed.
    async fn apply_report(&self, report: NewReport) -> Result<ReportOutcome>;
    async fn asset(&self, id: i64) -> Result<Option<Asset>>;
    async fn list_assets(&self, query: &AssetQuery) -> Result<Page<Asset>>;
    /// Newest first.
    async fn asset_reports(&self, asset_id: i64, limit: u32) -> Result<Vec<Report>>;
    /// The latest SBOM received for the asset (CycloneDX JSON).
    async fn asset_sbom(&self, asset_id: i64) -> Result<Option<String>>;
    async fn finding(&self, id: i64) -> Result<Option<(LedgerFinding, serde_json::Value)>>;
    async fn list_findings(&self, query: &FindingQuery) -> Result<Page<LedgerFinding>>;
    /// Open counts, trend over the last `days` days ending at `now`, and the `top` riskiest
    /// assets.
    async fn dashboard(&self, now: Millis, days: u32, top: u32) -> Result<Dashboard>;

    // ---- alerts (detection rule matches) -----------------------------------------------
    /// Records a match in one transaction. When an alert of the same rule and entities
    /// (`dedup_key`) is not closed and the match is within `dedup_window_ms` of its
    /// first-to-last-seen span, that alert's `count` goes up by one, `last_seen` (or
    /// `first_seen`, for a late event) moves, and the events are added up to
    /// [`MAX_ALERT_EVENTS`]; otherwise a new alert is made. Returns the alert and whether it
    /// was made now. Concurrent calls with one key are serialised, so none is lost and no
    /// duplicate alert appears.
    async fn raise_alert(&self, alert: NewAlert, dedup_window_ms: i64) -> Result<(Alert, bool)>;
    async fn list_alerts(&self, query: &AlertQuery) -> Result<Page<Alert>>;
    /// The alert and its sample events, oldest first.
    async fn alert(&self, id: i64) -> Result<Option<(Alert, Vec<StoredAlertEvent>)>>;
    /// Moves an alert to a state (any to any; `Closed` needs a reason, `Invalid` otherwise).
    /// Returns the alert as it is now and the state it was in.
    async fn set_alert_state(
        &self,
        id: i64,
        change: AlertStateChange,
    ) -> Result<(Alert, AlertState)>;
}

/// Hex SHA-256 of the entry's content and the previous hash: the audit chain link.
pub fn audit_hash(prev_hash: &str, e: &NewAuditEntry) -> String {
    use sha2::{Digest, Sha256};
    let canonical = serde_json::json!([
        prev_hash,
        e.at,
        e.actor,
        e.actor_user_id,
        e.action,
        e.target,
        e.outcome,
        e.ip,
        e.user_agent,
        e.details,
    ]);
    let mut h = Sha256::new();
    h.update(canonical.to_string().as_bytes());
    hex(&h.finalize())
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Days since the Unix epoch for a time in milliseconds (UTC).
pub fn day_of(ms: Millis) -> i64 {
    ms.div_euclid(86_400_000)
}

/// Opens the store a URL names: `postgres://…` / `postgresql://…` for PostgreSQL, anything else
/// is a path to the SQLite file (created if missing). Runs pending migrations.
pub async fn open(location: &str) -> Result<std::sync::Arc<dyn Store>> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(
            postgres::PgStore::connect(location).await?,
        ))
    } else {
        Ok(std::sync::Arc::new(
            sqlite::SqliteStore::open(std::path::Path::new(location)).await?,
        ))
    }
}
