//! The local advisory store: a SQLite file `<cache_dir>/osv.db`, indexed by ecosystem and
//! normalised package name, that opens without loading anything.
//!
//! Layout (schema version [`SCHEMA_VERSION`]):
//!
//! - `advisories (id PK, modified, withdrawn, json)`: one row per OSV id; `modified` is a
//!   fixed-width UTC form that sorts chronologically, `json` the record as read (unknown fields
//!   included). Withdrawn records are stored and flagged; [`Store::lookup`] leaves them out.
//! - `affected (ecosystem, name, advisory_id)`, primary key in that order: `ecosystem` exactly as
//!   in the record (`Debian:12`, `PyPI`, `Alpine:v3.19`), `name` after [`normalize_name`].
//! - `sources (advisory_id, feed)`: which feeds supplied a record. A feed is what one update
//!   downloads (an osv.dev ecosystem, `PyPI` or `Debian`); an import links a record to the base
//!   ecosystem (before the first `:`) of each of its packages. Updating a feed removes the records
//!   it no longer lists, unless another feed still supplies them.
//! - `ecosystems (name, advisories, withdrawn)`: counts, rebuilt on every write.
//! - `meta (key, value)`: `schema_version`, `built_at`, `advisories`, `withdrawn`, and per feed
//!   `feed/<name>/{source,etag,last_modified,updated_at,records,withdrawn}`.
//!
//! Writes never touch `osv.db` itself: the writer copies it to a temporary file in the same
//! directory, changes the copy in one transaction, commits, syncs, and renames the copy over the
//! original. Any failure removes the copy, so readers always see a complete database. One writer
//! at a time, guarded by a lock on `osv.db.lock`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::osv::{self, Advisory, Format, MAX_RECORD_BYTES, Timestamp};

/// The database file name inside the cache directory.
pub const DB_FILE: &str = "osv.db";
/// The layout version; a database of another version is rebuilt by the next import or update.
pub const SCHEMA_VERSION: u32 = 1;
/// Most entries a zip archive may have.
pub const MAX_ZIP_ENTRIES: usize = 2_000_000;
/// Most bytes all the records of one zip archive may decompress to.
pub const MAX_ZIP_TOTAL_BYTES: u64 = 8 << 30;
/// How many record errors an import report keeps.
pub const MAX_REPORTED_ERRORS: usize = 10;

const LOCK_FILE: &str = "osv.db.lock";
const TEMP_PREFIX: &str = ".osv.db.tmp.";
pub(crate) const DOWNLOAD_PREFIX: &str = ".osv-download.";

/// Why the store could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "no vulnerability database in {}; run `palisade db update` or `palisade db import PATH`",
        dir.display()
    )]
    Missing { dir: PathBuf },
    #[error(
        "vulnerability database {} has layout version {found}, this palisade reads version {expected}; run `palisade db update` or `palisade db import PATH` to rebuild it",
        path.display()
    )]
    Incompatible {
        path: PathBuf,
        found: String,
        expected: u32,
    },
    #[error("vulnerability database {}: {message}", path.display())]
    Database { path: PathBuf, message: String },
    #[error("stored advisory {id} cannot be read: {message}")]
    Corrupt { id: String, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: not a usable OSV zip archive: {message}", path.display())]
    BadArchive { path: PathBuf, message: String },
    #[error("{}: not a directory, a zip archive or an OSV record (.json, .yaml, .yml)", path.display())]
    UnsupportedInput { path: PathBuf },
    #[error("nothing to import: no paths given")]
    NoInput,
    #[error(
        "another `palisade db update` or `palisade db import` is running (lock {})",
        path.display()
    )]
    Locked { path: PathBuf },
    #[error("{ecosystem}: {message}")]
    Download { ecosystem: String, message: String },
    #[error("{}", update_failed_message(failed, updated))]
    UpdateFailed {
        /// `(ecosystem, reason)` of each ecosystem that could not be updated.
        failed: Vec<(String, String)>,
        /// Ecosystems that were updated (committed) anyway.
        updated: Vec<String>,
    },
}

fn update_failed_message(failed: &[(String, String)], updated: &[String]) -> String {
    let mut out = String::from("update failed for ");
    for (i, (eco, why)) in failed.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(&format!("{eco} ({why})"));
    }
    if updated.is_empty() {
        out.push_str("; the database is unchanged");
    } else {
        out.push_str(&format!("; updated: {}", updated.join(", ")));
    }
    out
}

impl StoreError {
    fn io(path: &Path, source: io::Error) -> StoreError {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

fn db_err(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::Database {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// The default cache directory: `$PALISADE_CACHE_DIR`, else `$XDG_CACHE_HOME/palisade`, else
/// `~/.cache/palisade` (the system temporary directory when there is no home either).
pub fn default_cache_dir() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("PALISADE_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = var("XDG_CACHE_HOME").map(PathBuf::from)
        && dir.is_absolute()
    {
        return dir.join("palisade");
    }
    if let Some(home) = var("HOME") {
        return PathBuf::from(home).join(".cache").join("palisade");
    }
    std::env::temp_dir().join("palisade")
}

/// The form a package name is indexed and compared under, following how each ecosystem treats
/// names:
///
/// - PyPI: PEP 503 (lowercase; each run of `-`, `_`, `.` becomes one `-`), which is also the
///   form OSV records use;
/// - npm, NuGet, Packagist: lowercase (their registries treat names case-insensitively);
/// - Maven: lowercase. Maven Central paths are case-sensitive, but no two artifacts there differ
///   only in case, and advisories do not always spell `groupId:artifactId` as the POM does;
/// - everything else (Go, crates.io, RubyGems, Hex, Pub, distributions): as is.
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    let base = ecosystem.split(':').next().unwrap_or(ecosystem);
    match base {
        "PyPI" => {
            let mut out = String::with_capacity(name.len());
            let mut in_run = false;
            for c in name.chars() {
                if matches!(c, '-' | '_' | '.') {
                    if !in_run {
                        out.push('-');
                    }
                    in_run = true;
                } else {
                    out.extend(c.to_lowercase());
                    in_run = false;
                }
            }
            out
        }
        "npm" | "NuGet" | "Packagist" | "Maven" => name.to_lowercase(),
        _ => name.to_string(),
    }
}

/// The base of an ecosystem name: `Debian` for `Debian:12`.
fn base_ecosystem(ecosystem: &str) -> &str {
    ecosystem.split(':').next().unwrap_or(ecosystem)
}

/// What the store holds, for `palisade db status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub path: PathBuf,
    pub file_size: u64,
    pub schema_version: u32,
    /// When the database was last written (RFC 3339, UTC).
    pub built_at: Option<String>,
    /// Advisories that are not withdrawn.
    pub advisories: u64,
    pub withdrawn: u64,
    /// Every ecosystem exactly as in the records, by name.
    pub ecosystems: Vec<EcosystemCount>,
    /// Every feed (update unit), by name.
    pub feeds: Vec<FeedStatus>,
}

/// Advisories naming packages of one ecosystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcosystemCount {
    pub ecosystem: String,
    pub advisories: u64,
    pub withdrawn: u64,
}

/// Where a feed's records came from and when.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FeedStatus {
    pub name: String,
    /// The URL downloaded, or `import <paths>`.
    pub source: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub updated_at: Option<String>,
    /// Records the feed supplies that are not withdrawn.
    pub records: u64,
    pub withdrawn: u64,
}

/// A read-only view of the store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens `<cache_dir>/osv.db` read-only. Nothing is loaded: lookups use the index.
    pub fn open(cache_dir: &Path) -> Result<Store, StoreError> {
        let path = cache_dir.join(DB_FILE);
        if !path.is_file() {
            return Err(StoreError::Missing {
                dir: cache_dir.to_path_buf(),
            });
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db_err(&path))?;
        check_version(&conn, &path)?;
        Ok(Store { conn, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The advisories (not withdrawn) with a package of exactly `ecosystem` whose name
    /// normalises like `name`, ordered by id.
    pub fn lookup(&self, ecosystem: &str, name: &str) -> Result<Vec<Advisory>, StoreError> {
        let name = normalize_name(ecosystem, name);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.id, a.json FROM advisories a WHERE a.withdrawn = 0 AND a.id IN \
                 (SELECT advisory_id FROM affected WHERE ecosystem = ?1 AND name = ?2) \
                 ORDER BY a.id",
            )
            .map_err(db_err(&self.path))?;
        let rows = stmt
            .query_map(params![ecosystem, name], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(db_err(&self.path))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, json) = row.map_err(db_err(&self.path))?;
            out.push(decode(&id, &json)?);
        }
        Ok(out)
    }

    /// One advisory by id, withdrawn or not.
    pub fn get(&self, id: &str) -> Result<Option<Advisory>, StoreError> {
        let json: Option<String> = self
            .conn
            .query_row(
                "SELECT json FROM advisories WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err(&self.path))?;
        json.map(|j| decode(id, &j)).transpose()
    }

    /// The stored ecosystems that are `prefix` or a variant of it (`prefix:` followed by more),
    /// so that matching can choose: `Ubuntu:22.04` gives `Ubuntu:22.04` and `Ubuntu:22.04:LTS`,
    /// `Debian` gives `Debian`, `Debian:11`, `Debian:12`. Components match whole: `Ubuntu:22`
    /// does not give `Ubuntu:22.04`.
    pub fn ecosystems_like(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT name FROM ecosystems WHERE name = ?1 \
                 OR substr(name, 1, length(?1) + 1) = ?1 || ':' ORDER BY name",
            )
            .map_err(db_err(&self.path))?;
        let rows = stmt
            .query_map(params![prefix], |r| r.get::<_, String>(0))
            .map_err(db_err(&self.path))?;
        rows.collect::<Result<_, _>>().map_err(db_err(&self.path))
    }

    /// What the store holds.
    pub fn status(&self) -> Result<Status, StoreError> {
        let err = db_err(&self.path);
        let meta = read_meta(&self.conn).map_err(&err)?;
        let num = |k: &str| meta.get(k).and_then(|v| v.parse().ok()).unwrap_or(0u64);
        let mut stmt = self
            .conn
            .prepare("SELECT name, advisories, withdrawn FROM ecosystems ORDER BY name")
            .map_err(&err)?;
        let ecosystems = stmt
            .query_map([], |r| {
                Ok(EcosystemCount {
                    ecosystem: r.get(0)?,
                    advisories: r.get::<_, i64>(1)?.max(0) as u64,
                    withdrawn: r.get::<_, i64>(2)?.max(0) as u64,
                })
            })
            .map_err(&err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(&err)?;
        Ok(Status {
            file_size: fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0),
            path: self.path.clone(),
            schema_version: SCHEMA_VERSION,
            built_at: meta.get("built_at").cloned(),
            advisories: num("advisories"),
            withdrawn: num("withdrawn"),
            ecosystems,
            feeds: feeds_from_meta(&meta),
        })
    }

    /// One feed's status, if the store has it.
    pub fn feed(&self, name: &str) -> Result<Option<FeedStatus>, StoreError> {
        let meta = read_meta(&self.conn).map_err(db_err(&self.path))?;
        Ok(feeds_from_meta(&meta).into_iter().find(|f| f.name == name))
    }
}

fn decode(id: &str, json: &str) -> Result<Advisory, StoreError> {
    osv::parse_json(json.as_bytes()).map_err(|e| StoreError::Corrupt {
        id: id.to_string(),
        message: e.to_string(),
    })
}

fn check_version(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let found: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| StoreError::Database {
            path: path.to_path_buf(),
            message: format!(
                "not a palisade vulnerability database ({e}); run `palisade db update` or `palisade db import PATH` to rebuild it"
            ),
        })?;
    match found {
        Some(v) if v == SCHEMA_VERSION.to_string() => Ok(()),
        other => Err(StoreError::Incompatible {
            path: path.to_path_buf(),
            found: other.unwrap_or_else(|| "none".to_string()),
            expected: SCHEMA_VERSION,
        }),
    }
}

fn read_meta(conn: &Connection) -> rusqlite::Result<BTreeMap<String, String>> {
    let mut stmt = conn.prepare("SELECT key, value FROM meta")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

fn feeds_from_meta(meta: &BTreeMap<String, String>) -> Vec<FeedStatus> {
    let mut feeds: BTreeMap<String, FeedStatus> = BTreeMap::new();
    for (key, value) in meta {
        let Some((name, field)) = key.strip_prefix("feed/").and_then(|k| k.rsplit_once('/')) else {
            continue;
        };
        let feed = feeds.entry(name.to_string()).or_insert_with(|| FeedStatus {
            name: name.to_string(),
            ..FeedStatus::default()
        });
        match field {
            "source" => feed.source = Some(value.clone()),
            "etag" => feed.etag = Some(value.clone()),
            "last_modified" => feed.last_modified = Some(value.clone()),
            "updated_at" => feed.updated_at = Some(value.clone()),
            "records" => feed.records = value.parse().unwrap_or(0),
            "withdrawn" => feed.withdrawn = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    feeds.into_values().collect()
}

/// A record file or zip entry that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportIssue {
    /// The file, or `archive.zip!entry.json`.
    pub file: String,
    pub message: String,
}

/// What an import (or one feed of an update) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Record files and zip entries read.
    pub files: u64,
    /// Valid records among them.
    pub records: u64,
    /// Records with an id the store did not have.
    pub inserted: u64,
    /// Records newer (`modified`) than the stored version, which they replaced.
    pub replaced: u64,
    /// Records the store already had at the same or a newer `modified`.
    pub kept: u64,
    /// Valid records that are withdrawn (stored, flagged, never matched).
    pub withdrawn: u64,
    /// Files or entries skipped as unreadable or invalid.
    pub malformed: u64,
    /// The first [`MAX_REPORTED_ERRORS`] of them.
    pub errors: Vec<ImportIssue>,
    /// Zip entries that are not records (no .json, .yaml or .yml name).
    pub ignored: u64,
    /// Advisories deleted because their feed no longer lists them (updates only).
    pub removed: u64,
    pub elapsed: Duration,
}

impl ImportReport {
    fn issue(&mut self, file: impl FnOnce() -> String, message: String) {
        self.malformed += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(ImportIssue {
                file: file(),
                message,
            });
        }
    }

    /// Adds another report's counts (and errors, up to the cap) to this one.
    pub fn absorb(&mut self, other: &ImportReport) {
        self.files += other.files;
        self.records += other.records;
        self.inserted += other.inserted;
        self.replaced += other.replaced;
        self.kept += other.kept;
        self.withdrawn += other.withdrawn;
        self.malformed += other.malformed;
        self.ignored += other.ignored;
        self.removed += other.removed;
        self.elapsed += other.elapsed;
        for e in &other.errors {
            if self.errors.len() < MAX_REPORTED_ERRORS {
                self.errors.push(e.clone());
            }
        }
    }
}

/// Adds the records in `paths` to the store in `cache_dir` (created if needed): directories are
/// walked for `*.json`, `*.yaml`, `*.yml` (hidden directories skipped), `*.zip` archives as
/// osv.dev publishes them (`<ecosystem>/all.zip`) are read entry by entry, and single record
/// files are read as such. Invalid records are skipped and counted. Of two records with the same
/// id the newer `modified` wins. All or nothing: on any error (missing path, bad archive, I/O or
/// database failure) the previous database stays as it was.
pub fn import(cache_dir: &Path, paths: &[PathBuf]) -> Result<ImportReport, StoreError> {
    let start = Instant::now();
    if paths.is_empty() {
        return Err(StoreError::NoInput);
    }
    for p in paths {
        fs::metadata(p).map_err(|e| StoreError::io(p, e))?;
    }
    let lock = Lock::acquire(cache_dir)?;
    let mut writer = Writer::begin(cache_dir, lock)?;
    let mut report = ImportReport::default();
    let mut feed_sources: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in paths {
        writer.touched.clear();
        let md = fs::metadata(p).map_err(|e| StoreError::io(p, e))?;
        let name = p.file_name().map(|n| n.to_string_lossy().to_string());
        if md.is_dir() {
            writer.ingest_dir(p, Mode::Import, &mut report)?;
        } else if name
            .as_deref()
            .is_some_and(|n| n.to_ascii_lowercase().ends_with(".zip"))
        {
            writer.ingest_zip(p, Mode::Import, &mut report)?;
        } else if let Some(format) = name.as_deref().and_then(Format::of_name) {
            writer.ingest_file(p, md.len(), format, Mode::Import, &mut report)?;
        } else {
            return Err(StoreError::UnsupportedInput { path: p.clone() });
        }
        for feed in &writer.touched {
            feed_sources
                .entry(feed.clone())
                .or_default()
                .insert(p.display().to_string());
        }
    }
    let now = Timestamp::now().to_rfc3339();
    for (feed, sources) in &feed_sources {
        let source = format!(
            "import {}",
            sources.iter().cloned().collect::<Vec<_>>().join(", ")
        );
        writer.set_feed_meta(
            feed,
            &FeedMeta {
                source,
                etag: None,
                last_modified: None,
                updated_at: now.clone(),
            },
        )?;
    }
    writer.finish()?;
    report.elapsed = start.elapsed();
    Ok(report)
}

/// The single-writer lock, `<cache_dir>/osv.db.lock`, released when dropped (or when the
/// process ends).
pub(crate) struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock (failing at once if another writer holds it) and removes temporary files
    /// that an interrupted writer left behind.
    pub(crate) fn acquire(cache_dir: &Path) -> Result<Lock, StoreError> {
        fs::create_dir_all(cache_dir).map_err(|e| StoreError::io(cache_dir, e))?;
        let path = cache_dir.join(LOCK_FILE);
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(StoreError::Locked { path }),
            Err(fs::TryLockError::Error(e)) => return Err(StoreError::io(&path, e)),
        }
        if let Ok(entries) = fs::read_dir(cache_dir) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with(TEMP_PREFIX) || name.starts_with(DOWNLOAD_PREFIX) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        Ok(Lock { _file: file })
    }
}

/// Provenance of a feed, written to `meta`.
pub(crate) struct FeedMeta {
    pub source: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub updated_at: String,
}

#[derive(Clone, Copy)]
pub(crate) enum Mode<'a> {
    /// Link each record to the base ecosystems of its packages.
    Import,
    /// Link each record to this feed and remember its id (to remove what the feed dropped).
    Feed(&'a str),
}

enum Put {
    Inserted,
    Replaced,
    Kept,
}

/// Builds the next database in a temporary copy and swaps it in on [`Writer::finish`].
pub(crate) struct Writer {
    dir: PathBuf,
    final_path: PathBuf,
    temp_path: PathBuf,
    conn: Option<Connection>,
    finished: bool,
    /// Feeds that records were linked to (import mode).
    touched: BTreeSet<String>,
    _lock: Lock,
}

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE advisories (
    id TEXT PRIMARY KEY,
    modified TEXT NOT NULL,
    withdrawn INTEGER NOT NULL,
    json TEXT NOT NULL
);
CREATE TABLE affected (
    ecosystem TEXT NOT NULL,
    name TEXT NOT NULL,
    advisory_id TEXT NOT NULL,
    PRIMARY KEY (ecosystem, name, advisory_id)
) WITHOUT ROWID;
CREATE INDEX affected_by_advisory ON affected (advisory_id);
CREATE TABLE sources (
    advisory_id TEXT NOT NULL,
    feed TEXT NOT NULL,
    PRIMARY KEY (advisory_id, feed)
) WITHOUT ROWID;
CREATE INDEX sources_by_feed ON sources (feed, advisory_id);
CREATE TABLE ecosystems (
    name TEXT PRIMARY KEY,
    advisories INTEGER NOT NULL,
    withdrawn INTEGER NOT NULL
) WITHOUT ROWID;
";

impl Writer {
    pub(crate) fn begin(cache_dir: &Path, lock: Lock) -> Result<Writer, StoreError> {
        let final_path = cache_dir.join(DB_FILE);
        let temp_path = cache_dir.join(format!("{TEMP_PREFIX}{}", std::process::id()));
        let mut writer = Writer {
            dir: cache_dir.to_path_buf(),
            final_path,
            temp_path,
            conn: None,
            finished: false,
            touched: BTreeSet::new(),
            _lock: lock,
        };
        writer.remove_temp();
        let mut fresh = true;
        if writer.final_path.is_file() {
            fs::copy(&writer.final_path, &writer.temp_path)
                .map_err(|e| StoreError::io(&writer.temp_path, e))?;
            match writer.connect() {
                Ok(conn) if check_version(&conn, &writer.temp_path).is_ok() => {
                    writer.conn = Some(conn);
                    fresh = false;
                }
                // Unreadable or of another layout: start over.
                _ => writer.remove_temp(),
            }
        }
        if fresh {
            let conn = writer.connect()?;
            conn.execute_batch(SCHEMA)
                .map_err(db_err(&writer.temp_path))?;
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                params![SCHEMA_VERSION.to_string()],
            )
            .map_err(db_err(&writer.temp_path))?;
            writer.conn = Some(conn);
        }
        writer
            .exec("BEGIN IMMEDIATE; CREATE TEMP TABLE seen (id TEXT PRIMARY KEY) WITHOUT ROWID;")?;
        Ok(writer)
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open(&self.temp_path).map_err(db_err(&self.temp_path))?;
        // The copy is private until the rename; durability comes from one fsync at the end.
        conn.execute_batch(
            "PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;",
        )
        .map_err(db_err(&self.temp_path))?;
        Ok(conn)
    }

    fn conn(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("the connection lives until finish or drop")
    }

    fn exec(&self, sql: &str) -> Result<(), StoreError> {
        self.conn()
            .execute_batch(sql)
            .map_err(db_err(&self.temp_path))
    }

    fn remove_temp(&self) {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut p = self.temp_path.clone().into_os_string();
            p.push(suffix);
            let _ = fs::remove_file(PathBuf::from(p));
        }
    }

    /// Stores one record (if newer than what is stored) and links it to `feeds`.
    fn put(&self, parsed: &osv::Parsed, feeds: &BTreeSet<String>) -> Result<Put, StoreError> {
        let err = db_err(&self.temp_path);
        let conn = self.conn();
        let a = &parsed.advisory;
        let key = a.modified_time().unwrap_or_default().sort_key();
        let existing: Option<String> = conn
            .prepare_cached("SELECT modified FROM advisories WHERE id = ?1")
            .and_then(|mut s| s.query_row(params![a.id], |r| r.get(0)).optional())
            .map_err(&err)?;
        let outcome = match existing {
            None => Put::Inserted,
            Some(old) if old < key => Put::Replaced,
            Some(_) => Put::Kept,
        };
        if !matches!(outcome, Put::Kept) {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO advisories (id, modified, withdrawn, json) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![a.id, key, a.is_withdrawn(), parsed.json]))
            .map_err(&err)?;
            if matches!(outcome, Put::Replaced) {
                conn.prepare_cached("DELETE FROM affected WHERE advisory_id = ?1")
                    .and_then(|mut s| s.execute(params![a.id]))
                    .map_err(&err)?;
            }
            let mut insert = conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO affected (ecosystem, name, advisory_id) \
                     VALUES (?1, ?2, ?3)",
                )
                .map_err(&err)?;
            for (eco, name) in a.packages() {
                insert
                    .execute(params![eco, normalize_name(eco, name), a.id])
                    .map_err(&err)?;
            }
        }
        let mut link = conn
            .prepare_cached("INSERT OR IGNORE INTO sources (advisory_id, feed) VALUES (?1, ?2)")
            .map_err(&err)?;
        for feed in feeds {
            link.execute(params![a.id, feed]).map_err(&err)?;
        }
        Ok(outcome)
    }

    fn mark_seen(&self, id: &str) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached("INSERT OR IGNORE INTO temp.seen (id) VALUES (?1)")
            .and_then(|mut s| s.execute(params![id]))
            .map(|_| ())
            .map_err(db_err(&self.temp_path))
    }

    fn ingest_bytes(
        &mut self,
        label: impl FnOnce() -> String,
        bytes: &[u8],
        format: Format,
        mode: Mode<'_>,
        report: &mut ImportReport,
    ) -> Result<(), StoreError> {
        report.files += 1;
        match osv::parse_record(bytes, format) {
            Ok(parsed) => {
                report.records += 1;
                if parsed.advisory.is_withdrawn() {
                    report.withdrawn += 1;
                }
                let feeds: BTreeSet<String> = match mode {
                    Mode::Import => parsed
                        .advisory
                        .packages()
                        .map(|(eco, _)| base_ecosystem(eco).to_string())
                        .collect(),
                    Mode::Feed(feed) => {
                        self.mark_seen(&parsed.advisory.id)?;
                        BTreeSet::from([feed.to_string()])
                    }
                };
                match self.put(&parsed, &feeds)? {
                    Put::Inserted => report.inserted += 1,
                    Put::Replaced => report.replaced += 1,
                    Put::Kept => report.kept += 1,
                }
                if matches!(mode, Mode::Import) {
                    self.touched.extend(feeds);
                }
            }
            Err(failed) => {
                if let (Mode::Feed(_), Some(id)) = (mode, failed.id.as_deref()) {
                    // Keep the stored version of a record that became unreadable.
                    self.mark_seen(id)?;
                }
                report.issue(label, failed.error.to_string());
            }
        }
        Ok(())
    }

    fn ingest_file(
        &mut self,
        path: &Path,
        len: u64,
        format: Format,
        mode: Mode<'_>,
        report: &mut ImportReport,
    ) -> Result<(), StoreError> {
        let label = || path.display().to_string();
        if len > MAX_RECORD_BYTES as u64 {
            report.files += 1;
            report.issue(
                label,
                format!("record is {len} bytes, over the {MAX_RECORD_BYTES}-byte limit"),
            );
            return Ok(());
        }
        let mut bytes = Vec::with_capacity(len as usize);
        let read = File::open(path)
            .and_then(|f| f.take(MAX_RECORD_BYTES as u64 + 1).read_to_end(&mut bytes));
        if let Err(e) = read {
            report.files += 1;
            report.issue(label, format!("cannot read: {e}"));
            return Ok(());
        }
        self.ingest_bytes(label, &bytes, format, mode, report)
    }

    pub(crate) fn ingest_dir(
        &mut self,
        root: &Path,
        mode: Mode<'_>,
        report: &mut ImportReport,
    ) -> Result<(), StoreError> {
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let mut entries = fs::read_dir(&dir)
                .and_then(|rd| rd.collect::<Result<Vec<_>, _>>())
                .map_err(|e| StoreError::io(&dir, e))?;
            entries.sort_by_key(|e| e.file_name());
            let mut subdirs = Vec::new();
            for entry in entries {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().to_string();
                let Ok(meta) = fs::symlink_metadata(&path) else {
                    continue;
                };
                if meta.is_dir() {
                    if !name.starts_with('.') {
                        subdirs.push(path);
                    }
                    continue;
                }
                let Some(format) = Format::of_name(&name) else {
                    continue;
                };
                // Follow symlinks to files, never to directories (no loops).
                let meta = if meta.file_type().is_symlink() {
                    match fs::metadata(&path) {
                        Ok(m) if m.is_file() => m,
                        _ => continue,
                    }
                } else {
                    meta
                };
                if !meta.is_file() {
                    continue;
                }
                self.ingest_file(&path, meta.len(), format, mode, report)?;
            }
            // Depth-first in name order.
            stack.extend(subdirs.into_iter().rev());
        }
        Ok(())
    }

    pub(crate) fn ingest_zip(
        &mut self,
        path: &Path,
        mode: Mode<'_>,
        report: &mut ImportReport,
    ) -> Result<(), StoreError> {
        let bad = |message: String| StoreError::BadArchive {
            path: path.to_path_buf(),
            message,
        };
        let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
        let mut archive =
            zip::ZipArchive::new(BufReader::new(file)).map_err(|e| bad(e.to_string()))?;
        if archive.len() > MAX_ZIP_ENTRIES {
            return Err(bad(format!(
                "{} entries, over the limit of {MAX_ZIP_ENTRIES}",
                archive.len()
            )));
        }
        let mut total: u64 = 0;
        let mut bytes = Vec::new();
        for i in 0..archive.len() {
            let mut entry = archive
                .by_index(i)
                .map_err(|e| bad(format!("entry {i}: {e}")))?;
            if !entry.is_file() {
                continue;
            }
            let name = entry
                .name()
                .map_err(|e| bad(format!("entry {i}: {e}")))?
                .to_string();
            let Some(format) = Format::of_name(&name) else {
                report.ignored += 1;
                continue;
            };
            let label = || format!("{}!{name}", path.display());
            if entry.size() > MAX_RECORD_BYTES as u64 {
                report.files += 1;
                report.issue(
                    label,
                    format!(
                        "record is {} bytes, over the {MAX_RECORD_BYTES}-byte limit",
                        entry.size()
                    ),
                );
                continue;
            }
            bytes.clear();
            (&mut entry)
                .take(MAX_RECORD_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| bad(format!("{name}: {e}")))?;
            drop(entry);
            total += bytes.len() as u64;
            if total > MAX_ZIP_TOTAL_BYTES {
                return Err(bad(format!(
                    "records decompress to more than {MAX_ZIP_TOTAL_BYTES} bytes"
                )));
            }
            if bytes.len() > MAX_RECORD_BYTES {
                report.files += 1;
                report.issue(
                    label,
                    format!("record is over the {MAX_RECORD_BYTES}-byte limit"),
                );
                continue;
            }
            self.ingest_bytes(label, &bytes, format, mode, report)?;
        }
        Ok(())
    }

    /// Replaces feed `feed` with the records of the zip at `zip`: its records are added (newer
    /// wins), the records it no longer lists lose their link to the feed and are deleted when no
    /// other feed supplies them. On error the feed is left as it was (savepoint) and the error
    /// returned; the writer stays usable.
    pub(crate) fn replace_feed(
        &mut self,
        feed: &str,
        zip: &Path,
        meta: &FeedMeta,
    ) -> Result<ImportReport, StoreError> {
        let start = Instant::now();
        self.exec("SAVEPOINT feed; DELETE FROM temp.seen;")?;
        let mut report = ImportReport::default();
        let result = self
            .ingest_zip(zip, Mode::Feed(feed), &mut report)
            .and_then(|()| self.drop_unseen(feed, &mut report))
            .and_then(|()| self.set_feed_meta(feed, meta));
        match result {
            Ok(()) => {
                self.exec("RELEASE feed;")?;
                report.elapsed = start.elapsed();
                Ok(report)
            }
            Err(e) => {
                self.exec("ROLLBACK TO feed; RELEASE feed;")?;
                Err(e)
            }
        }
    }

    fn drop_unseen(&self, feed: &str, report: &mut ImportReport) -> Result<(), StoreError> {
        let err = db_err(&self.temp_path);
        let conn = self.conn();
        let gone: Vec<String> = conn
            .prepare(
                "SELECT advisory_id FROM sources WHERE feed = ?1 \
                 AND advisory_id NOT IN (SELECT id FROM temp.seen)",
            )
            .and_then(|mut s| {
                s.query_map(params![feed], |r| r.get(0))?
                    .collect::<Result<_, _>>()
            })
            .map_err(&err)?;
        for id in gone {
            conn.execute(
                "DELETE FROM sources WHERE feed = ?1 AND advisory_id = ?2",
                params![feed, id],
            )
            .map_err(&err)?;
            let still: bool = conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM sources WHERE advisory_id = ?1)",
                    params![id],
                    |r| r.get(0),
                )
                .map_err(&err)?;
            if !still {
                conn.execute("DELETE FROM affected WHERE advisory_id = ?1", params![id])
                    .map_err(&err)?;
                conn.execute("DELETE FROM advisories WHERE id = ?1", params![id])
                    .map_err(&err)?;
                report.removed += 1;
            }
        }
        Ok(())
    }

    pub(crate) fn set_feed_meta(&self, feed: &str, meta: &FeedMeta) -> Result<(), StoreError> {
        let err = db_err(&self.temp_path);
        let conn = self.conn();
        let fields = [
            ("source", Some(&meta.source)),
            ("etag", meta.etag.as_ref()),
            ("last_modified", meta.last_modified.as_ref()),
            ("updated_at", Some(&meta.updated_at)),
        ];
        for (field, value) in fields {
            let key = format!("feed/{feed}/{field}");
            match value {
                Some(v) => conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                    params![key, v],
                ),
                None => conn.execute("DELETE FROM meta WHERE key = ?1", params![key]),
            }
            .map_err(&err)?;
        }
        Ok(())
    }

    /// Recounts, commits, syncs and renames the new database over the old one.
    pub(crate) fn finish(mut self) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM ecosystems;
             INSERT INTO ecosystems (name, advisories, withdrawn)
               SELECT e.ecosystem, SUM(a.withdrawn = 0), SUM(a.withdrawn <> 0)
               FROM (SELECT DISTINCT ecosystem, advisory_id FROM affected) e
               JOIN advisories a ON a.id = e.advisory_id
               GROUP BY e.ecosystem;
             DELETE FROM meta WHERE key LIKE 'feed/%/records' OR key LIKE 'feed/%/withdrawn';
             INSERT INTO meta (key, value)
               SELECT 'feed/' || s.feed || '/records', SUM(a.withdrawn = 0)
               FROM sources s JOIN advisories a ON a.id = s.advisory_id GROUP BY s.feed;
             INSERT INTO meta (key, value)
               SELECT 'feed/' || s.feed || '/withdrawn', SUM(a.withdrawn <> 0)
               FROM sources s JOIN advisories a ON a.id = s.advisory_id GROUP BY s.feed;
             INSERT OR REPLACE INTO meta (key, value)
               SELECT 'advisories', COUNT(*) FROM advisories WHERE withdrawn = 0;
             INSERT OR REPLACE INTO meta (key, value)
               SELECT 'withdrawn', COUNT(*) FROM advisories WHERE withdrawn <> 0;",
        )?;
        // Feeds that supply nothing (an empty zip) still have their provenance; give them zeros.
        self.exec(
            "INSERT OR IGNORE INTO meta (key, value)
               SELECT substr(key, 1, length(key) - length('updated_at')) || 'records', '0'
               FROM meta WHERE key LIKE 'feed/%/updated_at';
             INSERT OR IGNORE INTO meta (key, value)
               SELECT substr(key, 1, length(key) - length('updated_at')) || 'withdrawn', '0'
               FROM meta WHERE key LIKE 'feed/%/updated_at';",
        )?;
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('built_at', ?1)",
                params![Timestamp::now().to_rfc3339()],
            )
            .map_err(db_err(&self.temp_path))?;
        self.exec("DROP TABLE temp.seen; COMMIT;")?;
        if let Some(conn) = self.conn.take() {
            conn.close().map_err(|(_, e)| db_err(&self.temp_path)(e))?;
        }
        File::open(&self.temp_path)
            .and_then(|f| f.sync_all())
            .map_err(|e| StoreError::io(&self.temp_path, e))?;
        fs::rename(&self.temp_path, &self.final_path)
            .map_err(|e| StoreError::io(&self.final_path, e))?;
        self.finished = true;
        // Make the rename itself durable; not every platform can sync a directory.
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if !self.finished {
            drop(self.conn.take());
            self.remove_temp();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "palisade-vuln-store-unit-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn record(id: &str, modified: &str, eco: &str, name: &str) -> String {
        format!(
            r#"{{"id": "{id}", "modified": "{modified}", "affected": [{{"package": {{"ecosystem": "{eco}", "name": "{name}"}}, "ranges": [{{"type": "ECOSYSTEM", "events": [{{"introduced": "0"}}]}}]}}]}}"#
        )
    }

    #[test]
    fn names() {
        assert_eq!(normalize_name("PyPI", "Jinja2"), "jinja2");
        assert_eq!(normalize_name("PyPI", "Flask__.-Caching"), "flask-caching");
        assert_eq!(normalize_name("PyPI", "zope.interface"), "zope-interface");
        assert_eq!(normalize_name("npm", "JSONStream"), "jsonstream");
        assert_eq!(normalize_name("npm", "@Babel/core"), "@babel/core");
        assert_eq!(normalize_name("Maven", "com.Foo:Bar"), "com.foo:bar");
        assert_eq!(
            normalize_name("NuGet", "Newtonsoft.Json"),
            "newtonsoft.json"
        );
        assert_eq!(
            normalize_name("Packagist", "Symfony/HTTP-Kernel"),
            "symfony/http-kernel"
        );
        assert_eq!(
            normalize_name("Go", "github.com/BurntSushi/toml"),
            "github.com/BurntSushi/toml"
        );
        assert_eq!(normalize_name("crates.io", "Inflector"), "Inflector");
        assert_eq!(normalize_name("RubyGems", "RedCloth"), "RedCloth");
        assert_eq!(normalize_name("Debian:12", "libC6"), "libC6");
    }

    #[test]
    fn missing_store_says_what_to_do() {
        let d = tempdir("missing");
        let e = Store::open(&d).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("no vulnerability database in"), "{msg}");
        assert!(msg.contains("palisade db update"), "{msg}");
        // A file that is not a database.
        fs::write(
            d.join(DB_FILE),
            b"hello, this is not sqlite at all, not at all....",
        )
        .unwrap();
        let e = Store::open(&d).unwrap_err();
        assert!(e.to_string().contains("rebuild"), "{e}");
        // An import rebuilds it.
        let rec = d.join("r.json");
        fs::write(&rec, record("X-1", "2024-01-01T00:00:00Z", "npm", "a")).unwrap();
        import(&d, std::slice::from_ref(&rec)).unwrap();
        assert_eq!(
            Store::open(&d).unwrap().lookup("npm", "A").unwrap().len(),
            1
        );
    }

    #[test]
    fn newer_wins_variants_and_withdrawn() {
        let d = tempdir("newer");
        let src = d.join("src");
        fs::create_dir_all(src.join("a")).unwrap();
        fs::create_dir_all(src.join(".hidden")).unwrap();
        // Files of a directory come before its subdirectories: old first, then the newer one.
        fs::write(
            src.join("b.json"),
            record("X-1", "2024-01-01T00:00:00Z", "Ubuntu:22.04", "pkg"),
        )
        .unwrap();
        fs::write(
            src.join("a/new.json"),
            record(
                "X-1",
                "2024-02-01T00:00:00+05:00",
                "Ubuntu:22.04:LTS",
                "pkg",
            ),
        )
        .unwrap();
        fs::write(
            src.join(".hidden/c.json"),
            record("X-9", "2024-01-01T00:00:00Z", "npm", "x"),
        )
        .unwrap();
        fs::write(
            src.join("w.yaml"),
            "id: X-2\nmodified: '2024-01-01T00:00:00Z'\nwithdrawn: '2024-01-02T00:00:00Z'\naffected:\n- package:\n    ecosystem: 'Ubuntu:22.04'\n    name: pkg\n",
        )
        .unwrap();
        fs::write(src.join("bad.json"), "{").unwrap();
        fs::write(src.join("notes.txt"), "ignored").unwrap();
        let report = import(&d, std::slice::from_ref(&src)).unwrap();
        assert_eq!(report.files, 4, "{report:?}");
        assert_eq!(report.records, 3);
        assert_eq!(report.inserted, 2);
        assert_eq!(report.replaced, 1);
        assert_eq!(report.withdrawn, 1);
        assert_eq!(report.malformed, 1);
        assert!(report.errors[0].file.ends_with("bad.json"));
        let store = Store::open(&d).unwrap();
        assert!(store.lookup("Ubuntu:22.04", "pkg").unwrap().is_empty());
        let got = store.lookup("Ubuntu:22.04:LTS", "pkg").unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].modified, "2024-02-01T00:00:00+05:00");
        assert!(store.get("X-2").unwrap().unwrap().is_withdrawn());
        assert!(store.get("X-9").unwrap().is_none());
        assert_eq!(
            store.ecosystems_like("Ubuntu:22.04").unwrap(),
            ["Ubuntu:22.04", "Ubuntu:22.04:LTS"]
        );
        assert_eq!(
            store.ecosystems_like("Ubuntu:22").unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(store.ecosystems_like("Ubuntu").unwrap().len(), 2);
        let status = store.status().unwrap();
        assert_eq!((status.advisories, status.withdrawn), (1, 1));
        assert_eq!(
            status.ecosystems,
            [
                EcosystemCount {
                    ecosystem: "Ubuntu:22.04".into(),
                    advisories: 0,
                    withdrawn: 1
                },
                EcosystemCount {
                    ecosystem: "Ubuntu:22.04:LTS".into(),
                    advisories: 1,
                    withdrawn: 0
                },
            ]
        );
        assert_eq!(status.feeds.len(), 1);
        assert_eq!(status.feeds[0].name, "Ubuntu");
        assert_eq!((status.feeds[0].records, status.feeds[0].withdrawn), (1, 1));
        assert!(
            status.feeds[0]
                .source
                .as_deref()
                .unwrap()
                .starts_with("import ")
        );
        // Older record later: kept.
        let old = d.join("old.json");
        fs::write(&old, record("X-1", "2023-01-01T00:00:00Z", "npm", "other")).unwrap();
        let r = import(&d, std::slice::from_ref(&old)).unwrap();
        assert_eq!((r.kept, r.inserted, r.replaced), (1, 0, 0));
        let store = Store::open(&d).unwrap();
        assert!(store.lookup("npm", "other").unwrap().is_empty());
        // No temporary files left.
        let names: Vec<String> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert!(!names.iter().any(|n| n.starts_with(".osv")), "{names:?}");
    }

    #[test]
    fn lock_is_exclusive_and_errors_leave_db() {
        let d = tempdir("lock");
        let rec = d.join("r.json");
        fs::write(&rec, record("X-1", "2024-01-01T00:00:00Z", "npm", "a")).unwrap();
        import(&d, std::slice::from_ref(&rec)).unwrap();
        let before = fs::read(d.join(DB_FILE)).unwrap();
        {
            let _held = Lock::acquire(&d).unwrap();
            let e = import(&d, std::slice::from_ref(&rec)).unwrap_err();
            assert!(matches!(e, StoreError::Locked { .. }), "{e}");
        }
        let e = import(&d, &[d.join("nope")]).unwrap_err();
        assert!(matches!(e, StoreError::Io { .. }), "{e}");
        fs::write(d.join("x.txt"), "x").unwrap();
        let e = import(&d, &[d.join("x.txt")]).unwrap_err();
        assert!(matches!(e, StoreError::UnsupportedInput { .. }), "{e}");
        assert!(matches!(import(&d, &[]), Err(StoreError::NoInput)));
        assert_eq!(fs::read(d.join(DB_FILE)).unwrap(), before);
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, body) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(body).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn feed_update(dir: &Path, feed: &str, zip: &[u8]) -> Result<ImportReport, StoreError> {
        let path = dir.join(format!("{feed}.zip"));
        fs::write(&path, zip).unwrap();
        let mut w = Writer::begin(dir, Lock::acquire(dir)?)?;
        let meta = FeedMeta {
            source: "test".into(),
            etag: Some(format!("etag-{feed}")),
            last_modified: None,
            updated_at: Timestamp::now().to_rfc3339(),
        };
        let r = w.replace_feed(feed, &path, &meta);
        if r.is_ok() {
            w.finish()?;
        }
        r
    }

    #[test]
    fn feeds_replace_remove_and_share() {
        let d = tempdir("feeds");
        let a = record("A-1", "2024-01-01T00:00:00Z", "npm", "a");
        let b = record("B-1", "2024-01-01T00:00:00Z", "npm", "b");
        let shared = record("S-1", "2024-01-01T00:00:00Z", "npm", "s");
        let r = feed_update(
            &d,
            "npm",
            &zip_of(&[
                ("A-1.json", a.as_bytes()),
                ("B-1.json", b.as_bytes()),
                ("S-1.json", shared.as_bytes()),
                ("README.txt", b"not a record"),
            ]),
        )
        .unwrap();
        assert_eq!((r.inserted, r.ignored), (3, 1));
        feed_update(&d, "GHSA", &zip_of(&[("S-1.json", shared.as_bytes())])).unwrap();
        // v2 of npm: A-1 became unreadable (its id still readable), B-1 and S-1 are gone.
        let broken = br#"{"id": "A-1", "modified": "not a time"}"#;
        let r = feed_update(&d, "npm", &zip_of(&[("A-1.json", broken)])).unwrap();
        assert_eq!((r.malformed, r.removed), (1, 1), "{r:?}");
        let store = Store::open(&d).unwrap();
        assert_eq!(store.lookup("npm", "a").unwrap().len(), 1, "A-1 kept");
        assert!(store.lookup("npm", "b").unwrap().is_empty(), "B-1 removed");
        assert_eq!(
            store.lookup("npm", "s").unwrap().len(),
            1,
            "S-1 still in GHSA"
        );
        let st = store.status().unwrap();
        let feeds: Vec<(&str, u64, Option<&str>)> = st
            .feeds
            .iter()
            .map(|f| (f.name.as_str(), f.records, f.etag.as_deref()))
            .collect();
        assert_eq!(
            feeds,
            [("GHSA", 1, Some("etag-GHSA")), ("npm", 1, Some("etag-npm"))]
        );
        // A feed update that fails leaves everything as it was.
        let before = fs::read(d.join(DB_FILE)).unwrap();
        let e = feed_update(&d, "npm", b"not a zip").unwrap_err();
        assert!(matches!(e, StoreError::BadArchive { .. }), "{e}");
        assert_eq!(fs::read(d.join(DB_FILE)).unwrap(), before);
    }

    #[test]
    fn oversized_zip_entries_are_skipped() {
        let d = tempdir("bigentry");
        let mut big = record("BIG-1", "2024-01-01T00:00:00Z", "npm", "big").into_bytes();
        big.truncate(big.len() - 1);
        big.extend_from_slice(br#", "details": ""#);
        big.extend(std::iter::repeat_n(b'x', MAX_RECORD_BYTES));
        big.extend_from_slice(br#""}"#);
        let small = record("SMALL-1", "2024-01-01T00:00:00Z", "npm", "small");
        let zip = d.join("all.zip");
        fs::write(
            &zip,
            zip_of(&[("BIG-1.json", &big), ("SMALL-1.json", small.as_bytes())]),
        )
        .unwrap();
        let r = import(&d.join("cache"), std::slice::from_ref(&zip)).unwrap();
        assert_eq!((r.files, r.records, r.malformed), (2, 1, 1));
        assert!(r.errors[0].file.ends_with("all.zip!BIG-1.json"), "{r:?}");
        assert!(r.errors[0].message.contains("limit"), "{r:?}");
    }
}
