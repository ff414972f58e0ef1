//! What a secret rule is.

use palisade_core::RuleMeta;

/// The result of checking a candidate offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The format's own check passes (a checksum, a parseable key, a well-formed token).
    Valid,
    /// The format's structure is wrong (a JWT that does not decode, a key that does not
    /// parse): not a secret of this kind; not reported.
    Invalid,
    /// The structure is right but a checksum does not match: a made-up or mistyped value.
    /// Reported one severity lower, with a note.
    ChecksumMismatch,
    /// The format has no offline check.
    Unknown,
}

/// One secret rule. Rules live in `rules/<provider>.rs`, documented like configuration rules
/// (what it finds, why a leak is bad, an example, how to revoke and rotate, references).
pub struct SecretRule {
    /// Id (`PAL-SEC-NNN`), title, severity, doc; `scanner` is `Secret`.
    pub meta: RuleMeta,
    /// Lowercase keywords, at least one of which appears in any text this rule can match
    /// (a token prefix, a variable name, a header). All rules' keywords are searched at once;
    /// a rule's pattern only runs near its keywords. Never empty.
    pub keywords: &'static [&'static str],
    /// Regular expression (Rust `regex` syntax, bytes). The named group `secret` is the secret
    /// itself; without one the whole match is.
    pub pattern: &'static str,
    /// Minimum Shannon entropy (bits per character) of the secret, for patterns that also
    /// match ordinary words.
    pub min_entropy: Option<f64>,
    /// When set, the rule applies only to paths matching this regular expression.
    pub path: Option<&'static str>,
    /// Values (case-insensitive substrings of the secret) that are documented examples or
    /// placeholders for this provider, e.g. `AKIAIOSFODNN7EXAMPLE`.
    pub allow: &'static [&'static str],
    /// Offline validation of a candidate secret, when the format allows one.
    pub check: Option<fn(&str) -> Check>,
    /// How far past a keyword hit the pattern may extend, in bytes (multi-line secrets such
    /// as PEM keys need more than the default).
    pub window: usize,
}

/// The default window after a keyword hit.
pub const DEFAULT_WINDOW: usize = 512;

impl SecretRule {
    pub fn id(&self) -> &'static str {
        self.meta.id
    }
}

/// Builds a rule document with the five sections every rule has, from its parts:
/// `secret_doc!(what, why, example, use_instead, references)` (each a string literal;
/// `example` and `use_instead` should hold fenced code blocks).
#[macro_export]
macro_rules! secret_doc {
    ($what:expr, $why:expr, $example:expr, $use_instead:expr, $references:expr $(,)?) => {
        concat!(
            "## What it does\n",
            $what,
            "\n\n## Why is this bad?\n",
            $why,
            "\n\n## Example\n",
            $example,
            "\n\n## Use instead\n",
            $use_instead,
            "\n\n## References\n",
            $references,
            "\n"
        )
    };
}
