//! `palisade scan image|fs|sbom`, `palisade db`, `palisade version compare` end to end, with
//! the corpus advisories imported into a temporary cache.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

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

fn run_in(cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(args)
        .env("PALISADE_CACHE_DIR", cache)
        .current_dir(workspace())
        .output()
        .expect("binary runs")
}

/// A cache with the corpus advisories, imported once for all tests.
fn cache() -> Option<&'static PathBuf> {
    static CACHE: OnceLock<Option<PathBuf>> = OnceLock::new();
    CACHE
        .get_or_init(|| {
            let corpus = corpus()?;
            let dir =
                std::env::temp_dir().join(format!("palisade-vuln-cli-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let osv = corpus.join("osv");
            let o = run_in(
                &dir,
                &[
                    "db",
                    "import",
                    osv.join("go").to_str()?,
                    osv.join("crates.io").to_str()?,
                    osv.join("PyPI").to_str()?,
                ],
            );
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert!(
                String::from_utf8_lossy(&o.stdout).contains("imported 8158 records"),
                "{}",
                String::from_utf8_lossy(&o.stdout)
            );
            Some(dir)
        })
        .as_ref()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stderr)))
}

fn ids(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn version_compare() {
    let dir = std::env::temp_dir();
    for (eco, a, b, want) in [
        ("Debian", "1:1.0", "2.0", ">"),
        ("PyPI", "1.0.post1", "1.0", ">"),
        ("npm", "1.0.0-rc.1", "1.0.0", "<"),
        ("Maven", "1.0", "1.0.0", "="),
        ("Go", "v1.19.8", "v1.19.10", "<"),
    ] {
        let o = run_in(&dir, &["version", "compare", eco, a, b]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).trim(),
            want,
            "{eco} {a} {b}"
        );
    }
    let o = run_in(&dir, &["version", "compare", "Nope", "1", "2"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run_in(
        &dir,
        &["version", "compare", "PyPI", "1.0", "not a version!"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot order"));
}

#[test]
fn image_scan_reports_what_the_advisories_say() {
    let Some(cache) = cache() else { return };
    let Some(corpus) = corpus() else { return };
    let image = corpus.join("images/kitchen-sink-oci");
    let o = run_in(
        cache,
        &["scan", "image", "-q", "-f", "json", image.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    let ids = ids(&r);
    assert_eq!(ids.len(), 119);
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "CVE-2021-33503")
        .unwrap();
    assert_eq!(f["vulnerability"]["package"]["name"], "urllib3");
    assert_eq!(f["vulnerability"]["fixed_versions"][0], "1.26.5");
    assert_eq!(f["location"]["layer"]["index"], 1);
    // --severity and --exit-code.
    let o = run_in(
        cache,
        &[
            "scan",
            "image",
            "-q",
            "--severity",
            "CRITICAL",
            "--exit-code",
            "4",
            image.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(4));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("smallvec")
            && table.contains("CVE-2021-25900")
            && !table.contains("urllib3"),
        "{table}"
    );
    // SARIF validates, CycloneDX carries the vulnerabilities.
    let o = run_in(
        cache,
        &[
            "scan",
            "image",
            "-q",
            "-f",
            "sarif",
            image.to_str().unwrap(),
        ],
    );
    let sarif = json(&o);
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("schemas/sarif-schema-2.1.0.json")).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&sarif).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let o = run_in(
        cache,
        &[
            "scan",
            "image",
            "-q",
            "-f",
            "cyclonedx",
            image.to_str().unwrap(),
        ],
    );
    let cdx = json(&o);
    let vulns = cdx["vulnerabilities"].as_array().unwrap();
    let v = vulns.iter().find(|v| v["id"] == "CVE-2021-25900").unwrap();
    assert!(
        v["affects"][0]["ref"]
            .as_str()
            .unwrap()
            .starts_with("pkg:cargo/smallvec@1.6.0")
    );
    assert_eq!(v["ratings"][0]["severity"], "critical");
}

#[test]
fn ignore_file_by_alias_vex_and_ignore_unfixed() {
    let Some(cache) = cache() else { return };
    let Some(corpus) = corpus() else { return };
    let image = corpus.join("images/kitchen-sink-oci");
    let d = std::env::temp_dir().join(format!("palisade-vuln-cli-ign-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join(".git")).unwrap();
    // An ignore entry may name an alias (the RUSTSEC id of the smallvec CVE).
    std::fs::write(
        d.join(".palisadeignore.yaml"),
        "ignore:\n  - id: RUSTSEC-2021-0003\n    reason: not reachable\n",
    )
    .unwrap();
    std::fs::write(
        d.join("vex.json"),
        r#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-2022-24713"},"products":[{"@id":"pkg:cargo/regex@1.5.4"}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}"#,
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args([
            "scan",
            "image",
            "-q",
            "-f",
            "json",
            "--vex",
            "vex.json",
            "--show-suppressed",
        ])
        .arg(&image)
        .env("PALISADE_CACHE_DIR", cache)
        .current_dir(&d)
        .output()
        .unwrap();
    let r = json(&o);
    let find = |id: &str| {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule_id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(find("CVE-2021-25900")["suppressed"]["kind"], "ignore-file");
    assert_eq!(find("CVE-2022-24713")["suppressed"]["kind"], "vex");
    assert_eq!(
        find("CVE-2022-24713")["suppressed"]["reason"],
        "vulnerable_code_not_in_execute_path"
    );
    assert_eq!(r["summary"]["suppressed"], 2);
    // --ignore-unfixed: everything in this image has a fix, so nothing changes.
    let o = run_in(
        cache,
        &[
            "scan",
            "image",
            "-q",
            "-f",
            "json",
            "--ignore-unfixed",
            image.to_str().unwrap(),
        ],
    );
    assert_eq!(ids(&json(&o)).len(), 119);
}

#[test]
fn sboms_from_syft_and_trivy_and_directories() {
    let Some(cache) = cache() else { return };
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for (file, expected) in [
        ("syft-ks.cdx.json", 115),
        ("trivy-ks.cdx.json", 39),
        ("trivy-ks.spdx.json", 39),
    ] {
        let o = run_in(
            cache,
            &[
                "scan",
                "sbom",
                "-q",
                "-f",
                "json",
                data.join(file).to_str().unwrap(),
            ],
        );
        assert!(
            o.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        // Syft's SBOM has no Cargo.lock crates; Trivy's no Go binaries: each gets what it lists.
        assert_eq!(ids(&json(&o)).len(), expected, "{file}");
    }
    let o = run_in(
        cache,
        &["scan", "sbom", data.join("README.md").to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    // A project directory: lockfiles.
    let Some(corpus) = corpus() else { return };
    let o = run_in(
        cache,
        &[
            "scan",
            "fs",
            "-q",
            "-f",
            "json",
            corpus.join("lockfiles/ripgrep").to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    assert!(r["summary"]["resources_scanned"].as_u64().unwrap() > 40);
}

#[test]
fn a_missing_database_says_how_to_get_one() {
    let empty =
        std::env::temp_dir().join(format!("palisade-vuln-cli-empty-{}", std::process::id()));
    let o = run_in(&empty, &["scan", "fs", "."]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("palisade db update"), "{err}");
    let o = run_in(&empty, &["db", "import", "/no/such/dir"]);
    assert_eq!(o.status.code(), Some(2));
}
