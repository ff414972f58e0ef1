//! Helpers for rule tests: run one rule over inline YAML or Dockerfile text and compare
//! exactly what it reports (line and message).

use crate::dockerfile::Dockerfile;
use crate::k8s::Resource;
use crate::rule::{DockerfileRule, Hit, K8sRule};

/// Every hit of `rule` on every object in `yaml` (all documents, `List` items included).
pub fn k8s_hits(rule: &K8sRule, yaml: &str) -> Vec<Hit> {
    let stream = palisade_yaml::parse_stream(yaml);
    assert!(
        stream.error.is_none(),
        "test YAML does not parse: {:?}",
        stream.error
    );
    let mut hits = Vec::new();
    for doc in &stream.documents {
        for node in crate::objects_of(&doc.root) {
            if let Some(r) = Resource::from_node(node) {
                (rule.check)(&r, &mut hits);
            }
        }
    }
    hits
}

/// Asserts that `rule` reports exactly `expected` (start line, message) on `yaml`.
#[track_caller]
pub fn assert_k8s(rule: &K8sRule, yaml: &str, expected: &[(u32, &str)]) {
    let got: Vec<(u32, String)> = k8s_hits(rule, yaml)
        .into_iter()
        .map(|h| (h.span.start_line, h.message))
        .collect();
    let want: Vec<(u32, String)> = expected.iter().map(|(l, m)| (*l, m.to_string())).collect();
    assert_eq!(got, want, "rule {}", rule.meta.id);
}

/// Every hit of `rule` on a Dockerfile.
pub fn df_hits(rule: &DockerfileRule, text: &str) -> Vec<Hit> {
    let df = Dockerfile::parse(text);
    let mut hits = Vec::new();
    (rule.check)(&df, &mut hits);
    hits
}

/// Asserts that `rule` reports exactly `expected` (start line, message) on a Dockerfile.
#[track_caller]
pub fn assert_df(rule: &DockerfileRule, text: &str, expected: &[(u32, &str)]) {
    let got: Vec<(u32, String)> = df_hits(rule, text)
        .into_iter()
        .map(|h| (h.span.start_line, h.message))
        .collect();
    let want: Vec<(u32, String)> = expected.iter().map(|(l, m)| (*l, m.to_string())).collect();
    assert_eq!(got, want, "rule {}", rule.meta.id);
}
