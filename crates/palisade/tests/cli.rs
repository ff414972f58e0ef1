//! End-to-end tests of the `palisade` binary: real files in, exit codes, stderr and every
//! report format out.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_palisade"));
    c.env_remove("NO_COLOR");
    c
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PALISADE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: corpus not found at {} (set PALISADE_CORPUS)",
            dir.display()
        );
        None
    }
}

fn run(args: &[&str], dir: &Path) -> Output {
    bin()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("palisade-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const PRIVILEGED_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: apps\nspec:\n  containers:\n  - name: c\n    image: busybox:1.36\n    securityContext:\n      privileged: true\n";

#[test]
fn version_and_help() {
    let o = run(&["--version"], &workspace());
    assert!(o.status.success());
    assert_eq!(
        stdout(&o).trim(),
        format!("palisade {}", env!("CARGO_PKG_VERSION"))
    );
    let o = run(&["scan", "config", "--help"], &workspace());
    assert!(stdout(&o).contains("--exit-code"));
    // Usage errors exit 2.
    let o = run(&["scan", "config"], &workspace());
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["scan", "config", "-f", "xml", "."], &workspace());
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn rules_list_json_has_the_promised_fields_and_counts() {
    let o = run(&["rules", "list", "--format", "json"], &workspace());
    assert!(o.status.success());
    let rules = json(&o);
    let rules = rules.as_array().unwrap();
    for r in rules {
        for key in ["id", "title", "severity", "scanner", "controls"] {
            assert!(r.get(key).is_some(), "{r} lacks {key}");
        }
    }
    let count = |s: &str| rules.iter().filter(|r| r["scanner"] == s).count();
    assert!(
        count("kubernetes") >= 60,
        "{} kubernetes rules",
        count("kubernetes")
    );
    assert!(
        count("dockerfile") >= 12,
        "{} dockerfile rules",
        count("dockerfile")
    );
    let p = rules.iter().find(|r| r["id"] == "PAL-K8S-001").unwrap();
    assert_eq!(p["severity"], "CRITICAL");
    assert!(
        p["controls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "pss:baseline:privileged")
    );
}

#[test]
fn explain_prints_every_section_and_rejects_unknown_ids() {
    let o = run(&["explain", "pal-k8s-001"], &workspace());
    assert!(o.status.success());
    let text = stdout(&o);
    for section in [
        "What it does",
        "Why is this bad?",
        "Example",
        "Use instead",
        "References",
        "privileged: true",
    ] {
        assert!(text.contains(section), "missing {section}");
    }
    let o = run(&["explain", "PAL-K8S-999"], &workspace());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no rule \"PAL-K8S-999\""));
}

#[test]
fn rule_reference_in_docs_is_current() {
    let o = run(&["rules", "docs"], &workspace());
    let committed = std::fs::read_to_string(workspace().join("docs/rules.md")).unwrap_or_default();
    assert!(
        stdout(&o) == committed,
        "docs/rules.md is stale: run `cargo run -q -- rules docs > docs/rules.md`"
    );
}

#[test]
fn scan_examples_reports_lines_and_exit_codes() {
    let ws = workspace();
    let o = run(&["scan", "config", "-f", "json", "examples/k8s"], &ws);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report = json(&o);
    assert_eq!(report["schema_version"], 1);
    let findings = report["findings"].as_array().unwrap();
    let privileged = findings
        .iter()
        .find(|f| f["rule_id"] == "PAL-K8S-001")
        .expect("privileged container found");
    assert_eq!(privileged["location"]["path"], "examples/k8s/shop-web.yaml");
    assert_eq!(privileged["location"]["start_line"], 39);
    assert_eq!(privileged["resource"]["name"], "shop-web");
    // The hardened workload is clean.
    assert!(
        !findings
            .iter()
            .any(|f| f["location"]["path"] == "examples/k8s/shop-worker-hardened.yaml"),
        "hardened example has findings: {:#}",
        serde_json::Value::Array(
            findings
                .iter()
                .filter(|f| f["location"]["path"] == "examples/k8s/shop-worker-hardened.yaml")
                .cloned()
                .collect()
        )
    );

    let o = run(&["scan", "config", "--exit-code", "3", "examples/k8s"], &ws);
    assert_eq!(o.status.code(), Some(3));
    let o = run(
        &[
            "scan",
            "config",
            "--exit-code",
            "3",
            "--severity",
            "CRITICAL",
            "examples/k8s/shop-worker-hardened.yaml",
        ],
        &ws,
    );
    assert_eq!(o.status.code(), Some(0));
    let o = run(
        &["scan", "config", "--severity", "SEVERE", "examples/k8s"],
        &ws,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown severity"));
}

#[test]
fn severity_filter_and_dockerfile() {
    let o = run(
        &[
            "scan",
            "config",
            "-f",
            "json",
            "--severity",
            "high,critical",
            "examples",
        ],
        &workspace(),
    );
    let report = json(&o);
    let findings = report["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(
        findings
            .iter()
            .all(|f| f["severity"] == "HIGH" || f["severity"] == "CRITICAL")
    );
    assert!(
        findings
            .iter()
            .any(|f| f["location"]["path"] == "examples/docker/Dockerfile")
    );
}

#[test]
fn stdin_is_scanned() {
    let mut child = bin()
        .args(["scan", "config", "-f", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(PRIVILEGED_POD.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let report = json(&o);
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "PAL-K8S-001")
        .unwrap();
    assert_eq!(f["location"]["path"], "<stdin>");
    assert_eq!(f["location"]["start_line"], 11);
}

#[test]
fn bad_inputs_are_reported_and_the_scan_goes_on() {
    let d = tempdir("bad");
    std::fs::write(d.join("good.yaml"), PRIVILEGED_POD).unwrap();
    std::fs::write(
        d.join("broken.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n",
    )
    .unwrap();
    std::fs::write(d.join("binary.yaml"), b"apiVersion kind \0\0\x01\x02").unwrap();
    std::fs::write(
        d.join("latin1.yaml"),
        b"apiVersion: v1\nkind: ConfigMap\n# caf\xe9\n",
    )
    .unwrap();
    let big = format!(
        "apiVersion: v1\nkind: ConfigMap\ndata:\n  x: \"{}\"\n",
        "a".repeat(11 * 1024 * 1024)
    );
    std::fs::write(d.join("big.yaml"), big).unwrap();
    let deep = format!(
        "apiVersion: v1\nkind: ConfigMap\ndata: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    std::fs::write(d.join("deep.yaml"), deep).unwrap();
    std::fs::create_dir(d.join("loop")).unwrap();
    std::os::unix::fs::symlink("..", d.join("loop/up")).unwrap();
    std::os::unix::fs::symlink("b.yaml", d.join("a.yaml")).unwrap();
    std::os::unix::fs::symlink("a.yaml", d.join("b.yaml")).unwrap();
    std::os::unix::fs::symlink("missing.yaml", d.join("dangling.yaml")).unwrap();
    let outside = tempdir("bad-outside");
    std::fs::write(outside.join("secret.yaml"), PRIVILEGED_POD).unwrap();
    std::os::unix::fs::symlink(&outside, d.join("vendor")).unwrap();

    let o = run(
        &["scan", "config", "-f", "json", d.to_str().unwrap()],
        &workspace(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let report = json(&o);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "PAL-K8S-001")
    );
    let problems = report["problems"].as_array().unwrap();
    let find = |name: &str| {
        problems
            .iter()
            .find(|p| p["path"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("no problem for {name}: {problems:#?}"))
    };
    // The parser finds the unclosed `[` of line 4 at the end of the file.
    assert_eq!(find("broken.yaml")["line"], 5);
    assert!(
        find("broken.yaml")["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid YAML")
    );
    assert!(
        find("binary.yaml")["message"]
            .as_str()
            .unwrap()
            .contains("binary")
    );
    assert!(
        find("latin1.yaml")["message"]
            .as_str()
            .unwrap()
            .contains("UTF-8")
    );
    assert!(
        find("big.yaml")["message"]
            .as_str()
            .unwrap()
            .contains("10 MB")
    );
    assert!(
        find("deep.yaml")["message"]
            .as_str()
            .unwrap()
            .contains("nesting")
    );
    // Links are not followed: out of the tree with a note, in the tree silently (the target
    // is scanned where it is), broken or looping with a note.
    assert!(find("a.yaml")["message"].as_str().unwrap().contains("loop"));
    assert!(
        find("dangling.yaml")["message"]
            .as_str()
            .unwrap()
            .contains("broken symbolic link")
    );
    assert!(
        find("vendor")["message"]
            .as_str()
            .unwrap()
            .contains("outside the scanned folder")
    );
    assert!(
        !problems
            .iter()
            .any(|p| p["path"].as_str().unwrap().ends_with("up"))
    );
    assert!(
        !report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["location"]["path"].as_str().unwrap().contains("vendor")),
        "files behind a link out of the tree are not scanned"
    );
    // The same problems are on stderr as `path:line: message`.
    assert!(err.contains("broken.yaml:5: invalid YAML"), "{err}");

    // Nothing scannable at all: exit 2.
    let o = run(
        &["scan", "config", d.join("broken.yaml").to_str().unwrap()],
        &workspace(),
    );
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["scan", "config", "/nonexistent/palisade"], &workspace());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no such file or directory"));
}

#[test]
fn ignore_file_settings_file_and_annotations() {
    let d = tempdir("ignore");
    std::fs::create_dir(d.join(".git")).unwrap();
    std::fs::write(d.join("pod.yaml"), PRIVILEGED_POD).unwrap();
    std::fs::write(
        d.join(".palisadeignore.yaml"),
        "ignore:\n  - id: PAL-K8S-001\n    path: pod.yaml\n    reason: lab pod\n    expires: 2999-01-01\n  - id: PAL-K8S-015\n    expires: 2001-01-01\n",
    )
    .unwrap();
    std::fs::write(
        d.join("palisade.toml"),
        "[rules]\ndisable = [\"PAL-K8S-023\"]\n",
    )
    .unwrap();

    let o = run(&["scan", "config", "-f", "json", "pod.yaml"], &d);
    let report = json(&o);
    let findings = report["findings"].as_array().unwrap();
    assert!(
        !findings.iter().any(|f| f["rule_id"] == "PAL-K8S-001"),
        "suppressed findings are hidden"
    );
    assert!(
        !findings.iter().any(|f| f["rule_id"] == "PAL-K8S-023"),
        "disabled rule ran"
    );
    assert_eq!(report["summary"]["suppressed"], 1);
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["kind"] == "warning" && p["message"].as_str().unwrap().contains("expired")),
        "{problems:#?}"
    );

    let o = run(
        &[
            "scan",
            "config",
            "-f",
            "json",
            "--show-suppressed",
            "pod.yaml",
        ],
        &d,
    );
    let report = json(&o);
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "PAL-K8S-001")
        .unwrap();
    assert_eq!(f["suppressed"]["reason"], "lab pod");
    assert_eq!(f["suppressed"]["kind"], "ignore-file");

    // A broken settings file is a clear error naming the line.
    std::fs::write(d.join("palisade.toml"), "[rules]\ndisabel = []\n").unwrap();
    let o = run(&["scan", "config", "pod.yaml"], &d);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("palisade.toml:2: unknown field"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn sarif_is_valid_against_the_official_schema() {
    let o = run(&["scan", "config", "-f", "sarif", "examples"], &workspace());
    assert!(o.status.success());
    let sarif = json(&o);
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("schemas/sarif-schema-2.1.0.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let run0 = &sarif["runs"][0];
    let results = run0["results"].as_array().unwrap();
    let r = results
        .iter()
        .find(|r| r["ruleId"] == "PAL-K8S-001")
        .unwrap();
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "examples/k8s/shop-web.yaml");
    assert_eq!(loc["region"]["startLine"], 39);
    assert_eq!(loc["region"]["endLine"], 39);
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    let idx = r["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[idx]["id"], "PAL-K8S-001");
    assert!(
        rules[idx]["help"]["markdown"]
            .as_str()
            .unwrap()
            .contains("## Why is this bad?")
    );
}

#[test]
fn junit_has_one_failure_per_finding() {
    let o = run(
        &[
            "scan",
            "config",
            "-f",
            "junit",
            "examples/k8s/shop-rbac.yaml",
        ],
        &workspace(),
    );
    let xml = stdout(&o);
    assert!(xml.starts_with("<?xml"));
    let failures = xml.matches("<failure ").count();
    let o = run(
        &[
            "scan",
            "config",
            "-f",
            "json",
            "examples/k8s/shop-rbac.yaml",
        ],
        &workspace(),
    );
    let total = json(&o)["findings"].as_array().unwrap().len();
    assert_eq!(failures, total);
    assert!(xml.contains(&format!("failures=\"{total}\"")));
}

#[test]
fn output_file_and_completions() {
    let d = tempdir("out");
    let out = d.join("r.sarif");
    let o = run(
        &[
            "scan",
            "config",
            "-f",
            "sarif",
            "-o",
            out.to_str().unwrap(),
            "examples/k8s",
        ],
        &workspace(),
    );
    assert!(o.status.success());
    assert!(stdout(&o).is_empty());
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("\"version\": \"2.1.0\"")
    );
    for shell in ["bash", "zsh", "fish"] {
        let o = run(&["completions", shell], &workspace());
        assert!(o.status.success());
        assert!(stdout(&o).contains("palisade"));
    }
}

#[test]
fn pss_level_is_reported_per_workload() {
    let o = run(
        &[
            "scan",
            "config",
            "--pss",
            "restricted",
            "-f",
            "json",
            "examples/k8s",
        ],
        &workspace(),
    );
    let report = json(&o);
    let pss = report["pss"].as_array().unwrap();
    let level = |name: &str| {
        pss.iter()
            .find(|p| p["resource"]["name"] == name)
            .map(|p| p["level"].as_str().unwrap().to_string())
    };
    assert_eq!(level("shop-web").as_deref(), Some("privileged"));
    assert_eq!(level("shop-worker").as_deref(), Some("restricted"));
    // Only PSS rules ran.
    for f in report["findings"].as_array().unwrap() {
        assert!(
            f["controls"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c.as_str().unwrap().starts_with("pss:")),
            "{f}"
        );
    }
}

/// Compares output with a file under tests/snapshots; `PALISADE_UPDATE_SNAPSHOTS=1` rewrites it.
fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("PALISADE_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("missing snapshot {name}; run with PALISADE_UPDATE_SNAPSHOTS=1")
    });
    if expected != actual {
        let diff_line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "snapshot {name} differs at line {}:\n  expected: {:?}\n  actual:   {:?}\n(rerun with PALISADE_UPDATE_SNAPSHOTS=1 after checking)",
            diff_line + 1,
            expected.lines().nth(diff_line),
            actual.lines().nth(diff_line)
        );
    }
}

#[test]
fn snapshots_of_full_reports() {
    let Some(corpus) = corpus() else { return };
    let cases = [
        (
            "frontend",
            "k8s/microservices-demo/kubernetes-manifests/frontend.yaml",
        ),
        ("pss-hostports", "pss/baseline/v1.37/fail/hostports0.yaml"),
    ];
    for (name, path) in cases {
        for (fmt, ext) in [("table", "txt"), ("json", "json"), ("sarif", "sarif")] {
            let o = run(&["scan", "config", "--no-color", "-f", fmt, path], &corpus);
            assert!(o.status.success(), "{}", stderr(&o));
            snapshot(&format!("{name}.{ext}"), &stdout(&o));
        }
    }
    let o = run(
        &["scan", "config", "--no-color", "examples/docker/Dockerfile"],
        &workspace(),
    );
    snapshot("dockerfile.txt", &stdout(&o));
}

#[test]
fn go_templates_inside_strings_do_not_hide_a_file() {
    let d = tempdir("tmpl");
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: alerts}}\ndata:\n  slack.tmpl: |\n    {{{{- range .Alerts }}}}{{{{ .Labels.alertname }}}}\n    {{{{ end }}}}\n---\n{PRIVILEGED_POD}"
    );
    std::fs::write(d.join("f.yaml"), &text).unwrap();
    let o = run(&["scan", "config", "-f", "json", "f.yaml"], &d);
    let report = json(&o);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "PAL-K8S-001"),
        "{report}"
    );
    // A real Helm template (invalid YAML until rendered) is skipped once, and a scan of
    // nothing but templates exits 2.
    std::fs::write(
        d.join("t.yaml"),
        "apiVersion: v1\nkind: Pod\n{{- if .Values.x }}\nspec: {}\n{{- end }}\n",
    )
    .unwrap();
    let o = run(&["scan", "config", "t.yaml"], &d);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not scanned: template"));
}

#[test]
fn nothing_to_scan_and_bad_flags_exit_2() {
    let mut child = bin()
        .args(["scan", "config", "--exit-code", "1", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdin.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("standard input is empty"));
    let o = run(
        &["scan", "config", "--severity", ",", "examples/k8s"],
        &workspace(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("empty list"));
}

#[test]
fn settings_are_case_insensitive_and_stay_inside_the_project() {
    let d = tempdir("settings");
    std::fs::create_dir_all(d.join("repo/.git")).unwrap();
    std::fs::create_dir_all(d.join("repo/deploy/app")).unwrap();
    std::fs::write(d.join("repo/deploy/app/pod.yaml"), PRIVILEGED_POD).unwrap();
    // Above the repository: must not apply.
    std::fs::write(
        d.join("palisade.toml"),
        "[rules]\ndisable = [\"PAL-K8S-001\"]\n",
    )
    .unwrap();
    std::fs::write(
        d.join("repo/palisade.toml"),
        "[rules]\nseverity = { \"pal-k8s-001\" = \"low\" }\n",
    )
    .unwrap();
    std::fs::write(
        d.join("repo/.palisadeignore.yaml"),
        "ignore:\n  - id: PAL-K8S-015\n    path: deploy/app/**\n",
    )
    .unwrap();
    // Scanning from a subfolder: settings and ignore file of the project root apply, and the
    // ignore glob is relative to the ignore file's folder.
    let o = run(
        &["scan", "config", "-f", "json", "."],
        &d.join("repo/deploy"),
    );
    let report = json(&o);
    let findings = report["findings"].as_array().unwrap();
    let p = findings
        .iter()
        .find(|f| f["rule_id"] == "PAL-K8S-001")
        .expect("not disabled from above the repository");
    assert_eq!(p["severity"], "LOW");
    assert!(
        !findings.iter().any(|f| f["rule_id"] == "PAL-K8S-015"),
        "ignore entry applies"
    );
    assert!(stderr(&o).contains("note: using settings from"));
}

#[test]
fn credentials_stay_out_of_reports_and_terminal_escapes_are_neutralised() {
    let d = tempdir("redact");
    std::fs::write(
        d.join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"p\\e[2Kx\"\nspec:\n  containers:\n  - name: c\n    image: x:1\n    env:\n    - name: DB_PASSWORD\n      value: hunter2hunter2\n    - name: OTHER\n      value: plain\n",
    )
    .unwrap();
    for fmt in ["table", "json", "sarif", "junit"] {
        let o = run(&["scan", "config", "-f", fmt, "pod.yaml"], &d);
        let out = stdout(&o);
        assert!(out.contains("PAL-K8S-031"), "{fmt}: {out}");
        assert!(!out.contains("hunter2"), "{fmt} leaks the credential");
    }
    let o = run(&["scan", "config", "pod.yaml"], &d);
    assert!(
        !stdout(&o).contains('\u{1b}'),
        "raw escape reached the terminal"
    );
    assert!(stdout(&o).contains("\\u{1b}"));
}

#[test]
fn junit_reports_unreadable_inputs_as_errors() {
    let d = tempdir("junit");
    std::fs::write(d.join("ok.yaml"), PRIVILEGED_POD).unwrap();
    std::fs::write(
        d.join("broken.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: [\n",
    )
    .unwrap();
    let o = run(&["scan", "config", "-f", "junit", "."], &d);
    let xml = stdout(&o);
    assert!(xml.contains("errors=\"1\""), "{xml}");
    assert!(xml.contains("<error message=\"invalid YAML"), "{xml}");
}

#[test]
fn disabled_rules_do_not_change_the_pss_level() {
    let d = tempdir("psslevel");
    std::fs::create_dir(d.join(".git")).unwrap();
    std::fs::write(d.join("pod.yaml"), PRIVILEGED_POD).unwrap();
    std::fs::write(
        d.join("palisade.toml"),
        "[rules]\ndisable = [\"PAL-K8S-001\"]\n",
    )
    .unwrap();
    let o = run(
        &[
            "scan", "config", "--pss", "baseline", "-f", "json", "pod.yaml",
        ],
        &d,
    );
    let report = json(&o);
    assert_eq!(report["pss"][0]["level"], "privileged");
    assert!(
        !report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "PAL-K8S-001")
    );
}

#[test]
fn the_webhook_deployment_manifests_are_clean() {
    // deploy/ is what users apply to run the admission webhook: it must pass every built-in
    // rule and meet the restricted Pod Security Standard.
    let o = run(
        &["scan", "config", "deploy", "--exit-code", "1", "--no-color"],
        &workspace(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("no findings"), "{}", stdout(&o));
    let o = run(
        &[
            "scan",
            "config",
            "--pss",
            "restricted",
            "deploy",
            "--exit-code",
            "1",
        ],
        &workspace(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("restricted  Deployment/palisade-webhook"),
        "{}",
        stdout(&o)
    );
}
