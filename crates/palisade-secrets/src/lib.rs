//! Secret detection.
//!
//! [`engine::Engine`] finds secrets in bytes with the rules of [`rules`]: one keyword pass,
//! patterns only near keywords, placeholders and documented example values allowed, offline
//! checks (checksums, structure) where the format has one. [`scan`] applies it to what users
//! point at: files and directories (honouring `.gitignore`), archives inside them, every layer
//! of an image (deleted files included) and git history; findings are redacted unless asked.

pub mod engine;
pub mod rule;
pub mod rules;
pub mod scan;
#[cfg(test)]
mod testing;

use std::sync::OnceLock;

pub use engine::{Engine, Hit};
pub use rule::{Check, SecretRule};

/// The engine with every built-in rule, compiled once.
pub fn builtin() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::lazy(&rules::all()).expect("built-in rules compile (tested)"))
}

/// Shows the first four characters of a secret, the rest elided.
pub fn redact(secret: &str) -> String {
    let shown: String = secret.chars().take(4).collect();
    format!("{shown}…")
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use palisade_core::RuleDoc;

    use super::*;

    #[test]
    fn every_rule_is_complete_and_compiles() {
        let all = rules::all();
        assert!(Engine::new(&all).is_ok());
        let mut ids = HashSet::new();
        for r in &all {
            assert!(ids.insert(r.meta.id), "duplicate {}", r.meta.id);
            assert!(
                r.meta.id.starts_with("PAL-SEC-") && r.meta.id.len() == 11,
                "{}",
                r.meta.id
            );
            RuleDoc::parse(r.meta.doc).unwrap_or_else(|e| panic!("{}: {e}", r.meta.id));
            assert!(
                r.keywords
                    .iter()
                    .all(|k| *k == k.to_ascii_lowercase() && !k.is_empty()),
                "{}",
                r.meta.id
            );
        }
    }

    /// Every rule finds a freshly generated secret in its documented format, and no rule
    /// reports any rule's near-misses (placeholders, wrong lengths, documented examples).
    #[test]
    fn generated_secrets_are_found_and_near_misses_are_not() {
        let (mut rng, seed) = testing::Rng::from_env();
        let engine = builtin();
        let samples = rules::samples(&mut rng);
        let covered: HashSet<&str> = samples.iter().map(|s| s.rule).collect();
        let missing: Vec<&str> = engine
            .rules()
            .iter()
            .map(|r| r.meta.id)
            .filter(|id| !covered.contains(id))
            .collect();
        assert!(missing.is_empty(), "rules without samples: {missing:?}");
        let mut failures = Vec::new();
        for s in &samples {
            let hits = engine.scan("sample.txt", s.text.as_bytes());
            if !hits
                .iter()
                .any(|h| engine.rules()[h.rule].meta.id == s.rule)
            {
                let got: Vec<&str> = hits
                    .iter()
                    .map(|h| engine.rules()[h.rule].meta.id)
                    .collect();
                failures.push(format!(
                    "{}: not found in {:?} (got {got:?})",
                    s.rule, s.text
                ));
            }
            for nm in &s.near_misses {
                let hits = engine.scan("sample.txt", nm.as_bytes());
                if !hits.is_empty() {
                    let got: Vec<&str> = hits
                        .iter()
                        .map(|h| engine.rules()[h.rule].meta.id)
                        .collect();
                    failures.push(format!("{}: near-miss {nm:?} reported by {got:?}", s.rule));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "seed {seed} (replay with PALISADE_SECRETS_SEED={seed}):\n{}",
            failures.join("\n")
        );
    }
}
