//! Custom policies in Rego, evaluated with [regorus](https://github.com/microsoft/regorus).
//!
//! Policies follow the conventions of conftest and of Trivy's custom checks, so existing
//! policies run unchanged: any package; rules named `deny`, `warn`, `violation` or with those
//! prefixes (`deny_latest`) yield strings or objects with `msg`; metadata comes from OPA
//! `# METADATA` annotations or a `__rego_metadata__` object; Trivy's `__rego_input__` selector
//! (or `custom.input.selector`) picks the inputs a package applies to.
//!
//! - [`PolicySet`] loads and compiles `.rego` files and data files, and evaluates them against
//!   one input at a time, from any number of threads ([`PolicySet::evaluate`]).
//! - [`scan`] runs a set over files (the Kubernetes objects, Dockerfiles or plain documents in
//!   them) and adds findings, located on the field's line, to a [`Report`](palisade_core::Report).
//! - [`input`] shapes inputs (a Dockerfile as conftest shapes it) and maps field paths to lines.
//!
//! What does not live here: the built-in checks (`palisade-misconfig`), ignore files and
//! severity filters (the binary applies them to every scanner alike), rendering.

pub mod input;
pub mod metadata;
pub mod scan;
mod set;
pub mod source;

pub use input::InputKind;
pub use metadata::RuleKind;
pub use scan::{ScanOptions, scan};
pub use set::{
    Evaluation, LoadError, PolicyError, PolicyOptions, PolicyResult, PolicyRule, PolicySet,
    PolicySources, TestCase, TestOutcome, TestStatus,
};
pub use source::PolicyProblem;
