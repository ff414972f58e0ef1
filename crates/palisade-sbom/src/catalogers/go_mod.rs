//! `go.mod`: the modules a Go project requires, after its `replace` directives.
//!
//! Reads `require` lines and `require ( … )` blocks, direct and `// indirect` alike (since
//! Go 1.17 the file lists the whole module graph the build uses). `replace old [v] => new
//! [v]` swaps in the replacement's path and version; a replacement pinned to an old version
//! only applies to that version, and takes precedence over an unversioned one, as in Go.
//! Modules replaced by a local directory (`=> ../fork`) are skipped: that code has no module
//! identity or version (Trivy 0.59.1 drops them too). The project's own `module` is not a
//! dependency and is not reported; `go`/`toolchain` lines say which toolchain may build the
//! project, not which one did, so no `stdlib` package is made from them.
//!
//! Only for directories: an image holds the built binary, whose build info the `go-binary`
//! cataloger reads.

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Ecosystem, Package};

pub struct GoMod;

impl Cataloger for GoMod {
    fn name(&self) -> &'static str {
        "go-mod"
    }

    fn applies_to(&self, kind: TargetKind) -> bool {
        kind == TargetKind::Filesystem
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        file.file_name() == "go.mod"
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let text = std::str::from_utf8(content).map_err(|e| {
            let line = content[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            CatalogError::at_line(
                u32::try_from(line).unwrap_or(u32::MAX),
                "go.mod is not UTF-8",
            )
        })?;
        let m = parse_go_mod(text)?;
        Ok(m.resolved()
            .into_iter()
            .map(|(name, version)| {
                Package::new(Ecosystem::Go, name, version, file.path, self.name())
            })
            .collect())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replace {
    pub old_path: String,
    pub old_version: Option<String>,
    pub new_path: String,
    pub new_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GoModFile {
    pub module: Option<String>,
    /// (path, version, indirect)
    pub require: Vec<(String, String, bool)>,
    pub replace: Vec<Replace>,
}

impl GoModFile {
    /// The required modules after replacements, in file order; local replacements dropped.
    pub fn resolved(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (path, version, _) in &self.require {
            let specific = self
                .replace
                .iter()
                .rev()
                .find(|r| &r.old_path == path && r.old_version.as_deref() == Some(version));
            let general = || {
                self.replace
                    .iter()
                    .rev()
                    .find(|r| &r.old_path == path && r.old_version.is_none())
            };
            let item = match specific.or_else(general) {
                None => (path.clone(), version.clone()),
                Some(r) => match &r.new_version {
                    Some(v) => (r.new_path.clone(), v.clone()),
                    None => continue,
                },
            };
            if !out.contains(&item) {
                out.push(item);
            }
        }
        out
    }
}

/// Splits a line into tokens: bare words and Go-quoted strings; stops at a `//` comment.
/// Returns the tokens and whether the comment says `indirect`.
fn tokens(line: &str, n: u32) -> Result<(Vec<String>, bool), CatalogError> {
    let mut out = Vec::new();
    let mut rest = line.trim_start();
    let mut indirect = false;
    while !rest.is_empty() {
        if let Some(comment) = rest.strip_prefix("//") {
            let c = comment.trim();
            indirect = c == "indirect" || c.starts_with("indirect;");
            break;
        }
        if let Some(r) = rest.strip_prefix('"') {
            let mut s = String::new();
            let mut chars = r.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    '\\' => {
                        if let Some((_, e)) = chars.next() {
                            s.push(e);
                        }
                    }
                    c => s.push(c),
                }
            }
            let end = end.ok_or_else(|| CatalogError::at_line(n, "unterminated quoted string"))?;
            out.push(s);
            rest = r[end..].trim_start();
        } else if let Some(r) = rest.strip_prefix('`') {
            let end = r
                .find('`')
                .ok_or_else(|| CatalogError::at_line(n, "unterminated quoted string"))?;
            out.push(r[..end].to_string());
            rest = r[end + 1..].trim_start();
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"' || c == '`')
                .map(|e| e.max(1))
                .unwrap_or(rest.len());
            let word = &rest[..end];
            // `a//b` is not a comment start inside a word, but `x //c` is; a word ending in a
            // comment marker is split there.
            if let Some(p) = word.find("//") {
                if p > 0 {
                    out.push(word[..p].to_string());
                }
                rest = &rest[p..];
                continue;
            }
            out.push(word.to_string());
            rest = rest[end..].trim_start();
        }
    }
    Ok((out, indirect))
}

/// Parses the directives of a go.mod file that say which modules are used.
pub fn parse_go_mod(text: &str) -> Result<GoModFile, CatalogError> {
    let mut m = GoModFile::default();
    let mut block: Option<(String, u32)> = None;
    for (i, line) in text.lines().enumerate() {
        let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let (toks, indirect) = tokens(line, n)?;
        if toks.is_empty() {
            continue;
        }
        let (verb, args) = match &block {
            Some((verb, _)) => {
                if toks.len() == 1 && toks[0] == ")" {
                    block = None;
                    continue;
                }
                (verb.clone(), &toks[..])
            }
            None => {
                if toks.len() >= 2 && toks[1] == "(" {
                    if toks.len() > 2 {
                        return Err(CatalogError::at_line(
                            n,
                            format!("unexpected text after `{} (`", toks[0]),
                        ));
                    }
                    block = Some((toks[0].clone(), n));
                    continue;
                }
                (toks[0].clone(), &toks[1..])
            }
        };
        match verb.as_str() {
            "module" => m.module = args.first().cloned(),
            "require" => match args {
                [path, version] => m.require.push((path.clone(), version.clone(), indirect)),
                _ => {
                    return Err(CatalogError::at_line(
                        n,
                        "require needs a module path and a version",
                    ));
                }
            },
            "replace" => {
                let Some(arrow) = args.iter().position(|t| t == "=>") else {
                    return Err(CatalogError::at_line(n, "replace needs `=>`"));
                };
                let (old, new) = (&args[..arrow], &args[arrow + 1..]);
                let r = match (old, new) {
                    ([op], [np]) | ([op, _], [np]) => Replace {
                        old_path: op.clone(),
                        old_version: old.get(1).cloned(),
                        new_path: np.clone(),
                        new_version: None,
                    },
                    ([op], [np, nv]) | ([op, _], [np, nv]) => Replace {
                        old_path: op.clone(),
                        old_version: old.get(1).cloned(),
                        new_path: np.clone(),
                        new_version: Some(nv.clone()),
                    },
                    _ => return Err(CatalogError::at_line(n, "malformed replace directive")),
                };
                m.replace.push(r);
            }
            // go, toolchain, exclude, retract, godebug, tool, ignore: nothing to report.
            _ => {}
        }
    }
    if let Some((verb, start)) = block {
        return Err(CatalogError::at_line(
            start,
            format!("`{verb} (` block is not closed"),
        ));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Result<Vec<(String, String)>, CatalogError> {
        let file = FileInfo {
            path: "go.mod",
            size: text.len() as u64,
            mode: 0o644,
        };
        Ok(GoMod
            .catalog(&file, text.as_bytes())?
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect())
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn requires_and_replacements() {
        let text = "module example.com/x // the module

go 1.21

toolchain go1.22.1

require (
\tgithub.com/a/b v1.0.0
\tgithub.com/c/d v1.2.0 // indirect
\tgithub.com/e/f v0.1.0
\tgithub.com/g/h v0.3.0
\t\"github.com/quoted/q\" v0.0.1
)

require github.com/single/one v2.0.0+incompatible

replace github.com/a/b => github.com/fork/b v1.0.1

replace (
\tgithub.com/e/f => ../local/f
\tgithub.com/g/h v0.2.0 => github.com/fork/h v9.9.9
)

exclude github.com/zz/zz v1.0.0

retract (
\tv1.0.0 // oops
)
";
        let m = parse_go_mod(text).unwrap();
        assert_eq!(m.module.as_deref(), Some("example.com/x"));
        assert_eq!(
            m.require[1],
            ("github.com/c/d".into(), "v1.2.0".into(), true)
        );
        assert!(!m.require[0].2);
        // Same as Trivy 0.59.1 on this file, minus the module itself.
        assert_eq!(
            run(text).unwrap(),
            pairs(&[
                ("github.com/fork/b", "v1.0.1"),
                ("github.com/c/d", "v1.2.0"),
                ("github.com/g/h", "v0.3.0"),
                ("github.com/quoted/q", "v0.0.1"),
                ("github.com/single/one", "v2.0.0+incompatible"),
            ])
        );
    }

    #[test]
    fn version_specific_replace_wins() {
        let text = "module m\nrequire a.com/x v1.0.0\nreplace a.com/x => b.com/general v2.0.0\nreplace a.com/x v1.0.0 => c.com/specific v3.0.0\n";
        assert_eq!(run(text).unwrap(), pairs(&[("c.com/specific", "v3.0.0")]));
    }

    #[test]
    fn malformed_files_give_a_line() {
        assert_eq!(
            run("module m\nrequire (\n\ta.com/x v1\n").unwrap_err().line,
            Some(2)
        );
        assert_eq!(
            run("module m\nrequire a.com/x\n").unwrap_err().line,
            Some(2)
        );
        assert_eq!(
            run("module m\nreplace a.com/x b.com/y\n").unwrap_err().line,
            Some(2)
        );
        assert_eq!(
            run("module m\nrequire \"a.com/x v1\n").unwrap_err().line,
            Some(2)
        );
        let f = FileInfo {
            path: "go.mod",
            size: 1,
            mode: 0,
        };
        assert!(GoMod.catalog(&f, b"module m\n\xff").is_err());
        assert_eq!(run("").unwrap(), Vec::new());
        assert!(!GoMod.applies_to(TargetKind::Image));
        assert!(GoMod.wants(&FileInfo {
            path: "src/go.mod",
            size: 1,
            mode: 0
        }));
        assert!(!GoMod.wants(&FileInfo {
            path: "src/go.sum",
            size: 1,
            mode: 0
        }));
    }

    #[test]
    fn comments_stick_to_words() {
        let (t, indirect) = tokens("\tgithub.com/a/b v1.0.0// indirect", 1).unwrap();
        assert_eq!(t, vec!["github.com/a/b", "v1.0.0"]);
        assert!(indirect);
    }
}
