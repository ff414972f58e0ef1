//! The PostgreSQL backend: `events` partitioned by range of `time`, one partition per UTC day.
//!
//! Connections come from a bb8 pool of tokio-postgres clients; the URL follows
//! `palisade-store`'s rules (`sslmode`, `sslrootcert`, `pool_max_size`), whose parser and rustls
//! connector this reuses.
//!
//! # Schema
//!
//! `events` (`PARTITION BY RANGE ("time")`, ids from the `events_id_seq` sequence, `fields` as
//! `jsonb`, one index on `("time", id)`) with partitions `events_YYYYMMDD` created on first use
//! under an advisory lock; `event_partitions` lists them with event counts and byte estimates.
//!
//! # Appends
//!
//! A batch is one transaction: one `INSERT … SELECT FROM UNNEST($1::bigint[], …)` per
//! [`INSERT_CHUNK`] events (the parent routes rows to their day), plus the partition counters.
//!
//! # Query translation
//!
//! - normalised names: `column ILIKE $n` (`*` → `%`, `%`/`_`/`\` escaped), case-insensitive
//!   across Unicode.
//! - JSON paths: `jsonb_path_query(fields, 'lax $."a"."b"[*]')`, whose lax mode searches arrays
//!   through at every step; the value's text (`#>> '{}'`) ILIKE the pattern. The path is built
//!   from the keys with jsonpath string escaping and bound as a parameter, like the pattern.
//! - full text: `raw ILIKE '%…%'` (a scan of the partitions in range; slow on PostgreSQL, see
//!   the notes). A pg_trgm GIN index on `raw` would serve it, at a cost on every insert that
//!   was not measured; an operator can add one (`CREATE EXTENSION pg_trgm; CREATE INDEX … ON
//!   events USING gin (raw gin_trgm_ops)`) without any change here.

use std::collections::HashSet;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

use super::sql::{self, Col, Leaves, Param, Pattern, SELECT_COLUMNS};
use super::{
    COUNT_CAP, Cursor, DAY, EventStoreError, Hit, Order, Partition, Result, RetentionReport, Row,
    Search, SearchResult, day_of, partition_name,
};
use crate::event::{Event, Nanos};
use crate::query::Query;

/// Events per INSERT statement.
pub const INSERT_CHUNK: usize = 5_000;
const MIGRATION_LOCK: i64 = 0x7061_6c69_7365_0001;
const PARTITION_LOCK: i64 = 0x7061_6c69_7365_0002;
const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "events partitioned by day",
    "CREATE SEQUENCE IF NOT EXISTS events_id_seq;
     CREATE TABLE events (
         id          BIGINT  NOT NULL DEFAULT nextval('events_id_seq'),
         \"time\"    BIGINT  NOT NULL,
         received    BIGINT  NOT NULL,
         source      TEXT    NOT NULL,
         kind        TEXT    NOT NULL,
         host        TEXT,
         \"user\"    TEXT,
         action      TEXT,
         object      TEXT,
         outcome     TEXT,
         source_ip   TEXT,
         raw         TEXT    NOT NULL,
         fields      JSONB   NOT NULL,
         parse_error TEXT,
         truncated   BOOLEAN NOT NULL
     ) PARTITION BY RANGE (\"time\");
     CREATE INDEX events_time ON events (\"time\", id);
     CREATE TABLE event_partitions (
         day    BIGINT PRIMARY KEY,
         name   TEXT   NOT NULL,
         events BIGINT NOT NULL DEFAULT 0,
         bytes  BIGINT NOT NULL DEFAULT 0
     );",
)];

impl From<tokio_postgres::Error> for EventStoreError {
    fn from(e: tokio_postgres::Error) -> EventStoreError {
        EventStoreError::Backend(message(&e))
    }
}

/// The server's message and SQLSTATE, without DETAIL (which may quote values).
fn message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("postgres: {} (SQLSTATE {})", db.message(), db.code().code()),
        None => format!("postgres: {e}"),
    }
}

impl From<bb8::RunError<tokio_postgres::Error>> for EventStoreError {
    fn from(e: bb8::RunError<tokio_postgres::Error>) -> EventStoreError {
        match e {
            bb8::RunError::User(e) => e.into(),
            bb8::RunError::TimedOut => {
                EventStoreError::Backend("postgres: timed out waiting for a connection".into())
            }
        }
    }
}

impl From<palisade_store::StoreError> for EventStoreError {
    fn from(e: palisade_store::StoreError) -> EventStoreError {
        match e {
            palisade_store::StoreError::Invalid(m) => EventStoreError::Invalid(m),
            other => EventStoreError::Backend(other.to_string()),
        }
    }
}

enum InsertError {
    NoPartition,
    Other(EventStoreError),
}

impl From<tokio_postgres::Error> for InsertError {
    fn from(e: tokio_postgres::Error) -> InsertError {
        if e.code() == Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION)
            && e.as_db_error()
                .is_some_and(|d| d.message().contains("no partition"))
        {
            InsertError::NoPartition
        } else {
            InsertError::Other(e.into())
        }
    }
}

impl From<bb8::RunError<tokio_postgres::Error>> for InsertError {
    fn from(e: bb8::RunError<tokio_postgres::Error>) -> InsertError {
        InsertError::Other(e.into())
    }
}

impl From<InsertError> for EventStoreError {
    fn from(e: InsertError) -> EventStoreError {
        match e {
            InsertError::NoPartition => {
                EventStoreError::Backend("postgres: no partition for an event's day".into())
            }
            InsertError::Other(e) => e,
        }
    }
}

pub(crate) struct Manager {
    opts: palisade_store::postgres::ConnectOptions,
}

impl bb8::ManageConnection for Manager {
    type Connection = tokio_postgres::Client;
    type Error = tokio_postgres::Error;

    async fn connect(&self) -> std::result::Result<tokio_postgres::Client, tokio_postgres::Error> {
        let config = &self.opts.config;
        let client = match &self.opts.tls {
            Some(tls) => {
                let (client, conn) = config.connect(tls.clone()).await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                client
            }
            None => {
                let (client, conn) = config.connect(NoTls).await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                client
            }
        };
        // Searches that run longer are cancelled by the server; retention and migrations lift
        // the limit for their own transactions.
        client
            .batch_execute(&format!(
                "SET statement_timeout = {}",
                super::sqlite::READ_TIMEOUT.as_millis()
            ))
            .await?;
        Ok(client)
    }

    async fn is_valid(
        &self,
        conn: &mut tokio_postgres::Client,
    ) -> std::result::Result<(), tokio_postgres::Error> {
        conn.simple_query("").await.map(|_| ())
    }

    fn has_broken(&self, conn: &mut tokio_postgres::Client) -> bool {
        conn.is_closed()
    }
}

/// The PostgreSQL event store. Cheap to clone.
#[derive(Clone)]
pub struct PgEvents {
    pool: bb8::Pool<Manager>,
    /// Days whose partition is known to exist.
    days: Arc<StdMutex<HashSet<i64>>>,
    /// Per day: events appended by this process, and how many there were at its last ANALYZE.
    growth: Arc<StdMutex<std::collections::HashMap<i64, (u64, u64)>>>,
}

/// A partition is analysed again when this process has appended this many events to it, and
/// then each time its count doubles: the planner then knows a fresh day is large (without
/// statistics it scans and sorts whole partitions instead of walking the time index; measured
/// 1.4 s → 6 ms for a newest-first page). Autovacuum does the same, a minute or more later.
const ANALYZE_FIRST: u64 = 10_000;

fn to_sql(p: &Param) -> &(dyn ToSql + Sync) {
    match p {
        Param::Int(i) => i,
        Param::Text(s) => s,
    }
}

impl PgEvents {
    /// Connects and applies pending migrations.
    pub async fn connect(url: &str) -> Result<PgEvents> {
        let opts = palisade_store::postgres::connect_options(url)?;
        let size = opts.pool_size;
        let pool = bb8::Pool::builder()
            .max_size(size)
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(30))
            .build_unchecked(Manager { opts });
        let store = PgEvents {
            pool,
            days: Arc::new(StdMutex::new(HashSet::new())),
            growth: Arc::new(StdMutex::new(Default::default())),
        };
        {
            let mut conn = store.pool.get().await?;
            migrate(&mut conn).await?;
        }
        Ok(store)
    }

    fn known(&self, day: i64) -> bool {
        self.days.lock().map(|d| d.contains(&day)).unwrap_or(false)
    }

    async fn ensure_partitions(&self, days: &[i64]) -> Result<()> {
        let missing: Vec<i64> = days.iter().copied().filter(|d| !self.known(*d)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.get().await?;
        let tx = conn.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PARTITION_LOCK])
            .await?;
        for day in &missing {
            let name = partition_name(*day);
            let lo = day.saturating_mul(DAY);
            let hi = (day + 1).saturating_mul(DAY);
            // Names and bounds are computed from integers, never from input text.
            tx.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {name} PARTITION OF events FOR VALUES FROM ({lo}) TO ({hi})"
            ))
            .await?;
            tx.execute(
                "INSERT INTO event_partitions (day, name) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING",
                &[day, &name],
            )
            .await?;
        }
        tx.commit().await?;
        if let Ok(mut d) = self.days.lock() {
            d.extend(missing);
        }
        Ok(())
    }

    /// Stores the rows; the id of each (its time and id), in order.
    pub(crate) async fn append(&self, events: Vec<Row>) -> Result<Vec<Cursor>> {
        let mut per_day: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
        for e in &events {
            let t = per_day.entry(day_of(e.time)).or_default();
            t.0 += 1;
            // PostgreSQL stores `fields` (as jsonb) even when it is `raw` parsed.
            t.1 += (e.raw.len() + e.fields_text().len()) as i64;
        }
        let days: Vec<i64> = per_day.keys().copied().collect();
        self.ensure_partitions(&days).await?;
        let ids = self.insert_retrying(&events, &per_day, &days).await?;
        self.analyze_grown(&per_day);
        Ok(events
            .iter()
            .zip(ids)
            .map(|(r, seq)| Cursor { time: r.time, seq })
            .collect())
    }

    /// Starts a background ANALYZE of the partitions that grew enough (see [`ANALYZE_FIRST`]).
    fn analyze_grown(&self, per_day: &std::collections::BTreeMap<i64, (i64, i64)>) {
        let mut due = Vec::new();
        if let Ok(mut g) = self.growth.lock() {
            for (day, (n, _)) in per_day {
                let e = g.entry(*day).or_insert((0, 0));
                e.0 += (*n).max(0) as u64;
                if e.0 >= ANALYZE_FIRST.max(e.1.saturating_mul(2)) {
                    e.1 = e.0;
                    due.push(*day);
                }
            }
        }
        if due.is_empty() {
            return;
        }
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let Ok(conn) = pool.get().await else { return };
            for day in due {
                // The name is computed from the day number.
                let _ = conn
                    .batch_execute(&format!("ANALYZE {}", partition_name(day)))
                    .await;
            }
        });
    }

    async fn insert_retrying(
        &self,
        events: &[Row],
        per_day: &std::collections::BTreeMap<i64, (i64, i64)>,
        days: &[i64],
    ) -> Result<Vec<i64>> {
        match self.insert(events, per_day).await {
            // No partition for a row: another process's retention dropped a day this one
            // thought existed. Forget what is known and try once more.
            Err(InsertError::NoPartition) => {
                if let Ok(mut d) = self.days.lock() {
                    d.clear();
                }
                self.ensure_partitions(days).await?;
                self.insert(events, per_day)
                    .await
                    .map_err(EventStoreError::from)
            }
            r => r.map_err(EventStoreError::from),
        }
    }

    /// Inserts the rows; their ids, in order. Each chunk is one statement: the ids are taken
    /// from the sequence, numbered, and joined to the rows by their position (`RETURNING`
    /// does not promise an order).
    async fn insert(
        &self,
        events: &[Row],
        per_day: &std::collections::BTreeMap<i64, (i64, i64)>,
    ) -> std::result::Result<Vec<i64>, InsertError> {
        let mut conn = self.pool.get().await?;
        let tx = conn.transaction().await?;
        let insert = tx
            .prepare(
                "WITH ids AS MATERIALIZED (
                     SELECT n, nextval('events_id_seq') AS id
                     FROM generate_series(1::bigint, cardinality($1::bigint[])::bigint) AS n),
                 ins AS (
                     INSERT INTO events (id, \"time\", received, source, kind, host, \"user\", action, object, outcome, source_ip, raw, fields, parse_error, truncated)
                     SELECT ids.id, t, r, s, k, h, u, a, o, oc, ip, raw, COALESCE(f, raw)::jsonb, pe, tr
                     FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                 $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bool[])
                          WITH ORDINALITY AS x(t, r, s, k, h, u, a, o, oc, ip, raw, f, pe, tr, n)
                     JOIN ids USING (n))
                 SELECT id FROM ids ORDER BY n",
            )
            .await?;
        let mut ids = Vec::with_capacity(events.len());
        for chunk in events.chunks(INSERT_CHUNK) {
            let col = |f: fn(&Row) -> Option<&str>| -> Vec<Option<&str>> {
                chunk.iter().map(f).collect()
            };
            let time: Vec<i64> = chunk.iter().map(|e| e.time).collect();
            let received: Vec<i64> = chunk.iter().map(|e| e.received).collect();
            let source: Vec<&str> = chunk.iter().map(|e| e.source.as_str()).collect();
            let kind: Vec<&str> = chunk.iter().map(|e| e.kind.as_str()).collect();
            let host = col(|e| e.host.as_deref());
            let user = col(|e| e.user.as_deref());
            let action = col(|e| e.action.as_deref());
            let object = col(|e| e.object.as_deref());
            let outcome = col(|e| e.outcome.as_deref());
            let ip = col(|e| e.source_ip.as_deref());
            let raw: Vec<&str> = chunk.iter().map(|e| e.raw.as_str()).collect();
            // NULL when `fields` is `raw` parsed: the server parses `raw` instead.
            let f = col(|e| e.fields.as_deref());
            let pe = col(|e| e.parse_error.as_deref());
            let tr: Vec<bool> = chunk.iter().map(|e| e.truncated).collect();
            let rows = tx
                .query(
                    &insert,
                    &[
                        &time, &received, &source, &kind, &host, &user, &action, &object, &outcome,
                        &ip, &raw, &f, &pe, &tr,
                    ],
                )
                .await?;
            ids.extend(rows.iter().map(|r| r.get::<_, i64>(0)));
        }
        for (day, (n, bytes)) in per_day {
            tx.execute(
                "UPDATE event_partitions SET events = events + $1, bytes = bytes + $2 WHERE day = $3",
                &[n, bytes, day],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(ids)
    }

    pub(crate) async fn search(&self, s: &Search<'_>) -> Result<SearchResult> {
        let (cond, mut p) = where_clause(s.query)?;
        let base = p.clone();
        let mut arg = |v: i64| {
            p.push(Param::Int(v));
            format!("${}", p.len())
        };
        let (f, t) = (arg(s.from), arg(s.to));
        let (dir, cmp) = match s.order {
            Order::Asc => ("ASC", ">"),
            Order::Desc => ("DESC", "<"),
        };
        let mut sql = format!(
            "SELECT {cols} FROM events WHERE \"time\" >= {f} AND \"time\" < {t}",
            cols = SELECT_COLUMNS.replace("fields,", "fields::text,")
        );
        if let Some(c) = s.cursor {
            let (ct, cs) = (arg(c.time), arg(c.seq));
            sql.push_str(&format!(" AND (\"time\", id) {cmp} ({ct}, {cs})"));
        }
        let l = arg(s.limit as i64 + 1);
        let o = arg(s.offset as i64);
        sql.push_str(&format!(
            " AND {cond} ORDER BY \"time\" {dir}, id {dir} LIMIT {l} OFFSET {o}"
        ));
        let conn = self.pool.get().await?;
        let refs: Vec<&(dyn ToSql + Sync)> = p.iter().map(to_sql).collect();
        let rows = conn.query(&sql, &refs).await?;
        let more = rows.len() > s.limit as usize;
        let mut events = Vec::with_capacity(rows.len().min(s.limit as usize));
        for r in rows.iter().take(s.limit as usize) {
            events.push(hit(r)?);
        }
        let next = if more {
            events.last().map(|h: &Hit| Cursor {
                time: h.event.time,
                seq: h.seq,
            })
        } else {
            None
        };
        let (mut total, mut exact) = (0, false);
        if s.count && s.cursor.is_none() && !more && (!rows.is_empty() || s.offset == 0) {
            // The page saw every match (it was not full).
            let n = s.offset + rows.len() as u64;
            (total, exact) = (n.min(COUNT_CAP), n <= COUNT_CAP);
        } else if s.count {
            let k = base.len();
            let sql = format!(
                "SELECT count(*) FROM (SELECT 1 FROM events WHERE \"time\" >= ${} AND \"time\" < ${} AND {cond} LIMIT ${}) s",
                k + 1,
                k + 2,
                k + 3
            );
            let mut p = base;
            p.extend([
                Param::Int(s.from),
                Param::Int(s.to),
                Param::Int(COUNT_CAP as i64 + 1),
            ]);
            let refs: Vec<&(dyn ToSql + Sync)> = p.iter().map(to_sql).collect();
            let n: i64 = conn.query_one(&sql, &refs).await?.try_get(0)?;
            let n = n.max(0) as u64;
            exact = n <= COUNT_CAP;
            total = n.min(COUNT_CAP);
        }
        Ok(SearchResult {
            events,
            total,
            total_exact: exact,
            next,
            took: Duration::ZERO,
        })
    }

    pub(crate) async fn histogram(
        &self,
        query: &Query,
        from: Nanos,
        to: Nanos,
        width: Nanos,
    ) -> Result<Vec<(i64, u64)>> {
        let (cond, mut p) = where_clause(query)?;
        let k = p.len();
        let sql = format!(
            "SELECT div(\"time\"::numeric - ${a}::bigint, ${b}::bigint)::bigint AS b, count(*) FROM events
             WHERE \"time\" >= ${a}::bigint AND \"time\" < ${c}::bigint AND {cond} GROUP BY b",
            a = k + 1,
            b = k + 2,
            c = k + 3
        );
        p.extend([Param::Int(from), Param::Int(width), Param::Int(to)]);
        let refs: Vec<&(dyn ToSql + Sync)> = p.iter().map(to_sql).collect();
        let conn = self.pool.get().await?;
        let rows = conn.query(&sql, &refs).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let b: i64 = r.try_get(0)?;
            let n: i64 = r.try_get(1)?;
            out.push((b, n.max(0) as u64));
        }
        Ok(out)
    }

    pub(crate) async fn retain(
        &self,
        cutoff: Option<Nanos>,
        max_bytes: Option<u64>,
    ) -> Result<RetentionReport> {
        let mut report = RetentionReport::default();
        let mut conn = self.pool.get().await?;
        let tx = conn.transaction().await?;
        tx.batch_execute("SET LOCAL statement_timeout = 0").await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PARTITION_LOCK])
            .await?;
        let parts: Vec<(i64, String, i64, i64)> = tx
            .query(
                "SELECT day, name, events, bytes FROM event_partitions ORDER BY day",
                &[],
            )
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect::<std::result::Result<_, tokio_postgres::Error>>()?;
        let mut total_bytes: i64 = parts.iter().map(|p| p.3).sum();
        let newest = parts.last().map(|p| p.0);
        let mut dropped = Vec::new();
        for (day, name, events, bytes) in &parts {
            let day_end = (*day + 1).saturating_mul(DAY);
            let too_old = cutoff.is_some_and(|c| day_end <= c);
            let too_big = max_bytes
                .is_some_and(|m| total_bytes > i64::try_from(m).unwrap_or(i64::MAX))
                && Some(*day) != newest;
            if too_old || too_big {
                // The name comes from event_partitions, which only this code writes
                // (partition_name of an integer).
                if !valid_name(name) {
                    return Err(EventStoreError::Backend(format!(
                        "event_partitions lists an unexpected table {name:?}"
                    )));
                }
                tx.batch_execute(&format!("DROP TABLE IF EXISTS {name}"))
                    .await?;
                tx.execute("DELETE FROM event_partitions WHERE day = $1", &[day])
                    .await?;
                dropped.push(*day);
                report.partitions_dropped += 1;
                report.events_deleted += (*events).max(0) as u64;
                total_bytes -= bytes;
            } else if let Some(c) = cutoff
                && day.saturating_mul(DAY) < c
            {
                let row = tx
                    .query_one(
                        "WITH d AS (DELETE FROM events WHERE \"time\" >= $1 AND \"time\" < $2 RETURNING octet_length(raw) + octet_length(fields::text) AS b)
                         SELECT count(*), COALESCE(SUM(b), 0)::bigint FROM d",
                        &[&day.saturating_mul(DAY), &c],
                    )
                    .await?;
                let n: i64 = row.try_get(0)?;
                let b: i64 = row.try_get(1)?;
                if n > 0 {
                    tx.execute(
                        "UPDATE event_partitions SET events = GREATEST(events - $1, 0), bytes = GREATEST(bytes - $2, 0) WHERE day = $3",
                        &[&n, &b, day],
                    )
                    .await?;
                    report.events_deleted += n as u64;
                    total_bytes -= b;
                }
            }
        }
        tx.commit().await?;
        if let Ok(mut d) = self.days.lock() {
            for day in &dropped {
                d.remove(day);
            }
        }
        if let Ok(mut g) = self.growth.lock() {
            for day in &dropped {
                g.remove(day);
            }
        }
        Ok(report)
    }

    pub(crate) async fn partitions(&self) -> Result<Vec<Partition>> {
        let conn = self.pool.get().await?;
        let rows = conn
            .query(
                "SELECT day, name, events, bytes FROM event_partitions ORDER BY day",
                &[],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(Partition {
                day: r.try_get(0)?,
                name: r.try_get(1)?,
                events: r.try_get::<_, i64>(2)?.max(0) as u64,
                bytes: r.try_get::<_, i64>(3)?.max(0) as u64,
            });
        }
        Ok(out)
    }

    pub(crate) async fn get(&self, id: Cursor) -> Result<Option<Hit>> {
        let conn = self.pool.get().await?;
        let cols = SELECT_COLUMNS.replace("fields,", "fields::text,");
        let row = conn
            .query_opt(
                &format!("SELECT {cols} FROM events WHERE id = $1 AND \"time\" = $2"),
                &[&id.seq, &id.time],
            )
            .await?;
        row.as_ref().map(hit).transpose()
    }

    pub(crate) async fn ping(&self) -> Result<()> {
        let conn = self.pool.get().await?;
        conn.simple_query("").await?;
        Ok(())
    }
}

fn valid_name(name: &str) -> bool {
    name.starts_with("events_")
        && name["events_".len()..]
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'm')
}

async fn migrate(conn: &mut tokio_postgres::Client) -> Result<()> {
    let known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    let tx = conn.transaction().await?;
    tx.batch_execute("SET LOCAL statement_timeout = 0").await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS event_schema_migrations (
             version    BIGINT PRIMARY KEY,
             name       TEXT   NOT NULL,
             applied_at BIGINT NOT NULL
         )",
    )
    .await?;
    let found: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::bigint FROM event_schema_migrations",
            &[],
        )
        .await?
        .try_get(0)?;
    if found > known {
        return Err(EventStoreError::SchemaTooNew { found, known });
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
        tx.batch_execute(sql).await.map_err(|e| {
            EventStoreError::Backend(format!("migration {version} ({name}): {}", message(&e)))
        })?;
        tx.execute(
            "INSERT INTO event_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[version, name, &now],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

fn hit(r: &tokio_postgres::Row) -> Result<Hit> {
    let fields: String = r.try_get(12)?;
    Ok(Hit {
        seq: r.try_get(0)?,
        event: Event {
            time: r.try_get(1)?,
            received: r.try_get(2)?,
            source: r.try_get(3)?,
            kind: r.try_get(4)?,
            host: r.try_get(5)?,
            user: r.try_get(6)?,
            action: r.try_get(7)?,
            object: r.try_get(8)?,
            outcome: r.try_get(9)?,
            source_ip: r.try_get(10)?,
            raw: r.try_get(11)?,
            fields: serde_json::from_str(&fields)
                .unwrap_or_else(|_| serde_json::Value::Object(Default::default())),
            parse_error: r.try_get(13)?,
            truncated: r.try_get(14)?,
            fields_from_raw: false,
        },
    })
}

/// A jsonpath string literal.
fn jsonpath_string(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 2);
    out.push('"');
    for c in key.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `lax $."a"."b"[*]`: every value at the path, arrays searched through.
fn jsonpath(keys: &[String]) -> String {
    let mut p = String::from("lax $");
    for s in keys {
        p.push('.');
        p.push_str(&jsonpath_string(s));
    }
    p.push_str("[*]");
    p
}

struct Pg {
    params: Vec<Param>,
}

impl Leaves for Pg {
    fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }
    fn column_like(&mut self, column: Col, pattern: Pattern) -> String {
        let p = self.bind(Param::Text(pattern.like));
        let text = match column {
            Col::Text(c) => c.to_string(),
            Col::Time(c) => rfc3339(c),
            Col::Flag(c) => format!("(CASE WHEN {c} THEN 'true' ELSE 'false' END)"),
        };
        format!("COALESCE({text} ILIKE {p}::text ESCAPE '\\', false)")
    }
    fn json_like(&mut self, keys: &[String], pattern: &Pattern) -> String {
        let path = self.bind(Param::Text(jsonpath(keys)));
        let p = self.bind(Param::Text(pattern.like.clone()));
        format!(
            "EXISTS (SELECT 1 FROM jsonb_path_query(fields, {path}::text::jsonpath) v
                     WHERE jsonb_typeof(v) IN ('string', 'number', 'boolean') AND (v #>> '{{}}') ILIKE {p}::text ESCAPE '\\')"
        )
    }
    fn json_exists(&mut self, keys: &[String]) -> String {
        let path = self.bind(Param::Text(jsonpath(keys)));
        format!(
            "EXISTS (SELECT 1 FROM jsonb_path_query(fields, {path}::text::jsonpath) v WHERE jsonb_typeof(v) <> 'null')"
        )
    }
    fn text(&mut self, pattern: Pattern) -> String {
        let p = self.bind(Param::Text(pattern.like));
        format!("(raw ILIKE {p}::text ESCAPE '\\')")
    }
    fn truth(&self) -> &'static str {
        "true"
    }
    fn falsity(&self) -> &'static str {
        "false"
    }
}

/// Unix nanoseconds in `col` as RFC 3339 UTC text, as `parse::time::format_rfc3339` writes it
/// (nine fraction digits unless a whole second).
fn rfc3339(col: &str) -> String {
    let frac = format!("((({col} % 1000000000) + 1000000000) % 1000000000)");
    format!(
        "(to_char(to_timestamp((({col} - {frac}) / 1000000000)::double precision) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') \
         || CASE WHEN {frac} = 0 THEN 'Z' ELSE '.' || lpad({frac}::text, 9, '0') || 'Z' END)"
    )
}

/// The WHERE expression and its parameters, numbered `$1…$k`: callers bind theirs after.
fn where_clause(q: &Query) -> Result<(String, Vec<Param>)> {
    let mut l = Pg { params: Vec::new() };
    let cond = sql::translate(q, &mut l, 0).map_err(EventStoreError::Invalid)?;
    Ok((cond, l.params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonpaths_escape() {
        assert_eq!(jsonpath(&["a".into(), "b".into()]), "lax $.\"a\".\"b\"[*]");
        assert_eq!(jsonpath(&["a\"b\\".into()]), "lax $.\"a\\\"b\\\\\"[*]");
        assert!(valid_name("events_20260101"));
        assert!(!valid_name("events_x; drop"));
    }
}
