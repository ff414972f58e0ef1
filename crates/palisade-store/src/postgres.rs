//! The PostgreSQL backend: a bb8 pool of tokio-postgres connections, each with its own cache of
//! prepared statements.
//!
//! The connection URL is libpq's (`postgres://user:pass@host:port/db?…`) with these additions
//! and differences:
//! - `sslmode`: absent or `disable` → plain TCP; `prefer`/`allow`, `require`, `verify-ca`,
//!   `verify-full` as in libpq (see [`tls`]); `sslrootcert=PATH` names a PEM CA file.
//! - `pool_max_size=N`: connections in the pool (default 16).
//! - everything else tokio-postgres understands (`options`, `application_name`,
//!   `connect_timeout`, `channel_binding`, …) is passed through.
//!
//! Serialisation: appends to the audit chain lock the one-row `audit_head` table; applying a
//! report locks its asset row (the upsert), and the platform-wide trend is recomputed under a
//! transaction-scoped advisory lock so that concurrent reports for different assets do not
//! overwrite each other's totals. Migrations run under another advisory lock, so two
//! processes starting at once migrate one after the other.

mod tls;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, IsolationLevel, NoTls, Row, Statement};

use crate::common::{self, Arg, Dialect, PreparedAlert, PreparedReport, RowGet};
use crate::{
    Alert, AlertQuery, AlertState, AlertStateChange, ApiToken, Asset, AssetQuery, AuditEntry,
    AuditQuery, Dashboard, FindingQuery, LedgerFinding, LoginLink, Millis, NewAlert, NewApiToken,
    NewAuditEntry, NewReport, NewSavedSearch, NewUser, Page, Report, ReportOutcome, Result, Role,
    SavedSearch, Session, Store, StoreError, StoredAlertEvent, User,
};

const DEFAULT_POOL_SIZE: u32 = 16;
const MAX_POOL_SIZE: u32 = 1000;
/// Advisory lock keys (arbitrary constants; "palisade" in ASCII plus a number).
const MIGRATION_LOCK: i64 = 0x7061_6c69_7361_0001;
const TREND_LOCK: i64 = 0x7061_6c69_7361_0002;
/// Raising an alert locks its dedup key: `pg_advisory_xact_lock(ALERT_LOCK_SPACE, hash)`
/// (the two-key form, so it cannot collide with the locks above).
const ALERT_LOCK_SPACE: i32 = 0x7061_0003;
/// Findings sent per statement when applying a report (UNNEST arrays).
const FINDING_BATCH: usize = 5000;
/// Prepared statements kept per connection; the cache is emptied when it is full.
const STATEMENT_CACHE: usize = 256;
/// Audit entries read per round trip when verifying the chain.
const VERIFY_BATCH: i64 = 10_000;

type Params<'a> = [&'a (dyn ToSql + Sync)];

/// Palisade's store on PostgreSQL. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: bb8::Pool<Manager>,
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        match e.code() {
            Some(c) if *c == SqlState::UNIQUE_VIOLATION => {
                StoreError::Conflict("a record with the same key".into())
            }
            Some(c) if *c == SqlState::FOREIGN_KEY_VIOLATION => {
                StoreError::NotFound("a referenced record".into())
            }
            _ => StoreError::Backend(message(&e)),
        }
    }
}

/// The server's message and SQLSTATE, without the DETAIL line (which quotes key values).
fn message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("postgres: {} (SQLSTATE {})", db.message(), db.code().code()),
        None => format!("postgres: {e}"),
    }
}

fn keyed(e: tokio_postgres::Error, what: impl FnOnce() -> String, missing: &str) -> StoreError {
    match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => StoreError::Conflict(what()),
        Some(c) if *c == SqlState::FOREIGN_KEY_VIOLATION => {
            StoreError::NotFound(missing.to_string())
        }
        _ => e.into(),
    }
}

impl From<bb8::RunError<tokio_postgres::Error>> for StoreError {
    fn from(e: bb8::RunError<tokio_postgres::Error>) -> StoreError {
        match e {
            bb8::RunError::User(e) => e.into(),
            bb8::RunError::TimedOut => {
                StoreError::Backend("postgres: timed out waiting for a connection".into())
            }
        }
    }
}

impl RowGet for Row {
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.try_get(i)?)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.try_get(i)?)
    }
    fn text(&self, i: usize) -> Result<String> {
        Ok(self.try_get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.try_get(i)?)
    }
    fn flag(&self, i: usize) -> Result<bool> {
        Ok(self.try_get(i)?)
    }
    fn strings(&self, i: usize) -> Result<Vec<String>> {
        Ok(self.try_get(i)?)
    }
}

fn args(a: &[Arg]) -> Vec<&(dyn ToSql + Sync)> {
    a.iter()
        .map(|a| match a {
            Arg::Int(i) => i as &(dyn ToSql + Sync),
            Arg::Text(s) => s as &(dyn ToSql + Sync),
        })
        .collect()
}

/// A pooled connection: the client and the statements prepared on it.
pub(crate) struct PgConn {
    client: tokio_postgres::Client,
    stmts: HashMap<String, Statement>,
}

/// Runs cached statements on a client or a transaction.
struct Q<'a, C> {
    c: &'a C,
    stmts: &'a mut HashMap<String, Statement>,
}

impl<C: GenericClient + Sync> Q<'_, C> {
    async fn prep(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = self.c.prepare(sql).await?;
        if self.stmts.len() >= STATEMENT_CACHE {
            self.stmts.clear();
        }
        self.stmts.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    async fn all(&mut self, sql: &str, p: &Params<'_>) -> Result<Vec<Row>> {
        let s = self.prep(sql).await?;
        Ok(self.c.query(&s, p).await?)
    }

    async fn opt(&mut self, sql: &str, p: &Params<'_>) -> Result<Option<Row>> {
        let s = self.prep(sql).await?;
        Ok(self.c.query_opt(&s, p).await?)
    }

    async fn one(&mut self, sql: &str, p: &Params<'_>) -> Result<Row> {
        let s = self.prep(sql).await?;
        Ok(self.c.query_one(&s, p).await?)
    }

    async fn exec(&mut self, sql: &str, p: &Params<'_>) -> Result<u64> {
        let s = self.prep(sql).await?;
        Ok(self.c.execute(&s, p).await?)
    }

    /// Like `one`/`exec`, with unique and foreign-key violations named.
    async fn one_keyed(
        &mut self,
        sql: &str,
        p: &Params<'_>,
        what: impl FnOnce() -> String,
        missing: &str,
    ) -> Result<Row> {
        let s = self.prep(sql).await?;
        self.c
            .query_one(&s, p)
            .await
            .map_err(|e| keyed(e, what, missing))
    }

    async fn exec_keyed(
        &mut self,
        sql: &str,
        p: &Params<'_>,
        what: impl FnOnce() -> String,
        missing: &str,
    ) -> Result<u64> {
        let s = self.prep(sql).await?;
        self.c
            .execute(&s, p)
            .await
            .map_err(|e| keyed(e, what, missing))
    }
}

impl PgConn {
    fn q(&mut self) -> Q<'_, tokio_postgres::Client> {
        Q {
            c: &self.client,
            stmts: &mut self.stmts,
        }
    }
}

/// Opens connections for the pool.
pub(crate) struct Manager {
    config: tokio_postgres::Config,
    tls: Option<tls::MakeRustls>,
}

impl bb8::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = tokio_postgres::Error;

    async fn connect(&self) -> std::result::Result<PgConn, tokio_postgres::Error> {
        let client = match &self.tls {
            Some(tls) => {
                let (client, conn) = self.config.connect(tls.clone()).await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                client
            }
            None => {
                let (client, conn) = self.config.connect(NoTls).await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                client
            }
        };
        Ok(PgConn {
            client,
            stmts: HashMap::new(),
        })
    }

    async fn is_valid(&self, conn: &mut PgConn) -> std::result::Result<(), tokio_postgres::Error> {
        conn.client.simple_query("").await.map(|_| ())
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.client.is_closed()
    }
}

/// What `connect` takes out of the URL before tokio-postgres parses the rest.
struct Options {
    config: tokio_postgres::Config,
    tls: Option<(tls::Verify, Option<String>)>,
    pool_size: u32,
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_url(url: &str) -> Result<Options> {
    let invalid = |m: String| StoreError::Invalid(format!("PostgreSQL URL: {m}"));
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut keep: Vec<&str> = Vec::new();
    let mut sslmode: Option<String> = None;
    let mut rootcert: Option<String> = None;
    let mut pool_size = DEFAULT_POOL_SIZE;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match percent_decode(k).as_str() {
            "sslmode" => sslmode = Some(percent_decode(v)),
            "sslrootcert" => rootcert = Some(percent_decode(v)),
            "pool_max_size" => {
                pool_size = percent_decode(v)
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_POOL_SIZE).contains(n))
                    .ok_or_else(|| {
                        invalid(format!("pool_max_size must be 1 to {MAX_POOL_SIZE}"))
                    })?;
            }
            _ => keep.push(pair),
        }
    }
    let rest = if keep.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", keep.join("&"))
    };
    // tokio-postgres's messages name the option, never the URL (which may hold a password).
    let mut config: tokio_postgres::Config = rest
        .parse()
        .map_err(|e: tokio_postgres::Error| invalid(e.to_string()))?;
    use tokio_postgres::config::SslMode;
    let with_root = |v: tls::Verify| match (&rootcert, v) {
        (Some(_), tls::Verify::None) => tls::Verify::Ca,
        _ => v,
    };
    let tls = match sslmode.as_deref() {
        None | Some("disable") => {
            config.ssl_mode(SslMode::Disable);
            None
        }
        Some("allow" | "prefer") => {
            config.ssl_mode(SslMode::Prefer);
            Some(with_root(tls::Verify::None))
        }
        Some("require") => {
            config.ssl_mode(SslMode::Require);
            Some(with_root(tls::Verify::None))
        }
        Some("verify-ca") => {
            config.ssl_mode(SslMode::Require);
            Some(tls::Verify::Ca)
        }
        Some("verify-full") => {
            config.ssl_mode(SslMode::Require);
            Some(tls::Verify::Full)
        }
        Some(other) => return Err(invalid(format!("unknown sslmode {other:?}"))),
    };
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    if config.get_application_name().is_none() {
        config.application_name("palisade");
    }
    Ok(Options {
        config,
        tls: tls.map(|v| (v, rootcert)),
        pool_size,
    })
}

/// What a connection to the database a `postgres://` URL names needs, for pools kept outside
/// this crate (the event store): the tokio-postgres configuration, the TLS connector when
/// `sslmode` asks for one, and `pool_max_size`. Same URL rules as [`PgStore::connect`].
pub struct ConnectOptions {
    pub config: tokio_postgres::Config,
    pub tls: Option<tls::MakeRustls>,
    pub pool_size: u32,
}

/// Parses a `postgres://` URL as [`PgStore::connect`] does, without connecting.
pub fn connect_options(url: &str) -> Result<ConnectOptions> {
    let opts = parse_url(url)?;
    let tls = match &opts.tls {
        None => None,
        Some((verify, root)) => Some(tls::connector(*verify, root.as_deref())?),
    };
    Ok(ConnectOptions {
        config: opts.config,
        tls,
        pool_size: opts.pool_size,
    })
}

async fn migrate(conn: &mut PgConn) -> Result<()> {
    let migrations = common::POSTGRES_MIGRATIONS;
    let known = common::known_version(migrations);
    let tx = conn.client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    BIGINT PRIMARY KEY,
             name       TEXT   NOT NULL,
             applied_at BIGINT NOT NULL
         )",
    )
    .await?;
    let found: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::bigint FROM schema_migrations",
            &[],
        )
        .await?
        .try_get(0)?;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for m in migrations.iter().filter(|m| m.version > found) {
        tx.batch_execute(m.sql).await.map_err(|e| {
            StoreError::Backend(format!(
                "migration {} ({}): {}",
                m.version,
                m.name,
                message(&e)
            ))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &common::now_millis()],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

impl PgStore {
    /// Connects to the database a `postgres://` URL names (see the module documentation for
    /// `sslmode` and `pool_max_size`) and applies pending migrations.
    pub async fn connect(url: &str) -> Result<PgStore> {
        let opts = parse_url(url)?;
        let tls = match &opts.tls {
            None => None,
            Some((verify, root)) => Some(tls::connector(*verify, root.as_deref())?),
        };
        let pool = bb8::Pool::builder()
            .max_size(opts.pool_size)
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(30))
            .build_unchecked(Manager {
                config: opts.config,
                tls,
            });
        let store = PgStore { pool };
        {
            let mut conn = store.pool.get().await?;
            migrate(&mut conn).await?;
        }
        Ok(store)
    }

    async fn conn(&self) -> Result<bb8::PooledConnection<'_, Manager>> {
        Ok(self.pool.get().await?)
    }

    /// Whether this store's connections are encrypted (`pg_stat_ssl`), for diagnostics.
    pub async fn tls_in_use(&self) -> Result<bool> {
        let mut c = self.conn().await?;
        let row = c
            .q()
            .opt(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await?;
        Ok(match row {
            Some(r) => r.flag(0)?,
            None => false,
        })
    }

    async fn user_where(&self, cond: &str, arg: &(dyn ToSql + Sync)) -> Result<Option<User>> {
        let sql = format!("SELECT {} FROM users WHERE {cond}", common::USER_COLS);
        let mut c = self.conn().await?;
        c.q()
            .opt(&sql, &[arg])
            .await?
            .map(|r| common::user_at(&r, 0))
            .transpose()
    }

    async fn update_one(&self, sql: &str, p: &Params<'_>, what: String) -> Result<()> {
        let mut c = self.conn().await?;
        match c.q().exec(sql, p).await? {
            0 => Err(StoreError::NotFound(what)),
            _ => Ok(()),
        }
    }

    /// A read-only, repeatable-read transaction: the statements in `f` see one snapshot.
    async fn read_tx<T>(
        &self,
        f: impl AsyncFnOnce(&mut Q<'_, tokio_postgres::Transaction<'_>>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.conn().await?;
        let PgConn { client, stmts } = &mut *conn;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let out = {
            let mut q = Q { c: &tx, stmts };
            f(&mut q).await?
        };
        tx.commit().await?;
        Ok(out)
    }
}

async fn append_audit(conn: &mut PgConn, e: NewAuditEntry) -> Result<AuditEntry> {
    let details = e.details.to_string();
    let PgConn { client, stmts } = conn;
    let tx = client.transaction().await?;
    let (id, prev, hash) = {
        let mut q = Q { c: &tx, stmts };
        let prev = q
            .one("SELECT hash FROM audit_head WHERE id = 1 FOR UPDATE", &[])
            .await?
            .text(0)?;
        let hash = crate::audit_hash(&prev, &e);
        let id = q
            .one(
                "INSERT INTO audit_log (at, actor, actor_user_id, action, target, outcome, ip,
                     user_agent, details, prev_hash, hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                &[
                    &e.at,
                    &e.actor,
                    &e.actor_user_id,
                    &e.action,
                    &e.target,
                    &e.outcome,
                    &e.ip,
                    &e.user_agent,
                    &details,
                    &prev,
                    &hash,
                ],
            )
            .await?
            .int(0)?;
        q.exec(
            "UPDATE audit_head SET last_id = $1, hash = $2 WHERE id = 1",
            &[&id, &hash],
        )
        .await?;
        (id, prev, hash)
    };
    tx.commit().await?;
    Ok(AuditEntry {
        id,
        at: e.at,
        actor: e.actor,
        actor_user_id: e.actor_user_id,
        action: e.action,
        target: e.target,
        outcome: e.outcome,
        ip: e.ip,
        user_agent: e.user_agent,
        details: e.details,
        prev_hash: prev,
        hash,
    })
}

const UPSERT_FINDINGS: &str = "
WITH input AS (
    SELECT * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
        $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
        $14::text[])
    AS t (fingerprint, rule_id, scanner, severity, sev_rank, title, message, location, package,
        installed_version, fixed_version, search, raw)
), up AS (
    INSERT INTO findings (asset_id, fingerprint, rule_id, scanner, severity, sev_rank, title,
        message, location, package, installed_version, fixed_version, search, status,
        first_seen, last_seen, fixed_at, last_report_id)
    SELECT $1, fingerprint, rule_id, scanner, severity, sev_rank, title, message, location,
        package, installed_version, fixed_version, search, 'open', $15, $15, NULL, $16
    FROM input
    ON CONFLICT (asset_id, fingerprint) DO UPDATE SET
        rule_id = excluded.rule_id, scanner = excluded.scanner, severity = excluded.severity,
        sev_rank = excluded.sev_rank, title = excluded.title, message = excluded.message,
        location = excluded.location, package = excluded.package,
        installed_version = excluded.installed_version,
        fixed_version = excluded.fixed_version, search = excluded.search, status = 'open',
        fixed_at = NULL, last_seen = excluded.last_seen, last_report_id = excluded.last_report_id
    RETURNING id, fingerprint
)
INSERT INTO finding_raw (finding_id, raw)
SELECT up.id, input.raw FROM up JOIN input ON input.fingerprint = up.fingerprint
ON CONFLICT (finding_id) DO UPDATE SET raw = excluded.raw";

async fn apply_report(conn: &mut PgConn, p: PreparedReport) -> Result<ReportOutcome> {
    let r = &p.report;
    let at = r.received_at;
    let PgConn { client, stmts } = conn;
    let tx = client.transaction().await?;
    let out = {
        let mut q = Q { c: &tx, stmts };
        // The upsert locks the asset row until commit: reports for one asset apply in turn.
        let asset_id = q
            .one(
                "INSERT INTO assets (kind, key, name, search, first_seen, last_seen)
                 VALUES ($1, $2, $3, $4, $5, $5)
                 ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, name = excluded.name,
                     search = excluded.search, last_seen = excluded.last_seen
                 RETURNING id",
                &[
                    &r.asset_kind.as_str(),
                    &r.asset_key,
                    &r.asset_name,
                    &p.asset_search,
                    &at,
                ],
            )
            .await?
            .int(0)?;
        let count = p.findings.len() as i64;
        let report_id = q
            .one(
                "INSERT INTO reports (asset_id, received_at, format, scanners, uploaded_by, size,
                     finding_count)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[
                    &asset_id,
                    &at,
                    &r.format,
                    &p.scanners,
                    &r.uploaded_by,
                    &r.size,
                    &count,
                ],
            )
            .await?
            .int(0)?;

        let mut existing: HashMap<String, bool> = HashMap::new();
        for row in q
            .all(
                "SELECT fingerprint, status FROM findings WHERE asset_id = $1",
                &[&asset_id],
            )
            .await?
        {
            existing.insert(row.text(0)?, row.text(1)? == "open");
        }
        let mut out = ReportOutcome {
            report_id,
            asset_id,
            ..ReportOutcome::default()
        };
        for pf in &p.findings {
            match existing.get(&pf.f.fingerprint) {
                None => out.new += 1,
                Some(true) => out.unchanged += 1,
                Some(false) => out.reopened += 1,
            }
        }
        drop(existing);

        for chunk in p.findings.chunks(FINDING_BATCH) {
            let col = |g: fn(&common::PreparedFinding) -> &str| -> Vec<&str> {
                chunk.iter().map(g).collect()
            };
            let opt = |g: fn(&common::PreparedFinding) -> Option<&str>| -> Vec<Option<&str>> {
                chunk.iter().map(g).collect()
            };
            let fingerprints = col(|x| &x.f.fingerprint);
            let rules = col(|x| &x.f.rule_id);
            let scanners = col(|x| &x.f.scanner);
            let severities = col(|x| x.severity);
            let ranks: Vec<i64> = chunk.iter().map(|x| x.rank).collect();
            let titles = col(|x| &x.f.title);
            let messages = col(|x| &x.f.message);
            let locations = col(|x| &x.f.location);
            let packages = opt(|x| x.f.package.as_deref());
            let installed = opt(|x| x.f.installed_version.as_deref());
            let fixed = opt(|x| x.f.fixed_version.as_deref());
            let searches = col(|x| &x.search);
            let raws = col(|x| &x.raw);
            q.exec(
                UPSERT_FINDINGS,
                &[
                    &asset_id,
                    &fingerprints,
                    &rules,
                    &scanners,
                    &severities,
                    &ranks,
                    &titles,
                    &messages,
                    &locations,
                    &packages,
                    &installed,
                    &fixed,
                    &searches,
                    &raws,
                    &at,
                    &report_id,
                ],
            )
            .await?;
        }

        // Open findings of the report's scanners that it did not list (every listed one now
        // carries this report's id).
        out.fixed = q
            .exec(
                "UPDATE findings SET status = 'fixed', fixed_at = $1
                 WHERE asset_id = $2 AND status = 'open' AND last_report_id <> $3
                   AND scanner = ANY($4)",
                &[&at, &asset_id, &report_id, &p.scanners],
            )
            .await? as i64;

        let mut ranks = Vec::new();
        for row in q
            .all(
                "SELECT sev_rank, COUNT(*) FROM findings WHERE asset_id = $1 AND status = 'open'
                 GROUP BY sev_rank",
                &[&asset_id],
            )
            .await?
        {
            ranks.push((row.int(0)?, row.int(1)?));
        }
        let c = common::counts_from_ranks(ranks);
        q.exec(
            "UPDATE assets SET last_report_id = $2, open_critical = $3, open_high = $4,
                 open_medium = $5, open_low = $6, open_info = $7, open_unknown = $8, risk = $9
             WHERE id = $1",
            &[
                &asset_id,
                &report_id,
                &c.critical,
                &c.high,
                &c.medium,
                &c.low,
                &c.info,
                &c.unknown,
                &c.risk(),
            ],
        )
        .await?;

        // Totals must include every other committed report: wait for the others' trend
        // updates, then sum with a fresh snapshot (READ COMMITTED takes one per statement).
        q.exec("SELECT pg_advisory_xact_lock($1)", &[&TREND_LOCK])
            .await?;
        q.exec(
            "INSERT INTO trend_daily (day, critical, high, medium, low, info, unknown)
             SELECT $1, COALESCE(SUM(open_critical), 0)::bigint,
                 COALESCE(SUM(open_high), 0)::bigint, COALESCE(SUM(open_medium), 0)::bigint,
                 COALESCE(SUM(open_low), 0)::bigint, COALESCE(SUM(open_info), 0)::bigint,
                 COALESCE(SUM(open_unknown), 0)::bigint
             FROM assets
             ON CONFLICT (day) DO UPDATE SET critical = excluded.critical,
                 high = excluded.high, medium = excluded.medium, low = excluded.low,
                 info = excluded.info, unknown = excluded.unknown",
            &[&crate::day_of(at)],
        )
        .await?;

        if let Some(sbom) = &r.sbom {
            q.exec(
                "INSERT INTO asset_sboms (asset_id, report_id, received_at, sbom)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (asset_id) DO UPDATE SET report_id = excluded.report_id,
                     received_at = excluded.received_at, sbom = excluded.sbom",
                &[&asset_id, &report_id, &at, sbom],
            )
            .await?;
        }
        out
    };
    tx.commit().await?;
    Ok(out)
}

async fn dashboard<C: GenericClient + Sync>(
    q: &mut Q<'_, C>,
    now: Millis,
    days: u32,
    top: u32,
) -> Result<Dashboard> {
    let row = q
        .one(
            "SELECT COALESCE(SUM(open_critical), 0)::bigint, COALESCE(SUM(open_high), 0)::bigint,
                 COALESCE(SUM(open_medium), 0)::bigint, COALESCE(SUM(open_low), 0)::bigint,
                 COALESCE(SUM(open_info), 0)::bigint, COALESCE(SUM(open_unknown), 0)::bigint,
                 COUNT(*)
             FROM assets",
            &[],
        )
        .await?;
    let open = crate::SeverityCounts {
        critical: row.int(0)?,
        high: row.int(1)?,
        medium: row.int(2)?,
        low: row.int(3)?,
        info: row.int(4)?,
        unknown: row.int(5)?,
    };
    let assets = row.int(6)?;
    let reports = q.one("SELECT COUNT(*) FROM reports", &[]).await?.int(0)?;
    let since = common::thirty_days_before(now);
    let fixed_30d = q
        .one(
            "SELECT COUNT(*) FROM findings
             WHERE fixed_at IS NOT NULL AND fixed_at > $1 AND fixed_at <= $2",
            &[&since, &now],
        )
        .await?
        .int(0)?;
    let new_30d = q
        .one(
            "SELECT COUNT(*) FROM findings WHERE first_seen > $1 AND first_seen <= $2",
            &[&since, &now],
        )
        .await?
        .int(0)?;
    let trend = match common::trend_window(now, days) {
        None => Vec::new(),
        Some((first_day, last_day)) => {
            let carry = q
                .opt(
                    "SELECT day, critical, high, medium, low, info, unknown FROM trend_daily
                     WHERE day < $1 ORDER BY day DESC LIMIT 1",
                    &[&first_day],
                )
                .await?
                .map(|r| common::trend_at(&r, 0))
                .transpose()?
                .map(|(_, c)| c);
            let rows = q
                .all(
                    "SELECT day, critical, high, medium, low, info, unknown FROM trend_daily
                     WHERE day >= $1 AND day <= $2 ORDER BY day",
                    &[&first_day, &last_day],
                )
                .await?
                .iter()
                .map(|r| common::trend_at(r, 0))
                .collect::<Result<Vec<_>>>()?;
            common::build_trend(first_day, last_day, carry, &rows)
        }
    };
    let sql = format!(
        "SELECT {} FROM assets WHERE risk > 0 ORDER BY {} LIMIT $1",
        common::ASSET_COLS,
        common::assets_order(false)
    );
    let riskiest = q
        .all(&sql, &[&i64::from(top.min(common::MAX_LIMIT))])
        .await?
        .iter()
        .map(|r| common::asset_at(r, 0))
        .collect::<Result<Vec<_>>>()?;
    Ok(Dashboard {
        open,
        assets,
        reports,
        fixed_30d,
        new_30d,
        trend,
        riskiest,
    })
}

fn rows<T>(rows: Vec<Row>, f: impl Fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}

async fn alert_by_id<C: GenericClient + Sync>(q: &mut Q<'_, C>, id: i64) -> Result<Option<Alert>> {
    let sql = format!("SELECT {} FROM alerts WHERE id = $1", common::ALERT_COLS);
    q.opt(&sql, &[&id])
        .await?
        .map(|r| common::alert_at(&r, 0))
        .transpose()
}

/// Adds events to an alert that holds `have` of them, up to the cap.
async fn add_alert_events<C: GenericClient + Sync>(
    q: &mut Q<'_, C>,
    alert_id: i64,
    have: i64,
    events: &[common::PreparedAlertEvent],
) -> Result<()> {
    let room = usize::try_from(crate::MAX_ALERT_EVENTS as i64 - have).unwrap_or(0);
    let mut seq = have;
    for e in events.iter().take(room) {
        q.exec(
            "INSERT INTO alert_events (alert_id, seq, event_id, time_ns, source, event, truncated)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &alert_id,
                &seq,
                &e.event_id,
                &e.time_ns,
                &e.source,
                &e.event,
                &e.truncated,
            ],
        )
        .await?;
        seq += 1;
    }
    if seq != have {
        q.exec(
            "UPDATE alerts SET event_count = $2 WHERE id = $1",
            &[&alert_id, &seq],
        )
        .await?;
    }
    Ok(())
}

/// The advisory lock key of a dedup key: its first 32 bits (it is a hex SHA-256).
fn alert_lock_key(dedup_key: &str) -> i32 {
    let head = dedup_key.get(..8).unwrap_or("0");
    u32::from_str_radix(head, 16).unwrap_or(0) as i32
}

async fn raise_alert(conn: &mut PgConn, p: PreparedAlert, window: i64) -> Result<(Alert, bool)> {
    let window = window.max(0);
    let PgConn { client, stmts } = conn;
    let tx = client.transaction().await?;
    let out = {
        let mut q = Q { c: &tx, stmts };
        // One raise per key at a time: the look-up below then sees every earlier raise of
        // the key committed, and no two of them can both decide to insert.
        q.exec(
            "SELECT pg_advisory_xact_lock($1, $2)",
            &[&ALERT_LOCK_SPACE, &alert_lock_key(&p.dedup_key)],
        )
        .await?;
        let sql = format!(
            "SELECT {} FROM alerts
             WHERE dedup_key = $1 AND state <> 'closed' AND last_seen >= $2 AND first_seen <= $3
             ORDER BY last_seen DESC, id DESC LIMIT 1 FOR UPDATE",
            common::ALERT_COLS
        );
        let open = q
            .opt(
                &sql,
                &[
                    &p.dedup_key,
                    &p.at.saturating_sub(window),
                    &p.at.saturating_add(window),
                ],
            )
            .await?
            .map(|r| common::alert_at(&r, 0))
            .transpose()?;
        let (id, created) = match open {
            Some(a) => {
                q.exec(
                    "UPDATE alerts SET count = count + 1, first_seen = LEAST(first_seen, $2),
                         last_seen = GREATEST(last_seen, $2)
                     WHERE id = $1",
                    &[&a.id, &p.at],
                )
                .await?;
                add_alert_events(&mut q, a.id, a.event_count, &p.events).await?;
                (a.id, false)
            }
            None => {
                let id = q
                    .one(
                        "INSERT INTO alerts (rule_id, rule_title, level, level_rank, tags,
                             entities, dedup_key, correlation, state, count, first_seen,
                             last_seen, event_count, search)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'new', 1, $9, $9, 0, $10)
                         RETURNING id",
                        &[
                            &p.rule_id,
                            &p.rule_title,
                            &p.level.as_str(),
                            &p.level.rank(),
                            &p.tags,
                            &p.entities,
                            &p.dedup_key,
                            &p.correlation,
                            &p.at,
                            &p.search,
                        ],
                    )
                    .await?
                    .int(0)?;
                add_alert_events(&mut q, id, 0, &p.events).await?;
                (id, true)
            }
        };
        let alert = alert_by_id(&mut q, id)
            .await?
            .ok_or_else(|| StoreError::Backend(format!("alert {id} vanished while raised")))?;
        (alert, created)
    };
    tx.commit().await?;
    Ok(out)
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<()> {
        let mut c = self.conn().await?;
        c.q().one("SELECT 1", &[]).await?;
        Ok(())
    }

    async fn create_user(&self, user: NewUser, at: Millis) -> Result<User> {
        let username = common::normalize_username(&user.username)?;
        common::check_text("display name", &user.display_name)?;
        common::check_opt("password hash", user.password_hash.as_deref())?;
        common::check_opt("OIDC subject", user.oidc_subject.as_deref())?;
        let mut c = self.conn().await?;
        let id = c
            .q()
            .one_keyed(
                "INSERT INTO users (username, display_name, role, password_hash, oidc_subject,
                     disabled, created_at)
                 VALUES ($1, $2, $3, $4, $5, false, $6) RETURNING id",
                &[
                    &username,
                    &user.display_name,
                    &user.role.as_str(),
                    &user.password_hash,
                    &user.oidc_subject,
                    &at,
                ],
                || format!("user {username:?}"),
                "user",
            )
            .await?
            .int(0)?;
        Ok(User {
            id,
            username,
            display_name: user.display_name,
            role: user.role,
            password_hash: user.password_hash,
            oidc_subject: user.oidc_subject,
            disabled: false,
            created_at: at,
            last_login_at: None,
        })
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        self.user_where("id = $1", &id).await
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let Ok(username) = common::normalize_username(username) else {
            return Ok(None);
        };
        self.user_where("username = $1", &username).await
    }

    async fn user_by_oidc_subject(&self, subject: &str) -> Result<Option<User>> {
        if common::check_text("OIDC subject", subject).is_err() {
            return Ok(None);
        }
        self.user_where("oidc_subject = $1", &subject).await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {} FROM users ORDER BY id", common::USER_COLS);
        let mut c = self.conn().await?;
        rows(c.q().all(&sql, &[]).await?, |r| common::user_at(r, 0))
    }

    async fn count_users(&self) -> Result<i64> {
        let mut c = self.conn().await?;
        c.q().one("SELECT COUNT(*) FROM users", &[]).await?.int(0)
    }

    async fn set_user_role(&self, id: i64, role: Role) -> Result<()> {
        self.update_one(
            "UPDATE users SET role = $2 WHERE id = $1",
            &[&id, &role.as_str()],
            format!("user {id}"),
        )
        .await
    }

    async fn set_user_disabled(&self, id: i64, disabled: bool) -> Result<()> {
        self.update_one(
            "UPDATE users SET disabled = $2 WHERE id = $1",
            &[&id, &disabled],
            format!("user {id}"),
        )
        .await
    }

    async fn set_user_password(&self, id: i64, password_hash: &str) -> Result<()> {
        common::check_text("password hash", password_hash)?;
        self.update_one(
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            &[&id, &password_hash],
            format!("user {id}"),
        )
        .await
    }

    async fn touch_user_login(&self, id: i64, at: Millis) -> Result<()> {
        self.update_one(
            "UPDATE users SET last_login_at = $2 WHERE id = $1",
            &[&id, &at],
            format!("user {id}"),
        )
        .await
    }

    async fn create_session(&self, s: Session) -> Result<()> {
        common::check_text("session id", &s.id_hash)?;
        common::check_text("CSRF token", &s.csrf_token)?;
        common::check_opt("ip", s.ip.as_deref())?;
        common::check_opt("user agent", s.user_agent.as_deref())?;
        let mut c = self.conn().await?;
        c.q()
            .exec_keyed(
                "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at, ip,
                     user_agent)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &s.id_hash,
                    &s.user_id,
                    &s.csrf_token,
                    &s.created_at,
                    &s.expires_at,
                    &s.ip,
                    &s.user_agent,
                ],
                || "session".into(),
                &format!("user {}", s.user_id),
            )
            .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str, now: Millis) -> Result<Option<(Session, User)>> {
        if common::check_text("session id", id_hash).is_err() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {}, {} FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND NOT u.disabled",
            common::SESSION_COLS_S,
            common::USER_COLS_U
        );
        let mut c = self.conn().await?;
        c.q()
            .opt(&sql, &[&id_hash, &now])
            .await?
            .map(|r| Ok((common::session_at(&r, 0)?, common::user_at(&r, 7)?)))
            .transpose()
    }

    async fn delete_session(&self, id_hash: &str) -> Result<()> {
        if common::check_text("session id", id_hash).is_err() {
            return Ok(());
        }
        let mut c = self.conn().await?;
        c.q()
            .exec("DELETE FROM sessions WHERE id_hash = $1", &[&id_hash])
            .await?;
        Ok(())
    }

    async fn delete_user_sessions(&self, user_id: i64) -> Result<()> {
        let mut c = self.conn().await?;
        c.q()
            .exec("DELETE FROM sessions WHERE user_id = $1", &[&user_id])
            .await?;
        Ok(())
    }

    async fn purge_expired(&self, now: Millis) -> Result<u64> {
        let mut conn = self.conn().await?;
        let PgConn { client, stmts } = &mut *conn;
        let tx = client.transaction().await?;
        let n = {
            let mut q = Q { c: &tx, stmts };
            q.exec("DELETE FROM sessions WHERE expires_at <= $1", &[&now])
                .await?
                + q.exec("DELETE FROM login_links WHERE expires_at <= $1", &[&now])
                    .await?
        };
        tx.commit().await?;
        Ok(n)
    }

    async fn create_login_link(&self, link: LoginLink) -> Result<()> {
        common::check_text("login link", &link.secret_hash)?;
        let mut c = self.conn().await?;
        c.q()
            .exec_keyed(
                "INSERT INTO login_links (secret_hash, user_id, expires_at) VALUES ($1, $2, $3)",
                &[&link.secret_hash, &link.user_id, &link.expires_at],
                || "login link".into(),
                &format!("user {}", link.user_id),
            )
            .await?;
        Ok(())
    }

    async fn take_login_link(&self, secret_hash: &str, now: Millis) -> Result<Option<i64>> {
        if common::check_text("login link", secret_hash).is_err() {
            return Ok(None);
        }
        let mut c = self.conn().await?;
        c.q()
            .opt(
                "DELETE FROM login_links WHERE secret_hash = $1 AND expires_at > $2
                 RETURNING user_id",
                &[&secret_hash, &now],
            )
            .await?
            .map(|r| r.int(0))
            .transpose()
    }

    async fn create_token(&self, t: NewApiToken, at: Millis) -> Result<ApiToken> {
        common::check_text("token name", &t.name)?;
        common::check_text("token hash", &t.secret_hash)?;
        common::check_text("token prefix", &t.prefix)?;
        let mut c = self.conn().await?;
        let id = c
            .q()
            .one_keyed(
                "INSERT INTO api_tokens (user_id, name, secret_hash, prefix, scope, created_at,
                     expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[
                    &t.user_id,
                    &t.name,
                    &t.secret_hash,
                    &t.prefix,
                    &t.scope.as_str(),
                    &at,
                    &t.expires_at,
                ],
                || "token".into(),
                &format!("user {}", t.user_id),
            )
            .await?
            .int(0)?;
        Ok(ApiToken {
            id,
            user_id: t.user_id,
            name: t.name,
            secret_hash: t.secret_hash,
            prefix: t.prefix,
            scope: t.scope,
            created_at: at,
            expires_at: t.expires_at,
            last_used_at: None,
            revoked_at: None,
        })
    }

    async fn token_by_hash(
        &self,
        secret_hash: &str,
        now: Millis,
    ) -> Result<Option<(ApiToken, User)>> {
        if common::check_text("token hash", secret_hash).is_err() {
            return Ok(None);
        }
        let sql = format!(
            "WITH t AS (
                 UPDATE api_tokens SET last_used_at = $2
                 WHERE secret_hash = $1 AND revoked_at IS NULL
                   AND (expires_at IS NULL OR expires_at > $2)
                   AND user_id IN (SELECT id FROM users WHERE NOT disabled)
                 RETURNING {}
             )
             SELECT t.*, {} FROM t JOIN users u ON u.id = t.user_id",
            common::TOKEN_COLS,
            common::USER_COLS_U
        );
        let mut c = self.conn().await?;
        c.q()
            .opt(&sql, &[&secret_hash, &now])
            .await?
            .map(|r| Ok((common::token_at(&r, 0)?, common::user_at(&r, 10)?)))
            .transpose()
    }

    async fn list_tokens(&self, user_id: Option<i64>) -> Result<Vec<ApiToken>> {
        let sql = format!(
            "SELECT {} FROM api_tokens WHERE $1::bigint IS NULL OR user_id = $1 ORDER BY id",
            common::TOKEN_COLS
        );
        let mut c = self.conn().await?;
        rows(c.q().all(&sql, &[&user_id]).await?, |r| {
            common::token_at(r, 0)
        })
    }

    async fn token_by_id(&self, id: i64) -> Result<Option<ApiToken>> {
        let sql = format!(
            "SELECT {} FROM api_tokens WHERE id = $1",
            common::TOKEN_COLS
        );
        let mut c = self.conn().await?;
        c.q()
            .opt(&sql, &[&id])
            .await?
            .map(|r| common::token_at(&r, 0))
            .transpose()
    }

    async fn revoke_token(&self, id: i64, at: Millis) -> Result<()> {
        self.update_one(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
            &[&id, &at],
            format!("token {id}"),
        )
        .await
    }

    async fn create_saved_search(&self, s: NewSavedSearch, at: Millis) -> Result<SavedSearch> {
        common::check_text("search name", &s.name)?;
        common::check_text("search", &s.query)?;
        let id = {
            let mut c = self.conn().await?;
            c.q()
                .one_keyed(
                    "INSERT INTO saved_searches (user_id, name, query, created_at)
                     VALUES ($1, $2, $3, $4) RETURNING id",
                    &[&s.user_id, &s.name, &s.query, &at],
                    || format!("a saved search named {:?}", s.name),
                    &format!("user {}", s.user_id),
                )
                .await?
                .int(0)?
        };
        self.saved_search(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("saved search {id}")))
    }

    async fn list_saved_searches(&self) -> Result<Vec<SavedSearch>> {
        let sql = format!(
            "SELECT {} FROM {} ORDER BY s.name, s.id",
            common::SAVED_SEARCH_COLS,
            common::SAVED_SEARCH_FROM
        );
        let mut c = self.conn().await?;
        rows(c.q().all(&sql, &[]).await?, |r| {
            common::saved_search_at(r, 0)
        })
    }

    async fn saved_search(&self, id: i64) -> Result<Option<SavedSearch>> {
        let sql = format!(
            "SELECT {} FROM {} WHERE s.id = $1",
            common::SAVED_SEARCH_COLS,
            common::SAVED_SEARCH_FROM
        );
        let mut c = self.conn().await?;
        c.q()
            .opt(&sql, &[&id])
            .await?
            .map(|r| common::saved_search_at(&r, 0))
            .transpose()
    }

    async fn delete_saved_search(&self, id: i64) -> Result<()> {
        self.update_one(
            "DELETE FROM saved_searches WHERE id = $1",
            &[&id],
            format!("saved search {id}"),
        )
        .await
    }

    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry> {
        let entry = common::sanitize_audit(entry);
        let mut c = self.conn().await?;
        append_audit(&mut c, entry).await
    }

    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let mut f = common::audit_filter(query, Dialect::Postgres);
        let limit = f.arg(Arg::Int(common::page_limit(query.limit)));
        let sql = format!(
            "SELECT {} FROM audit_log{} ORDER BY id DESC LIMIT {limit}",
            common::AUDIT_COLS,
            f.where_sql()
        );
        let mut c = self.conn().await?;
        rows(c.q().all(&sql, &args(&f.args)).await?, |r| {
            common::audit_at(r, 0)
        })
    }

    async fn verify_audit_chain(&self) -> Result<Option<i64>> {
        self.read_tx(async |q| {
            let head = q
                .one("SELECT last_id, hash FROM audit_head WHERE id = 1", &[])
                .await?;
            let (head_id, head_hash) = (head.int(0)?, head.text(1)?);
            let sql = format!(
                "SELECT {} FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2",
                common::AUDIT_COLS
            );
            let mut check = common::ChainCheck::new();
            let mut after = 0i64;
            loop {
                let batch = q.all(&sql, &[&after, &VERIFY_BATCH]).await?;
                for row in &batch {
                    let e = common::audit_at(row, 0)?;
                    after = e.id;
                    check.feed(&e);
                }
                if check.broken.is_some() || (batch.len() as i64) < VERIFY_BATCH {
                    break;
                }
            }
            Ok(check.finish(head_id, &head_hash))
        })
        .await
    }

    async fn apply_report(&self, report: NewReport) -> Result<ReportOutcome> {
        let prepared = tokio::task::spawn_blocking(move || common::prepare_report(report))
            .await
            .map_err(|e| StoreError::Backend(format!("preparing the report failed: {e}")))??;
        let mut c = self.conn().await?;
        apply_report(&mut c, prepared).await
    }

    async fn asset(&self, id: i64) -> Result<Option<Asset>> {
        let sql = format!("SELECT {} FROM assets WHERE id = $1", common::ASSET_COLS);
        let mut c = self.conn().await?;
        c.q()
            .opt(&sql, &[&id])
            .await?
            .map(|r| common::asset_at(&r, 0))
            .transpose()
    }

    async fn list_assets(&self, query: &AssetQuery) -> Result<Page<Asset>> {
        let common::PageQuery {
            sql,
            args: page_args,
            count_sql,
            count_args,
        } = common::assets_filter(query, Dialect::Postgres).page(
            "assets",
            common::ASSET_COLS,
            common::assets_order(query.by_last_seen),
            query.limit,
            query.offset,
        );
        self.read_tx(async |q| {
            let items = rows(q.all(&sql, &args(&page_args)).await?, |r| {
                common::asset_at(r, 0)
            })?;
            let total = q.one(&count_sql, &args(&count_args)).await?.int(0)?;
            Ok(Page { items, total })
        })
        .await
    }

    async fn asset_reports(&self, asset_id: i64, limit: u32) -> Result<Vec<Report>> {
        let limit = common::page_limit(limit);
        let sql = format!(
            "SELECT {} FROM reports WHERE asset_id = $1 ORDER BY id DESC LIMIT $2",
            common::REPORT_COLS
        );
        let mut c = self.conn().await?;
        rows(c.q().all(&sql, &[&asset_id, &limit]).await?, |r| {
            common::report_at(r, 0)
        })
    }

    async fn asset_sbom(&self, asset_id: i64) -> Result<Option<String>> {
        let mut c = self.conn().await?;
        c.q()
            .opt(
                "SELECT sbom FROM asset_sboms WHERE asset_id = $1",
                &[&asset_id],
            )
            .await?
            .map(|r| r.text(0))
            .transpose()
    }

    async fn finding(&self, id: i64) -> Result<Option<(LedgerFinding, serde_json::Value)>> {
        let cols: Vec<String> = common::FINDING_COLS
            .split(", ")
            .map(|c| format!("f.{c}"))
            .collect();
        let sql = format!(
            "SELECT {}, r.raw FROM findings f LEFT JOIN finding_raw r ON r.finding_id = f.id
             WHERE f.id = $1",
            cols.join(", ")
        );
        let mut c = self.conn().await?;
        let Some(r) = c.q().opt(&sql, &[&id]).await? else {
            return Ok(None);
        };
        let raw = match r.opt_text(17)? {
            None => serde_json::Value::Null,
            Some(s) => serde_json::from_str(&s)
                .map_err(|_| StoreError::Backend("a stored finding is not JSON".into()))?,
        };
        Ok(Some((common::finding_at(&r, 0)?, raw)))
    }

    async fn list_findings(&self, query: &FindingQuery) -> Result<Page<LedgerFinding>> {
        let common::PageQuery {
            sql,
            args: page_args,
            count_sql,
            count_args,
        } = common::findings_filter(query, Dialect::Postgres).page(
            "findings",
            common::FINDING_COLS,
            common::findings_order(query.sort),
            query.limit,
            query.offset,
        );
        self.read_tx(async |q| {
            let items = rows(q.all(&sql, &args(&page_args)).await?, |r| {
                common::finding_at(r, 0)
            })?;
            let total = q.one(&count_sql, &args(&count_args)).await?.int(0)?;
            Ok(Page { items, total })
        })
        .await
    }

    async fn dashboard(&self, now: Millis, days: u32, top: u32) -> Result<Dashboard> {
        self.read_tx(async |q| dashboard(q, now, days, top).await)
            .await
    }

    async fn raise_alert(&self, alert: NewAlert, dedup_window_ms: i64) -> Result<(Alert, bool)> {
        let prepared = common::prepare_alert(alert)?;
        let mut c = self.conn().await?;
        raise_alert(&mut c, prepared, dedup_window_ms).await
    }

    async fn list_alerts(&self, query: &AlertQuery) -> Result<Page<Alert>> {
        let common::PageQuery {
            sql,
            args: page_args,
            count_sql,
            count_args,
        } = common::alerts_filter(query, Dialect::Postgres).page(
            "alerts",
            common::ALERT_COLS,
            common::ALERTS_ORDER,
            query.limit,
            query.offset,
        );
        self.read_tx(async |q| {
            let items = rows(q.all(&sql, &args(&page_args)).await?, |r| {
                common::alert_at(r, 0)
            })?;
            let total = q.one(&count_sql, &args(&count_args)).await?.int(0)?;
            Ok(Page { items, total })
        })
        .await
    }

    async fn alert(&self, id: i64) -> Result<Option<(Alert, Vec<StoredAlertEvent>)>> {
        self.read_tx(async |q| {
            let Some(alert) = alert_by_id(q, id).await? else {
                return Ok(None);
            };
            let sql = format!(
                "SELECT {} FROM alert_events WHERE alert_id = $1 ORDER BY seq",
                common::ALERT_EVENT_COLS
            );
            let events = rows(q.all(&sql, &[&id]).await?, |r| common::alert_event_at(r, 0))?;
            Ok(Some((alert, events)))
        })
        .await
    }

    async fn set_alert_state(
        &self,
        id: i64,
        change: AlertStateChange,
    ) -> Result<(Alert, AlertState)> {
        let reason = common::alert_reason(&change)?;
        let mut conn = self.conn().await?;
        let PgConn { client, stmts } = &mut *conn;
        let tx = client.transaction().await?;
        let out = {
            let mut q = Q { c: &tx, stmts };
            let sql = format!(
                "SELECT {} FROM alerts WHERE id = $1 FOR UPDATE",
                common::ALERT_COLS
            );
            let before = q
                .opt(&sql, &[&id])
                .await?
                .map(|r| common::alert_at(&r, 0))
                .transpose()?
                .ok_or_else(|| StoreError::NotFound(format!("alert {id}")))?;
            q.exec(
                "UPDATE alerts SET state = $2, state_reason = $3, state_by = $4, state_at = $5
                 WHERE id = $1",
                &[&id, &change.state.as_str(), &reason, &change.by, &change.at],
            )
            .await?;
            let after = alert_by_id(&mut q, id)
                .await?
                .ok_or_else(|| StoreError::Backend(format!("alert {id} vanished while updated")))?;
            (after, before.state)
        };
        tx.commit().await?;
        Ok(out)
    }
}
