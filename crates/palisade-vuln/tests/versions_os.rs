//! The OS package orderings (dpkg, apk, rpm) against the shared version vectors: every line
//! `A <op> B` must hold as written and reversed.

mod common;

use std::cmp::Ordering;
use std::path::Path;

use palisade_vuln::version::Scheme;

/// Runs every vector of one file; returns how many passed, failing with all mismatches.
fn run(scheme: Scheme, dir: &Path, file: &str) -> usize {
    let path = dir.join("versions").join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut passed = 0;
    let mut failures = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        let parts: Vec<&str> = line.split(' ').collect();
        let [a, op, b] = parts[..] else {
            panic!("{file}:{}: malformed vector {line:?}", n + 1);
        };
        let want = match op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            _ => panic!("{file}:{}: unknown operator in {line:?}", n + 1),
        };
        let forward = scheme.compare(a, b);
        let backward = scheme.compare(b, a);
        if forward == Ok(want) && backward == Ok(want.reverse()) {
            passed += 1;
        } else {
            failures.push(format!(
                "{file}:{}: {line}: got {forward:?} / reversed {backward:?}",
                n + 1
            ));
        }
    }
    eprintln!("{file}: {passed} vectors pass");
    assert!(
        failures.is_empty(),
        "{} of {} vectors fail:\n{}",
        failures.len(),
        passed + failures.len(),
        failures.join("\n")
    );
    assert!(passed > 0, "{file}: no vectors");
    passed
}

#[test]
fn debian_vectors() {
    let Some(dir) = common::corpus() else { return };
    run(Scheme::Dpkg, &dir, "debian-versions.txt");
}

#[test]
fn debian_generated_vectors() {
    let Some(dir) = common::corpus() else { return };
    run(Scheme::Dpkg, &dir, "debian-versions-generated.txt");
}

#[test]
fn alpine_vectors() {
    let Some(dir) = common::corpus() else { return };
    run(Scheme::Apk, &dir, "alpine-versions.txt");
}

#[test]
fn alpine_generated_vectors() {
    let Some(dir) = common::corpus() else { return };
    run(Scheme::Apk, &dir, "alpine-versions-generated.txt");
}

#[test]
fn redhat_vectors() {
    let Some(dir) = common::corpus() else { return };
    run(Scheme::Rpm, &dir, "redhat-versions.txt");
}

/// Orderings must be antisymmetric and consistent on the corpus versions: sorting every
/// distinct version of a file and checking neighbours catches non-transitive comparisons.
#[test]
fn sorting_is_consistent() {
    let Some(dir) = common::corpus() else { return };
    for (scheme, file) in [
        (Scheme::Dpkg, "debian-versions-generated.txt"),
        (Scheme::Apk, "alpine-versions-generated.txt"),
        (Scheme::Rpm, "redhat-versions.txt"),
    ] {
        let text = std::fs::read_to_string(dir.join("versions").join(file)).unwrap();
        let mut versions: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.starts_with("//"))
            .flat_map(|l| {
                let mut it = l.split(' ');
                [it.next().unwrap_or(""), it.nth(1).unwrap_or("")]
            })
            .collect();
        versions.sort_unstable();
        versions.dedup();
        versions.sort_by(|a, b| scheme.compare(a, b).unwrap());
        for pair in versions.windows(2) {
            assert_ne!(
                scheme.compare(pair[0], pair[1]).unwrap(),
                Ordering::Greater,
                "{file}: {} sorted before {}",
                pair[0],
                pair[1]
            );
        }
        // Every later version is >= every earlier one (checked on a sample to stay fast).
        let step = (versions.len() / 200).max(1);
        for i in (0..versions.len()).step_by(step) {
            for j in (i..versions.len()).step_by(step) {
                assert_ne!(
                    scheme.compare(versions[i], versions[j]).unwrap(),
                    Ordering::Greater,
                    "{file}: {} > {} though sorted after",
                    versions[i],
                    versions[j]
                );
            }
        }
    }
}

/// Short strings over the characters that matter to these grammars: no comparison may
/// panic, every comparison is antisymmetric, and apk and dpkg (whose orders are total)
/// sort them consistently.
#[test]
fn arbitrary_short_strings() {
    let alphabet: Vec<char> = "0 1 9 a r p z . - _ ~ ^ : + A é"
        .split(' ')
        .map(|s| s.chars().next().unwrap())
        .collect();
    let mut strings = vec![String::new()];
    let mut frontier = vec![String::new()];
    for _ in 0..3 {
        let mut next = Vec::new();
        for s in &frontier {
            for &c in &alphabet {
                let mut t = s.clone();
                t.push(c);
                next.push(t);
            }
        }
        strings.extend(next.iter().cloned());
        frontier = next;
    }
    let references = [
        "1", "1.0", "1-r0", "1_rc1", "1:1.0-1", "1.0~rc1", "1.0^git1", "0..1", "1a",
    ];
    for scheme in [Scheme::Dpkg, Scheme::Apk, Scheme::Rpm] {
        for s in &strings {
            for r in references {
                let forward = scheme.compare(s, r);
                let backward = scheme.compare(r, s);
                match (forward, backward) {
                    (Ok(x), Ok(y)) => assert_eq!(x, y.reverse(), "{scheme:?}: {s:?} vs {r:?}"),
                    (Err(_), _) | (_, Err(_)) => {}
                }
            }
        }
    }
    for scheme in [Scheme::Dpkg, Scheme::Apk] {
        let mut valid: Vec<&str> = strings
            .iter()
            .map(String::as_str)
            .filter(|s| scheme.compare(s, s).is_ok())
            .collect();
        valid.sort_by(|a, b| scheme.compare(a, b).unwrap());
        let step = (valid.len() / 300).max(1);
        for i in (0..valid.len()).step_by(step) {
            for j in (i..valid.len()).step_by(step) {
                assert_ne!(
                    scheme.compare(valid[i], valid[j]).unwrap(),
                    Ordering::Greater,
                    "{scheme:?}: {:?} > {:?} though sorted after",
                    valid[i],
                    valid[j]
                );
            }
        }
    }
}
