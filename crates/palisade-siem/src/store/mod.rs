//! The event store: security events, partitioned by time, on SQLite or PostgreSQL.
//!
//! ```text
//! let store = store::open("/var/lib/palisade/events.db").await?;   // or "postgres://…"
//! let receipt = store.append(&events).await?;                       // durable when it returns
//! let page = store.search(&Search::new(&query, from, to)).await?;
//! let counts = store.histogram(&query, from, to, 60).await?;
//! store.retain(Retention { max_age: Some(week), max_bytes: None }, now).await?;
//! ```
//!
//! # API: async, one handle, two backends
//!
//! [`EventStore`] is cheap to clone (clones share the connections) and every call is `async`:
//! the server is tokio/axum, and nothing here blocks an executor thread.
//! - SQLite ([`sqlite`]): rusqlite is synchronous. Appends go over a bounded channel to one
//!   dedicated writer thread that owns the only write connection; it commits whatever batches
//!   are queued in one transaction (group commit) and answers each sender after the commit.
//!   Searches run on tokio's blocking pool with a small pool of read connections, which WAL
//!   lets run next to the writer.
//! - PostgreSQL ([`postgres`]): a bb8 pool of tokio-postgres connections (TLS as in
//!   `palisade-store`: `sslmode`, `sslrootcert`, `pool_max_size` in the URL).
//!
//! # Partitions
//!
//! Events are partitioned by the UTC day of their `time` (the event's own clock):
//! - SQLite: one table per day, `events_YYYYMMDD`, listed with its event count and byte estimate
//!   in `event_partitions`. Retention drops whole tables; a search reads only the tables whose day
//!   overlaps `[from, to)`, in time order, and stops when it has its page.
//! - PostgreSQL: `events` is `PARTITION BY RANGE (time)` with one partition per day, created on
//!   first use; the planner prunes partitions outside `[from, to)`.
//!
//! Both run versioned migrations (`event_schema_migrations`) and refuse a schema newer than they
//! know.
//!
//! # Durability
//!
//! [`EventStore::append`] returns only after the batch's transaction has committed: a sender
//! acknowledged after it can trust the events survive `kill -9` of the server. SQLite runs in WAL
//! mode with `synchronous = NORMAL` by default: a commit is durable against a process crash, and
//! against power loss once the WAL is checkpointed (the last transactions before a power cut may
//! be lost, never corrupted). `?synchronous=full` at the end of the path (see [`open`]) fsyncs
//! the WAL at every commit instead. PostgreSQL commits with the server's `synchronous_commit`.
//!
//! # Search
//!
//! [`Query`] is translated to a SQL `WHERE` clause with bound parameters only: no value or path
//! the user typed is ever part of the SQL text (table names are computed from day numbers).
//! See [`sqlite`] and [`postgres`] for how fields, JSON paths, wildcards and full text map onto
//! each database. The semantics are `Query::matches`'s, and the test suite checks every case
//! against it:
//! - `Field { path, value }`: a normalised name (`crate::query::NORMALISED_FIELDS`: `time` and
//!   `received` compared as RFC 3339 UTC text, `truncated` as `true`/`false`) compares that
//!   column; any other path (a leading `fields.` dropped) is a dotted path into `fields`, where
//!   a key may itself contain dots and arrays are searched through. The value's text (strings,
//!   numbers as JSON writes them, `true`/`false`) equals the search value case-insensitively,
//!   `*` matching any run of characters; null, objects and missing fields never match.
//! - `Exists { path }`: present and not null.
//! - `Text(s)`: `raw` contains `s`, case-insensitively, `*` a wildcard.
//!
//! `fields` is not stored when it is exactly what parsing `raw` gives (`same_as_raw`: the
//! usual case for Kubernetes audit, CloudTrail, Falco and JSON lines; never for syslog, a
//! truncated `raw` or a parse error): SQLite stores NULL and reads `coalesce(fields, raw)`,
//! PostgreSQL builds its `jsonb` from `raw`.
//!
//! A search reads the partitions overlapping `[from, to)` newest (or oldest) first and stops
//! when it has its page, so a page of a frequent match is milliseconds however much is stored;
//! the cost is the count (`Search::count`, capped at [`COUNT_CAP`]) and rare matches, which scan
//! every event in range. Measured figures (1M and 10M events, SQLite and PostgreSQL) and the
//! trade-offs are in `docs/benchmarks-events.md`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::event::{Event, Nanos};
use crate::query::Query;

mod keys;
pub mod postgres;
mod sql;
pub mod sqlite;
mod terms;

/// Nanoseconds in a day: the partition width.
pub const DAY: Nanos = 86_400_000_000_000;
/// The most events one search returns in a page.
pub const MAX_LIMIT: u32 = 10_000;
/// The deepest a search may page with `offset` (use the cursor beyond).
pub const MAX_OFFSET: u64 = 10_000;
/// `total` counts matching events up to this many; beyond, `total_exact` is false (counting
/// further costs a scan of everything in range; Elasticsearch stops at the same number).
pub const COUNT_CAP: u64 = 10_000;
/// The most buckets a histogram may have.
pub const MAX_BUCKETS: u32 = 10_000;
/// The largest `raw` the store accepts (parsers truncate well below this).
pub const MAX_RAW_BYTES: usize = 4 << 20;

/// Why a store call failed. Messages name no user data beyond what the caller passed.
#[derive(Debug, thiserror::Error)]
pub enum EventStoreError {
    /// The caller passed something the store cannot use (a bad range, limit, URL).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The database could not be reached or failed.
    #[error("event store: {0}")]
    Backend(String),
    /// The schema on disk is newer than this binary knows.
    #[error(
        "the event store schema is at version {found}, this palisade knows up to {known}; upgrade palisade"
    )]
    SchemaTooNew { found: i64, known: i64 },
    /// The store was closed (its writer stopped).
    #[error("the event store is closed")]
    Closed,
}

pub type Result<T> = std::result::Result<T, EventStoreError>;

/// What became of one appended batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    /// Events committed.
    pub accepted: u64,
    /// Events refused, by their index in the batch (the others were committed).
    pub rejected: Vec<Rejection>,
    /// Each event's id in the store (what searches give as [`Hit`]'s time and `seq`, and
    /// [`EventStore::get`] takes), by its index in the batch; `None` for those refused.
    pub ids: Vec<Option<Cursor>>,
}

impl Receipt {
    /// The events of `batch` (the batch this receipt is for) that the store kept, as stored:
    /// each with its id, at the time it was stored under (a time far in the future is stored as
    /// the receive time). Copies, made as they are taken.
    pub fn stored<'a>(&'a self, batch: &'a [Event]) -> impl Iterator<Item = (Event, Cursor)> + 'a {
        batch.iter().zip(&self.ids).filter_map(|(e, id)| {
            let id = (*id)?;
            let mut e = e.clone();
            e.time = id.time;
            Some((e, id))
        })
    }
}

/// One refused event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub index: usize,
    pub reason: String,
}

/// Since the store was opened (this process).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Events committed by `append`.
    pub accepted: u64,
    /// Events `append` refused (see [`Rejection`]).
    pub rejected: u64,
    /// Events the caller dropped before the store (a full queue), as reported with
    /// [`EventStore::record_dropped`].
    pub dropped: u64,
}

/// Result order, by `time` then insertion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// Oldest first.
    Asc,
    /// Newest first (the default).
    #[default]
    Desc,
}

/// Where the next page starts: after the last event of the previous one (keyset paging, which
/// stays fast however deep it goes). Opaque; the string form round-trips through a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor {
    pub time: Nanos,
    pub seq: i64,
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.time, self.seq)
    }
}

impl std::str::FromStr for Cursor {
    type Err = EventStoreError;
    fn from_str(s: &str) -> Result<Cursor> {
        let bad = || EventStoreError::Invalid(format!("cursor {s:?}"));
        let (t, q) = s.split_once('.').ok_or_else(bad)?;
        Ok(Cursor {
            time: t.parse().map_err(|_| bad())?,
            seq: q.parse().map_err(|_| bad())?,
        })
    }
}

/// One search: events matching `query` with `from <= time < to`.
#[derive(Debug, Clone)]
pub struct Search<'a> {
    pub query: &'a Query,
    /// Inclusive, Unix nanoseconds.
    pub from: Nanos,
    /// Exclusive, Unix nanoseconds.
    pub to: Nanos,
    /// 1 to [`MAX_LIMIT`].
    pub limit: u32,
    /// Events skipped before the page (at most [`MAX_OFFSET`]); applies after `cursor`.
    pub offset: u64,
    /// Continue after this event (from [`SearchResult::next`]).
    pub cursor: Option<Cursor>,
    pub order: Order,
    /// Count matching events (capped at [`COUNT_CAP`]); costs a second pass.
    pub count: bool,
}

impl<'a> Search<'a> {
    /// Newest first, 100 per page, with a count.
    pub fn new(query: &'a Query, from: Nanos, to: Nanos) -> Search<'a> {
        Search {
            query,
            from,
            to,
            limit: 100,
            offset: 0,
            cursor: None,
            order: Order::Desc,
            count: true,
        }
    }
}

/// One stored event and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Identifies the event within the store (with its time).
    pub seq: i64,
    pub event: Event,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    pub events: Vec<Hit>,
    /// Matching events in `[from, to)` (ignoring paging), up to [`COUNT_CAP`]; 0 when the
    /// search did not ask for a count.
    pub total: u64,
    /// `total` is the exact count (false when capped or not counted).
    pub total_exact: bool,
    /// Where the next page starts, when this one was full.
    pub next: Option<Cursor>,
    pub took: Duration,
}

/// One histogram bucket: events with `start <= time < start + width`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub start: Nanos,
    pub count: u64,
}

/// What to keep. `None` keeps everything on that axis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Events older than `now - max_age` (by event time) are deleted: whole days are dropped,
    /// the day straddling the cut-off is trimmed.
    pub max_age: Option<Duration>,
    /// When the stored events (the byte estimate of `raw` and `fields`) exceed this, whole
    /// days are dropped oldest first until they fit (the newest day is always kept).
    pub max_bytes: Option<u64>,
}

/// What a retention pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub partitions_dropped: u64,
    /// Events deleted (in dropped partitions and trimmed ones).
    pub events_deleted: u64,
}

/// One partition, as [`EventStore::partitions`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Days since the Unix epoch (UTC).
    pub day: i64,
    /// Table name (`events_YYYYMMDD`).
    pub name: String,
    pub events: u64,
    /// Estimate: bytes of `raw` and `fields` appended (before compression or page overhead).
    pub bytes: u64,
}

#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::SqliteEvents),
    Postgres(postgres::PgEvents),
}

/// The event store. Cheap to clone; clones share the connections and counters.
#[derive(Clone)]
pub struct EventStore {
    backend: Backend,
    counters: Arc<AtomicCounters>,
}

#[derive(Default)]
struct AtomicCounters {
    accepted: AtomicU64,
    rejected: AtomicU64,
    dropped: AtomicU64,
}

/// Opens the store `location` names: `postgres://…` / `postgresql://…` for PostgreSQL; anything
/// else is the path of the SQLite file (created, with its directory, when missing), optionally
/// followed by `?synchronous=full` (fsync at every commit; the default is `normal`). Runs
/// pending migrations.
pub async fn open(location: &str) -> Result<EventStore> {
    let backend = if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        Backend::Postgres(postgres::PgEvents::connect(location).await?)
    } else {
        let (path, sync) = match location.rsplit_once('?') {
            Some((p, "synchronous=full")) => (p, sqlite::Synchronous::Full),
            Some((p, "synchronous=normal")) => (p, sqlite::Synchronous::Normal),
            Some((_, other)) => {
                return Err(EventStoreError::Invalid(format!(
                    "event store option {other:?} (known: synchronous=full, synchronous=normal)"
                )));
            }
            None => (location, sqlite::Synchronous::Normal),
        };
        Backend::Sqlite(sqlite::SqliteEvents::open(std::path::Path::new(path), sync).await?)
    };
    Ok(EventStore {
        backend,
        counters: Arc::new(AtomicCounters::default()),
    })
}

impl EventStore {
    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Stores a batch in one transaction; returns after it committed. Events the store cannot
    /// hold (NUL characters, which PostgreSQL refuses; a `raw` over [`MAX_RAW_BYTES`]) are
    /// listed in the receipt and the rest are stored.
    pub async fn append(&self, batch: &[Event]) -> Result<Receipt> {
        let mut rejected = Vec::new();
        let mut rows: Vec<Row> = Vec::with_capacity(batch.len());
        let postings = matches!(self.backend, Backend::Sqlite(_));
        for (index, e) in batch.iter().enumerate() {
            let mut row = Row::from(e);
            if postings {
                row.terms = terms::event_terms(&e.fields);
            }
            match validate(e, &row) {
                Ok(()) => rows.push(row),
                Err(reason) => rejected.push(Rejection { index, reason }),
            }
        }
        let accepted = rows.len() as u64;
        let stored = if rows.is_empty() {
            Vec::new()
        } else {
            match &self.backend {
                Backend::Sqlite(s) => s.append(rows).await?,
                Backend::Postgres(p) => p.append(rows).await?,
            }
        };
        // Both backends give one id per row, in order (an error here would make the sender
        // send stored events again).
        debug_assert_eq!(stored.len() as u64, accepted);
        // The stored ids in order, skipping the refused events' places.
        let mut stored = stored.into_iter();
        let mut refused = rejected.iter().map(|r| r.index).peekable();
        let ids = (0..batch.len())
            .map(|i| {
                if refused.peek() == Some(&i) {
                    refused.next();
                    None
                } else {
                    stored.next()
                }
            })
            .collect();
        self.counters
            .accepted
            .fetch_add(accepted, Ordering::Relaxed);
        self.counters
            .rejected
            .fetch_add(rejected.len() as u64, Ordering::Relaxed);
        Ok(Receipt {
            accepted,
            rejected,
            ids,
        })
    }

    /// Adds to the `dropped` counter (events the caller could not hand to the store).
    pub fn record_dropped(&self, n: u64) {
        self.counters.dropped.fetch_add(n, Ordering::Relaxed);
    }

    pub fn counters(&self) -> Counters {
        Counters {
            accepted: self.counters.accepted.load(Ordering::Relaxed),
            rejected: self.counters.rejected.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
        }
    }

    /// The event with this id ([`Receipt::ids`], or a [`Hit`]'s time and `seq`), if the
    /// store still holds it.
    pub async fn get(&self, id: Cursor) -> Result<Option<Hit>> {
        match &self.backend {
            Backend::Sqlite(s) => s.get(id).await,
            Backend::Postgres(p) => p.get(id).await,
        }
    }

    /// One page of events matching the search.
    pub async fn search(&self, search: &Search<'_>) -> Result<SearchResult> {
        check_range(search.from, search.to)?;
        if search.limit == 0 || search.limit > MAX_LIMIT {
            return Err(EventStoreError::Invalid(format!(
                "limit must be 1 to {MAX_LIMIT}"
            )));
        }
        if search.offset > MAX_OFFSET {
            return Err(EventStoreError::Invalid(format!(
                "offset must be at most {MAX_OFFSET} (page further with the cursor)"
            )));
        }
        let started = std::time::Instant::now();
        let mut result = match &self.backend {
            Backend::Sqlite(s) => s.search(search).await?,
            Backend::Postgres(p) => p.search(search).await?,
        };
        result.took = started.elapsed();
        Ok(result)
    }

    /// Counts of matching events in `buckets` equal slices of `[from, to)` (the last one may be
    /// shorter), every bucket listed, empty ones with 0.
    pub async fn histogram(
        &self,
        query: &Query,
        from: Nanos,
        to: Nanos,
        buckets: u32,
    ) -> Result<Vec<Bucket>> {
        check_range(from, to)?;
        if buckets == 0 || buckets > MAX_BUCKETS {
            return Err(EventStoreError::Invalid(format!(
                "buckets must be 1 to {MAX_BUCKETS}"
            )));
        }
        let width = bucket_width(from, to, buckets);
        let counts = match &self.backend {
            Backend::Sqlite(s) => s.histogram(query, from, to, width).await?,
            Backend::Postgres(p) => p.histogram(query, from, to, width).await?,
        };
        let n = ((to as i128 - from as i128 + width as i128 - 1) / width as i128) as usize;
        let mut out: Vec<Bucket> = (0..n)
            .map(|i| Bucket {
                // Below `to` for every bucket listed, so within i64.
                start: (from as i128 + i as i128 * width as i128) as i64,
                count: 0,
            })
            .collect();
        for (i, c) in counts {
            if let Some(b) = usize::try_from(i).ok().and_then(|i| out.get_mut(i)) {
                b.count += c;
            }
        }
        Ok(out)
    }

    /// Deletes what the policy does not keep, at `now` (Unix nanoseconds).
    pub async fn retain(&self, policy: Retention, now: Nanos) -> Result<RetentionReport> {
        let cutoff = policy.max_age.map(|a| {
            let a = i64::try_from(a.as_nanos()).unwrap_or(i64::MAX);
            now.saturating_sub(a)
        });
        match &self.backend {
            Backend::Sqlite(s) => s.retain(cutoff, policy.max_bytes).await,
            Backend::Postgres(p) => p.retain(cutoff, policy.max_bytes).await,
        }
    }

    /// The partitions, oldest first.
    pub async fn partitions(&self) -> Result<Vec<Partition>> {
        match &self.backend {
            Backend::Sqlite(s) => s.partitions().await,
            Backend::Postgres(p) => p.partitions().await,
        }
    }

    /// Cheap round trip for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(s) => s.ping().await,
            Backend::Postgres(p) => p.ping().await,
        }
    }
}

/// An event as stored: `fields` serialised once, on the caller's task (not the writer's), and
/// nothing of the `serde_json::Value` tree cloned.
pub(crate) struct Row {
    pub time: Nanos,
    pub received: Nanos,
    pub source: String,
    pub kind: String,
    pub host: Option<String>,
    pub user: Option<String>,
    pub action: Option<String>,
    pub object: Option<String>,
    pub outcome: Option<String>,
    pub source_ip: Option<String>,
    pub raw: String,
    /// `fields` as JSON text; `None` when it is exactly what parsing `raw` gives (see
    /// [`same_as_raw`]): the JSON sources' usual case, which halves what is written. Readers
    /// read `raw` in its place.
    pub fields: Option<String>,
    pub parse_error: Option<String>,
    pub truncated: bool,
    /// The event's postings terms (`terms::event_terms`), for the SQLite backend; empty for
    /// PostgreSQL, which has no postings.
    pub terms: String,
}

impl Row {
    /// The byte estimate retention counts.
    pub(crate) fn bytes(&self) -> i64 {
        (self.raw.len() + self.fields.as_ref().map_or(0, |f| f.len())) as i64
    }

    /// The JSON text of `fields` (`raw` when they are the same).
    pub(crate) fn fields_text(&self) -> &str {
        self.fields.as_deref().unwrap_or(&self.raw)
    }
}

/// How far ahead of its receipt an event's own time may be. Later times are skewed clocks or
/// forged headers (one unauthenticated syslog datagram per day up to 2262 would otherwise make
/// a partition each, and pin the newest day against size retention): such events are filed
/// under their receive time; their raw form still says what the sender claimed.
pub const MAX_FUTURE_NANOS: Nanos = 24 * 3600 * 1_000_000_000;

impl From<&Event> for Row {
    fn from(e: &Event) -> Row {
        Row {
            time: if e.time > e.received.saturating_add(MAX_FUTURE_NANOS) {
                e.received
            } else {
                e.time
            },
            received: e.received,
            source: e.source.clone(),
            kind: e.kind.clone(),
            host: e.host.clone(),
            user: e.user.clone(),
            action: e.action.clone(),
            object: e.object.clone(),
            outcome: e.outcome.clone(),
            source_ip: e.source_ip.clone(),
            raw: e.raw.clone(),
            // `to_string` goes through `fmt::Write`; writing to a byte buffer is quicker.
            // Serialising a `Value` cannot fail (its keys are strings).
            fields: (!raw_is_fields(e))
                .then(|| serde_json::to_string(&e.fields).unwrap_or_default()),
            parse_error: e.parse_error.clone(),
            truncated: e.truncated,
            terms: String::new(),
        }
    }
}

fn check_range(from: Nanos, to: Nanos) -> Result<()> {
    if from >= to {
        return Err(EventStoreError::Invalid(format!(
            "the time range is empty (from {from} is not before to {to})"
        )));
    }
    Ok(())
}

/// Bucket width covering `[from, to)` in `buckets` slices, at least 1 ns.
fn bucket_width(from: Nanos, to: Nanos, buckets: u32) -> Nanos {
    let span = to as i128 - from as i128;
    let w = (span + buckets as i128 - 1) / buckets as i128;
    w.clamp(1, i64::MAX as i128) as i64
}

/// Why the store cannot hold the event, if it cannot.
fn validate(e: &Event, row: &Row) -> std::result::Result<(), String> {
    if row.raw.len() > MAX_RAW_BYTES {
        return Err(format!("raw is over {MAX_RAW_BYTES} bytes"));
    }
    let strings = [
        Some(&row.source),
        Some(&row.kind),
        row.host.as_ref(),
        row.user.as_ref(),
        row.action.as_ref(),
        row.object.as_ref(),
        row.outcome.as_ref(),
        row.source_ip.as_ref(),
        Some(&row.raw),
        row.parse_error.as_ref(),
    ];
    if strings.iter().flatten().any(|s| s.contains('\0')) {
        return Err("contains a NUL character".into());
    }
    // JSON writes NUL as \u0000; only then is the tree walked (the text may be an escaped
    // backslash followed by "u0000").
    if row.fields_text().contains("\\u0000") && json_has_nul(&e.fields, 0) {
        return Err("contains a NUL character".into());
    }
    Ok(())
}

/// Whether the store may keep `raw` alone: what the parser says ([`Event::fields_from_raw`]),
/// else what [`same_as_raw`] finds. A truncated `raw` or a parse error always keeps `fields`.
fn raw_is_fields(e: &Event) -> bool {
    if e.truncated || e.parse_error.is_some() {
        return false;
    }
    e.fields_from_raw || same_as_raw(&e.raw, &e.fields)
}

/// Whether `fields` is exactly the parse of `raw`, so that storing `raw` alone loses nothing:
/// `raw` parses to a value equal to `fields`, and reading `raw` in place of `fields`' own JSON
/// text changes no search. The second part needs `raw` to be written as `fields`' text would
/// be, up to key order and white space:
/// - no escape other than the ones JSON requires (`\"`, `\\`, control characters), so that
///   a string's characters are in the text as they are (the `instr`/`LIKE` pre-tests rely
///   on it; Go's `\u0026` for `&` fails this);
/// - no duplicate key (SQLite's JSON functions would see the first, serde_json the last);
/// - no number written other than as an integer (`1.50`, `1e2` read as other text).
///
/// A truncated `raw` is not valid JSON, and a parse error leaves `fields` empty: both keep
/// their `fields`. Costs about what serialising `fields` costs, which it then saves.
pub(crate) fn same_as_raw(raw: &str, fields: &serde_json::Value) -> bool {
    use serde::de::DeserializeSeed;
    if !fields.is_object()
        || !raw.trim_start().starts_with('{')
        || !crate::parse::plain_escapes(raw)
    {
        return false;
    }
    let mut de = serde_json::Deserializer::from_str(raw);
    matches!(Same(fields).deserialize(&mut de), Ok(true)) && de.end().is_ok()
}

/// Deserialises JSON text comparing it with a value, without building anything.
struct Same<'a>(&'a serde_json::Value);

impl<'de> serde::de::DeserializeSeed<'de> for Same<'_> {
    type Value = bool;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Same<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<bool, E> {
        Ok(self.0.as_bool() == Some(v))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<bool, E> {
        Ok(matches!(self.0, serde_json::Value::Number(n) if n.as_u64() == Some(v)))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<bool, E> {
        Ok(matches!(self.0, serde_json::Value::Number(n) if n.is_i64() && n.as_i64() == Some(v)))
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<bool, E> {
        Ok(self.0.as_str() == Some(v))
    }
    fn visit_unit<E>(self) -> std::result::Result<bool, E> {
        Ok(self.0.is_null())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<bool, A::Error> {
        let Some(items) = self.0.as_array() else {
            return Ok(false);
        };
        for v in items {
            if seq.next_element_seed(Same(v))? != Some(true) {
                return Ok(false);
            }
        }
        Ok(seq.next_element::<serde::de::IgnoredAny>()?.is_none())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<bool, A::Error> {
        let Some(object) = self.0.as_object() else {
            return Ok(false);
        };
        let mut n = 0;
        while let Some(v) = map.next_key_seed(Key(object))? {
            let Some(v) = v else { return Ok(false) };
            if !map.next_value_seed(Same(v))? {
                return Ok(false);
            }
            n += 1;
        }
        // A duplicate key counts twice.
        Ok(n == object.len())
    }
}

/// Reads an object key and finds it in the expected object.
struct Key<'a>(&'a serde_json::Map<String, serde_json::Value>);

impl<'de, 'a> serde::de::DeserializeSeed<'de> for Key<'a> {
    type Value = Option<&'a serde_json::Value>;
    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, 'a> serde::de::Visitor<'de> for Key<'a> {
    type Value = Option<&'a serde_json::Value>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(self.0.get(v))
    }
}

fn json_has_nul(v: &serde_json::Value, depth: usize) -> bool {
    use serde_json::Value;
    if depth > 512 {
        return false;
    }
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(|v| json_has_nul(v, depth + 1)),
        Value::Object(o) => o
            .iter()
            .any(|(k, v)| k.contains('\0') || json_has_nul(v, depth + 1)),
        _ => false,
    }
}

/// Days since the Unix epoch of a time (UTC).
pub fn day_of(t: Nanos) -> i64 {
    t.div_euclid(DAY)
}

/// The partition (table) name of a day: `events_YYYYMMDD`.
pub fn partition_name(day: i64) -> String {
    let (y, m, d) = crate::parse::time::civil_from_days(day);
    if y < 0 {
        format!("events_m{:04}{m:02}{d:02}", -y)
    } else {
        format!("events_{y:04}{m:02}{d:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names() {
        assert_eq!(partition_name(0), "events_19700101");
        assert_eq!(partition_name(-1), "events_19691231");
        assert_eq!(partition_name(20_419), "events_20251127");
        assert_eq!(partition_name(11_016), "events_20000229");
        assert_eq!(day_of(-1), -1);
        assert_eq!(day_of(DAY), 1);
    }

    #[test]
    fn cursor_round_trip() {
        let c = Cursor { time: -5, seq: 42 };
        assert_eq!(c.to_string().parse::<Cursor>().unwrap(), c);
        assert!("x".parse::<Cursor>().is_err());
    }

    #[test]
    fn far_future_times_are_filed_under_receipt() {
        let received = 1_795_000_000_000_000_000;
        let mut e = Event {
            time: received + MAX_FUTURE_NANOS,
            received,
            source: "syslog".into(),
            kind: "syslog".into(),
            host: None,
            user: None,
            action: None,
            object: None,
            outcome: None,
            source_ip: None,
            raw: "<13>1 2262-04-11T00:00:00Z h a - - - x".into(),
            fields: serde_json::json!({}),
            parse_error: None,
            truncated: false,
            fields_from_raw: false,
        };
        assert_eq!(Row::from(&e).time, received + MAX_FUTURE_NANOS);
        e.time = i64::MAX;
        let row = Row::from(&e);
        assert_eq!(row.time, received);
        assert!(row.raw.contains("2262"));
        e.time = 0;
        assert_eq!(Row::from(&e).time, 0);
    }

    #[test]
    fn fields_same_as_raw() {
        use serde_json::json;
        let f = json!({"a": 1, "b": [true, null, "x\"y\n"], "c": {"d": -2, "e": []}});
        let same = |raw: &str| same_as_raw(raw, &f);
        assert!(same(&f.to_string()));
        assert!(same(
            r#" { "c": {"e": [], "d": -2}, "b": [true, null, "x\"y\u000a"], "a": 1 } "#
        ));
        // Escapes JSON does not need, floats, duplicates, anything different or more.
        assert!(!same(
            r#"{"a":1,"b":[true,null,"x\"y\n"],"c":{"d":-2,"\u0065":[]}}"#
        ));
        assert!(!same(
            r#"{"a":1,"b":[true,null,"x\"y\n"],"c":{"d":-2,"e":[]},"a":1}"#
        ));
        assert!(!same(
            r#"{"a":1.0,"b":[true,null,"x\"y\n"],"c":{"d":-2,"e":[]}}"#
        ));
        assert!(!same(
            r#"{"a":1,"b":[true,null,"x\"y\n",1],"c":{"d":-2,"e":[]}}"#
        ));
        assert!(!same(r#"{"a":1,"b":[true,null],"c":{"d":-2,"e":[]}}"#));
        assert!(!same(r#"{"a":1,"b":[true,null,"x\"y\n"],"c":{"d":-2}}"#));
        assert!(!same(
            r#"{"a":1,"b":[true,null,"x\"y\n"],"c":{"d":-2,"e":[]}} x"#
        ));
        assert!(!same(
            r#"{"a":1,"b":[true,null,"x\"y\n"],"c":{"d":-2,"e":[] [truncated]"#
        ));
        assert!(!same_as_raw("[1]", &json!([1])));
        let amp = json!({"u": "/a?b=1&c=2"});
        assert!(same_as_raw(r#"{"u":"/a?b=1&c=2"}"#, &amp));
        assert!(!same_as_raw(r#"{"u":"/a?b=1\u0026c=2"}"#, &amp));
        assert!(!same_as_raw(r#"{"u":"\/a?b=1&c=2"}"#, &amp));
        // A row keeps `fields` exactly when it differs.
        let e = |raw: &str, fields| Event {
            time: 0,
            received: 0,
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
        };
        assert_eq!(Row::from(&e(r#"{"u": 5}"#, json!({"u": 5}))).fields, None);
        let row = Row::from(&e(r#"{"u": 5}"#, json!({"u": 6})));
        assert_eq!(row.fields.as_deref(), Some(r#"{"u":6}"#));
        assert_eq!(row.fields_text(), r#"{"u":6}"#);
        // The parser's word is taken without checking again, except for a cut or unparsed
        // event.
        let mut told = e(r#"{"u": 5}"#, json!({"u": 5}));
        told.fields_from_raw = true;
        told.raw = r#"{"u":5}"#.into();
        assert_eq!(Row::from(&told).fields, None);
        told.truncated = true;
        assert_eq!(Row::from(&told).fields.as_deref(), Some(r#"{"u":5}"#));
        told.truncated = false;
        told.parse_error = Some("x".into());
        assert!(Row::from(&told).fields.is_some());
    }

    #[test]
    fn widths() {
        assert_eq!(bucket_width(0, 10, 3), 4);
        assert_eq!(bucket_width(0, 1, 10), 1);
        assert_eq!(bucket_width(i64::MIN, i64::MAX, 1), i64::MAX);
    }
}
