//! The SQLite backend: one file in WAL mode, one table per UTC day.
//!
//! # Threads
//!
//! A dedicated writer thread owns the only write connection. [`SqliteEvents::append`] sends its
//! batch over a bounded channel (backpressure: at most [`QUEUE`] batches wait) and awaits the
//! reply; the writer takes every batch already queued (up to [`GROUP_EVENTS`] events), writes
//! them in one transaction with prepared statements, commits, and answers each sender. Searches
//! run on tokio's blocking pool over up to [`READERS`] read-only connections; each reads in one
//! read transaction (a consistent snapshot, even while retention drops tables).
//!
//! # Schema
//!
//! `event_partitions(day, name, events, bytes, min_time, max_time)` lists the day tables;
//! `events_YYYYMMDD` holds a day's events (`id INTEGER PRIMARY KEY`, the normalised fields as
//! columns, `raw`, `fields` as JSON text, NULL when it is exactly `raw` parsed — see
//! `super::same_as_raw` — so a JSON source's event is stored once; every reader reads
//! `coalesce(fields, raw)`; day tables from schema version 1 have `fields NOT NULL` and get
//! `raw`'s text there, `event_partitions.layout` says which) with an index on `time`.
//!
//! An exact `user:`/`host:`/`source_ip:` value is found without reading the whole day through
//! `events_YYYYMMDD_keys(block, bloom)` (layout 3, `super::keys`): a Bloom filter over those
//! three columns per 1,024 row ids, written in the rows' transaction. A search reads the day's
//! filters and then only the id ranges of the blocks that may hold the value. Day tables of
//! layout 2 have B-tree indexes `(user|host|source_ip COLLATE NOCASE, time)` instead; those
//! cost about 45% of ingest at 1M events (`docs/decisions/0006-lookup-filters.md`).
//!
//! `events_YYYYMMDD_minutes(minute, events)` (layout 4) counts the day's events per minute,
//! updated in the rows' transaction and by retention. A histogram of every event adds up
//! minutes and counts rows only for the minutes that straddle a bucket edge: at 10M events it
//! read every row (3.3 s) before.
//!
//! `events_YYYYMMDD_terms(term, ids)` (layout 5, `super::terms`) holds, per commit and per value
//! of a few JSON paths with few distinct values (`verb`, `objectRef.resource`,
//! `responseStatus.code`, CloudTrail's `eventName`, …), the ids and times of the events holding
//! it. A search made of exact values on those paths (with AND and OR) counts, draws its
//! histogram and finds its page from them, reading only the page's rows: at 10M events
//! `verb:delete objectRef.resource:secrets` counts in 40 ms instead of 2.8 s. A day whose
//! postings cannot answer exactly (a value with no term, or an earlier retention cut than the
//! last) is read from its rows.
//!
//! The database uses `auto_vacuum = INCREMENTAL`, so retention gives dropped days' pages back to
//! the file system.
//!
//! # Query translation
//!
//! - normalised names: `column LIKE ?` (`*` → `%`; `%`, `_` and `\` escaped with
//!   `ESCAPE '\'`); `time`/`received` through `palisade_rfc3339()`, a Rust function registered
//!   on each read connection that formats as `Query::matches` does.
//! - JSON paths: nested `json_each` over the path, one step per key; at every step an array is
//!   searched through (its elements are taken) and objects are descended into. Each key is a
//!   bound JSON path (`$."key"`); a key containing `"` cannot be written as a SQLite JSON path
//!   and never matches. Each reading of a dotted path (`a.b` as `a`→`b` or as the key `a.b`) is
//!   one alternative. Cheap pre-tests run first: `instr(fields, '"key"')` for every key and,
//!   when JSON would not escape the value, `fields LIKE '%value%'`, so most non-matching
//!   events are ruled out without parsing their JSON.
//! - case: SQLite's LIKE folds ASCII only; a pattern with non-ASCII characters is lowercased in
//!   Rust and compared with `palisade_lower(text)` (Rust's Unicode lowercase), as
//!   `Query::matches` does.
//! - full text: `raw LIKE '%…%'`, a scan of the day tables in range. An FTS5 trigram index was
//!   not adopted: it is an extra index of every byte of `raw` on the write path, and ingest
//!   throughput is the binding constraint on two cores (measured in the notes without it).
//! - reads use `mmap_size` = 2 GiB: a table scan then reads pages in place instead of copying
//!   each one (3× faster column scans, measured); the mapped pages are the OS page cache and
//!   count in RSS while resident.
//!
//! # Ingest
//!
//! 16 KiB pages (a 1.5 KB event fits several to a page; 8% faster than 4 KiB, measured), one
//! index (`time`), statements prepared once per day table, and a separate checkpointer thread
//! (WAL → database on its own connection: every 250 ms when idle, every 10 ms while the writer
//! keeps adding frames) so the writer thread mostly only writes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::keys::{self, Narrow, Need};
use super::sql::{self, Col, Leaves, Param, Pattern, SELECT_COLUMNS};
use super::terms::{self, Plan};
use super::{
    COUNT_CAP, Cursor, DAY, EventStoreError, Hit, Order, Partition, Result, RetentionReport, Row,
    Search, SearchResult, day_of, partition_name,
};
use crate::event::{Event, Nanos};
use crate::query::Query;

/// A commit's postings: the `(id, time)` of each event holding a term, per day and term.
type Postings<'a> = HashMap<(i64, &'a str), Vec<terms::Posting>>;

/// Batches waiting for the writer.
pub const QUEUE: usize = 64;
/// Events the writer commits in one transaction at most (several batches, when queued).
pub const GROUP_EVENTS: usize = 50_000;
/// Read connections.
pub const READERS: usize = 4;
/// The longest one search or histogram may read.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the checkpointer runs.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// How often it runs while the writer keeps adding frames.
const CHECKPOINT_BUSY: Duration = Duration::from_millis(10);
/// WAL pages after which the writer checkpoints itself (SQLite's `wal_autocheckpoint`): 256
/// MiB at 16 KiB pages, a backstop for a checkpointer that falls behind. At 4,096 pages the
/// WAL reached the mark during sustained ingest although the checkpointer was keeping up, and
/// the writer then spent 41% of its time copying frames and syncing the database itself
/// (perf, 300k events): 60k events/s at 1M events, 94k with this mark. The WAL peaked at
/// 134 MB in that run.
const WRITER_CHECKPOINT_PAGES: u32 = 16_384;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const STATEMENT_CACHE: usize = 256;
/// Schema versions this binary knows (migrations are in [`MIGRATIONS`]).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "event partitions",
        "CREATE TABLE event_partitions (
             day      INTEGER PRIMARY KEY,
             name     TEXT    NOT NULL,
             events   INTEGER NOT NULL DEFAULT 0,
             bytes    INTEGER NOT NULL DEFAULT 0,
             min_time INTEGER,
             max_time INTEGER
         );",
    ),
    // Day tables created from version 2 on store NULL in `fields` when it is `raw` parsed
    // (layout 2); older ones have `fields NOT NULL` (layout 1) and get `raw`'s text there.
    (
        2,
        "fields may be null",
        "ALTER TABLE event_partitions ADD COLUMN layout INTEGER NOT NULL DEFAULT 1;",
    ),
    // Day tables created from version 3 on (layout 3) keep lookup filters that every writer
    // must update: the version makes older binaries, which would append rows without them,
    // refuse the file instead.
    (
        3,
        "lookup filters",
        "UPDATE event_partitions SET layout = layout WHERE 0;",
    ),
    // Day tables created from version 4 on (layout 4) keep a count of events per minute that
    // every writer must update, for the same reason.
    (
        4,
        "minute counts",
        "UPDATE event_partitions SET layout = layout WHERE 0;",
    ),
    // Day tables created from version 5 on (layout 5) keep postings of common JSON values
    // (`super::terms`) that every writer must add to, for the paths listed in `terms_paths`
    // when the day was made (a binary with another list reads postings only for paths in both,
    // and writing to such a day clears `terms_ok`). Retention trims a day's rows but not its
    // postings: it notes the cut (`terms_cut`, and the highest row id when it cut,
    // `terms_cut_id`), and readers skip postings of rows it deleted. A cut that cannot be said
    // that way clears `terms_ok`, and the day is then read from its rows.
    (
        5,
        "term postings",
        "ALTER TABLE event_partitions ADD COLUMN terms_cut INTEGER;
         ALTER TABLE event_partitions ADD COLUMN terms_cut_id INTEGER;
         ALTER TABLE event_partitions ADD COLUMN terms_ok INTEGER NOT NULL DEFAULT 1;
         ALTER TABLE event_partitions ADD COLUMN terms_paths TEXT;",
    ),
];
/// The day table layout this binary creates: 5 keeps postings of common JSON values
/// (`{day}_terms`, see `super::terms`), so that counting events by them need not read every
/// event.
const LAYOUT: i64 = 5;
/// The first layout with lookup filters per block of rows (`super::keys`), in place of layout
/// 2's `(user|host|source_ip, time)` B-tree indexes.
const FILTERED: i64 = 3;
/// The first layout with a count of events per minute.
const MINUTE_COUNTS: i64 = 4;
/// The first layout with postings of common JSON values.
const TERMS: i64 = 5;
/// Nanoseconds in a minute.
const MINUTE: Nanos = 60_000_000_000;
/// The first layout whose `fields` may be NULL.
const NULLABLE_FIELDS: i64 = 2;
/// `fields`' JSON text in a day table row: `raw` when `fields` is NULL.
const FIELDS: &str = "coalesce(fields, raw)";

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// WAL + `synchronous = NORMAL`: durable across process crashes; the last commits may be
    /// lost on power loss.
    Normal,
    /// WAL + `synchronous = FULL`: the WAL is fsynced at every commit.
    Full,
}

impl From<rusqlite::Error> for EventStoreError {
    fn from(e: rusqlite::Error) -> EventStoreError {
        EventStoreError::Backend(format!("sqlite: {e}"))
    }
}

type Job = Box<dyn FnOnce(&mut Writer) + Send>;

enum Msg {
    /// Rows to commit; the reply hands them back, so that the appending task frees what it
    /// allocated (freeing on the writer thread cost the writer, the store's one serial part,
    /// mimalloc's cross-thread frees).
    /// The reply's ids are the rows' row ids, in order.
    Append(Vec<Row>, oneshot::Sender<(Result<Vec<i64>>, Vec<Row>)>),
    Run(Job),
}

/// The SQLite event store. Cheap to clone.
#[derive(Clone)]
pub struct SqliteEvents {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    tx: mpsc::Sender<Msg>,
    /// Dropped with the store: stops the checkpointer.
    _checkpointer: std::sync::mpsc::Sender<()>,
    readers: StdMutex<Vec<Connection>>,
    reader_slots: Semaphore,
}

/// The writer thread's connection and what it knows.
pub(crate) struct Writer {
    conn: Connection,
    /// Days whose table exists, and its layout.
    days: HashMap<i64, i64>,
    /// Days of layout 5 whose postings cover another list of paths than this binary's.
    foreign_terms: std::collections::HashSet<i64>,
    /// Per day table of layout 3, the block being filled and its filter (as stored, plus the
    /// rows written since).
    blooms: HashMap<i64, Filling>,
    /// `PRAGMA data_version` when this writer's last transaction began: it changes when
    /// another connection (another process, or another store on the same file) commits, and
    /// then what is cached above may be stale.
    data_version: i64,
}

/// The block of a day table being filled, and its filter.
struct Filling {
    block: i64,
    bloom: keys::Bloom,
    /// Keys were added since it was last saved.
    dirty: bool,
}

fn open_conn(path: &Path, write: bool) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if write {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

fn prepare_dir(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir).map_err(|e| {
            EventStoreError::Backend(format!("cannot create {}: {e}", dir.display()))
        })?;
    }
    Ok(())
}

fn open_writer(path: &Path, sync: Synchronous) -> Result<Writer> {
    prepare_dir(path)?;
    let conn = open_conn(path, true)?;
    // Only takes effect on a new database (before the first table).
    conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL; PRAGMA page_size = 16384;")?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(EventStoreError::Backend(format!(
            "sqlite: {} could not be put in WAL mode (journal mode is {mode})",
            path.display()
        )));
    }
    let sync = match sync {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {sync}; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;
         PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES};"
    ))?;
    migrate(&conn)?;
    let mut w = Writer {
        conn,
        days: HashMap::new(),
        foreign_terms: Default::default(),
        blooms: HashMap::new(),
        data_version: 0,
    };
    w.load_days()?;
    Ok(w)
}

fn migrate(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         CREATE TABLE IF NOT EXISTS event_schema_migrations (
             version    INTEGER PRIMARY KEY,
             name       TEXT    NOT NULL,
             applied_at INTEGER NOT NULL
         );",
    )?;
    let run = || -> Result<()> {
        let found: i64 = conn.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM event_schema_migrations",
            [],
            |r| r.get(0),
        )?;
        let known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        if found > known {
            return Err(EventStoreError::SchemaTooNew { found, known });
        }
        for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
            conn.execute_batch(sql).map_err(|e| {
                EventStoreError::Backend(format!("migration {version} ({name}): {e}"))
            })?;
            conn.execute(
                "INSERT INTO event_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                params![version, name, now_millis()],
            )?;
        }
        Ok(())
    };
    match run() {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Adds a row's `user`, `host` and `source_ip` to its block's filter. The filter of a
/// block already on disk is read first, so that it only ever gains keys.
fn add_keys(
    conn: &Connection,
    blooms: &mut HashMap<i64, Filling>,
    day: i64,
    table: &str,
    id: i64,
    e: &Row,
) -> Result<()> {
    let block = id >> keys::BLOCK_SHIFT;
    if blooms.get(&day).is_none_or(|f| f.block != block) {
        if let Some(f) = blooms.remove(&day)
            && f.dirty
        {
            save_bloom(conn, table, f.block, &f.bloom)?;
        }
        let stored: Option<Vec<u8>> = conn
            .prepare_cached(&format!("SELECT bloom FROM {table}_keys WHERE block = ?"))?
            .query_row([block], |r| r.get(0))
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        // A stored filter of another size (not written by this layout) is replaced by one
        // that admits everything: searches then read the block, and nothing is missed.
        let bloom = match stored {
            None => keys::Bloom::new(),
            Some(bytes) => keys::Bloom::from_bytes(bytes).unwrap_or_else(keys::Bloom::full),
        };
        blooms.insert(
            day,
            Filling {
                block,
                bloom,
                dirty: false,
            },
        );
    }
    if let Some(f) = blooms.get_mut(&day) {
        f.dirty = true;
        for (column, value) in [
            ("user", &e.user),
            ("host", &e.host),
            ("source_ip", &e.source_ip),
        ] {
            if let (Some(v), Some(t)) = (value, keys::tag(column)) {
                f.bloom.insert(keys::key(t, v));
            }
        }
    }
    Ok(())
}

fn save_bloom(conn: &Connection, table: &str, block: i64, bloom: &keys::Bloom) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO {table}_keys (block, bloom) VALUES (?, ?)
             ON CONFLICT (block) DO UPDATE SET bloom = excluded.bloom"
    ))?
    .execute(params![block, bloom.0])?;
    Ok(())
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn table_ddl(name: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {name} (
             id          INTEGER PRIMARY KEY,
             \"time\"    INTEGER NOT NULL,
             received    INTEGER NOT NULL,
             source      TEXT    NOT NULL,
             kind        TEXT    NOT NULL,
             host        TEXT,
             \"user\"    TEXT,
             action      TEXT,
             object      TEXT,
             outcome     TEXT,
             source_ip   TEXT,
             raw         TEXT    NOT NULL,
             fields      TEXT,
             parse_error TEXT,
             truncated   INTEGER NOT NULL
         );
         CREATE INDEX IF NOT EXISTS {name}_time ON {name} (\"time\");
         CREATE TABLE IF NOT EXISTS {name}_keys (block INTEGER PRIMARY KEY, bloom BLOB NOT NULL);
         CREATE TABLE IF NOT EXISTS {name}_minutes (minute INTEGER PRIMARY KEY, events INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS {name}_terms (term TEXT NOT NULL, ids BLOB NOT NULL);
         CREATE INDEX IF NOT EXISTS {name}_terms_term ON {name}_terms (term);"
    )
}

impl Writer {
    /// Writes the events in the current transaction; their postings (layout 5) are added to
    /// `postings`, which the caller writes before committing.
    /// Inserts `events`; their row ids, in order.
    fn insert<'a>(&mut self, events: &'a [Row], postings: &mut Postings<'a>) -> Result<Vec<i64>> {
        let mut ids = Vec::with_capacity(events.len());
        // (day → events, bytes, min, max)
        let mut touched: std::collections::BTreeMap<i64, (i64, i64, i64, i64)> = Default::default();
        for e in events {
            let day = day_of(e.time);
            let t = touched.entry(day).or_insert((0, 0, e.time, e.time));
            t.0 += 1;
            t.1 += e.bytes();
            t.2 = t.2.min(e.time);
            t.3 = t.3.max(e.time);
        }
        for day in touched.keys() {
            if !self.days.contains_key(day) {
                let name = partition_name(*day);
                self.conn.execute_batch(&table_ddl(&name))?;
                self.conn.execute(
                    "INSERT INTO event_partitions (day, name, layout, terms_paths) VALUES (?, ?, ?, ?) ON CONFLICT (day) DO NOTHING",
                    params![day, name, LAYOUT, terms::paths_text()],
                )?;
                self.days.insert(*day, LAYOUT);
            }
        }
        // Batches are mostly one day: the statement changes only when the day does.
        let mut i = 0;
        while i < events.len() {
            let day = day_of(events[i].time);
            let name = partition_name(day);
            let layout = self.days.get(&day).copied().unwrap_or(1);
            let nullable = layout >= NULLABLE_FIELDS;
            let filtered = layout >= FILTERED;
            let minutes = layout >= MINUTE_COUNTS;
            let foreign = self.foreign_terms.contains(&day);
            let terms = layout >= TERMS && !foreign;
            if layout >= TERMS && foreign {
                // Made by a binary indexing other paths: this writer cannot keep its postings.
                self.conn.execute(
                    "UPDATE event_partitions SET terms_ok = 0 WHERE day = ? AND terms_ok",
                    [day],
                )?;
            }
            // (minute, events) of this run of the batch, in time order mostly.
            let mut counts: Vec<(i64, i64)> = Vec::new();
            let mut stmt = self.conn.prepare_cached(&format!(
                "INSERT INTO {name} (\"time\", received, source, kind, host, \"user\", action, object, outcome, source_ip, raw, fields, parse_error, truncated)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ))?;
            while let Some(e) = events.get(i).filter(|e| day_of(e.time) == day) {
                stmt.execute(params![
                    e.time,
                    e.received,
                    e.source,
                    e.kind,
                    e.host,
                    e.user,
                    e.action,
                    e.object,
                    e.outcome,
                    e.source_ip,
                    e.raw,
                    if nullable {
                        e.fields.as_deref()
                    } else {
                        Some(e.fields_text())
                    },
                    e.parse_error,
                    e.truncated,
                ])?;
                let id = self.conn.last_insert_rowid();
                ids.push(id);
                if filtered || terms {
                    if filtered {
                        add_keys(&self.conn, &mut self.blooms, day, &name, id, e)?;
                    }
                    if terms {
                        for t in terms::split(&e.terms) {
                            let p = postings.entry((day, t)).or_default();
                            // A value an event holds twice is one posting.
                            if p.last().is_none_or(|last| last.0 != id) {
                                p.push((id, e.time));
                            }
                        }
                    }
                }
                if minutes {
                    let m = e.time.div_euclid(MINUTE);
                    match counts.last_mut() {
                        Some((last, n)) if *last == m => *n += 1,
                        _ => counts.push((m, 1)),
                    }
                }
                i += 1;
            }
            if !counts.is_empty() {
                let mut stmt = self.conn.prepare_cached(&format!(
                    "INSERT INTO {name}_minutes (minute, events) VALUES (?, ?)
                     ON CONFLICT (minute) DO UPDATE SET events = events + excluded.events"
                ))?;
                for (m, n) in counts {
                    stmt.execute(params![m, n])?;
                }
            }
        }
        self.save_blooms()?;
        let mut stmt = self.conn.prepare_cached(
            "UPDATE event_partitions SET events = events + ?, bytes = bytes + ?,
                 min_time = MIN(COALESCE(min_time, ?3), ?3), max_time = MAX(COALESCE(max_time, ?4), ?4)
             WHERE day = ?5",
        )?;
        for (day, (n, bytes, min, max)) in touched {
            stmt.execute(params![n, bytes, min, max, day])?;
        }
        Ok(ids)
    }

    /// Writes the groups in one transaction; the row ids of each group's rows.
    fn commit(&mut self, groups: &[&[Row]]) -> Result<Vec<Vec<i64>>> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        if let Err(e) = self.check_others() {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(e);
        }
        let mut r = Ok(());
        let mut ids = Vec::with_capacity(groups.len());
        let mut postings = Postings::new();
        for g in groups {
            match self.insert(g, &mut postings) {
                Ok(group_ids) => ids.push(group_ids),
                Err(e) => {
                    r = Err(e);
                    break;
                }
            }
        }
        if r.is_ok() {
            r = self.save_postings(postings);
        }
        match r {
            Ok(()) => match self.conn.execute_batch("COMMIT") {
                Ok(()) => Ok(ids),
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    self.forget_days();
                    Err(e.into())
                }
            },
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                self.forget_days();
                Err(e)
            }
        }
    }

    /// Writes one postings row per day and term, in the rows' transaction. A path holding
    /// more than [`terms::MAX_VALUES_PER_COMMIT`] values in one day of one commit is a path of
    /// many values in that day (request ids, say): a row per value would cost about one row
    /// per event, so the day gets the path's `other` term instead, and counts over the path
    /// read that day's rows.
    fn save_postings(&mut self, postings: Postings<'_>) -> Result<()> {
        let mut days: Vec<(i64, &str, Vec<terms::Posting>)> = postings
            .into_iter()
            .map(|((day, term), ids)| (day, term, ids))
            .collect();
        days.sort_unstable_by_key(|(day, term, _)| (*day, terms::path_of(term), *term));
        let mut i = 0;
        while i < days.len() {
            let day = days[i].0;
            let name = partition_name(day);
            let mut stmt = self.conn.prepare_cached(&format!(
                "INSERT INTO {name}_terms (term, ids) VALUES (?, ?)"
            ))?;
            let mut last = self.conn.prepare_cached(&format!(
                "SELECT rowid, ids FROM {name}_terms WHERE term = ? ORDER BY rowid DESC LIMIT 1"
            ))?;
            let mut update = self
                .conn
                .prepare_cached(&format!("UPDATE {name}_terms SET ids = ? WHERE rowid = ?"))?;
            // One path of one day at a time.
            while i < days.len() && days[i].0 == day {
                let path = terms::path_of(days[i].1);
                let end = days[i..]
                    .iter()
                    .position(|d| d.0 != day || terms::path_of(d.1) != path)
                    .map_or(days.len(), |n| i + n);
                if end - i > terms::MAX_VALUES_PER_COMMIT {
                    stmt.execute(params![terms::other(path), Vec::<u8>::new()])?;
                } else {
                    for (_, term, ids) in &days[i..end] {
                        // A small last row of the term takes these postings (small commits
                        // would otherwise add a row per event).
                        let merged = last
                            .query_row([term], |r| {
                                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
                            })
                            .optional()?
                            .filter(|(_, blob)| blob.len() < terms::MERGE_BELOW)
                            .and_then(|(rowid, blob)| {
                                let mut all = Vec::new();
                                terms::decode(&blob, &mut all)?;
                                let first = ids.first()?.0;
                                all.last().is_none_or(|l| l.0 < first).then(|| {
                                    all.extend_from_slice(ids);
                                    (rowid, all)
                                })
                            });
                        match merged {
                            Some((rowid, all)) => {
                                update.execute(params![terms::encode(&all), rowid])?;
                            }
                            None => {
                                stmt.execute(params![term, terms::encode(ids)])?;
                            }
                        }
                    }
                }
                i = end;
            }
        }
        Ok(())
    }

    /// Reads which day tables exist, and their layout.
    fn load_days(&mut self) -> Result<()> {
        self.days.clear();
        self.foreign_terms.clear();
        let mut stmt = self
            .conn
            .prepare("SELECT day, layout, terms_paths FROM event_partitions")?;
        let mut rows = stmt.query([])?;
        let ours = terms::paths_text();
        while let Some(r) = rows.next()? {
            let (day, layout) = (r.get::<_, i64>(0)?, r.get::<_, i64>(1)?);
            self.days.insert(day, layout);
            if layout >= TERMS && r.get::<_, Option<String>>(2)?.as_deref() != Some(ours) {
                self.foreign_terms.insert(day);
            }
        }
        Ok(())
    }

    /// Inside a write transaction: when another connection has committed since this writer's
    /// last transaction, forget the cached filters and day tables (it may have added rows to
    /// a block, or dropped and recreated a day); they are read again as needed.
    fn check_others(&mut self) -> Result<()> {
        let v: i64 = self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?;
        if v != self.data_version {
            self.data_version = v;
            self.blooms.clear();
            self.load_days()?;
        }
        Ok(())
    }

    /// After a rollback the tables created in it are gone: reread what exists. Filters kept
    /// in memory are reread too (they may hold keys of rows rolled back, which is harmless,
    /// but their table may be gone).
    fn forget_days(&mut self) {
        self.blooms.clear();
        if self.load_days().is_err() {
            self.days.clear();
        }
    }

    /// Writes the filters of the blocks being filled, in the transaction of their rows.
    /// Filters of days this transaction did not write to are dropped from memory (read again
    /// when next needed), so the cache holds the days being written, not every day ever.
    fn save_blooms(&mut self) -> Result<()> {
        for (day, f) in &self.blooms {
            if f.dirty {
                save_bloom(&self.conn, &partition_name(*day), f.block, &f.bloom)?;
            }
        }
        self.blooms.retain(|_, f| std::mem::take(&mut f.dirty));
        Ok(())
    }

    fn retain(&mut self, cutoff: Option<Nanos>, max_bytes: Option<u64>) -> Result<RetentionReport> {
        let mut report = RetentionReport::default();
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let r = (|| -> Result<()> {
            // Read in the transaction, layouts included: another connection (the CLI's
            // `events ingest`, say) may have made days this writer has not seen.
            let parts: Vec<(i64, String, i64, i64, i64)> = {
                let mut stmt = self.conn.prepare(
                    "SELECT day, name, events, bytes, layout FROM event_partitions ORDER BY day",
                )?;
                stmt.query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<rusqlite::Result<_>>()?
            };
            let mut total_bytes: i64 = parts.iter().map(|p| p.3).sum();
            let newest = parts.last().map(|p| p.0);
            for (day, name, events, bytes, layout) in &parts {
                let day_end = (*day + 1).saturating_mul(super::DAY);
                let too_old = cutoff.is_some_and(|c| day_end <= c);
                let too_big = max_bytes
                    .is_some_and(|m| total_bytes > i64::try_from(m).unwrap_or(i64::MAX))
                    && Some(*day) != newest;
                if too_old || too_big {
                    self.conn.execute_batch(&format!(
                        "DROP TABLE IF EXISTS {name}; DROP TABLE IF EXISTS {name}_keys; DROP TABLE IF EXISTS {name}_minutes; DROP TABLE IF EXISTS {name}_terms;"
                    ))?;
                    self.blooms.remove(day);
                    self.conn
                        .execute("DELETE FROM event_partitions WHERE day = ?", [day])?;
                    self.days.remove(day);
                    report.partitions_dropped += 1;
                    report.events_deleted += *events as u64;
                    total_bytes -= bytes;
                } else if let Some(c) = cutoff
                    && day.saturating_mul(super::DAY) < c
                {
                    // The day straddles the cut-off: trim it.
                    let (n, b): (i64, i64) = self.conn.query_row(
                        &format!(
                            "SELECT count(*), COALESCE(SUM(length(CAST(raw AS BLOB)) + COALESCE(length(CAST(fields AS BLOB)), 0)), 0) FROM {name} WHERE \"time\" < ?"
                        ),
                        [c],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?;
                    if n > 0 {
                        let top = |conn: &Connection| -> rusqlite::Result<i64> {
                            conn.query_row(
                                &format!("SELECT COALESCE(max(id), 0) FROM {name}"),
                                [],
                                |r| r.get(0),
                            )
                        };
                        let before = top(&self.conn)?;
                        self.conn
                            .execute(&format!("DELETE FROM {name} WHERE \"time\" < ?"), [c])?;
                        if *layout >= TERMS {
                            // The postings stay; readers leave out those of the rows deleted
                            // here: ids up to the highest one, times before the cut. That
                            // says exactly which rows are gone only while cuts move forward
                            // and no row id is given out twice: deleting the row with the
                            // highest id lets SQLite give its id to the next row, so the day
                            // then stops using its postings.
                            let kept_top = top(&self.conn)? == before;
                            self.conn.execute(
                                "UPDATE event_partitions SET
                                     terms_ok = terms_ok AND (terms_cut IS NULL OR ?1 >= terms_cut) AND ?4,
                                     terms_cut = ?1, terms_cut_id = MAX(COALESCE(terms_cut_id, 0), ?2)
                                 WHERE day = ?3",
                                params![c, before, day, kept_top],
                            )?;
                        }
                        if *layout >= MINUTE_COUNTS {
                            // Whole minutes before the cut go; the minute it falls in is
                            // counted again.
                            let m = c.div_euclid(MINUTE);
                            self.conn.execute(
                                &format!("DELETE FROM {name}_minutes WHERE minute < ?"),
                                [m],
                            )?;
                            self.conn.execute(
                                &format!(
                                    "UPDATE {name}_minutes SET events = (SELECT count(*) FROM {name}
                                         WHERE \"time\" >= ?1 AND \"time\" < ?2)
                                     WHERE minute = ?3"
                                ),
                                params![c, (m + 1).saturating_mul(MINUTE), m],
                            )?;
                        }
                        self.conn.execute(
                            "UPDATE event_partitions SET events = events - ?, bytes = MAX(bytes - ?, 0), min_time = ? WHERE day = ?",
                            params![n, b, c, day],
                        )?;
                        report.events_deleted += n as u64;
                        total_bytes -= b;
                    }
                }
            }
            Ok(())
        })();
        match r {
            Ok(()) => {
                if let Err(e) = self.conn.execute_batch("COMMIT") {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    self.forget_days();
                    return Err(e.into());
                }
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                self.forget_days();
                return Err(e);
            }
        }
        if report.partitions_dropped > 0 || report.events_deleted > 0 {
            let _ = self.conn.execute_batch("PRAGMA incremental_vacuum");
        }
        Ok(report)
    }
}

/// Copies committed WAL frames into the database file every [`CHECKPOINT_EVERY`] (every
/// [`CHECKPOINT_BUSY`] while frames keep coming), on its own connection and thread, so that the writer does not (it only finishes a checkpoint, cheaply,
/// when the WAL passes [`WRITER_CHECKPOINT_PAGES`], which lets the WAL restart from its
/// beginning). Stops when the store is dropped.
fn checkpointer(path: &Path, stop: std::sync::mpsc::Receiver<()>) {
    let Ok(conn) = open_conn(path, false) else {
        return;
    };
    let mut wait = CHECKPOINT_EVERY;
    // (frames in the WAL, frames copied) after the previous run.
    let mut last = (0i64, 0i64);
    loop {
        match stop.recv_timeout(wait) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let r = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                    Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                });
                // New frames since the last run: the writer is busy, keep up with it. A
                // finished checkpoint of an idle WAL reports the same figures every time.
                wait = match r {
                    Ok(now) if now != last && now.0 > 0 => {
                        last = now;
                        CHECKPOINT_BUSY
                    }
                    Ok(now) => {
                        last = now;
                        CHECKPOINT_EVERY
                    }
                    Err(_) => CHECKPOINT_EVERY,
                };
            }
            _ => return,
        }
    }
}

fn writer_loop(mut w: Writer, mut rx: mpsc::Receiver<Msg>) {
    let mut pending: Option<Msg> = None;
    loop {
        let msg = match pending.take() {
            Some(m) => m,
            None => match rx.blocking_recv() {
                Some(m) => m,
                None => break,
            },
        };
        match msg {
            Msg::Run(job) => job(&mut w),
            Msg::Append(events, reply) => {
                let mut group = vec![(events, reply)];
                let mut n = group[0].0.len();
                while n < GROUP_EVENTS {
                    match rx.try_recv() {
                        Ok(Msg::Append(e, r)) => {
                            n += e.len();
                            group.push((e, r));
                        }
                        Ok(other) => {
                            pending = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let slices: Vec<&[Row]> = group.iter().map(|g| g.0.as_slice()).collect();
                match w.commit(&slices) {
                    Ok(ids) => {
                        for ((events, reply), ids) in group.into_iter().zip(ids) {
                            let _ = reply.send((Ok(ids), events));
                        }
                    }
                    Err(e) if group.len() == 1 => {
                        for (events, reply) in group {
                            let e = EventStoreError::Backend(e.to_string());
                            let _ = reply.send((Err(e), events));
                        }
                    }
                    Err(_) => {
                        // One batch spoiled the group: commit each on its own.
                        for (events, reply) in group {
                            let r = w
                                .commit(&[&events])
                                .map(|mut ids| ids.pop().unwrap_or_default());
                            let _ = reply.send((r, events));
                        }
                    }
                }
            }
        }
    }
    let _ = w.conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
}

impl SqliteEvents {
    /// Opens (creating when missing) the database file and starts its writer thread.
    pub async fn open(path: &Path, sync: Synchronous) -> Result<SqliteEvents> {
        let p = path.to_path_buf();
        let writer = tokio::task::spawn_blocking(move || open_writer(&p, sync))
            .await
            .map_err(|e| EventStoreError::Backend(format!("sqlite open: {e}")))??;
        let (tx, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("palisade-events-writer".into())
            .spawn(move || writer_loop(writer, rx))
            .map_err(|e| EventStoreError::Backend(format!("cannot start the writer: {e}")))?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let p = path.to_path_buf();
        std::thread::Builder::new()
            .name("palisade-events-checkpoint".into())
            .spawn(move || checkpointer(&p, stopped))
            .map_err(|e| EventStoreError::Backend(format!("cannot start the checkpointer: {e}")))?;
        Ok(SqliteEvents {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                tx,
                _checkpointer: stop,
                readers: StdMutex::new(Vec::new()),
                reader_slots: Semaphore::new(READERS),
            }),
        })
    }

    /// Stores the rows; the id of each (its time and row id), in order.
    pub(crate) async fn append(&self, events: Vec<Row>) -> Result<Vec<Cursor>> {
        let (reply, rx) = oneshot::channel();
        self.inner
            .tx
            .send(Msg::Append(events, reply))
            .await
            .map_err(|_| EventStoreError::Closed)?;
        let (result, rows) = rx.await.map_err(|_| EventStoreError::Closed)?;
        let ids = result?;
        Ok(rows
            .iter()
            .zip(ids)
            .map(|(r, seq)| Cursor { time: r.time, seq })
            .collect())
    }

    /// Runs `f` on the writer thread.
    async fn on_writer<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Writer) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, rx) = oneshot::channel();
        let job: Job = Box::new(move |w| {
            let _ = reply.send(f(w));
        });
        self.inner
            .tx
            .send(Msg::Run(job))
            .await
            .map_err(|_| EventStoreError::Closed)?;
        rx.await.map_err(|_| EventStoreError::Closed)?
    }

    /// Runs `f` with a read connection on the blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let _permit = self
            .inner
            .reader_slots
            .acquire()
            .await
            .map_err(|_| EventStoreError::Closed)?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.readers.lock().ok().and_then(|mut v| v.pop());
            let mut conn = match conn {
                Some(c) => c,
                None => {
                    let c = open_conn(&inner.path, false)?;
                    register_functions(&c)?;
                    c.execute_batch("PRAGMA query_only = ON; PRAGMA cache_size = -32768; PRAGMA mmap_size = 2147418112;")?;
                    c
                }
            };
            conn.execute_batch("BEGIN")?;
            // A read that runs past READ_TIMEOUT is interrupted (SQLite checks every few
            // thousand instructions), so one search cannot hold a connection for minutes.
            let deadline = std::time::Instant::now() + READ_TIMEOUT;
            conn.progress_handler(10_000, Some(move || std::time::Instant::now() > deadline))?;
            let mut r = f(&conn);
            // A connection whose handler could not be removed is not reused.
            let cleared = conn.progress_handler(0, None::<fn() -> bool>).is_ok();
            if r.is_err() && std::time::Instant::now() > deadline {
                r = Err(EventStoreError::Backend(format!(
                    "the search ran over {} s and was stopped; narrow the time range or the search",
                    READ_TIMEOUT.as_secs()
                )));
            }
            let end = conn.execute_batch("COMMIT");
            if end.is_ok()
                && cleared
                && let Ok(mut v) = inner.readers.lock()
            {
                v.push(conn);
            }
            r
        })
        .await
        .map_err(|e| EventStoreError::Backend(format!("sqlite read task: {e}")))?
    }

    pub(crate) async fn search(&self, s: &Search<'_>) -> Result<SearchResult> {
        let (cond, params) = where_clause(s.query)?;
        let need = Need::of(s.query);
        let plan = Plan::of(s.query);
        let (from, to, limit, offset, cursor, order, count) =
            (s.from, s.to, s.limit, s.offset, s.cursor, s.order, s.count);
        self.read(move |conn| {
            let days = days_in(conn, from, to, order)?;
            let want = offset + limit as u64 + 1;
            // Rows seen so far; only those past the offset are decoded and kept, so memory is
            // bounded by the page, not by the offset.
            let mut seen: u64 = 0;
            let mut rows: Vec<Hit> = Vec::with_capacity(limit.min(1000) as usize);
            let (dir, cmp) = match order {
                Order::Asc => ("ASC", ">"),
                Order::Desc => ("DESC", "<"),
            };
            // Narrowed days, kept for the count pass, and the matches of days answered from
            // their postings.
            let mut narrowed: Vec<Narrow> = Vec::with_capacity(days.len());
            let mut counts: Vec<Option<u64>> = Vec::with_capacity(days.len());
            for (day, name, layout) in &days {
                if seen >= want {
                    break;
                }
                if let Some(mut hits) = from_terms(conn, *day, name, *layout, plan.as_ref())? {
                    // The day's matches from its postings, in the page's order; only the
                    // rows of the page are read.
                    hits.retain(|&(_, t)| t >= from && t < to);
                    counts.push(Some(hits.len() as u64));
                    if let Some(c) = cursor {
                        hits.retain(|&(id, t)| match order {
                            Order::Asc => (t, id) > (c.time, c.seq),
                            Order::Desc => (t, id) < (c.time, c.seq),
                        });
                    }
                    // The page's order: time, then id, each as asked. Only the first `room`
                    // are sorted.
                    let key = |&(id, t): &(i64, i64)| match order {
                        Order::Asc => (t, id),
                        Order::Desc => (-1 - t, -1 - id),
                    };
                    let room = (want - seen) as usize;
                    if hits.len() > room {
                        hits.select_nth_unstable_by_key(room, key);
                        hits.truncate(room);
                    }
                    hits.sort_unstable_by_key(key);
                    let mut row = conn.prepare_cached(&format!(
                        "SELECT {SELECT_COLUMNS} FROM {name} WHERE id = ?"
                    ))?;
                    for &(id, _) in &hits {
                        if seen >= want {
                            break;
                        }
                        if seen >= offset && seen < offset + limit as u64 {
                            let mut q = row.query([id])?;
                            if let Some(r) = q.next()? {
                                rows.push(hit(r)?);
                            }
                        }
                        seen += 1;
                    }
                    narrowed.push(Narrow::All);
                    continue;
                }
                counts.push(None);
                let ids = narrow(conn, name, *layout, &need)?;
                if ids == Narrow::Nothing {
                    narrowed.push(ids);
                    continue;
                }
                // The query's parameters come first (?1…?k), ours after.
                let mut p: Vec<Param> = params.clone();
                let mut arg = |v: i64| {
                    p.push(Param::Int(v));
                    format!("?{}", p.len())
                };
                let (table, only) = id_ranges(name, &ids, &mut arg);
                narrowed.push(ids);
                let (f, t) = (arg(from), arg(to));
                let mut sql = format!(
                    "SELECT {SELECT_COLUMNS} FROM {table} WHERE \"time\" >= {f} AND \"time\" < {t}{only}"
                );
                if let Some(c) = cursor {
                    let (ct, cs) = (arg(c.time), arg(c.seq));
                    sql.push_str(&format!(" AND (\"time\", id) {cmp} ({ct}, {cs})"));
                }
                let l = arg((want - seen) as i64);
                sql.push_str(&format!(
                    " AND {cond} ORDER BY \"time\" {dir}, id {dir} LIMIT {l}"
                ));
                let mut stmt = conn.prepare_cached(&sql)?;
                let mut q = stmt.query(rusqlite::params_from_iter(p.iter()))?;
                while let Some(r) = q.next()? {
                    if seen >= offset && seen < offset + limit as u64 {
                        rows.push(hit(r)?);
                    }
                    seen += 1;
                }
            }
            let more = seen >= want;
            // Without a cursor, a page pass that found fewer than it looked for saw every
            // match: that is the count, and the second pass is not needed.
            let counted = (cursor.is_none() && !more).then_some(seen);
            let events = rows;
            let next = if more {
                events.last().map(|h| Cursor {
                    time: h.event.time,
                    seq: h.seq,
                })
            } else {
                None
            };
            let (mut total, mut exact) = (0u64, false);
            if let (true, Some(n)) = (count, counted) {
                (total, exact) = (n.min(COUNT_CAP), n <= COUNT_CAP);
            } else if count {
                exact = true;
                for (i, (day, name, layout)) in days.iter().enumerate() {
                    let known = match counts.get(i).copied().flatten() {
                        Some(n) => Some(n),
                        None => from_terms(conn, *day, name, *layout, plan.as_ref())?.map(|h| {
                            h.iter().filter(|h| h.1 >= from && h.1 < to).count() as u64
                        }),
                    };
                    if let Some(n) = known {
                        total += n;
                        if total > COUNT_CAP {
                            total = COUNT_CAP;
                            exact = false;
                            break;
                        }
                        continue;
                    }
                    let ids = match narrowed.get_mut(i) {
                        Some(n) => std::mem::replace(n, Narrow::All),
                        None => narrow(conn, name, *layout, &need)?,
                    };
                    if ids == Narrow::Nothing {
                        continue;
                    }
                    let room = COUNT_CAP + 1 - total;
                    let mut p: Vec<Param> = params.clone();
                    let mut arg = |v: i64| {
                        p.push(Param::Int(v));
                        format!("?{}", p.len())
                    };
                    let (table, only) = id_ranges(name, &ids, &mut arg);
                    let (f, t, l) = (arg(from), arg(to), arg(room as i64));
                    let sql = format!(
                        "SELECT count(*) FROM (SELECT 1 FROM {table} WHERE \"time\" >= {f} AND \"time\" < {t}{only} AND {cond} LIMIT {l})"
                    );
                    let n: i64 = conn.prepare_cached(&sql)?.query_row(
                        rusqlite::params_from_iter(p.iter()),
                        |r| r.get(0),
                    )?;
                    total += n as u64;
                    if total > COUNT_CAP {
                        total = COUNT_CAP;
                        exact = false;
                        break;
                    }
                }
            }
            Ok(SearchResult {
                events,
                total,
                total_exact: exact,
                next,
                took: Duration::ZERO,
            })
        })
        .await
    }

    pub(crate) async fn histogram(
        &self,
        query: &Query,
        from: Nanos,
        to: Nanos,
        width: Nanos,
    ) -> Result<Vec<(i64, u64)>> {
        let (cond, params) = where_clause(query)?;
        let need = Need::of(query);
        let every_event = matches!(query, Query::All);
        let plan = Plan::of(query);
        self.read(move |conn| {
            let days = days_in(conn, from, to, Order::Asc)?;
            let mut out = Vec::new();
            for (day, name, layout) in &days {
                if every_event && *layout >= MINUTE_COUNTS {
                    histogram_by_minutes(conn, *day, name, from, to, width, &mut out)?;
                    continue;
                }
                if let Some(hits) = from_terms(conn, *day, name, *layout, plan.as_ref())? {
                    let mut counts: HashMap<i64, u64> = HashMap::new();
                    for (_, t) in hits {
                        if t >= from && t < to {
                            let b = ((t as i128 - from as i128) / width as i128) as i64;
                            *counts.entry(b).or_default() += 1;
                        }
                    }
                    out.extend(counts);
                    continue;
                }
                let ids = narrow(conn, name, *layout, &need)?;
                if ids == Narrow::Nothing {
                    continue;
                }
                // Buckets are counted from the last bucket start at or before the day's start
                // (`base`, the `first` bucket), so that `time - base` stays well inside i64
                // whatever `from` is; a day inside one bucket is a plain count.
                let day_start = (*day as i128 * DAY as i128).max(from as i128);
                let day_last = ((*day as i128 + 1) * DAY as i128 - 1).min(to as i128 - 1);
                let first = (day_start - from as i128) / width as i128;
                let last = (day_last - from as i128) / width as i128;
                let base = (from as i128 + first * width as i128) as i64;
                // The query's parameters come first (?1…?k), ours after.
                let mut all = params.clone();
                let mut arg = |v: i64| {
                    all.push(Param::Int(v));
                    format!("?{}", all.len())
                };
                let (table, only) = id_ranges(name, &ids, &mut arg);
                let sql = if first == last {
                    let (f, t) = (arg(from), arg(to));
                    format!(
                        "SELECT 0, count(*) FROM {table} WHERE \"time\" >= {f} AND \"time\" < {t}{only} AND {cond}"
                    )
                } else {
                    let (a, b, f, t) = (arg(base), arg(width), arg(from), arg(to));
                    format!(
                        "SELECT (\"time\" - {a}) / {b} AS b, count(*) FROM {table}
                         WHERE \"time\" >= {f} AND \"time\" < {t}{only} AND {cond} GROUP BY b"
                    )
                };
                let mut stmt = conn.prepare_cached(&sql)?;
                let mut q = stmt.query(rusqlite::params_from_iter(all.iter()))?;
                while let Some(r) = q.next()? {
                    let b: i64 = r.get(0)?;
                    let n: i64 = r.get(1)?;
                    if n > 0 {
                        let index = i64::try_from(first + b as i128).unwrap_or(i64::MAX);
                        out.push((index, n as u64));
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    pub(crate) async fn retain(
        &self,
        cutoff: Option<Nanos>,
        max_bytes: Option<u64>,
    ) -> Result<RetentionReport> {
        self.on_writer(move |w| w.retain(cutoff, max_bytes)).await
    }

    pub(crate) async fn partitions(&self) -> Result<Vec<Partition>> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare("SELECT day, name, events, bytes FROM event_partitions ORDER BY day")?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(Partition {
                        day: r.get(0)?,
                        name: r.get(1)?,
                        events: r.get::<_, i64>(2)?.max(0) as u64,
                        bytes: r.get::<_, i64>(3)?.max(0) as u64,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    pub(crate) async fn get(&self, id: Cursor) -> Result<Option<Hit>> {
        self.read(move |conn| {
            let table: Option<String> = conn
                .query_row(
                    "SELECT name FROM event_partitions WHERE day = ?",
                    [day_of(id.time)],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(table) = table else {
                return Ok(None);
            };
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {SELECT_COLUMNS} FROM {table} WHERE id = ? AND \"time\" = ?"
            ))?;
            let mut rows = stmt.query(params![id.seq, id.time])?;
            rows.next()?.map(hit).transpose()
        })
        .await
    }

    pub(crate) async fn ping(&self) -> Result<()> {
        self.read(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Param::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Param::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

/// The histogram of every event of one day table, as `(bucket index, events)`, from its
/// minute counts: a minute inside one bucket and inside `[from, to)` adds its count; only the
/// minutes that straddle a bucket edge or an end of the range are counted from rows (through
/// the time index). A day of 1,440 minutes is at most 1,440 small rows to read, where counting
/// rows would read every event of the day.
fn histogram_by_minutes(
    conn: &Connection,
    day: i64,
    name: &str,
    from: Nanos,
    to: Nanos,
    width: Nanos,
    out: &mut Vec<(i64, u64)>,
) -> Result<()> {
    let day_start = day.saturating_mul(DAY);
    let lo = from.max(day_start);
    let hi = to.min(day_start.saturating_add(DAY));
    if lo >= hi {
        return Ok(());
    }
    let bucket = |t: Nanos| ((t as i128 - from as i128) / width as i128) as i64;
    let mut minutes = conn.prepare_cached(&format!(
        "SELECT minute, events FROM {name}_minutes WHERE minute >= ? AND minute <= ? AND events > 0 ORDER BY minute"
    ))?;
    let mut rows = minutes.query(params![lo.div_euclid(MINUTE), (hi - 1).div_euclid(MINUTE)])?;
    let mut straddling = Vec::new();
    while let Some(r) = rows.next()? {
        let (m, n): (i64, i64) = (r.get(0)?, r.get(1)?);
        let start = m.saturating_mul(MINUTE);
        let end = start.saturating_add(MINUTE);
        if start >= lo && end <= hi && bucket(start) == bucket(end - 1) {
            out.push((bucket(start), n as u64));
        } else {
            straddling.push((start.max(lo), end.min(hi)));
        }
    }
    let mut count = conn.prepare_cached(&format!(
        "SELECT (\"time\" - ?1) / ?2, count(*) FROM {name} WHERE \"time\" >= ?3 AND \"time\" < ?4 GROUP BY 1"
    ))?;
    for (a, b) in straddling {
        // Bucket indexes counted from the bucket `a` is in, so that `time - base` is small.
        let first = bucket(a);
        let base = (from as i128 + first as i128 * width as i128) as i64;
        let mut q = count.query(params![base, width, a, b])?;
        while let Some(r) = q.next()? {
            let (k, n): (i64, i64) = (r.get(0)?, r.get(1)?);
            out.push((first + k, n as u64));
        }
    }
    Ok(())
}

/// The `(id, time)` of a day's events matching `plan`, from its postings (layout 5), ascending
/// by id; `None` when the day must be read from its rows instead: no plan, an older layout,
/// postings retention could not keep exact, or a path of the plan holding values that have no
/// term that day.
fn from_terms(
    conn: &Connection,
    day: i64,
    name: &str,
    layout: i64,
    plan: Option<&Plan>,
) -> Result<Option<Vec<(i64, i64)>>> {
    let Some(plan) = plan else {
        return Ok(None);
    };
    if layout < TERMS {
        return Ok(None);
    }
    let (cut, cut_id, ok, paths): (Option<i64>, Option<i64>, bool, Option<String>) = conn
        .prepare_cached(
            "SELECT terms_cut, terms_cut_id, terms_ok, terms_paths FROM event_partitions WHERE day = ?",
        )?
        .query_row([day], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    if !ok {
        return Ok(None);
    }
    let mut leaves = Vec::new();
    plan.leaves(&mut leaves);
    // Only paths the day's writers indexed have postings there.
    let paths = paths.unwrap_or_default();
    if !leaves
        .iter()
        .all(|(path, _)| paths.split('\n').any(|p| p == *path))
    {
        return Ok(None);
    }
    let mut exists = conn.prepare_cached(&format!(
        "SELECT EXISTS (SELECT 1 FROM {name}_terms WHERE term = ?)"
    ))?;
    for (path, _) in &leaves {
        if exists.query_row([terms::other(path)], |r| r.get::<_, bool>(0))? {
            return Ok(None);
        }
    }
    let mut size = conn.prepare_cached(&format!(
        "SELECT COALESCE(sum(length(ids)), 0) FROM {name}_terms WHERE term = ?"
    ))?;
    let mut bytes = 0i64;
    for (_, term) in &leaves {
        bytes += size.query_row([term], |r| r.get::<_, i64>(0))?;
    }
    if bytes > terms::MAX_READ_BYTES {
        // Tens of millions of matches in one day: the rows are read instead, which stop at
        // the page or at the count cap.
        return Ok(None);
    }
    let mut read = conn.prepare_cached(&format!(
        "SELECT ids FROM {name}_terms WHERE term = ? ORDER BY rowid"
    ))?;
    let mut postings: HashMap<&str, Vec<(i64, i64)>> = HashMap::new();
    for (_, term) in &leaves {
        if postings.contains_key(term) {
            continue;
        }
        let mut ids = Vec::new();
        let mut rows = read.query([term])?;
        while let Some(r) = rows.next()? {
            let blob = match r.get_ref(0)? {
                rusqlite::types::ValueRef::Blob(b) => b,
                _ => &[],
            };
            terms::decode(blob, &mut ids).ok_or_else(|| {
                EventStoreError::Backend(format!("{name}_terms: a postings row does not decode"))
            })?;
        }
        // Ids grow with each insert (retention stops a day's postings being used when an id
        // could be given out again); sorted all the same, so that AND and OR stay right.
        if !ids.is_sorted_by_key(|p| p.0) {
            ids.sort_unstable_by_key(|p| p.0);
        }
        if let (Some(cut), Some(cut_id)) = (cut, cut_id) {
            ids.retain(|&(id, time)| !(id <= cut_id && time < cut));
        }
        postings.insert(term, ids);
    }
    if let Plan::Term { term, .. } = plan {
        return Ok(Some(postings.remove(term.as_str()).unwrap_or_default()));
    }
    Ok(Some(
        plan.eval(&|t| postings.get(t).cloned().unwrap_or_default()),
    ))
}

/// Which rows of a day table a search with this need reads: all (layouts before 3, or nothing
/// to narrow by), none, or the blocks whose filter may hold a match.
fn narrow(conn: &Connection, name: &str, layout: i64, need: &Need) -> Result<Narrow> {
    if layout < FILTERED || *need == Need::Any {
        return Ok(Narrow::All);
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT block, bloom FROM {name}_keys ORDER BY block"
    ))?;
    let mut rows = stmt.query([])?;
    let (mut blocks, mut total) = (Vec::new(), 0usize);
    while let Some(r) = rows.next()? {
        total += 1;
        let bits = match r.get_ref(1)? {
            rusqlite::types::ValueRef::Blob(b) => b,
            _ => &[],
        };
        if need.admits(bits) {
            blocks.push(r.get::<_, i64>(0)?);
        }
    }
    Ok(keys::ranges(&blocks, total))
}

/// The table to read and the SQL restricting a narrowed search to its id ranges (binding them
/// through `arg`). A narrowed table is read `NOT INDEXED`: SQLite then finds the ranges by
/// rowid. Otherwise, with the LIMIT a bound parameter, it prefers the time index (which gives
/// the ORDER BY for free) and reads the whole day through it: 500 ms instead of 5 ms per day
/// at 10M events, measured.
fn id_ranges(name: &str, ranges: &Narrow, mut arg: impl FnMut(i64) -> String) -> (String, String) {
    match ranges {
        Narrow::Ids(r) => {
            let alts: Vec<String> = r
                .iter()
                .map(|(lo, hi)| format!("id BETWEEN {} AND {}", arg(*lo), arg(*hi)))
                .collect();
            (
                format!("{name} NOT INDEXED"),
                format!(" AND ({})", alts.join(" OR ")),
            )
        }
        _ => (name.to_owned(), String::new()),
    }
}

/// Day tables overlapping `[from, to)`, in the order asked, with their layout.
fn days_in(
    conn: &Connection,
    from: Nanos,
    to: Nanos,
    order: Order,
) -> Result<Vec<(i64, String, i64)>> {
    let dir = match order {
        Order::Asc => "ASC",
        Order::Desc => "DESC",
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT day, name, layout FROM event_partitions WHERE day >= ? AND day <= ? ORDER BY day {dir}"
    ))?;
    let rows = stmt
        .query_map(params![day_of(from), day_of(to - 1)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn hit(r: &rusqlite::Row<'_>) -> Result<Hit> {
    let raw: String = r.get(11)?;
    let fields: Option<String> = r.get(12)?;
    let fields = serde_json::from_str(fields.as_deref().unwrap_or(&raw))
        .unwrap_or_else(|_| serde_json::Value::Object(Default::default()));
    Ok(Hit {
        seq: r.get(0)?,
        event: Event {
            time: r.get(1)?,
            received: r.get(2)?,
            source: r.get(3)?,
            kind: r.get(4)?,
            host: r.get(5)?,
            user: r.get(6)?,
            action: r.get(7)?,
            object: r.get(8)?,
            outcome: r.get(9)?,
            source_ip: r.get(10)?,
            raw,
            fields,
            parse_error: r.get(13)?,
            truncated: r.get(14)?,
            fields_from_raw: false,
        },
    })
}

/// SQLite's spelling of the leaves.
struct Lite {
    params: Vec<Param>,
}

/// A SQLite JSON path selecting one key; `None` when the key cannot be written as one.
fn key_path(key: &str) -> Option<String> {
    if key.contains('"') {
        None
    } else {
        Some(format!("$.\"{key}\""))
    }
}

/// `text LIKE pattern`, folding Unicode case first when the pattern needs it.
fn like(text: &str, p: &str, unicode: bool) -> String {
    if unicode {
        format!("({LOWER}({text}) LIKE {p} ESCAPE '\\')")
    } else {
        format!("({text} LIKE {p} ESCAPE '\\')")
    }
}

impl Lite {
    /// `json_each(…) j1, json_each(…) j2, …` over the keys (arrays searched through at every
    /// step); the last alias is `j{n}`. `None` when a key cannot be expressed.
    fn walk(&mut self, keys: &[String]) -> Option<String> {
        let mut from = Vec::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            let path = key_path(key)?;
            let p = self.bind(Param::Text(path));
            let src = if i == 0 {
                FIELDS.to_string()
            } else {
                format!("j{i}.value")
            };
            let guard = if i == 0 {
                String::new()
            } else {
                format!("WHEN j{i}.type <> 'object' THEN NULL ")
            };
            from.push(format!(
                "json_each(CASE {guard}WHEN json_type({src}, {p}) = 'array' THEN {src} -> {p} ELSE '[' || ({src} -> {p}) || ']' END) j{}",
                i + 1
            ));
        }
        Some(from.join(", "))
    }
}

/// A character JSON text escapes (so a string holding one is not in the text as it is).
fn json_escaped(c: char) -> bool {
    c == '"' || c == '\\' || (c as u32) < 0x20
}

impl Lite {
    /// `instr(fields, '"key"') > 0 AND …` for each key: a cheap test that rules out most
    /// events without the path before SQLite parses their JSON. Keys that JSON would escape
    /// are left out (the test would be wrong for them).
    fn key_prefilter(&mut self, keys: &[String]) -> String {
        let mut out = String::new();
        for k in keys {
            if k.chars().any(json_escaped) {
                continue;
            }
            let p = self.bind(Param::Text(format!("\"{k}\"")));
            out.push_str(&format!("instr({FIELDS}, {p}) > 0 AND "));
        }
        out
    }
}

impl Leaves for Lite {
    fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("?{}", self.params.len())
    }
    fn column_like(&mut self, column: Col, pattern: Pattern) -> String {
        // An exact ASCII value on a looked-up column: equality with ASCII folding, which is
        // what the block filters (layout 3) fold by and the (column, time) indexes (layout 2)
        // serve.
        if let (Col::Text(c), Some(exact), false) = (column, &pattern.exact, pattern.unicode)
            && INDEXED.contains(&c)
        {
            let p = self.bind(Param::Text(exact.clone()));
            return format!("({c} IS NOT NULL AND {c} = {p} COLLATE NOCASE)");
        }
        let p = self.bind(Param::Text(pattern.like));
        let text = match column {
            Col::Text(c) => c.to_string(),
            Col::Time(c) => format!("{RFC3339}({c})"),
            Col::Flag(c) => format!("(CASE WHEN {c} THEN 'true' ELSE 'false' END)"),
        };
        format!(
            "({} IS NOT NULL AND {})",
            column.name(),
            like(&text, &p, pattern.unicode)
        )
    }
    fn json_like(&mut self, keys: &[String], pattern: &Pattern) -> String {
        let Some(from) = self.walk(keys) else {
            return "0".into();
        };
        let mut pre = self.key_prefilter(keys);
        // The value's characters are in the JSON text as they are when JSON needs no escape for
        // them: the pattern must then match somewhere in it (between quotes, when only a string
        // can match).
        if !pattern.unicode && !pattern.escaped {
            let p = self.bind(Param::Text(pattern.in_json.clone()));
            pre.push_str(&format!("{FIELDS} LIKE {p} ESCAPE '\\' AND "));
        }
        let n = keys.len();
        let p = self.bind(Param::Text(pattern.like.clone()));
        let text = format!(
            "(CASE j{n}.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'text' THEN j{n}.value WHEN 'integer' THEN j{n}.value WHEN 'real' THEN j{n}.value END)"
        );
        format!(
            "({pre}EXISTS (SELECT 1 FROM {from} WHERE {}))",
            like(&text, &p, pattern.unicode)
        )
    }
    fn json_exists(&mut self, keys: &[String]) -> String {
        let Some(from) = self.walk(keys) else {
            return "0".into();
        };
        let pre = self.key_prefilter(keys);
        let n = keys.len();
        format!("({pre}EXISTS (SELECT 1 FROM {from} WHERE j{n}.type <> 'null'))")
    }
    fn text(&mut self, pattern: Pattern) -> String {
        let p = self.bind(Param::Text(pattern.like));
        like("raw", &p, pattern.unicode)
    }
    fn truth(&self) -> &'static str {
        "1"
    }
    fn falsity(&self) -> &'static str {
        "0"
    }
}

/// Columns with lookup filters (layout 3) or a `(column COLLATE NOCASE, time)` index (layout 2).
const INDEXED: [&str; 3] = ["\"user\"", "host", "source_ip"];

/// SQL functions the translation uses, registered on every read connection.
const RFC3339: &str = "palisade_rfc3339";
const LOWER: &str = "palisade_lower";

fn register_functions(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function(RFC3339, 1, flags, |ctx| {
        Ok(ctx
            .get::<Option<i64>>(0)?
            .map(crate::parse::time::format_rfc3339))
    })?;
    conn.create_scalar_function(LOWER, 1, flags, |ctx| {
        let v = ctx.get_raw(0);
        Ok(match v {
            rusqlite::types::ValueRef::Text(t) => Some(String::from_utf8_lossy(t).to_lowercase()),
            rusqlite::types::ValueRef::Null => None,
            rusqlite::types::ValueRef::Integer(i) => Some(i.to_string()),
            rusqlite::types::ValueRef::Real(r) => Some(r.to_string()),
            rusqlite::types::ValueRef::Blob(b) => Some(String::from_utf8_lossy(b).to_lowercase()),
        })
    })?;
    Ok(())
}

/// The WHERE expression and its parameters, numbered `?1…?k`: callers bind theirs after.
fn where_clause(q: &Query) -> Result<(String, Vec<Param>)> {
    let mut l = Lite { params: Vec::new() };
    let cond = sql::translate(q, &mut l, 0).map_err(EventStoreError::Invalid)?;
    Ok((cond, l.params))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty directory of this test's own under the temporary directory.
    fn fresh_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("palisade-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A store on a new file in a directory of this test's own: the directory, the file, the
    /// store.
    async fn fresh_store(
        name: &str,
    ) -> (
        std::path::PathBuf,
        std::path::PathBuf,
        crate::store::EventStore,
    ) {
        let dir = fresh_dir(name);
        let path = dir.join("events.db");
        let store = crate::store::open(path.to_str().unwrap()).await.unwrap();
        (dir, path, store)
    }

    fn event(time: Nanos, raw: &str, fields: serde_json::Value) -> Event {
        Event {
            time,
            received: time,
            source: "json".into(),
            kind: "json".into(),
            host: None,
            user: None,
            action: None,
            object: None,
            outcome: None,
            source_ip: None,
            raw: raw.into(),
            fields,
            parse_error: None,
            truncated: false,
            fields_from_raw: false,
        }
    }

    /// A narrowed page query finds its rows by rowid, not by reading the day through the time
    /// index (which SQLite prefers when the LIMIT is a bound parameter).
    #[test]
    fn narrowed_reads_by_rowid() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&table_ddl("events_20261120")).unwrap();
        let mut p: Vec<i64> = Vec::new();
        let ids = Narrow::Ids(vec![(0, 1023), (4096, 5119)]);
        let (table, only) = id_ranges("events_20261120", &ids, |v| {
            p.push(v);
            format!("?{}", p.len())
        });
        let n = p.len();
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT id FROM {table} WHERE \"time\" >= ?{} AND \"time\" < ?{}{only}
             AND (\"time\", id) < (?{}, ?{}) ORDER BY \"time\" DESC, id DESC LIMIT ?{}",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5
        );
        p.extend([0, i64::MAX, i64::MAX, i64::MAX, 100]);
        let plan: Vec<String> = conn
            .prepare(&sql)
            .unwrap()
            .query_map(rusqlite::params_from_iter(p.iter()), |r| {
                r.get::<_, String>(3)
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter().any(|l| l.contains("INTEGER PRIMARY KEY")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|l| l.contains("_time")), "{plan:?}");
        // Not narrowed: the table as it is.
        assert_eq!(
            id_ranges("events_20261120", &Narrow::All, |_| String::new()),
            ("events_20261120".to_owned(), String::new())
        );
    }

    /// A histogram of every event (read from the minute counts) equals one counted from the
    /// event times, and one the store counts from rows (a filter every event passes), for
    /// ranges and bucket widths that cut through minutes; also after retention trims a day in
    /// the middle of a minute.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn histograms_from_minute_counts() {
        let (dir, path, store) = fresh_store("minutes").await;
        let d0 = 20_700i64 * DAY;
        let mut rng = palisade_core::rng::XorShift::new(0x2545_F491_4F6C_DD1D);
        let mut next = move || rng.next_u64();
        let mut times = Vec::new();
        for i in 0..6_000u64 {
            let t = match i % 4 {
                // Anywhere in three days, out of order.
                0 | 1 => (next() % (3 * DAY as u64)) as i64,
                // Crowded into a few minutes, some on their first nanosecond.
                2 => (next() % 5) as i64 * 7 * MINUTE + (next() % 3) as i64 * (MINUTE / 2),
                _ => DAY + 61 * MINUTE + (next() % MINUTE as u64) as i64,
            };
            times.push(d0 + t);
        }
        for chunk in times.chunks(500) {
            let batch: Vec<Event> = chunk
                .iter()
                .map(|&t| event(t, "{}", serde_json::json!({})))
                .collect();
            assert_eq!(store.append(&batch).await.unwrap().accepted, 500);
        }
        let all = crate::query::Query::All;
        let rows = crate::query::parse("kind:json").unwrap();
        let check = |times: Vec<Nanos>| {
            let store = store.clone();
            let (all, rows) = (all.clone(), rows.clone());
            async move {
                for (from, to, buckets) in [
                    (d0, d0 + 3 * DAY, 168u32),
                    (d0 - DAY, d0 + 4 * DAY, 7),
                    (d0 + 123_456_789, d0 + 2 * DAY + 987_654_321, 100),
                    (d0 + DAY + 60 * MINUTE + 17, d0 + DAY + 63 * MINUTE - 5, 13),
                    (d0 + 7 * MINUTE, d0 + 7 * MINUTE + 1, 1),
                    (d0, d0 + 3 * DAY, 1),
                ] {
                    let width = super::super::bucket_width(from, to, buckets);
                    let mut expected = vec![0u64; buckets as usize];
                    for &t in times.iter().filter(|&&t| t >= from && t < to) {
                        expected[((t - from) / width) as usize] += 1;
                    }
                    let counted = |h: Vec<super::super::Bucket>| -> Vec<u64> {
                        h.iter().map(|b| b.count).collect()
                    };
                    let by_minutes = store.histogram(&all, from, to, buckets).await.unwrap();
                    assert_eq!(counted(by_minutes), expected, "{from} {to} {buckets}");
                    let by_rows = store.histogram(&rows, from, to, buckets).await.unwrap();
                    assert_eq!(counted(by_rows), expected, "{from} {to} {buckets}");
                }
            }
        };
        check(times.clone()).await;
        // Minute counts hold every event.
        {
            let c = Connection::open(&path).unwrap();
            let total: i64 = (0..3)
                .map(|d| {
                    c.query_row(
                        &format!(
                            "SELECT sum(events) FROM {}_minutes",
                            partition_name(20_700 + d)
                        ),
                        [],
                        |r| r.get::<_, i64>(0),
                    )
                    .unwrap()
                })
                .sum();
            assert_eq!(total, 6_000);
        }
        // Cut inside the crowded minute of the second day.
        let cut = d0 + DAY + 61 * MINUTE + MINUTE / 3;
        let now = cut + 10 * DAY;
        let policy = crate::store::Retention {
            max_age: Some(std::time::Duration::from_nanos((now - cut) as u64)),
            max_bytes: None,
        };
        let report = store.retain(policy, now).await.unwrap();
        let kept: Vec<Nanos> = times.iter().copied().filter(|&t| t >= cut).collect();
        assert_eq!(report.events_deleted as usize, times.len() - kept.len());
        check(kept).await;
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Retention by a store that has not seen the day (another connection made it) still
    /// trims the day's minute counts.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn retention_trims_minutes_of_days_made_elsewhere() {
        let dir = fresh_dir("minutes-elsewhere");
        let path = dir.join("events.db");
        let server = crate::store::open(path.to_str().unwrap()).await.unwrap();
        let cli = crate::store::open(path.to_str().unwrap()).await.unwrap();
        let d0 = 20_700i64 * DAY;
        let times: Vec<Nanos> = (0..600).map(|i| d0 + i * (MINUTE / 7)).collect();
        let batch: Vec<Event> = times
            .iter()
            .map(|&t| event(t, "{}", serde_json::json!({})))
            .collect();
        assert_eq!(cli.append(&batch).await.unwrap().accepted, 600);
        let cut = d0 + 40 * MINUTE + MINUTE / 3;
        let now = cut + 30 * DAY;
        let policy = crate::store::Retention {
            max_age: Some(std::time::Duration::from_nanos((now - cut) as u64)),
            max_bytes: None,
        };
        let report = server.retain(policy, now).await.unwrap();
        let kept = times.iter().filter(|&&t| t >= cut).count() as u64;
        assert_eq!(report.events_deleted, 600 - kept);
        for store in [&server, &cli] {
            let h = store
                .histogram(&crate::query::Query::All, d0, d0 + DAY, 24)
                .await
                .unwrap();
            assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), kept);
        }
        drop((server, cli));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A day table made before `fields` could be NULL (schema version 1) still takes events
    /// whose `fields` is `raw` parsed (it gets `raw`'s text); a new day stores NULL.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn version_1_day_tables_keep_fields() {
        let dir = fresh_dir("layout");
        let path = dir.join("events.db");
        let old = 20_000i64;
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(&format!(
                "CREATE TABLE event_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);
                 INSERT INTO event_schema_migrations VALUES (1, 'event partitions', 0);
                 {}
                 {}
                 INSERT INTO event_partitions (day, name) VALUES ({old}, '{}');",
                MIGRATIONS[0].2,
                table_ddl(&partition_name(old)).replace("fields      TEXT,", "fields      TEXT    NOT NULL,"),
                partition_name(old)
            ))
            .unwrap();
        }
        let store = crate::store::open(path.to_str().unwrap()).await.unwrap();
        let f = serde_json::json!({"a": {"b": "x&y"}, "n": 7});
        let raw = f.to_string();
        let batch = [
            event(old * DAY + 1, &raw, f.clone()),
            event((old + 1) * DAY + 1, &raw, f.clone()),
        ];
        assert_eq!(store.append(&batch).await.unwrap().accepted, 2);
        let q = crate::query::parse("a.b:x&y n:7").unwrap();
        let r = store
            .search(&Search::new(&q, old * DAY, (old + 2) * DAY))
            .await
            .unwrap();
        assert_eq!(r.total, 2);
        assert!(r.events.iter().all(|h| h.event.fields == f));
        drop(store);
        let c = Connection::open(&path).unwrap();
        let stored = |day: i64| -> Option<String> {
            c.query_row(
                &format!("SELECT fields FROM {}", partition_name(day)),
                [],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(stored(old).as_deref(), Some(raw.as_str()));
        assert_eq!(stored(old + 1), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// How many events of `day` its postings say match `text`; `None` when the day would be
    /// read from its rows.
    fn from_postings(c: &Connection, day: i64, text: &str) -> Option<usize> {
        let plan = Plan::of(&crate::query::parse(text).unwrap());
        from_terms(c, day, &partition_name(day), LAYOUT, plan.as_ref())
            .unwrap()
            .map(|hits| hits.len())
    }

    /// Random audit-like events, some in shapes the postings must read as the SQL does
    /// (dotted keys, arrays of objects, strings of digits, case, non-ASCII, keys with `"`,
    /// nulls); day 2 alone has a float under `responseStatus.code`.
    fn audit_like(rng: &mut palisade_core::rng::XorShift, time: Nanos, day: i64) -> Event {
        use serde_json::{Value, json};
        let mut f = serde_json::Map::new();
        let verb: Value = match rng.below(12) {
            0 => json!("DELETE"),
            1 => json!("délete"),
            2 => json!(7),
            3 => Value::Null,
            n => json!(
                [
                    "get", "list", "delete", "create", "watch", "delete", "get", "get"
                ][n as usize - 4]
            ),
        };
        f.insert("verb".into(), verb);
        let resource = |rng: &mut palisade_core::rng::XorShift| {
            json!(*rng.pick(&["secrets", "pods", "Secrets", "configmaps"]))
        };
        let object = match rng.below(5) {
            0 => {
                json!([{"resource": resource(rng)}, {"resource": resource(rng), "namespace": "prod"}])
            }
            1 => json!({"resource": null}),
            _ => json!({"resource": resource(rng), "namespace": *rng.pick(&["prod", "dev"])}),
        };
        f.insert("objectRef".into(), object);
        let user = *rng.pick(&["alice", "bob", "Alice", "system:admin"]);
        let groups = json!(["system:authenticated", *rng.pick(&["developers", "ops"])]);
        if rng.below(4) == 0 {
            f.insert("user.username".into(), json!(user));
            f.insert("user.groups".into(), groups);
        } else {
            f.insert("user".into(), json!({"username": user, "groups": groups}));
        }
        let code = match rng.below(6) {
            0 => json!("403"),
            1 if day == 2 => json!(403.5),
            n => json!([200, 403, 404, 201, 200][n as usize - 1]),
        };
        f.insert("responseStatus".into(), json!({"code": code}));
        f.insert("readOnly".into(), json!(rng.below(2) == 0));
        if rng.below(10) == 0 {
            f.insert("verb\"".into(), json!("delete"));
        }
        let fields = Value::Object(f);
        event(time, &fields.to_string(), fields)
    }

    /// Counts and histograms over indexed JSON paths come from the postings wherever a day
    /// allows it, and equal `Query::matches` over the same events: across time ranges that cut
    /// days, after retention trims a day, after late rows land in a trimmed day, and after an
    /// earlier cut that the postings cannot say (the day is then read from its rows).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn counts_from_postings() {
        let (dir, path, store) = fresh_store("postings").await;
        let d0 = 20_710i64 * DAY;
        let mut rng = palisade_core::rng::XorShift::new(0x9E37_79B9_7F4A_7C15);
        let mut all: Vec<Event> = Vec::new();
        for chunk in 0..8 {
            let batch: Vec<Event> = (0..700)
                .map(|_| {
                    let day = rng.below(3) as i64;
                    let t = d0 + day * DAY + rng.below(DAY as u64) as i64;
                    audit_like(&mut rng, t, day)
                })
                .collect();
            let r = store.append(&batch).await.unwrap();
            assert_eq!(r.accepted, 700, "chunk {chunk}");
            all.extend(batch);
        }
        let queries = [
            "verb:delete",
            "verb:DELETE objectRef.resource:secrets",
            "verb:get OR verb:list",
            "(verb:delete OR verb:create) objectRef.resource:pods",
            "objectRef.resource:secrets objectRef.namespace:prod",
            "user.username:alice",
            "user.groups:developers verb:watch",
            "fields.verb:7",
            "readOnly:TRUE verb:get",
            "responseStatus.code:403",
            "verb:nothing",
        ];
        let check = |all: Vec<Event>, stage: &'static str| {
            let store = store.clone();
            async move {
                for text in queries {
                    let q = crate::query::parse(text).unwrap();
                    for (from, to, buckets) in [
                        (d0 - DAY, d0 + 4 * DAY, 12u32),
                        (d0 + 5 * MINUTE + 3, d0 + 2 * DAY + 7 * 60 * MINUTE, 31),
                    ] {
                        let times: Vec<Nanos> = all
                            .iter()
                            .filter(|e| e.time >= from && e.time < to && q.matches(e))
                            .map(|e| e.time)
                            .collect();
                        let mut search = Search::new(&q, from, to);
                        search.limit = 1;
                        let r = store.search(&search).await.unwrap();
                        assert_eq!(r.total as usize, times.len(), "{stage}: {text}: count");
                        // Pages: newest first, then oldest first across a cursor (events
                        // with one time are ordered by insertion, as `all` is).
                        let mut order: Vec<(Nanos, usize)> = all
                            .iter()
                            .enumerate()
                            .filter(|(_, e)| e.time >= from && e.time < to && q.matches(e))
                            .map(|(i, e)| (e.time, i))
                            .collect();
                        order.sort_unstable();
                        let raw_of = |i: usize| all[i].raw.clone();
                        search.limit = 5;
                        let page = store.search(&search).await.unwrap();
                        let got: Vec<String> =
                            page.events.iter().map(|h| h.event.raw.clone()).collect();
                        let want: Vec<String> = order
                            .iter()
                            .rev()
                            .take(5)
                            .map(|&(_, i)| raw_of(i))
                            .collect();
                        assert_eq!(got, want, "{stage}: {text}: newest page");
                        search.order = Order::Asc;
                        search.count = false;
                        search.limit = 3;
                        let p1 = store.search(&search).await.unwrap();
                        let mut got: Vec<String> =
                            p1.events.iter().map(|h| h.event.raw.clone()).collect();
                        if let Some(c) = p1.next {
                            search.cursor = Some(c);
                            let p2 = store.search(&search).await.unwrap();
                            got.extend(p2.events.iter().map(|h| h.event.raw.clone()));
                        }
                        let want: Vec<String> =
                            order.iter().take(6).map(|&(_, i)| raw_of(i)).collect();
                        assert_eq!(got, want, "{stage}: {text}: two pages, oldest first");
                        let width = super::super::bucket_width(from, to, buckets);
                        let mut expected = vec![0u64; buckets as usize];
                        for t in &times {
                            expected[((t - from) / width) as usize] += 1;
                        }
                        let h = store.histogram(&q, from, to, buckets).await.unwrap();
                        let got: Vec<u64> = h.iter().map(|b| b.count).collect();
                        assert_eq!(got, expected, "{stage}: {text}: histogram");
                    }
                }
            }
        };
        // Which days the postings answer: every day but the one with a float under the code.
        let answered = |text: &str| -> Vec<bool> {
            let c = Connection::open(&path).unwrap();
            (0..3)
                .map(|d| from_postings(&c, day_of(d0) + d, text).is_some())
                .collect()
        };
        assert_eq!(answered("verb:delete"), [true, true, true]);
        assert_eq!(answered("responseStatus.code:403"), [true, true, false]);
        assert_eq!(answered("verb:del*"), [false, false, false]);
        check(all.clone(), "as written").await;

        // Retention trims day 0 at 12:00.
        let now = d0 + 3 * DAY;
        let keep = |cut: Nanos| crate::store::Retention {
            max_age: Some(Duration::from_nanos((now - cut) as u64)),
            max_bytes: None,
        };
        let r = store.retain(keep(d0 + DAY / 2), now).await.unwrap();
        assert!(r.events_deleted > 0);
        all.retain(|e| e.time >= d0 + DAY / 2);
        assert_eq!(answered("verb:delete"), [true, true, true]);
        check(all.clone(), "trimmed").await;

        // Late events land in day 0 before the cut: new rows the postings keep.
        let late: Vec<Event> = (0..300)
            .map(|i| audit_like(&mut rng, d0 + HOUR_TEST + i, 0))
            .collect();
        store.append(&late).await.unwrap();
        all.extend(late);
        assert_eq!(answered("verb:delete"), [true, true, true]);
        check(all.clone(), "late rows").await;

        // An earlier cut than the last: day 0 is read from its rows from now on.
        let r = store.retain(keep(d0 + HOUR_TEST + 150), now).await.unwrap();
        assert_eq!(r.events_deleted, 150);
        all.retain(|e| e.time >= d0 + HOUR_TEST + 150);
        assert_eq!(answered("verb:delete"), [false, true, true]);
        check(all, "cut earlier").await;
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    const HOUR_TEST: Nanos = 3_600_000_000_000;

    /// A path with more distinct values in one commit than a commit writes terms for gets its
    /// `other` term in that day: counts over it read the day's rows, and stay right.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_values_fall_back_to_rows() {
        let (dir, path, store) = fresh_store("many-values").await;
        let d0 = 20_720i64 * DAY;
        let n = terms::MAX_VALUES_PER_COMMIT as i64 + 1;
        let batch: Vec<Event> = (0..n)
            .map(|i| {
                let f = serde_json::json!({"verb": "get", "objectRef": {"namespace": format!("ns{}", i % n)}});
                event(d0 + i, &f.to_string(), f)
            })
            .collect();
        store.append(&batch).await.unwrap();
        let c = Connection::open(&path).unwrap();
        let answered = |text: &str| from_postings(&c, day_of(d0), text);
        assert_eq!(answered("verb:get"), Some(n as usize));
        assert_eq!(answered("objectRef.namespace:ns7"), None);
        let q = crate::query::parse("objectRef.namespace:ns7 verb:get").unwrap();
        let mut search = Search::new(&q, d0, d0 + DAY);
        search.limit = 1;
        assert_eq!(store.search(&search).await.unwrap().total, 1);
        let q = crate::query::parse("objectRef.namespace:ns* verb:get").unwrap();
        search = Search::new(&q, d0, d0 + DAY);
        search.limit = 1;
        assert_eq!(store.search(&search).await.unwrap().total, n as u64);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Retention cuts keep the postings exact: rows appended late into a trimmed day count
    /// until a later cut deletes them, and a cut that deletes the day's newest row (whose id
    /// SQLite may give out again) stops the day using its postings.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn retention_cuts_and_reused_ids() {
        let (dir, path, store) = fresh_store("postings-cuts").await;
        let at = |day: i64, hour: i64, verb: &str| {
            let f = serde_json::json!({ "verb": verb });
            event(day * DAY + hour * HOUR_TEST, &f.to_string(), f)
        };
        let (d, e) = (20_730i64, 20_731i64);
        let now = (e + 2) * DAY;
        let cut = |day: i64, hour: i64| crate::store::Retention {
            max_age: Some(Duration::from_nanos(
                (now - day * DAY - hour * HOUR_TEST) as u64,
            )),
            max_bytes: None,
        };
        let count = |text: &'static str, day: i64| {
            let store = store.clone();
            async move {
                let q = crate::query::parse(text).unwrap();
                let mut s = Search::new(&q, day * DAY, (day + 1) * DAY);
                s.limit = 1;
                let r = store.search(&s).await.unwrap();
                let h = store
                    .histogram(&q, day * DAY, (day + 1) * DAY, 24)
                    .await
                    .unwrap();
                assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), r.total, "{text}");
                r.total
            }
        };
        let answered = |day: i64| {
            let c = Connection::open(&path).unwrap();
            from_postings(&c, day, "verb:delete").is_some()
        };
        // Day d: the newest row (a late one) is cut.
        store
            .append(&[at(d, 10, "delete"), at(d, 1, "delete")])
            .await
            .unwrap();
        // Day e: the newest row stays.
        store
            .append(&[at(e, 1, "delete"), at(e, 10, "delete")])
            .await
            .unwrap();
        store.retain(cut(d, 5), now).await.unwrap();
        assert!(!answered(d));
        assert_eq!(count("verb:delete", d).await, 1);
        // Its id is given out again.
        store.append(&[at(d, 3, "get")]).await.unwrap();
        assert_eq!(count("verb:get", d).await, 1);

        // Day e, cut at 05:00 (its 01:00 row goes); a late 02:00 row and a 23:00 row come.
        store.retain(cut(e, 5), now).await.unwrap();
        assert!(answered(e));
        assert_eq!(count("verb:delete", e).await, 1);
        store
            .append(&[at(e, 2, "delete"), at(e, 23, "get")])
            .await
            .unwrap();
        assert!(answered(e));
        assert_eq!(count("verb:delete", e).await, 2);
        // A later cut takes the late row, not the newest.
        store.retain(cut(e, 6), now).await.unwrap();
        assert!(answered(e));
        assert_eq!(count("verb:delete", e).await, 1);
        assert_eq!(count("verb:get", e).await, 1);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Commits of one event each add to the term's last small row instead of a row each.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn small_commits_share_postings_rows() {
        let (dir, path, store) = fresh_store("postings-small").await;
        let d0 = 20_740i64 * DAY;
        for i in 0..300 {
            let f = serde_json::json!({ "verb": if i % 3 == 0 { "get" } else { "list" } });
            store
                .append(&[event(d0 + i * 1_000, &f.to_string(), f)])
                .await
                .unwrap();
        }
        let c = Connection::open(&path).unwrap();
        let rows: i64 = c
            .query_row(
                &format!("SELECT count(*) FROM {}_terms", partition_name(day_of(d0))),
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(rows, 2);
        let q = crate::query::parse("verb:get").unwrap();
        let mut s = Search::new(&q, d0, d0 + DAY);
        s.limit = 7;
        let r = store.search(&s).await.unwrap();
        assert_eq!(r.total, 100);
        let times: Vec<Nanos> = r.events.iter().map(|h| h.event.time).collect();
        let want: Vec<Nanos> = (0..7).map(|k| d0 + (297 - 3 * k) * 1_000).collect();
        assert_eq!(times, want);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A day made by a binary that indexes other paths: its postings answer only for paths in
    /// both lists, and once this binary writes to the day, for none.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn days_indexed_by_another_list() {
        let dir = fresh_dir("postings-paths");
        let path = dir.join("events.db");
        let d0 = 20_750i64 * DAY;
        let ev = |i: i64| {
            let f = serde_json::json!({"verb": "get", "objectRef": {"resource": "secrets"}});
            event(d0 + i, &f.to_string(), f)
        };
        let store = crate::store::open(path.to_str().unwrap()).await.unwrap();
        store.append(&[ev(1), ev(2)]).await.unwrap();
        drop(store);
        // As an older binary that indexed `verb` alone would have made the day.
        let c = Connection::open(&path).unwrap();
        c.execute("UPDATE event_partitions SET terms_paths = 'verb'", [])
            .unwrap();
        let answered = |c: &Connection, text: &str| from_postings(c, day_of(d0), text);
        assert_eq!(answered(&c, "verb:get"), Some(2));
        assert_eq!(answered(&c, "objectRef.resource:secrets"), None);
        let store = crate::store::open(path.to_str().unwrap()).await.unwrap();
        store.append(&[ev(3)]).await.unwrap();
        assert_eq!(answered(&c, "verb:get"), None);
        for text in ["verb:get", "objectRef.resource:secrets verb:get"] {
            let q = crate::query::parse(text).unwrap();
            let mut s = Search::new(&q, d0, d0 + DAY);
            s.limit = 1;
            assert_eq!(store.search(&s).await.unwrap().total, 3, "{text}");
        }
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
