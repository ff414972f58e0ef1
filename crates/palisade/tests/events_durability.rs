//! Durability of event ingestion: the real `palisade serve` takes NDJSON batches from several
//! senders at once, is killed with SIGKILL in the middle of it, and is started again on the
//! same data: every event whose batch was acknowledged (HTTP 200) must be found. Events of
//! batches that were not acknowledged may or may not be there.
//!
//! SQLite always (the data directory); PostgreSQL too when `PALISADE_TEST_POSTGRES` names a
//! server (a database created for the test with `psql` and dropped after it).

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Concurrent senders.
const SENDERS: usize = 4;
/// Events per batch.
const BATCH: usize = 40;
/// Acknowledged events before the kill (or [`RUN_BEFORE_KILL`], whichever comes first).
const ACKED_BEFORE_KILL: usize = 3_000;
const RUN_BEFORE_KILL: Duration = Duration::from_secs(20);

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("palisade-durability-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A running `palisade serve`; killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    base: String,
    /// The one-time login link (first start only).
    link: Option<String>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(dir: &Path, database: Option<&str>, first: bool) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_palisade"));
        for var in [
            "NO_COLOR",
            "PALISADE_UPLOAD_URL",
            "PALISADE_TOKEN",
            "PALISADE_ASSET",
            "PALISADE_DATA_DIR",
            "PALISADE_CONFIG",
            "PALISADE_EVENTS_STORE",
        ] {
            cmd.env_remove(var);
        }
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.join("data"));
        if let Some(db) = database {
            cmd.args(["--database", db]);
        }
        let mut child = cmd
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("palisade serve starts");
        let (tx, rx) = mpsc::channel();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&stderr);
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                log.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let mut base = None;
        let mut link = None;
        let deadline = Instant::now() + Duration::from_secs(60);
        while base.is_none() || (first && link.is_none()) {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                panic!(
                    "palisade serve did not start:\n{}",
                    stderr.lock().unwrap().join("\n")
                );
            };
            if let Some(rest) = line.split("listening on ").nth(1) {
                base = Some(rest.split_whitespace().next().unwrap().to_string());
            }
            if line.contains("/login/link/") {
                link = Some(line.trim().to_string());
            }
        }
        Server {
            child,
            base: base.unwrap(),
            link,
            stderr,
        }
    }

    /// SIGKILL (`Child::kill` on Unix): no shutdown code runs.
    fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().unwrap();
        assert!(!status.success(), "killed, not exited: {status}");
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build(),
    )
}

/// Status, `Set-Cookie`, body.
fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, String, String) {
    let mut r = r.expect("the request is answered");
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = r.body_mut().read_to_string().unwrap();
    (r.status().as_u16(), cookie, body)
}

/// Signs in through the login link and creates an analyst API token in the console.
fn analyst_token(s: &Server) -> String {
    let link = s.link.as_deref().expect("a login link on first start");
    let (status, set, _) = answer(agent().get(link).header("Accept", "text/html").call());
    assert_eq!(status, 303, "the login link signs in");
    let cookie = set.split(';').next().unwrap().to_string();
    let (status, _, html) = answer(
        agent()
            .get(&format!("{}/tokens", s.base))
            .header("Accept", "text/html")
            .header("Cookie", &cookie)
            .call(),
    );
    assert_eq!(status, 200, "{html}");
    let marker = "name=\"csrf_token\" value=\"";
    let at = html.find(marker).expect("a form with the CSRF token") + marker.len();
    let csrf = &html[at..at + html[at..].find('"').unwrap()];
    let (status, _, html) = answer(
        agent()
            .post(&format!("{}/tokens", s.base))
            .header("Accept", "text/html")
            .header("Cookie", &cookie)
            .send_form([
                ("csrf_token", csrf),
                ("name", "durability"),
                ("scope", "analyst"),
                ("expires_in_days", "1"),
            ]),
    );
    assert_eq!(status, 201, "{html}");
    let at = html.find("pal_").expect("the token is shown once");
    html[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .collect()
}

/// What the senders saw.
#[derive(Default)]
struct Tally {
    /// Ids of events in batches answered 200.
    acked: Mutex<HashSet<String>>,
    acked_count: AtomicUsize,
    /// Batches answered otherwise (429/503) or not answered (the kill).
    unacked_batches: AtomicUsize,
}

/// Posts batches until `stop` is set or the server stops answering.
fn sender(base: String, token: String, id: usize, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let agent = agent();
    let url = format!("{base}/ingest/json?source=durability");
    let auth = format!("Bearer {token}");
    let mut batch_no = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let ids: Vec<String> = (0..BATCH)
            .map(|i| format!("s{id}-b{batch_no}-e{i}"))
            .collect();
        batch_no += 1;
        let body: String = ids
            .iter()
            .map(|uid| {
                format!("{{\"uid\":\"{uid}\",\"action\":\"durability\",\"msg\":\"sender {id}\"}}\n")
            })
            .collect();
        let sent = agent
            .post(&url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/x-ndjson")
            .send(body.as_bytes());
        let mut r = match sent {
            Ok(r) => r,
            // The server is gone (killed): this batch is not acknowledged.
            Err(_) => {
                tally.unacked_batches.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let status = r.status().as_u16();
        let text = match r.body_mut().read_to_string() {
            Ok(t) => t,
            Err(_) => {
                tally.unacked_batches.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        if status == 200 {
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
            assert_eq!(v["accepted"], BATCH, "{text}");
            tally.acked.lock().unwrap().extend(ids);
            tally.acked_count.fetch_add(BATCH, Ordering::Relaxed);
        } else {
            assert!(matches!(status, 429 | 503), "{status}: {text}");
            tally.unacked_batches.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The `uid` of every stored event of the test's source, paging with the cursor.
fn stored_ids(base: &str, token: &str) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = agent()
            .get(&format!("{base}/api/v1/events"))
            .header("Authorization", &format!("Bearer {token}"))
            .query("q", "source:durability")
            .query("order", "asc")
            .query("limit", "5000");
        if let Some(c) = &cursor {
            req = req.query("cursor", c);
        }
        let (status, _, body) = answer(req.call());
        assert_eq!(status, 200, "{body}");
        let page: Value = serde_json::from_str(&body).unwrap();
        for e in page["events"].as_array().unwrap() {
            let uid = e["fields"]["uid"]
                .as_str()
                .expect("every event has its uid");
            assert!(ids.insert(uid.to_string()), "{uid} is stored once");
        }
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return ids,
        }
    }
}

fn kill_during_ingest_loses_no_acknowledged_event(name: &str, database: Option<&str>) {
    let dir = tempdir(name);
    let mut server = Server::start(&dir, database, true);
    let token = analyst_token(&server);

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let senders: Vec<_> = (0..SENDERS)
        .map(|id| {
            let (base, token) = (server.base.clone(), token.clone());
            let (stop, tally) = (Arc::clone(&stop), Arc::clone(&tally));
            std::thread::spawn(move || sender(base, token, id, stop, tally))
        })
        .collect();
    let started = Instant::now();
    while tally.acked_count.load(Ordering::Relaxed) < ACKED_BEFORE_KILL
        && started.elapsed() < RUN_BEFORE_KILL
    {
        assert!(
            !senders.iter().all(|s| s.is_finished()),
            "the senders stopped before the kill:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Mid-stream: every sender has a batch in flight or about to be.
    server.kill9();
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        s.join().expect("a sender panicked");
    }
    let acked = std::mem::take(&mut *tally.acked.lock().unwrap());
    assert!(
        acked.len() >= BATCH,
        "batches were acknowledged before the kill: {}\n{}",
        acked.len(),
        server.log()
    );
    let cut = tally.unacked_batches.load(Ordering::Relaxed);
    drop(server);

    let server = Server::start(&dir, database, false);
    let stored = stored_ids(&server.base, &token);
    let missing: Vec<&String> = acked.difference(&stored).take(10).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged events are missing after the restart, e.g. {missing:?}",
        acked.difference(&stored).count(),
        acked.len()
    );
    eprintln!(
        "{name}: {} acknowledged events all found; {} stored in all; {cut} batches not acknowledged",
        acked.len(),
        stored.len()
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigkill_during_ingest_loses_no_acknowledged_event_sqlite() {
    kill_during_ingest_loses_no_acknowledged_event("sqlite", None);
}

/// Runs `psql` on `url` with one statement.
fn psql(url: &str, sql: &str) {
    let o = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("psql runs (PALISADE_TEST_POSTGRES is set)");
    assert!(
        o.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `url` with its database replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (head, query) = url.split_once('?').unwrap_or((url, ""));
    let server = match head.rsplit_once('/') {
        Some((server, _)) if server.ends_with('/') => head,
        Some((server, _)) => server,
        None => head,
    };
    let server = server.trim_end_matches('/');
    if query.is_empty() {
        format!("{server}/{db}")
    } else {
        format!("{server}/{db}?{query}")
    }
}

#[test]
fn sigkill_during_ingest_loses_no_acknowledged_event_postgres() {
    let Ok(url) = std::env::var("PALISADE_TEST_POSTGRES") else {
        eprintln!("PostgreSQL skipped (PALISADE_TEST_POSTGRES is not set)");
        return;
    };
    let db = format!("palisade_durability_{}", std::process::id());
    psql(&url, &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
    psql(&url, &format!("CREATE DATABASE {db}"));
    let target = with_database(&url, &db);
    kill_during_ingest_loses_no_acknowledged_event("postgres", Some(&target));
    psql(&url, &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
}

#[test]
fn database_urls() {
    assert_eq!(
        with_database("postgres://u:p@h:5432/test", "x"),
        "postgres://u:p@h:5432/x"
    );
    assert_eq!(
        with_database("postgres://h/test?sslmode=disable", "x"),
        "postgres://h/x?sslmode=disable"
    );
}
