//! Store benchmark: report ingestion (findings/s) and dashboard latency with ~100k findings
//! stored, for one store location (a SQLite path or a `postgres://` URL).
//!
//! ```text
//! cargo run --release -p palisade-store --example bench -- LOCATION [--assets 100]
//!     [--findings 1000] [--calls 50] [--fresh-postgres]
//! ```
//!
//! Three phases, each timed on its own:
//! 1. first ingestion: one report per asset, every finding new (`--assets` × `--findings`);
//! 2. re-ingestion a day later: the same assets rescanned, 95% of the findings unchanged, 5%
//!    gone (fixed) and 5% new, as a daily CI rescan looks;
//! 3. the dashboard (open counts, a 30-day trend, the 10 riskiest assets), `--calls` times, and
//!    the first page of open findings by severity, `--calls` times: right after the load, and
//!    again after the housekeeping a running database does on its own (PostgreSQL: `VACUUM
//!    ANALYZE`, which autovacuum runs within about a minute of a bulk load; SQLite: `ANALYZE`).
//!
//! With `--fresh-postgres`, LOCATION names a server: a database of its own is created for the
//! run and dropped afterwards. The last line is machine-readable (`RESULT key=value …`).

use std::time::{Duration, Instant};

use palisade_store::{
    AssetKind, FindingQuery, FindingStatus, NewFinding, NewReport, Store, StoreError,
};

const DAY: i64 = 86_400_000;

struct Args {
    location: String,
    assets: usize,
    findings: usize,
    calls: usize,
    fresh_postgres: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: bench LOCATION [--assets N] [--findings N] [--calls N] [--fresh-postgres]\n\
         LOCATION: a SQLite file path, or a postgres:// URL"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        location: String::new(),
        assets: 100,
        findings: 1000,
        calls: 50,
        fresh_postgres: false,
    };
    let num = |v: Option<String>| -> usize {
        v.and_then(|s| s.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or_else(|| usage())
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--assets" => a.assets = num(it.next()),
            "--findings" => a.findings = num(it.next()),
            "--calls" => a.calls = num(it.next()),
            "--fresh-postgres" => a.fresh_postgres = true,
            "-h" | "--help" => usage(),
            s if s.starts_with('-') => usage(),
            s if a.location.is_empty() => a.location = s.to_string(),
            _ => usage(),
        }
    }
    if a.location.is_empty() {
        usage();
    }
    a
}

/// A small deterministic generator (SplitMix64), so every run ingests the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const PACKAGES: &[&str] = &[
    "openssl",
    "libssl3",
    "zlib1g",
    "glibc",
    "libc6",
    "curl",
    "libcurl4",
    "busybox",
    "musl",
    "ncurses",
    "libxml2",
    "expat",
    "sqlite",
    "pcre2",
    "krb5",
    "gnutls",
    "log4j-core",
    "jackson-databind",
    "spring-core",
    "netty-codec",
    "lodash",
    "minimist",
    "axios",
    "express",
    "requests",
    "urllib3",
    "django",
    "pyyaml",
    "golang.org/x/net",
    "golang.org/x/crypto",
];
const MISCONFIG_RULES: &[(&str, &str)] = &[
    ("KSV001", "Process can elevate its own privileges"),
    ("KSV003", "Default capabilities not dropped"),
    ("KSV011", "CPU not limited"),
    ("KSV012", "Runs as root user"),
    ("KSV014", "Root file system is not read-only"),
    ("KSV017", "Privileged container"),
    ("KSV020", "Runs with low user ID"),
    ("KSV021", "Runs with low group ID"),
    ("KSV104", "Seccomp policy disabled"),
    (
        "KSV106",
        "Container capabilities must only include NET_BIND_SERVICE",
    ),
];
const SECRET_RULES: &[&str] = &[
    "aws-access-key-id",
    "github-pat",
    "slack-webhook-url",
    "private-key",
    "gcp-service-account",
    "stripe-secret-key",
];

/// A severity with a realistic spread: 3% critical, 17% high, 40% medium, 30% low, 5% info,
/// 5% unknown.
fn severity(rng: &mut Rng) -> &'static str {
    match rng.below(100) {
        0..=2 => "CRITICAL",
        3..=19 => "HIGH",
        20..=59 => "MEDIUM",
        60..=89 => "LOW",
        90..=94 => "INFO",
        _ => "UNKNOWN",
    }
}

/// Finding number `n` of asset `asset`: 80% vulnerabilities, 15% misconfigurations, 5% secrets.
fn make_finding(asset: usize, n: usize) -> NewFinding {
    let mut rng = Rng((asset as u64) << 32 | n as u64);
    let sev = severity(&mut rng);
    let kind = rng.below(100);
    let (scanner, rule_id, title, location, package, installed, fixed) = if kind < 80 {
        let pkg = PACKAGES[rng.below(PACKAGES.len() as u64) as usize];
        let cve = format!("CVE-{}-{}", 2018 + rng.below(7), 1000 + rng.below(49_000));
        let major = rng.below(4);
        let minor = rng.below(20);
        (
            "vulnerability",
            cve.clone(),
            format!("{pkg}: {cve} allows remote attackers to cause a denial of service"),
            format!("usr/lib/x86_64-linux-gnu/{pkg}.so.{major}"),
            Some(pkg.to_string()),
            Some(format!("{major}.{minor}.{}", rng.below(10))),
            (rng.below(3) > 0).then(|| format!("{major}.{}.0", minor + 1)),
        )
    } else if kind < 95 {
        let (rule, title) = MISCONFIG_RULES[rng.below(MISCONFIG_RULES.len() as u64) as usize];
        (
            "kubernetes",
            rule.to_string(),
            title.to_string(),
            format!(
                "deploy/app-{}/deployment.yaml:{}",
                n % 37,
                10 + rng.below(200)
            ),
            None,
            None,
            None,
        )
    } else {
        let rule = SECRET_RULES[rng.below(SECRET_RULES.len() as u64) as usize];
        (
            "secret",
            rule.to_string(),
            format!("{rule} found in source"),
            format!("src/config/settings_{}.py:{}", n % 53, 1 + rng.below(400)),
            None,
            None,
            None,
        )
    };
    let fingerprint = format!(
        "{:016x}{:016x}",
        Rng(asset as u64).next(),
        Rng(n as u64 + 7).next()
    );
    let raw = serde_json::json!({
        "ruleId": rule_id,
        "severity": sev,
        "title": title,
        "location": location,
        "package": package,
        "installedVersion": installed,
        "fixedVersion": fixed,
        "references": [format!("https://avd.example/{rule_id}")],
    });
    NewFinding {
        fingerprint,
        rule_id,
        scanner: scanner.into(),
        severity: sev.into(),
        message: format!("{title} (asset {asset})"),
        title,
        location,
        package,
        installed_version: installed,
        fixed_version: fixed,
        raw,
    }
}

/// The report of `asset` on scan `day`: on the second scan, findings 0..5% are gone and as many
/// new ones (numbered past the first scan's) appear.
fn make_report(asset: usize, per_asset: usize, day: usize, at: i64) -> NewReport {
    let churn = per_asset / 20;
    let range = if day == 0 {
        0..per_asset
    } else {
        churn..per_asset + churn
    };
    let findings: Vec<NewFinding> = range.map(|n| make_finding(asset, n)).collect();
    let (kind, key, name) = match asset % 3 {
        0 => (
            AssetKind::Image,
            format!(
                "image:sha256:{:064x}",
                asset as u128 * 0x9E37_79B9_7F4A_7C15
            ),
            format!(
                "registry.example/team-{}/service-{asset}:1.{day}",
                asset % 7
            ),
        ),
        1 => (
            AssetKind::Workload,
            format!("workload:prod-{}/Deployment/service-{asset}", asset % 5),
            format!("service-{asset}"),
        ),
        _ => (
            AssetKind::Repository,
            format!("repository:github.com/example/service-{asset}"),
            format!("github.com/example/service-{asset}"),
        ),
    };
    NewReport {
        received_at: at,
        format: "palisade-json".into(),
        scanners: vec!["vulnerability".into(), "kubernetes".into(), "secret".into()],
        asset_kind: kind,
        asset_key: key,
        asset_name: name,
        uploaded_by: "token:ci".into(),
        size: (findings.len() * 600) as i64,
        sbom: None,
        findings,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn pg_admin(url: &str) -> tokio_postgres::Client {
    let plain = url.split_once('?').map_or(url, |(b, _)| b);
    let (client, conn) = tokio_postgres::connect(plain, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| {
            eprintln!("bench: cannot connect to PostgreSQL: {e}");
            std::process::exit(1)
        });
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

fn with_database(url: &str, db: &str) -> String {
    let base = url.split_once('?').map_or(url, |(b, _)| b);
    let host_start = base.find("://").map_or(0, |i| i + 3);
    match base[host_start..].find('/') {
        Some(p) => format!("{}/{db}", &base[..host_start + p]),
        None => format!("{base}/{db}"),
    }
}

async fn timed<T>(f: impl std::future::Future<Output = Result<T, StoreError>>) -> (T, Duration) {
    let t = Instant::now();
    let v = f.await.unwrap_or_else(|e| {
        eprintln!("bench: {e}");
        std::process::exit(1)
    });
    (v, t.elapsed())
}

async fn run(store: &dyn Store, a: &Args, location: &str) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let day1 = now - DAY;

    // Phase 1: first ingestion. Reports are built before the clock starts.
    let mut total = std::time::Duration::ZERO;
    let mut findings = 0usize;
    let mut slowest = Duration::ZERO;
    for asset in 0..a.assets {
        let r = make_report(asset, a.findings, 0, day1 + asset as i64);
        findings += r.findings.len();
        let (out, took) = timed(store.apply_report(r)).await;
        assert_eq!(out.new as usize, a.findings);
        total += took;
        slowest = slowest.max(took);
    }
    let ingest_fps = findings as f64 / total.as_secs_f64();
    println!(
        "{}: first ingestion: {findings} findings in {} reports, {:.2} s, {:.0} findings/s (slowest report {:.0} ms)",
        store.backend(),
        a.assets,
        total.as_secs_f64(),
        ingest_fps,
        ms(slowest)
    );

    // Phase 2: the daily rescan.
    let mut total = std::time::Duration::ZERO;
    let mut refindings = 0usize;
    let mut fixed = 0i64;
    for asset in 0..a.assets {
        let r = make_report(asset, a.findings, 1, now - 60_000 + asset as i64);
        refindings += r.findings.len();
        let (out, took) = timed(store.apply_report(r)).await;
        fixed += out.fixed;
        total += took;
    }
    let reingest_fps = refindings as f64 / total.as_secs_f64();
    println!(
        "{}: re-ingestion: {refindings} findings ({fixed} fixed) in {} reports, {:.2} s, {:.0} findings/s",
        store.backend(),
        a.assets,
        total.as_secs_f64(),
        reingest_fps
    );

    // Phase 3: reads, with the ledger holding first + churned findings.
    let (d, _) = timed(store.dashboard(now, 30, 10)).await;
    println!(
        "{}: stored: {} assets, {} reports, {} open findings ({} fixed in 30 days)",
        store.backend(),
        d.assets,
        d.reports,
        d.open.total(),
        d.fixed_30d
    );
    // Right after the bulk load, then again once the database has done its housekeeping
    // (PostgreSQL: VACUUM ANALYZE, which autovacuum does within about a minute; SQLite: ANALYZE).
    let fresh = reads(store, a, now).await;
    let took = maintain(location, store.backend()).await;
    println!(
        "{}: maintenance ({}) took {:.2} s",
        store.backend(),
        if store.backend() == "postgres" {
            "VACUUM ANALYZE"
        } else {
            "ANALYZE"
        },
        took.as_secs_f64()
    );
    let settled = reads(store, a, now).await;
    for (label, r) in [
        ("right after ingestion", &fresh),
        ("after maintenance", &settled),
    ] {
        println!(
            "{}: {label}: dashboard (30-day trend, top 10), {} calls: median {:.2} ms, p99 {:.2} ms",
            store.backend(),
            a.calls,
            r.dash_p50,
            r.dash_p99
        );
        println!(
            "{}: {label}: open findings page (50, by severity, with total), {} calls: median {:.2} ms, p99 {:.2} ms",
            store.backend(),
            a.calls,
            r.page_p50,
            r.page_p99
        );
    }
    println!(
        "RESULT backend={} findings={findings} ingest_fps={ingest_fps:.0} reingest_fps={reingest_fps:.0} \
         dashboard_p50_ms={:.3} dashboard_p99_ms={:.3} page_p50_ms={:.3} page_p99_ms={:.3} \
         fresh_dashboard_p50_ms={:.3} fresh_dashboard_p99_ms={:.3} fresh_page_p50_ms={:.3} fresh_page_p99_ms={:.3}",
        store.backend(),
        settled.dash_p50,
        settled.dash_p99,
        settled.page_p50,
        settled.page_p99,
        fresh.dash_p50,
        fresh.dash_p99,
        fresh.page_p50,
        fresh.page_p99,
    );
}

struct Reads {
    dash_p50: f64,
    dash_p99: f64,
    page_p50: f64,
    page_p99: f64,
}

async fn reads(store: &dyn Store, a: &Args, now: i64) -> Reads {
    let mut dash = Vec::with_capacity(a.calls);
    for _ in 0..a.calls {
        let (_, took) = timed(store.dashboard(now, 30, 10)).await;
        dash.push(took);
    }
    dash.sort();
    let query = FindingQuery {
        status: Some(FindingStatus::Open),
        limit: 50,
        ..Default::default()
    };
    let mut page = Vec::with_capacity(a.calls);
    for _ in 0..a.calls {
        let (_, took) = timed(store.list_findings(&query)).await;
        page.push(took);
    }
    page.sort();
    Reads {
        dash_p50: ms(percentile(&dash, 50.0)),
        dash_p99: ms(percentile(&dash, 99.0)),
        page_p50: ms(percentile(&page, 50.0)),
        page_p99: ms(percentile(&page, 99.0)),
    }
}

/// The housekeeping a running installation gets on its own, done now.
async fn maintain(location: &str, backend: &str) -> Duration {
    let t = Instant::now();
    if backend == "postgres" {
        let client = pg_admin(location).await;
        client
            .simple_query("VACUUM ANALYZE")
            .await
            .unwrap_or_else(|e| {
                eprintln!("bench: VACUUM ANALYZE: {e}");
                std::process::exit(1)
            });
    } else {
        let path = location.to_string();
        tokio::task::spawn_blocking(move || {
            let conn = rusqlite::Connection::open(&path)?;
            conn.busy_timeout(Duration::from_secs(30))?;
            conn.execute_batch("ANALYZE")
        })
        .await
        .unwrap()
        .unwrap_or_else(|e| {
            eprintln!("bench: ANALYZE: {e}");
            std::process::exit(1)
        });
    }
    t.elapsed()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let a = parse_args();
    let is_pg = a.location.starts_with("postgres://") || a.location.starts_with("postgresql://");
    if a.fresh_postgres && !is_pg {
        eprintln!("bench: --fresh-postgres needs a postgres:// URL");
        std::process::exit(2);
    }
    let mut fresh: Option<(tokio_postgres::Client, String)> = None;
    let location = if a.fresh_postgres {
        let admin = pg_admin(&a.location).await;
        let db = format!("palisade_bench_{}", std::process::id());
        admin
            .simple_query(&format!(
                "CREATE DATABASE \"{db}\" TEMPLATE template0 ENCODING 'UTF8'"
            ))
            .await
            .unwrap_or_else(|e| {
                eprintln!("bench: CREATE DATABASE {db}: {e}");
                std::process::exit(1)
            });
        let url = with_database(&a.location, &db);
        fresh = Some((admin, db));
        url
    } else {
        a.location.clone()
    };

    let store = palisade_store::open(&location).await.unwrap_or_else(|e| {
        eprintln!("bench: cannot open the store: {e}");
        std::process::exit(1)
    });
    run(store.as_ref(), &a, &location).await;
    drop(store);

    if let Some((admin, db)) = fresh {
        let _ = admin
            .simple_query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
            .await;
    }
}
