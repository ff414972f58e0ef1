//! Field-mapping pipelines shipped per source (pySigma-style processing pipelines).
//!
//! Each is a YAML file under `pipelines/` whose transformations are conditioned on the rules'
//! `logsource`, so all of them can be applied to every rule: a Kubernetes audit rule's
//! `hostPath` becomes the audit event's `requestObject.spec.volumes.hostPath.path`, an Okta
//! rule's `eventtype` the System Log's `eventType`, and a rule for another product is left alone.

use rsigma_eval::{Pipeline, parse_pipeline};

/// (name, YAML) of every shipped pipeline.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "kubernetes_audit",
        include_str!("../pipelines/kubernetes_audit.yml"),
    ),
    (
        "aws_cloudtrail",
        include_str!("../pipelines/aws_cloudtrail.yml"),
    ),
    ("gcp_audit", include_str!("../pipelines/gcp_audit.yml")),
    (
        "azure_activity",
        include_str!("../pipelines/azure_activity.yml"),
    ),
    ("okta", include_str!("../pipelines/okta.yml")),
    (
        "github_audit",
        include_str!("../pipelines/github_audit.yml"),
    ),
    (
        "linux_auditd",
        include_str!("../pipelines/linux_auditd.yml"),
    ),
    (
        "linux_process",
        include_str!("../pipelines/linux_process.yml"),
    ),
    (
        "windows_eventdata",
        include_str!("../pipelines/windows_eventdata.yml"),
    ),
];

/// Parse the shipped pipelines.
pub fn builtin() -> Result<Vec<Pipeline>, crate::Error> {
    BUILTIN
        .iter()
        .map(|(name, text)| {
            parse_pipeline(text).map_err(|e| crate::Error::Pipeline {
                name: (*name).to_owned(),
                message: e.to_string(),
            })
        })
        .collect()
}

/// Parse a user pipeline file.
pub fn from_file(path: &std::path::Path) -> Result<Pipeline, crate::Error> {
    let text = std::fs::read_to_string(path)?;
    parse_pipeline(&text).map_err(|e| crate::Error::Pipeline {
        name: path.display().to_string(),
        message: e.to_string(),
    })
}
