//! The registry of built-in Kubernetes rules: one line per rule.

use crate::rule::{K8sRule, K8sSetRule};

mod privileged_container;

/// Kinds that carry a pod spec.
pub const WORKLOAD_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "PodTemplate",
];

/// Every per-object Kubernetes rule.
pub static RULES: &[&K8sRule] = &[&privileged_container::RULE];

/// Rules that look at all objects of a scan together.
pub static SET_RULES: &[&K8sSetRule] = &[];
