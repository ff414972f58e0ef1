//! The matching engine: one Aho-Corasick pass over the text for every rule's keywords, then
//! each rule's pattern only in windows around its own keyword hits. Text without any keyword
//! costs one linear pass and nothing else, which is what makes large trees fast.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::bytes::{Regex, RegexBuilder};

use crate::rule::{Check, SecretRule};

/// Bytes before a keyword hit that a pattern may start at (`password = "…"` has the keyword
/// first, but patterns may include a little context before the secret).
const LOOKBEHIND: usize = 256;

/// One secret found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index of the rule in [`Engine::rules`].
    pub rule: usize,
    /// Byte range of the secret in the text.
    pub start: usize,
    pub end: usize,
    /// 1-based line and column of the secret's start.
    pub line: u32,
    pub column: u32,
    /// The secret (lossy UTF-8).
    pub secret: String,
    pub check: Check,
    /// The line carries a `palisade:allow` comment.
    pub allowed_inline: bool,
}

fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .size_limit(32 * 1024 * 1024)
        .build()
}

/// Compiled rules.
pub struct Engine {
    rules: Vec<&'static SecretRule>,
    /// Each rule's pattern, compiled when first needed by [`Engine::lazy`] engines (most files
    /// wake a handful of rules; compiling all ~160 up front costs ~200 ms per run), up front by
    /// [`Engine::new`].
    patterns: Vec<OnceLock<Regex>>,
    paths: Vec<Option<regex::Regex>>,
    keywords: AhoCorasick,
    /// Keyword index → indexes of the rules that use it.
    keyword_rules: Vec<Vec<usize>>,
}

/// A rule whose pattern or path filter does not compile.
#[derive(Debug, Clone, thiserror::Error)]
#[error("rule {id}: {message}")]
pub struct RuleError {
    pub id: String,
    pub message: String,
}

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0usize; 256];
    let mut n = 0usize;
    for b in s.bytes() {
        counts[b as usize] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|&c| {
            let p = c as f64 / n as f64;
            -p * p.log2()
        })
        .sum()
}

/// Values that are placeholders or references to a secret, never a secret.
pub fn is_placeholder(secret: &str) -> bool {
    let lower = secret.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "xxxx",
        "****",
        "example",
        "sample",
        "dummy",
        "changeme",
        "change_me",
        "redacted",
        "placeholder",
        "your_",
        "your-",
        "yourtoken",
        "insert",
        "replace",
        "<",
        "${",
        "{{",
        "%(",
        "os.environ",
        "process.env",
        "getenv",
        "secretkeyref",
        "valuefrom",
        "env(",
        "env[",
        "vault:",
        "not-a-real",
        "notreal",
        "fake",
    ];
    // A word counts as written by a person (`xxxx`, `XXXX`, `Example`), not when random
    // characters happen to spell it in mixed case (`XxXx` in a base64 key).
    let typed = |start: usize, len: usize| {
        let word = &secret.as_bytes()[start..start + len];
        let mut letters = word.iter().filter(|b| b.is_ascii_alphabetic());
        let Some(first) = letters.next() else {
            return true;
        };
        let rest: Vec<&u8> = letters.collect();
        rest.iter().all(|b| b.is_ascii_lowercase())
            || (first.is_ascii_uppercase() && rest.iter().all(|b| b.is_ascii_uppercase()))
    };
    if WORDS
        .iter()
        .any(|w| lower.match_indices(w).any(|(i, _)| typed(i, w.len())))
    {
        return true;
    }
    if lower.starts_with('$') {
        return true;
    }
    // One character repeated, or a run like 0123456789 / abcdef: typed by a person.
    let bytes = lower.as_bytes();
    if bytes.len() >= 8 && bytes.iter().all(|b| *b == bytes[0]) {
        return true;
    }
    // A straight run of digits or letters, or a keyboard row.
    lower.len() >= 6
        && [
            "0123456789",
            "abcdefghijklmnopqrstuvwxyz",
            "qwertyuiop",
            "asdfghjkl",
        ]
        .iter()
        .any(|run| run.contains(lower.as_str()))
}

impl Engine {
    /// Compiles rules; fails on the first rule that does not compile.
    pub fn new(rules: &[&'static SecretRule]) -> Result<Engine, RuleError> {
        Engine::build(rules, true)
    }

    /// Like [`Engine::new`], but patterns are compiled on first use. Only for rule sets whose
    /// patterns are known to compile (the built-in ones: `every_rule_is_complete_and_compiles`).
    pub(crate) fn lazy(rules: &[&'static SecretRule]) -> Result<Engine, RuleError> {
        Engine::build(rules, false)
    }

    fn build(rules: &[&'static SecretRule], eager: bool) -> Result<Engine, RuleError> {
        let mut patterns = Vec::with_capacity(rules.len());
        let mut paths = Vec::with_capacity(rules.len());
        let mut words: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let err = |message: String| RuleError {
                id: r.meta.id.to_string(),
                message,
            };
            let cell = OnceLock::new();
            if eager {
                let _ = cell.set(compile(r.pattern).map_err(|e| err(format!("pattern: {e}")))?);
            }
            patterns.push(cell);
            paths.push(match r.path {
                Some(p) => {
                    Some(regex::Regex::new(p).map_err(|e| err(format!("path filter: {e}")))?)
                }
                None => None,
            });
            if r.keywords.is_empty() {
                return Err(err("no keywords".into()));
            }
            for k in r.keywords {
                let k = k.to_ascii_lowercase();
                match words.iter().position(|w| *w == k) {
                    Some(j) => keyword_rules[j].push(i),
                    None => {
                        words.push(k);
                        keyword_rules.push(vec![i]);
                    }
                }
            }
        }
        // A full DFA: with a few hundred case-insensitive keywords (some only two or three
        // bytes long) no prefilter applies, and the DFA scans 3.6x faster than the default
        // contiguous NFA (287 vs 79 MB/s on bench/gen_secrets_tree.py output) for a table
        // of a few MB built once.
        let keywords = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&words)
            .map_err(|e| RuleError {
                id: "keywords".into(),
                message: e.to_string(),
            })?;
        Ok(Engine {
            rules: rules.to_vec(),
            patterns,
            paths,
            keywords,
            keyword_rules,
        })
    }

    pub fn rules(&self) -> &[&'static SecretRule] {
        &self.rules
    }

    /// Every secret in `data`, a file at `path` (used by rules with a path filter).
    pub fn scan(&self, path: &str, data: &[u8]) -> Vec<Hit> {
        // Keyword hits per rule, as windows to run the rule's pattern in.
        let mut windows: Vec<Vec<(usize, usize)>> = vec![Vec::new(); self.rules.len()];
        let mut applies: Vec<Option<bool>> = vec![None; self.rules.len()];
        for m in self.keywords.find_overlapping_iter(data) {
            for &r in &self.keyword_rules[m.pattern().as_usize()] {
                let ok = *applies[r]
                    .get_or_insert_with(|| self.paths[r].as_ref().is_none_or(|p| p.is_match(path)));
                if !ok {
                    continue;
                }
                let start = m.start().saturating_sub(LOOKBEHIND);
                let end = (m.end() + self.rules[r].window).min(data.len());
                match windows[r].last_mut() {
                    Some(last) if start <= last.1 => last.1 = last.1.max(end),
                    _ => windows[r].push((start, end)),
                }
            }
        }
        let mut hits: Vec<Hit> = Vec::new();
        let mut lines: Option<Vec<usize>> = None;
        for (r, ws) in windows.iter().enumerate() {
            if ws.is_empty() {
                continue;
            }
            let rule = self.rules[r];
            let re = self.patterns[r].get_or_init(|| {
                compile(rule.pattern).expect("lazy engines hold only patterns tested to compile")
            });
            let group = re.capture_names().any(|n| n == Some("secret"));
            for &(ws_start, ws_end) in ws {
                let window = &data[ws_start..ws_end];
                for caps in re.captures_iter(window) {
                    let m = if group {
                        match caps.name("secret") {
                            Some(m) => m,
                            None => continue,
                        }
                    } else {
                        caps.get(0).expect("group 0 always matches")
                    };
                    let (start, end) = (ws_start + m.start(), ws_start + m.end());
                    if hits.iter().any(|h| h.rule == r && h.start == start) {
                        continue;
                    }
                    let secret = String::from_utf8_lossy(m.as_bytes()).into_owned();
                    if secret.trim().is_empty() || is_placeholder(&secret) {
                        continue;
                    }
                    let lower = secret.to_ascii_lowercase();
                    if rule
                        .allow
                        .iter()
                        .any(|a| lower.contains(&a.to_ascii_lowercase()))
                    {
                        continue;
                    }
                    if let Some(min) = rule.min_entropy
                        && entropy(&secret) < min
                    {
                        continue;
                    }
                    let check = rule.check.map_or(Check::Unknown, |c| c(&secret));
                    if check == Check::Invalid {
                        continue;
                    }
                    let starts = lines.get_or_insert_with(|| {
                        std::iter::once(0)
                            .chain(memchr_newlines(data).map(|i| i + 1))
                            .collect()
                    });
                    let line_idx = starts.partition_point(|&s| s <= start) - 1;
                    let line_start = starts[line_idx];
                    let line_end = starts.get(line_idx + 1).copied().unwrap_or(data.len());
                    let line_text = &data[line_start..line_end];
                    let allowed_inline = contains(line_text, b"palisade:allow");
                    hits.push(Hit {
                        rule: r,
                        start,
                        end,
                        line: line_idx as u32 + 1,
                        column: String::from_utf8_lossy(&data[line_start..start])
                            .chars()
                            .count() as u32
                            + 1,
                        secret,
                        check,
                        allowed_inline,
                    });
                }
            }
        }
        hits.sort_by_key(|h| (h.start, h.rule));
        hits
    }
}

fn memchr_newlines(data: &[u8]) -> impl Iterator<Item = usize> + '_ {
    data.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_and_placeholders() {
        assert!(entropy("aaaaaaaa") < 0.1);
        assert!(entropy("q8Zr2LmXv0Tb7NcK") > 3.5);
        for p in [
            "xxxxxxxxxxxx",
            "${GITHUB_TOKEN}",
            "<your-token>",
            "os.environ['X']",
            "changeme",
            "12345678",
            "AKIAXXXXXXXXXXXXXXXX",
            "sk_live_ExampleKey123",
            "my-FAKE-token-1234",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        assert!(!is_placeholder("ghp_8Zr2LmXv0Tb7NcKq8Zr2LmXv0Tb7NcKq8Zr2"));
        // Random characters that spell a word in mixed case are not a person's placeholder.
        for random in [
            "O4QxXxXiFkqzromjxTLWctrnkykc8S5DEoBVTI0E",
            "q8fAkEr2LmXv0Tb7NcKq",
        ] {
            assert!(!is_placeholder(random), "{random}");
        }
    }
}
