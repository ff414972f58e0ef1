//! SemVer 2.0 precedence (semver.org, §11), as used by npm, crates.io, Go, Hex and Pub.
//!
//! Precedence: the numeric release components, then the prerelease (a version without one is
//! greater), identifier by identifier: numeric identifiers compare by value, alphanumeric ones
//! in ASCII order, numeric < alphanumeric, and a longer list wins when one is a prefix of the
//! other. Build metadata (`+…`) is ignored.
//!
//! Leniencies (the ones OSV data needs, and nothing that would turn garbage into a version):
//! - a leading `v` (Go: `v1.2.3`, and Go pseudo-versions such as
//!   `v0.0.0-20191109021931-daa7c04131f5` are ordinary prereleases);
//! - one or two release components (`1`, `1.2`, as Go's `v1.2` shorthand and OSV ranges use):
//!   missing components are 0, so `1` = `1.0` = `1.0.0`;
//! - more than three release components (`1.1.3.4.5`): the extra ones compare numerically,
//!   missing ones count as 0 (so `1.1.3.0` = `1.1.3` < `1.1.3.4`);
//! - leading zeros in numeric parts (`1.02.3`), compared by value;
//! - numbers of any size (compared as digit strings, never overflowing).
//!
//! Rejected: an empty version, an empty component or identifier (`1..2`, `1.0.0-`, `1.0.0-a..b`),
//! any character outside `[0-9A-Za-z.+-]`, a non-numeric release component, more than 256
//! characters.

use std::cmp::Ordering;

use super::VersionError;

const SCHEME: &str = "semver";

/// Longest version string any of the language-ecosystem schemes accepts.
pub(crate) const MAX_VERSION_LEN: usize = 256;

/// Compares two versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = Semver::parse(a)?;
    let b = Semver::parse(b)?;
    Ok(a.precedence(&b))
}

/// Compares two non-empty strings of ASCII digits by numeric value, of any length.
pub(crate) fn compare_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// True for a non-empty string of ASCII digits.
pub(crate) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

/// The length check shared by the language-ecosystem schemes.
pub(crate) fn check_length(scheme: &'static str, version: &str) -> Result<(), VersionError> {
    if version.is_empty() {
        return Err(VersionError::new(scheme, version, "empty version"));
    }
    if version.len() > MAX_VERSION_LEN {
        return Err(VersionError::new(
            scheme,
            version,
            format!("longer than {MAX_VERSION_LEN} characters"),
        ));
    }
    Ok(())
}

/// A parsed version; the strings borrow from the input.
#[derive(Debug)]
struct Semver<'a> {
    release: Vec<&'a str>,
    pre: Vec<&'a str>,
}

impl<'a> Semver<'a> {
    fn parse(input: &'a str) -> Result<Semver<'a>, VersionError> {
        check_length(SCHEME, input)?;
        let err = |reason: &str| VersionError::new(SCHEME, input, reason);
        let s = input.strip_prefix('v').unwrap_or(input);
        let (rest, build) = match s.split_once('+') {
            Some((rest, build)) => (rest, Some(build)),
            None => (s, None),
        };
        if let Some(build) = build {
            check_identifiers(build).map_err(|r| err(&format!("build metadata: {r}")))?;
        }
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (rest, None),
        };
        if core.is_empty() {
            return Err(err("no release number"));
        }
        let mut release = Vec::new();
        for part in core.split('.') {
            if part.is_empty() {
                return Err(err("empty release component"));
            }
            if !is_digits(part) {
                return Err(err(&format!("release component {part:?} is not a number")));
            }
            release.push(part);
        }
        let pre = match pre {
            Some(pre) => {
                check_identifiers(pre).map_err(|r| err(&format!("prerelease: {r}")))?;
                pre.split('.').collect()
            }
            None => Vec::new(),
        };
        Ok(Semver { release, pre })
    }

    fn precedence(&self, other: &Semver<'_>) -> Ordering {
        let n = self.release.len().max(other.release.len());
        for i in 0..n {
            let a = self.release.get(i).copied().unwrap_or("0");
            let b = other.release.get(i).copied().unwrap_or("0");
            let ord = compare_digits(a, b);
            if ord != Ordering::Equal {
                return ord;
            }
        }
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => compare_identifiers(&self.pre, &other.pre),
        }
    }
}

/// Checks dot-separated identifiers: non-empty, `[0-9A-Za-z-]` only.
fn check_identifiers(s: &str) -> Result<(), String> {
    for id in s.split('.') {
        if id.is_empty() {
            return Err("empty identifier".into());
        }
        if let Some(c) = id
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!("invalid character {c:?} in identifier {id:?}"));
        }
    }
    Ok(())
}

/// SemVer §11.4 on two prerelease identifier lists.
fn compare_identifiers(a: &[&str], b: &[&str]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let ord = match (is_digits(x), is_digits(y)) {
            (true, true) => compare_digits(x, y),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.cmp(y),
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
    fn spec_example_chain() {
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
        ];
        for w in chain.windows(2) {
            assert_eq!(cmp(w[0], w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
            assert_eq!(cmp(w[1], w[0]), Ordering::Greater);
        }
    }

    #[test]
    fn build_metadata_is_ignored() {
        assert_eq!(cmp("1.2.3+build", "1.2.3+other"), Ordering::Equal);
        assert_eq!(cmp("1.2.3-beta+build", "1.2.3-beta"), Ordering::Equal);
        assert_eq!(cmp("2.7.2+asdf", "3.0.0"), Ordering::Less);
    }

    #[test]
    fn leading_v_and_go_pseudo_versions() {
        assert_eq!(cmp("v1.2.3", "1.2.3"), Ordering::Equal);
        assert_eq!(
            cmp(
                "v0.0.0-20191109021931-daa7c04131f5",
                "v0.0.0-20200101000000-aaaaaaaaaaaa"
            ),
            Ordering::Less
        );
        assert_eq!(
            cmp("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.3"),
            Ordering::Greater
        );
        assert_eq!(
            cmp("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4"),
            Ordering::Less
        );
        assert_eq!(cmp("v2.0.0+incompatible", "v2.0.0"), Ordering::Equal);
    }

    #[test]
    fn short_and_long_releases() {
        assert_eq!(cmp("1", "1.0.0"), Ordering::Equal);
        assert_eq!(cmp("1.2", "1.2.0"), Ordering::Equal);
        assert_eq!(cmp("1.2", "1.10"), Ordering::Less);
        assert_eq!(cmp("1.1.3.4.5", "1.1.3.4.5"), Ordering::Equal);
        assert_eq!(cmp("1.1.3.4", "1.1.3"), Ordering::Greater);
        assert_eq!(cmp("1.1.3.0", "1.1.3"), Ordering::Equal);
    }

    #[test]
    fn identifiers() {
        assert_eq!(cmp("1.2.3-a.10", "1.2.3-a.5"), Ordering::Greater);
        assert_eq!(cmp("1.2.3-a.b", "1.2.3-a.5"), Ordering::Greater);
        assert_eq!(cmp("1.2.3-r100", "1.2.3-r2"), Ordering::Less);
        assert_eq!(cmp("1.2.3-R2", "1.2.3-r100"), Ordering::Less);
        assert_eq!(cmp("1.2.3-5", "1.2.3-5-foo"), Ordering::Less);
        assert_eq!(cmp("1.2.3-01", "1.2.3-1"), Ordering::Equal);
    }

    #[test]
    fn huge_numbers() {
        let a = "999999999999999999999999999991";
        let b = "999999999999999999999999999999";
        assert_eq!(cmp(a, b), Ordering::Less);
        assert_eq!(cmp("0001", "1"), Ordering::Equal);
        assert_eq!(compare_digits("000", "0"), Ordering::Equal);
    }

    #[test]
    fn invalid_versions_are_errors() {
        for bad in [
            "",
            "v",
            "1..2",
            "1.2.",
            ".1",
            "1.0.0-",
            "1.0.0-a..b",
            "1.0.0+",
            "1.0.0+a..b",
            "1.0.0-a b",
            "1.x.0",
            "a.b.c",
            "-1.0.0",
            "1.0.0-ü",
            " 1.0.0",
        ] {
            assert!(compare(bad, "1.0.0").is_err(), "{bad:?} should be an error");
            assert!(compare("1.0.0", bad).is_err(), "{bad:?} should be an error");
        }
        let long = "1.".repeat(200) + "0";
        assert!(compare(&long, "1").is_err());
    }
}
