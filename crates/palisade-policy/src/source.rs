//! What a `.rego` file declares, read without evaluating it: its package, its top-level rules
//! with their lines, and the `# METADATA` comment blocks in front of them.
//!
//! regorus keeps its syntax tree private and knows nothing of OPA annotations, so this is a
//! small scanner of its own. It only needs to tell comments, strings and brackets apart to
//! find where each top-level statement starts; regorus still parses every file in full, and
//! any syntax error comes from there.

use std::fmt;

/// A problem with a policy or data file, reported as `file:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    pub path: String,
    /// 1-based; `None` when the problem is about the whole file.
    pub line: Option<u32>,
    pub col: Option<u32>,
    pub message: String,
}

impl PolicyProblem {
    pub(crate) fn new(
        path: &str,
        line: Option<u32>,
        col: Option<u32>,
        message: impl Into<String>,
    ) -> Self {
        PolicyProblem {
            path: path.to_string(),
            line,
            col,
            message: message.into(),
        }
    }

    /// Turns one of regorus' error texts (`--> file:3:7 … error: what`) into a problem,
    /// falling back to `path` when the text names no place.
    pub(crate) fn from_regorus(path: &str, err: &str) -> Self {
        let mut line = None;
        let mut col = None;
        let mut file = path.to_string();
        if let Some(loc) = err.lines().find_map(|l| l.trim().strip_prefix("--> ")) {
            let mut parts = loc.trim().rsplitn(3, ':');
            let c = parts.next().and_then(|s| s.parse::<u32>().ok());
            let l = parts.next().and_then(|s| s.parse::<u32>().ok());
            if let (Some(l), Some(c), Some(f)) = (l, c, parts.next()) {
                line = Some(l);
                col = Some(c);
                file = f.to_string();
            }
        }
        let message = match err.rfind("error: ") {
            Some(i) => err[i + "error: ".len()..].trim(),
            None => err.trim(),
        };
        let message = message.lines().next().unwrap_or("").trim();
        PolicyProblem::new(&file, line, col, message)
    }
}

impl fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.col) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.path, self.message),
            (Some(l), None) => write!(f, "{}:{l}: {}", self.path, self.message),
            _ => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// A `# METADATA` block: its YAML text (comment markers removed) and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataBlock {
    /// Line of the `# METADATA` comment.
    pub line: u32,
    pub yaml: String,
}

/// A top-level rule definition (one of possibly several bodies of the same rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDecl {
    /// The rule's name: `deny` for `deny contains msg if`, `deny[msg]`, `deny.x`, …
    pub name: String,
    pub line: u32,
    pub metadata: Option<MetadataBlock>,
}

/// What one file declares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileOutline {
    /// The package as written after `package`, spaces removed (`user.kubernetes.ID001`).
    pub package: Option<String>,
    pub package_line: u32,
    /// The `# METADATA` block in front of `package`.
    pub package_metadata: Option<MetadataBlock>,
    pub rules: Vec<RuleDecl>,
}

/// Reads the outline of a Rego source text. Never fails: a file it cannot follow gives a
/// partial outline, and regorus reports the syntax error.
pub fn outline(text: &str) -> FileOutline {
    let mut out = FileOutline::default();
    let mut depth: i32 = 0;
    let mut in_raw = false;
    let mut pending_meta: Option<MetadataBlock> = None;
    let mut collecting: Option<MetadataBlock> = None;
    for (idx, line) in text.lines().enumerate() {
        let lineno = idx as u32 + 1;
        let trimmed = line.trim_start();
        let at_statement_start = depth <= 0 && !in_raw;
        // Comment lines: METADATA blocks are made of them.
        if !in_raw && trimmed.starts_with('#') {
            let body = &trimmed[1..];
            if let Some(block) = collecting.as_mut() {
                block.yaml.push_str(body);
                block.yaml.push('\n');
            } else if body.trim() == "METADATA" && at_statement_start {
                collecting = Some(MetadataBlock {
                    line: lineno,
                    yaml: String::new(),
                });
            }
            continue;
        }
        if let Some(block) = collecting.take() {
            pending_meta = Some(MetadataBlock {
                line: block.line,
                yaml: dedent(&block.yaml),
            });
        }
        if trimmed.is_empty() {
            continue;
        }
        if at_statement_start {
            let (first, rest) = split_ident(trimmed);
            match first {
                "package" => {
                    let pkg: String = strip_comment(rest)
                        .chars()
                        .filter(|c| !c.is_whitespace())
                        .collect();
                    if out.package.is_none() && !pkg.is_empty() {
                        out.package = Some(pkg);
                        out.package_line = lineno;
                        out.package_metadata = pending_meta.take();
                    }
                }
                "import" | "else" | "" => {}
                "default" => {
                    let (name, _) = split_ident(rest.trim_start());
                    if !name.is_empty() {
                        out.rules.push(RuleDecl {
                            name: name.to_string(),
                            line: lineno,
                            metadata: pending_meta.take(),
                        });
                    }
                }
                name => out.rules.push(RuleDecl {
                    name: name.to_string(),
                    line: lineno,
                    metadata: pending_meta.take(),
                }),
            }
            pending_meta = None;
        }
        scan_brackets(line, &mut depth, &mut in_raw);
    }
    out
}

/// Splits off a leading identifier.
fn split_ident(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (&s[..end], &s[end..])
}

fn strip_comment(s: &str) -> &str {
    match s.find('#') {
        Some(i) => &s[..i],
        None => s,
    }
}

/// Removes the indentation every non-empty line shares (the space after `#`).
fn dedent(text: &str) -> String {
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for l in text.lines() {
        out.push_str(l.get(indent..).unwrap_or("").trim_end());
        out.push('\n');
    }
    out
}

/// Follows brackets, strings and comments through one line.
fn scan_brackets(line: &str, depth: &mut i32, in_raw: &mut bool) {
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if *in_raw {
            if c == '`' {
                *in_raw = false;
            }
            continue;
        }
        match c {
            '#' => return,
            '`' => *in_raw = true,
            '"' => {
                while let Some(s) = chars.next() {
                    match s {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '{' | '[' | '(' => *depth += 1,
            '}' | ']' | ')' => *depth -= 1,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_package_rules_and_metadata() {
        let text = r#"# METADATA
# title: Deployment not allowed
# custom:
#   id: ID001
#   input:
#     selector:
#     - type: kubernetes
package user.kubernetes.ID001

import rego.v1

# A helper, not a policy rule.
names := {n | n := input.metadata.name}

# METADATA
# title: Missing team label
deny contains msg if {
  s := "}{ # not a comment"
  x := `raw {
  string`
  msg := "x"
}

deny[msg] {
  msg := "two"
} else := "y"

default allow := false
warn_latest[{"msg": m}] { m := "z" }
"#;
        let o = outline(text);
        assert_eq!(o.package.as_deref(), Some("user.kubernetes.ID001"));
        assert_eq!(o.package_line, 8);
        let pm = o.package_metadata.unwrap();
        assert_eq!(pm.line, 1);
        assert!(
            pm.yaml
                .starts_with("title: Deployment not allowed\ncustom:\n  id: ID001\n"),
            "{}",
            pm.yaml
        );
        let names: Vec<(&str, u32)> = o.rules.iter().map(|r| (r.name.as_str(), r.line)).collect();
        assert_eq!(
            names,
            [
                ("names", 13),
                ("deny", 17),
                ("deny", 24),
                ("allow", 28),
                ("warn_latest", 29)
            ]
        );
        assert_eq!(
            o.rules[1].metadata.as_ref().unwrap().yaml,
            "title: Missing team label\n"
        );
        assert!(o.rules[0].metadata.is_none() && o.rules[2].metadata.is_none());
    }

    #[test]
    fn regorus_errors_become_file_line_col() {
        let p = PolicyProblem::from_regorus(
            "x.rego",
            "\n--> dir/b.rego:2:11\n  |\n2 | deny[msg] { msg := \"x\" }\n  |           ^\nerror: `if` keyword is required before rule body",
        );
        assert_eq!(
            p.to_string(),
            "dir/b.rego:2:11: `if` keyword is required before rule body"
        );
        let p = PolicyProblem::from_regorus("x.rego", "execution exceeded time limit");
        assert_eq!(p.to_string(), "x.rego: execution exceeded time limit");
    }
}
