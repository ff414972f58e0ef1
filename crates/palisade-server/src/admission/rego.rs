//! Rego policies (palisade-policy) behind the webhook's [`PolicyLoader`] and
//! [`PolicyEvaluator`] seam.
//!
//! A [`PolicySet`] is safe to evaluate from many threads (each thread keeps its own clone of
//! the compiled engine), so one set serves every request; a reload compiles a new set and
//! the webhook swaps it in.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use palisade_policy::{InputKind, PolicyOptions, PolicySet, PolicySources};
use serde_json::Value;

use super::check::Violation;
use super::policy::{PolicyEvaluator, PolicyFindings, PolicyLoader};

/// Loads `.rego` files and data files.
#[derive(Debug, Clone)]
pub struct RegoLoader {
    sources: PolicySources,
    options: PolicyOptions,
}

impl RegoLoader {
    /// Policies from `policies` (folders searched recursively, or files), data from `data`;
    /// one rule may run for at most `rule_time_limit` per object.
    pub fn new(policies: Vec<PathBuf>, data: Vec<PathBuf>, rule_time_limit: Duration) -> Self {
        RegoLoader {
            sources: PolicySources { policies, data },
            options: PolicyOptions {
                time_limit: rule_time_limit,
            },
        }
    }
}

impl PolicyLoader for RegoLoader {
    fn load(&self) -> Result<Arc<dyn PolicyEvaluator>, String> {
        let set = PolicySet::load(&self.sources, self.options).map_err(|e| e.to_string())?;
        Ok(Arc::new(RegoPolicies::new(set)))
    }

    fn watched(&self) -> Vec<PathBuf> {
        self.sources
            .policies
            .iter()
            .chain(&self.sources.data)
            .cloned()
            .collect()
    }
}

/// A compiled policy set, evaluated on Kubernetes objects.
#[derive(Debug, Clone)]
pub struct RegoPolicies {
    set: PolicySet,
    /// Each rule's fix (its recommended actions), by id.
    fixes: HashMap<String, String>,
}

impl RegoPolicies {
    pub fn new(set: PolicySet) -> RegoPolicies {
        let fixes = set
            .rule_infos()
            .into_iter()
            .map(|r| (r.id, r.fix))
            .collect();
        RegoPolicies { set, fixes }
    }

    /// The set behind this evaluator.
    pub fn set(&self) -> &PolicySet {
        &self.set
    }
}

impl PolicyEvaluator for RegoPolicies {
    fn evaluate(&self, _object: &Value, json: &str) -> PolicyFindings {
        let eval = match self.set.evaluate_all(json, InputKind::Kubernetes) {
            Ok(e) => e,
            Err(e) => {
                return PolicyFindings {
                    violations: Vec::new(),
                    errors: vec![e.to_string()],
                };
            }
        };
        let violations = eval
            .results
            .into_iter()
            .map(|r| Violation {
                fix: self.fixes.get(&r.rule_id).cloned().unwrap_or_default(),
                rule_id: r.rule_id,
                severity: r.severity,
                title: r.title,
                message: r.message,
                pss: None,
            })
            .collect();
        PolicyFindings {
            violations,
            errors: eval.errors.iter().map(ToString::to_string).collect(),
        }
    }

    fn rule_count(&self) -> usize {
        self.set.rules().len()
    }
}
