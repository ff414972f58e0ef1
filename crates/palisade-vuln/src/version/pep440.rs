//! PEP 440 version ordering (PyPI), as implemented by `packaging.version.Version`.
//!
//! A version is `[v][N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, read case-insensitively and
//! with the spellings PEP 440 normalises: `alpha`/`beta`/`c`/`pre`/`preview` (→ `a`/`b`/`rc`),
//! `rev`/`r` and the implicit `1.0-1` (→ post), optional `.`/`-`/`_` separators around the
//! labels, an implicit 0 after a label without a number, surrounding whitespace, a leading `v`.
//!
//! Order: epoch, release (trailing zeros do not count: `1.0` = `1.0.0`), then pre-release
//! (`1.0.dev0` < `1.0a0` < `1.0b0` < `1.0rc0` < `1.0`), post-release, dev-release, and finally
//! the local label (`1.0` < `1.0+abc` < `1.0+1`; numeric segments beat alphanumeric ones, a
//! longer label beats its prefix).
//!
//! [`compare`] rejects anything else: "legacy" versions (`0.9-doduo`, `2013-01-23T17:11:52`,
//! `0.3m1`) were dropped by `packaging` 22 and are refused by current pip, so they are a
//! [`VersionError`]. [`compare_with_legacy`] instead orders them the way `packaging` < 22 did
//! (the setuptools scheme, every legacy version before every PEP 440 one); it is there for
//! callers that must reproduce older tooling, the default stays strict.

use std::cmp::Ordering;

use super::VersionError;
use super::semver::{check_length, compare_digits, is_digits};

const SCHEME: &str = "pep440";

/// Compares two PEP 440 versions; a version that is not valid PEP 440 is an error.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = Pep440::parse(a)?;
    let b = Pep440::parse(b)?;
    Ok(a.cmp_key(&b))
}

/// Like [`compare`], but a string that is not valid PEP 440 is ordered as a legacy version
/// (`packaging` < 22's `LegacyVersion`): legacy versions sort before all PEP 440 versions and
/// among themselves by setuptools' old scheme. Only empty and over-long strings are errors.
pub fn compare_with_legacy(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = AnyVersion::parse(a)?;
    let b = AnyVersion::parse(b)?;
    Ok(match (&a, &b) {
        (AnyVersion::Pep440(x), AnyVersion::Pep440(y)) => x.cmp_key(y),
        (AnyVersion::Legacy(_), AnyVersion::Pep440(_)) => Ordering::Less,
        (AnyVersion::Pep440(_), AnyVersion::Legacy(_)) => Ordering::Greater,
        (AnyVersion::Legacy(x), AnyVersion::Legacy(y)) => x.cmp(y),
    })
}

/// Pre-release phases in their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Alpha,
    Beta,
    Rc,
}

#[derive(Debug)]
enum LocalSegment {
    Number(String),
    Text(String),
}

#[derive(Debug)]
struct Pep440 {
    epoch: String,
    /// Release numbers, trailing zeros removed (they do not affect the order).
    release: Vec<String>,
    pre: Option<(Phase, String)>,
    post: Option<String>,
    dev: Option<String>,
    local: Option<Vec<LocalSegment>>,
}

/// A byte cursor over the lower-cased version.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_separator(&mut self) -> bool {
        matches!(self.peek(), Some(b'.' | b'-' | b'_')) && {
            self.pos += 1;
            true
        }
    }

    /// A run of ASCII digits (possibly empty).
    fn digits(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.pos]).into_owned()
    }

    /// The longest of `words` at the cursor, consumed.
    fn word<'w>(&mut self, words: &[&'w str]) -> Option<&'w str> {
        let rest = &self.s[self.pos..];
        let found = words
            .iter()
            .filter(|w| rest.starts_with(w.as_bytes()))
            .max_by_key(|w| w.len())
            .copied()?;
        self.pos += found.len();
        Some(found)
    }

    /// Tries `f`; on None the cursor is put back.
    fn attempt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let saved = self.pos;
        let r = f(self);
        if r.is_none() {
            self.pos = saved;
        }
        r
    }
}

fn zero_if_empty(n: String) -> String {
    if n.is_empty() { "0".to_string() } else { n }
}

impl Pep440 {
    fn parse(input: &str) -> Result<Pep440, VersionError> {
        check_length(SCHEME, input)?;
        let err = |reason: &str| VersionError::new(SCHEME, input, reason);
        let lower = input.trim().to_ascii_lowercase();
        let mut c = Cursor {
            s: lower.as_bytes(),
            pos: 0,
        };
        c.eat(b'v');

        // Epoch and release.
        let first = c.digits();
        if first.is_empty() {
            return Err(err("does not start with a release number"));
        }
        let (epoch, mut release) = if c.eat(b'!') {
            let n = c.digits();
            if n.is_empty() {
                return Err(err("no release number after the epoch"));
            }
            (first, vec![n])
        } else {
            ("0".to_string(), vec![first])
        };
        while let Some(n) = c.attempt(|c| {
            c.eat(b'.').then_some(())?;
            let n = c.digits();
            (!n.is_empty()).then_some(n)
        }) {
            release.push(n);
        }
        while release.len() > 1 && release.last().is_some_and(|n| n.bytes().all(|b| b == b'0')) {
            release.pop();
        }

        // Pre-release: [-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?N?
        let pre = c.attempt(|c| {
            c.eat_separator();
            let phase = match c.word(&["a", "b", "c", "rc", "alpha", "beta", "pre", "preview"])? {
                "a" | "alpha" => Phase::Alpha,
                "b" | "beta" => Phase::Beta,
                _ => Phase::Rc,
            };
            c.eat_separator();
            Some((phase, zero_if_empty(c.digits())))
        });

        // Post-release: -N | [-_.]?(post|rev|r)[-_.]?N?
        let post = c
            .attempt(|c| {
                c.eat(b'-').then_some(())?;
                let n = c.digits();
                (!n.is_empty()).then_some(n)
            })
            .or_else(|| {
                c.attempt(|c| {
                    c.eat_separator();
                    c.word(&["post", "rev", "r"])?;
                    c.eat_separator();
                    Some(zero_if_empty(c.digits()))
                })
            });

        // Dev-release: [-_.]?dev[-_.]?N?
        let dev = c.attempt(|c| {
            c.eat_separator();
            c.word(&["dev"])?;
            c.eat_separator();
            Some(zero_if_empty(c.digits()))
        });

        // Local label: +[a-z0-9]+([-_.][a-z0-9]+)*
        let local = if c.eat(b'+') {
            let rest = &lower[c.pos..];
            let mut segments = Vec::new();
            for seg in rest.split(['.', '-', '_']) {
                if seg.is_empty() || !seg.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(err("invalid local version label"));
                }
                segments.push(if is_digits(seg) {
                    LocalSegment::Number(seg.to_string())
                } else {
                    LocalSegment::Text(seg.to_string())
                });
            }
            c.pos = c.s.len();
            Some(segments)
        } else {
            None
        };

        if let Some(rest) = lower.get(c.pos..).filter(|r| !r.is_empty()) {
            return Err(err(&format!("not a PEP 440 version (unexpected {rest:?})")));
        }
        Ok(Pep440 {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    fn cmp_key(&self, other: &Pep440) -> Ordering {
        compare_digits(&self.epoch, &other.epoch)
            .then_with(|| compare_release(&self.release, &other.release))
            .then_with(|| self.pre_key().cmp(&other.pre_key()))
            .then_with(|| cmp_opt_number(&self.post, &other.post, Ordering::Less))
            .then_with(|| cmp_opt_number(&self.dev, &other.dev, Ordering::Greater))
            .then_with(|| compare_local(self.local.as_deref(), other.local.as_deref()))
    }

    /// The pre-release part of the key: a dev release of a final release (`1.0.dev0`) sorts
    /// before all pre-releases, a version without pre-release after them.
    fn pre_key(&self) -> PreKey<'_> {
        match &self.pre {
            Some((phase, n)) => PreKey::Pre(*phase, Num(n)),
            None if self.post.is_none() && self.dev.is_some() => PreKey::BeforeAll,
            None => PreKey::AfterAll,
        }
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum PreKey<'a> {
    BeforeAll,
    Pre(Phase, Num<'a>),
    AfterAll,
}

/// A digit string ordered by value.
#[derive(PartialEq, Eq)]
struct Num<'a>(&'a str);

impl PartialOrd for Num<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Num<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_digits(self.0, other.0)
    }
}

fn compare_release(a: &[String], b: &[String]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).map_or("0", String::as_str);
        let y = b.get(i).map_or("0", String::as_str);
        let ord = compare_digits(x, y);
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// Compares optional numbers; `absent` is how a missing number compares to a present one.
fn cmp_opt_number(a: &Option<String>, b: &Option<String>, absent: Ordering) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => absent,
        (Some(_), None) => absent.reverse(),
        (Some(x), Some(y)) => compare_digits(x, y),
    }
}

fn compare_local(a: Option<&[LocalSegment]>, b: Option<&[LocalSegment]>) -> Ordering {
    let (a, b) = match (a, b) {
        (None, None) => return Ordering::Equal,
        (None, Some(_)) => return Ordering::Less,
        (Some(_), None) => return Ordering::Greater,
        (Some(a), Some(b)) => (a, b),
    };
    for (x, y) in a.iter().zip(b) {
        let ord = match (x, y) {
            (LocalSegment::Number(x), LocalSegment::Number(y)) => compare_digits(x, y),
            (LocalSegment::Number(_), LocalSegment::Text(_)) => Ordering::Greater,
            (LocalSegment::Text(_), LocalSegment::Number(_)) => Ordering::Less,
            (LocalSegment::Text(x), LocalSegment::Text(y)) => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}

enum AnyVersion {
    Pep440(Pep440),
    Legacy(Vec<String>),
}

impl AnyVersion {
    fn parse(input: &str) -> Result<AnyVersion, VersionError> {
        check_length(SCHEME, input)?;
        match Pep440::parse(input) {
            Ok(v) => Ok(AnyVersion::Pep440(v)),
            Err(_) => Ok(AnyVersion::Legacy(legacy_key(input))),
        }
    }
}

/// The sort key of `packaging` < 22's `LegacyVersion` (setuptools' scheme): the lower-cased
/// string cut into runs of digits, runs of letters, `.`, `-` and whatever lies between them;
/// numbers zero-padded to 8 places, everything else prefixed with `*`; `pre`/`preview`/`rc` →
/// `c`, `dev` → `@`, `-` → `final-`; zeros before a word and `final-` before a pre-release
/// word dropped; a final `*final`. Keys compare as tuples of strings.
fn legacy_key(input: &str) -> Vec<String> {
    let lower = input.to_lowercase();
    let mut pieces = Vec::new();
    let bytes = lower.as_bytes();
    let (mut i, mut gap) = (0, 0);
    while i < bytes.len() {
        let c = bytes[i];
        let end = if c.is_ascii_digit() {
            i + bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count()
        } else if c.is_ascii_lowercase() {
            i + bytes[i..]
                .iter()
                .take_while(|b| b.is_ascii_lowercase())
                .count()
        } else if c == b'.' || c == b'-' {
            i + 1
        } else {
            i += 1;
            continue;
        };
        pieces.push(&lower[gap..i]);
        pieces.push(&lower[i..end]);
        i = end;
        gap = end;
    }
    pieces.push(&lower[gap..]);

    let mut parts: Vec<String> = Vec::new();
    for piece in pieces.into_iter().chain(std::iter::once("final")) {
        let piece = match piece {
            "pre" | "preview" | "rc" => "c",
            "-" => "final-",
            "dev" => "@",
            other => other,
        };
        if piece.is_empty() || piece == "." {
            continue;
        }
        if piece.as_bytes()[0].is_ascii_digit() {
            parts.push(format!("{piece:0>8}"));
            continue;
        }
        let word = format!("*{piece}");
        if word.as_str() < "*final" {
            while parts.last().is_some_and(|p| p == "*final-") {
                parts.pop();
            }
        }
        while parts.last().is_some_and(|p| p == "00000000") {
            parts.pop();
        }
        parts.push(word);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|e| panic!("{e}"))
    }

    fn assert_chain(chain: &[&str]) {
        for (i, a) in chain.iter().enumerate() {
            for (j, b) in chain.iter().enumerate() {
                assert_eq!(cmp(a, b), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn pep440_example_order() {
        assert_chain(&[
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
        ]);
    }

    #[test]
    fn normalised_spellings_are_equal() {
        for (a, b) in [
            ("1.0", "1.0.0.0"),
            ("1.0alpha", "1.0a0"),
            ("1.0-ALPHA-1", "1.0a1"),
            ("1.0.beta.2", "1.0b2"),
            ("1.0c1", "1.0rc1"),
            ("1.0pre1", "1.0rc1"),
            ("1.0preview_1", "1.0rc1"),
            ("1.0-post1", "1.0.post1"),
            ("1.0-1", "1.0.post1"),
            ("1.0rev", "1.0.post0"),
            ("1.0r3", "1.0.post3"),
            ("1.0.DEV", "1.0.dev0"),
            ("v1.0", "1.0"),
            ("V1.0", "1.0"),
            ("  1.0\n", "1.0"),
            ("0!1.0", "1.0"),
            ("1.0+ABC-1_2", "1.0+abc.1.2"),
            ("1.0+local.01", "1.0+local.1"),
            ("1.0a.", "1.0a0"),
        ] {
            assert_eq!(cmp(a, b), Ordering::Equal, "{a} = {b}");
        }
    }

    #[test]
    fn epochs_and_numbers() {
        assert_eq!(cmp("1!1.0", "2!0.1"), Ordering::Less);
        assert_eq!(cmp("1!0.1", "2000.0"), Ordering::Greater);
        assert_eq!(cmp("3.10", "3.9"), Ordering::Greater);
        assert_eq!(cmp("1.0.0+local", "1.0.0"), Ordering::Greater);
        assert_eq!(cmp("1.0.0+local.a", "1.0.0+local.1"), Ordering::Less);
        assert_eq!(
            cmp(
                "999999999999999999999999999991",
                "999999999999999999999999999999"
            ),
            Ordering::Less
        );
    }

    #[test]
    fn invalid_versions_are_errors() {
        for bad in [
            "",
            "   ",
            "v",
            "1.",
            "1..0",
            ".1",
            "a1",
            "1.0-bulbasaur",
            "0.3m1",
            "1.0+",
            "1.0+abc..1",
            "1.0+a+b",
            "1!",
            "1.0a1a2",
            "1.0.post1.post2",
            "2013-01-23T17:11:52+0100",
            "1.0 beta",
            "1.0\u{0663}",
        ] {
            assert!(compare(bad, "1.0").is_err(), "{bad:?} should be an error");
            assert!(compare("1.0", bad).is_err(), "{bad:?} should be an error");
        }
        assert!(compare(&"1".repeat(300), "1").is_err());
    }

    #[test]
    fn legacy_versions_sort_first_in_legacy_mode() {
        let lc = |a: &str, b: &str| compare_with_legacy(a, b).unwrap();
        assert_eq!(lc("0.9-doduo", "0.1"), Ordering::Less);
        assert_eq!(lc("0.1-bulbasaur", "0.1-charmander"), Ordering::Less);
        assert_eq!(lc("0.3m1", "0.3m2"), Ordering::Less);
        assert_eq!(lc("0.7.4.svn.r2010", "0.6.4"), Ordering::Less);
        assert_eq!(lc("1.0beta6.1", "1.0b6"), Ordering::Less);
        assert_eq!(lc("1.0.a", "1.0.A"), Ordering::Equal);
        assert_eq!(lc("1.0", "1.0.0"), Ordering::Equal);
        assert!(compare_with_legacy("", "1.0").is_err());
    }

    #[test]
    fn legacy_key_matches_setuptools() {
        assert_eq!(
            legacy_key("1.0c1"),
            ["00000001", "*c", "00000001", "*final"]
        );
        assert_eq!(legacy_key("1.0-dev"), ["00000001", "*@", "*final"]);
        assert_eq!(
            legacy_key("1.0-final"),
            ["00000001", "*final-", "*final", "*final"]
        );
        assert_eq!(legacy_key("a+b"), ["*a", "*+", "*b", "*final"]);
    }
}
