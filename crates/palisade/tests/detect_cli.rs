//! `palisade detect`, `palisade rules import sigma` and `palisade rules sigma` end to end, on
//! the built-in pack's fixtures, SigmaHQ rules and real CloudTrail files from the corpus
//! (`$PALISADE_CORPUS` or `../shared/corpus`; those parts are skipped with a message when it
//! is absent).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PALISADE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus"));
    if dir.join("sigma").is_dir() && dir.join("cloudtrail").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: corpus not found at {} (set PALISADE_CORPUS)",
            dir.display()
        );
        None
    }
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("palisade-detect-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(args)
        .env_remove("PALISADE_CONFIG")
        .output()
        .expect("run palisade")
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn pack_fixture(name: &str) -> String {
    workspace()
        .join("crates/palisade-detect/tests/data/pack")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn builtin_pack_on_audit_and_cloudtrail_files() {
    let out = run(&[
        "detect",
        &pack_fixture("pod_exec.json"),
        &pack_fixture("root_console_login.json"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let matches = lines(&out);
    assert!(matches.len() >= 2, "{matches:#?}");
    for m in &matches {
        for key in [
            "rule_id",
            "rule_title",
            "level",
            "type",
            "source",
            "file",
            "event",
        ] {
            assert!(!m[key].is_null(), "{key} missing: {m}");
        }
    }
    assert!(matches.iter().any(|m| m["source"] == "k8s_audit"));
    assert!(matches.iter().any(|m| m["source"] == "cloudtrail"));
    // The benign baseline: nothing, and --exit-code only applies when something matched.
    let out = run(&[
        "detect",
        "--exit-code",
        "3",
        &pack_fixture("baseline.ndjson"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty());
    let out = run(&["detect", "--exit-code", "3", &pack_fixture("pod_exec.json")]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn sigmahq_rules_over_real_cloudtrail_and_a_broken_file() {
    let Some(corpus) = corpus() else { return };
    let rules = corpus.join("sigma/rules/cloud/aws");
    let good = corpus.join("cloudtrail/aws.defense-evasion.cloudtrail-delete.json");
    let broken = corpus.join("cloudtrail/aws.execution.ec2-user-data.json");
    let out = run(&[
        "detect",
        "--rules",
        rules.to_str().unwrap(),
        good.to_str().unwrap(),
        broken.to_str().unwrap(),
    ]);
    // The broken file is reported with its position; the good one was still examined.
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("aws.execution.ec2-user-data.json:112:1: not valid JSON"),
        "{err}"
    );
    let matches = lines(&out);
    assert!(
        matches
            .iter()
            .any(|m| m["rule_id"] == "4db60cc0-36fb-42b7-9b58-a5b53019fb74"),
        "{matches:#?}"
    );
    assert!(matches.iter().all(|m| {
        m["file"]
            .as_str()
            .unwrap()
            .ends_with("cloudtrail-delete.json")
    }));
}

#[test]
fn windows_event_json_from_stdin_and_routing() {
    let Some(corpus) = corpus() else { return };
    let case = corpus.join(
        "sigma/regression_data/rules/windows/process_creation/proc_creation_win_bitsadmin_download",
    );
    let Some(json) = std::fs::read_dir(&case).ok().and_then(|d| {
        d.flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "json"))
    }) else {
        eprintln!("skipping: {} not in this corpus", case.display());
        return;
    };
    let info = std::fs::read_to_string(case.join("info.yml")).unwrap();
    let id = info
        .lines()
        .find_map(|l| l.trim().strip_prefix("- id:"))
        .unwrap()
        .trim()
        .to_owned();
    let rules = corpus.join("sigma/rules/windows/process_creation");
    let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["detect", "--rules", rules.to_str().unwrap(), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&json).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let matches = lines(&out);
    assert!(
        matches.iter().any(|m| m["rule_id"] == id.as_str()),
        "{id}: {matches:#?}"
    );
    assert!(matches.iter().all(|m| m["source"] == "windows"));
}

#[test]
fn import_keeps_good_rules_and_lists_the_rest() {
    let dir = tempdir("import");
    let src = dir.join("my-rules");
    std::fs::create_dir_all(src.join("k8s")).unwrap();
    std::fs::write(
        src.join("k8s/exec.yml"),
        "title: Exec by a human\nid: 9d0c4a5e-1111-4b5e-9c1d-0a2b3c4d5e6f\nstatus: test\nlevel: medium\n\
logsource:\n  product: kubernetes\n  service: audit\ndetection:\n  sel:\n    objectRef.subresource: exec\n  condition: sel\n",
    )
    .unwrap();
    std::fs::write(
        src.join("broken.yml"),
        "title: Broken\nlogsource:\n  product: linux\ndetection:\n  sel:\n    a|nosuchmodifier: x\n  condition: sel\n",
    )
    .unwrap();
    std::fs::write(src.join("notyaml.yml"), "title: [unclosed\n").unwrap();
    let data = dir.join("data");
    let out = run(&[
        "rules",
        "import",
        "sigma",
        src.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("2 files left out"), "{err}");
    assert!(
        err.contains("broken.yml") && err.contains("notyaml.yml"),
        "{err}"
    );
    assert!(err.contains("imported 1 files (1 rules)"), "{err}");
    assert!(data.join("rules/sigma/my-rules/k8s/exec.yml").is_file());
    assert!(!data.join("rules/sigma/my-rules/broken.yml").exists());

    let out = run(&[
        "rules",
        "sigma",
        "--format",
        "json",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"9d0c4a5e-1111-4b5e-9c1d-0a2b3c4d5e6f"));
    assert!(ids.len() > 20, "pack + import: {ids:?}");

    // A name that would leave the rules folder is refused.
    let out = run(&[
        "rules",
        "import",
        "sigma",
        src.to_str().unwrap(),
        "--name",
        "../escape",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.join("data/rules/escape").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
