//! Debian and Ubuntu versions, ordered as `deb-version(7)` and `dpkg --compare-versions` do.
//!
//! A version is `[epoch:]upstream[-revision]`:
//!
//! - the epoch is a decimal number (missing means 0) and is compared numerically first;
//! - the revision is everything after the last `-` (missing means the empty string, which
//!   orders like `0`);
//! - upstream and revision are compared by alternating runs: a run of non-digits is compared
//!   character by character, where `~` sorts before everything (even the end of the run),
//!   then the end of the run, then letters (ASCII order), then every other character; a run
//!   of digits is compared as a number.
//!
//! Versions that dpkg rejects or warns about (empty parts, a non-numeric or too large
//! epoch, an upstream part that does not start with a digit, characters outside the
//! allowed sets) are errors here.

use std::cmp::Ordering;

use super::VersionError;

const SCHEME: &str = "dpkg";

/// Longest version accepted; anything longer is certainly not a real package version.
const MAX_LEN: usize = 256;

/// Compares two versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = parse(a)?;
    let b = parse(b)?;
    Ok(a.epoch
        .cmp(&b.epoch)
        .then_with(|| compare_part(a.upstream, b.upstream))
        .then_with(|| compare_part(a.revision, b.revision)))
}

/// A version split into its three parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DebVersion<'a> {
    epoch: u32,
    upstream: &'a [u8],
    revision: &'a [u8],
}

fn parse(input: &str) -> Result<DebVersion<'_>, VersionError> {
    let err = |reason: &str| VersionError::new(SCHEME, input, reason);
    // dpkg ignores surrounding blanks but not blanks inside.
    let version = input.trim_matches(|c: char| c == ' ' || c == '\t');
    if version.is_empty() {
        return Err(err("empty version"));
    }
    if version.len() > MAX_LEN {
        return Err(err("version longer than 256 characters"));
    }
    if version.bytes().any(|c| c.is_ascii_whitespace()) {
        return Err(err("version contains embedded blanks"));
    }

    let (epoch, rest) = match version.split_once(':') {
        Some((epoch, rest)) => (Some(epoch), rest),
        None => (None, version),
    };
    let epoch = match epoch {
        None => 0,
        Some("") => return Err(err("epoch is empty")),
        Some(e) if !e.bytes().all(|c| c.is_ascii_digit()) => {
            return Err(err("epoch is not a number"));
        }
        // dpkg keeps epochs in an int: anything above i32::MAX is "too big".
        Some(e) => match e.parse::<u32>() {
            Ok(n) if n <= i32::MAX as u32 => n,
            _ => return Err(err("epoch is too big")),
        },
    };
    if rest.is_empty() {
        return Err(err("nothing after the epoch colon"));
    }

    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((_, "")) => return Err(err("revision is empty (trailing '-')")),
        Some((up, rev)) => (up, rev),
        None => (rest, ""),
    };
    if upstream.is_empty() {
        return Err(err("upstream version is empty"));
    }
    if !upstream.as_bytes()[0].is_ascii_digit() {
        return Err(err("upstream version does not start with a digit"));
    }
    if let Some(c) = upstream
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || ".+~-:".contains(c)))
    {
        return Err(err(&format!("invalid character {c:?} in upstream version")));
    }
    if let Some(c) = revision
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || ".+~".contains(c)))
    {
        return Err(err(&format!("invalid character {c:?} in revision")));
    }

    Ok(DebVersion {
        epoch,
        upstream: upstream.as_bytes(),
        revision: revision.as_bytes(),
    })
}

/// The weight of a character inside a non-digit run; `None` is the end of the run.
fn weight(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// Compares two upstream versions or two revisions (deb-version(7) algorithm).
fn compare_part(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // Non-digit runs, character by character.
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ca = a.get(i).copied().filter(|c| !c.is_ascii_digit());
            let cb = b.get(j).copied().filter(|c| !c.is_ascii_digit());
            let order = weight(ca).cmp(&weight(cb));
            if order != Ordering::Equal {
                return order;
            }
            // Equal weights with at least one side still in its run: both are in it.
            i += 1;
            j += 1;
        }
        // Digit runs, numerically.
        let start_a = i;
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        let start_b = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let order = compare_digits(&a[start_a..i], &b[start_b..j]);
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
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
    fn epochs_revisions_and_tildes() {
        assert_eq!(cmp("1:1.0", "2.0"), Ordering::Greater);
        assert_eq!(cmp("0:1.0", "1.0"), Ordering::Equal);
        assert_eq!(cmp("01:1.0", "1:1.0"), Ordering::Equal);
        assert_eq!(cmp("1.0", "1.0-0"), Ordering::Equal);
        assert_eq!(cmp("1.0-1", "1.0-a"), Ordering::Less);
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0~~", "1.0~"), Ordering::Less);
        assert_eq!(cmp("1.0~", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0+b1"), Ordering::Less);
        assert_eq!(cmp("1.0a", "1.0+"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0a"), Ordering::Less);
        assert_eq!(cmp("1.2.3-1~deb7u1", "1.2.3-1"), Ordering::Less);
        assert_eq!(cmp("1.0-1-2", "1.0-1-1"), Ordering::Greater);
        assert_eq!(cmp("1:2:3-4", "1:2:3-4"), Ordering::Equal);
        assert_eq!(cmp("9.0", "10.0"), Ordering::Less);
        assert_eq!(cmp("1.000000000000000000000000001", "1.1"), Ordering::Equal);
        assert_eq!(
            cmp("1.99999999999999999999999", "1.100000000000000000000000"),
            Ordering::Less
        );
    }

    #[test]
    fn rejects_what_dpkg_rejects() {
        for bad in [
            "",
            " ",
            ":1.0",
            "a:1.0",
            "1:",
            "-1",
            "1.0-",
            "a1.0",
            "1.0 1",
            "1.0_1",
            "1.0-1_1",
            "99999999999:1.0",
            "1.0-é",
        ] {
            assert!(compare(bad, "1.0").is_err(), "{bad:?} accepted");
            assert!(compare("1.0", bad).is_err(), "{bad:?} accepted");
        }
        assert!(compare(&"1".repeat(300), "1").is_err());
        assert_eq!(cmp(" 1.0 ", "1.0"), Ordering::Equal);
    }
}
