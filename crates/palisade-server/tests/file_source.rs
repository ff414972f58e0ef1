//! Followed files of `palisade serve` (`[[server.file]]`, `platform::sources::file`): lines
//! written in pieces, logrotate's rename-and-create and copytruncate, rotation while the
//! server is down, restarts, an oversized line, a store that falls behind. Every line is
//! checked in the event store exactly once. SQLite only: following does not depend on the
//! backend.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use palisade_server::platform::config::{ConfigFile, FileSource, Overrides, StartAt};
use palisade_server::platform::{self, RunningPlatform, ServeOptions, Settings};
use palisade_siem::Event;
use palisade_siem::parse::{Kind, TRUNCATION_MARKER};
use palisade_siem::store::{self, EventStore, Order, Search};

const DAY_NS: i64 = 86_400_000_000_000;

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = std::env::temp_dir().join(format!(
        "palisade-file-{name}-{}-{nanos:x}",
        std::process::id()
    ));
    std::fs::create_dir_all(d.join("logs")).unwrap();
    d
}

fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

struct Srv {
    running: Option<RunningPlatform>,
    dir: PathBuf,
    files: Vec<FileSource>,
    events: EventStore,
    rt: tokio::runtime::Runtime,
}

impl Srv {
    fn start(dir: PathBuf, files: Vec<FileSource>) -> Srv {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let location = dir.join("data/events.db").display().to_string();
        let running = Srv::run(&dir, &files);
        let events = rt.block_on(store::open(&location)).unwrap();
        Srv {
            running: Some(running),
            dir,
            files,
            events,
            rt,
        }
    }

    fn run(dir: &Path, files: &[FileSource]) -> RunningPlatform {
        let data = dir.join("data");
        let mut settings = Settings::for_database(
            "127.0.0.1:0".parse().unwrap(),
            &data.join("palisade.db").display().to_string(),
            &data,
        );
        settings.files = files.to_vec();
        platform::start(ServeOptions {
            settings,
            worker_threads: 2,
            handle_signals: false,
            log: std::env::var_os("PALISADE_TEST_LOG").is_some(),
        })
        .unwrap_or_else(|e| panic!("the server does not start: {e}"))
    }

    fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown();
        }
    }

    fn restart(&mut self) {
        self.stop();
        self.running = Some(Srv::run(&self.dir, &self.files));
    }

    fn search(&self, q: &str) -> Vec<Event> {
        let query = palisade_siem::query::parse(q).unwrap();
        let mut s = Search::new(&query, 0, now_nanos() + 2 * DAY_NS);
        s.limit = 10_000;
        s.order = Order::Asc;
        let r = self.rt.block_on(self.events.search(&s)).unwrap();
        r.events.into_iter().map(|h| h.event).collect()
    }

    /// The events of `source` once there are `n` (waits up to 20 s, then fails naming what
    /// it has); checks that no more arrive.
    fn wait_for(&self, source: &str, n: usize) -> Vec<Event> {
        let q = format!("source:{source}");
        let started = Instant::now();
        loop {
            let got = self.search(&q);
            if got.len() == n {
                std::thread::sleep(Duration::from_millis(400));
                let again = self.search(&q);
                assert_eq!(again.len(), n, "{q}: {:#?}", numbers(&again));
                return again;
            }
            assert!(got.len() < n, "{q}: more than {n}: {:?}", numbers(&got));
            if started.elapsed() > Duration::from_secs(20) {
                panic!(
                    "{q}: {} of {n} events after 20 s: {:?}",
                    got.len(),
                    numbers(&got)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Srv {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn source(path: &Path, name: &str, start_at: StartAt) -> FileSource {
    let mut f = FileSource::new(path, Kind::Json);
    f.source = name.to_string();
    f.start_at = start_at;
    f.poll_interval = Duration::from_millis(20);
    f.max_line_bytes = 1024;
    f
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn lines(range: std::ops::Range<u32>) -> String {
    range
        .map(|n| format!("{{\"msg\":\"line {n}\",\"n\":{n}}}\n"))
        .collect()
}

/// The `n` of each event, in store order (parse errors as -1).
fn numbers(events: &[Event]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e.fields["n"].as_i64().unwrap_or(-1))
        .collect()
}

/// Every number of `0..n` exactly once.
fn assert_each_once(events: &[Event], n: u32) {
    let mut got = numbers(events);
    got.sort_unstable();
    let want: Vec<i64> = (0..i64::from(n)).collect();
    assert_eq!(got, want);
}

#[test]
fn rotation_truncation_and_restarts_lose_and_repeat_nothing() {
    let dir = temp_dir("rotate");
    let log = dir.join("logs/app.log");
    let tail_only = dir.join("logs/tail.log");
    let late = dir.join("logs/late.log");
    // Before the first start: read from the beginning, or only what comes next.
    append(&log, &lines(0..5));
    append(&tail_only, "{\"n\":-100}\n");
    let mut srv = Srv::start(
        dir.clone(),
        vec![
            source(&log, "app", StartAt::Beginning),
            source(&tail_only, "tail", StartAt::End),
            source(&late, "late", StartAt::End),
        ],
    );
    srv.wait_for("app", 5);

    // A line written in pieces is stored once its newline is there.
    append(&log, "{\"msg\":\"line 5\",");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(srv.search("source:app").len(), 5);
    append(&log, "\"n\":5}\n");
    srv.wait_for("app", 6);

    // logrotate's default: rename, the writer goes on in the old file for a moment (its last
    // line without a newline), then a new file.
    std::fs::rename(&log, dir.join("logs/app.log.1")).unwrap();
    append(&dir.join("logs/app.log.1"), &lines(6..8));
    append(&dir.join("logs/app.log.1"), "{\"n\":8}");
    std::thread::sleep(Duration::from_millis(100));
    File::create(&log).unwrap();
    append(&log, &lines(9..12));
    srv.wait_for("app", 12);

    // copytruncate: copied away, emptied in place, written again.
    std::fs::copy(&log, dir.join("logs/app.log.2")).unwrap();
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    append(&log, &lines(12..14));
    srv.wait_for("app", 14);

    // Only what was written after the start; a file that appears later is read whole.
    append(&tail_only, &lines(0..2));
    append(&late, &lines(0..3));
    assert_each_once(&srv.wait_for("tail", 2), 2);
    assert_each_once(&srv.wait_for("late", 3), 3);

    // Restart: nothing read twice; what was written while down is read.
    srv.stop();
    append(&log, &lines(14..16));
    srv.restart();
    srv.wait_for("app", 16);

    // Rotated while down: the rest of the old file, then the new one.
    srv.stop();
    append(&log, &lines(16..18));
    std::fs::rename(&log, dir.join("logs/app.log.3")).unwrap();
    append(&log, &lines(18..20));
    srv.restart();
    srv.wait_for("app", 20);
    srv.restart();
    append(&log, &lines(20..22));
    let got = srv.wait_for("app", 22);
    assert_each_once(&got, 22);
    assert!(got.iter().all(|e| e.parse_error.is_none()), "{got:#?}");
    assert!(got.iter().all(|e| e.kind == "json"));
    assert_each_once(&srv.wait_for("tail", 2), 2);
    assert_each_once(&srv.wait_for("late", 3), 3);
}

#[test]
fn oversized_and_broken_lines_are_kept_and_a_busy_store_slows_reading() {
    let dir = temp_dir("oversized");
    let log = dir.join("logs/big.log");
    File::create(&log).unwrap();
    let srv = Srv::start(dir.clone(), vec![source(&log, "big", StartAt::End)]);
    // The source has opened the file (at its end) before anything is written.
    std::thread::sleep(Duration::from_millis(300));
    let long = format!("{{\"n\":0,\"pad\":\"{}\"}}\n", "x".repeat(5000));
    append(&log, &long);
    append(&log, "not json\r\n\n");
    let got = srv.wait_for("big", 2);
    let long = got.iter().find(|e| e.truncated).expect("the long line");
    assert!(long.raw.ends_with(TRUNCATION_MARKER), "{}", long.raw);
    assert!(long.raw.len() <= 1024);
    assert!(long.raw.starts_with("{\"n\":0,\"pad\":\"xxx"));
    assert!(long.parse_error.is_some());
    let broken = got.iter().find(|e| !e.truncated).expect("the broken line");
    assert_eq!(broken.raw, "not json");
    assert!(broken.parse_error.is_some());

    // While the store takes nothing, lines wait in the file; then all of them arrive.
    let hold = srv.running.as_ref().unwrap().hold_event_appends();
    append(&log, &lines(0..3000));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(srv.search("source:big").len(), 2);
    drop(hold);
    let got = srv.wait_for("big", 3002);
    let good: Vec<Event> = got
        .into_iter()
        .filter(|e| e.parse_error.is_none())
        .collect();
    assert_each_once(&good, 3000);
}

#[test]
fn file_entries_in_the_config_file_are_checked() {
    let dir = temp_dir("config");
    let toml = dir.join("palisade.toml");
    let load = |text: &str| {
        std::fs::write(&toml, text).unwrap();
        ConfigFile::load(&toml)
            .map_err(|e| e.to_string())
            .and_then(|f| {
                Settings::resolve(Some((f, toml.clone())), Overrides::default(), None)
                    .map_err(|e| e.to_string())
            })
    };
    let s = load(
        "[server]\n\n[[server.file]]\npath = \"logs/audit.log\"\nkind = \"k8s-audit\"\n\n[[server.file]]\npath = \"/var/log/falco.json\"\nkind = \"falco\"\nsource = \"falco-node1\"\nstart_at = \"beginning\"\npoll_interval = \"250ms\"\nmax_line_bytes = 4096\n",
    )
    .unwrap();
    assert_eq!(s.files.len(), 2);
    assert_eq!(s.files[0].path, dir.join("logs/audit.log"));
    assert_eq!(s.files[0].kind, Kind::K8sAudit);
    assert_eq!(s.files[0].source, "k8s-audit");
    assert_eq!(s.files[0].start_at, StartAt::End);
    assert_eq!(s.files[0].poll_interval, Duration::from_secs(1));
    assert_eq!(s.files[1].source, "falco-node1");
    assert_eq!(s.files[1].start_at, StartAt::Beginning);
    assert_eq!(s.files[1].poll_interval, Duration::from_millis(250));
    assert_eq!(s.files[1].max_line_bytes, 4096);

    let p = toml.display();
    for (text, want) in [
        (
            "[[server.file]]\npath = \"a.log\"\n",
            format!("{p}:2: [[server.file]] kind is missing"),
        ),
        (
            "\n[[server.file]]\npath = \"a.log\"\nkind = \"apache\"\n",
            format!("{p}:3: [[server.file]] kind = \"apache\" is not one of"),
        ),
        (
            "[[server.file]]\npath = \"a.log\"\nkind = \"json\"\nstart_at = \"now\"\n",
            format!("{p}:2: [[server.file]] start_at = \"now\""),
        ),
        (
            "[[server.file]]\npath = \"a.log\"\nkind = \"json\"\npoll_interval = \"1m\"\n",
            format!("{p}:2: [[server.file]] poll_interval = \"1m\" is not an interval"),
        ),
        (
            "[[server.file]]\npath = \"a.log\"\nkind = \"json\"\npoll_interval = \"5ms\"\n",
            format!("{p}:2: [[server.file]] poll_interval = \"5ms\": use 10ms to 60s"),
        ),
        (
            "[[server.file]]\npath = \"a.log\"\nkind = \"json\"\nmax_line_bytes = 10\n",
            format!("{p}:2: [[server.file]] max_line_bytes = 10: use 480 to"),
        ),
        (
            "[[server.file]]\npath = \"a.log\"\nkind = \"json\"\n[[server.file]]\npath = \"a.log\"\nkind = \"falco\"\n",
            format!("{p}:5: [[server.file]] path "),
        ),
        (
            "[[server.file]]\npath = \"a.log\"\nkind = \"json\"\nfollow = true\n",
            format!("{p}:4: unknown field `follow`"),
        ),
    ] {
        let e = load(text).unwrap_err();
        assert!(e.starts_with(&want), "{text}\n→ {e}\nwanted {want}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
