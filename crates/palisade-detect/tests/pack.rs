//! The built-in pack: each rule fires on a realistic Kubernetes audit event or CloudTrail record
//! (fixtures in `tests/data/pack/`), the correlations fire on a realistic sequence and not on a
//! shorter or slower one, a benign baseline raises nothing, every rule carries its metadata,
//! and `docs/detections.md` is what `pack_docs()` renders.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use palisade_detect::{Detector, Input, Match, MatchKind, Options, Origin, RuleSet, SourceKind};
use serde_json::Value;

const SEC: i64 = 1_000_000_000;
/// 2026-11-27T10:00:00Z, the fixtures' time.
const T0: i64 = 1_795_773_600 * SEC;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/pack")
        .join(name)
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(data(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn detector() -> Detector {
    let rules = RuleSet::builtin();
    assert!(rules.errors.is_empty(), "{:?}", rules.errors);
    let det = Detector::new(&rules, Options::default()).unwrap();
    assert!(det.errors.is_empty(), "{:?}", det.errors);
    det
}

fn ids(matches: &[Match]) -> BTreeSet<String> {
    matches.iter().map(|m| m.rule_id.clone()).collect()
}

/// The id of the pack rule whose title is `title`.
fn id_of(title: &str) -> String {
    RuleSet::builtin()
        .infos()
        .into_iter()
        .find(|i| i.title == title)
        .unwrap_or_else(|| panic!("no pack rule titled {title:?}"))
        .id
}

const EXEC: &str = "25192673-a4bd-4ebd-bfab-f5989dffbf3b";
const PRIVILEGED: &str = "3c6b4a2a-5fb2-4668-be55-d28a416e56c5";
const HOSTPATH: &str = "8b85cd73-ecf8-49ff-8313-9514aada9f9d";
const HOST_NS: &str = "84291eda-d026-45e3-8763-215dd75f52b9";
const CLUSTER_ADMIN: &str = "a6d142ce-daa1-4a8f-9638-1cfafe68ff98";
const SECRETS_LISTED: &str = "711971fb-b41d-4db4-bfe1-330ff7ff3f24";
const ANONYMOUS: &str = "527a4d84-45fe-411d-a466-f512552254c8";
const SA_TOKEN: &str = "8146b52c-8ee1-4586-84d4-dddb727f2414";
const CRONJOB: &str = "cb596f6e-3b74-491d-ac5f-22c11ad50d02";
const WEBHOOK: &str = "395433db-f36a-4ec7-9080-a951d62746d9";
const WILDCARD: &str = "a6277339-8bef-45d6-9539-813fee583d0b";
const MASS_SECRETS: &str = "7bd4d324-7052-4f45-b2f3-1efd769f76f8";
const DENIED_THEN_ALLOWED: &str = "fba744f4-1acd-4eee-a143-9e67ad13d23d";
const ROOT_LOGIN: &str = "5512dd84-4073-4fe6-8464-a9e0998004ca";
const NO_MFA: &str = "620fe8f2-a069-40b8-b364-ddfe304069b2";
const ACCESS_KEY: &str = "edae228f-92dd-4583-8553-53b3747ae760";
const TRAIL_STOPPED: &str = "61285eda-a776-43a6-9c22-1dcd431a7ad0";
const SG_OPEN: &str = "71d8ea03-cc61-400e-9f41-ca9e2fae2b7c";

/// (fixture, source, the rules that must fire on it and no others)
const CASES: &[(&str, SourceKind, &[&str])] = &[
    ("pod_exec.json", SourceKind::K8sAudit, &[EXEC]),
    (
        "privileged_container.json",
        SourceKind::K8sAudit,
        &[PRIVILEGED],
    ),
    (
        "privileged_container-daemonset.json",
        SourceKind::K8sAudit,
        &[PRIVILEGED],
    ),
    ("hostpath_mount.json", SourceKind::K8sAudit, &[HOSTPATH]),
    ("host_namespaces.json", SourceKind::K8sAudit, &[HOST_NS]),
    (
        "cluster_admin_binding.json",
        SourceKind::K8sAudit,
        &[CLUSTER_ADMIN],
    ),
    (
        "secrets_listed.json",
        SourceKind::K8sAudit,
        &[SECRETS_LISTED],
    ),
    (
        "anonymous_request_allowed.json",
        SourceKind::K8sAudit,
        &[ANONYMOUS],
    ),
    (
        "serviceaccount_token_requested.json",
        SourceKind::K8sAudit,
        &[SA_TOKEN],
    ),
    ("cronjob_kube_system.json", SourceKind::K8sAudit, &[CRONJOB]),
    (
        "admission_webhook_changed.json",
        SourceKind::K8sAudit,
        &[WEBHOOK],
    ),
    ("wildcard_rbac_role.json", SourceKind::K8sAudit, &[WILDCARD]),
    (
        "root_console_login.json",
        SourceKind::CloudTrail,
        &[ROOT_LOGIN],
    ),
    (
        "console_login_without_mfa.json",
        SourceKind::CloudTrail,
        &[NO_MFA],
    ),
    (
        "access_key_created.json",
        SourceKind::CloudTrail,
        &[ACCESS_KEY],
    ),
    (
        "cloudtrail_stopped.json",
        SourceKind::CloudTrail,
        &[TRAIL_STOPPED],
    ),
    (
        "security_group_open_to_world.json",
        SourceKind::CloudTrail,
        &[SG_OPEN],
    ),
];

#[test]
fn builtin_pack_loads_without_errors() {
    let rules = RuleSet::builtin();
    assert!(rules.errors.is_empty(), "{:?}", rules.errors);
    let det = Detector::new(&rules, Options::default()).unwrap();
    assert!(det.errors.is_empty(), "{:?}", det.errors);
    assert_eq!(rules.len(), 22);
    assert_eq!(det.rule_count(), 22);
    assert!(det.has_correlations());
}

#[test]
fn each_rule_fires_on_its_event() {
    let det = detector();
    for (name, source, expected) in CASES {
        let event = fixture(name);
        // By the source the event came in on, and recognised from its fields.
        for source in [Some(*source), None] {
            let got = ids(&det.evaluate(Input {
                event: &event,
                source,
                time_ns: Some(T0),
            }));
            let want: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
            assert_eq!(got, want, "{name} (source {source:?})");
        }
    }
}

#[test]
fn every_detection_rule_has_a_fixture() {
    let infos = RuleSet::builtin().infos();
    let covered: BTreeSet<&str> = CASES
        .iter()
        .flat_map(|(_, _, ids)| ids.iter().copied())
        .chain([MASS_SECRETS, DENIED_THEN_ALLOWED])
        .collect();
    for i in &infos {
        // Informational rules and the intermediate correlation only feed a correlation.
        if i.level == Some("informational") || i.title == "Repeated Denied Kubernetes API Requests"
        {
            continue;
        }
        assert!(
            covered.contains(i.id.as_str()),
            "{} ({}) has no fixture",
            i.title,
            i.id
        );
    }
}

#[test]
fn matches_name_the_entities() {
    let det = detector();
    let event = fixture("pod_exec.json");
    let m = det.evaluate(Input {
        event: &event,
        source: Some(SourceKind::K8sAudit),
        time_ns: Some(T0),
    });
    assert_eq!(m.len(), 1);
    let e = &m[0].entities;
    assert_eq!(e["user"], "alice@example.com");
    assert_eq!(e["namespace"], "payments");
    assert_eq!(e["pod"], "api-7d9f6c5b8-x2kqp");
    assert_eq!(e["source_ip"], "203.0.113.24");
    assert_eq!(m[0].level, Some("medium"));
    assert!(m[0].tags.iter().any(|t| t == "attack.t1609"));
}

#[test]
fn pod_spec_rules_need_the_kubernetes_pipeline() {
    // `privileged`, `hostPath` and `hostNetwork` are pipeline fields; without the shipped
    // pipelines they name nothing in the audit event.
    let rules = RuleSet::builtin();
    let det = Detector::new(
        &rules,
        Options {
            no_builtin_pipelines: true,
            ..Options::default()
        },
    )
    .unwrap();
    for name in [
        "privileged_container.json",
        "hostpath_mount.json",
        "host_namespaces.json",
    ] {
        let event = fixture(name);
        let got = det.evaluate(Input {
            event: &event,
            source: Some(SourceKind::K8sAudit),
            time_ns: Some(T0),
        });
        assert!(got.is_empty(), "{name}: {:?}", ids(&got));
    }
}

/// Feed `events` (each with its time) and return the correlation matches.
fn correlations(det: &mut Detector, events: &[(Value, i64)]) -> Vec<Match> {
    let mut out = Vec::new();
    for (event, t) in events {
        let ms = det.process(Input {
            event,
            source: Some(SourceKind::K8sAudit),
            time_ns: Some(*t),
        });
        // Only correlations: the rules they count raise nothing of their own.
        for m in &ms {
            assert_eq!(
                m.kind,
                MatchKind::Correlation,
                "unexpected detection {}",
                m.rule_title
            );
        }
        out.extend(ms);
    }
    out
}

fn secret_gets(n: usize, step_secs: i64) -> Vec<(Value, i64)> {
    let template = fixture("secret_get.json");
    (0..n)
        .map(|i| {
            let mut e = template.clone();
            let name = format!("app-secret-{i}");
            e["objectRef"]["name"] = Value::String(name.clone());
            e["requestURI"] = Value::String(format!("/api/v1/namespaces/payments/secrets/{name}"));
            (e, T0 + i as i64 * step_secs * SEC)
        })
        .collect()
}

#[test]
fn mass_secret_reads_fire_at_twenty_within_five_minutes() {
    let mut det = detector();
    let got = correlations(&mut det, &secret_gets(20, 10));
    assert_eq!(ids(&got), BTreeSet::from([MASS_SECRETS.to_owned()]));
    let m = got.iter().find(|m| m.rule_id == MASS_SECRETS).unwrap();
    assert_eq!(m.correlation_type.as_deref(), Some("event_count"));
    assert_eq!(m.value, Some(20.0));
    assert_eq!(
        m.group,
        vec![(
            "user.username".to_owned(),
            "system:serviceaccount:payments:default".to_owned()
        )]
    );
    assert_eq!(m.level, Some("high"));
}

#[test]
fn correlation_alerts_keep_their_newest_events() {
    // Off by default: nothing is kept.
    let mut det = detector();
    let got = correlations(&mut det, &secret_gets(20, 10));
    assert!(got[0].events.is_empty());

    let rules = RuleSet::builtin();
    let options = || Options {
        correlation_events: 15,
        ..Options::default()
    };
    let mut det = Detector::new(&rules, options()).unwrap();
    let reads = secret_gets(20, 10);
    let feed = |det: &mut Detector, events: &[(Value, i64)]| -> Vec<Match> {
        let mut out = Vec::new();
        for (i, (event, t)) in events.iter().enumerate() {
            let input = Input {
                event,
                source: Some(SourceKind::K8sAudit),
                time_ns: Some(*t),
            };
            // Kept from the text it came as (marked here, to see that it is the text that is
            // kept), or from the value.
            let mut marked = event.clone();
            marked["via"] = Value::from("text");
            let text = serde_json::to_string_pretty(&marked).unwrap();
            let origin = Origin {
                source: "k8s-audit",
                id: None,
                raw_json: (i % 2 == 0).then_some(text.as_str()),
            };
            out.extend(det.process_from(input, Some(origin)));
        }
        out
    };
    // Half before a restart, half after: the kept events are part of the saved state.
    assert!(feed(&mut det, &reads[..10]).is_empty());
    let saved = det.export_state().unwrap();
    // A state saved before events were kept (the engine's snapshot alone) still loads.
    let engine: Value = serde_json::from_str::<Value>(&saved).unwrap()["engine"].clone();
    assert!(engine.is_object(), "{saved}");
    Detector::new(&rules, options())
        .unwrap()
        .import_state(&engine.to_string())
        .unwrap();
    let mut det = Detector::new(&rules, options()).unwrap();
    det.import_state(&saved).unwrap();
    let got = feed(&mut det, &reads[10..]);
    assert_eq!(ids(&got), BTreeSet::from([MASS_SECRETS.to_owned()]));
    let kept = &got[0].events;
    // The newest fifteen, oldest first, the completing read last, as they came in: five from
    // before the restart.
    assert_eq!(kept.len(), 15);
    for (i, (k, (event, t))) in kept.iter().zip(&reads[5..]).enumerate() {
        assert_eq!(k.time_ns, Some(*t));
        assert_eq!(k.source.as_deref(), Some("k8s-audit"));
        let mut want = event.clone();
        if (5 + i) % 2 == 0 {
            want["via"] = Value::from("text");
        }
        assert_eq!(k.event, want, "read {}", 5 + i);
    }
    let json = serde_json::to_value(&got[0]).unwrap();
    assert_eq!(
        json["events"][14]["event"]["objectRef"]["name"],
        "app-secret-19"
    );

    // Firing again, a correlation carries only what it counted since.
    let more = secret_gets(22, 10);
    let got = feed(&mut det, &more[20..]);
    assert_eq!(got.len(), 2, "{:?}", ids(&got));
    for (m, (event, _)) in got.iter().zip(&more[20..]) {
        assert_eq!(m.events.len(), 1);
        assert_eq!(
            m.events[0].event["objectRef"]["name"],
            event["objectRef"]["name"]
        );
    }
}

#[test]
fn chained_correlations_keep_no_events() {
    let options = Options {
        correlation_events: 20,
        ..Options::default()
    };
    let mut det = Detector::new(&RuleSet::builtin(), options).unwrap();
    let got = correlations(&mut det, &denied_then_allowed(6, 20));
    let m = got
        .iter()
        .find(|m| m.rule_id == DENIED_THEN_ALLOWED)
        .unwrap();
    // Its direct input is every allowed request: keeping those would fill the alert with
    // routine traffic. The server shows the completing event instead.
    assert!(m.events.is_empty(), "{:?}", m.events);
}

#[test]
fn mass_secret_reads_quiet_below_threshold_or_spread_out() {
    let mut det = detector();
    assert!(correlations(&mut det, &secret_gets(19, 10)).is_empty());
    // 20 reads, one every 20 s: 380 s from first to last, never 20 within 5 minutes.
    let mut det = detector();
    assert!(correlations(&mut det, &secret_gets(20, 20)).is_empty());
}

fn denied_then_allowed(denied: usize, step_secs: i64) -> Vec<(Value, i64)> {
    let fail = fixture("request_unauthorized.json");
    let ok = fixture("request_allowed.json");
    let mut out: Vec<(Value, i64)> = (0..denied)
        .map(|i| (fail.clone(), T0 + i as i64 * step_secs * SEC))
        .collect();
    out.push((ok, T0 + denied as i64 * step_secs * SEC));
    out
}

#[test]
fn repeated_denials_then_success_fire() {
    let mut det = detector();
    let got = correlations(&mut det, &denied_then_allowed(6, 20));
    assert!(
        got.iter().any(|m| m.rule_id == DENIED_THEN_ALLOWED),
        "{:?}",
        ids(&got)
    );
    let m = got
        .iter()
        .find(|m| m.rule_id == DENIED_THEN_ALLOWED)
        .unwrap();
    assert_eq!(m.correlation_type.as_deref(), Some("temporal_ordered"));
    assert_eq!(
        m.group,
        vec![("sourceIPs[0]".to_owned(), "185.220.101.4".to_owned())]
    );
    assert_eq!(m.level, Some("high"));
    // The intermediate burst correlation feeds the chain and raises nothing itself.
    assert_eq!(ids(&got), BTreeSet::from([DENIED_THEN_ALLOWED.to_owned()]));
}

#[test]
fn too_few_denials_or_too_slow_stay_quiet() {
    let mut det = detector();
    assert!(correlations(&mut det, &denied_then_allowed(4, 20)).is_empty());
    // Five denials over 12 minutes never make five within 10.
    let mut det = detector();
    assert!(correlations(&mut det, &denied_then_allowed(5, 180)).is_empty());
    // Success first, denials after: the order matters.
    let mut det = detector();
    let mut seq = denied_then_allowed(6, 20);
    let ok = seq.pop().unwrap();
    seq.insert(0, (ok.0, T0 - 10 * SEC));
    assert!(correlations(&mut det, &seq).is_empty());
    // Success from another address.
    let mut det = detector();
    let mut seq = denied_then_allowed(6, 20);
    seq.last_mut().unwrap().0["sourceIPs"] = serde_json::json!(["10.0.3.15"]);
    assert!(correlations(&mut det, &seq).is_empty());
}

#[test]
fn benign_baseline_is_quiet() {
    let text = std::fs::read_to_string(data("baseline.ndjson")).unwrap();
    let events: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events.len() >= 200, "{} events", events.len());
    let mut det = detector();
    let mut k8s = 0;
    for (i, event) in events.iter().enumerate() {
        // Sources recognised from the events' own fields, as `palisade detect` does.
        let kind = SourceKind::recognise(event);
        assert!(
            matches!(kind, SourceKind::K8sAudit | SourceKind::CloudTrail),
            "line {}: recognised as {kind:?}",
            i + 1
        );
        k8s += usize::from(kind == SourceKind::K8sAudit);
        let got = det.process(Input {
            event,
            source: None,
            time_ns: Some(T0 - 3600 * SEC + i as i64 * 2 * SEC),
        });
        assert!(
            got.is_empty(),
            "line {}: {:?}",
            i + 1,
            got.iter().map(|m| &m.rule_title).collect::<Vec<_>>()
        );
    }
    assert!(k8s >= 150 && events.len() - k8s >= 50, "{k8s} audit events");
}

#[test]
fn every_pack_rule_is_documented() {
    let rules = RuleSet::builtin();
    for i in rules.infos() {
        let what = format!("{} ({})", i.title, i.origin);
        assert!(uuid_like(&i.id), "{what}: id {:?} is not a UUID", i.id);
        assert!(
            i.tags.iter().any(|t| t.starts_with("attack.t")),
            "{what}: no ATT&CK technique tag"
        );
        assert!(
            i.tags.iter().any(|t| t.strip_prefix("attack.").is_some_and(
                |x| !x.starts_with('t') || !x[1..].starts_with(|c: char| c.is_ascii_digit())
            )),
            "{what}: no ATT&CK tactic tag"
        );
        if i.product.as_deref() == Some("kubernetes") || i.origin.contains("kubernetes/") {
            assert!(
                i.tags.iter().any(|t| t.starts_with("tmk.ms-ta9")),
                "{what}: no Threat Matrix for Kubernetes tag"
            );
        }
        assert!(
            i.description.as_deref().is_some_and(|d| d.len() > 40),
            "{what}: description"
        );
        assert!(!i.falsepositives.is_empty(), "{what}: falsepositives");
        assert!(!i.references.is_empty(), "{what}: references");
        assert!(
            matches!(i.status.as_deref(), Some("stable" | "test")),
            "{what}: status"
        );
        assert!(i.level.is_some(), "{what}: level");
    }
    // `response` is a custom attribute the parser keeps; the rendered doc shows it for each rule.
    let doc = palisade_detect::pack_docs();
    assert_eq!(
        doc.matches("**Response.**").count(),
        rules.len(),
        "every rule renders a response"
    );
}

fn uuid_like(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[test]
fn titles_are_unique_and_ids_stable() {
    assert_eq!(id_of("Command Run in a Pod Through exec or attach"), EXEC);
    let infos = RuleSet::builtin().infos();
    let titles: BTreeSet<&str> = infos.iter().map(|i| i.title.as_str()).collect();
    assert_eq!(titles.len(), infos.len());
}

/// `docs/detections.md` is generated from the rules; regenerate it with
/// `PALISADE_UPDATE_DOCS=1 cargo test -p palisade-detect --test pack`.
#[test]
fn detections_doc_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/detections.md");
    let want = palisade_detect::pack_docs();
    if std::env::var_os("PALISADE_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is out of date; regenerate it with PALISADE_UPDATE_DOCS=1 cargo test -p palisade-detect --test pack",
        path.display()
    );
}
