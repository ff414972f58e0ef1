//! Replays the fuzzing corpora kept in `fuzz/corpus` through the readers on the stable
//! toolchain, so every input that once found a bug (and every input that reached new code)
//! stays covered by `cargo test` without cargo-fuzz.

use std::path::PathBuf;

use palisade_misconfig::{Input, ScanOptions, scan};

fn inputs(target: &str) -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        // The fuzz targets only look at UTF-8 inputs; do the same.
        if let Ok(text) = String::from_utf8(bytes) {
            out.push(text);
        }
    }
    assert!(!out.is_empty(), "empty corpus {}", dir.display());
    out
}

#[test]
fn yaml_corpus() {
    for text in inputs("yaml") {
        let stream = palisade_yaml::parse_stream(&text);
        for d in &stream.documents {
            let _ = d.root.to_json();
        }
    }
}

#[test]
fn manifest_corpus() {
    let opts = ScanOptions {
        threads: 1,
        ..ScanOptions::default()
    };
    for text in inputs("manifest") {
        let _ = scan(&[Input::Stdin(text)], &opts);
    }
}

#[test]
fn dockerfile_corpus() {
    let opts = ScanOptions {
        threads: 1,
        ..ScanOptions::default()
    };
    for text in inputs("dockerfile") {
        let report = scan(&[Input::Stdin(format!("FROM base\n{text}"))], &opts);
        assert_eq!(report.files.len(), 1, "read as a Dockerfile");
    }
}

#[test]
fn ignore_file_corpus() {
    for text in inputs("ignore_file") {
        let _ = palisade_core::ignore::IgnoreFile::parse("fuzz", &text);
    }
}
