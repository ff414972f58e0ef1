//! Updates against a real HTTP server on 127.0.0.1 (written here, std only) serving zips built
//! from the corpus advisories, with ETag support, a server that hangs up mid-body, a corrupt
//! archive and a missing ecosystem.

mod common;

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Cursor, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use palisade_vuln::store::{DB_FILE, Store, StoreError};
use palisade_vuln::update::{Outcome, UpdateOptions, update};

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "palisade-vuln-update-{name}-{}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// What the server answers for a path.
#[derive(Clone)]
enum Route {
    /// 200 with ETag and Last-Modified, or 304 when the request's validators match.
    Zip {
        body: Arc<Vec<u8>>,
        etag: String,
        last_modified: String,
    },
    /// 200 announcing the full length, then half the body and a closed connection.
    HangUp { body: Arc<Vec<u8>> },
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    if_none_match: Option<String>,
    if_modified_since: Option<String>,
    status: u16,
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Route>,
    seen: Vec<Seen>,
}

struct Server {
    base: String,
    state: Arc<Mutex<State>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let state = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = serve(stream, &state);
                });
            }
        });
        Server { base, state }
    }

    fn route(&self, path: &str, route: Route) {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_string(), route);
    }

    fn take_seen(&self) -> Vec<Seen> {
        std::mem::take(&mut self.state.lock().unwrap().seen)
    }
}

fn serve(mut stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let route = state.lock().unwrap().routes.get(&path).cloned();
    let (status, head, body, send): (u16, String, Arc<Vec<u8>>, usize) = match route {
        None => {
            let body = Arc::new(b"<Error><Code>NoSuchKey</Code></Error>".to_vec());
            let head = format!(
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let n = body.len();
            (404, head, body, n)
        }
        Some(Route::Zip {
            body,
            etag,
            last_modified,
        }) => {
            if headers.get("if-none-match") == Some(&etag) {
                let head = format!(
                    "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n"
                );
                (304, head, Arc::new(Vec::new()), 0)
            } else {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: {}\r\nETag: {etag}\r\nLast-Modified: {last_modified}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let n = body.len();
                (200, head, body, n)
            }
        }
        Some(Route::HangUp { body }) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: {}\r\nETag: \"never\"\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let n = body.len() / 2;
            (200, head, body, n)
        }
    };
    state.lock().unwrap().seen.push(Seen {
        path,
        if_none_match: headers.get("if-none-match").cloned(),
        if_modified_since: headers.get("if-modified-since").cloned(),
        status,
    });
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body[..send])?;
    stream.flush()?;
    stream.shutdown(Shutdown::Both)
}

/// A flat zip of the JSON files of `dir` (as osv.dev's `all.zip`), leaving out `skip`.
fn zip_dir(dir: &Path, skip: &[&str]) -> Arc<Vec<u8>> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for p in paths {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if skip.contains(&name.as_str()) {
            continue;
        }
        w.start_file(name, opts).unwrap();
        w.write_all(&fs::read(&p).unwrap()).unwrap();
    }
    Arc::new(w.finish().unwrap().into_inner())
}

fn smallvec(cache: &Path) -> Vec<String> {
    Store::open(cache)
        .unwrap()
        .lookup("crates.io", "smallvec")
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect()
}

fn opts() -> UpdateOptions {
    UpdateOptions {
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(10),
        ..UpdateOptions::default()
    }
}

#[test]
fn update_from_a_local_server() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let osv = corpus.join("osv");
    let server = Server::start();
    let crates_zip = zip_dir(&osv.join("crates.io"), &[]);
    let go_zip = zip_dir(&osv.join("go"), &[]);
    server.route(
        "/crates.io/all.zip",
        Route::Zip {
            body: Arc::clone(&crates_zip),
            etag: "\"crates-v1\"".into(),
            last_modified: "Tue, 01 Jul 2025 10:00:00 GMT".into(),
        },
    );
    server.route(
        "/Go/all.zip",
        Route::Zip {
            body: go_zip,
            etag: "\"go-v1\"".into(),
            last_modified: "Wed, 02 Jul 2025 10:00:00 GMT".into(),
        },
    );
    let cache = tempdir("server");
    let db = cache.join(DB_FILE);

    // 1. First download: records stored, no validators sent.
    let report = update(
        &cache,
        &server.base,
        &["crates.io".to_string(), "Go".to_string()],
        &opts(),
    )
    .unwrap();
    assert_eq!(report.ecosystems.len(), 2);
    for e in &report.ecosystems {
        match &e.outcome {
            Outcome::Updated { bytes, import } => {
                assert!(*bytes > 0);
                assert_eq!(import.malformed, 0);
                eprintln!(
                    "{}: {} bytes, {} records in {:?}",
                    e.ecosystem, bytes, import.records, import.elapsed
                );
            }
            other => panic!("{}: {other:?}", e.ecosystem),
        }
    }
    let seen = server.take_seen();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|s| s.if_none_match.is_none() && s.status == 200)
    );
    let status = Store::open(&cache).unwrap().status().unwrap();
    let counts: Vec<(&str, u64, u64)> = status
        .ecosystems
        .iter()
        .map(|e| (e.ecosystem.as_str(), e.advisories, e.withdrawn))
        .collect();
    assert_eq!(counts, [("Go", 4274, 17), ("crates.io", 1193, 13)]);
    let feed = status.feeds.iter().find(|f| f.name == "crates.io").unwrap();
    assert_eq!(feed.etag.as_deref(), Some("\"crates-v1\""));
    assert_eq!(
        feed.source.as_deref(),
        Some(format!("{}/crates.io/all.zip", server.base).as_str())
    );
    assert_eq!(smallvec(&cache).len(), 5);
    let db_before = fs::read(&db).unwrap();

    // 2. Second run, no ecosystems named: the stored feeds, with If-None-Match → 304.
    let report = update(&cache, &server.base, &[], &opts()).unwrap();
    assert!(
        report
            .ecosystems
            .iter()
            .all(|e| e.outcome == Outcome::Unchanged),
        "{report:?}"
    );
    let mut seen = server.take_seen();
    seen.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].path, "/Go/all.zip");
    assert_eq!(seen[0].if_none_match.as_deref(), Some("\"go-v1\""));
    assert_eq!(
        seen[0].if_modified_since.as_deref(),
        Some("Wed, 02 Jul 2025 10:00:00 GMT")
    );
    assert_eq!(seen[1].if_none_match.as_deref(), Some("\"crates-v1\""));
    assert!(seen.iter().all(|s| s.status == 304));
    assert_eq!(fs::read(&db).unwrap(), db_before, "a 304 changes nothing");

    // 3. A new archive without one advisory: it is removed from the store.
    server.route(
        "/crates.io/all.zip",
        Route::Zip {
            body: zip_dir(&osv.join("crates.io"), &["RUSTSEC-2021-0003.json"]),
            etag: "\"crates-v2\"".into(),
            last_modified: "Thu, 03 Jul 2025 10:00:00 GMT".into(),
        },
    );
    let report = update(&cache, &server.base, &["crates.io".to_string()], &opts()).unwrap();
    match &report.ecosystems[0].outcome {
        Outcome::Updated { import, .. } => {
            assert_eq!((import.removed, import.inserted, import.kept), (1, 0, 1205));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(smallvec(&cache).len(), 4);
    assert!(
        Store::open(&cache)
            .unwrap()
            .get("RUSTSEC-2021-0003")
            .unwrap()
            .is_none()
    );
    let db_v2 = fs::read(&db).unwrap();

    // 4. The server hangs up mid-body: an error naming the ecosystem; the database is intact.
    server.route(
        "/crates.io/all.zip",
        Route::HangUp {
            body: Arc::clone(&crates_zip),
        },
    );
    let e = update(&cache, &server.base, &["crates.io".to_string()], &opts()).unwrap_err();
    let msg = e.to_string();
    eprintln!("hang-up: {msg}");
    assert!(matches!(e, StoreError::UpdateFailed { .. }), "{msg}");
    assert!(msg.contains("crates.io ("), "{msg}");
    assert!(
        msg.contains("interrupted") || msg.contains("incomplete"),
        "{msg}"
    );
    assert!(msg.contains("the database is unchanged"), "{msg}");
    assert_eq!(fs::read(&db).unwrap(), db_v2);
    assert_eq!(smallvec(&cache).len(), 4);

    // 5. A body that is not a zip: named, nothing changes.
    server.route(
        "/crates.io/all.zip",
        Route::Zip {
            body: Arc::new(b"<html>maintenance</html>".to_vec()),
            etag: "\"html\"".into(),
            last_modified: "Fri, 04 Jul 2025 10:00:00 GMT".into(),
        },
    );
    let e = update(&cache, &server.base, &["crates.io".to_string()], &opts()).unwrap_err();
    let msg = e.to_string();
    eprintln!("not a zip: {msg}");
    assert!(
        msg.contains("crates.io (the archive downloaded from"),
        "{msg}"
    );
    assert_eq!(fs::read(&db).unwrap(), db_v2);

    // 6. An ecosystem the server does not have: a clear 404 error; the name is URL-encoded.
    let e = update(&cache, &server.base, &["Alpine:v3.19".to_string()], &opts()).unwrap_err();
    let msg = e.to_string();
    eprintln!("404: {msg}");
    assert!(msg.contains("Alpine:v3.19 (no such ecosystem"), "{msg}");
    assert!(msg.contains("404"), "{msg}");
    assert_eq!(
        server.take_seen().last().unwrap().path,
        "/Alpine%3Av3.19/all.zip"
    );
    assert_eq!(fs::read(&db).unwrap(), db_v2);

    // 7. One good, one missing: the good one is applied, the error names the missing one.
    server.route(
        "/crates.io/all.zip",
        Route::Zip {
            body: Arc::clone(&crates_zip),
            etag: "\"crates-v3\"".into(),
            last_modified: "Sat, 05 Jul 2025 10:00:00 GMT".into(),
        },
    );
    let e = update(
        &cache,
        &server.base,
        &["crates.io".to_string(), "Nope".to_string()],
        &opts(),
    )
    .unwrap_err();
    match &e {
        StoreError::UpdateFailed { failed, updated } => {
            assert_eq!(updated, &["crates.io"]);
            assert_eq!(failed.len(), 1);
            assert_eq!(failed[0].0, "Nope");
        }
        other => panic!("{other}"),
    }
    assert_eq!(smallvec(&cache).len(), 5);

    // Nothing temporary is left behind.
    let mut left: Vec<String> = fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    left.sort();
    assert_eq!(left, ["osv.db", "osv.db.lock"]);
    let _ = fs::remove_dir_all(&cache);
}
