//! RubyGems version ordering (`Gem::Version#<=>`).
//!
//! A version is dot-separated segments of ASCII letters and digits (`1.2.3`, `1.0.a10`,
//! `2.0.0.rc1`), optionally followed by `-` and SemVer-like prerelease identifiers, which
//! RubyGems reads as `.pre.` (`1.0-1` = `1.0.pre.1`). Surrounding whitespace is ignored.
//!
//! Order: the version is scanned into runs of digits (numbers) and runs of letters (strings,
//! case-sensitive), so `1.0.a10` = `1.0.a.10`. Canonically, trailing zeros are dropped from the
//! numbers before the first string and from the end (`1.0.0` = `1`, `1.0.a` = `1.a`). Segments
//! then compare in turn, a missing one counting as 0: numbers by value, strings by bytes, and a
//! string is less than any number — so any letter makes a prerelease (`1.0.b1` < `1.0`).
//!
//! Deviations from `Gem::Version.correct?`, both on the lenient side: letters may directly
//! follow the leading digits (`1beta`, read like `1.beta`; OSV data has such versions), and
//! numbers may be arbitrarily long. An empty or blank version is an error here (RubyGems reads
//! it as `0`, but for matching it means missing data).

use std::cmp::Ordering;

use super::VersionError;
use super::semver::{check_length, compare_digits};

const SCHEME: &str = "rubygems";

/// Compares two versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = canonical_segments(a)?;
    let b = canonical_segments(b)?;
    Ok(compare_segments(&a, &b))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Digits without leading zeros ("0" for zero).
    Number(String),
    Text(String),
}

impl Segment {
    fn is_zero(&self) -> bool {
        matches!(self, Segment::Number(n) if n == "0")
    }
}

fn canonical_segments(input: &str) -> Result<Vec<Segment>, VersionError> {
    check_length(SCHEME, input)?;
    let err = |reason: &str| VersionError::new(SCHEME, input, reason);
    // Ruby's \s: space, \t, \n, \v, \f, \r.
    let v = input.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r'));
    if v.is_empty() {
        return Err(err("empty version"));
    }
    let (release, pre) = match v.split_once('-') {
        Some((release, pre)) => (release, Some(pre)),
        None => (v, None),
    };
    if !release.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(err("does not start with a number"));
    }
    for seg in release.split('.') {
        if seg.is_empty() {
            return Err(err("empty segment"));
        }
        if let Some(c) = seg.chars().find(|c| !c.is_ascii_alphanumeric()) {
            return Err(err(&format!("invalid character {c:?}")));
        }
    }
    if let Some(pre) = pre {
        for id in pre.split('.') {
            if id.is_empty() {
                return Err(err("empty prerelease identifier"));
            }
            if let Some(c) = id
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
            {
                return Err(err(&format!("invalid character {c:?}")));
            }
        }
    }

    // `-` reads as `.pre.`; it only adds the string segment "pre" before the rest.
    let mut segments = scan(release);
    if let Some(pre) = pre {
        for part in pre.split('-') {
            segments.push(Segment::Text("pre".into()));
            segments.extend(scan(part));
        }
    }

    let first_text = segments
        .iter()
        .position(|s| matches!(s, Segment::Text(_)))
        .unwrap_or(segments.len());
    let mut strings = segments.split_off(first_text);
    while segments.last().is_some_and(Segment::is_zero) {
        segments.pop();
    }
    while strings.last().is_some_and(Segment::is_zero) {
        strings.pop();
    }
    segments.append(&mut strings);
    Ok(segments)
}

/// Runs of ASCII digits and of ASCII letters, in order; everything else separates.
fn scan(s: &str) -> Vec<Segment> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if !c.is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let digit = c.is_ascii_digit();
        let len = bytes[i..]
            .iter()
            .take_while(|b| {
                if digit {
                    b.is_ascii_digit()
                } else {
                    b.is_ascii_alphabetic()
                }
            })
            .count();
        let run = &s[i..i + len];
        out.push(if digit {
            let n = run.trim_start_matches('0');
            Segment::Number(if n.is_empty() { "0" } else { n }.to_string())
        } else {
            Segment::Text(run.to_string())
        });
        i += len;
    }
    out
}

fn compare_segments(a: &[Segment], b: &[Segment]) -> Ordering {
    let zero = Segment::Number("0".into());
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).unwrap_or(&zero);
        let y = b.get(i).unwrap_or(&zero);
        let ord = match (x, y) {
            (Segment::Number(x), Segment::Number(y)) => compare_digits(x, y),
            (Segment::Text(_), Segment::Number(_)) => Ordering::Less,
            (Segment::Number(_), Segment::Text(_)) => Ordering::Greater,
            (Segment::Text(x), Segment::Text(y)) => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn documented_order() {
        // Gem::Version's own example, newest to oldest.
        let chain = ["1.0", "1.0.b1", "1.0.a.2", "0.9"];
        for w in chain.windows(2) {
            assert_eq!(cmp(w[0], w[1]), Ordering::Greater, "{} > {}", w[0], w[1]);
            assert_eq!(cmp(w[1], w[0]), Ordering::Less);
        }
    }

    #[test]
    fn segments_and_canonical_zeros() {
        assert_eq!(cmp("1.0.a10", "1.0.a.10"), Ordering::Equal);
        assert_eq!(cmp("1.0.a10", "1.0.a9"), Ordering::Greater);
        assert_eq!(cmp("1.0.0", "1"), Ordering::Equal);
        assert_eq!(cmp("1.0.a", "1.a"), Ordering::Equal);
        assert_eq!(cmp("1.0.0.a.0", "1.a"), Ordering::Equal);
        assert_eq!(cmp("1.a.0.b", "1.a.b"), Ordering::Greater);
        assert_eq!(cmp("3.10", "3.2"), Ordering::Greater);
        assert_eq!(cmp("1.2.4.beta", "1.2.4"), Ordering::Less);
        assert_eq!(cmp("1.0.A", "1.0.a"), Ordering::Less);
        assert_eq!(cmp(" 1.0 ", "1"), Ordering::Equal);
    }

    #[test]
    fn hyphen_means_pre() {
        assert_eq!(cmp("1.0-1", "1.0.pre.1"), Ordering::Equal);
        assert_eq!(cmp("1.0-1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0.0-beta.1", "1.0.0.pre.beta.1"), Ordering::Equal);
        assert_eq!(cmp("1.0-a-b", "1.0.pre.a.pre.b"), Ordering::Equal);
    }

    #[test]
    fn lenient_letters_after_first_number() {
        assert_eq!(cmp("1", "1beta"), Ordering::Greater);
        assert_eq!(cmp("1gamma", "1.gamma"), Ordering::Equal);
    }

    #[test]
    fn errors() {
        for bad in [
            "",
            "  ",
            "a",
            ".1",
            "1.",
            "1..2",
            "1.0_1",
            "1.0+build",
            "1.0-",
            "1.0-a..b",
            "-1",
            "1 .0",
            "1.ä",
        ] {
            assert!(compare(bad, "1").is_err(), "{bad:?}");
            assert!(compare("1", bad).is_err(), "{bad:?}");
        }
    }
}
