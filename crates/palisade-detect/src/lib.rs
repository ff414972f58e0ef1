//! Palisade's detection: Sigma rules over security events.
//!
//! Rules are parsed and compiled by the rsigma crates (see docs/decisions/0005-sigma-engine.md);
//! this crate adds what Palisade needs around them:
//! - [`rules`]: loading rule files and the built-in pack, with per-file errors, ids for rules
//!   that only have a `name` (so correlations find them), and selection by id, tag, level and
//!   status;
//! - [`shape`]: which log source an event comes from (Kubernetes audit, CloudTrail, GCP, Azure,
//!   Okta, GitHub, auditd, process events, Windows event JSON) and the flat shape rules expect;
//! - [`pipelines`]: the field-mapping pipelines shipped per source;
//! - [`docs`]: the built-in pack's reference page, rendered from the rule files;
//! - [`detector`]: logsource routing (a rule only runs on events of its source), correlations
//!   with state that can be saved and restored, and suppressions.

pub mod detector;
pub mod docs;
pub mod event;
pub mod held;
pub mod pipelines;
mod prefilter;
pub mod rules;
pub mod shape;
pub mod suppress;

pub use detector::{Detector, Input, Match, MatchKind, Options, PrefilterCheck};
pub use docs::pack_docs;
pub use held::{HeldEvent, Origin};
pub use prefilter::PrefilterStats;
pub use rules::{LoadError, RuleInfo, RuleSelection, RuleSet};
pub use shape::SourceKind;
pub use suppress::Suppression;

/// Errors building a detector.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}")]
    Rule { path: String, message: String },
    #[error("pipeline {name}: {message}")]
    Pipeline { name: String, message: String },
    #[error("correlation state: {0}")]
    State(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
