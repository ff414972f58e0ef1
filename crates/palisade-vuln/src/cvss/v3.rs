//! CVSS v3.0 and v3.1 base scores.
//!
//! Written from the FIRST specifications: CVSS v3.1 Specification Document, section 6 (vector
//! string), 7.1 (base metrics equations), 7.4 (metric values) and Appendix A (floating-point
//! Roundup); CVSS v3.0 Specification Document, section 8 (equations, "Round up" as the smallest
//! one-decimal number equal to or higher than its input).
//!
//! The vector is `CVSS:3.x/` followed by `METRIC:VALUE` components separated by `/`, in any
//! order, each metric at most once. The eight base metrics are required. Temporal (`E`, `RL`,
//! `RC`) and environmental (`CR`, `IR`, `AR`, `MAV` … `MA`) metrics may appear; their values are
//! validated, but only the base score is computed.

use super::{CvssError, Score};

/// Longest vector accepted; a complete v3 vector with every metric is under 150 characters.
pub(super) const MAX_VECTOR_LEN: usize = 512;

/// Metric name and its allowed values (v3.1 specification, Table 15). The first eight are the
/// base metrics, in the order the equations below index them.
const METRICS: &[(&str, &[&str])] = &[
    // Base
    ("AV", &["N", "A", "L", "P"]),
    ("AC", &["L", "H"]),
    ("PR", &["N", "L", "H"]),
    ("UI", &["N", "R"]),
    ("S", &["U", "C"]),
    ("C", &["H", "L", "N"]),
    ("I", &["H", "L", "N"]),
    ("A", &["H", "L", "N"]),
    // Temporal
    ("E", &["X", "H", "F", "P", "U"]),
    ("RL", &["X", "U", "W", "T", "O"]),
    ("RC", &["X", "C", "R", "U"]),
    // Environmental
    ("CR", &["X", "H", "M", "L"]),
    ("IR", &["X", "H", "M", "L"]),
    ("AR", &["X", "H", "M", "L"]),
    ("MAV", &["X", "N", "A", "L", "P"]),
    ("MAC", &["X", "L", "H"]),
    ("MPR", &["X", "N", "L", "H"]),
    ("MUI", &["X", "N", "R"]),
    ("MS", &["X", "U", "C"]),
    ("MC", &["X", "H", "L", "N"]),
    ("MI", &["X", "H", "L", "N"]),
    ("MA", &["X", "H", "L", "N"]),
];

const BASE_METRICS: usize = 8;

/// Which CVSS 3 minor version a vector declares; it decides the rounding function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Minor {
    V30,
    V31,
}

/// Scores a `CVSS:3.0/…` or `CVSS:3.1/…` vector: its base score.
pub fn score(vector: &str) -> Result<Score, CvssError> {
    let (minor, body) = if let Some(rest) = vector.strip_prefix("CVSS:3.1/") {
        (Minor::V31, rest)
    } else if let Some(rest) = vector.strip_prefix("CVSS:3.0/") {
        (Minor::V30, rest)
    } else {
        return Err(invalid(
            vector,
            "a CVSS v3 vector must start with \"CVSS:3.0/\" or \"CVSS:3.1/\"",
        ));
    };
    let values = parse_components(vector, body, METRICS, BASE_METRICS)?;
    let base: [&str; BASE_METRICS] = std::array::from_fn(|i| values[i].unwrap_or_default());
    let base_score = base_score(minor, &base);
    Ok(Score {
        version: match minor {
            Minor::V30 => "3.0",
            Minor::V31 => "3.1",
        }
        .to_string(),
        vector: vector.to_string(),
        base_score,
    })
}

/// The base equations of v3.1 section 7.1 (identical in v3.0 section 8.1), given the eight
/// already-validated base values in `METRICS` order.
fn base_score(minor: Minor, base: &[&str; BASE_METRICS]) -> f64 {
    let [av, ac, pr, ui, s, c, i, a] = *base;
    let changed = s == "C";
    let av: f64 = match av {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        _ => 0.2, // P
    };
    let ac = if ac == "L" { 0.77 } else { 0.44 };
    let pr = match (pr, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        (_, false) => 0.27, // H
        (_, true) => 0.5,
    };
    let ui = if ui == "N" { 0.85 } else { 0.62 };
    let cia = |v: &str| -> f64 {
        match v {
            "H" => 0.56,
            "L" => 0.22,
            _ => 0.0, // N
        }
    };
    let iss = 1.0 - (1.0 - cia(c)) * (1.0 - cia(i)) * (1.0 - cia(a));
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powf(15.0)
    } else {
        6.42 * iss
    };
    let exploitability = 8.22 * av * ac * pr * ui;
    if impact <= 0.0 {
        return 0.0;
    }
    let raw = if changed {
        (1.08 * (impact + exploitability)).min(10.0)
    } else {
        (impact + exploitability).min(10.0)
    };
    match minor {
        Minor::V31 => roundup_31(raw),
        Minor::V30 => roundup_30(raw),
    }
}

/// v3.1 Appendix A `Roundup`: the smallest one-decimal number equal to or higher than the input,
/// computed on the input rounded to five decimal places so that floating-point noise such as
/// 4.000000000000001 does not lift the result to 4.1.
fn roundup_31(x: f64) -> f64 {
    let int_input = (x * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        ((int_input / 10_000) + 1) as f64 / 10.0
    }
}

/// v3.0 "Round up": the plain ceiling to one decimal place. (Over all 2,592 base-metric
/// combinations it gives the same results as exact decimal arithmetic.)
fn roundup_30(x: f64) -> f64 {
    (x * 10.0).ceil() / 10.0
}

pub(super) fn invalid(vector: &str, reason: impl Into<String>) -> CvssError {
    CvssError {
        vector: vector.to_string(),
        reason: reason.into(),
    }
}

/// Splits `body` (the vector without its `CVSS:x.y/` prefix) into `METRIC:VALUE` components and
/// checks each against `table`: known metric, allowed value, at most once. The first `required`
/// metrics of the table must all be present. Returns each table metric's value, in table order.
pub(super) fn parse_components<'a>(
    vector: &str,
    body: &'a str,
    table: &[(&'static str, &'static [&'static str])],
    required: usize,
) -> Result<Vec<Option<&'a str>>, CvssError> {
    if vector.len() > MAX_VECTOR_LEN {
        return Err(invalid(
            vector,
            format!(
                "the vector is {} characters long, more than the {MAX_VECTOR_LEN} accepted",
                vector.len()
            ),
        ));
    }
    let mut values: Vec<Option<&'a str>> = vec![None; table.len()];
    if body.is_empty() {
        return Err(invalid(
            vector,
            "the vector has no metrics after its prefix",
        ));
    }
    for component in body.split('/') {
        if component.is_empty() {
            return Err(invalid(
                vector,
                "empty metric component (a doubled or trailing '/')",
            ));
        }
        let Some((name, value)) = component.split_once(':') else {
            return Err(invalid(
                vector,
                format!("component {component:?} is not of the form METRIC:VALUE"),
            ));
        };
        let Some(index) = table.iter().position(|(n, _)| *n == name) else {
            return Err(invalid(vector, format!("unknown metric {name:?}")));
        };
        let allowed = table[index].1;
        if !allowed.contains(&value) {
            return Err(invalid(
                vector,
                format!(
                    "metric {name} has invalid value {value:?} (allowed: {})",
                    allowed.join(", ")
                ),
            ));
        }
        if values[index].is_some() {
            return Err(invalid(
                vector,
                format!("metric {name} appears more than once"),
            ));
        }
        values[index] = Some(value);
    }
    let missing: Vec<&str> = table[..required]
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_none())
        .map(|((name, _), _)| *name)
        .collect();
    if !missing.is_empty() {
        return Err(invalid(
            vector,
            format!(
                "missing required base metric{} {}",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            ),
        ));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(vector: &str) -> f64 {
        score(vector)
            .unwrap_or_else(|e| panic!("{vector}: {e}"))
            .base_score
    }

    /// Vectors and base scores published in FIRST's "CVSS v3.1: Examples" document
    /// (https://www.first.org/cvss/v3.1/examples, section named after each CVE).
    #[test]
    fn first_v31_examples() {
        let cases = [
            // MySQL Stored SQL Injection (CVE-2013-0375)
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4),
            // SSLv3 POODLE Vulnerability (CVE-2014-3566)
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1),
            // VMware Guest to Host Escape Vulnerability (CVE-2012-1516)
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9),
            // Apache Tomcat XML Parser Vulnerability (CVE-2009-0783)
            ("CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L", 4.2),
            // Cisco IOS Arbitrary Command Execution Vulnerability (CVE-2012-0384), re-scored PR:H
            ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2),
            // Apple iWork Denial of Service Vulnerability (CVE-2015-1098)
            ("CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 7.8),
            // OpenSSL Heartbleed Vulnerability (CVE-2014-0160)
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5),
            // GNU Bash Environment Variable Command Injection "Shellshock" (CVE-2014-6271)
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            // DNS Kaminsky Bug (CVE-2008-1447)
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:H/A:N", 6.8),
            // Sophos Login Screen Bypass Vulnerability (CVE-2014-2005)
            ("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 6.8),
            // Joomla Directory Traversal Vulnerability (CVE-2010-0467)
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N", 5.8),
            // Cisco Access Control Bypass Vulnerability (CVE-2012-1342)
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:L/A:N", 5.8),
            // Juniper Proxy ARP Denial of Service Vulnerability (CVE-2013-6014)
            ("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:H", 9.3),
            // Microsoft Windows Bluetooth Remote Code Execution Vulnerability (CVE-2011-1265)
            ("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.8),
            // Apple iOS Security Control Bypass Vulnerability (CVE-2014-2019)
            ("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N", 4.6),
            // SearchBlox Cross-Site Request Forgery Vulnerability (CVE-2015-0970)
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 8.8),
            // SSL/TLS MITM Vulnerability (CVE-2014-0224)
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N", 7.4),
            // Google Chrome Sandbox Bypass Vulnerability (CVE-2012-5376)
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:H", 9.6),
            // SAMR/LSAD Privilege Escalation via Protocol Downgrade "Badlock" (CVE-2016-0128)
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:N", 6.8),
            // ... and its CVE-2016-2118 variant
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:H", 7.5),
            // Cantemo Portal Stored Cross-site Scripting Vulnerability (CVE-2019-7551)
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:H/I:H/A:H", 9.0),
            // WordPress Mail Plugin Reflected Cross-site Scripting (CVE-2017-5942)
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            // Remote Code Execution in Oracle Outside In Technology (CVE-2016-5558)
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:L/A:L", 8.6),
            // Lenovo ThinkPwn Exploit (CVE-2016-5729)
            ("CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:C/C:H/I:H/A:H", 8.2),
            // Failure to Lock Flash on Resume from sleep (CVE-2015-2890)
            ("CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:N/I:H/A:H", 6.0),
            // Intel DCI Issue (CVE-2018-3652)
            ("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 7.6),
            // Scripting Engine Memory Corruption Vulnerability (CVE-2019-0884)
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N", 4.2),
        ];
        for (vector, expected) in cases {
            assert_eq!(base(vector), expected, "{vector}");
        }
    }

    /// Vectors and base scores published in FIRST's "CVSS v3.0: Examples" document
    /// (https://www.first.org/cvss/v3.0/examples).
    #[test]
    fn first_v30_examples() {
        let cases = [
            // phpMyAdmin Reflected Cross-site Scripting Vulnerability (CVE-2013-1937)
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            // DokuWiki Reflected Cross-site Scripting Attack (CVE-2014-9253)
            ("CVSS:3.0/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N", 5.4),
            // Cisco IOS Arbitrary Command Execution Vulnerability (CVE-2012-0384), as in v3.0
            ("CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8),
        ];
        for (vector, expected) in cases {
            assert_eq!(base(vector), expected, "{vector}");
        }
    }

    /// v3.1 Appendix A: "Roundup(4.02) returns 4.1; and Roundup(4.00) returns 4.0", and values
    /// a hair above a tenth because of floating-point noise stay on that tenth.
    #[test]
    fn roundup_follows_appendix_a() {
        assert_eq!(roundup_31(4.02), 4.1);
        assert_eq!(roundup_31(4.00), 4.0);
        assert_eq!(roundup_31(4.000_000_000_000_001), 4.0);
        assert_eq!(roundup_31(9.999_99), 10.0);
        assert_eq!(roundup_31(0.0), 0.0);
        assert_eq!(roundup_30(4.02), 4.1);
        assert_eq!(roundup_30(4.0), 4.0);
    }

    #[test]
    fn zero_impact_scores_zero_and_order_does_not_matter() {
        assert_eq!(base("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"), 0.0);
        assert_eq!(base("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:N/A:N"), 0.0);
        assert_eq!(base("CVSS:3.1/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N"), 9.8);
    }

    #[test]
    fn temporal_and_environmental_metrics_are_validated_not_scored() {
        let v = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C/CR:H/IR:X/AR:L/MAV:L/MAC:H/MPR:X/MUI:R/MS:C/MC:N/MI:L/MA:X";
        let s = score(v).unwrap();
        assert_eq!(s.base_score, 9.8);
        assert_eq!(s.version, "3.1");
        assert_eq!(s.vector, v);
        let e = score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:Q").unwrap_err();
        assert!(e.reason.contains("metric E has invalid value"), "{e}");
    }

    #[test]
    fn invalid_vectors_are_rejected_with_a_reason() {
        let cases = [
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
                "missing required base metric A",
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H",
                "missing required base metrics S, A",
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/AV:L",
                "metric AV appears more than once",
            ),
            (
                "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "metric AV has invalid value",
            ),
            (
                "CVSS:3.1/AV:n/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "metric AV has invalid value",
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:P/S:U/C:H/I:H/A:H",
                "metric UI has invalid value",
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
                "empty metric component",
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1",
                "unknown metric \"ZZ\"",
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:HA:H",
                "invalid value",
            ),
            (
                "CVSS:3.1/AVN/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "not of the form METRIC:VALUE",
            ),
            ("CVSS:3.1/", "no metrics"),
            (
                "CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "must start with",
            ),
            (
                "CVSS:4.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "must start with",
            ),
            ("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "must start with"),
            ("", "must start with"),
        ];
        for (vector, reason) in cases {
            let e = score(vector).expect_err(vector);
            assert!(e.reason.contains(reason), "{vector}: {}", e.reason);
            assert_eq!(e.vector, vector);
        }
        let long = format!(
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H{}",
            "/E:X".repeat(200)
        );
        assert!(score(&long).unwrap_err().reason.contains("characters long"));
    }
}
