//! The storage suite: every behaviour test is written once, against `Arc<dyn Store>`, and runs
//! on SQLite (a fresh file in a temporary directory) and, when `PALISADE_TEST_POSTGRES` names a
//! server (`postgres://user:pass@host:port/db`), on PostgreSQL in a database of its own that is
//! created for the test and dropped afterwards.
//!
//! Run with PostgreSQL: `eval "$(../shared/tools/services.sh postgres)"; cargo test -p palisade-store`

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use palisade_store::{
    Alert, AlertEvent, AlertLevel, AlertQuery, AlertState, AlertStateChange, ApiToken, AssetKind,
    AssetQuery, AuditEntry, AuditQuery, Dashboard, FindingQuery, FindingSort, FindingStatus,
    LedgerFinding, LoginLink, Millis, NewAlert, NewApiToken, NewAuditEntry, NewFinding, NewReport,
    NewUser, Page, ReportOutcome, Role, Session, SeverityCounts, Store, StoreError, TrendPoint,
    User,
};
use serde_json::json;

const DAY: i64 = 86_400_000;
/// Noon UTC on day 20 000 since the epoch (2024-10-04).
const T0: Millis = 20_000 * DAY + DAY / 2;
const D0: i64 = 20_000;

// ---- harness ------------------------------------------------------------------------------

/// What a test gets: the store, and where it lives (to reopen it or look at the raw tables).
struct Env {
    store: Arc<dyn Store>,
    place: Place,
}

/// Where a test's database lives.
#[derive(Clone)]
struct Place {
    /// The SQLite file path or the PostgreSQL URL of the test's own database.
    location: String,
    backend: Backend,
}

impl std::ops::Deref for Env {
    type Target = Place;
    fn deref(&self) -> &Place {
        &self.place
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// One row of a raw query, every value as text (`None` for NULL).
type RawRow = Vec<Option<String>>;

impl Place {
    async fn reopen(&self) -> palisade_store::Result<Arc<dyn Store>> {
        palisade_store::open(&self.location).await
    }

    /// Runs SQL on the database directly, around the store (to inspect or to tamper).
    async fn raw(&self, sql: &str) -> Vec<RawRow> {
        match self.backend {
            Backend::Sqlite => {
                let path = self.location.clone();
                let sql = sql.to_string();
                tokio::task::spawn_blocking(move || {
                    let conn = rusqlite::Connection::open(&path).unwrap();
                    conn.busy_timeout(std::time::Duration::from_secs(10))
                        .unwrap();
                    let mut stmt = conn.prepare(&sql).unwrap();
                    let n = stmt.column_count();
                    let mut rows = stmt.query([]).unwrap();
                    let mut out = Vec::new();
                    while let Some(row) = rows.next().unwrap() {
                        use rusqlite::types::ValueRef;
                        out.push(
                            (0..n)
                                .map(|i| match row.get_ref(i).unwrap() {
                                    ValueRef::Null => None,
                                    ValueRef::Integer(v) => Some(v.to_string()),
                                    ValueRef::Real(v) => Some(v.to_string()),
                                    ValueRef::Text(t) => {
                                        Some(String::from_utf8(t.to_vec()).unwrap())
                                    }
                                    ValueRef::Blob(b) => Some(palisade_store::hex(b)),
                                })
                                .collect(),
                        );
                    }
                    out
                })
                .await
                .unwrap()
            }
            Backend::Postgres => {
                let client = pg_connect(&self.location).await;
                let mut out = Vec::new();
                for m in client.simple_query(sql).await.unwrap() {
                    if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
                        out.push((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect());
                    }
                }
                out
            }
        }
    }

    async fn raw_count(&self, sql: &str) -> i64 {
        self.raw(sql).await[0][0]
            .as_deref()
            .unwrap()
            .parse()
            .unwrap()
    }
}

static SEQ: AtomicU64 = AtomicU64::new(0);
static PG_NOTICE: std::sync::Once = std::sync::Once::new();

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{name}_{}_{}_{nanos}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// The URL without its query and with another database name.
fn with_database(url: &str, db: &str) -> String {
    let base = url.split_once('?').map_or(url, |(b, _)| b);
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[host_start..].find('/') {
        Some(p) => &base[..host_start + p],
        None => base,
    };
    format!("{host_part}/{db}")
}

async fn pg_connect(url: &str) -> tokio_postgres::Client {
    let plain = url.split_once('?').map_or(url, |(b, _)| b);
    let (client, conn) = tokio_postgres::connect(plain, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL for the test harness: {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// Runs the test body in a task so that a failing assertion still lets the harness clean up.
async fn run_body<F, Fut>(env: Env, body: &F) -> std::result::Result<(), tokio::task::JoinError>
where
    F: Fn(Env) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(body(env)).await
}

/// Runs `body` on SQLite, then on PostgreSQL when `PALISADE_TEST_POSTGRES` is set.
async fn on_both<F, Fut>(name: &str, body: F)
where
    F: Fn(Env) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    // SQLite, in a directory of its own.
    let dir: PathBuf = std::env::temp_dir().join(format!("palisade-store-{}", unique(name)));
    let path = dir.join("palisade.db");
    let location = path.to_str().unwrap().to_string();
    eprintln!("== {name} on sqlite ({location})");
    let store = palisade_store::open(&location)
        .await
        .unwrap_or_else(|e| panic!("opening SQLite: {e}"));
    let res = run_body(
        Env {
            store,
            place: Place {
                location,
                backend: Backend::Sqlite,
            },
        },
        &body,
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = res {
        eprintln!("!! {name} failed on sqlite");
        std::panic::resume_unwind(e.into_panic());
    }

    let Ok(url) = std::env::var("PALISADE_TEST_POSTGRES") else {
        PG_NOTICE.call_once(|| {
            use std::io::Write;
            // Straight to stderr, past the test harness's capture, once per run.
            let _ = writeln!(
                std::io::stderr(),
                "skipping PostgreSQL: PALISADE_TEST_POSTGRES not set (SQLite only)"
            );
        });
        return;
    };
    let db = format!("pst_{}", unique(name)).to_lowercase();
    assert!(db.len() < 64, "database name too long: {db}");
    let admin = pg_connect(&url).await;
    admin
        .simple_query(&format!(
            "CREATE DATABASE \"{db}\" TEMPLATE template0 ENCODING 'UTF8'"
        ))
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {db}: {e}"));
    let location = with_database(&url, &db);
    eprintln!("== {name} on postgres (database {db})");
    let opened = palisade_store::open(&location).await;
    let res = match opened {
        Ok(store) => {
            run_body(
                Env {
                    store,
                    place: Place {
                        location,
                        backend: Backend::Postgres,
                    },
                },
                &body,
            )
            .await
        }
        Err(e) => {
            let _ = admin
                .simple_query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
                .await;
            panic!("opening PostgreSQL: {e}");
        }
    };
    admin
        .simple_query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
        .await
        .unwrap_or_else(|e| panic!("DROP DATABASE {db}: {e}"));
    if let Err(e) = res {
        eprintln!("!! {name} failed on postgres");
        std::panic::resume_unwind(e.into_panic());
    }
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                on_both(stringify!($name), cases::$name).await;
            }
        )*
    };
}

suite!(
    migrations_fresh_and_reopen,
    users,
    sessions,
    login_links,
    api_tokens,
    audit_chain,
    audit_tamper_detection,
    report_ledger,
    dashboard_and_trend,
    finding_and_asset_queries,
    odd_strings_round_trip,
    nul_is_refused_and_lookups_are_safe,
    long_keys_behave_alike,
    concurrent_writes,
    cancelled_reports_are_all_or_nothing,
    alerts_deduplicate_within_the_window,
    alerts_keep_sample_events_capped,
    alert_states_and_queries,
    concurrent_alerts_of_one_key,
);

// ---- builders ------------------------------------------------------------------------------

fn sha_hex(s: &str) -> String {
    use sha2::{Digest, Sha256};
    palisade_store::hex(&Sha256::digest(s.as_bytes()))
}

fn new_user(name: &str, role: Role) -> NewUser {
    NewUser {
        username: name.into(),
        display_name: format!("{name} (display)"),
        role,
        password_hash: Some(format!("$argon2id$v=19$m=19456,t=2,p=1$salt${name}")),
        oidc_subject: None,
    }
}

fn finding(fp: &str, scanner: &str, severity: &str) -> NewFinding {
    NewFinding {
        fingerprint: fp.into(),
        rule_id: format!("R-{fp}"),
        scanner: scanner.into(),
        severity: severity.into(),
        title: format!("title {fp}"),
        message: format!("message {fp}"),
        location: format!("loc/{fp}:1"),
        package: None,
        installed_version: None,
        fixed_version: None,
        raw: json!({ "fingerprint": fp, "severity": severity }),
    }
}

fn report(key: &str, at: Millis, scanners: &[&str], findings: Vec<NewFinding>) -> NewReport {
    NewReport {
        received_at: at,
        format: "palisade-json".into(),
        scanners: scanners.iter().map(|s| s.to_string()).collect(),
        asset_kind: AssetKind::Image,
        asset_key: key.into(),
        asset_name: format!("name of {key}"),
        uploaded_by: "ci-bot".into(),
        size: 4096,
        sbom: None,
        findings,
    }
}

fn audit(at: Millis, actor: &str, action: &str, target: &str) -> NewAuditEntry {
    NewAuditEntry {
        at,
        actor: actor.into(),
        actor_user_id: Some(1),
        action: action.into(),
        target: target.into(),
        outcome: "success".into(),
        ip: Some("198.51.100.7".into()),
        user_agent: Some("curl/8.5.0".into()),
        details: json!({}),
    }
}

fn counts(c: i64, h: i64, m: i64, l: i64, i: i64, u: i64) -> SeverityCounts {
    SeverityCounts {
        critical: c,
        high: h,
        medium: m,
        low: l,
        info: i,
        unknown: u,
    }
}

/// Every finding of an asset (open and fixed), by fingerprint.
async fn ledger(s: &Arc<dyn Store>, asset_id: i64) -> BTreeMap<String, LedgerFinding> {
    let page = s
        .list_findings(&FindingQuery {
            asset_id: Some(asset_id),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total as usize, page.items.len());
    page.items
        .into_iter()
        .map(|f| (f.fingerprint.clone(), f))
        .collect()
}

fn fps(page: &Page<LedgerFinding>) -> Vec<String> {
    page.items.iter().map(|f| f.fingerprint.clone()).collect()
}

fn expect_conflict<T: std::fmt::Debug>(r: palisade_store::Result<T>, what: &str) {
    match r {
        Err(StoreError::Conflict(m)) => assert_eq!(m, what),
        other => panic!("expected Conflict({what:?}), got {other:?}"),
    }
}

fn expect_not_found<T: std::fmt::Debug>(r: palisade_store::Result<T>, what: &str) {
    match r {
        Err(StoreError::NotFound(m)) => assert_eq!(m, what),
        other => panic!("expected NotFound({what:?}), got {other:?}"),
    }
}

fn expect_invalid<T: std::fmt::Debug>(r: palisade_store::Result<T>) {
    match r {
        Err(StoreError::Invalid(_)) => {}
        other => panic!("expected Invalid, got {other:?}"),
    }
}

const MINUTE: i64 = 60_000;
/// Nanoseconds of a time in milliseconds.
fn ns(ms: Millis) -> i64 {
    ms * 1_000_000
}

fn entities(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A match of `rule` on `ents` at `at` (ms) with one event whose `n` field says which.
fn new_alert(rule: &str, ents: &[(&str, &str)], at: Millis, n: i64) -> NewAlert {
    NewAlert {
        rule_id: rule.into(),
        rule_title: format!("Title of {rule}"),
        level: AlertLevel::High,
        tags: vec!["attack.execution".into(), "attack.t1609".into()],
        entities: entities(ents),
        events: vec![AlertEvent {
            event_id: Some(format!("evt-{n}")),
            time_ns: ns(at),
            source: "k8s-audit".into(),
            event: json!({ "n": n, "verb": "create", "objectRef": { "subresource": "exec" } }),
        }],
        time_ns: ns(at),
        correlation: false,
    }
}

fn closing(reason: &str, by: &str, at: Millis) -> AlertStateChange {
    AlertStateChange {
        state: AlertState::Closed,
        reason: Some(reason.into()),
        by: by.into(),
        at,
    }
}

fn alert_ids(page: &Page<Alert>) -> Vec<i64> {
    page.items.iter().map(|a| a.id).collect()
}

// ---- the cases -----------------------------------------------------------------------------

mod cases {
    use super::*;

    pub async fn migrations_fresh_and_reopen(env: Env) {
        let s = env.store.clone();
        let expected_backend = match env.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        assert_eq!(s.backend(), expected_backend);
        s.ping().await.unwrap();

        let migrations = env
            .raw("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
            .await;
        assert_eq!(migrations.len(), 3);
        assert_eq!(migrations[0][0].as_deref(), Some("1"));
        assert_eq!(migrations[0][1].as_deref(), Some("core"));
        assert_eq!(migrations[1][0].as_deref(), Some("2"));
        assert_eq!(migrations[1][1].as_deref(), Some("saved_searches"));
        assert_eq!(migrations[2][0].as_deref(), Some("3"));
        assert_eq!(migrations[2][1].as_deref(), Some("alerts"));

        // A fresh database is empty and consistent.
        assert_eq!(s.count_users().await.unwrap(), 0);
        assert_eq!(s.list_users().await.unwrap(), vec![]);
        assert_eq!(s.verify_audit_chain().await.unwrap(), None);
        let zero = SeverityCounts::default();
        assert_eq!(
            s.dashboard(T0, 3, 5).await.unwrap(),
            Dashboard {
                open: zero,
                assets: 0,
                reports: 0,
                fixed_30d: 0,
                new_30d: 0,
                trend: (D0 - 2..=D0)
                    .map(|day| TrendPoint { day, open: zero })
                    .collect(),
                riskiest: vec![],
            }
        );

        // Some data, then reopen: while the first handle is open, and after it is gone.
        let u = s
            .create_user(new_user("keeper", Role::Admin), T0)
            .await
            .unwrap();
        let e = s
            .append_audit(audit(T0, "keeper", "user.create", "user:1"))
            .await
            .unwrap();
        let out = s
            .apply_report(report(
                "image:sha256:keep",
                T0,
                &["vulnerability"],
                vec![finding("a", "vulnerability", "HIGH")],
            ))
            .await
            .unwrap();

        let second = env.reopen().await.unwrap();
        assert_eq!(second.user_by_id(u.id).await.unwrap(), Some(u.clone()));
        drop(second);
        // Every handle on the first store gone: the reopened one starts from the file alone.
        let Env { store, place: env } = env;
        drop(store);
        drop(s);

        let again = env.reopen().await.unwrap();
        assert_eq!(again.user_by_id(u.id).await.unwrap(), Some(u.clone()));
        assert_eq!(again.count_users().await.unwrap(), 1);
        let audit_rows = again.list_audit(&AuditQuery::default()).await.unwrap();
        assert_eq!(audit_rows, vec![e]);
        assert_eq!(again.verify_audit_chain().await.unwrap(), None);
        let asset = again.asset(out.asset_id).await.unwrap().unwrap();
        assert_eq!(asset.open, counts(0, 1, 0, 0, 0, 0));
        assert_eq!(asset.last_report_id, Some(out.report_id));
        // The migration was not applied again.
        assert_eq!(
            env.raw("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
                .await,
            migrations
        );

        // A schema newer than this build is refused, and nothing is changed.
        env.raw(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)",
        )
        .await;
        match env.reopen().await {
            Err(StoreError::SchemaTooNew { found, known }) => {
                assert_eq!((found, known), (99, 3));
            }
            Err(other) => panic!("expected SchemaTooNew, got {other:?}"),
            Ok(_) => panic!("expected SchemaTooNew, the store opened"),
        }
        assert_eq!(
            env.raw_count("SELECT COUNT(*) FROM schema_migrations")
                .await,
            4
        );
        assert_eq!(again.count_users().await.unwrap(), 1);
    }

    pub async fn users(env: Env) {
        let s = env.store.clone();
        let alice = s
            .create_user(
                NewUser {
                    username: "Alice".into(),
                    display_name: "Alice Liddell".into(),
                    role: Role::Analyst,
                    password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
                    oidc_subject: None,
                },
                T0,
            )
            .await
            .unwrap();
        assert!(alice.id > 0);
        assert_eq!(
            alice,
            User {
                id: alice.id,
                username: "alice".into(),
                display_name: "Alice Liddell".into(),
                role: Role::Analyst,
                password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
                oidc_subject: None,
                disabled: false,
                created_at: T0,
                last_login_at: None,
            }
        );
        assert_eq!(s.user_by_id(alice.id).await.unwrap(), Some(alice.clone()));
        assert_eq!(
            s.user_by_username("ALICE").await.unwrap(),
            Some(alice.clone())
        );
        assert_eq!(s.user_by_username("alice ").await.unwrap(), None);
        assert_eq!(s.user_by_username("").await.unwrap(), None);
        assert_eq!(s.user_by_id(alice.id + 1000).await.unwrap(), None);

        // Duplicate names, in any case, are refused with a typed error; nothing is written.
        expect_conflict(
            s.create_user(new_user("aLiCe", Role::Viewer), T0 + 1).await,
            "user \"alice\"",
        );
        expect_invalid(s.create_user(new_user("   ", Role::Viewer), T0).await);
        assert_eq!(s.count_users().await.unwrap(), 1);

        let bob = s
            .create_user(
                NewUser {
                    username: "bob".into(),
                    display_name: "Bob".into(),
                    role: Role::Viewer,
                    password_hash: None,
                    oidc_subject: Some("https://idp.example|248289761001".into()),
                },
                T0 + 2,
            )
            .await
            .unwrap();
        assert_eq!(
            s.user_by_oidc_subject("https://idp.example|248289761001")
                .await
                .unwrap(),
            Some(bob.clone())
        );
        assert_eq!(s.user_by_oidc_subject("nobody").await.unwrap(), None);
        let mut carol = new_user("carol", Role::Viewer);
        carol.oidc_subject = Some("https://idp.example|248289761001".into());
        expect_conflict(s.create_user(carol, T0).await, "user \"carol\"");

        // Unicode names lowercase the same way on both backends.
        let zoe = s
            .create_user(new_user("ZOË-Ünïcødé", Role::Viewer), T0 + 3)
            .await
            .unwrap();
        assert_eq!(zoe.username, "zoë-ünïcødé");
        assert_eq!(
            s.user_by_username("Zoë-ÜNÏCØDÉ").await.unwrap(),
            Some(zoe.clone())
        );
        expect_conflict(
            s.create_user(new_user("zoë-ünïcødé", Role::Admin), T0)
                .await,
            "user \"zoë-ünïcødé\"",
        );

        // Role change, disable, password, last login.
        s.set_user_role(alice.id, Role::Admin).await.unwrap();
        s.set_user_disabled(bob.id, true).await.unwrap();
        s.set_user_password(alice.id, "$argon2id$new")
            .await
            .unwrap();
        s.touch_user_login(alice.id, T0 + 50).await.unwrap();
        let alice2 = s.user_by_id(alice.id).await.unwrap().unwrap();
        assert_eq!(
            alice2,
            User {
                role: Role::Admin,
                password_hash: Some("$argon2id$new".into()),
                last_login_at: Some(T0 + 50),
                ..alice.clone()
            }
        );
        let bob2 = s.user_by_id(bob.id).await.unwrap().unwrap();
        assert_eq!(
            bob2,
            User {
                disabled: true,
                ..bob.clone()
            }
        );
        s.set_user_disabled(bob.id, false).await.unwrap();
        assert_eq!(s.user_by_id(bob.id).await.unwrap(), Some(bob.clone()));

        let missing = alice.id + 1000;
        let what = format!("user {missing}");
        expect_not_found(s.set_user_role(missing, Role::Admin).await, &what);
        expect_not_found(s.set_user_disabled(missing, true).await, &what);
        expect_not_found(s.set_user_password(missing, "x").await, &what);
        expect_not_found(s.touch_user_login(missing, T0).await, &what);

        assert_eq!(s.count_users().await.unwrap(), 3);
        assert_eq!(s.list_users().await.unwrap(), vec![alice2, bob, zoe]);
    }

    pub async fn sessions(env: Env) {
        let s = env.store.clone();
        let u = s
            .create_user(new_user("sam", Role::Analyst), T0)
            .await
            .unwrap();
        let v = s
            .create_user(new_user("val", Role::Viewer), T0)
            .await
            .unwrap();
        let s1 = Session {
            id_hash: sha_hex("cookie-1"),
            user_id: u.id,
            csrf_token: "csrf-Qm9iIGlzIGhlcmU".into(),
            created_at: T0,
            expires_at: T0 + 1000,
            ip: Some("203.0.113.9".into()),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0".into()),
        };
        s.create_session(s1.clone()).await.unwrap();
        assert_eq!(
            s.session(&s1.id_hash, T0).await.unwrap(),
            Some((s1.clone(), u.clone()))
        );
        assert_eq!(
            s.session(&s1.id_hash, T0 + 999).await.unwrap(),
            Some((s1.clone(), u.clone()))
        );
        // Expiry is exclusive: at expires_at the session is gone.
        assert_eq!(s.session(&s1.id_hash, T0 + 1000).await.unwrap(), None);
        assert_eq!(s.session(&s1.id_hash, T0 + 5 * DAY).await.unwrap(), None);
        assert_eq!(s.session(&sha_hex("cookie-x"), T0).await.unwrap(), None);

        expect_conflict(s.create_session(s1.clone()).await, "session");
        let orphan = Session {
            id_hash: sha_hex("orphan"),
            user_id: 424_242,
            ..s1.clone()
        };
        expect_not_found(s.create_session(orphan).await, "user 424242");

        // A disabled user has no sessions; re-enabled, the session is back.
        s.set_user_disabled(u.id, true).await.unwrap();
        assert_eq!(s.session(&s1.id_hash, T0).await.unwrap(), None);
        s.set_user_disabled(u.id, false).await.unwrap();
        assert_eq!(
            s.session(&s1.id_hash, T0).await.unwrap(),
            Some((s1.clone(), u.clone()))
        );

        let s2 = Session {
            id_hash: sha_hex("cookie-2"),
            expires_at: T0 + 10,
            ip: None,
            user_agent: None,
            ..s1.clone()
        };
        let s3 = Session {
            id_hash: sha_hex("cookie-3"),
            user_id: v.id,
            expires_at: T0 + DAY,
            ..s1.clone()
        };
        let s4 = Session {
            id_hash: sha_hex("cookie-4"),
            user_id: v.id,
            expires_at: T0 + 50,
            ..s1.clone()
        };
        for x in [&s2, &s3, &s4] {
            s.create_session(x.clone()).await.unwrap();
        }
        assert_eq!(
            s.session(&s2.id_hash, T0).await.unwrap(),
            Some((s2.clone(), u.clone()))
        );

        s.delete_session(&s1.id_hash).await.unwrap();
        assert_eq!(s.session(&s1.id_hash, T0).await.unwrap(), None);
        s.delete_session(&s1.id_hash).await.unwrap(); // deleting twice is fine
        s.delete_user_sessions(u.id).await.unwrap();
        assert_eq!(s.session(&s2.id_hash, T0).await.unwrap(), None);
        assert_eq!(
            s.session(&s3.id_hash, T0).await.unwrap(),
            Some((s3.clone(), v.clone()))
        );

        // Purging removes expired sessions and login links only.
        s.create_login_link(LoginLink {
            secret_hash: sha_hex("link-old"),
            user_id: v.id,
            expires_at: T0 + 60,
        })
        .await
        .unwrap();
        s.create_login_link(LoginLink {
            secret_hash: sha_hex("link-new"),
            user_id: v.id,
            expires_at: T0 + DAY,
        })
        .await
        .unwrap();
        assert_eq!(s.purge_expired(T0 + 100).await.unwrap(), 2);
        assert_eq!(s.purge_expired(T0 + 100).await.unwrap(), 0);
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM sessions").await, 1);
        assert_eq!(
            s.session(&s3.id_hash, T0 + 100).await.unwrap(),
            Some((s3.clone(), v.clone()))
        );
        assert_eq!(
            s.take_login_link(&sha_hex("link-new"), T0 + 100)
                .await
                .unwrap(),
            Some(v.id)
        );
    }

    pub async fn login_links(env: Env) {
        let s = env.store.clone();
        let u = s
            .create_user(new_user("lin", Role::Admin), T0)
            .await
            .unwrap();
        let link = LoginLink {
            secret_hash: sha_hex("first-start-link"),
            user_id: u.id,
            expires_at: T0 + 1000,
        };
        s.create_login_link(link.clone()).await.unwrap();
        expect_conflict(s.create_login_link(link.clone()).await, "login link");
        expect_not_found(
            s.create_login_link(LoginLink {
                secret_hash: sha_hex("nobody"),
                user_id: 777_777,
                expires_at: T0 + 1000,
            })
            .await,
            "user 777777",
        );

        assert_eq!(
            s.take_login_link(&sha_hex("wrong"), T0).await.unwrap(),
            None
        );
        assert_eq!(
            s.take_login_link(&link.secret_hash, T0 + 10).await.unwrap(),
            Some(u.id)
        );
        // Single use.
        assert_eq!(
            s.take_login_link(&link.secret_hash, T0 + 11).await.unwrap(),
            None
        );
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM login_links").await, 0);

        // An expired link does nothing (and is purged later).
        let old = LoginLink {
            secret_hash: sha_hex("expired-link"),
            user_id: u.id,
            expires_at: T0 + 1000,
        };
        s.create_login_link(old.clone()).await.unwrap();
        assert_eq!(
            s.take_login_link(&old.secret_hash, T0 + 1000)
                .await
                .unwrap(),
            None
        );
        assert_eq!(s.purge_expired(T0 + 1000).await.unwrap(), 1);

        // Eight tasks racing for one link: exactly one wins.
        let race = LoginLink {
            secret_hash: sha_hex("raced-link"),
            user_id: u.id,
            expires_at: T0 + DAY,
        };
        s.create_login_link(race.clone()).await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let s = s.clone();
            let h = race.secret_hash.clone();
            tasks.push(tokio::spawn(async move { s.take_login_link(&h, T0).await }));
        }
        let mut winners = 0;
        for t in tasks {
            if let Some(id) = t.await.unwrap().unwrap() {
                assert_eq!(id, u.id);
                winners += 1;
            }
        }
        assert_eq!(winners, 1);

        // A second link for the same user is independent and single use too.
        let l2 = LoginLink {
            secret_hash: sha_hex("reset-link"),
            user_id: u.id,
            expires_at: T0 + DAY,
        };
        s.create_login_link(l2.clone()).await.unwrap();
        assert_eq!(
            s.take_login_link(&l2.secret_hash, T0).await.unwrap(),
            Some(u.id)
        );
        assert_eq!(s.take_login_link(&l2.secret_hash, T0).await.unwrap(), None);
    }

    pub async fn api_tokens(env: Env) {
        let s = env.store.clone();
        let owner = s
            .create_user(new_user("tok", Role::Analyst), T0)
            .await
            .unwrap();
        let other = s
            .create_user(new_user("oth", Role::Admin), T0)
            .await
            .unwrap();
        let raw = "pal_3kX9f0QvZr7yTq2Lw8Np5Hc1Bd6Gm4JsVw";
        let hash = sha_hex(raw);
        let t = s
            .create_token(
                NewApiToken {
                    user_id: owner.id,
                    name: "ci upload".into(),
                    secret_hash: hash.clone(),
                    prefix: raw[..8].into(),
                    scope: Role::Analyst,
                    expires_at: Some(T0 + 10 * DAY),
                },
                T0,
            )
            .await
            .unwrap();
        assert_eq!(
            t,
            ApiToken {
                id: t.id,
                user_id: owner.id,
                name: "ci upload".into(),
                secret_hash: hash.clone(),
                prefix: "pal_3kX9".into(),
                scope: Role::Analyst,
                created_at: T0,
                expires_at: Some(T0 + 10 * DAY),
                last_used_at: None,
                revoked_at: None,
            }
        );
        assert_eq!(s.token_by_id(t.id).await.unwrap(), Some(t.clone()));

        // Only the hash is stored: no column holds the secret (or its secret part).
        let rows = env.raw("SELECT * FROM api_tokens").await;
        assert_eq!(rows.len(), 1);
        let secret_part = &raw[8..];
        for v in rows[0].iter().flatten() {
            assert!(!v.contains(secret_part), "the raw token is stored: {v}");
        }
        assert_eq!(
            env.raw("SELECT secret_hash, prefix FROM api_tokens").await,
            vec![vec![Some(hash.clone()), Some("pal_3kX9".to_string())]]
        );
        if env.backend == Backend::Sqlite {
            // And not anywhere in the database files either.
            for suffix in ["", "-wal"] {
                let bytes = std::fs::read(format!("{}{suffix}", env.location)).unwrap_or_default();
                assert!(
                    !bytes
                        .windows(secret_part.len())
                        .any(|w| w == secret_part.as_bytes()),
                    "the raw token is in the database file{suffix}"
                );
            }
        }

        // Use: the token, its owner, and last_used_at recorded.
        let (used, who) = s.token_by_hash(&hash, T0 + 5).await.unwrap().unwrap();
        let t_used = ApiToken {
            last_used_at: Some(T0 + 5),
            ..t.clone()
        };
        assert_eq!(used, t_used);
        assert_eq!(who, owner);
        assert_eq!(s.token_by_id(t.id).await.unwrap(), Some(t_used.clone()));
        assert_eq!(
            s.token_by_hash(&sha_hex("pal_wrong"), T0).await.unwrap(),
            None
        );
        assert_eq!(s.token_by_hash(raw, T0).await.unwrap(), None);

        // Expiry is exclusive, and an expired use does not touch last_used_at.
        assert!(
            s.token_by_hash(&hash, T0 + 10 * DAY - 1)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(s.token_by_hash(&hash, T0 + 10 * DAY).await.unwrap(), None);
        assert_eq!(
            s.token_by_id(t.id).await.unwrap().unwrap().last_used_at,
            Some(T0 + 10 * DAY - 1)
        );

        // Scope is kept as created; no expiry means none.
        let raw2 = "pal_viewerOnlyTokenSecret0000000000";
        let t2 = s
            .create_token(
                NewApiToken {
                    user_id: owner.id,
                    name: "dashboard".into(),
                    secret_hash: sha_hex(raw2),
                    prefix: raw2[..8].into(),
                    scope: Role::Viewer,
                    expires_at: None,
                },
                T0 + 1,
            )
            .await
            .unwrap();
        let (u2, _) = s
            .token_by_hash(&sha_hex(raw2), T0 + 100_000 * DAY)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(u2.scope, Role::Viewer);
        assert_eq!(u2.expires_at, None);
        let t3 = s
            .create_token(
                NewApiToken {
                    user_id: other.id,
                    name: "admin automation".into(),
                    secret_hash: sha_hex("pal_admin"),
                    prefix: "pal_admi".into(),
                    scope: Role::Admin,
                    expires_at: None,
                },
                T0 + 2,
            )
            .await
            .unwrap();

        let ids = |v: Vec<ApiToken>| v.into_iter().map(|t| (t.id, t.scope)).collect::<Vec<_>>();
        assert_eq!(
            ids(s.list_tokens(Some(owner.id)).await.unwrap()),
            vec![(t.id, Role::Analyst), (t2.id, Role::Viewer)]
        );
        assert_eq!(
            ids(s.list_tokens(Some(other.id)).await.unwrap()),
            vec![(t3.id, Role::Admin)]
        );
        assert_eq!(s.list_tokens(None).await.unwrap().len(), 3);
        assert_eq!(s.list_tokens(Some(999_999)).await.unwrap(), vec![]);

        // A disabled owner's tokens do not work.
        s.set_user_disabled(owner.id, true).await.unwrap();
        assert_eq!(s.token_by_hash(&sha_hex(raw2), T0).await.unwrap(), None);
        s.set_user_disabled(owner.id, false).await.unwrap();
        assert!(s.token_by_hash(&sha_hex(raw2), T0).await.unwrap().is_some());

        // Revoke: immediate, idempotent (the first time is kept), other tokens unaffected.
        s.revoke_token(t2.id, T0 + 7).await.unwrap();
        assert_eq!(s.token_by_hash(&sha_hex(raw2), T0 + 8).await.unwrap(), None);
        s.revoke_token(t2.id, T0 + 9).await.unwrap();
        let revoked = s.token_by_id(t2.id).await.unwrap().unwrap();
        assert_eq!(revoked.revoked_at, Some(T0 + 7));
        assert_eq!(revoked.last_used_at, Some(T0));
        assert!(
            s.token_by_hash(&sha_hex("pal_admin"), T0)
                .await
                .unwrap()
                .is_some()
        );
        expect_not_found(s.revoke_token(999_999, T0).await, "token 999999");

        // Duplicates and orphans are typed errors.
        expect_conflict(
            s.create_token(
                NewApiToken {
                    user_id: other.id,
                    name: "dup".into(),
                    secret_hash: hash.clone(),
                    prefix: "pal_dup_".into(),
                    scope: Role::Viewer,
                    expires_at: None,
                },
                T0,
            )
            .await,
            "token",
        );
        expect_not_found(
            s.create_token(
                NewApiToken {
                    user_id: 888_888,
                    name: "orphan".into(),
                    secret_hash: sha_hex("pal_orphan"),
                    prefix: "pal_orph".into(),
                    scope: Role::Viewer,
                    expires_at: None,
                },
                T0,
            )
            .await,
            "user 888888",
        );
        assert_eq!(s.list_tokens(None).await.unwrap().len(), 3);
    }

    fn check_links(entries: &[AuditEntry], news: &[NewAuditEntry]) {
        let mut prev = "0".repeat(64);
        for (e, n) in entries.iter().zip(news) {
            assert_eq!(e.prev_hash, prev);
            assert_eq!(e.hash, palisade_store::audit_hash(&prev, n));
            prev = e.hash.clone();
        }
    }

    pub async fn audit_chain(env: Env) {
        let s = env.store.clone();
        let news = vec![
            audit(T0, "admin", "login.success", ""),
            NewAuditEntry {
                details: json!({ "name": "ci", "scope": "analyst", "n": 3, "ok": true }),
                ..audit(T0 + 1, "admin", "token.create", "token:1")
            },
            NewAuditEntry {
                actor_user_id: None,
                outcome: "failure".into(),
                ip: None,
                user_agent: None,
                details: json!({ "username": "'; DROP TABLE audit_log; --", "why": "bad pw" }),
                ..audit(T0 + 2, "anonymous", "login.failure", "")
            },
            NewAuditEntry {
                actor_user_id: Some(2),
                ..audit(T0 + 3, "bob", "login.success", "")
            },
            NewAuditEntry {
                details: json!({ "findings": 12, "asset": "nginx:1.27 «ü»" }),
                ..audit(T0 + 4, "admin", "report.upload", "asset:1")
            },
        ];
        let mut entries = Vec::new();
        for n in &news {
            entries.push(s.append_audit(n.clone()).await.unwrap());
        }
        check_links(&entries, &news);
        for w in entries.windows(2) {
            assert!(w[0].id < w[1].id);
        }
        for (e, n) in entries.iter().zip(&news) {
            assert_eq!(
                (
                    e.at,
                    &e.actor,
                    e.actor_user_id,
                    &e.action,
                    &e.target,
                    &e.outcome
                ),
                (
                    n.at,
                    &n.actor,
                    n.actor_user_id,
                    &n.action,
                    &n.target,
                    &n.outcome
                )
            );
            assert_eq!(
                (&e.ip, &e.user_agent, &e.details),
                (&n.ip, &n.user_agent, &n.details)
            );
        }
        assert_eq!(s.verify_audit_chain().await.unwrap(), None);

        let newest_first: Vec<AuditEntry> = entries.iter().rev().cloned().collect();
        assert_eq!(
            s.list_audit(&AuditQuery::default()).await.unwrap(),
            newest_first
        );
        let pick = |idx: &[usize]| idx.iter().map(|&i| entries[i].clone()).collect::<Vec<_>>();
        let q = |f: fn(&mut AuditQuery)| {
            let mut q = AuditQuery::default();
            f(&mut q);
            q
        };
        assert_eq!(
            s.list_audit(&q(|q| q.actor = Some("admin".into())))
                .await
                .unwrap(),
            pick(&[4, 1, 0])
        );
        assert_eq!(
            s.list_audit(&q(|q| q.action_prefix = Some("login.".into())))
                .await
                .unwrap(),
            pick(&[3, 2, 0])
        );
        // The prefix is exact and case-sensitive, and `_`/`%` are not wildcards.
        assert_eq!(
            s.list_audit(&q(|q| q.action_prefix = Some("LOGIN.".into())))
                .await
                .unwrap(),
            vec![]
        );
        assert_eq!(
            s.list_audit(&q(|q| q.action_prefix = Some("login%".into())))
                .await
                .unwrap(),
            vec![]
        );
        assert_eq!(
            s.list_audit(&q(|q| {
                q.since = Some(T0 + 1);
                q.until = Some(T0 + 3);
            }))
            .await
            .unwrap(),
            pick(&[3, 2, 1])
        );
        let before = entries[3].id;
        assert_eq!(
            s.list_audit(&AuditQuery {
                before_id: Some(before),
                limit: 2,
                ..Default::default()
            })
            .await
            .unwrap(),
            pick(&[2, 1])
        );
        assert_eq!(s.list_audit(&q(|q| q.limit = 1)).await.unwrap(), pick(&[4]));

        // NUL in the text fields becomes U+FFFD before hashing, so the entry still verifies.
        let nul = s
            .append_audit(audit(T0 + 5, "mallory\0admin", "login.failure", "x\0y"))
            .await
            .unwrap();
        assert_eq!(nul.actor, "mallory\u{FFFD}admin");
        assert_eq!(nul.target, "x\u{FFFD}y");
        assert_eq!(
            s.list_audit(&q(|q| q.limit = 1)).await.unwrap(),
            vec![nul.clone()]
        );
        // NUL inside JSON details is escaped, kept, and verifies.
        let nul_details = s
            .append_audit(NewAuditEntry {
                details: json!({ "username": "a\u{0}b" }),
                ..audit(T0 + 6, "anonymous", "login.failure", "")
            })
            .await
            .unwrap();
        assert_eq!(nul_details.details, json!({ "username": "a\u{0}b" }));
        assert_eq!(
            s.list_audit(&q(|q| q.limit = 1)).await.unwrap(),
            vec![nul_details]
        );
        assert_eq!(s.verify_audit_chain().await.unwrap(), None);

        // Concurrent appends: all land, the chain stays linear.
        let mut tasks = Vec::new();
        for i in 0..16 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.append_audit(audit(
                    T0 + 100 + i,
                    &format!("worker{i}"),
                    "report.upload",
                    "",
                ))
                .await
                .unwrap()
            }));
        }
        let mut ids = BTreeSet::new();
        for t in tasks {
            ids.insert(t.await.unwrap().id);
        }
        assert_eq!(ids.len(), 16);
        assert_eq!(s.verify_audit_chain().await.unwrap(), None);
        let all = s
            .list_audit(&AuditQuery {
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 5 + 2 + 16);
        for w in all.windows(2) {
            // newest first: each entry links to the next older one
            assert_eq!(w[0].prev_hash, w[1].hash);
        }
    }

    pub async fn audit_tamper_detection(env: Env) {
        let s = env.store.clone();
        let mut entries = Vec::new();
        for i in 0..6 {
            entries.push(
                s.append_audit(NewAuditEntry {
                    details: json!({ "i": i }),
                    ..audit(T0 + i, "admin", "user.update", &format!("user:{i}"))
                })
                .await
                .unwrap(),
            );
        }
        let id = |i: usize| entries[i].id;
        assert_eq!(s.verify_audit_chain().await.unwrap(), None);

        // An edited field breaks the chain at that entry; putting it back heals it.
        env.raw(&format!(
            "UPDATE audit_log SET target = 'user:999' WHERE id = {}",
            id(2)
        ))
        .await;
        assert_eq!(s.verify_audit_chain().await.unwrap(), Some(id(2)));
        env.raw(&format!(
            "UPDATE audit_log SET target = 'user:2' WHERE id = {}",
            id(2)
        ))
        .await;
        assert_eq!(s.verify_audit_chain().await.unwrap(), None);

        // Edited details, or a recomputed hash without relinking, are caught too.
        env.raw(&format!(
            "UPDATE audit_log SET details = '{{\"i\":42}}' WHERE id = {}",
            id(1)
        ))
        .await;
        assert_eq!(s.verify_audit_chain().await.unwrap(), Some(id(1)));
        let forged = palisade_store::audit_hash(
            &entries[0].hash,
            &NewAuditEntry {
                details: json!({ "i": 42 }),
                ..audit(T0 + 1, "admin", "user.update", "user:1")
            },
        );
        env.raw(&format!(
            "UPDATE audit_log SET hash = '{forged}' WHERE id = {}",
            id(1)
        ))
        .await;
        assert_eq!(s.verify_audit_chain().await.unwrap(), Some(id(2)));
        env.raw(&format!(
            "UPDATE audit_log SET details = '{{\"i\":1}}', hash = '{}' WHERE id = {}",
            entries[1].hash,
            id(1)
        ))
        .await;
        assert_eq!(s.verify_audit_chain().await.unwrap(), None);

        // A removed tail is noticed through the recorded head.
        env.raw(&format!("DELETE FROM audit_log WHERE id = {}", id(5)))
            .await;
        assert_eq!(s.verify_audit_chain().await.unwrap(), Some(id(5)));
        // A removed middle entry breaks the link of the next one.
        env.raw(&format!("DELETE FROM audit_log WHERE id = {}", id(3)))
            .await;
        assert_eq!(s.verify_audit_chain().await.unwrap(), Some(id(4)));
    }

    pub async fn report_ledger(env: Env) {
        let s = env.store.clone();
        let key = "image:sha256:4f1e0e3ab0c2d5c0e5a8b9e1d2c3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1";
        let mut a = finding("A", "vulnerability", "HIGH");
        a.package = Some("openssl".into());
        a.installed_version = Some("3.0.1".into());
        a.fixed_version = Some("3.0.7".into());
        a.rule_id = "CVE-2022-3602".into();
        let mut b_old = finding("B", "vulnerability", "critical");
        b_old.title = "old title".into();
        let b = finding("B", "vulnerability", "critical");
        let c = finding("C", "secret", "Low");
        let sbom1 = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1}"#;

        // Report 1: three new findings (B is listed twice: the last one wins).
        let mut r1 = report(
            key,
            T0,
            &["vulnerability", "secret", "vulnerability"],
            vec![a.clone(), b_old, c.clone(), b.clone()],
        );
        r1.sbom = Some(sbom1.into());
        let o1 = s.apply_report(r1).await.unwrap();
        assert_eq!(
            o1,
            ReportOutcome {
                report_id: o1.report_id,
                asset_id: o1.asset_id,
                new: 3,
                unchanged: 0,
                reopened: 0,
                fixed: 0,
            }
        );
        let asset_id = o1.asset_id;
        let l1 = ledger(&s, asset_id).await;
        assert_eq!(l1.len(), 3);
        assert_eq!(
            l1["A"],
            LedgerFinding {
                id: l1["A"].id,
                asset_id,
                fingerprint: "A".into(),
                rule_id: "CVE-2022-3602".into(),
                scanner: "vulnerability".into(),
                severity: "HIGH".into(),
                title: "title A".into(),
                message: "message A".into(),
                location: "loc/A:1".into(),
                package: Some("openssl".into()),
                installed_version: Some("3.0.1".into()),
                fixed_version: Some("3.0.7".into()),
                status: FindingStatus::Open,
                first_seen: T0,
                last_seen: T0,
                fixed_at: None,
                last_report_id: o1.report_id,
            }
        );
        assert_eq!(l1["B"].severity, "CRITICAL");
        assert_eq!(l1["B"].title, "title B");
        assert_eq!(l1["C"].severity, "LOW");
        let asset = s.asset(asset_id).await.unwrap().unwrap();
        assert_eq!(
            (
                asset.kind,
                asset.key.as_str(),
                asset.first_seen,
                asset.last_seen,
                asset.last_report_id
            ),
            (AssetKind::Image, key, T0, T0, Some(o1.report_id))
        );
        assert_eq!(asset.open, counts(1, 1, 0, 1, 0, 0));
        assert_eq!(
            s.asset_sbom(asset_id).await.unwrap().as_deref(),
            Some(sbom1)
        );

        // Report 2, a day later: B is gone (fixed), A changed severity, C unchanged.
        let mut a2 = a.clone();
        a2.severity = "medium".into();
        a2.raw = json!({ "fingerprint": "A", "v": 2 });
        let o2 = s
            .apply_report(report(
                key,
                T0 + DAY,
                &["vulnerability", "secret"],
                vec![a2.clone(), c.clone()],
            ))
            .await
            .unwrap();
        assert_eq!(
            (o2.asset_id, o2.new, o2.unchanged, o2.reopened, o2.fixed),
            (asset_id, 0, 2, 0, 1)
        );
        let l2 = ledger(&s, asset_id).await;
        assert_eq!(
            l2["B"],
            LedgerFinding {
                status: FindingStatus::Fixed,
                fixed_at: Some(T0 + DAY),
                ..l1["B"].clone()
            }
        );
        assert_eq!(
            l2["A"],
            LedgerFinding {
                severity: "MEDIUM".into(),
                last_seen: T0 + DAY,
                last_report_id: o2.report_id,
                ..l1["A"].clone()
            }
        );
        assert_eq!((l2["C"].first_seen, l2["C"].last_seen), (T0, T0 + DAY));
        let asset = s.asset(asset_id).await.unwrap().unwrap();
        assert_eq!(asset.open, counts(0, 0, 1, 1, 0, 0));
        assert_eq!((asset.first_seen, asset.last_seen), (T0, T0 + DAY));
        // A report without an SBOM keeps the last one received.
        assert_eq!(
            s.asset_sbom(asset_id).await.unwrap().as_deref(),
            Some(sbom1)
        );
        let (fa, raw_a) = s.finding(l2["A"].id).await.unwrap().unwrap();
        assert_eq!(fa, l2["A"]);
        assert_eq!(raw_a, json!({ "fingerprint": "A", "v": 2 }));

        // Report 3 covers only the vulnerability scanner: B reappears (reopened), D is new,
        // and C (secret) is left alone although the report does not list it.
        let d = finding("D", "vulnerability", "weird");
        let o3 = s
            .apply_report(report(
                key,
                T0 + 2 * DAY,
                &["vulnerability"],
                vec![a2.clone(), b.clone(), d.clone()],
            ))
            .await
            .unwrap();
        assert_eq!((o3.new, o3.unchanged, o3.reopened, o3.fixed), (1, 1, 1, 0));
        let l3 = ledger(&s, asset_id).await;
        assert_eq!(
            l3["B"],
            LedgerFinding {
                status: FindingStatus::Open,
                fixed_at: None,
                last_seen: T0 + 2 * DAY,
                last_report_id: o3.report_id,
                ..l1["B"].clone()
            }
        );
        assert_eq!(l3["B"].id, l1["B"].id);
        assert_eq!(l3["B"].first_seen, T0);
        assert_eq!(l3["C"], l2["C"]);
        assert_eq!(
            (
                l3["D"].severity.as_str(),
                l3["D"].first_seen,
                l3["D"].status
            ),
            ("UNKNOWN", T0 + 2 * DAY, FindingStatus::Open)
        );
        assert_eq!(
            s.asset(asset_id).await.unwrap().unwrap().open,
            counts(1, 0, 1, 1, 0, 1)
        );

        // Report 4: the secret scanner finds nothing any more; a new SBOM replaces the old one.
        let sbom2 = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":2}"#;
        let mut r4 = report(key, T0 + 3 * DAY, &["secret"], vec![]);
        r4.sbom = Some(sbom2.into());
        r4.asset_name = "renamed".into();
        r4.asset_kind = AssetKind::Other;
        let o4 = s.apply_report(r4).await.unwrap();
        assert_eq!((o4.new, o4.unchanged, o4.reopened, o4.fixed), (0, 0, 0, 1));
        let l4 = ledger(&s, asset_id).await;
        assert_eq!(
            (l4["C"].status, l4["C"].fixed_at, l4["C"].last_seen),
            (FindingStatus::Fixed, Some(T0 + 3 * DAY), T0 + DAY)
        );
        let asset = s.asset(asset_id).await.unwrap().unwrap();
        assert_eq!(asset.open, counts(1, 0, 1, 0, 0, 1));
        assert_eq!(
            (asset.name.as_str(), asset.kind, asset.last_report_id),
            ("renamed", AssetKind::Other, Some(o4.report_id))
        );
        assert_eq!(
            s.asset_sbom(asset_id).await.unwrap().as_deref(),
            Some(sbom2)
        );

        // The reports, newest first.
        let reports = s.asset_reports(asset_id, 10).await.unwrap();
        let summary: Vec<(i64, Millis, Vec<String>, i64)> = reports
            .iter()
            .map(|r| (r.id, r.received_at, r.scanners.clone(), r.finding_count))
            .collect();
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            summary,
            vec![
                (o4.report_id, T0 + 3 * DAY, v(&["secret"]), 0),
                (o3.report_id, T0 + 2 * DAY, v(&["vulnerability"]), 3),
                (o2.report_id, T0 + DAY, v(&["vulnerability", "secret"]), 2),
                (o1.report_id, T0, v(&["vulnerability", "secret"]), 3),
            ]
        );
        for r in &reports {
            assert_eq!(
                (
                    r.asset_id,
                    r.format.as_str(),
                    r.uploaded_by.as_str(),
                    r.size
                ),
                (asset_id, "palisade-json", "ci-bot", 4096)
            );
        }
        assert_eq!(
            s.asset_reports(asset_id, 2)
                .await
                .unwrap()
                .iter()
                .map(|r| r.id)
                .collect::<Vec<_>>(),
            vec![o4.report_id, o3.report_id]
        );

        // Another asset with the same fingerprint has its own ledger entry.
        let other = s
            .apply_report(report(
                "image:sha256:other",
                T0,
                &["vulnerability"],
                vec![a.clone()],
            ))
            .await
            .unwrap();
        assert_ne!(other.asset_id, asset_id);
        assert_eq!(other.new, 1);
        assert_eq!(ledger(&s, asset_id).await.len(), 4);
        assert_eq!(ledger(&s, other.asset_id).await.len(), 1);

        assert_eq!(s.finding(999_999).await.unwrap(), None);
        assert_eq!(s.asset(999_999).await.unwrap(), None);
        assert_eq!(s.asset_sbom(other.asset_id).await.unwrap(), None);
        assert_eq!(s.asset_reports(999_999, 10).await.unwrap(), vec![]);

        // An empty asset key is refused and nothing is written.
        expect_invalid(s.apply_report(report("  ", T0, &["x"], vec![])).await);
        assert_eq!(s.dashboard(T0, 1, 1).await.unwrap().reports, 5);
    }

    pub async fn dashboard_and_trend(env: Env) {
        let s = env.store.clone();
        let fs = |prefix: &str, sevs: &[&str]| -> Vec<NewFinding> {
            sevs.iter()
                .enumerate()
                .map(|(i, sev)| finding(&format!("{prefix}{i}"), "vulnerability", sev))
                .collect()
        };
        // Day D0: X has 2 critical + 1 high.
        let x = s
            .apply_report(report(
                "image:x",
                T0,
                &["vulnerability"],
                fs("x", &["CRITICAL", "CRITICAL", "HIGH"]),
            ))
            .await
            .unwrap();
        // Day D0+2: Y (a workload) has 1 medium + 3 low.
        let mut ry = report(
            "workload:prod/Deployment/y",
            T0 + 2 * DAY,
            &["vulnerability"],
            fs("y", &["MEDIUM", "LOW", "LOW", "LOW"]),
        );
        ry.asset_kind = AssetKind::Workload;
        let y = s.apply_report(ry).await.unwrap();
        // Day D0+3: X is down to one critical; Z (info only) arrives.
        let x2 = s
            .apply_report(report(
                "image:x",
                T0 + 3 * DAY,
                &["vulnerability"],
                fs("x", &["CRITICAL"]),
            ))
            .await
            .unwrap();
        assert_eq!(x2.fixed, 2);
        let mut rz = report(
            "repository:z",
            T0 + 3 * DAY + 1000,
            &["vulnerability"],
            fs("z", &["INFO"]),
        );
        rz.asset_kind = AssetKind::Repository;
        let z = s.apply_report(rz).await.unwrap();

        let ax = s.asset(x.asset_id).await.unwrap().unwrap();
        let ay = s.asset(y.asset_id).await.unwrap().unwrap();
        let az = s.asset(z.asset_id).await.unwrap().unwrap();
        assert_eq!(ax.open, counts(1, 0, 0, 0, 0, 0));
        assert_eq!(ay.open, counts(0, 0, 1, 3, 0, 0));
        assert_eq!(az.open, counts(0, 0, 0, 0, 1, 0));

        let zero = SeverityCounts::default();
        let day0 = counts(2, 1, 0, 0, 0, 0);
        let day2 = counts(2, 1, 1, 3, 0, 0);
        let day3 = counts(1, 0, 1, 3, 1, 0);
        let tp = |day: i64, open: SeverityCounts| TrendPoint { day, open };
        assert_eq!(
            s.dashboard(T0 + 4 * DAY, 7, 10).await.unwrap(),
            Dashboard {
                open: day3,
                assets: 3,
                reports: 4,
                fixed_30d: 2,
                new_30d: 8,
                trend: vec![
                    tp(D0 - 2, zero),
                    tp(D0 - 1, zero),
                    tp(D0, day0),
                    tp(D0 + 1, day0),
                    tp(D0 + 2, day2),
                    tp(D0 + 3, day3),
                    tp(D0 + 4, day3),
                ],
                // X: risk 10, Y: 2 + 3 = 5, Z: 0 (not listed).
                riskiest: vec![ax.clone(), ay.clone()],
            }
        );
        let d = s.dashboard(T0 + 4 * DAY, 7, 1).await.unwrap();
        assert_eq!(d.riskiest, vec![ax.clone()]);
        let d = s.dashboard(T0 + 4 * DAY, 0, 0).await.unwrap();
        assert_eq!((d.trend, d.riskiest), (vec![], vec![]));

        // Seen from day D0+2: the window and the 30-day counts follow `now`.
        let d = s.dashboard(T0 + 2 * DAY, 2, 10).await.unwrap();
        assert_eq!(d.trend, vec![tp(D0 + 1, day0), tp(D0 + 2, day2)]);
        assert_eq!((d.fixed_30d, d.new_30d), (0, 7));
        assert_eq!(d.open, day3);

        // Forty days on: nothing is recent, the trend carries the last day forward.
        let d = s.dashboard(T0 + 40 * DAY, 3, 10).await.unwrap();
        assert_eq!(
            d.trend,
            vec![tp(D0 + 38, day3), tp(D0 + 39, day3), tp(D0 + 40, day3)]
        );
        assert_eq!((d.fixed_30d, d.new_30d, d.reports, d.assets), (0, 0, 4, 3));
        // 30 days is a half-open window (now - 30d, now].
        let d = s.dashboard(T0 + 33 * DAY, 1, 1).await.unwrap();
        assert_eq!((d.fixed_30d, d.new_30d), (0, 1));
        let d = s.dashboard(T0 + 33 * DAY - 1, 1, 1).await.unwrap();
        assert_eq!((d.fixed_30d, d.new_30d), (2, 1));

        // A window past the cap is cut to ten years.
        let d = s.dashboard(T0, 100_000, 0).await.unwrap();
        assert_eq!(d.trend.len(), 3660);
        assert_eq!(d.trend.last().unwrap(), &tp(D0, day0));
    }

    pub async fn finding_and_asset_queries(env: Env) {
        let s = env.store.clone();
        const SEV: [&str; 4] = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];
        let p_findings = |n: usize| -> Vec<NewFinding> {
            (0..n)
                .map(|i| {
                    let scanner = if i % 3 == 0 {
                        "secret"
                    } else {
                        "vulnerability"
                    };
                    let mut f = finding(&format!("p{i:02}"), scanner, SEV[i % 4]);
                    f.rule_id = format!("CVE-2024-{:04}", i % 5);
                    f.title = format!("Finding number {i}");
                    f.location = format!("src/file{i}.rs:{}", i + 1);
                    f.package = (i % 2 == 0).then(|| "libfoo".to_string());
                    f
                })
                .collect()
        };
        let scanners = &["secret", "vulnerability"];
        let p = s
            .apply_report(NewReport {
                asset_name: "nginx:1.27".into(),
                ..report("image:sha256:p", T0, scanners, p_findings(12))
            })
            .await
            .unwrap();
        // A day later only p00..p07 remain: p08..p11 are fixed.
        s.apply_report(NewReport {
            asset_name: "nginx:1.27".into(),
            ..report("image:sha256:p", T0 + DAY, scanners, p_findings(8))
        })
        .await
        .unwrap();

        let q_titles = [
            "100% of files",
            "under_score",
            "back\\slash",
            "It's quoted",
            "Plain",
        ];
        let q_findings: Vec<NewFinding> = q_titles
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut f = finding(&format!("q{i}"), "misconfig", "HIGH");
                f.title = t.to_string();
                f.rule_id = format!("KSV{i}");
                f.location = format!("deploy/q{i}.yaml");
                f
            })
            .collect();
        let q = s
            .apply_report(NewReport {
                asset_kind: AssetKind::Repository,
                asset_name: "github.com/acme/api".into(),
                ..report(
                    "repository:github.com/acme/api",
                    T0 + 2 * DAY,
                    &["misconfig"],
                    q_findings,
                )
            })
            .await
            .unwrap();
        let r_findings: Vec<NewFinding> = (0..60)
            .map(|i| finding(&format!("r{i:02}"), "kubernetes", "INFO"))
            .collect();
        let r = s
            .apply_report(NewReport {
                asset_kind: AssetKind::Other,
                ..report("other:r", T0 + DAY / 2, &["kubernetes"], r_findings)
            })
            .await
            .unwrap();

        let list = |q: FindingQuery| {
            let s = s.clone();
            async move { s.list_findings(&q).await.unwrap() }
        };
        let on_p = FindingQuery {
            asset_id: Some(p.asset_id),
            limit: 100,
            ..Default::default()
        };
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        let names =
            |idx: &[usize]| -> Vec<String> { idx.iter().map(|i| format!("p{i:02}")).collect() };
        let check = |page: Page<LedgerFinding>, expect: &[usize]| {
            assert_eq!(page.total, expect.len() as i64);
            assert_eq!(sorted(fps(&page)), names(expect));
        };

        check(list(on_p.clone()).await, &(0..12).collect::<Vec<_>>());
        check(
            list(FindingQuery {
                status: Some(FindingStatus::Open),
                ..on_p.clone()
            })
            .await,
            &[0, 1, 2, 3, 4, 5, 6, 7],
        );
        check(
            list(FindingQuery {
                status: Some(FindingStatus::Fixed),
                ..on_p.clone()
            })
            .await,
            &[8, 9, 10, 11],
        );
        check(
            list(FindingQuery {
                severities: vec!["CRITICAL".into()],
                ..on_p.clone()
            })
            .await,
            &[0, 4, 8],
        );
        check(
            list(FindingQuery {
                severities: vec!["critical".into(), " High".into(), "HIGH".into()],
                ..on_p.clone()
            })
            .await,
            &[0, 1, 4, 5, 8, 9],
        );
        check(
            list(FindingQuery {
                scanner: Some("secret".into()),
                ..on_p.clone()
            })
            .await,
            &[0, 3, 6, 9],
        );
        check(
            list(FindingQuery {
                rule_id: Some("CVE-2024-0000".into()),
                ..on_p.clone()
            })
            .await,
            &[0, 5, 10],
        );
        check(
            list(FindingQuery {
                severities: vec!["CRITICAL".into()],
                status: Some(FindingStatus::Open),
                ..on_p.clone()
            })
            .await,
            &[0, 4],
        );
        check(
            list(FindingQuery {
                text: Some("FILE1".into()),
                ..on_p.clone()
            })
            .await,
            &[1, 10, 11],
        );
        check(
            list(FindingQuery {
                text: Some("libFOO".into()),
                status: Some(FindingStatus::Open),
                ..on_p.clone()
            })
            .await,
            &[0, 2, 4, 6],
        );
        check(
            list(FindingQuery {
                text: Some("cve-2024-0003".into()),
                ..on_p.clone()
            })
            .await,
            &[3, 8],
        );
        // An empty text filter is no filter.
        check(
            list(FindingQuery {
                text: Some(String::new()),
                ..on_p.clone()
            })
            .await,
            &(0..12).collect::<Vec<_>>(),
        );

        // Text search: wildcards and quotes are literal.
        let on_q = |t: &str| FindingQuery {
            asset_id: None,
            text: Some(t.into()),
            limit: 100,
            ..Default::default()
        };
        for (needle, expect) in [
            ("%", vec!["q0"]),
            ("100% OF", vec!["q0"]),
            ("_", vec!["q1"]),
            ("r_s", vec!["q1"]),
            ("\\", vec!["q2"]),
            ("'", vec!["q3"]),
            ("it's", vec!["q3"]),
            ("plain", vec!["q4"]),
            ("deploy/", vec!["q0", "q1", "q2", "q3", "q4"]),
            ("no such thing", vec![]),
        ] {
            let page = list(on_q(needle)).await;
            assert_eq!(
                sorted(fps(&page)),
                expect.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "text {needle:?}"
            );
            assert_eq!(page.total, expect.len() as i64);
        }

        // Sort orders, checked against the full list.
        let all_p = list(on_p.clone()).await.items;
        let mut by_sev = all_p.clone();
        let rank = |f: &LedgerFinding| SEV.iter().position(|s| *s == f.severity).unwrap();
        by_sev.sort_by_key(|f| (rank(f), std::cmp::Reverse(f.last_seen), f.id));
        assert_eq!(all_p, by_sev, "default sort is severity");
        // Open before fixed within a severity here, since open ones were seen later.
        assert_eq!(
            fps(&Page {
                items: by_sev.clone(),
                total: 12
            })[..3],
            names(&[0, 4, 8])
        );
        let mut by_first = all_p.clone();
        by_first.sort_by_key(|f| (std::cmp::Reverse(f.first_seen), std::cmp::Reverse(f.id)));
        assert_eq!(
            list(FindingQuery {
                sort: FindingSort::FirstSeen,
                ..on_p.clone()
            })
            .await
            .items,
            by_first
        );
        let mut by_last = all_p.clone();
        by_last.sort_by_key(|f| (std::cmp::Reverse(f.last_seen), std::cmp::Reverse(f.id)));
        assert_eq!(
            list(FindingQuery {
                sort: FindingSort::LastSeen,
                ..on_p.clone()
            })
            .await
            .items,
            by_last
        );
        assert_eq!(
            by_last[..8].iter().map(|f| f.last_seen).collect::<Vec<_>>(),
            vec![T0 + DAY; 8]
        );

        // Pages: exact sizes, the same total, and together the whole list in order.
        let mut joined = Vec::new();
        for (offset, size) in [(0, 5), (5, 5), (10, 2), (15, 0)] {
            let page = list(FindingQuery {
                offset,
                limit: 5,
                ..on_p.clone()
            })
            .await;
            assert_eq!((page.items.len(), page.total), (size, 12));
            joined.extend(page.items);
        }
        assert_eq!(joined, all_p);

        // Limits: 0 means 50, more than 1000 means 1000.
        let everything = FindingQuery::default();
        let page = list(everything.clone()).await;
        assert_eq!((page.items.len(), page.total), (50, 12 + 5 + 60));
        let page = list(FindingQuery {
            limit: 5000,
            ..everything.clone()
        })
        .await;
        assert_eq!((page.items.len(), page.total), (77, 77));
        let page = list(FindingQuery {
            asset_id: Some(r.asset_id),
            severities: vec!["info".into()],
            limit: 7,
            offset: 56,
            sort: FindingSort::FirstSeen,
            ..Default::default()
        })
        .await;
        assert_eq!((page.items.len(), page.total), (4, 60));
        assert_eq!(
            list(FindingQuery {
                asset_id: Some(q.asset_id),
                ..Default::default()
            })
            .await
            .total,
            5
        );

        // Assets: P risk 2*10 + 2*5 + 2*2 + 2 = 36, Q 5*5 = 25, R 0.
        let ap = s.asset(p.asset_id).await.unwrap().unwrap();
        let aq = s.asset(q.asset_id).await.unwrap().unwrap();
        let ar = s.asset(r.asset_id).await.unwrap().unwrap();
        assert_eq!(ap.open, counts(2, 2, 2, 2, 0, 0));
        assert_eq!(ap.open.risk(), 36);
        assert_eq!(aq.open.risk(), 25);
        let assets = |q: AssetQuery| {
            let s = s.clone();
            async move { s.list_assets(&q).await.unwrap() }
        };
        assert_eq!(
            assets(AssetQuery::default()).await,
            Page {
                items: vec![ap.clone(), aq.clone(), ar.clone()],
                total: 3
            }
        );
        assert_eq!(
            assets(AssetQuery {
                by_last_seen: true,
                ..Default::default()
            })
            .await
            .items,
            vec![aq.clone(), ap.clone(), ar.clone()]
        );
        assert_eq!(
            assets(AssetQuery {
                limit: 2,
                ..Default::default()
            })
            .await,
            Page {
                items: vec![ap.clone(), aq.clone()],
                total: 3
            }
        );
        assert_eq!(
            assets(AssetQuery {
                limit: 2,
                offset: 2,
                ..Default::default()
            })
            .await,
            Page {
                items: vec![ar.clone()],
                total: 3
            }
        );
        assert_eq!(
            assets(AssetQuery {
                kind: Some(AssetKind::Image),
                ..Default::default()
            })
            .await,
            Page {
                items: vec![ap.clone()],
                total: 1
            }
        );
        assert_eq!(
            assets(AssetQuery {
                text: Some("ACME".into()),
                ..Default::default()
            })
            .await
            .items,
            vec![aq.clone()]
        );
        // The key matches as well as the name.
        assert_eq!(
            assets(AssetQuery {
                text: Some("sha256:P".into()),
                ..Default::default()
            })
            .await
            .items,
            vec![ap.clone()]
        );
        assert_eq!(
            assets(AssetQuery {
                text: Some("%".into()),
                ..Default::default()
            })
            .await
            .total,
            0
        );
        assert_eq!(
            assets(AssetQuery {
                kind: Some(AssetKind::Workload),
                ..Default::default()
            })
            .await,
            Page {
                items: vec![],
                total: 0
            }
        );
    }

    /// Strings that break naive SQL, and strings that break naive encodings.
    fn odd_strings() -> Vec<String> {
        let mut v: Vec<String> = [
            "'; DROP TABLE users; --",
            "Robert'); DROP TABLE findings;--",
            "\" OR \"1\"=\"1",
            "' OR '1'='1' /*",
            "1; DELETE FROM audit_log WHERE 1=1",
            "$1 ?1 ?2 :name @p %s {}",
            "back\\slash \\' \\\" \\\\",
            "100% _under_ [brackets] ^caret *star",
            "Zoë · 日本語 · 🚀 · עברית · Ω≈ç√ · ﷽",
            "e\u{301}\u{301} combining, \u{200B}zero-width, \u{FEFF}bom, \u{202E}rtl",
            "tab\tnew\nline\r\nCR\u{7}bell\u{1}\u{1F}\u{7F}",
            "  leading and trailing spaces  ",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.push(format!("{}ü", "long ".repeat(2000)));
        v
    }

    /// At most 900 bytes of `t`, cut on a character boundary.
    fn key_part(t: &str) -> &str {
        let mut end = t.len().min(900);
        while !t.is_char_boundary(end) {
            end -= 1;
        }
        &t[..end]
    }

    pub async fn odd_strings_round_trip(env: Env) {
        let s = env.store.clone();
        let odd = odd_strings();
        for (i, text) in odd.iter().enumerate() {
            let t = text.clone();
            // Users.
            let username = format!("u{i}-{t}");
            let user = s
                .create_user(
                    NewUser {
                        username: username.clone(),
                        display_name: t.clone(),
                        role: Role::Viewer,
                        password_hash: Some(t.clone()),
                        oidc_subject: Some(format!("iss|{i}|{t}")),
                    },
                    T0,
                )
                .await
                .unwrap();
            assert_eq!(user.username, username.to_lowercase());
            let back = s.user_by_username(&username).await.unwrap().unwrap();
            assert_eq!(back, user);
            assert_eq!(back.display_name, t);
            assert_eq!(back.password_hash.as_deref(), Some(t.as_str()));
            assert_eq!(
                s.user_by_oidc_subject(&format!("iss|{i}|{t}"))
                    .await
                    .unwrap(),
                Some(user.clone())
            );

            // Sessions and tokens.
            let sess = Session {
                id_hash: format!("sess-{i}-{t}"),
                user_id: user.id,
                csrf_token: t.clone(),
                created_at: T0,
                expires_at: T0 + DAY,
                ip: Some(t.clone()),
                user_agent: Some(t.clone()),
            };
            s.create_session(sess.clone()).await.unwrap();
            assert_eq!(
                s.session(&sess.id_hash, T0).await.unwrap(),
                Some((sess.clone(), user.clone()))
            );
            let token = s
                .create_token(
                    NewApiToken {
                        user_id: user.id,
                        name: t.clone(),
                        secret_hash: format!("hash-{i}-{t}"),
                        prefix: t.clone(),
                        scope: Role::Viewer,
                        expires_at: None,
                    },
                    T0,
                )
                .await
                .unwrap();
            assert_eq!(s.token_by_id(token.id).await.unwrap(), Some(token.clone()));
            let (tb, _) = s
                .token_by_hash(&format!("hash-{i}-{t}"), T0)
                .await
                .unwrap()
                .unwrap();
            assert_eq!((tb.name, tb.prefix), (t.clone(), t.clone()));
            let link = format!("link-{i}-{t}");
            s.create_login_link(LoginLink {
                secret_hash: link.clone(),
                user_id: user.id,
                expires_at: T0 + DAY,
            })
            .await
            .unwrap();
            assert_eq!(s.take_login_link(&link, T0).await.unwrap(), Some(user.id));

            // Audit.
            let entry = s
                .append_audit(NewAuditEntry {
                    at: T0 + i as i64,
                    actor: t.clone(),
                    actor_user_id: Some(user.id),
                    action: format!("odd.{t}"),
                    target: t.clone(),
                    outcome: t.clone(),
                    ip: Some(t.clone()),
                    user_agent: Some(t.clone()),
                    details: json!({ "value": t, t.clone(): [t, 1, null] }),
                })
                .await
                .unwrap();
            assert_eq!(
                s.list_audit(&AuditQuery {
                    actor: Some(t.clone()),
                    ..Default::default()
                })
                .await
                .unwrap(),
                vec![entry]
            );

            // A report: asset, report metadata, finding fields, raw JSON, SBOM.
            // Keys (asset key, fingerprint) are limited to 1024 bytes: the long string is cut.
            let k = key_part(&t);
            let asset_key = format!("other:{i}:{k}");
            let mut f = finding(&format!("fp-{i}-{k}"), &t, "HIGH");
            f.rule_id = t.clone();
            f.title = t.clone();
            f.message = t.clone();
            f.location = t.clone();
            f.package = Some(t.clone());
            f.installed_version = Some(t.clone());
            f.fixed_version = Some(t.clone());
            f.raw = json!({ "text": t, "nested": { t.clone(): t } });
            let out = s
                .apply_report(NewReport {
                    received_at: T0,
                    format: t.clone(),
                    scanners: vec![t.clone()],
                    asset_kind: AssetKind::Other,
                    asset_key: asset_key.clone(),
                    asset_name: t.clone(),
                    uploaded_by: t.clone(),
                    size: i as i64,
                    sbom: Some(t.clone()),
                    findings: vec![f.clone()],
                })
                .await
                .unwrap();
            let asset = s.asset(out.asset_id).await.unwrap().unwrap();
            assert_eq!((asset.key, asset.name), (asset_key.clone(), t.clone()));
            let rep = &s.asset_reports(out.asset_id, 1).await.unwrap()[0];
            assert_eq!(
                (&rep.format, &rep.scanners, &rep.uploaded_by),
                (&t, &vec![t.clone()], &t)
            );
            assert_eq!(s.asset_sbom(out.asset_id).await.unwrap(), Some(t.clone()));
            let page = s
                .list_findings(&FindingQuery {
                    asset_id: Some(out.asset_id),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(page.total, 1);
            let (lf, raw) = s.finding(page.items[0].id).await.unwrap().unwrap();
            assert_eq!(
                (
                    &lf.fingerprint,
                    &lf.rule_id,
                    &lf.scanner,
                    &lf.title,
                    &lf.message,
                    &lf.location
                ),
                (&f.fingerprint, &t, &t, &t, &t, &t)
            );
            assert_eq!(
                (&lf.package, &lf.installed_version, &lf.fixed_version),
                (&f.package, &f.package, &f.package)
            );
            assert_eq!(raw, f.raw);
            // Filters bind the odd values as data.
            let by_scanner = s
                .list_findings(&FindingQuery {
                    scanner: Some(t.clone()),
                    rule_id: Some(t.clone()),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(fps(&by_scanner), vec![f.fingerprint.clone()]);
            if !t.is_empty() {
                let by_text = s
                    .list_findings(&FindingQuery {
                        asset_id: Some(out.asset_id),
                        text: Some(t.clone()),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                assert_eq!(by_text.total, 1);
                let found = s
                    .list_assets(&AssetQuery {
                        text: Some(asset_key.clone()),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                assert_eq!(found.total, 1);
            }
        }

        // Every table is still there, with exactly what was written.
        let n = odd.len() as i64;
        assert_eq!(s.count_users().await.unwrap(), n);
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM users").await, n);
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM findings").await, n);
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM audit_log").await, n);
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM sessions").await, n);
        assert_eq!(s.list_tokens(None).await.unwrap().len(), n as usize);
        assert_eq!(s.verify_audit_chain().await.unwrap(), None);
        let d = s.dashboard(T0, 1, 100).await.unwrap();
        assert_eq!((d.assets, d.reports, d.open.high), (n, n, n));
    }

    pub async fn nul_is_refused_and_lookups_are_safe(env: Env) {
        let s = env.store.clone();
        let u = s
            .create_user(new_user("nul", Role::Viewer), T0)
            .await
            .unwrap();
        expect_invalid(s.create_user(new_user("a\0b", Role::Viewer), T0).await);
        expect_invalid(
            s.create_user(
                NewUser {
                    display_name: "x\0".into(),
                    ..new_user("ok", Role::Viewer)
                },
                T0,
            )
            .await,
        );
        expect_invalid(s.set_user_password(u.id, "p\0").await);
        expect_invalid(
            s.create_session(Session {
                id_hash: "s\0".into(),
                user_id: u.id,
                csrf_token: "c".into(),
                created_at: T0,
                expires_at: T0 + 1,
                ip: None,
                user_agent: None,
            })
            .await,
        );
        expect_invalid(
            s.create_token(
                NewApiToken {
                    user_id: u.id,
                    name: "n\0".into(),
                    secret_hash: "h".into(),
                    prefix: "p".into(),
                    scope: Role::Viewer,
                    expires_at: None,
                },
                T0,
            )
            .await,
        );
        // Lookups with a NUL find nothing, on both backends.
        assert_eq!(s.user_by_username("nul\0").await.unwrap(), None);
        assert_eq!(s.user_by_oidc_subject("x\0").await.unwrap(), None);
        assert_eq!(s.session("s\0", T0).await.unwrap(), None);
        s.delete_session("s\0").await.unwrap();
        assert_eq!(s.take_login_link("l\0", T0).await.unwrap(), None);
        assert_eq!(s.token_by_hash("h\0", T0).await.unwrap(), None);

        // A report with a NUL in its last finding is refused whole.
        let mut findings: Vec<NewFinding> = (0..500)
            .map(|i| finding(&format!("f{i}"), "vulnerability", "LOW"))
            .collect();
        findings[499].message = "bad\0message".into();
        expect_invalid(
            s.apply_report(report("image:nul", T0, &["vulnerability"], findings))
                .await,
        );
        let d = s.dashboard(T0, 1, 10).await.unwrap();
        assert_eq!((d.assets, d.reports, d.open.total()), (0, 0, 0));
        assert_eq!(s.count_users().await.unwrap(), 1);
        assert_eq!(s.list_tokens(None).await.unwrap(), vec![]);
    }

    /// Text that does not compress (PostgreSQL compresses long index entries before it
    /// checks their size).
    fn incompressible(bytes: usize) -> String {
        let mut s = String::new();
        let mut h = sha_hex("seed");
        while s.len() < bytes {
            h = sha_hex(&h);
            s.push_str(&h);
        }
        s.truncate(bytes);
        s
    }

    /// Keys long enough to overflow a PostgreSQL btree entry are refused the same way on both
    /// backends, with nothing written; keys up to the limit work on both.
    pub async fn long_keys_behave_alike(env: Env) {
        let s = env.store.clone();
        let ok_fp = incompressible(1024);
        let ok_key = format!("image:{}", incompressible(1018));
        assert_eq!(ok_key.len(), 1024);
        let out = s
            .apply_report(report(
                &ok_key,
                T0,
                &["vulnerability"],
                vec![finding(&ok_fp, "vulnerability", "HIGH")],
            ))
            .await
            .unwrap();
        assert_eq!(
            ledger(&s, out.asset_id).await.keys().collect::<Vec<_>>(),
            vec![&ok_fp]
        );
        assert_eq!(s.asset(out.asset_id).await.unwrap().unwrap().key, ok_key);

        let long = incompressible(3000);
        expect_invalid(
            s.apply_report(report(
                "image:long-fingerprint",
                T0,
                &["vulnerability"],
                vec![
                    finding("short", "vulnerability", "HIGH"),
                    finding(&long, "vulnerability", "HIGH"),
                ],
            ))
            .await,
        );
        expect_invalid(
            s.apply_report(report(
                &format!("image:{long}"),
                T0,
                &["vulnerability"],
                vec![finding("short", "vulnerability", "HIGH")],
            ))
            .await,
        );
        let d = s.dashboard(T0, 1, 10).await.unwrap();
        assert_eq!((d.assets, d.reports, d.open.total()), (1, 1, 1));

        // Long text in fields that are not keys is fine on both.
        let mut f = finding("long-text", "vulnerability", "LOW");
        f.title = incompressible(20_000);
        f.message = incompressible(100_000);
        let out = s
            .apply_report(report(
                "image:long-text",
                T0,
                &["vulnerability"],
                vec![f.clone()],
            ))
            .await
            .unwrap();
        let l = ledger(&s, out.asset_id).await;
        assert_eq!(
            (&l["long-text"].title, &l["long-text"].message),
            (&f.title, &f.message)
        );
    }

    /// Severity of synthetic finding `j`.
    fn sev_of(j: usize) -> &'static str {
        ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"][j % 5]
    }

    fn synthetic(n: usize, scanner: &str) -> Vec<NewFinding> {
        (0..n)
            .map(|j| finding(&format!("f{j:04}"), scanner, sev_of(j)))
            .collect()
    }

    fn plus(a: SeverityCounts, b: SeverityCounts) -> SeverityCounts {
        counts(
            a.critical + b.critical,
            a.high + b.high,
            a.medium + b.medium,
            a.low + b.low,
            a.info + b.info,
            a.unknown + b.unknown,
        )
    }

    fn expected_counts(n: usize) -> SeverityCounts {
        let mut c = SeverityCounts::default();
        for j in 0..n {
            c.add(sev_of(j), 1);
        }
        c
    }

    pub async fn concurrent_writes(env: Env) {
        let s = env.store.clone();
        // Eight tasks, one asset each, three shrinking reports each.
        let size = |k: usize, r: usize| 40 + 5 * k - 7 * r;
        let mut tasks = Vec::new();
        for k in 0..8 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut outs = Vec::new();
                for r in 0..3 {
                    let out = s
                        .apply_report(report(
                            &format!("image:sha256:task{k}"),
                            T0 + (k * 10 + r) as i64,
                            &["vulnerability"],
                            synthetic(size(k, r), "vulnerability"),
                        ))
                        .await
                        .unwrap();
                    outs.push(out);
                }
                outs
            }));
        }
        // Meanwhile, eight tasks write to one shared asset, each a different finding set.
        let mut shared = Vec::new();
        for k in 0..8 {
            let s = s.clone();
            shared.push(tokio::spawn(async move {
                s.apply_report(report(
                    "image:sha256:shared",
                    T0 + 500 + k as i64,
                    &["vulnerability"],
                    synthetic(10 + k, "vulnerability"),
                ))
                .await
                .unwrap()
            }));
        }
        // And eight tasks try to create the same user.
        let mut users = Vec::new();
        for _ in 0..8 {
            let s = s.clone();
            users.push(tokio::spawn(async move {
                s.create_user(new_user("racer", Role::Viewer), T0).await
            }));
        }

        let mut expected_open = SeverityCounts::default();
        for (k, t) in tasks.into_iter().enumerate() {
            let outs = t.await.unwrap();
            let (n0, n1, n2) = (size(k, 0), size(k, 1), size(k, 2));
            let got: Vec<(i64, i64, i64, i64)> = outs
                .iter()
                .map(|o| (o.new, o.unchanged, o.reopened, o.fixed))
                .collect();
            assert_eq!(
                got,
                vec![
                    (n0 as i64, 0, 0, 0),
                    (0, n1 as i64, 0, (n0 - n1) as i64),
                    (0, n2 as i64, 0, (n1 - n2) as i64),
                ]
            );
            let asset = s.asset(outs[0].asset_id).await.unwrap().unwrap();
            assert_eq!(asset.open, expected_counts(n2));
            assert_eq!(asset.last_report_id, Some(outs[2].report_id));
            let l = ledger(&s, asset.id).await;
            assert_eq!(l.len(), n0);
            assert_eq!(
                l.values()
                    .filter(|f| f.status == FindingStatus::Open)
                    .count(),
                n2
            );
            let c = expected_counts(n2);
            for (sev, want) in [("CRITICAL", c.critical), ("INFO", c.info)] {
                let page = s
                    .list_findings(&FindingQuery {
                        asset_id: Some(asset.id),
                        severities: vec![sev.into()],
                        status: Some(FindingStatus::Open),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                assert_eq!(page.total, want);
            }
            expected_open = plus(expected_open, c);
        }

        let mut outs = Vec::new();
        for t in shared {
            outs.push(t.await.unwrap());
        }
        let asset_id = outs[0].asset_id;
        assert!(outs.iter().all(|o| o.asset_id == asset_id));
        // Each fingerprint was new exactly once: the union is f0000..f0016.
        assert_eq!(outs.iter().map(|o| o.new).sum::<i64>(), 17);
        // The reports applied one after the other: the last one's set is what is open.
        let last = outs.iter().max_by_key(|o| o.report_id).unwrap();
        let reports = s.asset_reports(asset_id, 100).await.unwrap();
        assert_eq!(reports.len(), 8);
        assert_eq!(reports[0].id, last.report_id);
        let last_size = reports[0].finding_count as usize;
        let l = ledger(&s, asset_id).await;
        assert_eq!(l.len(), 17);
        let open: Vec<&String> = l
            .values()
            .filter(|f| f.status == FindingStatus::Open)
            .map(|f| &f.fingerprint)
            .collect();
        assert_eq!(open.len(), last_size);
        for f in l.values() {
            let in_last = f.fingerprint.as_str() < format!("f{last_size:04}").as_str();
            assert_eq!(
                f.status == FindingStatus::Open,
                in_last,
                "{}",
                f.fingerprint
            );
            if in_last {
                assert_eq!(f.last_report_id, last.report_id);
            }
        }
        let asset = s.asset(asset_id).await.unwrap().unwrap();
        assert_eq!(asset.open, expected_counts(last_size));
        assert_eq!(asset.last_report_id, Some(last.report_id));
        // Every report's outcome adds up: open before + new + reopened - fixed = open after.
        let mut by_id: Vec<&ReportOutcome> = outs.iter().collect();
        by_id.sort_by_key(|o| o.report_id);
        let mut open_before = 0;
        for (o, r) in by_id.iter().zip(reports.iter().rev()) {
            assert_eq!(o.report_id, r.id);
            assert_eq!(o.new + o.unchanged + o.reopened, r.finding_count);
            assert_eq!(o.unchanged + o.fixed, open_before);
            open_before = r.finding_count;
        }
        expected_open = plus(expected_open, asset.open);

        let mut ok = 0;
        for t in users {
            match t.await.unwrap() {
                Ok(u) => {
                    assert_eq!(u.username, "racer");
                    ok += 1;
                }
                Err(StoreError::Conflict(m)) => assert_eq!(m, "user \"racer\""),
                Err(e) => panic!("unexpected error: {e}"),
            }
        }
        assert_eq!(ok, 1);
        assert_eq!(s.count_users().await.unwrap(), 1);

        // The platform totals agree with the assets and the ledger, and the trend's last
        // point includes every report (none overwrote another's totals).
        let d = s.dashboard(T0, 1, 100).await.unwrap();
        assert_eq!(d.open, expected_open);
        assert_eq!((d.assets, d.reports), (9, 8 * 3 + 8));
        assert_eq!(
            d.trend,
            vec![TrendPoint {
                day: D0,
                open: expected_open
            }]
        );
        let open_total = s
            .list_findings(&FindingQuery {
                status: Some(FindingStatus::Open),
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .total;
        assert_eq!(open_total, expected_open.total());
        let all_assets = s
            .list_assets(&AssetQuery {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        let sum = all_assets
            .items
            .iter()
            .fold(SeverityCounts::default(), |acc, a| plus(acc, a.open));
        assert_eq!(sum, expected_open);
        assert_eq!(
            env.raw_count("SELECT COUNT(*) FROM finding_raw").await,
            env.raw_count("SELECT COUNT(*) FROM findings").await
        );
    }

    pub async fn cancelled_reports_are_all_or_nothing(env: Env) {
        let s = env.store.clone();
        const N: usize = 3000;
        let delays_us = [0u64, 200, 1_000, 3_000, 10_000, 30_000, 100_000, 5_000_000];
        for (i, us) in delays_us.iter().enumerate() {
            let fut = s.apply_report(report(
                &format!("image:cancel{i}"),
                T0 + i as i64,
                &["vulnerability"],
                synthetic(N, "vulnerability"),
            ));
            let _ = tokio::time::timeout(std::time::Duration::from_micros(*us), fut).await;
        }
        // One more write: on SQLite it waits for the writer, so anything still running is done.
        s.create_user(new_user("after", Role::Viewer), T0)
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;

        let mut landed = 0;
        for i in 0..delays_us.len() {
            let key = format!("image:cancel{i}");
            let found = s
                .list_assets(&AssetQuery {
                    text: Some(key.clone()),
                    ..Default::default()
                })
                .await
                .unwrap();
            let Some(asset) = found.items.iter().find(|a| a.key == key) else {
                continue;
            };
            // There: then all of it.
            landed += 1;
            let reports = s.asset_reports(asset.id, 10).await.unwrap();
            assert_eq!(reports.len(), 1, "{key}");
            assert_eq!(reports[0].finding_count, N as i64);
            assert_eq!(asset.last_report_id, Some(reports[0].id));
            assert_eq!(asset.open, expected_counts(N));
            let page = s
                .list_findings(&FindingQuery {
                    asset_id: Some(asset.id),
                    limit: 1,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(page.total, N as i64);
        }
        // The last one had five seconds: plenty, so at least that one landed.
        assert!(landed >= 1);
        let d = s.dashboard(T0, 1, 100).await.unwrap();
        assert_eq!(d.assets, landed);
        assert_eq!(d.reports, landed);
        assert_eq!(d.open.total(), landed * N as i64);
        assert_eq!(
            env.raw_count("SELECT COUNT(*) FROM findings").await,
            landed * N as i64
        );
        assert_eq!(
            env.raw_count("SELECT COUNT(*) FROM finding_raw").await,
            landed * N as i64
        );
        // The store still works afterwards.
        let out = s
            .apply_report(report(
                "image:after",
                T0 + 100,
                &["vulnerability"],
                synthetic(10, "vulnerability"),
            ))
            .await
            .unwrap();
        assert_eq!(out.new, 10);
        eprintln!(
            "cancelled reports: {landed} of {} landed whole",
            delays_us.len()
        );
    }
    pub async fn alerts_deduplicate_within_the_window(env: Env) {
        let s = env.store.clone();
        let window = 10 * MINUTE;
        let alice = [("user", "alice"), ("namespace", "shop"), ("pod", "web-0")];

        let (a, created) = s
            .raise_alert(new_alert("rule-exec", &alice, T0, 1), window)
            .await
            .unwrap();
        assert!(created);
        assert_eq!(a.count, 1);
        assert_eq!(a.state, AlertState::New);
        assert_eq!((a.first_seen, a.last_seen), (T0, T0));
        assert_eq!(a.event_count, 1);
        assert_eq!(a.level, AlertLevel::High);
        assert_eq!(a.rule_title, "Title of rule-exec");
        assert_eq!(a.tags, ["attack.execution", "attack.t1609"]);
        assert_eq!(a.entities, entities(&alice));
        assert_eq!(a.dedup_key.len(), 64);
        assert!(!a.correlation);
        assert_eq!(
            (a.state_reason.clone(), a.state_by.clone(), a.state_at),
            (None, None, None)
        );

        // Same rule and entities (in another order: they are a sorted map) within the window.
        let reordered = [("pod", "web-0"), ("user", "alice"), ("namespace", "shop")];
        let (b, created) = s
            .raise_alert(
                new_alert("rule-exec", &reordered, T0 + 4 * MINUTE, 2),
                window,
            )
            .await
            .unwrap();
        assert!(!created);
        assert_eq!(b.id, a.id);
        assert_eq!(b.dedup_key, a.dedup_key);
        assert_eq!(b.count, 2);
        assert_eq!((b.first_seen, b.last_seen), (T0, T0 + 4 * MINUTE));
        assert_eq!(b.event_count, 2);

        // A late event inside the window moves first_seen back, not last_seen.
        let (c, created) = s
            .raise_alert(new_alert("rule-exec", &alice, T0 - 3 * MINUTE, 3), window)
            .await
            .unwrap();
        assert!(!created);
        assert_eq!(c.id, a.id);
        assert_eq!(c.count, 3);
        assert_eq!(
            (c.first_seen, c.last_seen),
            (T0 - 3 * MINUTE, T0 + 4 * MINUTE)
        );

        // Exactly at the edge of the window (last_seen + window): still the same alert.
        let (d, created) = s
            .raise_alert(new_alert("rule-exec", &alice, T0 + 14 * MINUTE, 4), window)
            .await
            .unwrap();
        assert!(!created);
        assert_eq!((d.id, d.count, d.last_seen), (a.id, 4, T0 + 14 * MINUTE));

        // One millisecond past it: a new alert with the same key.
        let late = T0 + 24 * MINUTE + 1;
        let (e, created) = s
            .raise_alert(new_alert("rule-exec", &alice, late, 5), window)
            .await
            .unwrap();
        assert!(created);
        assert_ne!(e.id, a.id);
        assert_eq!(e.dedup_key, a.dedup_key);
        assert_eq!((e.count, e.first_seen, e.last_seen), (1, late, late));

        // The next match goes to the newer one of the two (its window), not the older.
        let (f, created) = s
            .raise_alert(new_alert("rule-exec", &alice, late + MINUTE, 6), window)
            .await
            .unwrap();
        assert!(!created);
        assert_eq!((f.id, f.count), (e.id, 2));

        // Other entities, or another rule, or one entity fewer: separate alerts.
        let bob = [("user", "bob"), ("namespace", "shop"), ("pod", "web-0")];
        let (g, created) = s
            .raise_alert(new_alert("rule-exec", &bob, T0, 7), window)
            .await
            .unwrap();
        assert!(created);
        assert_ne!(g.dedup_key, a.dedup_key);
        let (h, created) = s
            .raise_alert(new_alert("rule-other", &alice, T0, 8), window)
            .await
            .unwrap();
        assert!(created);
        assert_ne!(h.dedup_key, a.dedup_key);
        let (i, created) = s
            .raise_alert(
                new_alert(
                    "rule-exec",
                    &[("user", "alice"), ("namespace", "shop")],
                    T0,
                    9,
                ),
                window,
            )
            .await
            .unwrap();
        assert!(created);
        assert_ne!(i.dedup_key, a.dedup_key);
        // No entities at all is a key too.
        let (j, created) = s
            .raise_alert(new_alert("rule-exec", &[], T0, 10), window)
            .await
            .unwrap();
        let (k, again) = s
            .raise_alert(new_alert("rule-exec", &[], T0 + 1, 11), window)
            .await
            .unwrap();
        assert!(created && !again);
        assert_eq!((k.id, k.count), (j.id, 2));

        // A zero window: only matches at the very same millisecond join.
        let (l, _) = s
            .raise_alert(new_alert("rule-zero", &alice, T0, 12), 0)
            .await
            .unwrap();
        let (m, joined) = s
            .raise_alert(new_alert("rule-zero", &alice, T0, 13), 0)
            .await
            .unwrap();
        assert!(!joined);
        assert_eq!((m.id, m.count), (l.id, 2));
        let (n, created) = s
            .raise_alert(new_alert("rule-zero", &alice, T0 + 1, 14), 0)
            .await
            .unwrap();
        assert!(created);
        assert_ne!(n.id, l.id);

        // Acknowledged alerts still collect matches; closed ones never do.
        let ack = AlertStateChange {
            state: AlertState::Acknowledged,
            reason: None,
            by: "ana".into(),
            at: T0 + 30 * MINUTE,
        };
        s.set_alert_state(g.id, ack).await.unwrap();
        let (g2, created) = s
            .raise_alert(new_alert("rule-exec", &bob, T0 + MINUTE, 15), window)
            .await
            .unwrap();
        assert!(!created);
        assert_eq!(
            (g2.id, g2.count, g2.state),
            (g.id, 2, AlertState::Acknowledged)
        );
        s.set_alert_state(
            g.id,
            closing("benign: on-call debugging", "ana", T0 + 31 * MINUTE),
        )
        .await
        .unwrap();
        let (g3, created) = s
            .raise_alert(new_alert("rule-exec", &bob, T0 + 2 * MINUTE, 16), window)
            .await
            .unwrap();
        assert!(created, "a closed alert does not take new matches");
        assert_ne!(g3.id, g.id);
        assert_eq!((g3.count, g3.state), (1, AlertState::New));
        let (closed, _) = s.alert(g.id).await.unwrap().unwrap();
        assert_eq!((closed.count, closed.state), (2, AlertState::Closed));

        // Bad input is refused and leaves nothing behind.
        let before = env.raw_count("SELECT COUNT(*) FROM alerts").await;
        expect_invalid(s.raise_alert(new_alert("  ", &alice, T0, 0), window).await);
        let mut nul = new_alert("rule-exec", &alice, T0, 0);
        nul.rule_title = "a\0b".into();
        expect_invalid(s.raise_alert(nul, window).await);
        let mut nul = new_alert("rule-exec", &[("user", "a\0")], T0, 0);
        nul.rule_title = "ok".into();
        expect_invalid(s.raise_alert(nul, window).await);
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM alerts").await, before);
    }

    pub async fn alerts_keep_sample_events_capped(env: Env) {
        let s = env.store.clone();
        let who = [("user", "system:serviceaccount:kube-system:job")];
        let mut id = None;
        for n in 0..25 {
            let (a, created) = s
                .raise_alert(new_alert("rule-cap", &who, T0 + n, n), MINUTE)
                .await
                .unwrap();
            assert_eq!(created, n == 0);
            id = Some(a.id);
            assert_eq!(a.count, n + 1);
            assert_eq!(a.event_count, (n + 1).min(20));
        }
        let (a, events) = s.alert(id.unwrap()).await.unwrap().unwrap();
        assert_eq!((a.count, a.event_count), (25, 20));
        assert_eq!(events.len(), 20);
        // The first twenty, in order, whole.
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.event["n"], i as i64);
            assert_eq!(e.event_id.as_deref(), Some(format!("evt-{i}").as_str()));
            assert_eq!(e.time_ns, ns(T0 + i as i64));
            assert_eq!(e.source, "k8s-audit");
            assert!(!e.truncated);
        }
        assert_eq!(
            env.raw_count(&format!(
                "SELECT COUNT(*) FROM alert_events WHERE alert_id = {}",
                a.id
            ))
            .await,
            20
        );

        // A correlation: several events in one match, no event id, one of them too large;
        // odd text survives the round trip.
        let big = "x".repeat(palisade_store::MAX_ALERT_EVENT_BYTES + 10);
        let odd = "quote \" back\\slash <b>&amp; é 🚀 nul\u{0}";
        let (c, created) = s
            .raise_alert(
                NewAlert {
                    rule_id: "corr-401-then-200".into(),
                    rule_title: odd.replace('\0', ""),
                    level: AlertLevel::Critical,
                    tags: vec!["attack.t1110".into()],
                    entities: entities(&[("source_ip", "203.0.113.9")]),
                    events: vec![
                        AlertEvent {
                            event_id: None,
                            time_ns: ns(T0),
                            source: "k8s-audit".into(),
                            event: json!({ "code": 401, "odd": odd }),
                        },
                        AlertEvent {
                            event_id: None,
                            time_ns: ns(T0 + 1),
                            source: "k8s-audit".into(),
                            event: json!({ "code": 200, "blob": big }),
                        },
                    ],
                    time_ns: ns(T0 + 1),
                    correlation: true,
                },
                MINUTE,
            )
            .await
            .unwrap();
        assert!(created);
        assert!(c.correlation);
        assert_eq!(c.level, AlertLevel::Critical);
        assert_eq!(c.rule_title, odd.replace('\0', ""));
        assert_eq!((c.count, c.event_count, c.last_seen), (1, 2, T0 + 1));
        let (_, events) = s.alert(c.id).await.unwrap().unwrap();
        assert_eq!(events[0].event, json!({ "code": 401, "odd": odd }));
        assert!(!events[0].truncated);
        assert!(events[0].event_id.is_none());
        assert!(events[1].truncated);
        let kept = events[1]
            .event
            .as_str()
            .expect("a truncated event is kept as text");
        assert_eq!(kept.len(), palisade_store::MAX_ALERT_EVENT_BYTES);
        assert!(kept.starts_with("{\"blob\":\"xxx"), "{}", &kept[..20]);

        // More events in one match than the cap: the first twenty are kept.
        let mut many = new_alert("rule-many", &who, T0, 0);
        many.events = (0..30)
            .map(|n| AlertEvent {
                event_id: Some(format!("m{n}")),
                time_ns: ns(T0),
                source: "cloudtrail".into(),
                event: json!({ "n": n }),
            })
            .collect();
        let (m, _) = s.raise_alert(many, MINUTE).await.unwrap();
        assert_eq!(m.event_count, 20);
        let (_, events) = s.alert(m.id).await.unwrap().unwrap();
        assert_eq!(events.last().unwrap().event["n"], 19);

        assert!(s.alert(999_999).await.unwrap().is_none());
    }

    pub async fn alert_states_and_queries(env: Env) {
        let s = env.store.clone();
        let w = MINUTE;
        let mk = |rule: &str, user: &str, level: AlertLevel, at: Millis| {
            let mut a = new_alert(rule, &[("user", user), ("namespace", "prod")], at, 0);
            a.level = level;
            a
        };
        let (info, _) = s
            .raise_alert(mk("r-info", "ann", AlertLevel::Informational, T0), w)
            .await
            .unwrap();
        let (low, _) = s
            .raise_alert(mk("r-low", "ben", AlertLevel::Low, T0 + DAY), w)
            .await
            .unwrap();
        let (med, _) = s
            .raise_alert(mk("r-med", "cat", AlertLevel::Medium, T0 + 2 * DAY), w)
            .await
            .unwrap();
        let (high, _) = s
            .raise_alert(mk("r-high", "dan", AlertLevel::High, T0 + 3 * DAY), w)
            .await
            .unwrap();
        let (crit, _) = s
            .raise_alert(mk("r-crit", "eve", AlertLevel::Critical, T0 + 4 * DAY), w)
            .await
            .unwrap();

        // Newest first; totals count everything that matches.
        let all = s.list_alerts(&AlertQuery::default()).await.unwrap();
        assert_eq!(alert_ids(&all), [crit.id, high.id, med.id, low.id, info.id]);
        assert_eq!(all.total, 5);
        let q = |f: AlertQuery| {
            let s = s.clone();
            async move { s.list_alerts(&f).await.unwrap() }
        };
        let p = q(AlertQuery {
            min_level: Some(AlertLevel::Medium),
            ..Default::default()
        })
        .await;
        assert_eq!(alert_ids(&p), [crit.id, high.id, med.id]);
        let p = q(AlertQuery {
            rule_id: Some("r-low".into()),
            ..Default::default()
        })
        .await;
        assert_eq!(alert_ids(&p), [low.id]);
        // Text: rule title, entity values, tags; case-insensitive; LIKE wildcards are literal.
        let p = q(AlertQuery {
            text: Some("DAN".into()),
            ..Default::default()
        })
        .await;
        assert_eq!(alert_ids(&p), [high.id]);
        let p = q(AlertQuery {
            text: Some("title of r-c".into()),
            ..Default::default()
        })
        .await;
        assert_eq!(alert_ids(&p), [crit.id]);
        let p = q(AlertQuery {
            text: Some("t1609".into()),
            ..Default::default()
        })
        .await;
        assert_eq!(p.total, 5);
        let p = q(AlertQuery {
            text: Some("%".into()),
            ..Default::default()
        })
        .await;
        assert_eq!(p.total, 0);
        let p = q(AlertQuery {
            since: Some(T0 + DAY),
            until: Some(T0 + 3 * DAY),
            ..Default::default()
        })
        .await;
        assert_eq!(alert_ids(&p), [high.id, med.id, low.id]);
        let p = q(AlertQuery {
            offset: 1,
            limit: 2,
            ..Default::default()
        })
        .await;
        assert_eq!((alert_ids(&p), p.total), (vec![high.id, med.id], 5));

        // Closing needs a reason; nothing changes without one.
        for reason in [None, Some(""), Some("   ")] {
            expect_invalid(
                s.set_alert_state(
                    high.id,
                    AlertStateChange {
                        state: AlertState::Closed,
                        reason: reason.map(str::to_string),
                        by: "ana".into(),
                        at: T0,
                    },
                )
                .await,
            );
        }
        let (same, _) = s.alert(high.id).await.unwrap().unwrap();
        assert_eq!(same, high);

        // new → acknowledged → closed, each recording who, when and why.
        let (acked, was) = s
            .set_alert_state(
                high.id,
                AlertStateChange {
                    state: AlertState::Acknowledged,
                    reason: Some("  looking  ".into()),
                    by: "ana".into(),
                    at: T0 + 5 * DAY,
                },
            )
            .await
            .unwrap();
        assert_eq!(was, AlertState::New);
        assert_eq!(acked.state, AlertState::Acknowledged);
        assert_eq!(acked.state_reason.as_deref(), Some("looking"));
        assert_eq!(acked.state_by.as_deref(), Some("ana"));
        assert_eq!(acked.state_at, Some(T0 + 5 * DAY));
        assert_eq!((acked.count, acked.last_seen), (high.count, high.last_seen));
        let (closed, was) = s
            .set_alert_state(
                high.id,
                closing("false positive: CI job", "bo", T0 + 6 * DAY),
            )
            .await
            .unwrap();
        assert_eq!(was, AlertState::Acknowledged);
        assert_eq!(closed.state, AlertState::Closed);
        assert_eq!(
            closed.state_reason.as_deref(),
            Some("false positive: CI job")
        );
        assert_eq!(closed.state_by.as_deref(), Some("bo"));
        assert_eq!(s.alert(high.id).await.unwrap().unwrap().0, closed);
        // Reopening is allowed; the reason is optional then and replaced.
        let (reopened, was) = s
            .set_alert_state(
                high.id,
                AlertStateChange {
                    state: AlertState::New,
                    reason: None,
                    by: "ana".into(),
                    at: T0 + 7 * DAY,
                },
            )
            .await
            .unwrap();
        assert_eq!((was, reopened.state), (AlertState::Closed, AlertState::New));
        assert_eq!(reopened.state_reason, None);
        s.set_alert_state(crit.id, closing("done", "ana", T0 + 7 * DAY))
            .await
            .unwrap();

        let p = q(AlertQuery {
            state: Some(AlertState::Closed),
            ..Default::default()
        })
        .await;
        assert_eq!(alert_ids(&p), [crit.id]);
        let p = q(AlertQuery {
            state: Some(AlertState::New),
            min_level: Some(AlertLevel::High),
            ..Default::default()
        })
        .await;
        assert_eq!(alert_ids(&p), [high.id]);

        expect_not_found(
            s.set_alert_state(999_999, closing("x", "ana", T0)).await,
            "alert 999999",
        );
        // Survives a reopen of the database.
        let again = env.reopen().await.unwrap();
        assert_eq!(
            again.alert(crit.id).await.unwrap().unwrap().0.state,
            AlertState::Closed
        );
    }

    pub async fn concurrent_alerts_of_one_key(env: Env) {
        let s = env.store.clone();
        const TASKS: i64 = 12;
        const EACH: i64 = 6;
        let who = [("user", "mallory"), ("source_ip", "198.51.100.23")];
        let mut handles = Vec::new();
        for t in 0..TASKS {
            let s = s.clone();
            handles.push(tokio::spawn(async move {
                let mut created = 0;
                for i in 0..EACH {
                    let n = t * EACH + i;
                    let (_, c) = s
                        .raise_alert(new_alert("rule-race", &who, T0 + n, n), 10 * MINUTE)
                        .await
                        .unwrap();
                    created += i64::from(c);
                    // A second key interleaved, to make the tasks contend on more than one.
                    let (_, c2) = s
                        .raise_alert(
                            new_alert("rule-race", &[("user", "trent")], T0 + n, n),
                            10 * MINUTE,
                        )
                        .await
                        .unwrap();
                    created += i64::from(c2);
                }
                created
            }));
        }
        let mut created = 0;
        for h in handles {
            created += h.await.unwrap();
        }
        assert_eq!(created, 2, "exactly one alert made per key");
        let page = s
            .list_alerts(&AlertQuery {
                rule_id: Some("rule-race".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.total, 2);
        for a in &page.items {
            assert_eq!(a.count, TASKS * EACH, "{a:?}");
            assert_eq!(a.event_count, 20);
            assert_eq!((a.first_seen, a.last_seen), (T0, T0 + TASKS * EACH - 1));
        }
        assert_eq!(env.raw_count("SELECT COUNT(*) FROM alert_events").await, 40);
        // Distinct sequence numbers 0..20 per alert (the primary key would refuse duplicates).
        assert_eq!(
            env.raw_count("SELECT COUNT(*) FROM alert_events WHERE seq >= 20 OR seq < 0")
                .await,
            0
        );
    }
}
