//! What the corpus-backed tests share: finding the corpus, and loading SigmaHQ's rules.

#![allow(dead_code)] // each test file uses its own part

use std::path::{Path, PathBuf};

use palisade_detect::RuleSet;

/// The shared corpus (`$PALISADE_CORPUS`, by default `../shared/corpus` beside the project),
/// when it holds the SigmaHQ rules; otherwise says so and gives `None` (the test then passes
/// without checking anything, as on a fresh clone).
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PALISADE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    if dir.join("sigma/rules").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: no SigmaHQ corpus at {} (set PALISADE_CORPUS)",
            dir.display()
        );
        None
    }
}

/// Add every SigmaHQ rule of the corpus (`rules`, `rules-emerging-threats`,
/// `rules-threat-hunting`) to `rules`.
pub fn add_sigmahq(rules: &mut RuleSet, corpus: &Path) {
    for dir in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        rules
            .add_path(&corpus.join("sigma").join(dir))
            .expect("rules dir");
    }
}
