//! Alpine (apk-tools) versions.
//!
//! The grammar is `number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}`:
//!
//! - numbers compare numerically, except that a dotted component (not the first one) with a
//!   leading zero is compared as a string against the other side (the Gentoo rule that
//!   apk-tools follows), so `1.01 < 1.1` and `1.001 < 1.01`;
//! - the optional letter is a single lower-case ASCII letter; like apk-tools 2.x (the Alpine
//!   3.x releases), digits may follow it (`6.6.2p1`), and those compare as numbers;
//! - suffixes order `_alpha` < `_beta` < `_pre` < `_rc` < (none) < `_cvs` < `_svn` < `_git`
//!   < `_hg` < `_p`, each with an optional number;
//! - `~hash` (apk-tools 3) is a lower-case hex commit id, compared as a string;
//! - `-rN` is the package revision; `-r` without digits counts as `-r0`.
//!
//! Versions are compared component by component. When one side runs out of components or
//! changes to a different kind of component, the side that stops is the smaller one, except
//! that a pre-release suffix (`_alpha`…`_rc`) makes its side smaller than the end.
//!
//! Malformed input is not an error: apk orders it too (`apk version -t`), and advisory data
//! contains a few such versions. Like the current apk-tools, everything from the first
//! character that does not fit the grammar is one "invalid" component, which sorts below any
//! valid component and below the end, and two such tails compare equal. A revision followed
//! by anything (`1-r0-1`, `1-ruff`) is invalid from its `-`. An empty numeric component
//! (`1..2`, `.1`, `0.r1`, a trailing `.`) is kept as a component of its own that sorts below
//! every other kind but equal to another empty one, so `0..1..0 < 0..1..1`.
//!
//! Only text apk could never have written is an error: an empty version, more than 256
//! characters, or characters that are not printable ASCII.

use std::cmp::Ordering;

use super::VersionError;

const SCHEME: &str = "apk";

/// Longest version accepted; anything longer is certainly not a real package version.
const MAX_LEN: usize = 256;

/// Compares two versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    check(a)?;
    check(b)?;
    let mut ta = Tokens::new(a.as_bytes());
    let mut tb = Tokens::new(b.as_bytes());
    loop {
        let x = ta.next_token();
        let y = tb.next_token();
        if x.kind() != y.kind() {
            return Ok(compare_kinds(&x, &y));
        }
        let order = match (&x, &y) {
            (Token::End, _) | (Token::Invalid, _) => return Ok(Ordering::Equal),
            (Token::Empty, _) => Ordering::Equal,
            (Token::Number(p), Token::Number(q)) => compare_numbers(p, q),
            (Token::Letter(p), Token::Letter(q)) => p.cmp(q),
            (Token::Suffix(p), Token::Suffix(q)) => p.cmp(q),
            (Token::SuffixNumber(p), Token::SuffixNumber(q))
            | (Token::Revision(p), Token::Revision(q)) => compare_digits(p, q),
            (Token::Hash(p), Token::Hash(q)) => p.cmp(q),
            _ => unreachable_kinds(),
        };
        if order != Ordering::Equal {
            return Ok(order);
        }
    }
}

fn check(version: &str) -> Result<(), VersionError> {
    let err = |reason: &str| Err(VersionError::new(SCHEME, version, reason));
    if version.is_empty() {
        return err("empty version");
    }
    if version.len() > MAX_LEN {
        return err("version longer than 256 characters");
    }
    if let Some(c) = version.chars().find(|c| !c.is_ascii_graphic()) {
        return err(&format!(
            "character {c:?} is not printable ASCII, apk versions never contain it"
        ));
    }
    Ok(())
}

/// Same kinds always pair up in `compare`; this arm cannot be reached, and answers Equal
/// rather than panicking if it ever were.
fn unreachable_kinds() -> Ordering {
    debug_assert!(false, "token kinds differ");
    Ordering::Equal
}

/// How a numeric component has to be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Number<'a> {
    digits: &'a [u8],
    /// A dotted component (not the first number, not digits after the letter): a leading
    /// zero there switches to string comparison.
    dotted: bool,
}

/// The release-suffix ranks; `None` (no suffix) sits between `Rc` and `Cvs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Suffix {
    Alpha,
    Beta,
    Pre,
    Rc,
    Cvs,
    Svn,
    Git,
    Hg,
    P,
}

impl Suffix {
    fn from_name(name: &[u8]) -> Option<Suffix> {
        Some(match name {
            b"alpha" => Suffix::Alpha,
            b"beta" => Suffix::Beta,
            b"pre" => Suffix::Pre,
            b"rc" => Suffix::Rc,
            b"cvs" => Suffix::Cvs,
            b"svn" => Suffix::Svn,
            b"git" => Suffix::Git,
            b"hg" => Suffix::Hg,
            b"p" => Suffix::P,
            _ => return None,
        })
    }

    fn is_pre_release(self) -> bool {
        self <= Suffix::Rc
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Number(Number<'a>),
    Letter(u8),
    Suffix(Suffix),
    SuffixNumber(&'a [u8]),
    Hash(&'a [u8]),
    Revision(&'a [u8]),
    End,
    /// A numeric component without digits.
    Empty,
    /// The rest of a malformed version.
    Invalid,
}

impl Token<'_> {
    /// The kind, in the order used when two versions differ in kind at the same place:
    /// a higher kind is the smaller version.
    fn kind(&self) -> u8 {
        match self {
            Token::Number(_) => 0,
            Token::Letter(_) => 1,
            Token::Suffix(_) => 2,
            Token::SuffixNumber(_) => 3,
            Token::Hash(_) => 4,
            Token::Revision(_) => 5,
            Token::End => 6,
            Token::Empty => 7,
            Token::Invalid => 8,
        }
    }
}

/// Two components of different kinds: a pre-release suffix is smaller than anything else,
/// then the version that goes on with a "lower" kind (more version detail) is the greater.
fn compare_kinds(x: &Token<'_>, y: &Token<'_>) -> Ordering {
    if matches!(x, Token::Suffix(s) if s.is_pre_release()) {
        return Ordering::Less;
    }
    if matches!(y, Token::Suffix(s) if s.is_pre_release()) {
        return Ordering::Greater;
    }
    y.kind().cmp(&x.kind())
}

/// The state of the lexer: what may follow the last component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum After {
    Start,
    Number,
    Letter,
    Suffix,
    SuffixNumber,
    Hash,
    Revision,
    Done,
}

struct Tokens<'a> {
    text: &'a [u8],
    pos: usize,
    after: After,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a [u8]) -> Tokens<'a> {
        Tokens {
            text,
            pos: 0,
            after: After::Start,
        }
    }

    fn digits(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.pos < self.text.len() && self.text[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    fn invalid(&mut self) -> Token<'a> {
        self.after = After::Done;
        Token::Invalid
    }

    /// A numeric component starting at `pos` (which may hold no digit at all).
    fn number(&mut self, dotted: bool) -> Token<'a> {
        self.after = After::Number;
        let digits = self.digits();
        if digits.is_empty() {
            Token::Empty
        } else {
            Token::Number(Number { digits, dotted })
        }
    }

    fn next_token(&mut self) -> Token<'a> {
        if self.after == After::Start {
            return self.number(false);
        }
        if self.after == After::Done {
            // After the end or an invalid tail nothing more is read; the caller stops.
            return Token::End;
        }
        let Some(&c) = self.text.get(self.pos) else {
            self.after = After::Done;
            return Token::End;
        };
        match c {
            b'.' if self.after == After::Number => {
                self.pos += 1;
                self.number(true)
            }
            b'0'..=b'9' if self.after == After::Letter => {
                // apk-tools 2.x accepts digits right after the letter (`5.1p1`).
                self.after = After::Number;
                let digits = self.digits();
                Token::Number(Number {
                    digits,
                    dotted: false,
                })
            }
            b'0'..=b'9' if self.after == After::Suffix => {
                self.after = After::SuffixNumber;
                Token::SuffixNumber(self.digits())
            }
            b'a'..=b'z' if self.after == After::Number => {
                self.pos += 1;
                self.after = After::Letter;
                Token::Letter(c)
            }
            b'_' if self.after <= After::SuffixNumber => {
                let start = self.pos + 1;
                let mut end = start;
                while end < self.text.len() && self.text[end].is_ascii_lowercase() {
                    end += 1;
                }
                match Suffix::from_name(&self.text[start..end]) {
                    Some(suffix) => {
                        self.pos = end;
                        self.after = After::Suffix;
                        Token::Suffix(suffix)
                    }
                    None => self.invalid(),
                }
            }
            b'~' if self.after < After::Hash => {
                let start = self.pos + 1;
                let mut end = start;
                while end < self.text.len() && matches!(self.text[end], b'0'..=b'9' | b'a'..=b'f') {
                    end += 1;
                }
                if end == start {
                    return self.invalid();
                }
                self.pos = end;
                self.after = After::Hash;
                Token::Hash(&self.text[start..end])
            }
            b'-' => {
                // `-r` and digits, and nothing after them.
                let rest = &self.text[self.pos..];
                if rest.len() >= 2
                    && rest[1] == b'r'
                    && rest[2..].iter().all(|c| c.is_ascii_digit())
                {
                    self.pos = self.text.len();
                    // Nothing is left: the next token is the end.
                    self.after = After::Revision;
                    Token::Revision(&rest[2..])
                } else {
                    self.invalid()
                }
            }
            _ => self.invalid(),
        }
    }
}

/// Two numeric components: a dotted one with a leading zero compares as a string.
fn compare_numbers(a: &Number<'_>, b: &Number<'_>) -> Ordering {
    let zero_led = |n: &Number<'_>| n.dotted && n.digits.first() == Some(&b'0');
    if a.dotted && b.dotted && (zero_led(a) || zero_led(b)) {
        a.digits.cmp(b.digits)
    } else {
        compare_digits(a.digits, b.digits)
    }
}

/// Compares two runs of ASCII digits as numbers of any size (empty is 0).
fn compare_digits(a: &[u8], b: &[u8]) -> Ordering {
    let a = strip_zeros(a);
    let b = strip_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn strip_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&c| c == b'0').count();
    &digits[zeros..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn valid_versions() {
        assert_eq!(cmp("1.2.3-r0", "1.2.3-r1"), Ordering::Less);
        assert_eq!(cmp("1.2.3", "1.2.3-r0"), Ordering::Less);
        assert_eq!(cmp("1.2", "1.2.0"), Ordering::Less);
        assert_eq!(cmp("1.2_rc1", "1.2"), Ordering::Less);
        assert_eq!(cmp("1.2_p1", "1.2"), Ordering::Greater);
        assert_eq!(cmp("1.2_alpha", "1.2_alpha1"), Ordering::Less);
        assert_eq!(cmp("0.1.0_alpha_pre2", "0.1.0_alpha"), Ordering::Less);
        assert_eq!(cmp("1.2a", "1.2"), Ordering::Greater);
        assert_eq!(cmp("1.2a", "1.2.1"), Ordering::Less);
        assert_eq!(cmp("1-r1", "1-r01"), Ordering::Equal);
        assert_eq!(cmp("1-r", "1-r0"), Ordering::Equal);
        assert_eq!(cmp("1.0~1234-r1", "1.0~2345-r0"), Ordering::Less);
        assert_eq!(cmp("1.0~1234-r1", "1.0~1234-r0"), Ordering::Greater);
        assert_eq!(cmp("5.1_p1-r2", "5.1p1-r0"), Ordering::Less);
        assert_eq!(cmp("6.6.2p1", "6.6.2p2"), Ordering::Less);
        assert_eq!(cmp("006", "6"), Ordering::Equal);
        assert_eq!(
            cmp("99999999999999999999999", "100000000000000000000000"),
            Ordering::Less
        );
    }

    #[test]
    fn leading_zeros() {
        assert_eq!(cmp("1.01", "1.1"), Ordering::Less);
        assert_eq!(cmp("1.001", "1.01"), Ordering::Less);
        assert_eq!(cmp("1.010", "1.01"), Ordering::Greater);
        assert_eq!(cmp("4.3.026", "4.3.27"), Ordering::Less);
        assert_eq!(cmp("1.09", "1.10"), Ordering::Less);
    }

    #[test]
    fn malformed_versions_order_like_apk() {
        assert_eq!(cmp("1", "1-ruff"), Ordering::Greater);
        assert_eq!(cmp("1-r0-1", "1-r-2"), Ordering::Equal);
        assert_eq!(cmp("1.2.0A", "1.2.0d"), Ordering::Less);
        assert_eq!(cmp("1.2", "1.2_blah"), Ordering::Greater);
        assert_eq!(cmp("0..8", "0...8"), Ordering::Greater);
        assert_eq!(cmp("0.r1", "0r2"), Ordering::Less);
        assert_eq!(cmp(".1", "1"), Ordering::Less);
        assert_eq!(cmp("a", "b"), Ordering::Less);
        assert_eq!(cmp("1.", "1"), Ordering::Less);
        assert_eq!(cmp("1~", "1"), Ordering::Less);
        assert_eq!(cmp("1-r1-r2", "1-r1"), Ordering::Less);
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "1 2", "1.0\n", "1.α"] {
            assert!(compare(bad, "1").is_err(), "{bad:?} accepted");
            assert!(compare("1", bad).is_err(), "{bad:?} accepted");
        }
        assert!(compare(&"1.".repeat(200), "1").is_err());
    }
}
