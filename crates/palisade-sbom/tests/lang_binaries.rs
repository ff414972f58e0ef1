//! Language catalogers on the corpus: lockfiles and manifests from real projects, and the
//! kitchen-sink image's Go binaries and Cargo.lock read straight from its layer blobs.
//!
//! Expected counts were checked by hand against the files and against Trivy 0.59.1
//! (`trivy fs --format cyclonedx` on a copy in /tmp) and Syft 1.18.1 (`syft dir:`).

mod common;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;
use palisade_sbom::catalogers::{
    cargo_auditable::CargoAuditable, cargo_lock::CargoLock, composer_lock::ComposerLock,
    gemfile_lock::GemfileLock, go_binary::GoBinary, go_mod::GoMod,
};
use palisade_sbom::{Cataloger, Ecosystem, FileInfo, Package};

fn run(c: &dyn Cataloger, path: &str, content: &[u8], mode: u32) -> Vec<Package> {
    let file = FileInfo {
        path,
        size: content.len() as u64,
        mode,
    };
    assert!(c.wants(&file), "{} should want {path}", c.name());
    c.catalog(&file, content).unwrap()
}

fn has(pkgs: &[Package], name: &str, version: &str) -> bool {
    pkgs.iter().any(|p| p.name == name && p.version == version)
}

#[test]
fn ripgrep_cargo_lock() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let lock = std::fs::read(corpus.join("lockfiles/ripgrep/Cargo.lock")).unwrap();
    let pkgs = run(&CargoLock, "Cargo.lock", &lock, 0o644);
    // 63 [[package]] entries, 52 with a `source`. The other 11 are the ripgrep workspace
    // (ripgrep 15.2.0, grep, grep-cli, grep-index, grep-matcher, grep-pcre2, grep-printer,
    // grep-regex, grep-searcher, globset, ignore), which we skip as local crates. Trivy
    // reports all 63 here only because the copy has no Cargo.toml beside it; with one it
    // keeps what the manifest reaches and drops the root crate.
    assert_eq!(pkgs.len(), 52);
    assert!(
        pkgs.iter()
            .all(|p| p.ecosystem == Ecosystem::CratesIo && p.found_by == "cargo-lock")
    );
    assert!(has(&pkgs, "syn", "2.0.119") && has(&pkgs, "syn", "3.0.3"));
    assert!(has(
        &pkgs,
        "tikv-jemalloc-sys",
        "0.7.1+5.3.1-0-g81034ce1f1373e37dc865038e1bc8eeecf559ce8"
    ));
    assert!(
        !pkgs
            .iter()
            .any(|p| p.name == "ripgrep" || p.name == "grep-cli")
    );
}

#[test]
fn node_exporter_go_mod() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let gomod = std::fs::read(corpus.join("lockfiles/node_exporter/go.mod")).unwrap();
    let file = FileInfo {
        path: "go.mod",
        size: gomod.len() as u64,
        mode: 0o644,
    };
    assert!(GoMod.wants(&file));
    let pkgs = GoMod.catalog(&file, &gomod).unwrap();
    // 26 direct + 28 indirect requires, no replace directives. Trivy reports 55: the same 54
    // plus the module itself (github.com/prometheus/node_exporter, no version), which is
    // the project rather than a dependency.
    assert_eq!(pkgs.len(), 54);
    assert!(has(&pkgs, "github.com/prometheus/client_golang", "v1.24.1"));
    assert!(has(
        &pkgs,
        "github.com/dennwc/ioctl",
        "v1.0.1-0.20181021180353-017804252068"
    ));
    assert!(has(&pkgs, "google.golang.org/protobuf", "v1.36.11"));
    assert!(
        !pkgs
            .iter()
            .any(|p| p.name == "github.com/prometheus/node_exporter")
    );
}

#[test]
fn composer_lock() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let lock = std::fs::read(corpus.join("lockfiles/composer/composer.lock")).unwrap();
    let pkgs = run(&ComposerLock, "composer.lock", &lock, 0o644);
    // 30 `packages` (6 more in `packages-dev`, not reported); Trivy and Syft also say 30.
    assert_eq!(pkgs.len(), 30);
    assert!(has(&pkgs, "symfony/console", "v5.4.47"));
    assert!(has(&pkgs, "composer/ca-bundle", "1.5.12"));
    assert!(!pkgs.iter().any(|p| p.name.starts_with("phpstan/")));
    let console = pkgs.iter().find(|p| p.name == "symfony/console").unwrap();
    assert_eq!(console.licenses, vec!["MIT".to_string()]);
}

#[test]
fn rubygems_org_gemfile_lock() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let lock = std::fs::read(corpus.join("lockfiles/rubygems.org/Gemfile.lock")).unwrap();
    let pkgs = run(&GemfileLock, "Gemfile.lock", &lock, 0o644);
    // 173 spec lines in the GEM section, no platform variants; Trivy reports 173 too.
    assert_eq!(pkgs.len(), 173);
    assert!(has(&pkgs, "rails", "5.2.3"));
    assert!(has(&pkgs, "unicorn", "5.5.0.1.g6836"));
    assert!(has(&pkgs, "logstash-event", "1.2.02"));
    assert!(pkgs.iter().all(|p| p.ecosystem == Ecosystem::RubyGems));
}

/// Reads the regular files `wanted` (path, mode, bytes) from layer `index` of the image.
fn layer_files(image: &Path, index: usize, wanted: &[&str]) -> Vec<(String, u32, Vec<u8>)> {
    let read_json = |p: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let blob = |digest: &str| {
        image
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let idx = read_json(&image.join("index.json"));
    let manifest = read_json(&blob(idx["manifests"][0]["digest"].as_str().unwrap()));
    let digest = manifest["layers"][index]["digest"].as_str().unwrap();
    let gz = GzDecoder::new(BufReader::new(File::open(blob(digest)).unwrap()));
    let mut archive = tar::Archive::new(gz);
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry
            .path()
            .unwrap()
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        if entry.header().entry_type().is_file() && wanted.contains(&path.as_str()) {
            let mode = entry.header().mode().unwrap();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            out.push((path, mode, data));
        }
    }
    out
}

#[test]
fn kitchen_sink_ledger_cargo_lock() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let image = corpus.join("images/kitchen-sink-oci");
    // Layer 4 of 6 (index 3, "rust").
    let files = layer_files(&image, 3, &["src/ledger/Cargo.lock"]);
    assert_eq!(files.len(), 1);
    let (path, mode, lock) = &files[0];
    let pkgs = run(&CargoLock, path, lock, *mode);
    // 15 entries; `ledger` 0.1.0 is the project itself (no source). Trivy 0.59.1 reports 14
    // with the Cargo.toml present, as in the image. Syft 1.18.1 reports 15 (with ledger).
    assert_eq!(pkgs.len(), 14);
    for (name, version) in [
        ("smallvec", "1.6.0"),
        ("time", "0.1.43"),
        ("regex", "1.5.4"),
        ("chrono", "0.4.19"),
    ] {
        assert!(has(&pkgs, name, version), "{name} {version}");
    }
    assert!(!pkgs.iter().any(|p| p.name == "ledger"));
    assert!(
        pkgs.iter()
            .all(|p| p.locations[0].path == "src/ledger/Cargo.lock")
    );
}

#[test]
fn kitchen_sink_age_binaries() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let image = corpus.join("images/kitchen-sink-oci");
    // Layer 1 of 6 (index 0): Debian's age 1.1.1-1+b3, built with go1.19.8 in GOPATH mode,
    // so the build info has a `path` line and no `mod` or `dep` lines:
    //   path filippo.io/age/cmd/age, build -compiler=gc -trimpath=true CGO_ENABLED=1 …
    let files = layer_files(&image, 0, &["usr/bin/age", "usr/bin/age-keygen"]);
    assert_eq!(files.len(), 2);
    for (path, mode, bytes) in &files {
        let pkgs = run(&GoBinary, path, bytes, *mode);
        let got: Vec<(&str, &str)> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        // Syft 1.18.1: `filippo.io/age/cmd/age` (purl pkg:golang/filippo.io/age/cmd@v1.1.1#age)
        // at v1.1.1, guessed from the NUL-terminated "1.1.1" in the binary, and stdlib
        // go1.19.8 (purl version 1.19.8). Trivy 0.59.1 reports only stdlib v1.19.8, as it
        // needs a `mod` line for the main module.
        let main = format!("filippo.io/age/cmd/{}", path.rsplit('/').next().unwrap());
        assert_eq!(
            got,
            vec![(main.as_str(), "v1.1.1"), ("stdlib", "1.19.8")],
            "{path}"
        );
        assert!(
            pkgs.iter()
                .all(|p| p.ecosystem == Ecosystem::Go && p.found_by == "go-binary")
        );
        // Not built with cargo-auditable.
        assert!(run(&CargoAuditable, path, bytes, *mode).is_empty());
    }
}
