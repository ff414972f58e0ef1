//! `palisade sbom` end to end: formats, determinism, output files and bad targets.

use std::path::PathBuf;
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PALISADE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus"));
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

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(args)
        .env_remove("SOURCE_DATE_EPOCH")
        .current_dir(workspace())
        .output()
        .expect("binary runs")
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("palisade-sbom-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn every_format_is_deterministic() {
    let Some(corpus) = corpus() else { return };
    let image = corpus.join("images/kitchen-sink-oci");
    let image = image.to_str().unwrap();
    for fmt in ["table", "json", "cyclonedx", "spdx"] {
        let a = run(&["sbom", "-q", "-f", fmt, image]);
        assert!(
            a.status.success(),
            "{fmt}: {}",
            String::from_utf8_lossy(&a.stderr)
        );
        let b = run(&["sbom", "-q", "-f", fmt, image]);
        assert_eq!(a.stdout, b.stdout, "{fmt}: two runs differ");
    }
    let cdx: serde_json::Value =
        serde_json::from_slice(&run(&["sbom", "-q", "-f", "cyclonedx", image]).stdout).unwrap();
    assert_eq!(cdx["specVersion"], "1.6");
    let components = cdx["components"].as_array().unwrap();
    assert!(
        components
            .iter()
            .any(|c| c["purl"] == "pkg:pypi/urllib3@1.26.4")
    );
    assert!(
        components
            .iter()
            .any(|c| c["purl"] == "pkg:cargo/smallvec@1.6.0")
    );
    // The image's own creation time, not the clock, dates the document.
    assert!(
        cdx["metadata"]["timestamp"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-27T00:4")
    );
    let json: serde_json::Value =
        serde_json::from_slice(&run(&["sbom", "-q", "-f", "json", image]).stdout).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["packages"].as_array().unwrap().len(), 185);
}

#[test]
fn output_file_catalogers_and_source_date_epoch() {
    let Some(corpus) = corpus() else { return };
    let image = corpus.join("images/kitchen-sink-oci");
    let d = tempdir("out");
    let out = d.join("sbom.spdx.json");
    let o = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args([
            "sbom",
            "-f",
            "spdx",
            "-o",
            out.to_str().unwrap(),
            "--catalogers",
            "dpkg,os-release",
        ])
        .arg(&image)
        .env("SOURCE_DATE_EPOCH", "0")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("wrote 104 packages"));
    let spdx: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(spdx["creationInfo"]["created"], "1970-01-01T00:00:00Z");
    let o = run(&["sbom", "--catalogers", "dpkgg", image.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("there are: "));
}

#[test]
fn bad_targets_explain_themselves() {
    let d = tempdir("bad");
    std::fs::write(d.join("notes.txt"), "hello").unwrap();
    let o = run(&["sbom", d.join("notes.txt").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not a directory or an image archive"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run(&["sbom", "./no/such/dir"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such file or directory"));
    let o = run(&["sbom", "Not A Reference"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["sbom", "--platform", "linux", "alpine"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("os/arch"));
    // A broken lockfile in a directory is named, and the rest is still inventoried.
    std::fs::write(
        d.join("package-lock.json"),
        "{\"lockfileVersion\": 3, \"packages\": ",
    )
    .unwrap();
    std::fs::write(d.join("requirements.txt"), "flask==3.0.3\n").unwrap();
    let o = run(&["sbom", "-f", "json", d.to_str().unwrap()]);
    assert!(o.status.success());
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["packages"][0]["name"], "flask");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("package-lock.json") && err.contains("npm-lock"),
        "{err}"
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn a_damaged_layer_is_left_out_and_the_rest_inventoried() {
    let Some(corpus) = corpus() else { return };
    let d = tempdir("trunc");
    let layout = d.join("ks");
    copy_dir(&corpus.join("images/kitchen-sink-oci"), &layout);
    // Layer 3 (the node layer) is cut in half: its bytes no longer match its digest.
    let blob = layout
        .join("blobs/sha256/d6786b364d74bba1b34c36f6a244fe3e21b9ba6c8fa2e42360a754187cc95a02");
    let bytes = std::fs::read(&blob).unwrap();
    std::fs::write(&blob, &bytes[..bytes.len() / 2]).unwrap();
    let o = run(&["sbom", "-f", "json", layout.to_str().unwrap()]);
    // The SBOM is written, marked incomplete, and the exit status says so.
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        err.contains("layer 3") && err.contains("does not match its digest"),
        "{err}"
    );
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["complete"], false);
    let count = |eco: &str| {
        json["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["ecosystem"] == eco)
            .count()
    };
    assert_eq!(count("deb"), 104);
    assert_eq!(count("PyPI"), 11);
    assert_eq!(
        count("npm"),
        0,
        "nothing from the layer that failed its digest"
    );
    assert_eq!(
        count("crates.io"),
        14,
        "layers after the damaged one are still read"
    );
    let o = run(&["sbom", "-f", "cyclonedx", layout.to_str().unwrap()]);
    let cdx: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(cdx["compositions"][0]["aggregate"], "incomplete");
}
