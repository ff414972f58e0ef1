//! Detection in `palisade serve`: stored events run through the Sigma rules and become alerts
//! (deduplicated by rule and entities); correlation windows survive a restart. On SQLite and
//! (with `PALISADE_TEST_POSTGRES`) PostgreSQL. Audit events are in the API server's shape.

#[allow(dead_code)]
#[path = "platform/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use harness::{Cred, Options, Server, each_backend};
use serde_json::{Value, json};

fn audit(i: u32, user: &str, verb: &str, resource: &str, sub: Option<&str>, code: u16) -> Value {
    let mut object_ref =
        json!({"resource": resource, "namespace": "prod", "name": "web-7d9f", "apiVersion": "v1"});
    if let Some(s) = sub {
        object_ref["subresource"] = json!(s);
    }
    json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": format!("6f3c2a1e-0000-4000-8000-{i:012}"), "stage": "ResponseComplete",
        "requestURI": format!("/api/v1/namespaces/prod/{resource}/web-7d9f{}", sub.map(|s| format!("/{s}?command=sh&stdin=true&tty=true")).unwrap_or_default()),
        "verb": verb,
        "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": ["10.20.0.15"], "userAgent": "kubectl/v1.30.1 (linux/amd64) kubernetes/6911225",
        "objectRef": object_ref,
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": format!("2024-05-01T12:00:{:02}.000000Z", i % 60),
        "stageTimestamp": format!("2024-05-01T12:00:{:02}.004000Z", i % 60),
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}
    })
}

/// The alert's detail once its count reaches `count` (detection runs on its own thread);
/// fails after 20 s.
fn alert_at_count(srv: &Server, cred: &Cred, id: i64, count: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let d = srv
            .get(&format!("/api/v1/alerts/{id}"), cred)
            .expect(200)
            .json();
        if d["count"] == count || Instant::now() > deadline {
            assert_eq!(d["count"], count, "{d}");
            return d;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn send(srv: &Server, cred: &Cred, items: Vec<Value>) {
    let body = json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {}, "items": items});
    srv.call("POST", "/ingest/k8s-audit")
        .cred(cred)
        .body("application/json", serde_json::to_vec(&body).unwrap())
        .send()
        .expect(200);
}

/// Alerts, polled until `want` of them are there (detection runs behind ingest) or 20 s pass.
fn alerts(srv: &Server, cred: &Cred, want: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = srv.get("/api/v1/alerts?limit=100", cred).expect(200).json();
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= want || Instant::now() > deadline {
            return items;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn builtin_pack_turns_stored_audit_events_into_deduplicated_alerts() {
    each_backend("detect_builtin", |db| {
        let srv = Server::start(db, "detect-builtin", Options::default());
        let roles = srv.roles();
        let analyst = &roles.analyst.token;
        // A benign read, then an exec into a pod.
        send(
            &srv,
            analyst,
            vec![
                audit(1, "alice@example.com", "get", "pods", None, 200),
                audit(
                    2,
                    "mallory@example.com",
                    "create",
                    "pods",
                    Some("exec"),
                    101,
                ),
            ],
        );
        let items = alerts(&srv, analyst, 1);
        let exec: Vec<&Value> = items
            .iter()
            .filter(|a| {
                a["rule_title"]
                    .as_str()
                    .unwrap_or("")
                    .to_lowercase()
                    .contains("exec")
            })
            .collect();
        assert_eq!(exec.len(), 1, "one exec alert: {items:#?}");
        let a = exec[0];
        assert_eq!(a["entities"]["user"], "mallory@example.com", "{a}");
        assert_eq!(a["entities"]["namespace"], "prod", "{a}");
        assert_eq!(a["entities"]["pod"], "web-7d9f", "{a}");
        assert_eq!(a["count"], 1);
        assert!(
            a["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t.as_str().unwrap().starts_with("attack.t")),
            "ATT&CK technique tag: {a}"
        );
        // Nothing fired on alice's read.
        assert!(
            items
                .iter()
                .all(|a| a["entities"]["user"] != "alice@example.com"),
            "{items:#?}"
        );

        // The same exec again: counted on the same alert, not a new one.
        send(
            &srv,
            analyst,
            vec![audit(
                3,
                "mallory@example.com",
                "create",
                "pods",
                Some("exec"),
                101,
            )],
        );
        let id = a["id"].as_i64().unwrap();
        let detail = alert_at_count(&srv, analyst, id, 2);
        let again = alerts(&srv, analyst, 1);
        assert_eq!(
            again
                .iter()
                .filter(|x| x["rule_id"] == a["rule_id"])
                .count(),
            1,
            "deduplicated: {again:#?}"
        );
        // The alert carries the matching event.
        assert_eq!(
            detail["events"][0]["event"]["objectRef"]["subresource"], "exec",
            "{detail}"
        );
        // ... and its id in the event store, which finds it there.
        let id = detail["events"][0]["event_id"].as_str().unwrap();
        let stored = srv
            .get(&format!("/api/v1/events/{id}"), analyst)
            .expect(200)
            .json();
        assert_eq!(stored["fields"], detail["events"][0]["event"], "{stored}");
        // The console's alert page links to it.
        let page = srv
            .call("GET", &format!("/alerts/{id_alert}", id_alert = a["id"]))
            .cred(&roles.analyst.session)
            .header("accept", "text/html")
            .send()
            .expect(200)
            .body;
        assert!(
            page.contains(&format!("href=\"/api/v1/events/{id}\"")),
            "{page}"
        );
    });
}

const COUNT_RULES: &str = r#"
title: Pod deleted
name: pod_deleted
id: 0b0e9a1c-7a55-4c0e-9d1e-2f1c5d8e0a01
status: test
level: low
logsource:
    product: kubernetes
    service: audit
detection:
    selection:
        verb: delete
        objectRef.resource: pods
    condition: selection
---
title: Many pods deleted by one user
id: 0b0e9a1c-7a55-4c0e-9d1e-2f1c5d8e0a02
status: test
level: high
tags:
    - attack.impact
    - attack.t1485
correlation:
    type: event_count
    rules:
        - pod_deleted
    group-by:
        - user.username
    timespan: 10m
    condition:
        gte: 5
"#;

#[test]
fn correlation_windows_survive_a_restart() {
    each_backend("detect_restart", |db| {
        let rules = std::env::temp_dir().join(format!(
            "palisade-detect-rules-{}-{}",
            std::process::id(),
            db.name()
        ));
        std::fs::create_dir_all(&rules).unwrap();
        std::fs::write(rules.join("pods.yml"), COUNT_RULES).unwrap();
        let detect: toml::Value = toml::from_str(&format!(
            "builtin = false\nrules = [{:?}]\ndisable = [\"0b0e9a1c-7a55-4c0e-9d1e-2f1c5d8e0a01\"]\n",
            rules.display().to_string()
        ))
        .unwrap();
        let mut srv = Server::start(
            db,
            "detect-restart",
            Options {
                detect: Some(detect),
                ..Options::default()
            },
        );
        let roles = srv.roles();
        let analyst = roles.analyst.token.clone();
        let deletes = |from: u32, n: u32| -> Vec<Value> {
            (from..from + n)
                .map(|i| audit(i, "eve@example.com", "delete", "pods", None, 200))
                .collect()
        };
        send(&srv, &analyst, deletes(10, 3));
        // The base rule is deselected: it feeds the correlation and raises nothing itself.
        std::thread::sleep(Duration::from_millis(800));
        assert!(alerts(&srv, &analyst, 0).is_empty());

        srv.restart();
        assert!(
            srv.data_dir().join("detection-state.json").is_file(),
            "state saved at shutdown: {:?}",
            std::fs::read_dir(srv.data_dir())
                .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
        );
        send(&srv, &analyst, deletes(20, 1));
        std::thread::sleep(Duration::from_millis(800));
        assert!(
            alerts(&srv, &analyst, 0).is_empty(),
            "4 deletions: below the threshold"
        );
        send(&srv, &analyst, deletes(30, 1));
        let items = alerts(&srv, &analyst, 1);
        assert_eq!(items.len(), 1, "{items:#?}");
        assert_eq!(items[0]["rule_title"], "Many pods deleted by one user");
        assert_eq!(items[0]["correlation"], true);
        assert_eq!(
            items[0]["entities"]["user.username"], "eve@example.com",
            "{}",
            items[0]
        );
        // The alert shows the five deletions it counted, the three from before the restart
        // first, each with its own time and source.
        let id = items[0]["id"].as_i64().unwrap();
        let detail = srv
            .get(&format!("/api/v1/alerts/{id}"), &analyst)
            .expect(200)
            .json();
        let events = detail["events"].as_array().unwrap();
        let ids: Vec<&str> = events
            .iter()
            .map(|e| e["event"]["auditID"].as_str().unwrap_or(""))
            .collect();
        let want: Vec<String> = [10, 11, 12, 20, 30]
            .iter()
            .map(|i| format!("6f3c2a1e-0000-4000-8000-{i:012}"))
            .collect();
        assert_eq!(ids, want, "{detail}");
        // Each with its id in the event store, kept across the restart.
        for e in events {
            let id = e["event_id"]
                .as_str()
                .unwrap_or_else(|| panic!("no id: {e}"));
            let stored = srv
                .get(&format!("/api/v1/events/{id}"), &analyst)
                .expect(200)
                .json();
            assert_eq!(stored["fields"], e["event"], "{id}");
        }
        let times: Vec<i64> = events
            .iter()
            .map(|e| e["time_ns"].as_i64().unwrap())
            .collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
        assert!(
            events.iter().all(|e| e["source"] == "k8s-audit"),
            "{detail}"
        );
        // A sixth deletion fires the correlation again: the alert counts it and adds that one
        // event, not the five again.
        send(&srv, &analyst, deletes(40, 1));
        let detail = alert_at_count(&srv, &analyst, id, 2);
        let ids: Vec<&str> = detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"]["auditID"].as_str().unwrap_or(""))
            .collect();
        let want: Vec<String> = [10, 11, 12, 20, 30, 40]
            .iter()
            .map(|i| format!("6f3c2a1e-0000-4000-8000-{i:012}"))
            .collect();
        assert_eq!(ids, want, "{detail}");
        let _ = std::fs::remove_dir_all(&rules);
    });
}
