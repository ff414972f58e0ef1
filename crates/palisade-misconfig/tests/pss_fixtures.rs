//! The official Pod Security Standards conformance fixtures
//! (kubernetes/pod-security-admission `test/testdata`, latest version v1.37):
//! every `fail/<checkid>N.yaml` must be reported by a rule implementing that check at that
//! level, and no `pass/*.yaml` may be reported by any PSS rule of that level or below.

mod common;

use std::path::Path;

use palisade_misconfig::pss::{self, PssLevel};
use palisade_misconfig::{Input, ScanOptions, scan};

/// At Restricted, these Baseline checks are replaced by a Restricted check that rejects
/// what they reject (reference implementation's `OverrideCheckIDs`).
const OVERRIDES: &[(&str, &str)] = &[
    ("capabilities_baseline", "capabilities_restricted"),
    ("seccompProfile_baseline", "seccompProfile_restricted"),
    ("hostPathVolumes", "restrictedVolumes"),
    ("procMount", "procMount_restricted"),
];

fn check_id(file: &Path) -> String {
    let stem = file.file_stem().unwrap().to_str().unwrap();
    let prefix = stem.trim_end_matches(|c: char| c.is_ascii_digit());
    pss::BASELINE_CHECKS
        .iter()
        .chain(pss::RESTRICTED_CHECKS)
        .find(|id| id.eq_ignore_ascii_case(prefix))
        .unwrap_or_else(|| panic!("no PSS check named like {}", file.display()))
        .to_string()
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

fn run(level: PssLevel) {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let root = corpus.join("pss").join(level.as_str()).join("v1.37");
    let opts = ScanOptions {
        pss: Some(level),
        ..ScanOptions::default()
    };
    let mut failures = Vec::new();
    let fail_files = files(&root.join("fail"));
    assert!(fail_files.len() > 30);
    for file in &fail_files {
        let check = check_id(file);
        let mut accepted = vec![format!("pss:{}:{check}", level.as_str())];
        if level == PssLevel::Restricted {
            accepted.push(format!("pss:baseline:{check}"));
            if let Some((_, over)) = OVERRIDES.iter().find(|(b, _)| *b == check) {
                accepted.push(format!("pss:restricted:{over}"));
            }
        }
        let report = scan(&[Input::Path(file.clone())], &opts);
        assert!(
            report.problems.is_empty(),
            "{}: {:?}",
            file.display(),
            report.problems
        );
        let hit = report
            .findings
            .iter()
            .any(|f| f.controls.iter().any(|c| accepted.contains(c)));
        if !hit {
            let got: Vec<_> = report
                .findings
                .iter()
                .map(|f| (&f.rule_id, &f.controls))
                .collect();
            failures.push(format!(
                "{}: expected one of {accepted:?}, got {got:?}",
                file.display()
            ));
        }
        // The level reported for the pod agrees: it does not meet the level.
        let met = &report.pss[0].level;
        let ok = match level {
            PssLevel::Baseline => met == "privileged",
            PssLevel::Restricted => met != "restricted",
        };
        if !ok {
            failures.push(format!("{}: reported as meeting {met}", file.display()));
        }
    }
    for file in files(&root.join("pass")) {
        let report = scan(&[Input::Path(file.clone())], &opts);
        assert!(
            report.problems.is_empty(),
            "{}: {:?}",
            file.display(),
            report.problems
        );
        if !report.findings.is_empty() {
            let got: Vec<_> = report
                .findings
                .iter()
                .map(|f| (&f.rule_id, &f.message))
                .collect();
            failures.push(format!("{}: should pass, got {got:?}", file.display()));
        }
        let met = &report.pss[0].level;
        if met != level.as_str() && !(level == PssLevel::Baseline && met == "restricted") {
            failures.push(format!("{}: reported as meeting {met}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn baseline_fixtures() {
    run(PssLevel::Baseline);
}

#[test]
fn restricted_fixtures() {
    run(PssLevel::Restricted);
}
