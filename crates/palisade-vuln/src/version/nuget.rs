//! NuGet version ordering (`NuGet.Versioning`, `VersionComparer.Default`).
//!
//! A version is one to four numeric parts (`1`, `1.0`, `1.0.0`, `1.0.0.1`; missing parts are
//! 0, leading zeros allowed: `1.0.01` = `1.0.1.0`), an optional `-` and dot-separated release
//! labels of `[0-9A-Za-z-]`, and optional `+metadata`, which does not take part in the order.
//!
//! Order: the four numbers; then a version without release labels is greater; then the labels
//! in turn: numeric labels by value, a numeric label before an alphanumeric one, alphanumeric
//! labels case-insensitively (ordinal, like `StringComparer.OrdinalIgnoreCase`); more labels
//! win when the shorter list is a prefix.
//!
//! Numbers of any length are accepted and compared by value (NuGet's own parser stops at
//! `int.MaxValue`; OSV data occasionally goes beyond).

use std::cmp::Ordering;

use super::VersionError;
use super::semver::{check_length, compare_digits, is_digits};

const SCHEME: &str = "nuget";

/// Compares two versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = NuGetVersion::parse(a)?;
    let b = NuGetVersion::parse(b)?;
    Ok(a.compare(&b))
}

#[derive(Debug)]
struct NuGetVersion<'a> {
    numbers: Vec<&'a str>,
    labels: Vec<&'a str>,
}

impl<'a> NuGetVersion<'a> {
    fn parse(input: &'a str) -> Result<NuGetVersion<'a>, VersionError> {
        check_length(SCHEME, input)?;
        let err = |reason: &str| VersionError::new(SCHEME, input, reason);
        let (rest, metadata) = match input.split_once('+') {
            Some((rest, metadata)) => (rest, Some(metadata)),
            None => (input, None),
        };
        if let Some(metadata) = metadata {
            check_labels(metadata).map_err(|r| err(&format!("metadata: {r}")))?;
        }
        let (core, labels) = match rest.split_once('-') {
            Some((core, labels)) => {
                check_labels(labels).map_err(|r| err(&format!("release label: {r}")))?;
                (core, labels.split('.').collect())
            }
            None => (rest, Vec::new()),
        };
        let numbers: Vec<&str> = core.split('.').collect();
        if numbers.len() > 4 {
            return Err(err("more than four version numbers"));
        }
        if let Some(bad) = numbers.iter().find(|n| !is_digits(n)) {
            return Err(err(&format!("version part {bad:?} is not a number")));
        }
        Ok(NuGetVersion { numbers, labels })
    }

    fn compare(&self, other: &NuGetVersion<'_>) -> Ordering {
        for i in 0..4 {
            let x = self.numbers.get(i).copied().unwrap_or("0");
            let y = other.numbers.get(i).copied().unwrap_or("0");
            let ord = compare_digits(x, y);
            if ord != Ordering::Equal {
                return ord;
            }
        }
        match (self.labels.is_empty(), other.labels.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => compare_labels(&self.labels, &other.labels),
        }
    }
}

fn check_labels(s: &str) -> Result<(), String> {
    for label in s.split('.') {
        if label.is_empty() {
            return Err("empty label".into());
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!("invalid character {c:?} in {label:?}"));
        }
    }
    Ok(())
}

fn compare_labels(a: &[&str], b: &[&str]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let ord = match (is_digits(x), is_digits(y)) {
            (true, true) => compare_digits(x, y),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x
                .bytes()
                .map(|c| c.to_ascii_uppercase())
                .cmp(y.bytes().map(|c| c.to_ascii_uppercase())),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn numbers_and_labels() {
        assert_eq!(cmp("1.0", "1.0.0.0"), Ordering::Equal);
        assert_eq!(cmp("1.0.01", "1.0.1.0"), Ordering::Equal);
        assert_eq!(cmp("1.0.0", "1.0.0.1"), Ordering::Less);
        assert_eq!(cmp("1.0.0-BETA", "1.0.0-beta"), Ordering::Equal);
        assert_eq!(cmp("1.0.0-beta2", "1.0.0-BETA"), Ordering::Greater);
        assert_eq!(cmp("1.0.0-beta.2", "1.0.0-beta.10"), Ordering::Less);
        assert_eq!(cmp("1.0.0-1", "1.0.0-a"), Ordering::Less);
        assert_eq!(cmp("1.0.0-pre", "1.0.0.1-alpha"), Ordering::Less);
        assert_eq!(cmp("1.0.0+AA", "1.0.0-beta+aa"), Ordering::Greater);
        assert_eq!(cmp("1.0.0+a", "1.0.0+b"), Ordering::Equal);
    }

    #[test]
    fn errors() {
        for bad in [
            "",
            "v1.0",
            "1.0.0.0.0",
            "1..0",
            "1.0.",
            "1.0-",
            "1.0-a..b",
            "1.0+",
            "1.a",
            "1.0 ",
            "-1",
            "1.0-ä",
        ] {
            assert!(compare(bad, "1.0").is_err(), "{bad:?}");
            assert!(compare("1.0", bad).is_err(), "{bad:?}");
        }
    }
}
