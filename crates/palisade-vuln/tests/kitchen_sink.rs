//! The kitchen-sink image matched against the real advisories of the corpus
//! (`osv/{go,crates.io,PyPI}`): every vulnerable package reports exactly the advisories those
//! records say, with their fixed versions. The list below was checked by hand against the
//! advisory files (for example `PyPI/urllib3/PYSEC-2021-59.yaml` is fixed in 1.26.4 itself, so
//! urllib3 1.26.4 is not affected by it; `go/GO-2023-1703.json` is fixed in 1.19.8, the
//! version of the age binaries' standard library, while `GO-2023-1753.json` is fixed in 1.19.9).

mod common;

use std::collections::BTreeSet;

use palisade_vuln::matcher::{MatchOptions, match_inventory};
use palisade_vuln::store::{Store, import};

const EXPECTED: &[(&str, &str, &str, &str)] = &[
    ("PyPI", "Django", "CVE-2021-31542", "3.2.1"),
    ("PyPI", "Django", "CVE-2021-32052", "3.2.2"),
    ("PyPI", "Django", "CVE-2021-33203", "3.2.4"),
    ("PyPI", "Django", "CVE-2021-33571", "3.2.4"),
    ("PyPI", "Django", "CVE-2021-35042", "3.2.5"),
    ("PyPI", "Django", "CVE-2021-44420", "3.2.10"),
    ("PyPI", "Django", "CVE-2021-45115", "3.2.11"),
    ("PyPI", "Django", "CVE-2021-45116", "3.2.11"),
    ("PyPI", "Django", "CVE-2021-45452", "3.2.11"),
    ("PyPI", "Django", "CVE-2022-22818", "3.2.12"),
    ("PyPI", "Django", "CVE-2022-23833", "3.2.12"),
    ("PyPI", "Django", "CVE-2022-28346", "3.2.13"),
    ("PyPI", "Django", "CVE-2022-28347", "3.2.13"),
    ("PyPI", "Django", "CVE-2022-34265", "3.2.14"),
    ("PyPI", "Django", "CVE-2022-36359", "3.2.15"),
    ("PyPI", "Django", "CVE-2022-41323", "3.2.16"),
    ("PyPI", "Django", "CVE-2023-23969", "3.2.17"),
    ("PyPI", "Django", "CVE-2023-24580", "3.2.18"),
    ("PyPI", "Django", "CVE-2023-31047", "3.2.19"),
    ("PyPI", "Django", "CVE-2023-36053", "3.2.20"),
    ("PyPI", "Django", "CVE-2023-41164", "3.2.21"),
    ("PyPI", "Django", "CVE-2023-43665", "3.2.22"),
    ("PyPI", "Django", "CVE-2023-46695", "3.2.23"),
    ("PyPI", "Django", "CVE-2024-24680", "3.2.24"),
    ("PyPI", "Django", "CVE-2024-27351", "3.2.25"),
    ("PyPI", "Jinja2", "CVE-2020-28493", "2.11.3"),
    ("PyPI", "certifi", "CVE-2022-23491", "2022.12.7"),
    ("PyPI", "certifi", "CVE-2023-37920", "2023.7.22"),
    ("PyPI", "idna", "CVE-2024-3651", "3.7"),
    ("PyPI", "requests", "CVE-2023-32681", "2.31.0"),
    ("PyPI", "sqlparse", "CVE-2021-32839", "0.4.2"),
    ("PyPI", "sqlparse", "CVE-2023-30608", "0.4.4"),
    ("PyPI", "urllib3", "CVE-2021-33503", "1.26.5"),
    ("PyPI", "urllib3", "CVE-2023-43804", "1.26.17"),
    ("PyPI", "urllib3", "CVE-2023-45803", "1.26.18"),
    ("crates.io", "chrono", "RUSTSEC-2020-0159", "0.4.20"),
    ("crates.io", "regex", "CVE-2022-24713", "1.5.5"),
    ("crates.io", "smallvec", "CVE-2021-25900", "1.6.1"),
    ("crates.io", "time", "CVE-2020-26235", "0.2.0"),
];

#[test]
fn kitchen_sink_matches_exactly_the_advisories_of_the_corpus() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let cache = std::env::temp_dir().join(format!("palisade-vuln-ks-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let osv = corpus.join("osv");
    import(
        &cache,
        &[osv.join("go"), osv.join("crates.io"), osv.join("PyPI")],
    )
    .unwrap();
    let store = Store::open(&cache).unwrap();
    let layout = corpus.join("images/kitchen-sink-oci");
    let target = palisade_artifact::TargetRef::parse(layout.to_str().unwrap()).unwrap();
    let inv = palisade_sbom::inventory_of(&target, "ks", &Default::default(), &[], &mut |_, _| {})
        .unwrap();
    let matched = match_inventory(&store, &inv, MatchOptions::default()).unwrap();

    let got: BTreeSet<(String, String, String, String)> = matched
        .findings
        .iter()
        .filter_map(|f| {
            let v = f.vulnerability.as_ref()?;
            (v.package.ecosystem != "Go").then(|| {
                (
                    v.package.ecosystem.clone(),
                    v.package.name.clone(),
                    f.rule_id.clone(),
                    v.fixed_versions.join(","),
                )
            })
        })
        .collect();
    let want: BTreeSet<(String, String, String, String)> = EXPECTED
        .iter()
        .map(|(e, n, i, f)| (e.to_string(), n.to_string(), i.to_string(), f.to_string()))
        .collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );

    // Go: the standard library of the age binaries (1.19.8).
    let stdlib: Vec<_> = matched
        .findings
        .iter()
        .filter(|f| {
            f.vulnerability
                .as_ref()
                .is_some_and(|v| v.package.name == "stdlib")
        })
        .collect();
    assert_eq!(stdlib.len(), 80);
    let fixed_in = |id: &str| {
        stdlib
            .iter()
            .find(|f| f.rule_id == id)
            .map(|f| f.vulnerability.as_ref().unwrap().fixed_versions.clone())
    };
    assert_eq!(fixed_in("CVE-2023-29400"), Some(vec!["1.19.9".to_string()]));
    assert_eq!(fixed_in("CVE-2023-24538"), None, "fixed in 1.19.8 itself");
    // Aliases are merged: the PYSEC and GHSA ids of one vulnerability show once, under the CVE.
    let urllib3 = matched
        .findings
        .iter()
        .find(|f| f.rule_id == "CVE-2021-33503")
        .unwrap();
    assert!(
        urllib3
            .vulnerability
            .as_ref()
            .unwrap()
            .aliases
            .contains(&"PYSEC-2021-108".to_string())
    );
    // Severity from CVSS where the record has a vector.
    let smallvec = matched
        .findings
        .iter()
        .find(|f| f.rule_id == "CVE-2021-25900")
        .unwrap();
    assert_eq!(smallvec.severity, palisade_core::Severity::Critical);
    assert!(smallvec.vulnerability.as_ref().unwrap().score.unwrap() >= 9.0);

    // --ignore-unfixed drops what has no fix; everything here has one.
    let unfixed = match_inventory(
        &store,
        &inv,
        MatchOptions {
            ignore_unfixed: true,
        },
    )
    .unwrap();
    assert_eq!(unfixed.findings.len(), matched.findings.len());
    let _ = std::fs::remove_dir_all(&cache);
}
