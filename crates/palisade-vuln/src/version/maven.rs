//! Maven version ordering, following the "Version Order Specification" of the Maven POM
//! reference (the documented contract of `ComparableVersion`), which is also what OSV uses.
//!
//! 1. The version (case-insensitive) is cut into tokens at `.`, at `-`, and at every transition
//!    between digits and non-digits; each token keeps the separator before it as its prefix, a
//!    transition counting as `-`. An empty token is `0`. Aliases: `cr` = `rc`;
//!    `ga` = `final` = `release` = the empty qualifier; `a`, `b`, `m` directly followed by a
//!    number mean `alpha`, `beta`, `milestone`.
//! 2. Trailing "null" tokens (`0`, the empty qualifier) are trimmed from the end, and the same
//!    again just before each remaining hyphen, from the end to the start (`1.0.0-foo.0.0` →
//!    `1-foo`, `1-0-1` → `1-1`).
//! 3. Tokens are compared in turn, the shorter version padded with null tokens carrying the
//!    other side's prefix (`.0` for `.`, `-` + empty qualifier for `-`). With equal prefixes:
//!    numbers by value; a number beats a qualifier (except a padding `0`, which compares as the
//!    qualifier `0`); qualifiers `alpha` < `beta` < `milestone` < `rc` < `snapshot` < `` <
//!    `sp` < any other qualifier, others in lexical order. With different prefixes:
//!    `.qualifier` < `-qualifier` < `-number` < `.number`.
//!
//! Any string of up to 256 characters without whitespace or control characters is a Maven
//! version (Maven itself accepts everything); those are errors.
//!
//! Caveat: the specification is not a total order across unrelated versions. A zero kept before
//! a `.qualifier` counts as padding against a shorter version but as a number against a
//! `-qualifier`: `1.0` < `1.0-dev` < `1.0.beta8` < `1.0`. Comparing a version with the bounds
//! of a range is unaffected, but do not hand this comparison to `slice::sort_by` for arbitrary
//! mixed sets (the standard sort may panic on an inconsistent order). `ComparableVersion` in
//! Maven 3.9/4 differs from the specification on such versions (it reads `1.0.beta8` as
//! `1-beta-8`); the OSV corpus, and OSV itself, follow the specification.

use std::cmp::Ordering;

use super::VersionError;
use super::semver::{check_length, compare_digits};

const SCHEME: &str = "maven";

/// Compares two versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = parse(a)?;
    let b = parse(b)?;
    Ok(compare_tokens(&a, &b))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    /// The first token.
    Start,
    Dot,
    Hyphen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    /// Digits without leading zeros ("0" for zero).
    Number(String),
    /// A lower-cased qualifier after aliasing; "" is the release qualifier.
    Qualifier(String),
}

#[derive(Debug, Clone)]
struct Token {
    prefix: Prefix,
    value: Value,
    /// A padding token (only made while comparing).
    padding: bool,
}

impl Token {
    fn is_null(&self) -> bool {
        match &self.value {
            Value::Number(n) => n == "0",
            Value::Qualifier(q) => q.is_empty(),
        }
    }
}

/// Well-known qualifiers in their order; unknown ones come after, lexically.
const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

fn parse(input: &str) -> Result<Vec<Token>, VersionError> {
    check_length(SCHEME, input)?;
    if let Some(c) = input.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(VersionError::new(
            SCHEME,
            input,
            format!("invalid character {c:?}"),
        ));
    }
    let lower = input.to_lowercase();
    let mut tokens = Vec::new();
    let mut prefix = Prefix::Start;
    let mut rest = lower.as_str();
    loop {
        let (raw, sep, next) = match rest.find(['.', '-']) {
            Some(i) => (&rest[..i], Some(rest.as_bytes()[i]), &rest[i + 1..]),
            None => (rest, None, ""),
        };
        push_raw_token(&mut tokens, prefix, raw);
        match sep {
            Some(b'.') => prefix = Prefix::Dot,
            Some(_) => prefix = Prefix::Hyphen,
            None => break,
        }
        rest = next;
    }
    trim_nulls(&mut tokens);
    Ok(tokens)
}

/// Splits one separator-delimited piece at digit/non-digit transitions and appends its tokens.
fn push_raw_token(tokens: &mut Vec<Token>, prefix: Prefix, raw: &str) {
    if raw.is_empty() {
        tokens.push(Token {
            prefix,
            value: Value::Number("0".into()),
            padding: false,
        });
        return;
    }
    let mut prefix = prefix;
    let mut start = 0;
    let bytes = raw.as_bytes();
    while start < raw.len() {
        let digit = bytes[start].is_ascii_digit();
        let len = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit() == digit)
            .count();
        let end = start + len;
        let piece = &raw[start..end];
        let value = if digit {
            let n = piece.trim_start_matches('0');
            Value::Number(if n.is_empty() { "0" } else { n }.to_string())
        } else {
            let followed_by_digit = end < raw.len();
            let q = match piece {
                "a" if followed_by_digit => "alpha",
                "b" if followed_by_digit => "beta",
                "m" if followed_by_digit => "milestone",
                "cr" => "rc",
                "ga" | "final" | "release" => "",
                other => other,
            };
            Value::Qualifier(q.to_string())
        };
        tokens.push(Token {
            prefix,
            value,
            padding: false,
        });
        prefix = Prefix::Hyphen;
        start = end;
    }
}

/// Removes trailing null tokens at the end and before each remaining hyphen (never the first).
fn trim_nulls(tokens: &mut Vec<Token>) {
    let mut i = tokens.len() - 1;
    while i > 0 {
        if tokens[i].is_null() {
            tokens.remove(i);
            i -= 1;
            continue;
        }
        // Skip back to the token that starts with the nearest hyphen, then past it.
        while i > 0 && tokens[i].prefix != Prefix::Hyphen {
            i -= 1;
        }
        if i == 0 {
            break;
        }
        i -= 1;
    }
}

/// The null token that pads the other side of `other`.
fn padding_for(other: &Token) -> Token {
    let value = match other.prefix {
        // `sp` is the one qualifier after the release; a `.0` padding would sort after it.
        Prefix::Dot if other.value == Value::Qualifier("sp".into()) => {
            Value::Qualifier(String::new())
        }
        Prefix::Dot | Prefix::Start => Value::Number("0".into()),
        Prefix::Hyphen => Value::Qualifier(String::new()),
    };
    Token {
        prefix: other.prefix,
        value,
        padding: true,
    }
}

fn compare_tokens(a: &[Token], b: &[Token]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let (left, right) = match (a.get(i), b.get(i)) {
            (Some(l), Some(r)) => (l.clone(), r.clone()),
            (Some(l), None) => (l.clone(), padding_for(l)),
            (None, Some(r)) => (padding_for(r), r.clone()),
            (None, None) => break,
        };
        let ord = compare_token(&left, &right);
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

fn compare_token(l: &Token, r: &Token) -> Ordering {
    if l.prefix != r.prefix {
        return prefix_rank(l).cmp(&prefix_rank(r));
    }
    match (&l.value, &r.value) {
        (Value::Number(x), Value::Number(y)) => compare_digits(x, y),
        (Value::Number(_), Value::Qualifier(_)) if !l.padding => Ordering::Greater,
        (Value::Qualifier(_), Value::Number(_)) if !r.padding => Ordering::Less,
        (x, y) => compare_qualifiers(qualifier_text(x), qualifier_text(y)),
    }
}

fn qualifier_text(v: &Value) -> &str {
    match v {
        Value::Number(n) | Value::Qualifier(n) => n,
    }
}

fn compare_qualifiers(x: &str, y: &str) -> Ordering {
    let rank = |q: &str| {
        QUALIFIERS
            .iter()
            .position(|k| *k == q)
            .unwrap_or(QUALIFIERS.len())
    };
    let (rx, ry) = (rank(x), rank(y));
    if rx == QUALIFIERS.len() && ry == QUALIFIERS.len() {
        x.cmp(y)
    } else {
        rx.cmp(&ry)
    }
}

/// `.qualifier` < `-qualifier` < `-number` < `.number`.
fn prefix_rank(t: &Token) -> u8 {
    match (&t.value, t.prefix) {
        (Value::Qualifier(_), Prefix::Dot | Prefix::Start) => 0,
        (Value::Qualifier(_), Prefix::Hyphen) => 1,
        (Value::Number(_), Prefix::Hyphen) => 2,
        (Value::Number(_), Prefix::Dot | Prefix::Start) => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|e| panic!("{e}"))
    }

    fn canonical(v: &str) -> String {
        let mut s = String::new();
        for t in parse(v).unwrap() {
            s.push_str(match t.prefix {
                Prefix::Start => "",
                Prefix::Dot => ".",
                Prefix::Hyphen => "-",
            });
            s.push_str(qualifier_text(&t.value));
        }
        s
    }

    #[test]
    fn tokenising_and_trimming() {
        assert_eq!(canonical("1-1.foo-bar1baz-.1"), "1-1.foo-bar-1-baz-0.1");
        assert_eq!(canonical("1.0.0"), "1");
        assert_eq!(canonical("1.ga"), "1");
        assert_eq!(canonical("1.final"), "1");
        assert_eq!(canonical("1."), "1");
        assert_eq!(canonical("1-"), "1");
        assert_eq!(canonical("1.0.0-foo.0.0"), "1-foo");
        assert_eq!(canonical("1.0.0-0.0.0"), "1");
        assert_eq!(canonical("0.0.0"), "0");
        assert_eq!(canonical("1.0-RC1"), "1-rc-1");
        assert_eq!(canonical("1a1"), "1-alpha-1");
        assert_eq!(canonical("1a"), "1-a");
        assert_eq!(canonical("1.007"), "1.7");
    }

    #[test]
    fn qualifier_order() {
        let chain = [
            "1-alpha-1",
            "1-beta-1",
            "1-milestone-1",
            "1-rc-1",
            "1-snapshot",
            "1",
            "1-sp",
            "1-abc",
            "1-xyz",
            "1-1",
            "1.1",
        ];
        for (i, a) in chain.iter().enumerate() {
            for (j, b) in chain.iter().enumerate() {
                assert_eq!(cmp(a, b), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn aliases_and_case() {
        assert_eq!(cmp("1cr", "1rc"), Ordering::Equal);
        assert_eq!(cmp("1-RELEASE", "1"), Ordering::Equal);
        assert_eq!(cmp("1m3", "1MileStone3"), Ordering::Equal);
        assert_eq!(cmp("1b2", "1-beta-2"), Ordering::Equal);
        assert_eq!(cmp("1.0-SNAPSHOT", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.sp", "1"), Ordering::Greater);
        assert_eq!(cmp("1.alpha", "1"), Ordering::Less);
    }

    #[test]
    fn numbers() {
        assert_eq!(cmp("1.10", "1.9"), Ordering::Greater);
        assert_eq!(cmp("1.01", "1.1"), Ordering::Equal);
        assert_eq!(
            cmp(
                "12345678901234567890.1H.5-beta",
                "123456789012345.1H.5-beta"
            ),
            Ordering::Greater
        );
    }

    #[test]
    fn specification_is_not_transitive_here() {
        // Documented caveat: the three comparisons below form a cycle.
        assert_eq!(cmp("1.0", "1.0-dev"), Ordering::Less);
        assert_eq!(cmp("1.0-dev", "1.0.beta8"), Ordering::Less);
        assert_eq!(cmp("1.0.beta8", "1.0"), Ordering::Less);
    }

    #[test]
    fn errors() {
        for bad in ["", "1 0", "1.0\t", "1\n"] {
            assert!(compare(bad, "1").is_err(), "{bad:?}");
            assert!(compare("1", bad).is_err(), "{bad:?}");
        }
        assert!(compare(&"1.".repeat(200), "1").is_err());
        // Odd but accepted: Maven orders any string.
        assert_eq!(cmp("-", "0"), Ordering::Equal);
        assert_eq!(cmp(".", "0"), Ordering::Equal);
        assert_eq!(cmp("abc", "1"), Ordering::Less);
    }
}
