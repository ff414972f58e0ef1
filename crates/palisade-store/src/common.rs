//! What both backends share: the migration lists, input validation and normalisation, the
//! `WHERE` clauses of the filtered listings, and the dashboard's trend walk. Nothing here talks
//! to a database; the SQL dialect differences are limited to placeholders (`?N` / `$N`).

use std::collections::HashMap;

use crate::{
    AssetQuery, AuditQuery, FindingQuery, FindingSort, FindingStatus, Millis, NewAuditEntry,
    NewFinding, NewReport, Result, SeverityCounts, StoreError, TrendPoint,
};

/// One schema change, applied in a transaction and recorded in `schema_migrations`.
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub(crate) const SQLITE_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "core",
        sql: include_str!("../migrations/sqlite/0001_core.sql"),
    },
    Migration {
        version: 2,
        name: "saved_searches",
        sql: include_str!("../migrations/sqlite/0002_saved_searches.sql"),
    },
    Migration {
        version: 3,
        name: "alerts",
        sql: include_str!("../migrations/sqlite/0003_alerts.sql"),
    },
];

pub(crate) const POSTGRES_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "core",
        sql: include_str!("../migrations/postgres/0001_core.sql"),
    },
    Migration {
        version: 2,
        name: "saved_searches",
        sql: include_str!("../migrations/postgres/0002_saved_searches.sql"),
    },
    Migration {
        version: 3,
        name: "alerts",
        sql: include_str!("../migrations/postgres/0003_alerts.sql"),
    },
];

/// The newest schema version a migration list knows.
pub(crate) fn known_version(migrations: &[Migration]) -> i64 {
    migrations.iter().map(|m| m.version).max().unwrap_or(0)
}

/// `prev_hash` of the first audit entry.
pub(crate) const ZERO_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// Limits of one page of a listing: 0 means the default, more than the cap is the cap.
pub(crate) const DEFAULT_LIMIT: u32 = 50;
pub(crate) const MAX_LIMIT: u32 = 1000;
/// The longest dashboard trend window, in days (ten years). Longer requests are cut to it.
pub(crate) const MAX_TREND_DAYS: u32 = 3660;
const DAY_MS: i64 = 86_400_000;

pub(crate) fn page_limit(limit: u32) -> i64 {
    i64::from(match limit {
        0 => DEFAULT_LIMIT,
        n => n.min(MAX_LIMIT),
    })
}

pub(crate) fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The canonical severity names, in sort order: the index is the stored `sev_rank`.
pub(crate) const SEVERITIES: [&str; 6] = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "UNKNOWN"];

/// Canonical name and rank of a severity as a report spells it (case and surrounding space do
/// not matter; anything else is `UNKNOWN`).
pub(crate) fn severity(s: &str) -> (&'static str, i64) {
    let t = s.trim();
    for (rank, name) in SEVERITIES.iter().enumerate() {
        if t.eq_ignore_ascii_case(name) {
            return (name, rank as i64);
        }
    }
    ("UNKNOWN", 5)
}

/// Open counts from `(sev_rank, count)` rows.
pub(crate) fn counts_from_ranks(rows: impl IntoIterator<Item = (i64, i64)>) -> SeverityCounts {
    let mut c = SeverityCounts::default();
    for (rank, n) in rows {
        let name = usize::try_from(rank)
            .ok()
            .and_then(|r| SEVERITIES.get(r))
            .copied()
            .unwrap_or("UNKNOWN");
        c.add(name, n);
    }
    c
}

/// Rejects text PostgreSQL cannot store (NUL), so both backends accept the same input.
pub(crate) fn check_text(field: &str, value: &str) -> Result<()> {
    if value.contains('\0') {
        return Err(StoreError::Invalid(format!(
            "{field} contains a NUL character"
        )));
    }
    Ok(())
}

/// The longest asset key or finding fingerprint, in bytes. Both are unique keys: PostgreSQL
/// cannot index a value much over 2.7 kB (a third of a page), SQLite can, so the limit is
/// checked here for both, well below PostgreSQL's.
pub(crate) const MAX_KEY_BYTES: usize = 1024;

pub(crate) fn check_key(field: &str, value: &str) -> Result<()> {
    check_text(field, value)?;
    if value.len() > MAX_KEY_BYTES {
        return Err(StoreError::Invalid(format!(
            "{field} is longer than {MAX_KEY_BYTES} bytes"
        )));
    }
    Ok(())
}

pub(crate) fn check_opt(field: &str, value: Option<&str>) -> Result<()> {
    value.map_or(Ok(()), |v| check_text(field, v))
}

/// Usernames are stored lowercased; lookups lowercase the same way.
pub(crate) fn normalize_username(username: &str) -> Result<String> {
    check_text("username", username)?;
    if username.trim().is_empty() {
        return Err(StoreError::Invalid("username is empty".into()));
    }
    Ok(username.to_lowercase())
}

fn replace_nul(s: &mut String) {
    if s.contains('\0') {
        *s = s.replace('\0', "\u{FFFD}");
    }
}

/// The audit log must never lose an entry over a stray NUL (a username tried at login can hold
/// anything): NULs become U+FFFD before the entry is hashed, so the stored entry verifies.
pub(crate) fn sanitize_audit(mut e: NewAuditEntry) -> NewAuditEntry {
    replace_nul(&mut e.actor);
    replace_nul(&mut e.action);
    replace_nul(&mut e.target);
    replace_nul(&mut e.outcome);
    if let Some(ip) = e.ip.as_mut() {
        replace_nul(ip);
    }
    if let Some(ua) = e.user_agent.as_mut() {
        replace_nul(ua);
    }
    e
}

/// Text the case-insensitive filters match: lowercased fields joined by newlines.
fn search_text(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(&p.to_lowercase());
    }
    s
}

pub(crate) fn asset_search(name: &str, key: &str) -> String {
    search_text(&[name, key])
}

/// `LIKE` pattern for a case-insensitive substring: the needle lowercased, `\`, `%` and `_`
/// escaped (the queries say `ESCAPE '\'`).
pub(crate) fn like_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for ch in needle.to_lowercase().chars() {
        if matches!(ch, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// One finding of a report, checked and ready to write.
pub(crate) struct PreparedFinding {
    pub f: NewFinding,
    pub severity: &'static str,
    pub rank: i64,
    pub search: String,
    pub raw: String,
}

/// A report, checked, with its findings deduplicated by fingerprint (the last one wins, in the
/// position of the first).
pub(crate) struct PreparedReport {
    pub report: NewReport,
    pub scanners: Vec<String>,
    pub findings: Vec<PreparedFinding>,
    pub asset_search: String,
}

pub(crate) fn prepare_report(mut report: NewReport) -> Result<PreparedReport> {
    if report.asset_key.trim().is_empty() {
        return Err(StoreError::Invalid("the asset key is empty".into()));
    }
    check_key("asset key", &report.asset_key)?;
    check_text("asset name", &report.asset_name)?;
    check_text("format", &report.format)?;
    check_text("uploaded_by", &report.uploaded_by)?;
    check_opt("sbom", report.sbom.as_deref())?;
    let mut scanners: Vec<String> = Vec::with_capacity(report.scanners.len());
    for s in &report.scanners {
        check_text("scanner", s)?;
        if !scanners.contains(s) {
            scanners.push(s.clone());
        }
    }

    let findings = std::mem::take(&mut report.findings);
    let mut slot: HashMap<String, usize> = HashMap::with_capacity(findings.len());
    let mut unique: Vec<NewFinding> = Vec::with_capacity(findings.len());
    for f in findings {
        match slot.get(&f.fingerprint) {
            Some(&i) => unique[i] = f,
            None => {
                slot.insert(f.fingerprint.clone(), unique.len());
                unique.push(f);
            }
        }
    }
    drop(slot);

    let mut prepared = Vec::with_capacity(unique.len());
    for f in unique {
        check_key("finding fingerprint", &f.fingerprint)?;
        check_text("finding rule id", &f.rule_id)?;
        check_text("finding scanner", &f.scanner)?;
        check_text("finding title", &f.title)?;
        check_text("finding message", &f.message)?;
        check_text("finding location", &f.location)?;
        check_opt("finding package", f.package.as_deref())?;
        check_opt("finding installed version", f.installed_version.as_deref())?;
        check_opt("finding fixed version", f.fixed_version.as_deref())?;
        let (severity, rank) = severity(&f.severity);
        let search = search_text(&[
            &f.title,
            &f.rule_id,
            &f.location,
            f.package.as_deref().unwrap_or(""),
        ]);
        // serde_json escapes NUL inside JSON strings, so the raw text is always storable.
        let raw = f.raw.to_string();
        prepared.push(PreparedFinding {
            f,
            severity,
            rank,
            search,
            raw,
        });
    }
    let asset_search = asset_search(&report.asset_name, &report.asset_key);
    Ok(PreparedReport {
        report,
        scanners,
        findings: prepared,
        asset_search,
    })
}

pub(crate) fn status_str(s: FindingStatus) -> &'static str {
    match s {
        FindingStatus::Open => "open",
        FindingStatus::Fixed => "fixed",
    }
}

pub(crate) fn parse_status(s: &str) -> Result<FindingStatus> {
    match s {
        "open" => Ok(FindingStatus::Open),
        "fixed" => Ok(FindingStatus::Fixed),
        other => Err(StoreError::Backend(format!(
            "unexpected finding status {other:?} in the database"
        ))),
    }
}

/// Placeholder style of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// A bound value of a dynamically built query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
}

/// A `WHERE` clause built from optional filters, with its arguments in placeholder order.
pub(crate) struct Filter {
    dialect: Dialect,
    conds: Vec<String>,
    pub args: Vec<Arg>,
}

impl Filter {
    pub fn new(dialect: Dialect) -> Filter {
        Filter {
            dialect,
            conds: Vec::new(),
            args: Vec::new(),
        }
    }

    /// Adds an argument and returns its placeholder.
    pub fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        match self.dialect {
            Dialect::Sqlite => format!("?{}", self.args.len()),
            Dialect::Postgres => format!("${}", self.args.len()),
        }
    }

    pub fn cond(&mut self, c: String) {
        self.conds.push(c);
    }

    /// ` WHERE a AND b`, or nothing.
    pub fn where_sql(&self) -> String {
        if self.conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conds.join(" AND "))
        }
    }

    /// One page of `table` under this filter, and the count of all its rows, as SQL with
    /// their arguments: what every list query of both backends runs.
    pub fn page(
        mut self,
        table: &str,
        cols: &str,
        order: &str,
        limit: u32,
        offset: u32,
    ) -> PageQuery {
        let where_sql = self.where_sql();
        let count_sql = format!("SELECT COUNT(*) FROM {table}{where_sql}");
        let count_args = self.args.clone();
        let limit = self.arg(Arg::Int(page_limit(limit)));
        let offset = self.arg(Arg::Int(i64::from(offset)));
        PageQuery {
            sql: format!(
                "SELECT {cols} FROM {table}{where_sql} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
            ),
            args: self.args,
            count_sql,
            count_args,
        }
    }
}

/// See [`Filter::page`].
pub(crate) struct PageQuery {
    pub sql: String,
    pub args: Vec<Arg>,
    pub count_sql: String,
    pub count_args: Vec<Arg>,
}

pub(crate) fn findings_filter(q: &FindingQuery, d: Dialect) -> Filter {
    let mut f = Filter::new(d);
    if let Some(id) = q.asset_id {
        let p = f.arg(Arg::Int(id));
        f.cond(format!("asset_id = {p}"));
    }
    if !q.severities.is_empty() {
        let mut ranks: Vec<i64> = q.severities.iter().map(|s| severity(s).1).collect();
        ranks.sort_unstable();
        ranks.dedup();
        let ps: Vec<String> = ranks.into_iter().map(|r| f.arg(Arg::Int(r))).collect();
        f.cond(format!("sev_rank IN ({})", ps.join(", ")));
    }
    if let Some(s) = &q.scanner {
        let p = f.arg(Arg::Text(s.clone()));
        f.cond(format!("scanner = {p}"));
    }
    if let Some(r) = &q.rule_id {
        let p = f.arg(Arg::Text(r.clone()));
        f.cond(format!("rule_id = {p}"));
    }
    if let Some(st) = q.status {
        let p = f.arg(Arg::Text(status_str(st).into()));
        f.cond(format!("status = {p}"));
    }
    if let Some(t) = q.text.as_deref().filter(|t| !t.is_empty()) {
        let p = f.arg(Arg::Text(like_pattern(t)));
        f.cond(format!("search LIKE {p} ESCAPE '\\'"));
    }
    f
}

pub(crate) fn findings_order(sort: FindingSort) -> &'static str {
    match sort {
        FindingSort::Severity => "sev_rank ASC, last_seen DESC, id ASC",
        FindingSort::FirstSeen => "first_seen DESC, id DESC",
        FindingSort::LastSeen => "last_seen DESC, id DESC",
    }
}

pub(crate) fn assets_filter(q: &AssetQuery, d: Dialect) -> Filter {
    let mut f = Filter::new(d);
    if let Some(k) = q.kind {
        let p = f.arg(Arg::Text(k.as_str().into()));
        f.cond(format!("kind = {p}"));
    }
    if let Some(t) = q.text.as_deref().filter(|t| !t.is_empty()) {
        let p = f.arg(Arg::Text(like_pattern(t)));
        f.cond(format!("search LIKE {p} ESCAPE '\\'"));
    }
    f
}

pub(crate) fn assets_order(by_last_seen: bool) -> &'static str {
    if by_last_seen {
        "last_seen DESC, id DESC"
    } else {
        "risk DESC, last_seen DESC, id ASC"
    }
}

pub(crate) fn audit_filter(q: &AuditQuery, d: Dialect) -> Filter {
    let mut f = Filter::new(d);
    if let Some(a) = &q.actor {
        let p = f.arg(Arg::Text(a.clone()));
        f.cond(format!("actor = {p}"));
    }
    if let Some(prefix) = q.action_prefix.as_deref().filter(|p| !p.is_empty()) {
        // substr and length count characters in both SQLite and PostgreSQL, and compare exactly
        // (LIKE would be case-insensitive in SQLite only). The length is computed in SQL: a
        // bound i64 cannot go to PostgreSQL's substr, whose count is a 32-bit integer.
        let pp = f.arg(Arg::Text(prefix.to_string()));
        f.cond(format!(
            "substr(action, 1, length(CAST({pp} AS TEXT))) = {pp}"
        ));
    }
    if let Some(s) = q.since {
        let p = f.arg(Arg::Int(s));
        f.cond(format!("at >= {p}"));
    }
    if let Some(u) = q.until {
        let p = f.arg(Arg::Int(u));
        f.cond(format!("at <= {p}"));
    }
    if let Some(b) = q.before_id {
        let p = f.arg(Arg::Int(b));
        f.cond(format!("id < {p}"));
    }
    f
}

/// First and last day of a trend window of `days` days ending on the day of `now`.
pub(crate) fn trend_window(now: Millis, days: u32) -> Option<(i64, i64)> {
    let days = days.min(MAX_TREND_DAYS);
    if days == 0 {
        return None;
    }
    let last = crate::day_of(now);
    Some((last - i64::from(days) + 1, last))
}

/// One point per day from `first` to `last`: a day without a row repeats the day before it;
/// `carry` is the last row before the window (zeros when there is none).
pub(crate) fn build_trend(
    first: i64,
    last: i64,
    carry: Option<SeverityCounts>,
    rows: &[(i64, SeverityCounts)],
) -> Vec<TrendPoint> {
    let mut out = Vec::with_capacity(usize::try_from(last - first + 1).unwrap_or(0));
    let mut current = carry.unwrap_or_default();
    let mut rows = rows.iter().peekable();
    for day in first..=last {
        while let Some((d, c)) = rows.peek() {
            if *d > day {
                break;
            }
            current = *c;
            rows.next();
        }
        out.push(TrendPoint { day, open: current });
    }
    out
}

/// Start of the "last 30 days" of the dashboard.
pub(crate) fn thirty_days_before(now: Millis) -> Millis {
    now.saturating_sub(30 * DAY_MS)
}

pub(crate) const USER_COLS: &str = "id, username, display_name, role, password_hash, oidc_subject, disabled, created_at, last_login_at";
pub(crate) const USER_COLS_U: &str = "u.id, u.username, u.display_name, u.role, u.password_hash, u.oidc_subject, u.disabled, u.created_at, u.last_login_at";
pub(crate) const SESSION_COLS_S: &str =
    "s.id_hash, s.user_id, s.csrf_token, s.created_at, s.expires_at, s.ip, s.user_agent";
pub(crate) const TOKEN_COLS: &str = "id, user_id, name, secret_hash, prefix, scope, created_at, expires_at, last_used_at, revoked_at";
/// A saved search with its owner's username (`FROM {SAVED_SEARCH_FROM}`).
pub(crate) const SAVED_SEARCH_COLS: &str =
    "s.id, s.user_id, u.username, s.name, s.query, s.created_at";
pub(crate) const SAVED_SEARCH_FROM: &str = "saved_searches s JOIN users u ON u.id = s.user_id";
pub(crate) const AUDIT_COLS: &str = "id, at, actor, actor_user_id, action, target, outcome, ip, user_agent, details, prev_hash, hash";
pub(crate) const ASSET_COLS: &str = "id, kind, key, name, first_seen, last_seen, last_report_id, open_critical, open_high, open_medium, open_low, open_info, open_unknown";
pub(crate) const FINDING_COLS: &str = "id, asset_id, fingerprint, rule_id, scanner, severity, title, message, location, package, installed_version, fixed_version, status, first_seen, last_seen, fixed_at, last_report_id";
pub(crate) const REPORT_COLS: &str =
    "id, asset_id, received_at, format, scanners, uploaded_by, size, finding_count";

/// Column access both backends provide, so rows become model values in one place.
pub(crate) trait RowGet {
    fn int(&self, i: usize) -> Result<i64>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>>;
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn flag(&self, i: usize) -> Result<bool>;
    fn strings(&self, i: usize) -> Result<Vec<String>>;
}

fn bad(what: &str, v: &str) -> StoreError {
    StoreError::Backend(format!("unexpected {what} {v:?} in the database"))
}

pub(crate) fn user_at(r: &impl RowGet, o: usize) -> Result<crate::User> {
    let role = r.text(o + 3)?;
    Ok(crate::User {
        id: r.int(o)?,
        username: r.text(o + 1)?,
        display_name: r.text(o + 2)?,
        role: crate::Role::parse(&role).ok_or_else(|| bad("role", &role))?,
        password_hash: r.opt_text(o + 4)?,
        oidc_subject: r.opt_text(o + 5)?,
        disabled: r.flag(o + 6)?,
        created_at: r.int(o + 7)?,
        last_login_at: r.opt_int(o + 8)?,
    })
}

pub(crate) fn session_at(r: &impl RowGet, o: usize) -> Result<crate::Session> {
    Ok(crate::Session {
        id_hash: r.text(o)?,
        user_id: r.int(o + 1)?,
        csrf_token: r.text(o + 2)?,
        created_at: r.int(o + 3)?,
        expires_at: r.int(o + 4)?,
        ip: r.opt_text(o + 5)?,
        user_agent: r.opt_text(o + 6)?,
    })
}

pub(crate) fn saved_search_at(r: &impl RowGet, o: usize) -> Result<crate::SavedSearch> {
    Ok(crate::SavedSearch {
        id: r.int(o)?,
        user_id: r.int(o + 1)?,
        owner: r.text(o + 2)?,
        name: r.text(o + 3)?,
        query: r.text(o + 4)?,
        created_at: r.int(o + 5)?,
    })
}

pub(crate) fn token_at(r: &impl RowGet, o: usize) -> Result<crate::ApiToken> {
    let scope = r.text(o + 5)?;
    Ok(crate::ApiToken {
        id: r.int(o)?,
        user_id: r.int(o + 1)?,
        name: r.text(o + 2)?,
        secret_hash: r.text(o + 3)?,
        prefix: r.text(o + 4)?,
        scope: crate::Role::parse(&scope).ok_or_else(|| bad("role", &scope))?,
        created_at: r.int(o + 6)?,
        expires_at: r.opt_int(o + 7)?,
        last_used_at: r.opt_int(o + 8)?,
        revoked_at: r.opt_int(o + 9)?,
    })
}

pub(crate) fn audit_at(r: &impl RowGet, o: usize) -> Result<crate::AuditEntry> {
    let details = r.text(o + 9)?;
    Ok(crate::AuditEntry {
        id: r.int(o)?,
        at: r.int(o + 1)?,
        actor: r.text(o + 2)?,
        actor_user_id: r.opt_int(o + 3)?,
        action: r.text(o + 4)?,
        target: r.text(o + 5)?,
        outcome: r.text(o + 6)?,
        ip: r.opt_text(o + 7)?,
        user_agent: r.opt_text(o + 8)?,
        details: serde_json::from_str(&details)
            .map_err(|_| StoreError::Backend("audit entry details are not JSON".into()))?,
        prev_hash: r.text(o + 10)?,
        hash: r.text(o + 11)?,
    })
}

impl crate::AuditEntry {
    /// The fields the chain hash covers.
    pub(crate) fn content(&self) -> NewAuditEntry {
        NewAuditEntry {
            at: self.at,
            actor: self.actor.clone(),
            actor_user_id: self.actor_user_id,
            action: self.action.clone(),
            target: self.target.clone(),
            outcome: self.outcome.clone(),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            details: self.details.clone(),
        }
    }
}

/// Walks audit entries in id order; remembers the first one that does not link.
pub(crate) struct ChainCheck {
    prev: String,
    last_id: i64,
    pub broken: Option<i64>,
}

impl ChainCheck {
    pub fn new() -> ChainCheck {
        ChainCheck {
            prev: ZERO_HASH.to_string(),
            last_id: 0,
            broken: None,
        }
    }

    pub fn feed(&mut self, e: &crate::AuditEntry) {
        if self.broken.is_some() {
            return;
        }
        if e.prev_hash != self.prev || crate::audit_hash(&e.prev_hash, &e.content()) != e.hash {
            self.broken = Some(e.id);
            return;
        }
        self.prev = e.hash.clone();
        self.last_id = e.id;
    }

    /// Final verdict, given the recorded head of the chain: entries removed from the end show
    /// as a head that names an entry the walk never reached (its id is returned).
    pub fn finish(self, head_id: i64, head_hash: &str) -> Option<i64> {
        if self.broken.is_some() {
            return self.broken;
        }
        if head_id != self.last_id || head_hash != self.prev {
            return Some(head_id.max(self.last_id));
        }
        None
    }
}

pub(crate) fn asset_at(r: &impl RowGet, o: usize) -> Result<crate::Asset> {
    let kind = r.text(o + 1)?;
    Ok(crate::Asset {
        id: r.int(o)?,
        kind: crate::AssetKind::parse(&kind).ok_or_else(|| bad("asset kind", &kind))?,
        key: r.text(o + 2)?,
        name: r.text(o + 3)?,
        first_seen: r.int(o + 4)?,
        last_seen: r.int(o + 5)?,
        last_report_id: r.opt_int(o + 6)?,
        open: SeverityCounts {
            critical: r.int(o + 7)?,
            high: r.int(o + 8)?,
            medium: r.int(o + 9)?,
            low: r.int(o + 10)?,
            info: r.int(o + 11)?,
            unknown: r.int(o + 12)?,
        },
    })
}

pub(crate) fn finding_at(r: &impl RowGet, o: usize) -> Result<crate::LedgerFinding> {
    Ok(crate::LedgerFinding {
        id: r.int(o)?,
        asset_id: r.int(o + 1)?,
        fingerprint: r.text(o + 2)?,
        rule_id: r.text(o + 3)?,
        scanner: r.text(o + 4)?,
        severity: r.text(o + 5)?,
        title: r.text(o + 6)?,
        message: r.text(o + 7)?,
        location: r.text(o + 8)?,
        package: r.opt_text(o + 9)?,
        installed_version: r.opt_text(o + 10)?,
        fixed_version: r.opt_text(o + 11)?,
        status: parse_status(&r.text(o + 12)?)?,
        first_seen: r.int(o + 13)?,
        last_seen: r.int(o + 14)?,
        fixed_at: r.opt_int(o + 15)?,
        last_report_id: r.int(o + 16)?,
    })
}

pub(crate) fn report_at(r: &impl RowGet, o: usize) -> Result<crate::Report> {
    Ok(crate::Report {
        id: r.int(o)?,
        asset_id: r.int(o + 1)?,
        received_at: r.int(o + 2)?,
        format: r.text(o + 3)?,
        scanners: r.strings(o + 4)?,
        uploaded_by: r.text(o + 5)?,
        size: r.int(o + 6)?,
        finding_count: r.int(o + 7)?,
    })
}

pub(crate) fn trend_at(r: &impl RowGet, o: usize) -> Result<(i64, SeverityCounts)> {
    Ok((
        r.int(o)?,
        SeverityCounts {
            critical: r.int(o + 1)?,
            high: r.int(o + 2)?,
            medium: r.int(o + 3)?,
            low: r.int(o + 4)?,
            info: r.int(o + 5)?,
            unknown: r.int(o + 6)?,
        },
    ))
}

// ---- alerts ---------------------------------------------------------------------------

pub(crate) const ALERT_COLS: &str = "id, rule_id, rule_title, level, tags, entities, dedup_key, correlation, state, state_reason, state_by, state_at, count, first_seen, last_seen, event_count";
pub(crate) const ALERT_EVENT_COLS: &str = "event_id, time_ns, source, event, truncated";
/// Most tags and entities one alert may carry.
pub(crate) const MAX_ALERT_TAGS: usize = 64;
pub(crate) const MAX_ALERT_ENTITIES: usize = 32;

/// Hex SHA-256 of the rule id and the entities (a `BTreeMap`, so sorted by key): alerts with
/// the same key deduplicate.
pub(crate) fn alert_dedup_key(
    rule_id: &str,
    entities: &std::collections::BTreeMap<String, String>,
) -> String {
    use sha2::{Digest, Sha256};
    let canonical = serde_json::json!([rule_id, entities]);
    crate::hex(&Sha256::digest(canonical.to_string().as_bytes()))
}

/// One event of a match, checked and ready to write.
pub(crate) struct PreparedAlertEvent {
    pub event_id: Option<String>,
    pub time_ns: i64,
    pub source: String,
    /// JSON text (a JSON string of the start of the text when `truncated`).
    pub event: String,
    pub truncated: bool,
}

/// A match, checked, with what both backends write.
pub(crate) struct PreparedAlert {
    pub rule_id: String,
    pub rule_title: String,
    pub level: crate::AlertLevel,
    pub tags: String,
    pub entities: String,
    pub dedup_key: String,
    pub correlation: bool,
    pub search: String,
    /// The match time in milliseconds.
    pub at: Millis,
    pub events: Vec<PreparedAlertEvent>,
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

pub(crate) fn prepare_alert(a: crate::NewAlert) -> Result<PreparedAlert> {
    if a.rule_id.trim().is_empty() {
        return Err(StoreError::Invalid("the alert's rule id is empty".into()));
    }
    check_key("alert rule id", &a.rule_id)?;
    check_text("alert rule title", &a.rule_title)?;
    if a.tags.len() > MAX_ALERT_TAGS {
        return Err(StoreError::Invalid(format!(
            "an alert has at most {MAX_ALERT_TAGS} tags"
        )));
    }
    for t in &a.tags {
        check_key("alert tag", t)?;
    }
    if a.entities.len() > MAX_ALERT_ENTITIES {
        return Err(StoreError::Invalid(format!(
            "an alert has at most {MAX_ALERT_ENTITIES} entities"
        )));
    }
    for (k, v) in &a.entities {
        check_key("alert entity name", k)?;
        check_key("alert entity value", v)?;
    }
    let mut events = Vec::with_capacity(a.events.len().min(crate::MAX_ALERT_EVENTS));
    for e in a.events.into_iter().take(crate::MAX_ALERT_EVENTS) {
        check_opt("alert event id", e.event_id.as_deref())?;
        check_text("alert event source", &e.source)?;
        // serde_json escapes NUL inside strings, so the text is always storable.
        let text = e.event.to_string();
        let (event, truncated) = if text.len() > crate::MAX_ALERT_EVENT_BYTES {
            let cut = prefix(&text, crate::MAX_ALERT_EVENT_BYTES);
            (serde_json::Value::String(cut.to_string()).to_string(), true)
        } else {
            (text, false)
        };
        events.push(PreparedAlertEvent {
            event_id: e.event_id,
            time_ns: e.time_ns,
            source: e.source,
            event,
            truncated,
        });
    }
    let dedup_key = alert_dedup_key(&a.rule_id, &a.entities);
    let pairs: Vec<String> = a.entities.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let search = search_text(&[
        &a.rule_title,
        &a.rule_id,
        &a.tags.join(" "),
        &pairs.join(" "),
    ]);
    Ok(PreparedAlert {
        tags: serde_json::json!(a.tags).to_string(),
        entities: serde_json::json!(a.entities).to_string(),
        rule_id: a.rule_id,
        rule_title: a.rule_title,
        level: a.level,
        dedup_key,
        correlation: a.correlation,
        search,
        at: a.time_ns.div_euclid(1_000_000),
        events,
    })
}

/// The reason of a state change, trimmed; `Invalid` when closing without one.
pub(crate) fn alert_reason(change: &crate::AlertStateChange) -> Result<Option<String>> {
    check_text("state change author", &change.by)?;
    let reason = change
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    check_opt("state change reason", reason.as_deref())?;
    if change.state == crate::AlertState::Closed && reason.is_none() {
        return Err(StoreError::Invalid(
            "closing an alert needs a reason".into(),
        ));
    }
    Ok(reason)
}

pub(crate) fn alerts_filter(q: &crate::AlertQuery, d: Dialect) -> Filter {
    let mut f = Filter::new(d);
    if let Some(s) = q.state {
        let p = f.arg(Arg::Text(s.as_str().into()));
        f.cond(format!("state = {p}"));
    }
    if let Some(l) = q.min_level {
        let p = f.arg(Arg::Int(l.rank()));
        f.cond(format!("level_rank >= {p}"));
    }
    if let Some(r) = &q.rule_id {
        let p = f.arg(Arg::Text(r.clone()));
        f.cond(format!("rule_id = {p}"));
    }
    if let Some(t) = q.text.as_deref().filter(|t| !t.is_empty()) {
        let p = f.arg(Arg::Text(like_pattern(t)));
        f.cond(format!("search LIKE {p} ESCAPE '\\'"));
    }
    if let Some(s) = q.since {
        let p = f.arg(Arg::Int(s));
        f.cond(format!("last_seen >= {p}"));
    }
    if let Some(u) = q.until {
        let p = f.arg(Arg::Int(u));
        f.cond(format!("last_seen <= {p}"));
    }
    f
}

pub(crate) const ALERTS_ORDER: &str = "last_seen DESC, id DESC";

pub(crate) fn alert_at(r: &impl RowGet, o: usize) -> Result<crate::Alert> {
    let level = r.text(o + 3)?;
    let state = r.text(o + 8)?;
    let tags = r.text(o + 4)?;
    let entities = r.text(o + 5)?;
    Ok(crate::Alert {
        id: r.int(o)?,
        rule_id: r.text(o + 1)?,
        rule_title: r.text(o + 2)?,
        level: crate::AlertLevel::parse(&level).ok_or_else(|| bad("alert level", &level))?,
        tags: serde_json::from_str(&tags)
            .map_err(|_| StoreError::Backend("alert tags are not a JSON list".into()))?,
        entities: serde_json::from_str(&entities)
            .map_err(|_| StoreError::Backend("alert entities are not a JSON object".into()))?,
        dedup_key: r.text(o + 6)?,
        correlation: r.flag(o + 7)?,
        state: crate::AlertState::parse(&state).ok_or_else(|| bad("alert state", &state))?,
        state_reason: r.opt_text(o + 9)?,
        state_by: r.opt_text(o + 10)?,
        state_at: r.opt_int(o + 11)?,
        count: r.int(o + 12)?,
        first_seen: r.int(o + 13)?,
        last_seen: r.int(o + 14)?,
        event_count: r.int(o + 15)?,
    })
}

pub(crate) fn alert_event_at(r: &impl RowGet, o: usize) -> Result<crate::StoredAlertEvent> {
    let event = r.text(o + 3)?;
    Ok(crate::StoredAlertEvent {
        event_id: r.opt_text(o)?,
        time_ns: r.int(o + 1)?,
        source: r.text(o + 2)?,
        event: serde_json::from_str(&event)
            .map_err(|_| StoreError::Backend("a stored alert event is not JSON".into()))?,
        truncated: r.flag(o + 4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(like_pattern("50%_a\\B"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn severity_normalises() {
        assert_eq!(severity(" high "), ("HIGH", 1));
        assert_eq!(severity("Critical"), ("CRITICAL", 0));
        assert_eq!(severity("weird"), ("UNKNOWN", 5));
    }

    #[test]
    fn trend_carries_forward() {
        let c = |n| SeverityCounts {
            high: n,
            ..Default::default()
        };
        let t = build_trend(10, 14, None, &[(11, c(3)), (13, c(1))]);
        let highs: Vec<i64> = t.iter().map(|p| p.open.high).collect();
        assert_eq!(highs, [0, 3, 3, 1, 1]);
        assert_eq!(t[0].day, 10);
        let t = build_trend(10, 11, Some(c(7)), &[]);
        assert_eq!(t.iter().map(|p| p.open.high).collect::<Vec<_>>(), [7, 7]);
    }

    #[test]
    fn dedupe_keeps_last() {
        let f = |fp: &str, title: &str| NewFinding {
            fingerprint: fp.into(),
            rule_id: "R".into(),
            scanner: "s".into(),
            severity: "low".into(),
            title: title.into(),
            message: String::new(),
            location: String::new(),
            package: None,
            installed_version: None,
            fixed_version: None,
            raw: serde_json::Value::Null,
        };
        let r = NewReport {
            received_at: 0,
            format: "x".into(),
            scanners: vec!["s".into(), "s".into()],
            asset_kind: crate::AssetKind::Other,
            asset_key: "k".into(),
            asset_name: "n".into(),
            uploaded_by: "u".into(),
            size: 0,
            sbom: None,
            findings: vec![f("a", "1"), f("b", "2"), f("a", "3")],
        };
        let p = prepare_report(r).unwrap();
        assert_eq!(p.scanners, ["s"]);
        let titles: Vec<&str> = p.findings.iter().map(|x| x.f.title.as_str()).collect();
        assert_eq!(titles, ["3", "2"]);
        assert_eq!(p.findings[0].severity, "LOW");
    }
}
