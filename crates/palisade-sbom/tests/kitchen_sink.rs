//! The corpus kitchen-sink image inventoried end to end, from the OCI layout, from the docker
//! and OCI archives skopeo makes of it, and from a real registry: every package Syft 1.18.1
//! or Trivy 0.59.1 reports on it (`tests/data/kitchen-sink-peers.tsv`) is reported with the
//! same name and version, and the four copies give the same inventory.

mod common;

#[path = "../../palisade-artifact/tests/support/registry.rs"]
mod registry;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use palisade_artifact::{Options, TargetRef};
use palisade_sbom::{Ecosystem, Inventory, inventory_of};

fn inventory(target: &str, opts: &Options) -> Inventory {
    let t = TargetRef::parse(target).unwrap();
    inventory_of(&t, target, opts, &[], &mut |_, _| {}).unwrap_or_else(|e| panic!("{target}: {e}"))
}

fn tool(name: &str) -> bool {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipping part of the test: {name} is not installed (apt-get install {name})");
    }
    ok
}

/// Peers spell a few things differently; compare on a common form:
/// PyPI names by PEP 503 (Trivy lowercases them), Go's stdlib version without the `go`/`v`
/// prefix (Syft writes go1.19.8, Palisade 1.19.8 as OSV does).
fn key(eco: &str, name: &str, version: &str) -> (String, String, String) {
    let name = if eco == "PyPI" {
        palisade_sbom::purl::pep503(name)
    } else {
        name.to_string()
    };
    let version = if eco == "Go" && name == "stdlib" {
        version
            .trim_start_matches("go")
            .trim_start_matches('v')
            .to_string()
    } else {
        version.to_string()
    };
    (eco.to_string(), name, version)
}

fn peers() -> BTreeSet<(String, String, String)> {
    let data = include_str!("data/kitchen-sink-peers.tsv");
    data.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            key(f[0], f[1], f[2])
        })
        .collect()
}

fn ours(inv: &Inventory) -> BTreeSet<(String, String, String)> {
    inv.packages
        .iter()
        .map(|p| key(p.ecosystem.as_str(), &p.name, &p.version))
        .collect()
}

fn check(inv: &Inventory, how: &str) {
    assert!(
        inv.problems
            .iter()
            .all(|p| p.kind != palisade_core::ProblemKind::Error),
        "{how}: {:?}",
        inv.problems
    );
    let counts = inv.counts();
    let count = |e: Ecosystem| counts.get(&e).copied().unwrap_or(0);
    assert_eq!(count(Ecosystem::Deb), 104, "{how}");
    assert_eq!(count(Ecosystem::Npm), 53, "{how}");
    assert_eq!(count(Ecosystem::PyPI), 11, "{how}");
    assert_eq!(count(Ecosystem::CratesIo), 14, "{how}");
    let missing: Vec<_> = peers().difference(&ours(inv)).cloned().collect();
    assert!(
        missing.is_empty(),
        "{how}: reported by Syft or Trivy but not by Palisade: {missing:#?}"
    );
    let d = inv.distro.as_ref().expect("distro");
    assert_eq!(
        (d.id.as_str(), d.version_id.as_str()),
        ("debian", "12"),
        "{how}"
    );
    // Locations carry the layer that installed the package.
    let urllib3 = inv.packages.iter().find(|p| p.name == "urllib3").unwrap();
    assert_eq!(urllib3.version, "1.26.4");
    assert_eq!(
        urllib3.locations[0].layer.as_ref().map(|l| l.index),
        Some(1),
        "{how}"
    );
    let age = inv
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Go && p.name == "stdlib")
        .map(|p| p.locations.len())
        .sum::<usize>();
    assert_eq!(age, 2, "{how}: stdlib of both age binaries");
    // Nothing from the deleted .env file could be a package, but the view must not hold it.
    assert!(
        inv.packages
            .iter()
            .all(|p| p.locations.iter().all(|l| !l.path.ends_with("/.env")))
    );
}

fn summary(inv: &Inventory) -> BTreeMap<String, Vec<String>> {
    inv.packages
        .iter()
        .map(|p| {
            (
                p.purl.clone(),
                p.locations.iter().map(|l| l.path.clone()).collect(),
            )
        })
        .collect()
}

#[test]
fn kitchen_sink_in_every_form() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let layout: PathBuf = corpus.join("images/kitchen-sink-oci");
    let opts = Options::default();
    let base = inventory(layout.to_str().unwrap(), &opts);
    check(&base, "oci layout");
    let libc = base.packages.iter().find(|p| p.name == "libc6").unwrap();
    assert!(
        libc.purl.starts_with("pkg:deb/debian/libc6@"),
        "{}",
        libc.purl
    );
    assert!(libc.purl.contains("distro=debian-12"), "{}", libc.purl);

    if !tool("skopeo") {
        return;
    }
    let d = std::env::temp_dir().join(format!("palisade-sbom-ks-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let src = format!("oci:{}:latest", layout.display());
    for (dest, file) in [
        ("docker-archive", "ks.tar:kitchen-sink:latest"),
        ("oci-archive", "ks-oci.tar"),
    ] {
        let out = Command::new("skopeo")
            .args([
                "copy",
                "--quiet",
                &src,
                &format!("{dest}:{}", d.join(file).display()),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for file in ["ks.tar", "ks-oci.tar"] {
        let inv = inventory(d.join(file).to_str().unwrap(), &opts);
        check(&inv, file);
        assert_eq!(summary(&inv), summary(&base), "{file}");
    }
    if !tool("docker-registry") {
        return;
    }
    let reg = registry::Registry::start(Path::new(&d));
    let out = Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            &src,
            &format!("docker://{}/shop/kitchen-sink:1", reg.addr),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let opts = Options {
        insecure_registries: vec![reg.addr.clone()],
        ..Options::default()
    };
    let inv = inventory(&format!("{}/shop/kitchen-sink:1", reg.addr), &opts);
    check(&inv, "registry");
    assert_eq!(summary(&inv), summary(&base), "registry");
}
