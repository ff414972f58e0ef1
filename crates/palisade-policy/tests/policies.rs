//! Policies written the way conftest's and Trivy's documentation write them, evaluated
//! against real inputs: what each produces, with which id, severity and line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use palisade_core::{Report, RuleDoc, Scanner, Severity};
use palisade_misconfig::Input;
use palisade_policy::{
    InputKind, PolicyError, PolicyOptions, PolicySet, PolicySources, RuleKind, ScanOptions,
    TestStatus,
};

fn set(policies: &[(&str, &str)]) -> PolicySet {
    PolicySet::from_texts(policies, &[], PolicyOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("palisade-policy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

const DEPLOYMENT_JSON: &str = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"app":"web"}},
"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:latest"}]}}}}"#;

/// conftest's README example, in the Rego v0 syntax older policies use.
const CONFTEST_V0: &str = r#"package main

deny[msg] {
  input.kind == "Deployment"
  not input.spec.template.spec.securityContext.runAsNonRoot

  msg := "Containers must not run as root"
}

deny[msg] {
  input.kind == "Deployment"
  not input.spec.selector.matchLabels.app

  msg := "Containers must provide app label for pod selectors"
}
"#;

/// The same kind of policy in Rego v1, with warn, violation and prefixed rules returning
/// objects.
const CONFTEST_V1: &str = r#"package kubernetes.images

import rego.v1

warn contains msg if {
  some c in input.spec.template.spec.containers
  endswith(c.image, ":latest")
  msg := sprintf("%s uses a latest tag", [c.name])
}

violation_registry contains {"msg": msg, "field": path, "image": c.image} if {
  some i, c in input.spec.template.spec.containers
  not startswith(c.image, "registry.example.com/")
  msg := sprintf("%s is not from registry.example.com", [c.image])
  path := sprintf("spec.template.spec.containers[%d].image", [i])
}

denylist := ["x"]
"#;

#[test]
fn conftest_policies_deny_warn_and_violation() {
    let s = set(&[
        ("policy/main.rego", CONFTEST_V0),
        ("policy/images.rego", CONFTEST_V1),
    ]);
    let rules: Vec<(&str, RuleKind, Severity)> = s
        .rules()
        .iter()
        .map(|r| (r.info.id.as_str(), r.kind, r.info.severity))
        .collect();
    assert_eq!(
        rules,
        [
            ("main.deny", RuleKind::Deny, Severity::High),
            ("kubernetes.images.warn", RuleKind::Warn, Severity::Low),
            (
                "kubernetes.images.violation_registry",
                RuleKind::Violation,
                Severity::High
            ),
        ]
    );
    // `denylist` is not a rule name.
    let mut results = s.evaluate(DEPLOYMENT_JSON, InputKind::Kubernetes).unwrap();
    results.sort_by(|a, b| a.message.cmp(&b.message));
    let short: Vec<(&str, &str, Option<String>)> = results
        .iter()
        .map(|r| (r.rule_id.as_str(), r.message.as_str(), r.field_text()))
        .collect();
    assert_eq!(
        short,
        [
            ("main.deny", "Containers must not run as root", None),
            (
                "main.deny",
                "Containers must provide app label for pod selectors",
                None
            ),
            (
                "kubernetes.images.violation_registry",
                "nginx:latest is not from registry.example.com",
                Some("spec.template.spec.containers[0].image".to_string())
            ),
            ("kubernetes.images.warn", "web uses a latest tag", None),
        ]
    );
    let v = results
        .iter()
        .find(|r| r.rule == "violation_registry")
        .unwrap();
    assert_eq!(v.details["image"], "nginx:latest", "other keys are kept");
    assert_eq!(v.kind, RuleKind::Violation);
}

/// Trivy's documented custom check, the older way: `__rego_metadata__` and `__rego_input__`.
const TRIVY_REGO_METADATA: &str = r#"package user.kubernetes.ID001

__rego_metadata__ := {
    "id": "ID001",
    "title": "Deployment not allowed",
    "severity": "LOW",
    "type": "Custom Kubernetes Check",
    "description": "Deployments are not allowed because of some reasons.",
    "recommended_actions": "Use a StatefulSet.",
    "url": "https://example.com/id001",
}

__rego_input__ := {
    "selector": [
        {"type": "kubernetes"},
    ],
}

deny[msg] {
    input.kind == "Deployment"
    msg = sprintf("Found deployment '%s' but deployments are not allowed", [input.metadata.name])
}
"#;

/// Trivy's documented custom check, the newer way: `# METADATA` and `result.new`.
const TRIVY_ANNOTATED: &str = r#"# METADATA
# title: Dockerfile without USER
# description: Containers run as root unless the Dockerfile switches user.
# schemas:
#   - input: schema["dockerfile"]
# related_resources:
# - https://docs.docker.com/reference/dockerfile/#user
# custom:
#   id: ID002
#   avd_id: AVD-USR-ID002
#   severity: CRITICAL
#   recommended_action: Add a USER instruction.
#   input:
#     selector:
#     - type: dockerfile
package user.dockerfile.ID002

deny[res] {
    not any_user
    res := result.new("Specify a USER", {})
}

any_user {
    input[_].Cmd == "user"
}
"#;

#[test]
fn trivy_checks_metadata_and_selectors() {
    let s = set(&[
        ("checks/id001.rego", TRIVY_REGO_METADATA),
        ("checks/id002.rego", TRIVY_ANNOTATED),
    ]);
    let infos = s.rule_infos();
    let id1 = infos.iter().find(|r| r.id == "ID001").unwrap();
    assert_eq!(id1.title, "Deployment not allowed");
    assert_eq!(id1.severity, Severity::Low);
    assert_eq!(id1.scanner, Scanner::Custom);
    assert_eq!(id1.kinds, ["Kubernetes"]);
    assert_eq!(id1.fix, "Use a StatefulSet.");
    let doc = RuleDoc::parse(&id1.doc).unwrap();
    assert!(
        doc.what
            .starts_with("Deployments are not allowed because of some reasons.")
    );
    assert!(doc.references.contains("https://example.com/id001"));
    let id2 = infos.iter().find(|r| r.id == "ID002").unwrap();
    assert_eq!(
        (id2.severity, id2.kinds.as_slice()),
        (Severity::Critical, &["Dockerfile".to_string()][..])
    );
    assert_eq!(id2.fix, "Add a USER instruction.");
    assert!(
        RuleDoc::parse(&id2.doc)
            .unwrap()
            .references
            .contains("https://docs.docker.com/reference/dockerfile/#user")
    );

    // Each package sees only the inputs its selector names.
    let k8s = s.evaluate(DEPLOYMENT_JSON, InputKind::Kubernetes).unwrap();
    assert_eq!(k8s.len(), 1);
    assert_eq!(k8s[0].rule_id, "ID001");
    assert_eq!(
        k8s[0].message,
        "Found deployment 'web' but deployments are not allowed"
    );
    let (df, _) = palisade_policy::input::dockerfile_input("FROM alpine:3.20\nRUN apk add curl\n");
    let docker = s.evaluate(&df.to_string(), InputKind::Dockerfile).unwrap();
    assert_eq!(docker.len(), 1);
    assert_eq!(
        (docker[0].rule_id.as_str(), docker[0].message.as_str()),
        ("ID002", "Specify a USER")
    );
    let (df, _) = palisade_policy::input::dockerfile_input("FROM alpine:3.20\nUSER app\n");
    assert!(
        s.evaluate(&df.to_string(), InputKind::Dockerfile)
            .unwrap()
            .is_empty()
    );
}

/// conftest's Dockerfile example (examples/docker/policy/images.rego and commands.rego).
#[test]
fn dockerfile_input_in_conftest_shape() {
    let images = r#"package main
import rego.v1

denylist := ["openjdk"]

deny contains msg if {
	some i
	input[i].Cmd == "from"
	val := input[i].Value
	contains(val[i], denylist[_])

	msg = sprintf("unallowed image found %s", [val])
}
"#;
    let commands = r#"package commands
import rego.v1

denylist := [
	"apk",
	"apt",
	"pip",
	"curl",
	"wget",
]

deny contains msg if {
	some i
	input[i].Cmd == "run"
	val := input[i].Value
	contains(val[_], denylist[_])

	msg := sprintf("unallowed commands found %s", [val])
}
"#;
    let s = set(&[("images.rego", images), ("commands.rego", commands)]);
    let dockerfile = "FROM openjdk:8-jdk-alpine\n\nVOLUME /tmp\n\nARG DEPENDENCY=target/dependency\n\nCOPY ${DEPENDENCY}/BOOT-INF/lib /app/lib\n\nRUN apk add --no-cache python3 python3-dev build-base && pip3 install awscli==1.18.1\n\nENTRYPOINT [\"java\",\"-cp\",\"app:app/lib/*\",\"hello.Application\"]\n";
    let dir = tempdir("docker");
    write(&dir, "Dockerfile", dockerfile);
    let mut report = Report::new("config", vec![]);
    palisade_policy::scan(
        &mut report,
        &[Input::Path(dir.clone())],
        &s,
        &ScanOptions::default(),
    );
    report.finish();
    let mut got: Vec<(String, Option<u32>, String)> = report
        .findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.location.start_line, f.message.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "commands.deny".to_string(),
                None,
                "unallowed commands found [\"apk add --no-cache python3 python3-dev build-base && pip3 install awscli==1.18.1\"]".to_string()
            ),
            ("main.deny".to_string(), None, "unallowed image found [\"openjdk:8-jdk-alpine\"]".to_string()),
        ]
    );
    assert_eq!(report.files[0].kind, "dockerfile");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn findings_point_at_the_field_line() {
    let policy = r#"package lines
import rego.v1

deny contains {"msg": "image not pinned", "field": sprintf("spec.template.spec.containers[%d].image", [i])} if {
  some i, c in input.spec.template.spec.containers
  endswith(c.image, ":latest")
}

deny contains {"msg": "no team label", "path": ["metadata", "labels", "team"]} if {
  not input.metadata.labels.team
}

warn contains "plain message" if input.kind == "Deployment"

warn_loc contains {"msg": "conftest location", "_loc": {"file": "x", "line": 3}} if true
"#;
    let s = set(&[("lines.rego", policy)]);
    let dir = tempdir("lines");
    let manifest = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n  labels:\n    app: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: sidecar\n        image: envoy:1.30\n      - name: web\n        image: nginx:latest\n";
    write(&dir, "deploy.yaml", manifest);
    let mut report = Report::new("config", vec![]);
    palisade_policy::scan(
        &mut report,
        &[Input::Path(dir.clone())],
        &s,
        &ScanOptions::default(),
    );
    report.finish();
    let got: Vec<(u32, &str, &str, Option<String>)> = report
        .findings
        .iter()
        .filter(|f| f.resource.as_ref().is_some_and(|r| r.kind == "Deployment"))
        .map(|f| {
            (
                f.location.start_line.unwrap(),
                f.rule_id.as_str(),
                f.message.as_str(),
                f.field.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (3, "lines.warn_loc", "conftest location", None),
            (7, "lines.warn", "plain message", None),
            (
                12,
                "lines.deny",
                "no team label",
                Some("metadata.labels.team".into())
            ),
            (
                21,
                "lines.deny",
                "image not pinned",
                Some("spec.template.spec.containers[1].image".into())
            ),
        ]
    );
    let image = report
        .findings
        .iter()
        .find(|f| f.message == "image not pinned")
        .unwrap();
    assert_eq!(image.severity, Severity::High);
    assert!(
        image
            .code
            .iter()
            .any(|c| c.highlight && c.text.contains("nginx:latest"))
    );
    let r = image.resource.as_ref().unwrap();
    assert_eq!(
        (r.name.as_str(), r.namespace.as_deref()),
        ("web", Some("shop"))
    );
    assert_eq!(report.rules.len(), 3);
    assert_eq!(report.files[0].resources, 2);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn data_files_from_files_and_folders() {
    let dir = tempdir("data");
    write(
        &dir,
        "policy/registries.rego",
        "package registries\nimport rego.v1\n\ndeny contains msg if {\n  some c in input.spec.containers\n  not startswith(c.image, data.allowed[_])\n  msg := sprintf(\"%s: %v %v\", [c.image, data.allowed, data.teams.owners])\n}\n",
    );
    write(
        &dir,
        "data/registries.yaml",
        "allowed:\n  - registry.example.com/\n",
    );
    write(
        &dir,
        "data/teams/owners.json",
        "{\"owners\": [\"payments\"]}",
    );
    let sources = PolicySources {
        policies: vec![dir.join("policy")],
        data: vec![dir.join("data")],
    };
    let s = PolicySet::load(&sources, PolicyOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"docker.io/nginx"}]}}"#;
    let r = s.evaluate(pod, InputKind::Kubernetes).unwrap();
    // A file in `teams/` lands under data.teams, as OPA loads folders.
    assert_eq!(
        r[0].message,
        "docker.io/nginx: [\"registry.example.com/\"] [\"payments\"]"
    );

    // A broken data file is reported with its line and column.
    write(&dir, "data/bad.yaml", "allowed: [unclosed\n");
    let e = PolicySet::load(&sources, PolicyOptions::default()).unwrap_err();
    assert_eq!(e.problems.len(), 1);
    let p = &e.problems[0];
    assert!(p.path.ends_with("data/bad.yaml") && p.line.is_some(), "{p}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn parse_errors_name_file_line_and_column() {
    let dir = tempdir("parse");
    write(
        &dir,
        "good.rego",
        "package good\nimport rego.v1\ndeny contains \"x\" if false\n",
    );
    write(
        &dir,
        "sub/broken.rego",
        "package broken\nimport rego.v1\n\ndeny contains msg if {\n  msg := \n}\n",
    );
    write(
        &dir,
        "v0.rego",
        "package old\n\ndeny[msg] {\n  msg := sprintf(\"%s\" [1])\n}\n",
    );
    write(&dir, "nopkg.rego", "deny contains 1 if true\n");
    write(
        &dir,
        "meta.rego",
        "# METADATA\n# title: [unclosed\npackage meta\nimport rego.v1\ndeny contains 1 if true\n",
    );
    let e = PolicySet::load(
        &PolicySources {
            policies: vec![dir.clone()],
            data: vec![],
        },
        PolicyOptions::default(),
    )
    .unwrap_err();
    let base = dir.to_string_lossy().to_string();
    let lines: Vec<String> = e
        .problems
        .iter()
        .map(|p| p.to_string().replace(&base, "DIR"))
        .collect();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(
        lines[0].starts_with("DIR/meta.rego:3:1: METADATA is not valid YAML: "),
        "{lines:#?}"
    );
    assert_eq!(lines[1], "DIR/nopkg.rego:1:1: no `package` declaration");
    assert_eq!(
        lines[2],
        "DIR/sub/broken.rego:5:7: expecting `}` while parsing set"
    );
    assert!(lines[3].starts_with("DIR/v0.rego:3:"), "{lines:#?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn runtime_errors_are_reported_not_raised() {
    let failing = "package failing\nimport rego.v1\n\ndeny contains msg if {\n  n := to_number(input.metadata.name)\n  msg := sprintf(\"%d\", [n])\n}\n";
    let fine = "package fine\nimport rego.v1\n\ndeny contains \"still evaluated\" if input.kind\n";
    let s = set(&[("failing.rego", failing), ("fine.rego", fine)]);
    match s.evaluate(DEPLOYMENT_JSON, InputKind::Kubernetes) {
        Err(PolicyError::Evaluation {
            rule_id, problem, ..
        }) => {
            assert_eq!(rule_id, "failing.deny");
            assert_eq!(
                (problem.path.as_str(), problem.line),
                ("failing.rego", Some(5))
            );
        }
        other => panic!("{other:?}"),
    }
    let all = s
        .evaluate_all(DEPLOYMENT_JSON, InputKind::Kubernetes)
        .unwrap();
    assert_eq!(all.errors.len(), 1);
    assert_eq!(all.results.len(), 1);
    assert_eq!(all.results[0].message, "still evaluated");
    assert!(matches!(
        s.evaluate("{not json", InputKind::Kubernetes),
        Err(PolicyError::Input(_))
    ));

    // In a scan it becomes a problem of the input, and the scan goes on.
    let dir = tempdir("runtime");
    write(
        &dir,
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n",
    );
    let mut report = Report::new("config", vec![]);
    palisade_policy::scan(
        &mut report,
        &[Input::Path(dir.clone())],
        &s,
        &ScanOptions::default(),
    );
    report.finish();
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.problems.len(), 1);
    let p = &report.problems[0];
    assert!(p.path.ends_with("pod.yaml") && p.line == Some(1), "{p}");
    assert!(
        p.message
            .starts_with("custom rule failing.deny failed on this input: failing.rego:5:"),
        "{p}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_runaway_policy_is_stopped_by_the_time_limit() {
    let slow = "package slow\nimport rego.v1\n\ndeny contains msg if {\n  n := count([1 | some x in numbers.range(1, 5000); some y in numbers.range(1, 5000)])\n  msg := sprintf(\"%d\", [n])\n}\n";
    let s = PolicySet::from_texts(
        &[("slow.rego", slow)],
        &[],
        PolicyOptions {
            time_limit: Duration::from_millis(100),
        },
    )
    .unwrap();
    let start = std::time::Instant::now();
    let e = s.evaluate("{}", InputKind::Json).unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(e.to_string().contains("time limit"), "{e}");
}

#[test]
fn evaluation_from_many_threads_agrees() {
    let s = set(&[
        ("policy/main.rego", CONFTEST_V0),
        ("policy/images.rego", CONFTEST_V1),
    ]);
    let expected = s
        .evaluate(DEPLOYMENT_JSON, InputKind::Kubernetes)
        .unwrap()
        .len();
    std::thread::scope(|scope| {
        for t in 0..8 {
            let s = s.clone();
            scope.spawn(move || {
                for i in 0..50 {
                    let input = DEPLOYMENT_JSON.replace("\"web\"", &format!("\"web-{t}-{i}\""));
                    let r = s.evaluate(&input, InputKind::Kubernetes).unwrap();
                    assert_eq!(r.len(), expected);
                    assert!(
                        r.iter()
                            .any(|r| r.message.contains(&format!("web-{t}-{i}")))
                    );
                }
            });
        }
    });
}

#[test]
fn reload_picks_up_changes() {
    let dir = tempdir("reload");
    let file = write(
        &dir,
        "p.rego",
        "package p\nimport rego.v1\ndeny contains \"one\" if true\n",
    );
    let sources = PolicySources {
        policies: vec![dir.clone()],
        data: vec![],
    };
    let first = PolicySet::load(&sources, PolicyOptions::default()).unwrap();
    assert!(!first.is_stale());
    assert_eq!(
        first.evaluate("{}", InputKind::Json).unwrap()[0].message,
        "one"
    );
    std::fs::write(
        &file,
        "package p\nimport rego.v1\ndeny contains \"two, longer\" if true\n",
    )
    .unwrap();
    assert!(first.is_stale());
    let second = first.reload().unwrap();
    assert_eq!(
        second.evaluate("{}", InputKind::Json).unwrap()[0].message,
        "two, longer"
    );
    // The old set still answers with what it was built from.
    assert_eq!(
        first.evaluate("{}", InputKind::Json).unwrap()[0].message,
        "one"
    );
    write(&dir, "q.rego", "package q\n");
    assert!(second.is_stale(), "a new file counts");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn tests_pass_fail_and_error() {
    let policy = "package t\nimport rego.v1\n\ndeny contains \"no\" if input.bad\n";
    let tests = "package t_test\nimport rego.v1\nimport data.t\n\ntest_bad_is_denied if {\n  t.deny == {\"no\"} with input as {\"bad\": true}\n}\n\ntest_wrong_expectation if {\n  print(\"checking\")\n  count(t.deny) == 1 with input as {}\n}\n\ntest_error if {\n  to_number(\"x\") == 1\n}\n\ntodo_test_later if false\n";
    let s = set(&[("t.rego", policy), ("t_test.rego", tests)]);
    let outcomes = s.run_tests();
    let got: Vec<(&str, &TestStatus)> = outcomes
        .iter()
        .map(|o| (o.case.name.as_str(), &o.status))
        .collect();
    assert_eq!(got[0], ("test_bad_is_denied", &TestStatus::Pass));
    assert_eq!(got[1], ("test_wrong_expectation", &TestStatus::Fail));
    assert!(matches!(got[2], ("test_error", TestStatus::Error(_))));
    assert_eq!(got[3], ("todo_test_later", &TestStatus::Skip));
    assert_eq!(outcomes[1].prints.len(), 1);
    assert!(
        outcomes[1].prints[0].contains("checking"),
        "{:?}",
        outcomes[1].prints
    );
    assert_eq!(
        (outcomes[0].case.file.as_str(), outcomes[0].case.line),
        ("t_test.rego", 5)
    );
}

#[test]
fn disabled_and_reseveritied_rules_in_a_scan() {
    let s = set(&[
        ("policy/main.rego", CONFTEST_V0),
        ("policy/images.rego", CONFTEST_V1),
    ]);
    let dir = tempdir("opts");
    write(&dir, "d.json", DEPLOYMENT_JSON);
    let opts = ScanOptions {
        disabled: ["MAIN.DENY".to_string()].into(),
        severity_overrides: [("kubernetes.images.warn".to_string(), Severity::Critical)].into(),
        ..ScanOptions::default()
    };
    let mut report = Report::new("config", vec![]);
    palisade_policy::scan(&mut report, &[Input::Path(dir.clone())], &s, &opts);
    report.finish();
    let got: Vec<(&str, Severity)> = report
        .findings
        .iter()
        .map(|f| (f.rule_id.as_str(), f.severity))
        .collect();
    assert_eq!(
        got,
        // The JSON's second line holds the containers.
        [
            ("kubernetes.images.warn", Severity::Critical),
            ("kubernetes.images.violation_registry", Severity::High)
        ]
    );
    let warn_rule = report
        .rules
        .iter()
        .find(|r| r.id == "kubernetes.images.warn")
        .unwrap();
    assert_eq!(warn_rule.severity, Severity::Critical);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn plain_json_and_yaml_documents() {
    let policy = "package config\nimport rego.v1\n\ndeny contains {\"msg\": \"debug is on\", \"field\": \"server.debug\"} if input.server.debug\n";
    let s = set(&[("c.rego", policy)]);
    let dir = tempdir("plain");
    write(&dir, "app.yaml", "server:\n  port: 8080\n  debug: true\n");
    write(
        &dir,
        "app.json",
        "{\n  \"server\": {\n    \"debug\": true\n  }\n}\n",
    );
    for (kind, file, line) in [
        (InputKind::Yaml, "app.yaml", 3),
        (InputKind::Json, "app.json", 3),
    ] {
        let mut report = Report::new("config", vec![]);
        let opts = ScanOptions {
            input_type: Some(kind),
            ..ScanOptions::default()
        };
        palisade_policy::scan(&mut report, &[Input::Path(dir.clone())], &s, &opts);
        report.finish();
        assert_eq!(report.findings.len(), 1, "{kind:?}");
        let f = &report.findings[0];
        assert!(f.location.path.ends_with(file));
        assert_eq!(f.location.start_line, Some(line));
        assert_eq!(report.files[0].kind, kind.as_str());
    }
    std::fs::remove_dir_all(dir).unwrap();
}
