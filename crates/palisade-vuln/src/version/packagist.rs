//! Composer (Packagist) version ordering: Composer's `Comparator` hands versions to PHP's
//! `version_compare`, whose rules this module follows, after stripping a leading `v`/`V` as
//! Composer's `VersionParser` does.
//!
//! The version is cut into parts at `.`, `-`, `_`, `+` (and any other ASCII punctuation but `#`)
//! and between digits and non-digits: `1.0.0rc2` = `1.0.0.rc2` = `1.0.0-RC.2` → `1 0 0 rc 2`;
//! `dev-main` → `dev main`. Parts compare in turn: numbers by value (any length); words by their
//! stability, matched on the start of the word (case-sensitive, as PHP does):
//! anything unknown < `dev` < `alpha`/`a` < `beta`/`b` < `RC`/`rc` < a number (`#`) <
//! `pl`/`p` (so `patch` too). A number against a word compares as `#`. When one version has
//! parts left over: a leading number makes it greater (`1.0.0` > `1.0`); otherwise the rest is
//! compared with `#` (`1.0-beta` < `1.0` < `1.0-pl1`).
//!
//! Composer's full normalisation (`1.0` → `1.0.0.0`, `RC` → `rc`) is not applied: `1.0.0` >
//! `1.0` and `1.0.0.0` > `1.0.0`, as `version_compare` says. Whitespace, control characters and
//! non-ASCII characters are errors, as is a version without any part.

use std::cmp::Ordering;

use super::VersionError;
use super::semver::{check_length, compare_digits};

const SCHEME: &str = "packagist";

/// Compares two versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = parse(a)?;
    let b = parse(b)?;
    Ok(compare_parts(&a, &b))
}

#[derive(Debug, PartialEq, Eq)]
enum Part<'a> {
    Number(&'a str),
    Word(&'a str),
}

fn parse(input: &str) -> Result<Vec<Part<'_>>, VersionError> {
    check_length(SCHEME, input)?;
    let err = |reason: &str| VersionError::new(SCHEME, input, reason);
    if let Some(c) = input
        .chars()
        .find(|c| !c.is_ascii() || c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return Err(err(&format!("invalid character {c:?}")));
    }
    let s = input
        .strip_prefix('v')
        .or_else(|| input.strip_prefix('V'))
        .unwrap_or(input);
    let bytes = s.as_bytes();
    let is_separator = |c: u8| c.is_ascii_punctuation() && c != b'#';
    let mut parts = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if is_separator(bytes[i]) {
            i += 1;
            continue;
        }
        let digit = bytes[i].is_ascii_digit();
        let len = bytes[i..]
            .iter()
            .take_while(|&&c| !is_separator(c) && c.is_ascii_digit() == digit)
            .count();
        let run = &s[i..i + len];
        parts.push(if digit {
            Part::Number(run)
        } else {
            Part::Word(run)
        });
        i += len;
    }
    if parts.is_empty() {
        return Err(err("no version number"));
    }
    Ok(parts)
}

/// PHP's special forms, matched on the start of a word, first match wins; a number is `#`.
fn stability(word: &str) -> i8 {
    const FORMS: [(&str, i8); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", 4),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(form, _)| word.starts_with(form))
        .map_or(-1, |&(_, order)| order)
}

const NUMBER: i8 = 4;

fn compare_part(a: &Part<'_>, b: &Part<'_>) -> Ordering {
    match (a, b) {
        (Part::Number(x), Part::Number(y)) => compare_digits(x, y),
        (Part::Number(_), Part::Word(y)) => NUMBER.cmp(&stability(y)),
        (Part::Word(x), Part::Number(_)) => stability(x).cmp(&NUMBER),
        (Part::Word(x), Part::Word(y)) => stability(x).cmp(&stability(y)),
    }
}

fn compare_parts(a: &[Part<'_>], b: &[Part<'_>]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let ord = compare_part(x, y);
        if ord != Ordering::Equal {
            return ord;
        }
    }
    match a.len().cmp(&b.len()) {
        Ordering::Greater => rest_against_number(&a[b.len()..]),
        Ordering::Less => rest_against_number(&b[a.len()..]).reverse(),
        Ordering::Equal => Ordering::Equal,
    }
}

/// How the left-over parts of the longer version compare with the end of the shorter one.
fn rest_against_number(rest: &[Part<'_>]) -> Ordering {
    for part in rest {
        match part {
            Part::Number(_) => return Ordering::Greater,
            Part::Word(w) => {
                let ord = stability(w).cmp(&NUMBER);
                if ord != Ordering::Equal {
                    return ord;
                }
            }
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
    fn php_special_forms() {
        // version_compare.phpt: "-dev" < "a1" < "b1" < "RC1" = "rc1" < "" < "pl1".
        let forms = ["1.0-dev", "1.0a1", "1.0b1", "1.0RC1", "1.0", "1.0pl1"];
        for (i, a) in forms.iter().enumerate() {
            for (j, b) in forms.iter().enumerate() {
                assert_eq!(cmp(a, b), i.cmp(&j), "{a} vs {b}");
            }
        }
        assert_eq!(cmp("1.0RC1", "1.0rc1"), Ordering::Equal);
        assert_eq!(cmp("1.0.0rc2", "1.0.0.rc2"), Ordering::Equal);
        assert_eq!(cmp("1.25.0-beta2.1", "1.25.0-b.2.1"), Ordering::Equal);
        assert_eq!(cmp("1.0-patch1", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0-foo", "1.0-dev"), Ordering::Less);
    }

    #[test]
    fn lengths_and_prefixes() {
        assert_eq!(cmp("1.0.0", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.10", "1.10.1"), Ordering::Less);
        assert_eq!(cmp("v1.0", "1.0"), Ordering::Equal);
        assert_eq!(cmp("V1.0.0", "v1.0.0"), Ordering::Equal);
        assert_eq!(cmp("dev-foo", "1.26.0"), Ordering::Less);
        assert_eq!(cmp("dev-foo", "dev-main"), Ordering::Equal);
        // Words match on their start, as in PHP: "bar" reads as "b" (beta).
        assert_eq!(cmp("dev-foo", "dev-bar"), Ordering::Less);
        assert_eq!(cmp("1.2.3.#", "1.2.3"), Ordering::Equal);
        assert_eq!(cmp("1.2.3.#.beta", "1.2.3"), Ordering::Less);
        assert_eq!(cmp("1.2.3.#.p3", "1.2.3"), Ordering::Greater);
        assert_eq!(cmp("1.2.3+4", "1.2.3"), Ordering::Greater);
        assert_eq!(cmp("1..2", "1.2"), Ordering::Equal);
        assert_eq!(
            cmp(
                "999999999999999999999999999991",
                "999999999999999999999999999999"
            ),
            Ordering::Less
        );
    }

    #[test]
    fn errors() {
        for bad in ["", "v", "-", "...", "1.0 beta", "1.0\n", "1.0-ß"] {
            assert!(compare(bad, "1.0").is_err(), "{bad:?}");
            assert!(compare("1.0", bad).is_err(), "{bad:?}");
        }
    }
}
