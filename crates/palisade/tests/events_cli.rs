//! `palisade ingest` and `palisade events search` end to end: the Kubernetes audit fixtures of
//! palisade-siem and the real CloudTrail files of the shared corpus (`$PALISADE_CORPUS` or
//! `../shared/corpus`; those tests are skipped with a message when it is absent).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> PathBuf {
    workspace().join("crates/palisade-siem/tests/data/k8s-audit")
}

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PALISADE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus"));
    if dir.join("cloudtrail").is_dir() {
        Some(dir.join("cloudtrail"))
    } else {
        eprintln!(
            "skipping: corpus not found at {} (set PALISADE_CORPUS)",
            dir.display()
        );
        None
    }
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("palisade-events-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(args)
        .env_remove("PALISADE_EVENTS_STORE")
        .env_remove("PALISADE_CONFIG")
        .current_dir(workspace())
        .output()
        .expect("binary runs")
}

/// `palisade ingest --data-dir DATA FILE`, reading files of one event a line `part` bytes at a
/// time.
fn ingest_in_parts(file: &Path, data: &Path, part: usize) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args([
            "ingest",
            "--data-dir",
            data.to_str().unwrap(),
            file.to_str().unwrap(),
        ])
        .env_remove("PALISADE_EVENTS_STORE")
        .env_remove("PALISADE_CONFIG")
        .env("PALISADE_INGEST_CHUNK_BYTES", part.to_string())
        .current_dir(workspace())
        .output()
        .expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs a search and returns the events it printed as JSON.
fn search(data: &str, query: &str) -> Vec<serde_json::Value> {
    let o = run(&[
        "events",
        "search",
        "--data-dir",
        data,
        "-f",
        "json",
        "--limit",
        "10000",
        "--",
        query,
    ]);
    assert!(o.status.success(), "{query}: {}", stderr(&o));
    stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn k8s_audit_fixtures_ingest_and_search() {
    let dir = tempdir("k8s");
    let data = dir.to_str().unwrap();
    let f = fixtures();
    let o = run(&[
        "ingest",
        "--data-dir",
        data,
        f.join("webhook-batch.json").to_str().unwrap(),
        f.join("single-event.json").to_str().unwrap(),
        f.join("log-backend.ndjson").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("webhook-batch.json: 4 events (k8s_audit)"),
        "{err}"
    );
    assert!(
        err.contains("log-backend.ndjson: 3 events (k8s_audit)"),
        "{err}"
    );
    assert!(err.contains("stored 8 events"), "{err}");

    assert_eq!(search(data, "").len(), 8);
    assert_eq!(search(data, "kind:k8s_audit source:k8s-audit").len(), 8);
    let exec = search(data, "verb:create objectRef.subresource:exec");
    assert_eq!(exec.len(), 1);
    assert_eq!(exec[0]["user"], "alice@example.com");
    assert_eq!(exec[0]["object"], "pods/shop/cart-6d9f8b7c4-x2x9q");
    assert_eq!(
        search(
            data,
            "requestObject.spec.containers.securityContext.privileged:true"
        )
        .len(),
        1
    );
    assert_eq!(search(data, "objectRef.resource:secrets").len(), 2);
    assert_eq!(search(data, "user:system:anonymous").len(), 2);
    assert_eq!(
        search(data, "user:system:anonymous outcome:failure").len(),
        1
    );
    assert_eq!(search(data, "NOT outcome:*").len(), 1);
    assert_eq!(
        search(data, "requestURI:/api/v1/namespaces/*/secrets*").len(),
        2
    );
    assert_eq!(search(data, "forbidden OR verb:delete").len(), 2);
    assert_eq!(search(data, "-user.groups:system:authenticated").len(), 2);
    // Newest first, and the time range cuts.
    let all = search(data, "");
    assert_eq!(all[0]["auditID"], serde_json::Value::Null);
    assert_eq!(all[0]["action"], "get");
    let o = run(&[
        "events",
        "search",
        "--data-dir",
        data,
        "--from",
        "2024-05-01T12:02:00Z",
        "--to",
        "2024-05-01T12:06:00Z",
        "-f",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 3);
    // The table.
    let o = run(&[
        "events",
        "search",
        "--data-dir",
        data,
        "--limit",
        "2",
        "verb:get",
    ]);
    assert!(o.status.success());
    let table = stdout(&o);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(table.starts_with("TIME "), "{table}");
    assert!(table.contains("system:anonymous"), "{table}");
    assert!(
        stderr(&o).contains("2 of 2 matching events"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cloudtrail_corpus_with_the_malformed_file() {
    let Some(ct) = corpus() else { return };
    let dir = tempdir("cloudtrail");
    let data = dir.to_str().unwrap();
    let files = [
        "aws.credential-access.secretsmanager-retrieve-secrets.json",
        "aws.defense-evasion.cloudtrail-delete.json",
        "aws.execution.ec2-user-data.json",
        "aws.exfiltration.ec2-share-ebs-snapshot.json",
    ];
    let paths: Vec<String> = files
        .iter()
        .map(|f| ct.join(f).to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["ingest", "--data-dir", data];
    args.extend(paths.iter().map(String::as_str));
    let o = run(&args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "aws.execution.ec2-user-data.json: invalid JSON at line 112, column 1: expected `,` or `]`"
        ),
        "{err}"
    );
    assert!(err.contains("stored 13 events"), "{err}");

    assert_eq!(search(data, "").len(), 13);
    assert_eq!(search(data, "kind:cloudtrail").len(), 13);
    assert_eq!(search(data, "parse_error:*").len(), 1);
    assert_eq!(search(data, "NOT parse_error:*").len(), 12);
    assert_eq!(search(data, "eventName:GetSecretValue").len(), 10);
    assert_eq!(
        search(data, "action:secretsmanager.amazonaws.com:GetSecretValue").len(),
        10
    );
    let delete = search(data, "action:*DeleteTrail");
    assert_eq!(delete.len(), 1);
    assert_eq!(delete[0]["source_ip"], "62.167.105.104");
    assert_eq!(
        delete[0]["user"],
        "arn:aws:sts::677301038893:assumed-role/account-admin/christophe.tafanidereeper"
    );
    assert_eq!(
        search(
            data,
            "eventName:ModifySnapshotAttribute OR eventName:DeleteTrail"
        )
        .len(),
        2
    );
    assert_eq!(
        search(
            data,
            "userIdentity.sessionContext.sessionIssuer.userName:account-admin"
        )
        .len(),
        12
    );
    assert_eq!(search(data, "outcome:failure").len(), 0);
    // The malformed file is kept whole, with the error.
    let bad = search(data, "parse_error:*");
    assert!(bad[0]["raw"].as_str().unwrap().contains("StopInstances"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dry_run_prints_events_and_needs_no_store() {
    let f = fixtures();
    let o = run(&[
        "ingest",
        "--dry-run",
        "--source",
        "prod-audit",
        f.join("webhook-batch.json").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let events: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 4);
    assert!(
        events
            .iter()
            .all(|e| e["source"] == "prod-audit" && e["kind"] == "k8s_audit")
    );
    assert_eq!(events[3]["outcome"], "failure");
}

#[test]
fn standard_input_syslog_and_falco() {
    use std::io::Write;
    let dir = tempdir("stdin");
    let data = dir.to_str().unwrap();
    let ingest = |kind: &str, source: &str, input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
            .args([
                "ingest",
                "--data-dir",
                data,
                "--kind",
                kind,
                "--source",
                source,
                "-",
            ])
            .env_remove("PALISADE_EVENTS_STORE")
            .env_remove("PALISADE_CONFIG")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let o = ingest(
        "auto",
        "auth-log",
        "<38>1 2024-05-01T10:00:00Z bastion sshd 812 - - Accepted publickey for ops\n\
         <86>May  1 10:00:05 bastion sudo[901]: ops : COMMAND=/bin/sh\n\
         garbage\n",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("standard input: line 3: not a syslog line"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("standard input: 3 events (syslog)"),
        "{}",
        stderr(&o)
    );
    let o = ingest(
        "falco",
        "falco",
        r#"{"hostname":"node-1","output":"shell","priority":"Warning","rule":"Terminal shell in container","source":"syscall","tags":["shell"],"time":"2024-05-01T10:01:00.000000000Z","output_fields":{"container.name":"web","user.name":"root"}}"#,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(search(data, "host:bastion").len(), 2);
    assert_eq!(
        search(data, "facility_name:authpriv app_name:sudo").len(),
        1
    );
    assert_eq!(
        search(data, "severity_name:info message:Accepted*").len(),
        1
    );
    assert_eq!(
        search(data, "source:falco priority:warning tags:shell").len(),
        1
    );
    assert_eq!(
        search(data, "action:\"Terminal shell*\" object:web").len(),
        1
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn user_errors() {
    let dir = tempdir("errors");
    let data = dir.to_str().unwrap();
    let o = run(&["events", "search", "--data-dir", data, "verb:create (pods"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("the search does not parse, at character 13: this `(` is not closed"),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        "events",
        "search",
        "--data-dir",
        data,
        "--from",
        "yesterday",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--from \"yesterday\" is not a time"),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        "events",
        "search",
        "--data-dir",
        data,
        "--from",
        "1h",
        "--to",
        "2h",
    ]);
    assert_eq!(o.status.code(), Some(2));
    // A missing file is an error for that file; the others are still read.
    let missing = dir.join("missing.json");
    let o = run(&[
        "ingest",
        "--data-dir",
        data,
        missing.to_str().unwrap(),
        fixtures().join("single-event.json").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("missing.json: cannot read it"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("stored 1 event"), "{}", stderr(&o));
    // Garbage of any kind is stored as parse errors, never a crash.
    let junk = dir.join("junk.log");
    std::fs::write(&junk, b"\x00\xff\xfe{{{\n<999>nonsense\n[[[[\n").unwrap();
    for kind in ["auto", "k8s-audit", "cloudtrail", "falco", "json", "syslog"] {
        let o = run(&[
            "ingest",
            "--dry-run",
            "--kind",
            kind,
            junk.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{kind}: {}", stderr(&o));
        assert!(stderr(&o).contains("junk.log: "), "{kind}: {}", stderr(&o));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Batches go to the store several at a time; an event the store refuses is still named by
/// its place in the file, and every other event is stored once.
#[test]
fn refused_events_are_named_by_position_across_batches() {
    let dir = tempdir("refused");
    let data = dir.join("data");
    let file = dir.join("events.jsonl");
    let mut text = String::new();
    for i in 1..=4_500 {
        if i == 2_345 || i == 4_001 {
            text.push_str(&format!("{{\"n\": {i}, \"bad\": \"a\\u0000b\"}}\n"));
        } else {
            text.push_str(&format!("{{\"n\": {i}, \"host\": \"h{}\"}}\n", i % 7));
        }
    }
    std::fs::write(&file, text).unwrap();
    let o = run(&[
        "ingest",
        "--data-dir",
        data.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("event 2345 refused by the store"), "{err}");
    assert!(err.contains("event 4001 refused by the store"), "{err}");
    assert_eq!(err.matches("refused by the store").count(), 2, "{err}");
    assert!(err.contains("stored 4498 events"), "{err}");
    let mut seen: Vec<i64> = search(data.to_str().unwrap(), "")
        .iter()
        .map(|v| v["fields"]["n"].as_i64().unwrap())
        .collect();
    seen.sort_unstable();
    let expected: Vec<i64> = (1..=4_500).filter(|i| *i != 2_345 && *i != 4_001).collect();
    assert_eq!(seen, expected);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file of one event a line is parsed and stored a part at a time (here parts of 4 KiB):
/// plain or gzip, every event is stored once, and a bad line in a later part is named by its
/// line in the whole file, even when it starts a part.
#[test]
fn line_files_are_read_in_parts() {
    use std::io::Write;
    let dir = tempdir("parts");
    // Lines of 64 bytes: a part is 64 lines, and line 2,497 starts the 40th.
    let mut text = String::new();
    for i in 1..=3_000 {
        let mut line = if i == 2_497 {
            "this line is not JSON".to_string()
        } else {
            format!("{{\"n\": {i}, \"verb\": \"get\"}}")
        };
        while line.len() < 63 {
            line.push(' ');
        }
        text.push_str(&line);
        text.push('\n');
    }
    let plain = dir.join("events.jsonl");
    std::fs::write(&plain, &text).unwrap();
    let gz = dir.join("events.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let mut syslog = String::new();
    for i in 1..=1_000 {
        if i == 777 {
            syslog.push_str("not a syslog line at all\n");
        } else {
            syslog.push_str(&format!(
                "<34>1 2024-05-01T12:00:00Z web-1 sshd 42 - - line {i}\n"
            ));
        }
    }
    let sys = dir.join("auth.log");
    std::fs::write(&sys, &syslog).unwrap();
    for (file, kind, total, bad_line) in [
        (&plain, "json", 3_000, 2_497),
        (&gz, "json", 3_000, 2_497),
        (&sys, "syslog", 1_000, 777),
    ] {
        let data = dir.join(format!(
            "data-{}",
            file.file_name().unwrap().to_string_lossy()
        ));
        let o = ingest_in_parts(file, &data, 4096);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("line {bad_line}")),
            "{}: the bad line is named: {err}",
            file.display()
        );
        assert_eq!(err.matches("error: ").count(), 1, "{err}");
        assert!(
            err.contains(&format!("{total} events ({kind}), 1 with parse errors")),
            "{err}"
        );
        assert!(err.contains(&format!("stored {total} events")), "{err}");
        let stored = search(data.to_str().unwrap(), "");
        assert_eq!(stored.len(), total, "{}", file.display());
        if kind == "json" {
            let mut seen: Vec<i64> = stored
                .iter()
                .filter_map(|v| v["fields"]["n"].as_i64())
                .collect();
            seen.sort_unstable();
            let expected: Vec<i64> = (1..=3_000).filter(|i| *i != 2_497).collect();
            assert_eq!(seen, expected, "{}", file.display());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Parts end inside lines of any length, with CRLF line ends and a byte order mark; a gzip
/// stream cut short after several parts keeps what came before the damage and says where it
/// stopped.
#[test]
fn parts_with_crlf_bom_and_a_cut_gzip() {
    use std::io::Write;
    let dir = tempdir("parts-crlf");
    let mut text = String::from("\u{FEFF}");
    for i in 1..=2_000 {
        text.push_str(&format!(
            "{{\"n\": {i}, \"pad\": \"{}\"}}\r\n",
            "y".repeat((i * 37) % 300)
        ));
    }
    let file = dir.join("crlf.jsonl");
    std::fs::write(&file, &text).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    let gz = enc.finish().unwrap();
    let cut = dir.join("cut.jsonl.gz");
    std::fs::write(&cut, &gz[..gz.len() * 3 / 5]).unwrap();
    let ingest = |file: &PathBuf, data: &PathBuf| ingest_in_parts(file, data, 5000);
    let numbers = |data: &PathBuf| -> Vec<i64> {
        let mut n: Vec<i64> = search(data.to_str().unwrap(), "")
            .iter()
            .map(|v| v["fields"]["n"].as_i64().expect("every event parsed"))
            .collect();
        n.sort_unstable();
        n
    };
    let data = dir.join("data-crlf");
    let o = ingest(&file, &data);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(numbers(&data), (1..=2_000).collect::<Vec<i64>>());

    let data = dir.join("data-cut");
    let o = ingest(&cut, &data);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("invalid gzip data"), "{err}");
    let at = err
        .split("the events before line ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap_or_else(|| panic!("names the line it stopped at: {err}"));
    // Every whole line the damaged stream still gives is stored.
    let mut readable = Vec::new();
    let _ = std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(&gz[..gz.len() * 3 / 5]),
        &mut readable,
    );
    let whole_lines = readable.iter().filter(|&&b| b == b'\n').count() as i64;
    assert_eq!(at, whole_lines + 1, "{err}");
    assert!(at > 200, "several parts were read first: {err}");
    assert_eq!(numbers(&data), (1..at).collect::<Vec<i64>>(), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `palisade ingest --dry-run FILE | head`: once the reader is gone, the rest of the file is
/// not parsed.
#[test]
fn dry_run_stops_when_the_reader_goes() {
    use std::io::Read;
    let dir = tempdir("dry-run-pipe");
    let file = dir.join("big.jsonl");
    let line = format!("{{\"verb\": \"get\", \"pad\": \"{}\"}}\n", "z".repeat(200));
    std::fs::write(&file, line.repeat(40_000)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["ingest", "--dry-run", file.to_str().unwrap()])
        .env("PALISADE_INGEST_CHUNK_BYTES", "65536")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("binary runs");
    let mut first = [0u8; 4096];
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut first)
        .unwrap();
    // The pipe is closed here, with megabytes of output still to come.
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("40000 events"), "parsed to the end: {err}");
    let _ = std::fs::remove_dir_all(&dir);
}
