//! Event store benchmark: sustained append of a realistic mix, then search latency.
//!
//! ```text
//! cargo run --release -p palisade-siem --example ingest_bench -- LOCATION [options]
//!   LOCATION            a SQLite file path (created; must not exist) or a postgres:// URL
//!   --fresh-postgres    create a fresh database on the server LOCATION names, drop it after
//!   --events N          events to append (default 1,000,000)
//!   --batch N           events per append call (default 1,000)
//!   --senders N         concurrent append tasks (default 2)
//!   --k8s PERCENT       share of Kubernetes audit events, the rest syslog (default 50)
//!   --days N            days the event times spread over (default 7)
//!   --runs N            runs of each search (default 5)
//!   --no-search         append only
//!   --pregenerate       build every event before the clock starts (needs memory: ~6 GB per
//!                       million); the figures are then the store's alone
//!   --pregenerate-raw   build what the sources receive before the clock starts: per batch,
//!                       the audit events as one EventList body (the webhook backend's batch
//!                       mode) and the syslog lines as one stream; the senders parse them with
//!                       the real parsers and append, as the sources do: the figures are
//!                       parsing and the store on the same cores
//!   --parse-only        time the real parsers alone, one thread, on every event's raw text
//!                       (no store): microseconds per event of each kind
//! ```
//!
//! Events are generated on a separate thread into a bounded queue, so the generator's CPU is
//! measured on its own first and reported; the store's CPU is the process total minus it.
//! Prints one `RESULT key=value …` line for bench/events.sh.

/// The allocator the `palisade` binary uses, so that this measures what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use palisade_core::rng::XorShift as Rng;
use palisade_siem::event::{Event, Nanos};
use palisade_siem::parse::{self, Kind, ParseOptions};
use palisade_siem::query::{self, Query};
use palisade_siem::store::{self, DAY, Order, Search};
use serde_json::json;

const USERS: [&str; 8] = [
    "alice",
    "bob",
    "carol",
    "system:serviceaccount:kube-system:replicaset-controller",
    "system:kube-scheduler",
    "dave",
    "system:node:worker-1",
    "eve",
];
const VERBS: [&str; 7] = [
    "get", "list", "watch", "create", "update", "patch", "delete",
];
const RESOURCES: [&str; 6] = [
    "pods",
    "secrets",
    "configmaps",
    "deployments",
    "leases",
    "serviceaccounts",
];
const NAMESPACES: [&str; 5] = ["default", "kube-system", "prod", "staging", "monitoring"];

/// RFC 3339 UTC text of a time, with `digits` (3 or 6) of fraction.
fn stamp(t: Nanos, digits: u32) -> String {
    let secs = t.div_euclid(1_000_000_000);
    let frac = t.rem_euclid(1_000_000_000) / 10i64.pow(9 - digits);
    let whole = palisade_core::time::rfc3339(secs);
    format!(
        "{}.{frac:0width$}Z",
        whole.trim_end_matches('Z'),
        width = digits as usize
    )
}

/// A Kubernetes audit event of about 1.5 KB.
fn k8s(rng: &mut Rng, time: Nanos, n: u64) -> Event {
    let user = *rng.pick(&USERS);
    let verb = *rng.pick(&VERBS);
    let resource = *rng.pick(&RESOURCES);
    let ns = *rng.pick(&NAMESPACES);
    let name = format!("{resource}-{}", rng.next_u64() % 5000);
    let code = if rng.next_u64().is_multiple_of(20) {
        403
    } else {
        200
    };
    let ip = format!(
        "10.{}.{}.{}",
        rng.next_u64() % 4,
        rng.next_u64() % 256,
        rng.next_u64() % 256
    );
    let uri = format!("/api/v1/namespaces/{ns}/{resource}/{name}");
    let fields = json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": format!("{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}", rng.next_u64() as u32, n % 65536, rng.next_u64() % 4096, rng.next_u64() % 4096, rng.next_u64() % (1 << 48)),
        "stage": "ResponseComplete",
        "requestURI": uri,
        "verb": verb,
        "user": {
            "username": user,
            "uid": format!("{:x}", rng.next_u64()),
            "groups": ["system:authenticated", if user.starts_with("system:") { "system:serviceaccounts" } else { "developers" }],
            "extra": {"authentication.kubernetes.io/pod-name": [format!("client-{}", rng.next_u64() % 100)]}
        },
        "sourceIPs": [ip],
        "userAgent": "kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/system:serviceaccount:kube-system:generic-garbage-collector",
        "requestObject": {"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1", "propagationPolicy": "Background", "preconditions": {"uid": format!("{:x}-{:x}", rng.next_u64(), rng.next_u64())}},
        "objectRef": {"resource": resource, "namespace": ns, "name": name, "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": stamp(time - 4_000_000, 6),
        "stageTimestamp": stamp(time, 6),
        "annotations": {
            "authorization.k8s.io/decision": if code == 403 { "forbid" } else { "allow" },
            "authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding \"system:controller:replicaset-controller\" of ClusterRole \"system:controller:replicaset-controller\" to ServiceAccount \"replicaset-controller/kube-system\"",
            "pod-security.kubernetes.io/enforce-policy": "restricted:latest",
            "apiserver.latency.k8s.io/etcd": "1.887214ms",
            "apiserver.latency.k8s.io/total": "4.1037ms"
        }
    });
    // Through the real parser, as the audit webhook source does: the event is what the
    // store gets in production (normalised fields, `fields_from_raw`).
    let raw = fields.to_string();
    let mut events = parse::parse(
        Kind::K8sAudit,
        raw.as_bytes(),
        &ParseOptions::new("k8s-audit", time + 2_000_000),
    );
    assert!(events.len() == 1 && events[0].parse_error.is_none());
    events.remove(0)
}

/// A syslog line of about 200 bytes.
fn syslog(rng: &mut Rng, time: Nanos) -> Event {
    let host = format!("web-{}", rng.next_u64() % 50);
    let ip = format!("203.0.113.{}", rng.next_u64() % 256);
    let (app, msg, outcome) = match rng.next_u64() % 4 {
        0 => (
            "sshd",
            format!(
                "Failed password for invalid user admin from {ip} port {} ssh2",
                rng.next_u64() % 65536
            ),
            "failure",
        ),
        1 => (
            "sshd",
            format!(
                "Accepted publickey for deploy from {ip} port {} ssh2: ED25519 SHA256:{:x}",
                rng.next_u64() % 65536,
                rng.next_u64()
            ),
            "success",
        ),
        2 => (
            "sudo",
            "deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx".to_string(),
            "success",
        ),
        _ => (
            "kernel",
            format!(
                "[UFW BLOCK] IN=eth0 OUT= SRC={ip} DST=10.0.0.5 PROTO=TCP DPT={}",
                rng.next_u64() % 1024
            ),
            "failure",
        ),
    };
    let pid = rng.next_u64() % 30000;
    let raw = format!(
        "<38>1 {} {host}.prod.example.com {app} {pid} - [meta sequenceId=\"{}\"] {msg}",
        stamp(time, 3),
        rng.next_u64() % 1_000_000
    );
    // Built by hand rather than by the syslog parser, to keep the normalised fields the
    // searches below expect (the parser does not read addresses out of the message). The
    // store always writes `fields` for syslog, whoever builds the event.
    Event {
        time,
        received: time + 1_000_000,
        source: "syslog".into(),
        kind: "syslog".into(),
        host: Some(host.clone()),
        user: None,
        action: Some(app.into()),
        object: None,
        outcome: Some(outcome.into()),
        source_ip: Some(ip),
        fields: json!({"hostname": host, "appname": app, "procid": pid.to_string(), "msg": msg, "facility": 4, "severity": 6}),
        raw,
        parse_error: None,
        truncated: false,
        fields_from_raw: false,
    }
}

struct Args {
    location: String,
    fresh_postgres: bool,
    events: u64,
    batch: usize,
    senders: usize,
    k8s: u64,
    days: i64,
    runs: usize,
    search: bool,
    pregenerate: bool,
    pregenerate_raw: bool,
    parse_only: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        location: String::new(),
        fresh_postgres: false,
        events: 1_000_000,
        batch: 1000,
        senders: 2,
        k8s: 50,
        days: 7,
        runs: 5,
        search: true,
        pregenerate: false,
        pregenerate_raw: false,
        parse_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            it.next()
                .and_then(|v| v.replace([',', '_'], "").parse().ok())
                .ok_or(format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--fresh-postgres" => a.fresh_postgres = true,
            "--no-search" => a.search = false,
            "--pregenerate" => a.pregenerate = true,
            "--pregenerate-raw" => a.pregenerate_raw = true,
            "--parse-only" => a.parse_only = true,
            "--events" => a.events = num("--events")?,
            "--batch" => a.batch = num("--batch")?.max(1) as usize,
            "--senders" => a.senders = num("--senders")?.max(1) as usize,
            "--k8s" => a.k8s = num("--k8s")?.min(100),
            "--days" => a.days = num("--days")?.max(1) as i64,
            "--runs" => a.runs = num("--runs")?.max(1) as usize,
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            s => a.location = s.to_string(),
        }
    }
    if a.location.is_empty() {
        return Err("usage: ingest_bench LOCATION [--fresh-postgres] [--events N] [--batch N] [--senders N] [--k8s PERCENT] [--days N] [--runs N]".into());
    }
    Ok(a)
}

/// User + system CPU seconds of this process so far.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

/// Peak resident memory in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// What the sources receive of a batch of generated events: the audit events as one
/// `EventList` (what the API server's webhook backend posts in batch mode) and the syslog
/// lines as one stream, each carried as the raw text of an event with nothing else set, to be
/// parsed by [`reparse`]. Received when the batch's last event was.
fn bodies(batch: Vec<Event>) -> Vec<Event> {
    let received = batch.iter().map(|e| e.received).max().unwrap_or(0);
    let mut list = String::from(
        r#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":["#,
    );
    let mut lines = String::new();
    let mut template = [None, None];
    for e in batch {
        if e.kind == "syslog" {
            lines.push_str(&e.raw);
            lines.push('\n');
            template[1].get_or_insert(e);
        } else {
            if template[0].is_some() {
                list.push(',');
            }
            list.push_str(&e.raw);
            template[0].get_or_insert(e);
        }
    }
    list.push_str("]}");
    let mut out = Vec::new();
    for (e, text) in template.into_iter().zip([list, lines]) {
        if let Some(mut e) = e {
            e.raw = text;
            e.received = received;
            e.fields = serde_json::Value::Null;
            out.push(e);
        }
    }
    out
}

/// The events a source makes of a generated event's raw text (or of a body of [`bodies`]),
/// with the real parser of its kind.
fn reparse(e: &Event) -> Vec<Event> {
    let kind = if e.kind == "syslog" {
        Kind::Syslog
    } else {
        Kind::K8sAudit
    };
    parse::parse_text(
        kind,
        e.raw.as_bytes(),
        &ParseOptions::new(&e.source, e.received),
    )
}

/// Batches of generated events, in time order.
fn generate(a: &Args, mut emit: impl FnMut(Vec<Event>) -> bool) {
    let start: Nanos = 20_777 * DAY; // 2026-11-20
    let step = (a.days * DAY) / a.events.max(1) as i64;
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let mut batch = Vec::with_capacity(a.batch);
    for n in 0..a.events {
        let t = start + n as i64 * step;
        let e = if rng.next_u64() % 100 < a.k8s {
            k8s(&mut rng, t, n)
        } else {
            syslog(&mut rng, t)
        };
        batch.push(e);
        if batch.len() == a.batch
            && !emit(std::mem::replace(&mut batch, Vec::with_capacity(a.batch)))
        {
            return;
        }
    }
    if !batch.is_empty() {
        emit(batch);
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("ingest_bench: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let a = parse_args()?;
    let mut location = a.location.clone();
    let mut cleanup: Option<(tokio_postgres::Client, String)> = None;
    if a.fresh_postgres {
        let (client, conn) = tokio_postgres::connect(&a.location, tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        tokio::spawn(conn);
        let db = format!("siem_bench_{}", std::process::id());
        client
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .await
            .map_err(|e| format!("create database: {e}"))?;
        let (head, _) = a.location.split_once('?').unwrap_or((&a.location, ""));
        let (server, _) = head.rsplit_once('/').ok_or("no database in the URL")?;
        location = format!("{server}/{db}");
        cleanup = Some((client, db));
    }
    let r = bench(&a, &location).await;
    if let Some((client, db)) = cleanup {
        let _ = client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            .await;
    }
    r
}

/// `--parse-only`: each kind's raw texts through its real parser on this thread, timed.
fn parse_only(a: &Args) {
    let mut by_kind: std::collections::BTreeMap<String, Vec<Event>> = Default::default();
    generate(a, |b| {
        for mut e in b.clone() {
            e.fields = serde_json::Value::Null;
            by_kind.entry(e.kind.clone()).or_default().push(e);
        }
        for body in bodies(b) {
            by_kind
                .entry(format!("{} bodies", body.kind))
                .or_default()
                .push(body);
        }
        true
    });
    for (kind, events) in &by_kind {
        let bytes: usize = events.iter().map(|e| e.raw.len()).sum();
        let t = Instant::now();
        let mut parsed = 0usize;
        for e in events {
            parsed += std::hint::black_box(reparse(e)).len();
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "parse {kind}: {parsed} events ({:.0} B on average) in {secs:.2}s = {:.2} us per event, {:.0} events/s on one core",
            bytes as f64 / parsed.max(1) as f64,
            secs * 1e6 / parsed.max(1) as f64,
            parsed as f64 / secs
        );
    }
}

async fn bench(a: &Args, location: &str) -> Result<(), String> {
    if a.parse_only {
        parse_only(a);
        return Ok(());
    }
    // 1. The generator alone: its CPU is not the store's.
    let gen_cpu0 = cpu_seconds();
    let gen_t0 = Instant::now();
    let mut bytes = 0u64;
    let mut count = 0u64;
    generate(a, |b| {
        count += b.len() as u64;
        bytes += b.iter().map(|e| e.raw.len() as u64).sum::<u64>();
        true
    });
    let gen_cpu = cpu_seconds() - gen_cpu0;
    let gen_wall = gen_t0.elapsed();
    println!(
        "generator: {count} events ({:.0} B raw on average) in {:.2}s, {:.3} CPU s per 10k",
        bytes as f64 / count.max(1) as f64,
        gen_wall.as_secs_f64(),
        gen_cpu * 10_000.0 / count.max(1) as f64
    );

    // 2. Sustained append.
    let s = store::open(location).await.map_err(|e| e.to_string())?;
    println!(
        "backend: {} at {}",
        s.backend(),
        location.split('@').next_back().unwrap_or("")
    );
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<Event>>(a.senders * 2);
    let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let gen_args = Args {
        location: String::new(),
        fresh_postgres: false,
        ..*a
    };
    // With --pregenerate the events are built before the clock starts, so only the store
    // (and the hand-over to it) is measured.
    let ready: Option<Vec<Vec<Event>>> = (a.pregenerate || a.pregenerate_raw).then(|| {
        let mut all = Vec::new();
        generate(&gen_args, |mut b| {
            if a.pregenerate_raw {
                b = bodies(b);
            }
            all.push(b);
            true
        });
        all
    });
    let (cpu0, t0) = if ready.is_some() {
        (cpu_seconds(), Instant::now())
    } else {
        (cpu0, t0)
    };
    let producer = std::thread::spawn(move || match ready {
        Some(all) => {
            for b in all {
                if tx.blocking_send(b).is_err() {
                    break;
                }
            }
        }
        None => generate(&gen_args, |b| tx.blocking_send(b).is_ok()),
    });
    let raw = a.pregenerate_raw;
    let mut senders = Vec::new();
    for _ in 0..a.senders {
        let rx = rx.clone();
        let s = s.clone();
        senders.push(tokio::spawn(async move {
            let mut worst = Duration::ZERO;
            loop {
                let batch = rx.lock().await.recv().await;
                let Some(mut batch) = batch else { break };
                let t = Instant::now();
                if raw {
                    batch = batch.iter().flat_map(reparse).collect();
                }
                s.append(&batch).await.map_err(|e| e.to_string())?;
                worst = worst.max(t.elapsed());
            }
            Ok::<Duration, String>(worst)
        }));
    }
    let mut worst = Duration::ZERO;
    for h in senders {
        worst = worst.max(h.await.map_err(|e| e.to_string())??);
    }
    producer.join().map_err(|_| "the generator panicked")?;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let eps = count as f64 / wall;
    let store_cpu = if a.pregenerate || a.pregenerate_raw {
        cpu
    } else {
        (cpu - gen_cpu).max(0.0)
    };
    println!(
        "append: {count} events in {wall:.2}s = {eps:.0} events/s ({:.1} MB/s raw); CPU {cpu:.2}s total = {:.3} s per 10k events ({:.3} without the generator); slowest batch {:.1} ms; peak RSS {:.0} MiB",
        bytes as f64 / wall / 1e6,
        cpu * 10_000.0 / count as f64,
        store_cpu * 10_000.0 / count as f64,
        worst.as_secs_f64() * 1000.0,
        peak_rss_mib()
    );
    let parts = s.partitions().await.map_err(|e| e.to_string())?;
    println!(
        "partitions: {} ({} events, {:.0} MB raw+fields)",
        parts.len(),
        parts.iter().map(|p| p.events).sum::<u64>(),
        parts.iter().map(|p| p.bytes).sum::<u64>() as f64 / 1e6
    );

    if !a.search {
        println!(
            "RESULT backend={} events={count} eps={eps:.0} cpu_per_10k={:.3} store_cpu_per_10k={:.3} peak_rss_mib={:.0}",
            s.backend(),
            cpu * 10_000.0 / count as f64,
            store_cpu * 10_000.0 / count as f64,
            peak_rss_mib()
        );
        return Ok(());
    }
    // 3. Search latency over the whole range, then over the last hour.
    let from: Nanos = 20_777 * DAY;
    let to = from + a.days * DAY;
    let searches = [
        ("all, newest 100", ""),
        ("user:alice", "user:alice"),
        (
            "verb:delete objectRef.resource:secrets",
            "verb:delete objectRef.resource:secrets",
        ),
        ("responseStatus.code:403", "responseStatus.code:403"),
        ("user.groups:developers (array)", "user.groups:developers"),
        (
            "requestURI:/api/v1/namespaces/prod/secrets*",
            "requestURI:/api/v1/namespaces/prod/secrets*",
        ),
        ("\"Failed password\" (text)", "\"Failed password\""),
        (
            "NOT outcome:success AND host:web-1*",
            "NOT outcome:success AND host:web-1*",
        ),
        ("rare: user:mallory (no match)", "user:mallory"),
        ("rare: verb:impersonate (no match)", "verb:impersonate"),
        ("rare: source_ip:10.3.200.17", "source_ip:10.3.200.17"),
    ];
    let mut results = Vec::new();
    for (label, text) in searches {
        let q = query::parse(text).map_err(|e| e.to_string())?;
        for (range_label, f, count) in [
            ("all days, count", from, true),
            ("all days, no count", from, false),
            ("last hour", to - 3_600_000_000_000, true),
        ] {
            let mut times = Vec::new();
            let mut last = None;
            for _ in 0..a.runs {
                let mut search = Search::new(&q, f, to);
                search.count = count;
                search.order = Order::Desc;
                let t = Instant::now();
                let r = s.search(&search).await.map_err(|e| e.to_string())?;
                times.push(t.elapsed());
                last = Some(r);
            }
            times.sort();
            let r = last.ok_or("no run")?;
            println!(
                "search {label:<45} {range_label:<19} median {:>8.1} ms  min {:>8.1} ms  ({} hits, total {}{})",
                times[times.len() / 2].as_secs_f64() * 1000.0,
                times[0].as_secs_f64() * 1000.0,
                r.events.len(),
                r.total,
                if r.total_exact { "" } else { "+" }
            );
            results.push((label, range_label, times[times.len() / 2]));
        }
    }
    for (label, text) in [
        ("histogram all, 168 buckets", ""),
        ("histogram verb:delete, 168 buckets", "verb:delete"),
        (
            "histogram verb:delete objectRef.resource:secrets, 168 buckets",
            "verb:delete objectRef.resource:secrets",
        ),
    ] {
        let q: Query = query::parse(text).map_err(|e| e.to_string())?;
        let mut times = Vec::new();
        for _ in 0..a.runs {
            let t = Instant::now();
            let h = s
                .histogram(&q, from, to, 168)
                .await
                .map_err(|e| e.to_string())?;
            times.push(t.elapsed());
            std::hint::black_box(h);
        }
        times.sort();
        println!(
            "{label:<70} median {:>8.1} ms",
            times[times.len() / 2].as_secs_f64() * 1000.0
        );
    }
    println!(
        "RESULT backend={} events={count} eps={eps:.0} cpu_per_10k={:.3} store_cpu_per_10k={:.3} peak_rss_mib={:.0}",
        s.backend(),
        cpu * 10_000.0 / count as f64,
        store_cpu * 10_000.0 / count as f64,
        peak_rss_mib()
    );
    Ok(())
}
