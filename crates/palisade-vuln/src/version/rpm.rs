//! rpm versions (`[epoch:]version[-release]`), ordered as rpm's `rpmvercmp` does.
//!
//! Splitting follows rpm: the epoch is the leading run of digits when a `:` follows it
//! (an empty one means 0, a missing one means 0); otherwise a `:` is part of the version.
//! The release is everything after the last `-`. Epochs compare as numbers, then versions,
//! then releases; a missing release sorts before any release (as libsolv/dnf order full
//! EVRs), and two missing releases are equal.
//!
//! `rpmvercmp` compares two strings by segments: runs of ASCII letters or digits, with every
//! other character a separator (separators themselves never count, so `1.0 = 1_0`). Digit
//! segments compare as numbers and beat letter segments; letter segments compare as
//! strings. `~` sorts before everything, even the end (`1.0~rc1 < 1.0`); `^` sorts after
//! the end but before anything else (`1.0 < 1.0^git1 < 1.0.1`). When one side runs out of
//! segments, the longer one is greater.
//!
//! rpm accepts almost anything, so only an empty version, more than 256 characters, or
//! whitespace and control characters are errors.

use std::cmp::Ordering;

use super::VersionError;

const SCHEME: &str = "rpm";

/// Longest version accepted; anything longer is certainly not a real package version.
const MAX_LEN: usize = 256;

/// Compares two versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = parse(a)?;
    let b = parse(b)?;
    let order = compare_digits(a.epoch, b.epoch)
        .then_with(|| rpmvercmp(a.version, b.version))
        .then_with(|| match (a.release, b.release) {
            (Some(x), Some(y)) => rpmvercmp(x, y),
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        });
    Ok(order)
}

/// An EVR split as rpm splits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Evr<'a> {
    /// Digits only; empty means 0.
    epoch: &'a [u8],
    version: &'a [u8],
    release: Option<&'a [u8]>,
}

fn parse(input: &str) -> Result<Evr<'_>, VersionError> {
    let err = |reason: &str| Err(VersionError::new(SCHEME, input, reason));
    if input.is_empty() {
        return err("empty version");
    }
    if input.len() > MAX_LEN {
        return err("version longer than 256 characters");
    }
    if let Some(c) = input.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return err(&format!("version contains {c:?}"));
    }
    let text = input.as_bytes();
    let digits = text.iter().take_while(|c| c.is_ascii_digit()).count();
    let (epoch, rest) = if text.get(digits) == Some(&b':') {
        (&text[..digits], &text[digits + 1..])
    } else {
        (&text[..0], text)
    };
    let (version, release) = match rest.iter().rposition(|&c| c == b'-') {
        Some(dash) => (&rest[..dash], Some(&rest[dash + 1..])),
        None => (rest, None),
    };
    if version.is_empty() {
        return err("the version part (between epoch and release) is empty");
    }
    Ok(Evr {
        epoch,
        version,
        release,
    })
}

/// rpm's segment comparison of two version (or release) strings.
fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let is_separator = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    let (mut i, mut j) = (0, 0);
    loop {
        while i < a.len() && is_separator(a[i]) {
            i += 1;
        }
        while j < b.len() && is_separator(b[j]) {
            j += 1;
        }
        let (x, y) = (a.get(i).copied(), b.get(j).copied());

        // `~` sorts before everything, including the end.
        if x == Some(b'~') || y == Some(b'~') {
            if x != Some(b'~') {
                return Ordering::Greater;
            }
            if y != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        // `^` sorts after the end but before anything else.
        if x == Some(b'^') || y == Some(b'^') {
            if x.is_none() {
                return Ordering::Less;
            }
            if y.is_none() {
                return Ordering::Greater;
            }
            if x != Some(b'^') {
                return Ordering::Greater;
            }
            if y != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(x), Some(_)) = (x, y) else {
            break;
        };

        // The segment type is set by the left side; the right side takes the same type.
        let numeric = x.is_ascii_digit();
        let in_segment = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let seg_a = take_while(&a[i..], in_segment);
        let seg_b = take_while(&b[j..], in_segment);
        if seg_b.is_empty() {
            // Different types: a number beats letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let order = if numeric {
            compare_digits(seg_a, seg_b)
        } else {
            seg_a.cmp(seg_b)
        };
        if order != Ordering::Equal {
            return order;
        }
        i += seg_a.len();
        j += seg_b.len();
    }
    // Whichever still has segments left is the greater.
    match (i < a.len(), j < b.len()) {
        (false, false) => Ordering::Equal,
        (true, _) => Ordering::Greater,
        (false, true) => Ordering::Less,
    }
}

fn take_while(text: &[u8], pred: impl Fn(&u8) -> bool) -> &[u8] {
    let n = text.iter().take_while(|c| pred(c)).count();
    &text[..n]
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
    fn rpmvercmp_segments() {
        assert_eq!(cmp("1.0", "1_0"), Ordering::Equal);
        assert_eq!(cmp("1.0a", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.a", "1.1"), Ordering::Less);
        assert_eq!(cmp("10.0001", "10.1"), Ordering::Equal);
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0^git1", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0^git1", "1.0.1"), Ordering::Less);
        assert_eq!(cmp("1.0^", "1.0~"), Ordering::Greater);
        assert_eq!(cmp("2.0.1", "2.0.1a"), Ordering::Less);
        assert_eq!(cmp("1.1.α", "1.1"), Ordering::Equal);
        assert_eq!(
            cmp(
                "123456789012345678901234567890",
                "123456789012345678901234567891"
            ),
            Ordering::Less
        );
    }

    #[test]
    fn epochs_and_releases() {
        assert_eq!(cmp("1:1.0", "2.0"), Ordering::Greater);
        assert_eq!(cmp("0:1.0", "1.0"), Ordering::Equal);
        assert_eq!(cmp(":1.0", "1.0"), Ordering::Equal);
        assert_eq!(cmp("01:2", "1:2"), Ordering::Equal);
        assert_eq!(cmp("1.0", "1.0-1"), Ordering::Less);
        assert_eq!(cmp("1.0-1.el9", "1.0-1.el9_1"), Ordering::Less);
        assert_eq!(cmp("a:1", "b:1"), Ordering::Less);
        assert_eq!(cmp("1.m+e2:1", "4.m+e1:1"), Ordering::Less);
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "1 0", "1.0\t", "-1", "1:", "1:-1"] {
            assert!(compare(bad, "1").is_err(), "{bad:?} accepted");
            assert!(compare("1", bad).is_err(), "{bad:?} accepted");
        }
        assert!(compare(&"1".repeat(300), "1").is_err());
    }
}
