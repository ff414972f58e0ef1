//! pip requirements files: `requirements*.txt` and `requirements/*.txt`.
//!
//! A requirements file declares what to install, often as ranges; only exact pins
//! (`name==1.2.3`, `name===1.2.3`) say which version will be installed, so only they become
//! packages. Handled the way pip reads the file:
//! - lines ending in `\` continue on the next line (unless a comment ends them);
//! - `#` starts a comment at the start of a line or after whitespace;
//! - option lines (`-r other.txt`, `-c constraints.txt`, `-e ./pkg`, `--index-url …`) and
//!   per-requirement options after the requirement (`--hash=sha256:…`) are skipped;
//! - extras (`name[extra1,extra2]==1.0`) and environment markers (`; python_version <
//!   "3.8"`) are allowed; the package is reported whatever the marker says (the file does
//!   not say which interpreter it is for);
//! - direct references (`name @ https://…`, `git+https://…`, `./local/path`, archive file
//!   names) carry no version and are skipped, as are ranges, wildcards (`==1.*`) and bare
//!   names.
//!
//! Only a line that cannot be a requirement at all (a bad name, an unclosed `[`, `==` with
//! nothing after it) is an error; it is reported with its line when the file yields no
//! package, otherwise it is skipped.

use std::collections::HashSet;

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Ecosystem, Package};

pub struct PythonRequirements;

impl Cataloger for PythonRequirements {
    fn name(&self) -> &'static str {
        "python-requirements"
    }

    /// A declaration, not an install: images report what is installed.
    fn applies_to(&self, kind: TargetKind) -> bool {
        kind == TargetKind::Filesystem
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        let name = file.file_name();
        if !name.ends_with(".txt") {
            return false;
        }
        if name.starts_with("requirements") {
            return true;
        }
        // `requirements/base.txt`, `requirements/dev.txt`
        let dir = &file.path[..file.path.len() - name.len()];
        let parent = dir.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        parent == "requirements"
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let text = String::from_utf8_lossy(content);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let mut packages: Vec<Package> = Vec::new();
        let mut seen: HashSet<(String, String)> = HashSet::new();
        let mut first_error: Option<CatalogError> = None;
        for (line_no, line) in logical_lines(text) {
            match pinned(&line) {
                Ok(Some((name, version))) => {
                    if seen.insert((name.to_string(), version.to_string())) {
                        packages.push(Package::new(
                            Ecosystem::PyPI,
                            name,
                            version,
                            file.path,
                            self.name(),
                        ));
                    }
                }
                Ok(None) => {}
                Err(message) => {
                    first_error.get_or_insert(CatalogError::at_line(line_no, message));
                }
            }
        }
        match first_error {
            Some(e) if packages.is_empty() => Err(e),
            _ => Ok(packages),
        }
    }
}

/// Lines with continuations joined and comments removed, each with the 1-based number of
/// its first physical line; empty ones are left out.
fn logical_lines(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut current: Option<(u32, String)> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (line, commented) = strip_comment(raw);
        let (start, mut buf) = current.take().unwrap_or((line_no, String::new()));
        // A comment swallows a trailing backslash, as in pip.
        match line.strip_suffix('\\') {
            Some(head) if !commented => {
                buf.push_str(head);
                buf.push(' ');
                current = Some((start, buf));
            }
            _ => {
                buf.push_str(line);
                if !buf.trim().is_empty() {
                    out.push((start, buf));
                }
            }
        }
    }
    if let Some((start, buf)) = current
        && !buf.trim().is_empty()
    {
        out.push((start, buf));
    }
    out
}

/// The line without its comment, and whether it had one. A `#` starts a comment at the
/// start of the line or after whitespace (`pkg @ https://host/x.whl#sha256=…` keeps its
/// fragment).
fn strip_comment(line: &str) -> (&str, bool) {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') {
            return (line[..i].trim_end(), true);
        }
    }
    (line, false)
}

/// `Ok(Some((name, version)))` for an exact pin, `Ok(None)` for a line that is valid but
/// pins nothing, `Err` for a line that is not a requirement.
fn pinned(line: &str) -> Result<Option<(String, String)>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('-') {
        return Ok(None);
    }
    // Per-requirement options (`--hash`, `--config-settings`) follow the requirement after
    // whitespace.
    let line = match find_option(line) {
        Some(i) => line[..i].trim_end(),
        None => line,
    };
    // Environment markers.
    let req = line.split(';').next().unwrap_or("").trim();
    if req.is_empty() {
        return Err("a requirement line with no requirement before `;`".into());
    }
    // Direct references and paths: no version to report.
    if req.contains("://")
        || req.starts_with(['.', '/', '~'])
        || req.contains('@')
        || looks_like_archive(req)
    {
        return Ok(None);
    }
    let name_len = req
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        .count();
    let name = &req[..name_len];
    if name.is_empty() {
        return Err(format!("not a requirement: {:?}", clip(req)));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err(format!("invalid package name {:?}", clip(name)));
    }
    let mut rest = req[name_len..].trim_start();
    if let Some(after) = rest.strip_prefix('[') {
        let Some(end) = after.find(']') else {
            return Err(format!("unclosed `[` in the extras of {name:?}"));
        };
        rest = after[end + 1..].trim_start();
    }
    // The old `name (==1.0)` form.
    if let Some(inner) = rest.strip_prefix('(') {
        let Some(inner) = inner.trim_end().strip_suffix(')') else {
            return Err(format!("unclosed `(` in the version of {name:?}"));
        };
        rest = inner.trim();
    }
    if rest.is_empty() {
        return Ok(None);
    }
    if !rest.starts_with(['=', '<', '>', '!', '~']) {
        return Err(format!(
            "unexpected {:?} after the name {name:?}",
            clip(rest)
        ));
    }
    let clauses: Vec<&str> = rest.split(',').map(str::trim).collect();
    let version = match clauses.as_slice() {
        [one] => match one.strip_prefix("===").or_else(|| one.strip_prefix("==")) {
            Some(v) => v.trim(),
            None => return Ok(None),
        },
        // `>=1.0,<2` and friends: a range, whatever one clause says.
        _ => return Ok(None),
    };
    if version.is_empty() {
        return Err(format!("`==` without a version for {name:?}"));
    }
    if version.contains(['*', '$', ' ', '\t']) {
        // Wildcards and `${VAR}` pick no single version.
        return Ok(None);
    }
    Ok(Some((name.to_string(), version.to_string())))
}

/// Byte offset of the first ` --option` (whitespace then `--`).
fn find_option(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    (1..bytes.len().saturating_sub(1))
        .find(|&i| matches!(bytes[i - 1], b' ' | b'\t') && bytes[i] == b'-' && bytes[i + 1] == b'-')
}

fn looks_like_archive(req: &str) -> bool {
    [".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz"]
        .iter()
        .any(|ext| req.ends_with(ext))
}

fn clip(s: &str) -> String {
    s.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> FileInfo<'_> {
        FileInfo {
            path,
            size: 0,
            mode: 0o644,
        }
    }

    fn run(content: &str) -> Result<Vec<(String, String)>, CatalogError> {
        PythonRequirements
            .catalog(&file("requirements.txt"), content.as_bytes())
            .map(|ps| ps.into_iter().map(|p| (p.name, p.version)).collect())
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn wants_requirements_files() {
        let c = PythonRequirements;
        for p in [
            "requirements.txt",
            "app/requirements-dev.txt",
            "requirements_test.txt",
            "requirements/base.txt",
            "svc/requirements/prod.txt",
        ] {
            assert!(c.wants(&file(p)), "{p}");
        }
        for p in [
            "requirements.in",
            "dev-requirements.txt.bak",
            "docs/notes.txt",
            "requirements",
            "constraints.txt",
        ] {
            assert!(!c.wants(&file(p)), "{p}");
        }
        assert!(c.applies_to(TargetKind::Filesystem));
        assert!(!c.applies_to(TargetKind::Image));
    }

    #[test]
    fn reads_pins_like_pip_compile_output() {
        let text = r#"#
# This file is autogenerated by pip-compile with Python 3.11
#
--index-url https://pypi.org/simple
-r base.txt
-c constraints.txt
-e ./libs/internal
-e git+https://github.com/org/repo.git@v1.0#egg=repo
certifi==2023.7.22 \
    --hash=sha256:539cc1d13202e33ca466e88b2807e29f4c13049d6d87031a3c110744495cb082 \
    --hash=sha256:92d6037539857d8206b8f6ae472e8b77db8058fec5937a1ef3f54304089edbb9
    # via requests
requests[security,socks]==2.31.0  # pinned for CVE-2023-32681
typing-extensions==4.7.1 ; python_version < "3.8"
Django===3.2
zope.interface == 6.0
pywin32==306; sys_platform == "win32"
old-style (==1.0)
flask>=2.0
numpy
urllib3>=1.26,<2
celery==5.*
pkg @ https://example.com/pkg-1.0.whl#sha256=abc
https://example.com/other-2.0.tar.gz
./vendor/thing-1.0.tar.gz
certifi==2023.7.22
"#;
        assert_eq!(
            run(text).unwrap(),
            pairs(&[
                ("certifi", "2023.7.22"),
                ("requests", "2.31.0"),
                ("typing-extensions", "4.7.1"),
                ("Django", "3.2"),
                ("zope.interface", "6.0"),
                ("pywin32", "306"),
                ("old-style", "1.0"),
            ])
        );
    }

    #[test]
    fn continuations_and_comments() {
        // A backslash joins lines; one inside a comment does not.
        let text = "foo\\\n==1.0\nbar==2.0 # comment \\\nbaz==3.0\nqux==4.0\\\n";
        assert_eq!(
            run(text).unwrap(),
            pairs(&[
                ("foo", "1.0"),
                ("bar", "2.0"),
                ("baz", "3.0"),
                ("qux", "4.0")
            ])
        );
        // Comments after whitespace, CRLF and a BOM.
        assert_eq!(
            run("\u{feff}a==1.0\r\n#b==2\r\n  # c==3\r\n").unwrap(),
            pairs(&[("a", "1.0")])
        );
    }

    #[test]
    fn errors_carry_the_line_when_nothing_is_readable() {
        let e = run("# deps\n\nfoo[bar==1.0\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = run("flask==\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        // The line of a continued requirement is its first line.
        let e = run("ok>=1\n-foo\n*bad \\\n   ==1.0\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        let e = run("_private==1.0\n").unwrap_err();
        assert!(e.message.contains("invalid package name"), "{e}");
        // One bad line among good ones is skipped.
        assert_eq!(
            run("a==1\n!!!\nb==2\n").unwrap(),
            pairs(&[("a", "1"), ("b", "2")])
        );
        // Nothing pinned and nothing wrong: no packages, no error.
        assert_eq!(run("flask\n-r other.txt\n").unwrap(), vec![]);
        assert_eq!(run("").unwrap(), vec![]);
    }

    #[test]
    fn never_panics_on_junk() {
        for junk in [
            "\\",
            "\\\\\n\\",
            "=",
            "==",
            "a[",
            "a(",
            "a (==1.0",
            ";",
            " --",
            "a --",
            "\u{0}\u{1}==1",
            "é==1",
        ] {
            let _ = run(junk);
        }
        let _ =
            PythonRequirements.catalog(&file("requirements.txt"), &[0xff, 0xfe, b'=', b'=', 0x80]);
        let big = "x==1 \\\n".repeat(50_000);
        let _ = run(&big);
    }
}
