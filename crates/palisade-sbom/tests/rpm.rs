//! The rpm cataloger on a real `rpmdb.sqlite`: the test builds a tiny noarch package with
//! `rpmbuild`, installs it into an empty root with `rpm`, and reads the database rpm wrote.
//! Skipped with a note when `rpm` or `rpmbuild` is missing (Debian: `apt-get install rpm`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use palisade_sbom::catalogers::rpm::Rpm;
use palisade_sbom::{Cataloger, Ecosystem, FileInfo, SourcePackage};

const SPEC: &str = r#"Name: palisade-hello
Version: 1.2.3
Release: 4.test
Epoch: 2
Summary: A tiny package for the rpm cataloger test
License: MIT
BuildArch: noarch

%description
A tiny package for the rpm cataloger test.

%package -n palisade-hello-doc
Summary: Documentation for palisade-hello
License: CC-BY-4.0

%description -n palisade-hello-doc
Documentation for palisade-hello.

%install
mkdir -p %{buildroot}/usr/share/palisade-hello %{buildroot}/usr/share/doc/palisade-hello
echo hello > %{buildroot}/usr/share/palisade-hello/hello.txt
echo docs > %{buildroot}/usr/share/doc/palisade-hello/README

%files
/usr/share/palisade-hello/hello.txt

%files -n palisade-hello-doc
/usr/share/doc/palisade-hello/README
"#;

/// A scratch directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn available(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs a command with HOME pointed at the scratch directory (so no user `~/.rpmmacros`
/// leaks in) and returns its stdout, failing the test with its output otherwise.
fn run(home: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .env("HOME", home)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn reads_a_database_written_by_rpm() {
    if !available("rpm") || !available("rpmbuild") {
        eprintln!("skipping: rpm and rpmbuild are needed (Debian: apt-get install rpm)");
        return;
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tmp = TempDir(
        std::env::temp_dir().join(format!("palisade-rpm-test-{}-{nanos}", std::process::id())),
    );
    let dir = tmp.0.as_path();
    let root = dir.join("root");
    let top = dir.join("build");
    for d in [&root, &top, &dir.join("tmp")] {
        std::fs::create_dir_all(d).unwrap();
    }
    let spec = dir.join("palisade-hello.spec");
    std::fs::write(&spec, SPEC).unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();

    let topdir = format!("_topdir {}", s(&top));
    let tmppath = format!("_tmppath {}", s(&dir.join("tmp")));
    run(
        dir,
        "rpmbuild",
        &["-bb", "--define", &topdir, "--define", &tmppath, &s(&spec)],
    );
    let rpms: Vec<String> = ["palisade-hello", "palisade-hello-doc"]
        .iter()
        .map(|n| s(&top.join(format!("RPMS/noarch/{n}-1.2.3-4.test.noarch.rpm"))))
        .collect();

    // `--dbpath` is taken inside `--root`; the backend is spelled out because it is not
    // the default everywhere.
    let db_args = [
        "--root",
        &s(&root),
        "--dbpath",
        "/var/lib/rpm",
        "--define",
        "_db_backend sqlite",
    ];
    run(dir, "rpm", &[&["--initdb"], &db_args[..]].concat());
    run(
        dir,
        "rpm",
        &[
            &["-i", "--nodeps", "--noscripts", "--notriggers"],
            &db_args[..],
            &[&rpms[0], &rpms[1]],
        ]
        .concat(),
    );
    let db_file = root.join("var/lib/rpm/rpmdb.sqlite");
    assert!(db_file.is_file(), "rpm did not write {}", db_file.display());

    // What rpm itself says, to compare with.
    let listed = run(
        dir,
        "rpm",
        &[
            &[
                "-qa",
                "--qf",
                "%{NAME}|%{EPOCH}:%{VERSION}-%{RELEASE}|%{ARCH}|%{LICENSE}|%{SOURCERPM}\\n",
            ],
            &db_args[..],
        ]
        .concat(),
    );
    let mut listed: Vec<&str> = listed.lines().collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            "palisade-hello-doc|2:1.2.3-4.test|noarch|CC-BY-4.0|palisade-hello-1.2.3-4.test.src.rpm",
            "palisade-hello|2:1.2.3-4.test|noarch|MIT|palisade-hello-1.2.3-4.test.src.rpm",
        ]
    );

    let bytes = std::fs::read(&db_file).unwrap();
    let file = FileInfo {
        path: "var/lib/rpm/rpmdb.sqlite",
        size: bytes.len() as u64,
        mode: 0o644,
    };
    assert!(Rpm.wants(&file));
    let mut pkgs = Rpm.catalog(&file, &bytes).unwrap();
    pkgs.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(pkgs.len(), 2);
    let source = Some(SourcePackage {
        name: "palisade-hello".into(),
        version: None,
    });
    for (p, (name, license)) in pkgs.iter().zip([
        ("palisade-hello", "MIT"),
        ("palisade-hello-doc", "CC-BY-4.0"),
    ]) {
        assert_eq!(p.ecosystem, Ecosystem::Rpm);
        assert_eq!(p.name, name);
        assert_eq!(p.version, "2:1.2.3-4.test");
        assert_eq!(p.arch.as_deref(), Some("noarch"));
        assert_eq!(p.licenses, [license]);
        assert_eq!(p.source, source);
        assert_eq!(p.found_by, "rpm");
    }
}
