//! False alarms on real files: every built-in rule over the shared corpus (manifests,
//! advisories, Sigma rules, CloudTrail records, lockfiles; images are scanned in targets.rs).
//! The high and critical findings that remain are the Kubernetes example Secret manifests,
//! which do carry credentials in `data` (listed in docs/benchmarks.md); anything else at
//! high or above is a false alarm and fails this test.

use std::path::{Path, PathBuf};

use palisade_core::Severity;

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PALISADE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
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

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "images") {
                continue;
            }
            files(&p, out);
        } else if e.metadata().is_ok_and(|m| m.len() <= 8 << 20) {
            out.push(p);
        }
    }
}

/// Kubernetes example Secrets whose `data` holds a (sample) key: true to the rule's meaning.
const EXPECTED: &[&str] = &[
    "k8s/kubernetes-examples/_archived/persistent-volume-provisioning/quobyte/quobyte-admin-secret.yaml",
    "k8s/kubernetes-examples/_archived/persistent-volume-provisioning/rbd/ceph-secret-admin.yaml",
    "k8s/kubernetes-examples/_archived/persistent-volume-provisioning/rbd/ceph-secret-user.yaml",
    "k8s/kubernetes-examples/_archived/volumes/azure_file/secret/azure-secret.yaml",
    "k8s/kubernetes-examples/_archived/volumes/cephfs/secret/ceph-secret.yaml",
    "k8s/kubernetes-examples/_archived/volumes/rbd/secret/ceph-secret.yaml",
    "k8s/kubernetes-examples/_archived/volumes/scaleio/secret.yaml",
    "k8s/kubernetes-examples/_archived/volumes/storageos/storageos-secret.yaml",
];

#[test]
fn corpus_has_no_false_high_findings() {
    let Some(root) = corpus() else { return };
    let mut all = Vec::new();
    files(&root, &mut all);
    all.sort();
    assert!(all.len() > 100, "corpus looks empty: {} files", all.len());
    let engine = palisade_secrets::builtin();
    let mut high = Vec::new();
    for f in &all {
        let data = std::fs::read(f).unwrap();
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for hit in engine.scan(&rel, &data) {
            let rule = engine.rules()[hit.rule];
            if rule.meta.severity >= Severity::High {
                high.push((rule.meta.id, rel.clone(), hit.line));
            }
        }
    }
    let unexpected: Vec<_> = high
        .iter()
        .filter(|(id, path, _)| !(*id == "PAL-SEC-038" && EXPECTED.contains(&path.as_str())))
        .collect();
    assert!(unexpected.is_empty(), "false alarms: {unexpected:#?}");
    let mut found: Vec<&str> = high.iter().map(|(_, p, _)| p.as_str()).collect();
    found.dedup();
    assert_eq!(found, EXPECTED, "the expected Secret manifests changed");
}
