//! The SQLite backend: one database file in WAL mode.
//!
//! rusqlite is synchronous, so every call runs on tokio's blocking pool (`spawn_blocking`) and
//! never on an executor thread. Writes go through the single writer connection, taken with an
//! async mutex before the blocking task starts, which also serialises the audit chain and report
//! application; reads use a small pool of read-only connections that WAL lets run next to the
//! writer. Statements are prepared once per connection (`prepare_cached`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::{ToSqlOutput, Value as SqlValue};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{Mutex, Semaphore};

use crate::common::{self, Arg, Dialect, PreparedAlert, PreparedReport, RowGet};
use crate::{
    Alert, AlertQuery, AlertState, AlertStateChange, ApiToken, Asset, AssetQuery, AuditEntry,
    AuditQuery, Dashboard, FindingQuery, LedgerFinding, LoginLink, Millis, NewAlert, NewApiToken,
    NewAuditEntry, NewReport, NewSavedSearch, NewUser, Page, Report, ReportOutcome, Result, Role,
    SavedSearch, Session, Store, StoreError, StoredAlertEvent, User,
};

/// Read connections kept open next to the writer.
const READERS: usize = 4;
/// How long a connection waits for another process holding the database lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const STATEMENT_CACHE: usize = 128;

/// Palisade's embedded store: one SQLite file (plus its `-wal` and `-shm` files), readable only
/// by its owner. Cheap to clone; clones share the connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Arc<Mutex<Connection>>,
    readers: Arc<StdMutex<Vec<Connection>>>,
    reader_slots: Arc<Semaphore>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        match constraint(&e) {
            Some(Constraint::Unique) => StoreError::Conflict("a record with the same key".into()),
            Some(Constraint::ForeignKey) => StoreError::NotFound("a referenced record".into()),
            None => StoreError::Backend(format!("sqlite: {e}")),
        }
    }
}

enum Constraint {
    Unique,
    ForeignKey,
}

fn constraint(e: &rusqlite::Error) -> Option<Constraint> {
    const SQLITE_CONSTRAINT_FOREIGNKEY: i32 = 787;
    const SQLITE_CONSTRAINT_PRIMARYKEY: i32 = 1555;
    const SQLITE_CONSTRAINT_UNIQUE: i32 = 2067;
    match e {
        rusqlite::Error::SqliteFailure(f, _) => match f.extended_code {
            SQLITE_CONSTRAINT_UNIQUE | SQLITE_CONSTRAINT_PRIMARYKEY => Some(Constraint::Unique),
            SQLITE_CONSTRAINT_FOREIGNKEY => Some(Constraint::ForeignKey),
            _ => None,
        },
        _ => None,
    }
}

/// Maps unique violations to `Conflict(what)` and foreign-key violations to
/// `NotFound(missing)`.
fn keyed(e: rusqlite::Error, what: impl FnOnce() -> String, missing: &str) -> StoreError {
    match constraint(&e) {
        Some(Constraint::Unique) => StoreError::Conflict(what()),
        Some(Constraint::ForeignKey) => StoreError::NotFound(missing.to_string()),
        None => e.into(),
    }
}

impl RowGet for rusqlite::Row<'_> {
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.get(i)?)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.get(i)?)
    }
    fn text(&self, i: usize) -> Result<String> {
        Ok(self.get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.get(i)?)
    }
    fn flag(&self, i: usize) -> Result<bool> {
        Ok(self.get(i)?)
    }
    fn strings(&self, i: usize) -> Result<Vec<String>> {
        let s: String = self.get(i)?;
        serde_json::from_str(&s)
            .map_err(|_| StoreError::Backend("report scanners are not a JSON list".into()))
    }
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Arg::Int(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
            Arg::Text(s) => ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(s.as_bytes())),
        })
    }
}

/// Runs `f` over every row of a prepared query, collecting its results.
fn collect<T>(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
    f: impl Fn(&rusqlite::Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(args)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(f(row)?);
    }
    Ok(out)
}

fn first<T>(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
    f: impl Fn(&rusqlite::Row<'_>) -> Result<T>,
) -> Result<Option<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(args)?;
    match rows.next()? {
        Some(row) => Ok(Some(f(row)?)),
        None => Ok(None),
    }
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

fn open_writer(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    configure(&conn)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "sqlite: {} could not be put in WAL mode (journal mode is {mode})",
            path.display()
        )));
    }
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
    )?;
    Ok(conn)
}

fn open_reader(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    configure(&conn)?;
    conn.execute_batch("PRAGMA query_only = ON; PRAGMA foreign_keys = ON;")?;
    Ok(conn)
}

/// Creates the parent directory (0700) and the database file (0600) when missing, and takes
/// group and world access away from an existing file.
fn prepare_file(path: &Path) -> Result<()> {
    let io = |what: &str, e: std::io::Error| {
        StoreError::Backend(format!("{what} {}: {e}", path.display()))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)
            .map_err(|e| io("cannot create the directory of", e))?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let file = o.open(path).map_err(|e| io("cannot open", e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = file.metadata().map_err(|e| io("cannot inspect", e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| io("cannot restrict the permissions of", e))?;
        }
    }
    drop(file);
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let migrations = common::SQLITE_MIGRATIONS;
    let known = common::known_version(migrations);
    // IMMEDIATE takes the write lock first, so two processes opening the file at once migrate
    // one after the other.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             name       TEXT    NOT NULL,
             applied_at INTEGER NOT NULL
         ) STRICT",
    )?;
    let found: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for m in migrations.iter().filter(|m| m.version > found) {
        tx.execute_batch(m.sql).map_err(|e| {
            StoreError::Backend(format!("sqlite: migration {} ({}): {e}", m.version, m.name))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, common::now_millis()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

fn join_error(e: tokio::task::JoinError) -> StoreError {
    StoreError::Backend(format!("sqlite: the database task failed: {e}"))
}

impl SqliteStore {
    /// Opens (creating when missing) the database at `path` and applies pending migrations.
    ///
    /// The parent directory is created (mode 0700) and the file is made readable by its owner
    /// only (0600); SQLite gives the `-wal` and `-shm` files the same mode. Fails with
    /// [`StoreError::SchemaTooNew`] when a newer Palisade has migrated the file.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        let path = path.to_path_buf();
        let p = path.clone();
        let (writer, readers) = tokio::task::spawn_blocking(move || -> Result<_> {
            prepare_file(&p)?;
            let mut writer = open_writer(&p)?;
            migrate(&mut writer)?;
            let readers = (0..READERS)
                .map(|_| open_reader(&p))
                .collect::<Result<Vec<_>>>()?;
            Ok((writer, readers))
        })
        .await
        .map_err(join_error)??;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer: Arc::new(Mutex::new(writer)),
                readers: Arc::new(StdMutex::new(readers)),
                reader_slots: Arc::new(Semaphore::new(READERS)),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on the writer connection, on the blocking pool. The writer is taken before the
    /// task starts, so waiting for it does not hold a blocking thread; a dropped caller does not
    /// cut the task short (the transaction completes or rolls back as a whole).
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let mut guard = self.inner.writer.clone().lock_owned().await;
        tokio::task::spawn_blocking(move || f(&mut guard))
            .await
            .map_err(join_error)?
    }

    /// Runs `f` on a read connection, on the blocking pool.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let permit = self
            .inner
            .reader_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Backend("sqlite: the store is closed".into()))?;
        let readers = self.inner.readers.clone();
        let path = self.inner.path.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let taken = readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
            // A connection lost to a panic is replaced here.
            let conn = match taken {
                Some(c) => c,
                None => open_reader(&path)?,
            };
            let out = f(&conn);
            readers.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
            out
        })
        .await
        .map_err(join_error)?
    }

    /// Runs `f` in one read transaction, so the statements in it see the same snapshot.
    async fn read_tx<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.read(move |conn| {
            let tx = conn.unchecked_transaction()?;
            let out = f(&tx)?;
            tx.finish()?;
            Ok(out)
        })
        .await
    }
}

fn user_by(conn: &Connection, sql: &str, arg: impl rusqlite::ToSql) -> Result<Option<User>> {
    first(conn, sql, [arg], |r| common::user_at(r, 0))
}

fn user_by_id(conn: &Connection, id: i64) -> Result<Option<User>> {
    let sql = format!("SELECT {} FROM users WHERE id = ?1", common::USER_COLS);
    user_by(conn, &sql, id)
}

fn updated(n: usize, what: impl FnOnce() -> String) -> Result<()> {
    if n == 0 {
        Err(StoreError::NotFound(what()))
    } else {
        Ok(())
    }
}

fn append_audit(conn: &mut Connection, entry: NewAuditEntry) -> Result<AuditEntry> {
    let details = entry.details.to_string();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let prev: String = tx
        .prepare_cached("SELECT hash FROM audit_head WHERE id = 1")?
        .query_row([], |r| r.get(0))?;
    let hash = crate::audit_hash(&prev, &entry);
    let id: i64 = tx
        .prepare_cached(
            "INSERT INTO audit_log (at, actor, actor_user_id, action, target, outcome, ip,
                 user_agent, details, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
        )?
        .query_row(
            params![
                entry.at,
                entry.actor,
                entry.actor_user_id,
                entry.action,
                entry.target,
                entry.outcome,
                entry.ip,
                entry.user_agent,
                details,
                prev,
                hash
            ],
            |r| r.get(0),
        )?;
    tx.prepare_cached("UPDATE audit_head SET last_id = ?1, hash = ?2 WHERE id = 1")?
        .execute(params![id, hash])?;
    tx.commit()?;
    Ok(AuditEntry {
        id,
        at: entry.at,
        actor: entry.actor,
        actor_user_id: entry.actor_user_id,
        action: entry.action,
        target: entry.target,
        outcome: entry.outcome,
        ip: entry.ip,
        user_agent: entry.user_agent,
        details: entry.details,
        prev_hash: prev,
        hash,
    })
}

fn verify_chain(conn: &Connection) -> Result<Option<i64>> {
    let (head_id, head_hash): (i64, String) = conn.query_row(
        "SELECT last_id, hash FROM audit_head WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let sql = format!("SELECT {} FROM audit_log ORDER BY id", common::AUDIT_COLS);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut check = common::ChainCheck::new();
    while let Some(row) = rows.next()? {
        check.feed(&common::audit_at(row, 0)?);
        if check.broken.is_some() {
            break;
        }
    }
    Ok(check.finish(head_id, &head_hash))
}

fn apply_report(conn: &mut Connection, p: PreparedReport) -> Result<ReportOutcome> {
    let r = &p.report;
    let at = r.received_at;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;

    let asset_id: i64 = tx
        .prepare_cached(
            "INSERT INTO assets (kind, key, name, search, first_seen, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, name = excluded.name,
                 search = excluded.search, last_seen = excluded.last_seen
             RETURNING id",
        )?
        .query_row(
            params![
                r.asset_kind.as_str(),
                r.asset_key,
                r.asset_name,
                p.asset_search,
                at
            ],
            |row| row.get(0),
        )?;
    let scanners = serde_json::to_string(&p.scanners)
        .map_err(|e| StoreError::Backend(format!("cannot encode scanners: {e}")))?;
    let report_id: i64 = tx
        .prepare_cached(
            "INSERT INTO reports (asset_id, received_at, format, scanners, uploaded_by, size,
                 finding_count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        )?
        .query_row(
            params![
                asset_id,
                at,
                r.format,
                scanners,
                r.uploaded_by,
                r.size,
                p.findings.len() as i64
            ],
            |row| row.get(0),
        )?;

    // What the ledger holds for the asset now: fingerprint → open?
    let mut existing: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    {
        let mut stmt =
            tx.prepare_cached("SELECT fingerprint, status FROM findings WHERE asset_id = ?1")?;
        let mut rows = stmt.query([asset_id])?;
        while let Some(row) = rows.next()? {
            let status: String = row.get(1)?;
            existing.insert(row.get(0)?, status == "open");
        }
    }

    let mut out = ReportOutcome {
        report_id,
        asset_id,
        ..ReportOutcome::default()
    };
    {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO findings (asset_id, fingerprint, rule_id, scanner, severity, sev_rank,
                 title, message, location, package, installed_version, fixed_version, search,
                 status, first_seen, last_seen, fixed_at, last_report_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'open', ?14, ?14,
                 NULL, ?15)
             ON CONFLICT (asset_id, fingerprint) DO UPDATE SET
                 rule_id = excluded.rule_id, scanner = excluded.scanner,
                 severity = excluded.severity, sev_rank = excluded.sev_rank,
                 title = excluded.title, message = excluded.message,
                 location = excluded.location, package = excluded.package,
                 installed_version = excluded.installed_version,
                 fixed_version = excluded.fixed_version, search = excluded.search,
                 status = 'open', fixed_at = NULL, last_seen = excluded.last_seen,
                 last_report_id = excluded.last_report_id
             RETURNING id",
        )?;
        let mut raw = tx.prepare_cached(
            "INSERT INTO finding_raw (finding_id, raw) VALUES (?1, ?2)
             ON CONFLICT (finding_id) DO UPDATE SET raw = excluded.raw",
        )?;
        for pf in &p.findings {
            let f = &pf.f;
            match existing.get(&f.fingerprint) {
                None => out.new += 1,
                Some(true) => out.unchanged += 1,
                Some(false) => out.reopened += 1,
            }
            let id: i64 = upsert.query_row(
                params![
                    asset_id,
                    f.fingerprint,
                    f.rule_id,
                    f.scanner,
                    pf.severity,
                    pf.rank,
                    f.title,
                    f.message,
                    f.location,
                    f.package,
                    f.installed_version,
                    f.fixed_version,
                    pf.search,
                    at,
                    report_id
                ],
                |row| row.get(0),
            )?;
            raw.execute(params![id, pf.raw])?;
        }
    }

    // Open findings of the report's scanners that it did not list (every listed one now
    // carries this report's id).
    let fixed = tx
        .prepare_cached(
            "UPDATE findings SET status = 'fixed', fixed_at = ?1
             WHERE asset_id = ?2 AND status = 'open' AND last_report_id <> ?3
               AND scanner IN (SELECT value FROM json_each(?4))",
        )?
        .execute(params![at, asset_id, report_id, scanners])?;
    out.fixed = fixed as i64;

    let counts = common::counts_from_ranks(collect(
        &tx,
        "SELECT sev_rank, COUNT(*) FROM findings WHERE asset_id = ?1 AND status = 'open'
         GROUP BY sev_rank",
        [asset_id],
        |row| Ok((row.int(0)?, row.int(1)?)),
    )?);
    tx.prepare_cached(
        "UPDATE assets SET last_report_id = ?2, open_critical = ?3, open_high = ?4,
             open_medium = ?5, open_low = ?6, open_info = ?7, open_unknown = ?8, risk = ?9
         WHERE id = ?1",
    )?
    .execute(params![
        asset_id,
        report_id,
        counts.critical,
        counts.high,
        counts.medium,
        counts.low,
        counts.info,
        counts.unknown,
        counts.risk()
    ])?;

    tx.prepare_cached(
        "INSERT INTO trend_daily (day, critical, high, medium, low, info, unknown)
         SELECT ?1, COALESCE(SUM(open_critical), 0), COALESCE(SUM(open_high), 0),
             COALESCE(SUM(open_medium), 0), COALESCE(SUM(open_low), 0),
             COALESCE(SUM(open_info), 0), COALESCE(SUM(open_unknown), 0)
         FROM assets WHERE true
         ON CONFLICT (day) DO UPDATE SET critical = excluded.critical, high = excluded.high,
             medium = excluded.medium, low = excluded.low, info = excluded.info,
             unknown = excluded.unknown",
    )?
    .execute([crate::day_of(at)])?;

    if let Some(sbom) = &r.sbom {
        tx.prepare_cached(
            "INSERT INTO asset_sboms (asset_id, report_id, received_at, sbom)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (asset_id) DO UPDATE SET report_id = excluded.report_id,
                 received_at = excluded.received_at, sbom = excluded.sbom",
        )?
        .execute(params![asset_id, report_id, at, sbom])?;
    }
    tx.commit()?;
    Ok(out)
}

fn dashboard(conn: &Connection, now: Millis, days: u32, top: u32) -> Result<Dashboard> {
    let (open, assets) = conn.query_row(
        "SELECT COALESCE(SUM(open_critical), 0), COALESCE(SUM(open_high), 0),
             COALESCE(SUM(open_medium), 0), COALESCE(SUM(open_low), 0),
             COALESCE(SUM(open_info), 0), COALESCE(SUM(open_unknown), 0), COUNT(*)
         FROM assets",
        [],
        |r| {
            Ok((
                crate::SeverityCounts {
                    critical: r.get(0)?,
                    high: r.get(1)?,
                    medium: r.get(2)?,
                    low: r.get(3)?,
                    info: r.get(4)?,
                    unknown: r.get(5)?,
                },
                r.get::<_, i64>(6)?,
            ))
        },
    )?;
    let reports: i64 = conn.query_row("SELECT COUNT(*) FROM reports", [], |r| r.get(0))?;
    let since = common::thirty_days_before(now);
    let fixed_30d: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM findings
             WHERE fixed_at IS NOT NULL AND fixed_at > ?1 AND fixed_at <= ?2",
        )?
        .query_row([since, now], |r| r.get(0))?;
    let new_30d: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM findings WHERE first_seen > ?1 AND first_seen <= ?2")?
        .query_row([since, now], |r| r.get(0))?;

    let trend = match common::trend_window(now, days) {
        None => Vec::new(),
        Some((first_day, last_day)) => {
            let carry = first(
                conn,
                "SELECT day, critical, high, medium, low, info, unknown FROM trend_daily
                 WHERE day < ?1 ORDER BY day DESC LIMIT 1",
                [first_day],
                |r| common::trend_at(r, 0),
            )?
            .map(|(_, c)| c);
            let rows = collect(
                conn,
                "SELECT day, critical, high, medium, low, info, unknown FROM trend_daily
                 WHERE day >= ?1 AND day <= ?2 ORDER BY day",
                [first_day, last_day],
                |r| common::trend_at(r, 0),
            )?;
            common::build_trend(first_day, last_day, carry, &rows)
        }
    };

    let sql = format!(
        "SELECT {} FROM assets WHERE risk > 0 ORDER BY {} LIMIT ?1",
        common::ASSET_COLS,
        common::assets_order(false)
    );
    let riskiest = collect(conn, &sql, [i64::from(top.min(common::MAX_LIMIT))], |r| {
        common::asset_at(r, 0)
    })?;
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

fn alert_by_id(conn: &Connection, id: i64) -> Result<Option<Alert>> {
    let sql = format!("SELECT {} FROM alerts WHERE id = ?1", common::ALERT_COLS);
    first(conn, &sql, [id], |r| common::alert_at(r, 0))
}

/// Adds events to an alert that holds `have` of them, up to the cap.
fn add_alert_events(
    conn: &Connection,
    alert_id: i64,
    have: i64,
    events: &[common::PreparedAlertEvent],
) -> Result<()> {
    let room = usize::try_from(crate::MAX_ALERT_EVENTS as i64 - have).unwrap_or(0);
    let mut seq = have;
    let mut insert = conn.prepare_cached(
        "INSERT INTO alert_events (alert_id, seq, event_id, time_ns, source, event, truncated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for e in events.iter().take(room) {
        insert.execute(params![
            alert_id,
            seq,
            e.event_id,
            e.time_ns,
            e.source,
            e.event,
            e.truncated
        ])?;
        seq += 1;
    }
    if seq != have {
        conn.prepare_cached("UPDATE alerts SET event_count = ?2 WHERE id = ?1")?
            .execute(params![alert_id, seq])?;
    }
    Ok(())
}

fn raise_alert(conn: &mut Connection, p: PreparedAlert, window: i64) -> Result<(Alert, bool)> {
    let window = window.max(0);
    // IMMEDIATE: the write lock first, so the look-up and the write see one state.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let sql = format!(
        "SELECT {} FROM alerts
         WHERE dedup_key = ?1 AND state <> 'closed' AND last_seen >= ?2 AND first_seen <= ?3
         ORDER BY last_seen DESC, id DESC LIMIT 1",
        common::ALERT_COLS
    );
    let open = first(
        &tx,
        &sql,
        params![
            p.dedup_key,
            p.at.saturating_sub(window),
            p.at.saturating_add(window)
        ],
        |r| common::alert_at(r, 0),
    )?;
    let (id, created) = match open {
        Some(a) => {
            tx.prepare_cached(
                "UPDATE alerts SET count = count + 1, first_seen = MIN(first_seen, ?2),
                     last_seen = MAX(last_seen, ?2)
                 WHERE id = ?1",
            )?
            .execute(params![a.id, p.at])?;
            add_alert_events(&tx, a.id, a.event_count, &p.events)?;
            (a.id, false)
        }
        None => {
            let id: i64 = tx
                .prepare_cached(
                    "INSERT INTO alerts (rule_id, rule_title, level, level_rank, tags, entities,
                         dedup_key, correlation, state, count, first_seen, last_seen,
                         event_count, search)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'new', 1, ?9, ?9, 0, ?10)
                     RETURNING id",
                )?
                .query_row(
                    params![
                        p.rule_id,
                        p.rule_title,
                        p.level.as_str(),
                        p.level.rank(),
                        p.tags,
                        p.entities,
                        p.dedup_key,
                        p.correlation,
                        p.at,
                        p.search
                    ],
                    |r| r.get(0),
                )?;
            add_alert_events(&tx, id, 0, &p.events)?;
            (id, true)
        }
    };
    let alert = alert_by_id(&tx, id)?
        .ok_or_else(|| StoreError::Backend(format!("alert {id} vanished while raised")))?;
    tx.commit()?;
    Ok((alert, created))
}

fn set_alert_state(
    conn: &mut Connection,
    id: i64,
    change: AlertStateChange,
    reason: Option<String>,
) -> Result<(Alert, AlertState)> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let before =
        alert_by_id(&tx, id)?.ok_or_else(|| StoreError::NotFound(format!("alert {id}")))?;
    tx.prepare_cached(
        "UPDATE alerts SET state = ?2, state_reason = ?3, state_by = ?4, state_at = ?5
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        change.state.as_str(),
        reason,
        change.by,
        change.at
    ])?;
    let after = alert_by_id(&tx, id)?
        .ok_or_else(|| StoreError::Backend(format!("alert {id} vanished while updated")))?;
    tx.commit()?;
    Ok((after, before.state))
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<()> {
        self.read(|c| {
            Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map(|_| ())?)
        })
        .await
    }

    async fn create_user(&self, user: NewUser, at: Millis) -> Result<User> {
        let username = common::normalize_username(&user.username)?;
        common::check_text("display name", &user.display_name)?;
        common::check_opt("password hash", user.password_hash.as_deref())?;
        common::check_opt("OIDC subject", user.oidc_subject.as_deref())?;
        self.write(move |c| {
            let id: i64 = c
                .prepare_cached(
                    "INSERT INTO users (username, display_name, role, password_hash,
                         oidc_subject, disabled, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6) RETURNING id",
                )?
                .query_row(
                    params![
                        username,
                        user.display_name,
                        user.role.as_str(),
                        user.password_hash,
                        user.oidc_subject,
                        at
                    ],
                    |r| r.get(0),
                )
                .map_err(|e| keyed(e, || format!("user {username:?}"), "user"))?;
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
        })
        .await
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        self.read(move |c| user_by_id(c, id)).await
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let Ok(username) = common::normalize_username(username) else {
            return Ok(None);
        };
        self.read(move |c| {
            let sql = format!(
                "SELECT {} FROM users WHERE username = ?1",
                common::USER_COLS
            );
            user_by(c, &sql, username)
        })
        .await
    }

    async fn user_by_oidc_subject(&self, subject: &str) -> Result<Option<User>> {
        let subject = subject.to_string();
        self.read(move |c| {
            let sql = format!(
                "SELECT {} FROM users WHERE oidc_subject = ?1",
                common::USER_COLS
            );
            user_by(c, &sql, subject)
        })
        .await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        self.read(|c| {
            let sql = format!("SELECT {} FROM users ORDER BY id", common::USER_COLS);
            collect(c, &sql, [], |r| common::user_at(r, 0))
        })
        .await
    }

    async fn count_users(&self) -> Result<i64> {
        self.read(|c| Ok(c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?))
            .await
    }

    async fn set_user_role(&self, id: i64, role: Role) -> Result<()> {
        self.write(move |c| {
            let n = c
                .prepare_cached("UPDATE users SET role = ?2 WHERE id = ?1")?
                .execute(params![id, role.as_str()])?;
            updated(n, || format!("user {id}"))
        })
        .await
    }

    async fn set_user_disabled(&self, id: i64, disabled: bool) -> Result<()> {
        self.write(move |c| {
            let n = c
                .prepare_cached("UPDATE users SET disabled = ?2 WHERE id = ?1")?
                .execute(params![id, disabled])?;
            updated(n, || format!("user {id}"))
        })
        .await
    }

    async fn set_user_password(&self, id: i64, password_hash: &str) -> Result<()> {
        common::check_text("password hash", password_hash)?;
        let hash = password_hash.to_string();
        self.write(move |c| {
            let n = c
                .prepare_cached("UPDATE users SET password_hash = ?2 WHERE id = ?1")?
                .execute(params![id, hash])?;
            updated(n, || format!("user {id}"))
        })
        .await
    }

    async fn touch_user_login(&self, id: i64, at: Millis) -> Result<()> {
        self.write(move |c| {
            let n = c
                .prepare_cached("UPDATE users SET last_login_at = ?2 WHERE id = ?1")?
                .execute(params![id, at])?;
            updated(n, || format!("user {id}"))
        })
        .await
    }

    async fn create_session(&self, s: Session) -> Result<()> {
        common::check_text("session id", &s.id_hash)?;
        common::check_text("CSRF token", &s.csrf_token)?;
        common::check_opt("ip", s.ip.as_deref())?;
        common::check_opt("user agent", s.user_agent.as_deref())?;
        self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at, ip,
                     user_agent)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                s.id_hash,
                s.user_id,
                s.csrf_token,
                s.created_at,
                s.expires_at,
                s.ip,
                s.user_agent
            ])
            .map_err(|e| keyed(e, || "session".into(), &format!("user {}", s.user_id)))?;
            Ok(())
        })
        .await
    }

    async fn session(&self, id_hash: &str, now: Millis) -> Result<Option<(Session, User)>> {
        let id_hash = id_hash.to_string();
        self.read(move |c| {
            let sql = format!(
                "SELECT {}, {} FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.id_hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0",
                common::SESSION_COLS_S,
                common::USER_COLS_U
            );
            first(c, &sql, params![id_hash, now], |r| {
                Ok((common::session_at(r, 0)?, common::user_at(r, 7)?))
            })
        })
        .await
    }

    async fn delete_session(&self, id_hash: &str) -> Result<()> {
        let id_hash = id_hash.to_string();
        self.write(move |c| {
            c.prepare_cached("DELETE FROM sessions WHERE id_hash = ?1")?
                .execute([id_hash])?;
            Ok(())
        })
        .await
    }

    async fn delete_user_sessions(&self, user_id: i64) -> Result<()> {
        self.write(move |c| {
            c.prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
                .execute([user_id])?;
            Ok(())
        })
        .await
    }

    async fn purge_expired(&self, now: Millis) -> Result<u64> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let a = tx
                .prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1")?
                .execute([now])?;
            let b = tx
                .prepare_cached("DELETE FROM login_links WHERE expires_at <= ?1")?
                .execute([now])?;
            tx.commit()?;
            Ok((a + b) as u64)
        })
        .await
    }

    async fn create_login_link(&self, link: LoginLink) -> Result<()> {
        common::check_text("login link", &link.secret_hash)?;
        self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO login_links (secret_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![link.secret_hash, link.user_id, link.expires_at])
            .map_err(|e| keyed(e, || "login link".into(), &format!("user {}", link.user_id)))?;
            Ok(())
        })
        .await
    }

    async fn take_login_link(&self, secret_hash: &str, now: Millis) -> Result<Option<i64>> {
        let secret_hash = secret_hash.to_string();
        self.write(move |c| {
            Ok(c.prepare_cached(
                "DELETE FROM login_links WHERE secret_hash = ?1 AND expires_at > ?2
                 RETURNING user_id",
            )?
            .query_row(params![secret_hash, now], |r| r.get(0))
            .optional()?)
        })
        .await
    }

    async fn create_token(&self, t: NewApiToken, at: Millis) -> Result<ApiToken> {
        common::check_text("token name", &t.name)?;
        common::check_text("token hash", &t.secret_hash)?;
        common::check_text("token prefix", &t.prefix)?;
        self.write(move |c| {
            let id: i64 = c
                .prepare_cached(
                    "INSERT INTO api_tokens (user_id, name, secret_hash, prefix, scope,
                         created_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                )?
                .query_row(
                    params![
                        t.user_id,
                        t.name,
                        t.secret_hash,
                        t.prefix,
                        t.scope.as_str(),
                        at,
                        t.expires_at
                    ],
                    |r| r.get(0),
                )
                .map_err(|e| keyed(e, || "token".into(), &format!("user {}", t.user_id)))?;
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
        })
        .await
    }

    async fn token_by_hash(
        &self,
        secret_hash: &str,
        now: Millis,
    ) -> Result<Option<(ApiToken, User)>> {
        let secret_hash = secret_hash.to_string();
        self.write(move |c| {
            let tx = c.transaction()?;
            let sql = format!(
                "UPDATE api_tokens SET last_used_at = ?2
                 WHERE secret_hash = ?1 AND revoked_at IS NULL
                   AND (expires_at IS NULL OR expires_at > ?2)
                   AND user_id IN (SELECT id FROM users WHERE disabled = 0)
                 RETURNING {}",
                common::TOKEN_COLS
            );
            let token = first(&tx, &sql, params![secret_hash, now], |r| {
                common::token_at(r, 0)
            })?;
            let out = match token {
                None => None,
                Some(t) => user_by_id(&tx, t.user_id)?.map(|u| (t, u)),
            };
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn list_tokens(&self, user_id: Option<i64>) -> Result<Vec<ApiToken>> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {} FROM api_tokens WHERE ?1 IS NULL OR user_id = ?1 ORDER BY id",
                common::TOKEN_COLS
            );
            collect(c, &sql, [user_id], |r| common::token_at(r, 0))
        })
        .await
    }

    async fn token_by_id(&self, id: i64) -> Result<Option<ApiToken>> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {} FROM api_tokens WHERE id = ?1",
                common::TOKEN_COLS
            );
            first(c, &sql, [id], |r| common::token_at(r, 0))
        })
        .await
    }

    async fn revoke_token(&self, id: i64, at: Millis) -> Result<()> {
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                )?
                .execute(params![id, at])?;
            updated(n, || format!("token {id}"))
        })
        .await
    }

    async fn create_saved_search(&self, s: NewSavedSearch, at: Millis) -> Result<SavedSearch> {
        common::check_text("search name", &s.name)?;
        common::check_text("search", &s.query)?;
        let id = self
            .write({
                let s = s.clone();
                move |c| {
                    c.prepare_cached(
                        "INSERT INTO saved_searches (user_id, name, query, created_at)
                         VALUES (?1, ?2, ?3, ?4) RETURNING id",
                    )?
                    .query_row(params![s.user_id, s.name, s.query, at], |r| {
                        r.get::<_, i64>(0)
                    })
                    .map_err(|e| {
                        keyed(
                            e,
                            || format!("a saved search named {:?}", s.name),
                            &format!("user {}", s.user_id),
                        )
                    })
                }
            })
            .await?;
        self.saved_search(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("saved search {id}")))
    }

    async fn list_saved_searches(&self) -> Result<Vec<SavedSearch>> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {} FROM {} ORDER BY s.name, s.id",
                common::SAVED_SEARCH_COLS,
                common::SAVED_SEARCH_FROM
            );
            collect(c, &sql, [], |r| common::saved_search_at(r, 0))
        })
        .await
    }

    async fn saved_search(&self, id: i64) -> Result<Option<SavedSearch>> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {} FROM {} WHERE s.id = ?1",
                common::SAVED_SEARCH_COLS,
                common::SAVED_SEARCH_FROM
            );
            first(c, &sql, [id], |r| common::saved_search_at(r, 0))
        })
        .await
    }

    async fn delete_saved_search(&self, id: i64) -> Result<()> {
        self.write(move |c| {
            let n = c
                .prepare_cached("DELETE FROM saved_searches WHERE id = ?1")?
                .execute([id])?;
            updated(n, || format!("saved search {id}"))
        })
        .await
    }

    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry> {
        let entry = common::sanitize_audit(entry);
        self.write(move |c| append_audit(c, entry)).await
    }

    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let mut f = common::audit_filter(query, Dialect::Sqlite);
        let limit = f.arg(Arg::Int(common::page_limit(query.limit)));
        let sql = format!(
            "SELECT {} FROM audit_log{} ORDER BY id DESC LIMIT {limit}",
            common::AUDIT_COLS,
            f.where_sql()
        );
        let args = f.args;
        self.read(move |c| {
            collect(c, &sql, rusqlite::params_from_iter(args.iter()), |r| {
                common::audit_at(r, 0)
            })
        })
        .await
    }

    async fn verify_audit_chain(&self) -> Result<Option<i64>> {
        self.read_tx(verify_chain).await
    }

    async fn apply_report(&self, report: NewReport) -> Result<ReportOutcome> {
        // Checking and deduplicating 100k findings is real work: do it before taking the writer.
        let prepared = tokio::task::spawn_blocking(move || common::prepare_report(report))
            .await
            .map_err(join_error)??;
        self.write(move |c| apply_report(c, prepared)).await
    }

    async fn asset(&self, id: i64) -> Result<Option<Asset>> {
        self.read(move |c| {
            let sql = format!("SELECT {} FROM assets WHERE id = ?1", common::ASSET_COLS);
            first(c, &sql, [id], |r| common::asset_at(r, 0))
        })
        .await
    }

    async fn list_assets(&self, query: &AssetQuery) -> Result<Page<Asset>> {
        let common::PageQuery {
            sql,
            args: page_args,
            count_sql,
            count_args,
        } = common::assets_filter(query, Dialect::Sqlite).page(
            "assets",
            common::ASSET_COLS,
            common::assets_order(query.by_last_seen),
            query.limit,
            query.offset,
        );
        let args = page_args;
        self.read_tx(move |c| {
            let items = collect(c, &sql, rusqlite::params_from_iter(args.iter()), |r| {
                common::asset_at(r, 0)
            })?;
            let total: i64 = c
                .prepare_cached(&count_sql)?
                .query_row(rusqlite::params_from_iter(count_args.iter()), |r| r.get(0))?;
            Ok(Page { items, total })
        })
        .await
    }

    async fn asset_reports(&self, asset_id: i64, limit: u32) -> Result<Vec<Report>> {
        let limit = common::page_limit(limit);
        self.read(move |c| {
            let sql = format!(
                "SELECT {} FROM reports WHERE asset_id = ?1 ORDER BY id DESC LIMIT ?2",
                common::REPORT_COLS
            );
            collect(c, &sql, [asset_id, limit], |r| common::report_at(r, 0))
        })
        .await
    }

    async fn asset_sbom(&self, asset_id: i64) -> Result<Option<String>> {
        self.read(move |c| {
            first(
                c,
                "SELECT sbom FROM asset_sboms WHERE asset_id = ?1",
                [asset_id],
                |r| r.text(0),
            )
        })
        .await
    }

    async fn finding(&self, id: i64) -> Result<Option<(LedgerFinding, serde_json::Value)>> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {}, r.raw FROM findings f LEFT JOIN finding_raw r ON r.finding_id = f.id
                 WHERE f.id = ?1",
                common::FINDING_COLS
                    .split(", ")
                    .map(|c| format!("f.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            first(c, &sql, [id], |r| {
                let raw = match r.opt_text(17)? {
                    None => serde_json::Value::Null,
                    Some(s) => serde_json::from_str(&s)
                        .map_err(|_| StoreError::Backend("a stored finding is not JSON".into()))?,
                };
                Ok((common::finding_at(r, 0)?, raw))
            })
        })
        .await
    }

    async fn list_findings(&self, query: &FindingQuery) -> Result<Page<LedgerFinding>> {
        let common::PageQuery {
            sql,
            args: page_args,
            count_sql,
            count_args,
        } = common::findings_filter(query, Dialect::Sqlite).page(
            "findings",
            common::FINDING_COLS,
            common::findings_order(query.sort),
            query.limit,
            query.offset,
        );
        let args = page_args;
        self.read_tx(move |c| {
            let items = collect(c, &sql, rusqlite::params_from_iter(args.iter()), |r| {
                common::finding_at(r, 0)
            })?;
            let total: i64 = c
                .prepare_cached(&count_sql)?
                .query_row(rusqlite::params_from_iter(count_args.iter()), |r| r.get(0))?;
            Ok(Page { items, total })
        })
        .await
    }

    async fn dashboard(&self, now: Millis, days: u32, top: u32) -> Result<Dashboard> {
        self.read_tx(move |c| dashboard(c, now, days, top)).await
    }

    async fn raise_alert(&self, alert: NewAlert, dedup_window_ms: i64) -> Result<(Alert, bool)> {
        let prepared = common::prepare_alert(alert)?;
        self.write(move |c| raise_alert(c, prepared, dedup_window_ms))
            .await
    }

    async fn list_alerts(&self, query: &AlertQuery) -> Result<Page<Alert>> {
        let common::PageQuery {
            sql,
            args: page_args,
            count_sql,
            count_args,
        } = common::alerts_filter(query, Dialect::Sqlite).page(
            "alerts",
            common::ALERT_COLS,
            common::ALERTS_ORDER,
            query.limit,
            query.offset,
        );
        let args = page_args;
        self.read_tx(move |c| {
            let items = collect(c, &sql, rusqlite::params_from_iter(args.iter()), |r| {
                common::alert_at(r, 0)
            })?;
            let total: i64 = c
                .prepare_cached(&count_sql)?
                .query_row(rusqlite::params_from_iter(count_args.iter()), |r| r.get(0))?;
            Ok(Page { items, total })
        })
        .await
    }

    async fn alert(&self, id: i64) -> Result<Option<(Alert, Vec<StoredAlertEvent>)>> {
        self.read_tx(move |c| {
            let Some(alert) = alert_by_id(c, id)? else {
                return Ok(None);
            };
            let sql = format!(
                "SELECT {} FROM alert_events WHERE alert_id = ?1 ORDER BY seq",
                common::ALERT_EVENT_COLS
            );
            let events = collect(c, &sql, [id], |r| common::alert_event_at(r, 0))?;
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
        self.write(move |c| set_alert_state(c, id, change, reason))
            .await
    }
}
