//! Registry-wide invariants: every rule is complete and documented.

use std::collections::HashSet;

use palisade_core::RuleDoc;

use super::*;

#[test]
fn every_rule_has_a_unique_id_a_full_doc_and_valid_controls() {
    let rules = builtin_rules();
    let mut ids = HashSet::new();
    for m in &rules {
        assert!(ids.insert(m.id), "duplicate id {}", m.id);
        let ok_id = (m.id.starts_with("PAL-K8S-") || m.id.starts_with("PAL-DF-"))
            && m.id.rsplit('-').next().unwrap().len() == 3;
        assert!(ok_id, "bad id {}", m.id);
        RuleDoc::parse(m.doc).unwrap_or_else(|e| panic!("{}: {e}", m.id));
        assert!(
            !m.title.is_empty() && !m.fix.is_empty() && !m.kinds.is_empty(),
            "{}",
            m.id
        );
        assert!(
            m.doc.contains("```"),
            "{}: doc needs before/after code",
            m.id
        );
        for c in m.controls {
            let parts: Vec<&str> = c.split(':').collect();
            match parts.as_slice() {
                ["pss", level, check] => {
                    let list = match *level {
                        "baseline" => pss::BASELINE_CHECKS,
                        "restricted" => pss::RESTRICTED_CHECKS,
                        _ => panic!("{}: bad PSS level in {c}", m.id),
                    };
                    assert!(list.contains(check), "{}: unknown PSS check in {c}", m.id);
                }
                ["nsa", s] | ["cis", s] => assert!(!s.is_empty(), "{}: {c}", m.id),
                _ => panic!("{}: control {c} is not pss:/nsa:/cis:", m.id),
            }
        }
    }
}

#[test]
fn file_types_by_name() {
    for (name, t) in [
        ("deploy/app.yaml", Some(FileType::Kubernetes)),
        ("x.YML", Some(FileType::Kubernetes)),
        ("a.json", Some(FileType::Kubernetes)),
        ("Dockerfile", Some(FileType::Dockerfile)),
        ("api.Dockerfile", Some(FileType::Dockerfile)),
        ("Dockerfile.dev", Some(FileType::Dockerfile)),
        ("Containerfile", Some(FileType::Dockerfile)),
        ("main.rs", None),
    ] {
        assert_eq!(FileType::from_name(Path::new(name)), t, "{name}");
    }
}

#[test]
fn text_decoding_explains_problems() {
    assert!(
        decode_text(vec![0xFF, 0xFE, 0x41, 0])
            .unwrap_err()
            .contains("UTF-16")
    );
    assert!(
        decode_text(b"a\0b".to_vec())
            .unwrap_err()
            .starts_with("binary")
    );
    assert!(
        decode_text(b"a\nb\xC3(".to_vec())
            .unwrap_err()
            .contains("line 2")
    );
    assert_eq!(
        decode_text(b"\xEF\xBB\xBFkind: x".to_vec()).unwrap(),
        "kind: x"
    );
}

#[test]
fn stdin_and_annotation_suppression() {
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    palisade.dev/ignore: \"PAL-K8S-001\"\n    palisade.dev/ignore-reason: debugging pod\nspec:\n  containers:\n  - name: c\n    image: x:1\n    securityContext: {privileged: true}\n";
    let report = scan(&[Input::Stdin(yaml.into())], &ScanOptions::default());
    let f = report
        .findings
        .iter()
        .find(|f| f.rule_id == "PAL-K8S-001")
        .unwrap();
    let s = f.suppressed.as_ref().expect("suppressed by annotation");
    assert_eq!(s.reason.as_deref(), Some("debugging pod"));
    assert_eq!(f.location.start_line, Some(12));
    assert_eq!(report.summary.files_scanned, 1);
}

#[test]
fn templates_are_noted_once_not_errors() {
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}\n{{- if .Values.x }}\nspec: {}\n{{- end }}\n";
    let report = scan(&[Input::Stdin(yaml.into())], &ScanOptions::default());
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].kind, ProblemKind::Skipped);
    assert!(report.problems[0].message.contains("template"));
}
