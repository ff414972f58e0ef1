//! The registry of built-in Dockerfile rules: one line per rule.

use crate::rule::DockerfileRule;

mod user_root;

/// Every Dockerfile rule.
pub static RULES: &[&DockerfileRule] = &[&user_root::RULE];
