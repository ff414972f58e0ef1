//! Yarn's lockfile, `yarn.lock`, in both of its formats.
//!
//! Yarn 1 ("classic") writes its own format: an unindented header listing every range that
//! resolved to one package, then indented fields.
//!
//! ```text
//! "@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":
//!   version "7.10.4"
//!   resolved "https://registry.yarnpkg.com/…"
//!   dependencies:
//!     "@babel/highlight" "^7.10.4"
//! ```
//!
//! Yarn 2+ ("berry") writes YAML, with a `__metadata` entry, keys that list the ranges with
//! their protocol (`"lodash@npm:^4.17.0, lodash@npm:^4.17.21"`), `version:` and
//! `resolution: "lodash@npm:4.17.21"`. The name comes from `resolution` (it names the real
//! package of an alias), the version from `version`. Resolutions with the `workspace:`,
//! `link:` or `portal:` protocol are the project's own folders, not installs, and are
//! skipped. A `patch:` resolution is the same package and version as the one it patches;
//! duplicates are reported once.
//!
//! Yarn 1 aliases (`"string-width-cjs@npm:string-width@^4.2.0"`) are reported under the real
//! package's name; `file:` and `link:` ranges (local folders) are skipped.

use std::collections::HashSet;

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Ecosystem, Package};

pub struct YarnLock;

impl Cataloger for YarnLock {
    fn name(&self) -> &'static str {
        "yarn-lock"
    }

    /// A lockfile: directories only, images report what is installed.
    fn applies_to(&self, kind: TargetKind) -> bool {
        kind == TargetKind::Filesystem
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        file.file_name() == "yarn.lock" && !file.path.contains("node_modules/")
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let text = std::str::from_utf8(content)
            .map_err(|e| CatalogError::new(format!("not UTF-8 text: {e}")))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let is_berry = text.lines().any(|l| l.starts_with("__metadata:"));
        let (mut found, first_error) = if is_berry {
            berry(text)?
        } else {
            classic(text)
        };
        // Several entries can resolve to one package (a `patch:` and what it patches, or a
        // classic lock's duplicate headers).
        let mut seen: HashSet<(String, String)> = HashSet::new();
        found.retain(|f| seen.insert(f.clone()));
        match first_error {
            Some(e) if found.is_empty() => Err(e),
            _ => Ok(found
                .into_iter()
                .map(|(name, version)| {
                    Package::new(Ecosystem::Npm, name, version, file.path, self.name())
                })
                .collect()),
        }
    }
}

type Found = (Vec<(String, String)>, Option<CatalogError>);

fn add(out: &mut Vec<(String, String)>, name: &str, version: &str) {
    out.push((name.to_string(), version.to_string()));
}

/// `@scope/name@range` → (`@scope/name`, `range`): the first `@` that is not the scope's.
fn split_name_at(s: &str) -> Option<(&str, &str)> {
    let at = s.get(1..)?.find('@')? + 1;
    Some((&s[..at], &s[at + 1..]))
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// The package a Yarn 1 header names, `None` for a local folder, `Err` when the header is
/// not `name@range`.
fn classic_name(header: &str) -> Result<Option<String>, String> {
    let first = header.split(',').next().unwrap_or("");
    let pattern = unquote(first);
    let Some((name, range)) = split_name_at(pattern) else {
        return Err(format!(
            "entry header {:?} is not `name@range`",
            clip(pattern)
        ));
    };
    if name.is_empty() {
        return Err(format!(
            "entry header {:?} has no package name",
            clip(pattern)
        ));
    }
    if range.starts_with("file:") || range.starts_with("link:") {
        return Ok(None);
    }
    if let Some(target) = range.strip_prefix("npm:") {
        // `alias@npm:real@^1.0.0`, or `alias@npm:^1.0.0` (no rename).
        return Ok(Some(match split_name_at(target) {
            Some((real, _)) if !real.is_empty() => real.to_string(),
            _ if !target.is_empty()
                && !target.starts_with(|c: char| c.is_ascii_digit() || "^~<>=*".contains(c)) =>
            {
                target.to_string()
            }
            _ => name.to_string(),
        }));
    }
    Ok(Some(name.to_string()))
}

fn classic(text: &str) -> Found {
    let mut out = Vec::new();
    let mut first_error: Option<CatalogError> = None;
    // The entry being read: its header line, the package name (None: skipped), its version.
    let mut current: Option<(u32, Option<String>, Option<String>)> = None;
    let finish = |cur: Option<(u32, Option<String>, Option<String>)>,
                  out: &mut Vec<(String, String)>,
                  first_error: &mut Option<CatalogError>| {
        if let Some((line, Some(name), version)) = cur {
            match version {
                Some(v) => add(out, &name, &v),
                None => {
                    first_error.get_or_insert(CatalogError::at_line(
                        line,
                        format!("entry for {name:?} has no version"),
                    ));
                }
            }
        }
    };
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            finish(current.take(), &mut out, &mut first_error);
            let Some(header) = line.strip_suffix(':') else {
                first_error.get_or_insert(CatalogError::at_line(
                    line_no,
                    "expected an entry header ending in `:`",
                ));
                continue;
            };
            match classic_name(header) {
                Ok(name) => current = Some((line_no, name, None)),
                Err(message) => {
                    first_error.get_or_insert(CatalogError::at_line(line_no, message));
                }
            }
            continue;
        }
        // Only the entry's own fields (two-space indent) matter; deeper lines are the
        // `dependencies:` blocks.
        let Some(field) = line.strip_prefix("  ") else {
            continue;
        };
        if field.starts_with([' ', '\t']) {
            continue;
        }
        if let Some((_, _, version)) = current.as_mut()
            && let Some(rest) = field.strip_prefix("version")
            && rest.starts_with([' ', ':'])
        {
            let v = unquote(rest.trim_start_matches(':'));
            if !v.is_empty() {
                *version = Some(v.to_string());
            }
        }
    }
    finish(current.take(), &mut out, &mut first_error);
    (out, first_error)
}

fn berry(text: &str) -> Result<Found, CatalogError> {
    let stream = palisade_yaml::parse_stream(text);
    if let Some(e) = &stream.error {
        return Err(CatalogError::at_line(
            e.line(),
            format!("invalid YAML: {e}"),
        ));
    }
    let Some(doc) = stream.documents.first() else {
        return Ok((Vec::new(), None));
    };
    let Some(entries) = doc.root.as_map() else {
        return Err(CatalogError::at_line(
            doc.root.span.start_line,
            "yarn.lock is not a mapping",
        ));
    };
    let mut out = Vec::new();
    let mut first_error: Option<CatalogError> = None;
    for (key, value) in entries {
        let Some(key_text) = key.scalar_text() else {
            continue;
        };
        if key_text == "__metadata" {
            continue;
        }
        let line = key.span.start_line;
        let descriptor = value
            .get("resolution")
            .and_then(|r| r.scalar_text())
            .unwrap_or_else(|| key_text.split(',').next().unwrap_or("").trim());
        let Some((name, reference)) = split_name_at(unquote(descriptor)) else {
            first_error.get_or_insert(CatalogError::at_line(
                line,
                format!("{:?} is not `name@protocol:reference`", clip(descriptor)),
            ));
            continue;
        };
        let protocol = reference.split_once(':').map(|(p, _)| p).unwrap_or("");
        if matches!(protocol, "workspace" | "link" | "portal") {
            continue;
        }
        let Some(version) = value
            .get("version")
            .and_then(|v| v.scalar_text())
            .map(str::trim)
            .filter(|v| !v.is_empty())
        else {
            first_error.get_or_insert(CatalogError::at_line(
                line,
                format!("entry for {name:?} has no version"),
            ));
            continue;
        };
        if name.is_empty() {
            first_error.get_or_insert(CatalogError::at_line(
                line,
                "entry with an empty package name",
            ));
            continue;
        }
        add(&mut out, name, version);
    }
    Ok((out, first_error))
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
        YarnLock
            .catalog(&file("yarn.lock"), content.as_bytes())
            .map(|ps| ps.into_iter().map(|p| (p.name, p.version)).collect())
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn wants_and_applies() {
        assert!(YarnLock.wants(&file("yarn.lock")));
        assert!(YarnLock.wants(&file("web/yarn.lock")));
        assert!(!YarnLock.wants(&file("node_modules/x/yarn.lock")));
        assert!(!YarnLock.wants(&file("yarn.lock.bak")));
        assert!(!YarnLock.applies_to(TargetKind::Image));
        assert!(YarnLock.applies_to(TargetKind::Filesystem));
    }

    #[test]
    fn reads_classic_lock() {
        let text = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":
  version "7.10.4"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.10.4.tgz#168da1a36e90da68ae8d49c0f1b48c7c6249213a"
  integrity sha512-vG6SvB6oYEhvgisZNFRmRCUkLz11c7rp+tbNTynGqc6mS1d5ATd/sGyV6W0KZZnXRKMTzZDRgQT3Ou9jhpAfUg==
  dependencies:
    "@babel/highlight" "^7.10.4"
    version "not-this-one"

abbrev@1, abbrev@^1.0.0:
  version "1.1.1"
  resolved "https://registry.yarnpkg.com/abbrev/-/abbrev-1.1.1.tgz#f8f2c887ad10bf67f634f005b6987fed3179aac8"

"string-width-cjs@npm:string-width@^4.2.0":
  version "4.2.3"

"@types/react-alias@npm:@types/react@^18":
  version "18.2.79"

local-lib@file:./packages/local-lib:
  version "0.0.1"

my-fork@git+https://github.com/me/fork.git#abc123:
  version "2.0.0-fork"
  resolved "git+https://github.com/me/fork.git#abc123"

"abbrev@1.1.1":
  version "1.1.1"
"#;
        assert_eq!(
            run(text).unwrap(),
            pairs(&[
                ("@babel/code-frame", "7.10.4"),
                ("abbrev", "1.1.1"),
                ("string-width", "4.2.3"),
                ("@types/react", "18.2.79"),
                ("my-fork", "2.0.0-fork"),
            ])
        );
        // CRLF line ends.
        assert_eq!(
            run("# yarn lockfile v1\r\n\r\nms@^2.1.1:\r\n  version \"2.1.3\"\r\n").unwrap(),
            pairs(&[("ms", "2.1.3")])
        );
    }

    #[test]
    fn reads_berry_lock() {
        let text = r#"# This file is generated by running "yarn install" inside your project.
# Manual changes might be lost - proceed with caution!

__metadata:
  version: 8
  cacheKey: 10c0

"@babel/core@npm:^7.12.3, @babel/core@npm:^7.23.0":
  version: 7.24.0
  resolution: "@babel/core@npm:7.24.0"
  dependencies:
    "@ampproject/remapping": "npm:^2.2.0"
  checksum: 10c0/abc
  languageName: node
  linkType: hard

"string-width-cjs@npm:string-width@^4.2.0":
  version: 4.2.3
  resolution: "string-width@npm:4.2.3"
  languageName: node
  linkType: hard

"resolve@npm:^1.22.1":
  version: 1.22.8
  resolution: "resolve@npm:1.22.8"
  languageName: node
  linkType: hard

"resolve@patch:resolve@npm%3A^1.22.1#optional!builtin<compat/resolve>":
  version: 1.22.8
  resolution: "resolve@patch:resolve@npm%3A1.22.8#optional!builtin<compat/resolve>::version=1.22.8&hash=c3c19d"
  languageName: node
  linkType: hard

"my-app@workspace:.":
  version: 0.0.0-use.local
  resolution: "my-app@workspace:."
  languageName: unknown
  linkType: soft

"shared@link:../shared::locator=my-app%40workspace%3A.":
  version: 0.0.0-use.local
  resolution: "shared@link:../shared::locator=my-app%40workspace%3A."
  languageName: node
  linkType: soft

"tool@portal:../tool::locator=my-app%40workspace%3A.":
  version: 0.0.0-use.local
  resolution: "tool@portal:../tool::locator=my-app%40workspace%3A."
  languageName: node
  linkType: soft

"semver@npm:7.6.0":
  version: 7.6.0
  resolution: "semver@npm:7.6.0"
"#;
        assert_eq!(
            run(text).unwrap(),
            pairs(&[
                ("@babel/core", "7.24.0"),
                ("string-width", "4.2.3"),
                ("resolve", "1.22.8"),
                ("semver", "7.6.0")
            ])
        );
    }

    #[test]
    fn bad_input() {
        // Classic: a header that is not `name@range`, an entry without a version.
        let e = run("# yarn lockfile v1\n\nnot-a-header\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = run("# yarn lockfile v1\n\nfoo@^1:\n  resolved \"x\"\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = run("justname:\n  version \"1\"\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        // One bad entry among good ones is skipped.
        assert_eq!(
            run("a@1:\n  version \"1.0.0\"\nb@2:\n  resolved \"x\"\n").unwrap(),
            pairs(&[("a", "1.0.0")])
        );
        // Berry: YAML errors carry their line; a bad entry alone is an error.
        let e = run("__metadata:\n  version: 8\n\"a@npm:1\": [\n").unwrap_err();
        assert!(e.line.is_some(), "{e}");
        let e = run("__metadata:\n  version: 8\n\n\"a@npm:^1\":\n  resolution: \"a@npm:1.0.0\"\n")
            .unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert_eq!(run("__metadata:\n  version: 8\n").unwrap(), vec![]);
        assert_eq!(run("").unwrap(), vec![]);
        assert!(YarnLock.catalog(&file("yarn.lock"), b"\xff\xfe").is_err());
        for junk in [
            "@:",
            "\"\":",
            "@@@:\n  version",
            ":\n",
            "a@:\n  version \"",
            "__metadata:\n- 1\n- 2",
            "__metadata: {}\nx: [1]\n\"@\": {version: 1}\n",
        ] {
            let _ = run(junk);
        }
    }
}
