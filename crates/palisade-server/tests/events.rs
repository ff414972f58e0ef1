//! Security events over HTTP: the Kubernetes audit webhook and JSON ingestion, search,
//! histogram, the console page, metrics, on SQLite and (with `PALISADE_TEST_POSTGRES`)
//! PostgreSQL.

#[allow(dead_code)]
#[path = "platform/harness.rs"]
mod harness;

use std::io::Write;

use harness::{Cred, Options, Resp, Server, each_backend};
use serde_json::{Value, json};

fn k8s_fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../palisade-siem/tests/data/k8s-audit")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn ingest(srv: &Server, path: &str, cred: &Cred, body: Vec<u8>) -> Resp {
    srv.call("POST", path)
        .cred(cred)
        .body("application/json", body)
        .send()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The total of a search over the fixtures' day.
fn total(srv: &Server, cred: &Cred, q: &str) -> u64 {
    let r = srv
        .get(
            &format!("/api/v1/events?q={}&from=2024-05-01&to=2024-05-02", enc(q)),
            cred,
        )
        .expect(200)
        .json();
    assert_eq!(r["total_exact"], true, "{r}");
    assert_eq!(
        r["events"].as_array().unwrap().len() as u64,
        r["total"].as_u64().unwrap(),
        "{q}: {r}"
    );
    r["total"].as_u64().unwrap()
}

fn counts(h: &Value) -> Vec<u64> {
    h["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .collect()
}

#[test]
fn k8s_audit_webhook_search_histogram_console() {
    each_backend("k8s_audit_webhook", |db| {
        let mut srv = Server::start(db, "events", Options::default());
        let roles = srv.roles();
        let analyst = &roles.analyst.token;
        let viewer = &roles.viewer.token;

        // The webhook's batch: an EventList of four events.
        let r = ingest(
            &srv,
            "/ingest/k8s-audit",
            analyst,
            k8s_fixture("webhook-batch.json"),
        )
        .expect(200)
        .json();
        assert_eq!(r["accepted"], 4, "{r}");
        assert_eq!(r["parse_errors"], 0, "{r}");
        assert_eq!(r["rejected"], 0, "{r}");
        assert_eq!(r["source"], "k8s-audit");
        // One Event on its own, same default source.
        let r = ingest(
            &srv,
            "/ingest/k8s-audit",
            analyst,
            k8s_fixture("single-event.json"),
        )
        .expect(200)
        .json();
        assert_eq!(
            (r["accepted"].as_u64(), r["parse_errors"].as_u64()),
            (Some(1), Some(0))
        );
        // The log backend's lines, gzipped, under a source name of their own.
        let r = srv
            .call("POST", "/ingest/k8s-audit?source=k8s-log")
            .cred(analyst)
            .header("content-encoding", "gzip")
            .body("application/json", gzip(&k8s_fixture("log-backend.ndjson")))
            .send()
            .expect(200)
            .json();
        assert_eq!(
            (r["accepted"].as_u64(), r["parse_errors"].as_u64()),
            (Some(3), Some(0))
        );
        assert_eq!(r["source"], "k8s-log");

        // Searches, exact totals.
        assert_eq!(total(&srv, viewer, ""), 8);
        assert_eq!(
            total(&srv, viewer, "verb:create objectRef.resource:pods"),
            2
        );
        assert_eq!(
            total(
                &srv,
                viewer,
                "verb:create objectRef.resource:pods objectRef.subresource:exec"
            ),
            1
        );
        assert_eq!(total(&srv, viewer, "user:system:anonymous"), 2);
        assert_eq!(total(&srv, viewer, "outcome:failure"), 1);
        assert_eq!(total(&srv, viewer, "source:k8s-log"), 3);
        assert_eq!(total(&srv, viewer, "verb:delete OR verb:list"), 2);
        assert_eq!(total(&srv, viewer, "kind:k8s_audit -source:k8s-log"), 5);
        assert_eq!(total(&srv, viewer, "parse_error:*"), 0);

        // The page: newest first by default, normalised fields, raw and fields.
        let page = srv
            .get("/api/v1/events?q=verb:delete", viewer)
            .expect(200)
            .json();
        assert_eq!(page["total"], 1);
        let e = &page["events"][0];
        assert_eq!(e["time"], "2024-05-01T12:05:00.010203000Z");
        assert_eq!(e["user"], "kubernetes-admin");
        assert_eq!(e["action"], "delete");
        assert_eq!(e["source_ip"], "192.0.2.5");
        assert_eq!(e["outcome"], "success");
        assert_eq!(e["kind"], "k8s_audit");
        assert_eq!(e["parse_error"], Value::Null);
        assert_eq!(e["fields"]["objectRef"]["name"], "ops-admin");
        assert!(e["raw"].as_str().unwrap().contains("\"auditID\""));
        // Paging: oldest first, two at a time, then the cursor.
        let p1 = srv
            .get("/api/v1/events?order=asc&limit=2", viewer)
            .expect(200)
            .json();
        assert_eq!(p1["total"], 8);
        let times: Vec<&str> = p1["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["time"].as_str().unwrap())
            .collect();
        assert_eq!(
            times,
            [
                "2024-05-01T12:00:00.131903000Z",
                "2024-05-01T12:01:10.540021000Z"
            ]
        );
        let p2 = srv
            .get("/api/v1/events?order=asc&limit=2&offset=2", viewer)
            .expect(200)
            .json();
        let next = p1["next"].as_str().unwrap();
        let p2c = srv
            .get(
                &format!("/api/v1/events?order=asc&limit=2&cursor={}", enc(next)),
                viewer,
            )
            .expect(200)
            .json();
        assert_eq!(p2["events"], p2c["events"]);
        assert_eq!(p2["events"][0]["time"], "2024-05-01T12:02:30.018822000Z");
        // Relative times: nothing from 2024 is in the last 15 minutes.
        let r = srv
            .get("/api/v1/events?from=15m&to=now", viewer)
            .expect(200)
            .json();
        assert_eq!(r["total"], 0);

        // Histogram: one bucket a minute.
        let h = srv
            .get(
                "/api/v1/events/histogram?from=2024-05-01T12:00:00Z&to=2024-05-01T12:08:00Z&buckets=8",
                viewer,
            )
            .expect(200)
            .json();
        assert_eq!(counts(&h), [1, 1, 1, 1, 0, 1, 2, 1], "{h}");
        assert_eq!(h["total"], 8);
        assert_eq!(h["width_ms"], 60_000);
        assert_eq!(h["buckets"][5]["start"], "2024-05-01T12:05:00Z");
        let h = srv
            .get(
                "/api/v1/events/histogram?q=verb:create&from=2024-05-01T12:00:00Z&to=2024-05-01T12:04:00Z&buckets=2",
                viewer,
            )
            .expect(200)
            .json();
        assert_eq!(counts(&h), [2, 0], "{h}");
        // Without a range, it spans the matching events.
        let h = srv
            .get(
                "/api/v1/events/histogram?q=source:k8s-audit&buckets=5",
                viewer,
            )
            .expect(200)
            .json();
        assert_eq!(counts(&h), [1, 1, 1, 1, 1], "{h}");
        assert_eq!(h["from"], "2024-05-01T12:00:00.131903000Z");
        let h = srv
            .get("/api/v1/events/histogram?q=source:nothing", viewer)
            .expect(200)
            .json();
        assert_eq!(h["total"], 0);
        assert_eq!(h["buckets"], json!([]));

        // Bad searches and parameters: 400 JSON, the column named.
        let r = srv
            .get(
                &format!("/api/v1/events?q={}", enc("verb:create AND (pods")),
                viewer,
            )
            .expect(400)
            .json();
        assert!(r["error"].as_str().unwrap().contains("character"), "{r}");
        assert_eq!(r["detail"]["parameter"], "q");
        assert!(r["detail"]["column"].as_u64().unwrap() >= 17, "{r}");
        let r = srv
            .get(
                &format!("/api/v1/events/histogram?q={}", enc("a OR")),
                viewer,
            )
            .expect(400)
            .json();
        assert!(r["detail"]["column"].is_u64(), "{r}");
        for bad in [
            "from=yesterday",
            "from=now&to=1h",
            "limit=0",
            "limit=x",
            "offset=100001",
            "order=up",
            "cursor=zz",
            "nonsense=1",
        ] {
            let r = srv.get(&format!("/api/v1/events?{bad}"), viewer);
            assert_eq!(r.status, 400, "{bad}: {}", r.body);
            assert!(r.json()["error"].is_string());
        }
        srv.get("/api/v1/events/histogram?buckets=0", viewer)
            .expect(400);

        // Who may: viewers search but do not ingest; anonymous callers neither.
        ingest(
            &srv,
            "/ingest/k8s-audit",
            viewer,
            k8s_fixture("single-event.json"),
        )
        .expect(403);
        ingest(&srv, "/ingest/json", viewer, b"{}".to_vec()).expect(403);
        let r = ingest(
            &srv,
            "/ingest/k8s-audit",
            &Cred::None,
            k8s_fixture("single-event.json"),
        )
        .expect(401);
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        srv.get("/api/v1/events", &Cred::None).expect(401);
        srv.get("/api/v1/events/histogram", &Cred::None).expect(401);
        assert_eq!(total(&srv, viewer, ""), 8, "refused batches stored nothing");

        // Malformed input is kept, flagged and counted, never dropped.
        let r = ingest(
            &srv,
            "/ingest/json?source=broken",
            analyst,
            b"{\"a\":1}\nnot json\n{\"b\":2}\n".to_vec(),
        )
        .expect(200)
        .json();
        assert_eq!(
            (r["accepted"].as_u64(), r["parse_errors"].as_u64()),
            (Some(3), Some(1))
        );
        assert_eq!(r["kind"], "json");
        let r = ingest(
            &srv,
            "/ingest/k8s-audit?source=broken-k8s",
            analyst,
            b"{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[{\"verb\":"
                .to_vec(),
        )
        .expect(200)
        .json();
        assert!(r["accepted"].as_u64().unwrap() >= 1, "{r}");
        assert_eq!(r["parse_errors"], r["accepted"], "{r}");
        let broken = srv
            .get(
                &format!("/api/v1/events?q={}", enc("source:broken parse_error:*")),
                viewer,
            )
            .expect(200)
            .json();
        assert_eq!(broken["total"], 1);
        assert_eq!(broken["events"][0]["raw"], "not json");
        assert!(broken["events"][0]["parse_error"].is_string());
        // CloudTrail through the JSON endpoint, detected.
        let trail = json!({ "Records": [
            { "eventVersion": "1.08", "eventTime": "2024-05-01T13:00:00Z", "eventSource": "iam.amazonaws.com",
              "eventName": "CreateUser", "sourceIPAddress": "198.51.100.1",
              "userIdentity": { "type": "IAMUser", "userName": "mallory", "arn": "arn:aws:iam::111122223333:user/mallory" } },
            { "eventVersion": "1.08", "eventTime": "2024-05-01T13:00:01Z", "eventSource": "s3.amazonaws.com",
              "eventName": "GetObject", "sourceIPAddress": "198.51.100.2",
              "userIdentity": { "type": "IAMUser", "userName": "bob" } }
        ]});
        let r = ingest(
            &srv,
            "/ingest/json",
            analyst,
            trail.to_string().into_bytes(),
        )
        .expect(200)
        .json();
        assert_eq!(
            (r["accepted"].as_u64(), r["kind"].as_str()),
            (Some(2), Some("cloudtrail"))
        );
        assert_eq!(r["source"], "cloudtrail");
        assert_eq!(
            total(&srv, viewer, "source:cloudtrail eventName:CreateUser"),
            1
        );
        ingest(&srv, "/ingest/json?kind=yaml", analyst, b"{}".to_vec()).expect(400);

        // Counted in /metrics.
        let m = srv.get("/metrics", &roles.admin.token).expect(200).body;
        let broken_k8s = srv
            .get("/api/v1/events?q=source:broken-k8s", viewer)
            .expect(200)
            .json()["total"]
            .as_u64()
            .unwrap();
        let accepted = srv.get("/api/v1/events", viewer).expect(200).json()["total"]
            .as_u64()
            .unwrap();
        assert_eq!(accepted, 8 + 3 + broken_k8s + 2);
        assert!(
            m.contains(&format!(
                "palisade_events_total{{result=\"accepted\"}} {accepted}\n"
            )),
            "{m}"
        );
        assert!(
            m.contains("palisade_events_total{result=\"rejected\"} 0\n"),
            "{m}"
        );
        assert!(
            m.contains("palisade_events_total{result=\"dropped\"} 0\n"),
            "{m}"
        );
        assert!(
            m.contains(&format!(
                "palisade_events_parse_errors_total {}\n",
                1 + broken_k8s
            )),
            "{m}"
        );

        // Each batch is in the audit log, with who sent it and what became of it.
        let audit = srv.audit(&roles.admin.token);
        let ingests: Vec<&Value> = audit
            .iter()
            .filter(|e| e["action"] == "events.ingest")
            .collect();
        assert!(
            ingests.iter().any(|e| e["actor"] == "alice"
                && e["target"] == "source:k8s-log"
                && e["details"]["accepted"] == 3),
            "{ingests:?}"
        );

        // The console page: the table, the histogram, everything escaped.
        let hostile = json!({ "time": "2024-05-01T14:00:00Z", "user": "<script>alert(1)</script>",
            "action": "\"><img src=x onerror=alert(2)>", "message": "<b>bold</b>" });
        ingest(
            &srv,
            "/ingest/json?source=%3Cscript%3Esrc",
            analyst,
            hostile.to_string().into_bytes(),
        )
        .expect(200);
        let page = srv
            .call("GET", "/events?from=all&q=alert")
            .cred(&roles.viewer.session)
            .header("accept", "text/html")
            .send()
            .expect(200);
        assert!(
            page.body.contains("<svg class=\"chart hist\""),
            "{}",
            page.body
        );
        assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.body.contains("<script>alert"));
        assert!(!page.body.contains("<img"));
        assert!(!page.body.contains("<b>bold"));
        assert!(page.body.contains("&lt;script&gt;src"));
        assert!(page.body.contains("1 matching events"), "{}", page.body);
        // The live tail panel streams the same search.
        assert!(
            page.body
                .contains("data-tail-url=\"/api/v1/events/tail?q=alert\""),
            "{}",
            page.body
        );
        let page = srv
            .call(
                "GET",
                &format!(
                    "/events?from=2024-05-01&to=2024-05-02&q={}",
                    enc("verb:create objectRef.resource:pods")
                ),
            )
            .cred(&roles.viewer.session)
            .header("accept", "text/html")
            .send()
            .expect(200);
        assert!(page.body.contains("2 matching events"), "{}", page.body);
        assert!(page.body.contains("alice@example.com"));
        assert!(page.body.contains("<details>"));
        // A search that does not parse is shown, not an error page.
        let page = srv
            .call("GET", &format!("/events?q={}", enc("(<i>")))
            .cred(&roles.viewer.session)
            .header("accept", "text/html")
            .send()
            .expect(200);
        assert!(page.body.contains("does not parse"), "{}", page.body);
        assert!(!page.body.contains("<i>"));
        // Paging links keep the search.
        let page = srv
            .call("GET", "/events?from=all")
            .cred(&roles.viewer.session)
            .header("accept", "text/html")
            .send()
            .expect(200);
        assert!(page.body.contains("matching events"), "{}", page.body);

        // Acknowledged events survive a restart.
        srv.restart();
        assert_eq!(
            total(&srv, viewer, "verb:create objectRef.resource:pods"),
            2
        );
    });
}

#[test]
fn oversized_batches_are_refused() {
    each_backend("oversized_batches", |db| {
        let srv = Server::start(
            db,
            "events-limit",
            Options {
                max_upload_bytes: Some(4096),
                ..Options::default()
            },
        );
        let roles = srv.roles();
        let analyst = &roles.analyst.token;
        let big = k8s_fixture("webhook-batch.json");
        assert!(big.len() > 4096);
        let r = ingest(&srv, "/ingest/k8s-audit", analyst, big.clone()).expect(413);
        assert!(
            r.json()["error"].as_str().unwrap().contains("MiB"),
            "{}",
            r.body
        );
        // Small when compressed, too large once decompressed.
        let padded = format!(
            "{}{}",
            " ".repeat(64 * 1024),
            String::from_utf8(big).unwrap()
        );
        let r = srv
            .call("POST", "/ingest/k8s-audit")
            .cred(analyst)
            .header("content-encoding", "gzip")
            .body("application/json", gzip(padded.as_bytes()))
            .send()
            .expect(413);
        assert!(r.json()["error"].is_string());
        let r = srv
            .call("POST", "/ingest/json")
            .cred(analyst)
            .header("content-encoding", "br")
            .body("application/json", b"{}".to_vec())
            .send()
            .expect(415);
        assert!(r.json()["error"].is_string());
        let page = srv
            .get("/api/v1/events", &roles.viewer.token)
            .expect(200)
            .json();
        assert_eq!(page["total"], 0, "{page}");
        // What fits is taken.
        let r = ingest(
            &srv,
            "/ingest/k8s-audit",
            analyst,
            k8s_fixture("single-event.json"),
        )
        .expect(200)
        .json();
        assert_eq!(r["accepted"], 1);
    });
}

#[test]
fn an_event_store_that_cannot_open_is_a_clear_startup_error() {
    let dir = std::env::temp_dir().join(format!("palisade-events-start-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The data directory is a file: events.db cannot be made in it.
    let not_a_dir = dir.join("data");
    std::fs::write(&not_a_dir, b"not a directory").unwrap();
    let database = dir.join("platform.db").display().to_string();
    let settings = palisade_server::platform::Settings::for_database(
        "127.0.0.1:0".parse().unwrap(),
        &database,
        &not_a_dir,
    );
    let err = palisade_server::platform::start(palisade_server::platform::ServeOptions {
        settings,
        worker_threads: 1,
        handle_signals: false,
        log: false,
    })
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("cannot open the event store "), "{err}");
    assert!(err.contains("events.db"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The `msg` of every event of `source`, sorted.
fn messages(srv: &Server, cred: &Cred, source: &str) -> Vec<String> {
    let r = srv
        .get(
            &format!(
                "/api/v1/events?q={}&limit=1000",
                enc(&format!("source:{source}"))
            ),
            cred,
        )
        .expect(200)
        .json();
    let mut m: Vec<String> = r["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fields"]["msg"].as_str().unwrap().to_string())
        .collect();
    m.sort();
    m
}

#[test]
fn retention_deletes_old_events_at_start() {
    each_backend("retention", |db| {
        let mut srv = Server::start(
            db,
            "events-retention",
            Options {
                retention: palisade_siem::store::Retention {
                    max_age: Some(std::time::Duration::from_secs(3600)),
                    max_bytes: None,
                },
                ..Options::default()
            },
        );
        let roles = srv.roles();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        // Two days old (a whole day dropped), three hours old (trimmed from its day), and
        // recent ones that stay.
        let body: String = [
            (now - 2 * 86_400, "old-2d"),
            (now - 3 * 3600, "old-3h"),
            (now - 3 * 3600 - 1, "old-3h-b"),
            (now - 60, "new-1m"),
            (now, "new-now"),
        ]
        .iter()
        .map(|(ts, msg)| format!("{{\"ts\":{ts},\"msg\":\"{msg}\"}}\n"))
        .collect();
        let r = ingest(
            &srv,
            "/ingest/json?source=ret",
            &roles.analyst.token,
            body.into_bytes(),
        )
        .expect(200)
        .json();
        assert_eq!(r["accepted"], 5, "{r}");
        let viewer = &roles.viewer.token;
        assert_eq!(messages(&srv, viewer, "ret").len(), 5);

        // A pass runs when the server starts (and hourly after).
        srv.restart();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let kept = loop {
            let m = messages(&srv, viewer, "ret");
            if m.len() <= 2 || std::time::Instant::now() > deadline {
                break m;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        assert_eq!(kept, ["new-1m", "new-now"]);
    });
}

#[test]
fn live_tail_streams_exactly_the_matching_new_events() {
    each_backend("live_tail", |db| {
        let srv = Server::start(db, "events-tail", Options::default());
        let roles = srv.roles();
        let Cred::Bearer(viewer) = &roles.viewer.token else {
            panic!("tokens are bearer credentials");
        };
        // Stored before the subscription: not in the tail.
        let before = "{\"action\":\"deny\",\"msg\":\"before\"}\n";
        ingest(
            &srv,
            "/ingest/json?source=tail",
            &roles.analyst.token,
            before.into(),
        )
        .expect(200);
        let url = format!("{}/api/v1/events/tail?q={}", srv.base, enc("action:deny"));
        let mut r = srv
            .agent
            .get(&url)
            .header("Authorization", &format!("Bearer {viewer}"))
            .call()
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers().get("content-type").unwrap(),
            "text/event-stream"
        );
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let reader = std::io::BufReader::new(r.body_mut().as_reader());
            for line in reader.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let timeout = std::time::Duration::from_secs(30);
        assert_eq!(rx.recv_timeout(timeout).unwrap(), ": tail started");

        let batch = |msgs: &[(&str, &str)]| {
            let body: String = msgs
                .iter()
                .map(|(action, msg)| format!("{{\"action\":\"{action}\",\"msg\":\"{msg}\"}}\n"))
                .collect();
            ingest(
                &srv,
                "/ingest/json?source=tail",
                &roles.analyst.token,
                body.into_bytes(),
            )
            .expect(200);
        };
        batch(&[("deny", "a"), ("allow", "b"), ("deny", "c")]);
        batch(&[("allow", "d"), ("deny", "end")]);
        let mut got = Vec::new();
        loop {
            let line = rx.recv_timeout(timeout).expect("the tail goes on");
            if line.is_empty() || line.starts_with(':') {
                continue;
            }
            let data = line
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("{line}"));
            let e: Value = serde_json::from_str(data).unwrap();
            assert_eq!(e["source"], "tail", "{e}");
            assert_eq!(e["action"], "deny", "{e}");
            let msg = e["fields"]["msg"].as_str().unwrap().to_string();
            // Each event carries its id in the store, which finds it there.
            let id = e["id"].as_str().unwrap_or_else(|| panic!("no id: {e}"));
            let stored = srv
                .get(&format!("/api/v1/events/{id}"), &roles.viewer.token)
                .expect(200)
                .json();
            assert_eq!(stored, e, "{id}");
            got.push(msg.clone());
            if msg == "end" {
                break;
            }
        }
        assert_eq!(got, ["a", "c", "end"]);
        // Ids that are not ids, or name nothing.
        srv.get("/api/v1/events/nonsense", &roles.viewer.token)
            .expect(400);
        srv.get("/api/v1/events/1.1", &roles.viewer.token)
            .expect(404);

        // A search that does not parse is refused before the stream starts.
        let r = srv.get(
            "/api/v1/events/tail?q=verb%3Acreate%20AND",
            &roles.viewer.token,
        );
        assert_eq!(r.status, 400, "{}", r.body);
    });
}

#[test]
fn saved_searches_by_owner_and_role() {
    each_backend("saved_searches", |db| {
        let mut srv = Server::start(db, "events-searches", Options::default());
        let roles = srv.roles();
        let (viewer, analyst, admin) = (
            &roles.viewer.token,
            &roles.analyst.token,
            &roles.admin.token,
        );
        let list = |srv: &Server| {
            srv.get("/api/v1/searches", viewer).expect(200).json()["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["name"].as_str().unwrap().to_string(),
                        s["query"].as_str().unwrap().to_string(),
                        s["owner"].as_str().unwrap().to_string(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert!(list(&srv).is_empty());

        // Viewers list but do not save.
        let r = srv.post(
            "/api/v1/searches",
            viewer,
            &json!({ "name": "x", "query": "verb:create" }),
        );
        assert_eq!(r.status, 403, "{}", r.body);

        let pods = srv
            .post(
                "/api/v1/searches",
                analyst,
                &json!({ "name": " Pod exec ", "query": "verb:create objectRef.subresource:exec" }),
            )
            .expect(201)
            .json();
        assert_eq!(pods["name"], "Pod exec");
        assert_eq!(pods["owner"], roles.analyst.username.as_str());
        assert!(pods["created_at"].as_i64().unwrap() > 0);
        let mine = srv
            .post(
                "/api/v1/searches",
                admin,
                &json!({ "name": "Anonymous <users>", "query": "user:system:anonymous" }),
            )
            .expect(201)
            .json();
        // The same name is fine for another owner, not twice for one.
        srv.post(
            "/api/v1/searches",
            admin,
            &json!({ "name": "Pod exec", "query": "verb:create" }),
        )
        .expect(201);
        let r = srv.post(
            "/api/v1/searches",
            analyst,
            &json!({ "name": "Pod exec", "query": "verb:get" }),
        );
        assert_eq!(r.status, 409, "{}", r.body);
        // A search that does not parse, an empty name: 400; a missing or unknown field: 422.
        let r = srv.post(
            "/api/v1/searches",
            analyst,
            &json!({ "name": "bad", "query": "verb:create AND" }),
        );
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["detail"]["column"], 16, "{}", r.body);
        for (body, status) in [
            (json!({ "name": "  ", "query": "a" }), 400),
            (json!({ "name": "n" }), 422),
            (json!({ "name": "n", "query": "a", "owner": "x" }), 422),
        ] {
            let r = srv.post("/api/v1/searches", analyst, &body);
            assert_eq!(r.status, status, "{body}: {}", r.body);
        }
        let admin_name = roles.admin.username.clone();
        let analyst_name = roles.analyst.username.clone();
        let all = vec![
            (
                "Anonymous <users>".to_string(),
                "user:system:anonymous".to_string(),
                admin_name.clone(),
            ),
            (
                "Pod exec".to_string(),
                "verb:create objectRef.subresource:exec".to_string(),
                analyst_name.clone(),
            ),
            (
                "Pod exec".to_string(),
                "verb:create".to_string(),
                admin_name.clone(),
            ),
        ];
        assert_eq!(list(&srv), all);

        // The console lists them as links that run the search, escaped.
        let page = srv
            .call("GET", "/events")
            .cred(&roles.viewer.session)
            .header("accept", "text/html")
            .send()
            .expect(200);
        assert!(
            page.body.contains(
                "<a href=\"/events?q=user%3Asystem%3Aanonymous\" title=\"user:system:anonymous (by "
            ),
            "{}",
            page.body
        );
        assert!(page.body.contains(">Anonymous &lt;users&gt;</a>"));

        // Kept across a restart.
        srv.restart();
        assert_eq!(list(&srv), all);

        // Analysts delete their own only; admins any; viewers none.
        let mine_id = mine["id"].as_i64().unwrap();
        let pods_id = pods["id"].as_i64().unwrap();
        let del = |cred, id: i64| {
            srv.call("DELETE", &format!("/api/v1/searches/{id}"))
                .cred(cred)
                .send()
        };
        assert_eq!(del(analyst, mine_id).status, 403);
        assert_eq!(del(viewer, pods_id).status, 403);
        assert_eq!(del(analyst, pods_id).status, 204);
        assert_eq!(del(analyst, pods_id).status, 404);
        assert_eq!(del(admin, mine_id).status, 204);
        assert_eq!(
            list(&srv),
            [(
                "Pod exec".to_string(),
                "verb:create".to_string(),
                admin_name.clone()
            )]
        );
        // The console saves the search shown and deletes it (forms, analyst session).
        let page = srv
            .call("GET", "/events?q=verb%3Adelete")
            .cred(&roles.analyst.session)
            .header("accept", "text/html")
            .send()
            .expect(200);
        assert!(
            page.body.contains("action=\"/events/searches\""),
            "{}",
            page.body
        );
        let r = srv
            .call("POST", "/events/searches")
            .cred(&roles.analyst.session)
            .header("accept", "text/html")
            .body(
                "application/x-www-form-urlencoded",
                b"name=From+console&q=verb%3Adelete".to_vec(),
            )
            .send()
            .expect(303);
        assert_eq!(r.header("location"), Some("/events?q=verb%3Adelete"));
        let saved = list(&srv);
        assert_eq!(
            saved[0],
            (
                "From console".to_string(),
                "verb:delete".to_string(),
                analyst_name.clone()
            )
        );
        let id = srv.get("/api/v1/searches", viewer).json()["items"][0]["id"]
            .as_i64()
            .unwrap();
        srv.call("POST", &format!("/events/searches/{id}/delete"))
            .cred(&roles.analyst.session)
            .header("accept", "text/html")
            .body("application/x-www-form-urlencoded", Vec::new())
            .send()
            .expect(303);
        assert_eq!(list(&srv).len(), 1);
        // Viewers get neither form.
        let page = srv
            .call("GET", "/events?q=verb%3Adelete")
            .cred(&roles.viewer.session)
            .header("accept", "text/html")
            .send()
            .expect(200);
        assert!(!page.body.contains("/events/searches"), "{}", page.body);

        // Each change is audited.
        let audit = srv.audit(admin);
        let text = serde_json::to_string(&audit).unwrap();
        assert!(text.contains("search.create"), "{text}");
        assert!(text.contains("search.delete"), "{text}");
    });
}

/// The value of a metric line (`name{labels}` exactly as rendered).
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} not in {text}"))
}

#[test]
fn a_store_that_falls_behind_answers_429_and_loses_no_acknowledged_event() {
    use std::time::{Duration, Instant};
    let srv = Server::start(
        &harness::Db::Sqlite,
        "events-busy",
        Options {
            metrics_public: true,
            ..Options::default()
        },
    );
    let roles = srv.roles();
    let analyst = &roles.analyst.token;
    let batch = k8s_fixture("webhook-batch.json");
    let dropped = || {
        let m = srv.get("/metrics", &Cred::None).expect(200).body;
        metric(&m, "palisade_events_total{result=\"dropped\"}")
    };

    // The store takes nothing: a batch waits for it, then is refused with Retry-After.
    let hold = srv.running().hold_event_appends();
    let started = Instant::now();
    let r = ingest(
        &srv,
        "/ingest/k8s-audit?source=busy",
        analyst,
        batch.clone(),
    )
    .expect(429);
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.header("retry-after"), Some("2"), "{:?}", r.headers);
    assert!(
        r.json()["error"].as_str().unwrap().contains("busy"),
        "{}",
        r.body
    );
    let refused = dropped();
    assert!(refused > 0, "the refused events are counted as dropped");

    // A batch sent while the store is behind waits; once it catches up, it is stored.
    std::thread::scope(|s| {
        let waiting = s.spawn(|| {
            ingest(
                &srv,
                "/ingest/k8s-audit?source=waited",
                analyst,
                batch.clone(),
            )
            .expect(200)
            .json()
        });
        std::thread::sleep(Duration::from_millis(1500));
        drop(hold);
        let r = waiting.join().unwrap();
        assert_eq!(r["accepted"].as_u64(), Some(refused), "{r}");
    });

    // The sender retries the refused batch: stored once; nothing acknowledged is missing.
    let r = ingest(&srv, "/ingest/k8s-audit?source=busy", analyst, batch)
        .expect(200)
        .json();
    assert_eq!(r["accepted"].as_u64(), Some(refused), "{r}");
    assert_eq!(total(&srv, analyst, "source:busy"), refused);
    assert_eq!(total(&srv, analyst, "source:waited"), refused);
    assert_eq!(dropped(), refused);
}
