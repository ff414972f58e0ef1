//! Every manifest of the real-world corpus (`../shared/corpus/k8s`: Argo CD, kube-prometheus,
//! Online Boutique, kubernetes/examples) scans with no input error and no panic, and known
//! problems in it are found on the right line.

mod common;

use palisade_misconfig::{Input, ScanOptions, scan};

#[test]
fn real_manifests_scan_cleanly_and_known_problems_are_found() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let root = corpus.join("k8s");
    let report = scan(&[Input::Path(root.clone())], &ScanOptions::default());
    let errors: Vec<_> = report
        .problems
        .iter()
        .filter(|p| p.kind == palisade_core::ProblemKind::Error)
        .collect();
    assert!(errors.is_empty(), "input errors: {errors:#?}");
    assert!(report.summary.files_scanned > 300, "{:?}", report.summary);
    assert!(
        report.summary.resources_scanned > 500,
        "{:?}",
        report.summary
    );

    let prefix = format!("{}/", root.display());
    let at = |rule: &str, file: &str, line: u32| {
        report.findings.iter().any(|f| {
            f.rule_id == rule
                && f.location.path.strip_prefix(&prefix) == Some(file)
                && f.location.start_line == Some(line)
        })
    };
    // node-exporter shares the host's network and PID namespaces (lines 100 and 101).
    assert!(at(
        "PAL-K8S-002",
        "kube-prometheus/manifests/nodeExporter-daemonset.yaml",
        100
    ));
    assert!(at(
        "PAL-K8S-003",
        "kube-prometheus/manifests/nodeExporter-daemonset.yaml",
        101
    ));
    // sysdig mounts the Docker socket.
    assert!(at(
        "PAL-K8S-034",
        "kubernetes-examples/_archived/sysdig-cloud/sysdig-daemonset.yaml",
        21
    ));
    // Argo CD's application controller may do anything anywhere.
    assert!(at("PAL-K8S-052", "argo-cd/manifests/install.yaml", 31480));
    // Online Boutique's frontend is exposed through a LoadBalancer open to all.
    assert!(at(
        "PAL-K8S-037",
        "microservices-demo/kubernetes-manifests/frontend.yaml",
        130
    ));
}
