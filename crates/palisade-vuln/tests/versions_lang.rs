//! Every vector of the language-ecosystem version corpora (PyPI, SemVer, Maven, RubyGems,
//! NuGet, Packagist), checked both ways: `A < B` means compare(A, B) = Less and
//! compare(B, A) = Greater; `=` means Equal both ways.
//!
//! PyPI: vectors with a legacy (non-PEP 440) version must be errors for the strict
//! `pep440::compare`, and are checked with `pep440::compare_with_legacy` instead.

mod common;

use std::cmp::Ordering;
use std::path::Path;

use palisade_vuln::version::{VersionError, maven, nuget, packagist, pep440, rubygems, semver};

type CompareFn = fn(&str, &str) -> Result<Ordering, VersionError>;

struct Vector {
    line: usize,
    a: String,
    op: Ordering,
    b: String,
}

fn read_vectors(path: &Path) -> Vec<Vector> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with("//") {
            continue;
        }
        let fields: Vec<&str> = t.split_whitespace().collect();
        assert_eq!(
            fields.len(),
            3,
            "{}:{line_no}: not `A op B`: {t:?}",
            path.display()
        );
        let op = match fields[1] {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            other => panic!("{}:{line_no}: unknown operator {other:?}", path.display()),
        };
        out.push(Vector {
            line: line_no,
            a: fields[0].to_string(),
            op,
            b: fields[2].to_string(),
        });
    }
    out
}

/// Checks one vector both ways; None when it holds, else what went wrong.
fn check(compare: CompareFn, v: &Vector) -> Option<String> {
    let forward = compare(&v.a, &v.b);
    let backward = compare(&v.b, &v.a);
    match (forward, backward) {
        (Ok(f), Ok(r)) if f == v.op && r == v.op.reverse() => None,
        (f, r) => Some(format!(
            "line {}: {} {:?} {}: got {:?} / reversed {:?}",
            v.line, v.a, v.op, v.b, f, r
        )),
    }
}

/// Runs every vector of `file` through `compare`; returns (vectors, failures).
fn run_file(dir: &Path, file: &str, compare: CompareFn) -> (usize, Vec<String>) {
    let vectors = read_vectors(&dir.join("versions").join(file));
    assert!(!vectors.is_empty(), "{file}: no vectors");
    let failures: Vec<String> = vectors
        .iter()
        .filter_map(|v| check(compare, v).map(|f| format!("{file} {f}")))
        .collect();
    (vectors.len(), failures)
}

fn run_files(files: &[&str], compare: CompareFn) {
    let Some(dir) = common::corpus() else {
        return;
    };
    let mut all_failures = Vec::new();
    for file in files {
        let (count, failures) = run_file(&dir, file, compare);
        println!("{file}: {} of {count} vectors pass", count - failures.len());
        all_failures.extend(failures);
    }
    assert!(
        all_failures.is_empty(),
        "{} failing vectors:\n{}",
        all_failures.len(),
        all_failures.join("\n")
    );
}

#[test]
fn pypi_vectors() {
    let Some(dir) = common::corpus() else {
        return;
    };
    let mut failures = Vec::new();
    for file in ["pypi-versions.txt", "pypi-versions-generated.txt"] {
        let vectors = read_vectors(&dir.join("versions").join(file));
        assert!(!vectors.is_empty(), "{file}: no vectors");
        let (mut strict, mut legacy) = (0, 0);
        for v in &vectors {
            let is_legacy =
                pep440::compare(&v.a, &v.a).is_err() || pep440::compare(&v.b, &v.b).is_err();
            if is_legacy {
                legacy += 1;
                if pep440::compare(&v.a, &v.b).is_ok() || pep440::compare(&v.b, &v.a).is_ok() {
                    failures.push(format!(
                        "{file} line {}: strict compare accepted a legacy version",
                        v.line
                    ));
                }
                if let Some(f) = check(pep440::compare_with_legacy, v) {
                    failures.push(format!("{file} (legacy) {f}"));
                }
            } else {
                strict += 1;
                if let Some(f) = check(pep440::compare, v) {
                    failures.push(format!("{file} {f}"));
                }
                if let Some(f) = check(pep440::compare_with_legacy, v) {
                    failures.push(format!("{file} (with legacy) {f}"));
                }
            }
        }
        println!(
            "{file}: {} vectors; {strict} PEP 440 vectors checked with compare, {legacy} with a legacy version checked with compare_with_legacy (strict compare: error)",
            vectors.len()
        );
    }
    assert!(
        failures.is_empty(),
        "{} failing vectors:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn semver_vectors() {
    run_files(&["semver-versions.txt"], semver::compare);
}

#[test]
fn maven_vectors() {
    run_files(
        &["maven-versions.txt", "maven-versions-generated.txt"],
        maven::compare,
    );
}

#[test]
fn rubygems_vectors() {
    run_files(
        &["rubygems-versions.txt", "rubygems-versions-generated.txt"],
        rubygems::compare,
    );
}

#[test]
fn nuget_vectors() {
    run_files(&["nuget-versions.txt"], nuget::compare);
}

#[test]
fn packagist_vectors() {
    run_files(
        &["packagist-versions.txt", "packagist-versions-generated.txt"],
        packagist::compare,
    );
}

/// The orderings must be total orders on the corpus versions: antisymmetric and transitive
/// over every triple drawn from the hand-written files (small enough for O(n³)).
///
/// Packagist versions containing `#` are left out: the corpus itself has `1.2.3.# = 1.2.3`
/// and `1.2.3.# = 1.2.3.1` while `1.2.3 < 1.2.3.1` (`#` stands for "any number" in PHP's
/// `version_compare`, which is not transitive there).
#[test]
fn orderings_are_consistent() {
    let Some(dir) = common::corpus() else {
        return;
    };
    let sets: [(&str, CompareFn); 6] = [
        ("pypi-versions.txt", pep440::compare_with_legacy),
        ("semver-versions.txt", semver::compare),
        ("maven-versions.txt", maven::compare),
        ("rubygems-versions.txt", rubygems::compare),
        ("nuget-versions.txt", nuget::compare),
        ("packagist-versions.txt", packagist::compare),
    ];
    for (file, compare) in sets {
        let mut versions: Vec<String> = read_vectors(&dir.join("versions").join(file))
            .into_iter()
            .flat_map(|v| [v.a, v.b])
            .filter(|v| !(file.starts_with("packagist") && v.contains('#')))
            .collect();
        versions.sort();
        versions.dedup();
        let n = versions.len();
        let mut table = vec![Ordering::Equal; n * n];
        for i in 0..n {
            for j in 0..n {
                table[i * n + j] =
                    compare(&versions[i], &versions[j]).unwrap_or_else(|e| panic!("{file}: {e}"));
            }
        }
        for i in 0..n {
            assert_eq!(
                table[i * n + i],
                Ordering::Equal,
                "{file}: {} != itself",
                versions[i]
            );
            for j in 0..n {
                assert_eq!(
                    table[i * n + j],
                    table[j * n + i].reverse(),
                    "{file}: {} vs {} not antisymmetric",
                    versions[i],
                    versions[j]
                );
                for k in 0..n {
                    let (ij, jk, ik) = (table[i * n + j], table[j * n + k], table[i * n + k]);
                    if ij != Ordering::Greater && jk != Ordering::Greater {
                        let expected = if ij == Ordering::Equal { jk } else { ij };
                        let ok = match expected {
                            Ordering::Equal => ik == Ordering::Equal,
                            _ => ik == Ordering::Less,
                        };
                        assert!(
                            ok,
                            "{file}: not transitive: {} {ij:?} {} {jk:?} {} but {ik:?}",
                            versions[i], versions[j], versions[k]
                        );
                    }
                }
            }
        }
    }
}
