//! The shapes of built-in checks.
//!
//! A rule is one file holding a `pub static RULE` of one of these types, its documentation
//! and its tests; `k8s/rules/mod.rs` and `dockerfile/rules/mod.rs` list them.

use palisade_core::{ResourceRef, RuleMeta};
use palisade_yaml::Span;

use crate::dockerfile::Dockerfile;
use crate::k8s::Resource;

/// One place a check found a problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub message: String,
    pub span: Span,
    /// Field path inside the object, when the problem is one field.
    pub field: Option<String>,
    /// The offending lines hold a credential: reports show them redacted and without the
    /// lines around them.
    pub sensitive: bool,
}

impl Hit {
    pub fn new(message: impl Into<String>, span: Span) -> Hit {
        Hit {
            message: message.into(),
            span,
            field: None,
            sensitive: false,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Hit {
        self.field = Some(field.into());
        self
    }

    /// Marks the hit's lines as holding a credential (see [`Hit::sensitive`]).
    pub fn sensitive(mut self) -> Hit {
        self.sensitive = true;
        self
    }
}

/// A check of one Kubernetes object.
pub struct K8sRule {
    pub meta: RuleMeta,
    pub check: fn(&Resource<'_>, &mut Vec<Hit>),
}

/// What set-level checks know of each object in the scan (kept small: the trees
/// themselves are dropped file by file).
#[derive(Debug, Clone)]
pub struct ObjectFacts {
    pub resource: ResourceRef,
    pub path: String,
    pub span: Span,
    pub is_workload: bool,
    /// Rule ids the object's `palisade.dev/ignore` annotation names, with the reason.
    pub ignored: Option<(Vec<String>, Option<String>)>,
}

/// A check over every object in the scan at once, e.g. namespaces without any
/// NetworkPolicy. Hits name the object (by index into the facts) they are reported on.
pub struct K8sSetRule {
    pub meta: RuleMeta,
    pub check: fn(&[ObjectFacts], &mut Vec<(usize, String)>),
}

/// A check of one Dockerfile.
pub struct DockerfileRule {
    pub meta: RuleMeta,
    pub check: fn(&Dockerfile, &mut Vec<Hit>),
}
