//! The records the platform keeps. Times are Unix milliseconds (UTC) so both backends store
//! them the same way and comparisons are exact.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// The platform's roles, from least to most privileged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything except users, tokens of others and the audit log.
    Viewer,
    /// Viewer, plus uploads reports and changes finding and alert state.
    Analyst,
    /// Everything, including users, tokens and the audit log.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Analyst, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Some(Role::Viewer),
            "analyst" => Some(Role::Analyst),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A person who can sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    /// Unique, case-insensitive (stored lowercased).
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// PHC string (`$argon2id$…`); `None` for accounts that only sign in through OIDC.
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// `issuer|subject` for accounts created by OIDC sign-in.
    pub oidc_subject: Option<String>,
    pub disabled: bool,
    pub created_at: Millis,
    pub last_login_at: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: Option<String>,
    pub oidc_subject: Option<String>,
}

/// A console session. The cookie holds a random secret; only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Hex SHA-256 of the cookie secret.
    pub id_hash: String,
    pub user_id: i64,
    /// Per-session CSRF token (random, stored as is: it is not a credential on its own).
    pub csrf_token: String,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A saved event search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedSearch {
    pub id: i64,
    pub user_id: i64,
    /// The owner's username.
    pub owner: String,
    pub name: String,
    /// The search, in palisade_siem's query language.
    pub query: String,
    pub created_at: Millis,
}

/// A saved search to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSavedSearch {
    pub user_id: i64,
    pub name: String,
    pub query: String,
}

/// An API token. The secret is shown once; only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// Hex SHA-256 of the full token string.
    #[serde(skip)]
    pub secret_hash: String,
    /// First characters of the token, safe to show (`pal_abcd…`).
    pub prefix: String,
    /// The most the token may do; the effective role is the lower of this and the owner's role.
    pub scope: Role,
    pub created_at: Millis,
    pub expires_at: Option<Millis>,
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    pub user_id: i64,
    pub name: String,
    pub secret_hash: String,
    pub prefix: String,
    pub scope: Role,
    pub expires_at: Option<Millis>,
}

/// A one-time sign-in link (first start, password resets). Only the SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLink {
    pub secret_hash: String,
    pub user_id: i64,
    pub expires_at: Millis,
}

/// One line of the audit log. Entries are chained: `hash` covers the entry and `prev_hash`,
/// so a removed or edited row breaks the chain (`Store::verify_audit_chain`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Millis,
    /// Username, `token:<name>`, or `anonymous`.
    pub actor: String,
    pub actor_user_id: Option<i64>,
    /// Dotted verb: `login.success`, `login.failure`, `token.create`, `report.upload`, …
    pub action: String,
    /// What the action was about (`user:3`, `token:7`, `asset:12`), empty when nothing.
    pub target: String,
    /// `success` or `failure`, or `denied`.
    pub outcome: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Extra facts as a JSON object (never secrets).
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    pub at: Millis,
    pub actor: String,
    pub actor_user_id: Option<i64>,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub actor: Option<String>,
    /// Prefix match on the action (`login.` matches all login actions).
    pub action_prefix: Option<String>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    /// Return entries with `id < before_id` (newest first paging).
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// What kind of thing an asset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetKind {
    /// A container image, keyed by digest.
    Image,
    /// A Kubernetes workload, keyed by `namespace/kind/name`.
    Workload,
    /// A source repository or a directory tree.
    Repository,
    /// Anything else a report names.
    Other,
}

impl AssetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::Image => "image",
            AssetKind::Workload => "workload",
            AssetKind::Repository => "repository",
            AssetKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<AssetKind> {
        match s {
            "image" => Some(AssetKind::Image),
            "workload" => Some(AssetKind::Workload),
            "repository" => Some(AssetKind::Repository),
            "other" => Some(AssetKind::Other),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    pub id: i64,
    pub kind: AssetKind,
    /// Unique identity: `image:sha256:…`, `workload:ns/Deployment/web`, `repository:<name>`.
    pub key: String,
    /// What people call it (`nginx:1.27`, `web`, `github.com/acme/api`).
    pub name: String,
    pub first_seen: Millis,
    pub last_seen: Millis,
    pub last_report_id: Option<i64>,
    /// Open findings by severity, kept current on every report.
    pub open: SeverityCounts,
}

/// Counts per severity (the five Palisade severities plus unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityCounts {
    pub critical: i64,
    pub high: i64,
    pub medium: i64,
    pub low: i64,
    pub info: i64,
    pub unknown: i64,
}

impl SeverityCounts {
    pub fn total(&self) -> i64 {
        self.critical + self.high + self.medium + self.low + self.info + self.unknown
    }

    /// Weighted risk used to rank assets: critical 10, high 5, medium 2, low 1.
    pub fn risk(&self) -> i64 {
        self.critical * 10 + self.high * 5 + self.medium * 2 + self.low
    }

    pub fn add(&mut self, severity: &str, n: i64) {
        match severity {
            "CRITICAL" => self.critical += n,
            "HIGH" => self.high += n,
            "MEDIUM" => self.medium += n,
            "LOW" => self.low += n,
            "INFO" => self.info += n,
            _ => self.unknown += n,
        }
    }
}

/// A report as received, before it is applied to the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReport {
    pub received_at: Millis,
    /// `palisade-json`, `sarif`, `cyclonedx`.
    pub format: String,
    /// Scanners the report covers (`kubernetes`, `vulnerability`, `secret`, …). Open findings of
    /// the asset from these scanners that the report no longer lists are marked fixed.
    pub scanners: Vec<String>,
    pub asset_kind: AssetKind,
    pub asset_key: String,
    pub asset_name: String,
    pub uploaded_by: String,
    /// Size of the upload in bytes.
    pub size: i64,
    /// The SBOM, when the report carried one (CycloneDX JSON text).
    pub sbom: Option<String>,
    pub findings: Vec<NewFinding>,
}

/// One finding as a report states it. `fingerprint` identifies it across reports of one asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewFinding {
    pub fingerprint: String,
    pub rule_id: String,
    pub scanner: String,
    /// `CRITICAL`, `HIGH`, `MEDIUM`, `LOW`, `INFO`, `UNKNOWN`.
    pub severity: String,
    pub title: String,
    pub message: String,
    /// `path:line` or `path`, as shown to people.
    pub location: String,
    /// Package name and version for vulnerabilities.
    pub package: Option<String>,
    pub installed_version: Option<String>,
    pub fixed_version: Option<String>,
    /// The finding as the report had it, for the detail view.
    pub raw: serde_json::Value,
}

/// Outcome of applying one report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportOutcome {
    pub report_id: i64,
    pub asset_id: i64,
    /// Findings seen for the first time on this asset.
    pub new: i64,
    /// Findings that were open and are still there.
    pub unchanged: i64,
    /// Findings that had been fixed and are back.
    pub reopened: i64,
    /// Open findings this report's scanners no longer list.
    pub fixed: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub id: i64,
    pub asset_id: i64,
    pub received_at: Millis,
    pub format: String,
    pub scanners: Vec<String>,
    pub uploaded_by: String,
    pub size: i64,
    pub finding_count: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingStatus {
    Open,
    Fixed,
}

/// A finding in the ledger: one per (asset, fingerprint), tracked over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerFinding {
    pub id: i64,
    pub asset_id: i64,
    pub fingerprint: String,
    pub rule_id: String,
    pub scanner: String,
    pub severity: String,
    pub title: String,
    pub message: String,
    pub location: String,
    pub package: Option<String>,
    pub installed_version: Option<String>,
    pub fixed_version: Option<String>,
    pub status: FindingStatus,
    pub first_seen: Millis,
    pub last_seen: Millis,
    /// When it was last marked fixed; `None` while open.
    pub fixed_at: Option<Millis>,
    pub last_report_id: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingSort {
    /// Most severe first, then newest.
    #[default]
    Severity,
    /// Most recently first seen first.
    FirstSeen,
    /// Most recently seen first.
    LastSeen,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingQuery {
    pub asset_id: Option<i64>,
    /// Any of these severities (empty = all).
    pub severities: Vec<String>,
    pub scanner: Option<String>,
    pub rule_id: Option<String>,
    /// `None` = open and fixed.
    pub status: Option<FindingStatus>,
    /// Case-insensitive substring over title, rule id, location and package.
    pub text: Option<String>,
    pub sort: FindingSort,
    pub offset: u32,
    pub limit: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetQuery {
    pub kind: Option<AssetKind>,
    /// Case-insensitive substring over name and key.
    pub text: Option<String>,
    /// Order by risk (default) or by last seen.
    pub by_last_seen: bool,
    pub offset: u32,
    pub limit: u32,
}

/// A page of results and how many there are in all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// Open findings by severity at the end of one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrendPoint {
    /// Days since the Unix epoch (UTC).
    pub day: i64,
    pub open: SeverityCounts,
}

/// What the dashboard shows, in one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub open: SeverityCounts,
    pub assets: i64,
    pub reports: i64,
    /// Findings fixed in the last 30 days.
    pub fixed_30d: i64,
    /// Findings first seen in the last 30 days.
    pub new_30d: i64,
    /// Oldest first, one point per day for the requested window (days with no change repeat
    /// the previous day's counts).
    pub trend: Vec<TrendPoint>,
    /// Highest risk first.
    pub riskiest: Vec<Asset>,
}

/// How serious an alert is: the `level` of the Sigma rule that raised it, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertLevel {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl AlertLevel {
    pub const ALL: [AlertLevel; 5] = [
        AlertLevel::Informational,
        AlertLevel::Low,
        AlertLevel::Medium,
        AlertLevel::High,
        AlertLevel::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertLevel::Informational => "informational",
            AlertLevel::Low => "low",
            AlertLevel::Medium => "medium",
            AlertLevel::High => "high",
            AlertLevel::Critical => "critical",
        }
    }

    /// Case-insensitive; `info` is accepted for `informational`.
    pub fn parse(s: &str) -> Option<AlertLevel> {
        match s.trim().to_ascii_lowercase().as_str() {
            "informational" | "info" => Some(AlertLevel::Informational),
            "low" => Some(AlertLevel::Low),
            "medium" => Some(AlertLevel::Medium),
            "high" => Some(AlertLevel::High),
            "critical" => Some(AlertLevel::Critical),
            _ => None,
        }
    }

    /// 0 (informational) to 4 (critical): the stored `level_rank`.
    pub fn rank(self) -> i64 {
        self as i64
    }
}

/// Where an alert is in its triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Raised, nobody has looked yet. Matches within the dedup window add to it.
    New,
    /// Someone is on it. Matches within the dedup window still add to it.
    Acknowledged,
    /// Done, with a reason. A new match raises a new alert.
    Closed,
}

impl AlertState {
    pub const ALL: [AlertState; 3] = [
        AlertState::New,
        AlertState::Acknowledged,
        AlertState::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::New => "new",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<AlertState> {
        match s.trim().to_ascii_lowercase().as_str() {
            "new" => Some(AlertState::New),
            "acknowledged" => Some(AlertState::Acknowledged),
            "closed" => Some(AlertState::Closed),
            _ => None,
        }
    }
}

/// One event that matched a rule, as the detection engine hands it over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// The event's id in the event store (`palisade_siem`), when it was stored there.
    pub event_id: Option<String>,
    /// When the event happened, Unix nanoseconds.
    pub time_ns: i64,
    /// The event source (`k8s-audit`, `cloudtrail`, `syslog`, …).
    pub source: String,
    /// The event itself. Copies larger than [`MAX_ALERT_EVENT_BYTES`] are cut (see
    /// [`StoredAlertEvent::truncated`]).
    pub event: serde_json::Value,
}

/// Sample events kept per alert: the first ones; later matches only add to `count`.
pub const MAX_ALERT_EVENTS: usize = 20;
/// The largest event copy kept whole, in bytes of JSON. Larger ones are kept as the start of
/// their JSON text.
pub const MAX_ALERT_EVENT_BYTES: usize = 64 * 1024;

/// A rule match to record: what `Store::raise_alert` takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAlert {
    /// The Sigma rule's `id` (or the correlation rule's).
    pub rule_id: String,
    pub rule_title: String,
    pub level: AlertLevel,
    /// The rule's tags as written (`attack.t1609`, `attack.execution`, …).
    pub tags: Vec<String>,
    /// Who and what the match is about: `user`, `namespace`, `pod`, `source_ip`, … The rule
    /// and these (sorted by key) make the dedup key: matches with the same ones add to one
    /// alert.
    pub entities: std::collections::BTreeMap<String, String>,
    /// The matching events (one for a plain rule, several for a correlation).
    pub events: Vec<AlertEvent>,
    /// When the match happened (the newest matching event), Unix nanoseconds.
    pub time_ns: i64,
    /// Raised by a correlation rule.
    pub correlation: bool,
}

/// An alert: one rule firing on one set of entities, with how often and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: i64,
    pub rule_id: String,
    pub rule_title: String,
    pub level: AlertLevel,
    pub tags: Vec<String>,
    pub entities: std::collections::BTreeMap<String, String>,
    /// Hex SHA-256 of the rule id and the entities: alerts with the same key deduplicate.
    pub dedup_key: String,
    pub correlation: bool,
    pub state: AlertState,
    /// Why it was last moved (required when closed).
    pub state_reason: Option<String>,
    /// Who last moved it.
    pub state_by: Option<String>,
    pub state_at: Option<Millis>,
    /// Matches added to this alert (1 when raised).
    pub count: i64,
    /// Time of the earliest and latest match (event time, milliseconds).
    pub first_seen: Millis,
    pub last_seen: Millis,
    /// Sample events stored (at most [`MAX_ALERT_EVENTS`]).
    pub event_count: i64,
}

/// A sample event of an alert, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAlertEvent {
    pub event_id: Option<String>,
    pub time_ns: i64,
    pub source: String,
    /// The event; when `truncated`, a JSON string holding the start of its JSON text.
    pub event: serde_json::Value,
    pub truncated: bool,
}

/// A state change asked of `Store::set_alert_state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertStateChange {
    pub state: AlertState,
    /// Required (non-blank) for `Closed`.
    pub reason: Option<String>,
    /// Who asks (a username).
    pub by: String,
    pub at: Millis,
}

/// Filters of `Store::list_alerts`. Newest (`last_seen`) first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertQuery {
    pub state: Option<AlertState>,
    /// This level and above.
    pub min_level: Option<AlertLevel>,
    pub rule_id: Option<String>,
    /// Case-insensitive substring over the rule title and id, tags and entity values.
    pub text: Option<String>,
    /// `last_seen` at or after / at or before (milliseconds).
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    pub offset: u32,
    pub limit: u32,
}
