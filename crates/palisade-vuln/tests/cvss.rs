//! CVSS scores against an independent implementation, and every CVSS vector of the corpus's
//! OSV advisories.

mod common;

use palisade_vuln::cvss;
use std::path::{Path, PathBuf};

/// Reads `tests/data/<name>`: `#` comment lines, then `<vector> <score> [<score>…]` lines.
fn reference(name: &str) -> Vec<(String, Vec<f64>)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse_reference(&text, &path.display().to_string())
}

fn parse_reference(text: &str, origin: &str) -> Vec<(String, Vec<f64>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(n, line)| {
            let mut fields = line.split_whitespace();
            let vector = fields.next().unwrap_or_default().to_string();
            let scores: Vec<f64> = fields
                .map(|f| {
                    f.parse()
                        .unwrap_or_else(|_| panic!("{origin}:{}: bad score {f:?}", n + 1))
                })
                .collect();
            assert!(!scores.is_empty(), "{origin}:{}: no score", n + 1);
            (vector, scores)
        })
        .collect()
}

#[test]
fn v3_base_scores_match_the_python_reference() {
    let cases = reference("cvss_v3_reference.txt");
    assert_eq!(cases.len(), 650);
    let mut failures = Vec::new();
    for (vector, expected) in &cases {
        match cvss::score(vector) {
            Ok(s) if s.base_score == expected[0] => {}
            Ok(s) => failures.push(format!("{vector}: {} != {}", s.base_score, expected[0])),
            Err(e) => failures.push(e.to_string()),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn v4_scores_match_the_python_reference() {
    let cases = reference("cvss_v4_reference.txt");
    assert_eq!(cases.len(), 960);
    let mut failures = Vec::new();
    for (vector, expected) in &cases {
        let [b, bte] = expected[..] else {
            panic!("{vector}: expected two scores");
        };
        match cvss::score(vector) {
            Ok(s) if s.base_score == b && s.version == "4.0" => {}
            Ok(s) => failures.push(format!("{vector}: CVSS-B {} != {b}", s.base_score)),
            Err(e) => failures.push(e.to_string()),
        }
        match cvss::v4::score_bte(vector) {
            Ok(s) if s == bte => {}
            Ok(s) => failures.push(format!("{vector}: CVSS-BTE {s} != {bte}")),
            Err(e) => failures.push(e.to_string()),
        }
    }
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// An optional, larger check: `PALISADE_CVSS_REFERENCE=<file>` names a file of
/// `<vector> <score>` lines (more columns are ignored), for instance every v4.0 base vector
/// scored by another implementation. v3 vectors are compared on their base score, v4 vectors on
/// their full score (which is CVSS-B for base-only vectors).
#[test]
fn optional_external_reference_file() {
    let Some(path) = std::env::var_os("PALISADE_CVSS_REFERENCE") else {
        eprintln!("skipping: PALISADE_CVSS_REFERENCE not set");
        return;
    };
    let path = PathBuf::from(path);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let cases: Vec<(&str, f64)> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let mut fields = line.split_whitespace();
            let vector = fields.next().unwrap_or_default();
            let score = fields.next().and_then(|f| f.parse().ok());
            (vector, score.unwrap_or_else(|| panic!("bad line {line:?}")))
        })
        .collect();
    let mut failures = Vec::new();
    for &(vector, expected) in &cases {
        let got = if vector.starts_with("CVSS:4.0/") {
            cvss::v4::score_bte(vector)
        } else {
            cvss::score(vector).map(|s| s.base_score)
        };
        match got {
            Ok(s) if s == expected => {}
            Ok(s) => failures.push(format!("{vector}: {s} != {expected}")),
            Err(e) => failures.push(e.to_string()),
        }
    }
    eprintln!(
        "{}: {} vectors, {} differ",
        path.display(),
        cases.len(),
        failures.len()
    );
    failures.truncate(50);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every `CVSS:3.x` / `CVSS:4.0` vector in the corpus's OSV advisories (JSON and YAML) scores.
#[test]
fn every_cvss_vector_in_the_osv_corpus_scores() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let root = corpus.join("osv");
    let mut stack = vec![root.clone()];
    let mut vectors = std::collections::BTreeSet::new();
    let mut occurrences = 0usize;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let mut rest = text.as_str();
            while let Some(at) = rest.find("CVSS:") {
                let tail = &rest[at..];
                let end = tail
                    .find(|c: char| c == '"' || c == '\'' || c == ',' || c.is_whitespace())
                    .unwrap_or(tail.len());
                let vector = &tail[..end];
                if vector.starts_with("CVSS:3.") || vector.starts_with("CVSS:4.") {
                    occurrences += 1;
                    vectors.insert(vector.to_string());
                }
                rest = &tail[end.max(5)..];
            }
        }
    }
    assert!(
        !vectors.is_empty(),
        "no CVSS vectors found under {}",
        root.display()
    );
    let failures: Vec<String> = vectors
        .iter()
        .filter_map(|v| cvss::score(v).err().map(|e| e.to_string()))
        .collect();
    eprintln!(
        "{} CVSS vector occurrences, {} distinct, {} rejected",
        occurrences,
        vectors.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Mangled vectors (bytes dropped, repeated, replaced, including multi-byte characters) never
/// panic: each either scores within 0–10 or is rejected.
#[test]
fn mangled_vectors_never_panic() {
    let mut seeds: Vec<String> = reference("cvss_v3_reference.txt")
        .into_iter()
        .take(100)
        .map(|(v, _)| v)
        .collect();
    seeds.extend(
        reference("cvss_v4_reference.txt")
            .into_iter()
            .rev()
            .take(100)
            .map(|(v, _)| v),
    );
    let mut state: u64 = 0x5eed_cafe_f00d_1234;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    let pieces = [
        "/", ":", "CVSS:", "X", "S", "H", "N", "é", "\u{0}", "AV:N", "MSI:S", "E:U", "3.1", "4.0",
        "",
    ];
    let mut scored = 0;
    for seed in &seeds {
        for _ in 0..50 {
            let mut chars: Vec<String> = seed.chars().map(String::from).collect();
            for _ in 0..=next() % 4 {
                let at = next() % (chars.len() + 1);
                match next() % 3 {
                    0 if at < chars.len() => {
                        chars.remove(at);
                    }
                    1 => chars.insert(at, pieces[next() % pieces.len()].to_string()),
                    _ if at < chars.len() => chars[at] = pieces[next() % pieces.len()].to_string(),
                    _ => {}
                }
            }
            let mangled: String = chars.concat();
            if let Ok(s) = cvss::score(&mangled) {
                assert!((0.0..=10.0).contains(&s.base_score), "{mangled}");
                scored += 1;
            }
            if mangled.starts_with("CVSS:4.0/")
                && let Ok(s) = cvss::v4::score_bte(&mangled)
            {
                assert!((0.0..=10.0).contains(&s), "{mangled}");
            }
        }
    }
    assert!(scored > 0);
}
