//! Palisade's shared vocabulary.
//!
//! Every analyzer speaks in these types and every renderer reads them: a [`Finding`] says
//! which [`rule`](RuleMeta) fired, how severe it is and exactly where
//! ([`Location`]); a [`Report`] gathers findings with the problems met while reading input.
//! Project settings (`palisade.toml`) and suppressions (`.palisadeignore.yaml`) live here
//! too, because every scanner applies them the same way.
//!
//! Nothing here parses Kubernetes, Dockerfiles or images, and nothing renders output.

pub mod config;
pub mod finding;
pub mod hash;
pub mod ignore;
pub mod report;
pub mod rng;
pub mod rule;
pub mod severity;
pub mod time;

pub use finding::{
    AffectedPackage, CodeLine, CommitRef, CvssScore, Finding, LayerRef, LineIndex, Location,
    ResourceRef, Suppression, SuppressionSource, Vulnerability,
};
pub use report::{InputProblem, ProblemKind, Report, Summary};
pub use rule::{RuleDoc, RuleInfo, RuleMeta, Scanner};
pub use severity::Severity;
