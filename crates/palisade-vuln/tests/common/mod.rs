//! Shared helpers for the integration tests: where the corpus is.

use std::path::PathBuf;

/// The shared corpus (`PALISADE_CORPUS`, default `../shared/corpus` from the workspace
/// root), or None with a note when it is absent (a user's fresh clone). CI always has it.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PALISADE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: corpus not found at {} (set PALISADE_CORPUS)",
            dir.display()
        );
        None
    }
}
