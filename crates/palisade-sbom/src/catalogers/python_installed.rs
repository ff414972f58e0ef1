//! Installed Python distributions: the core metadata file that pip (and every other
//! installer) leaves beside the installed code.
//!
//! - `…/<name>-<version>.dist-info/METADATA`: wheels and modern installs;
//! - `…/<name>.egg-info/PKG-INFO`: setuptools installs and `develop`/editable checkouts;
//! - `…/<name>-<version>.egg-info` as a plain file: old distutils installs (Debian's
//!   `python3-*` packages still ship some), holding the same headers.
//!
//! The format is RFC 822 headers (core metadata spec), then a blank line, then the long
//! description as the body: only the headers are read. Names are kept as `Name:` writes
//! them (`Django`, `Jinja2`); the package URL normalises them.
//!
//! Licence, best first: `License-Expression` (metadata 2.4, an SPDX expression); else a
//! short one-line `License` (many projects paste the whole licence text there, which is
//! no use as a name); else the `License :: …` trove classifiers (`License :: OSI Approved
//! :: MIT License` → `MIT License`).

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Ecosystem, Package};

pub struct PythonInstalled;

/// Longest `License` value taken as a licence name; longer values are licence texts.
const MAX_LICENSE_NAME: usize = 100;
/// Headers beyond this many bytes are not metadata any more (the body has no blank line
/// before it, or this is not a metadata file at all).
const MAX_HEADER_BYTES: usize = 1 << 20;

impl Cataloger for PythonInstalled {
    fn name(&self) -> &'static str {
        "python-installed"
    }

    /// Installed evidence: counts in images and in directories alike.
    fn applies_to(&self, _kind: TargetKind) -> bool {
        true
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        let path = file.path;
        if let Some(dir) = path.strip_suffix("/METADATA") {
            return dir.ends_with(".dist-info");
        }
        if let Some(dir) = path.strip_suffix("/PKG-INFO") {
            return dir.ends_with(".egg-info");
        }
        // `foo-1.0.egg-info` written as a file (the artifact layer only hands over files).
        let name = file.file_name();
        name.len() > ".egg-info".len() && name.ends_with(".egg-info")
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let text = String::from_utf8_lossy(content);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let headers = parse_headers(text)?;
        let name = headers
            .first("Name")
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let version = headers
            .first("Version")
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let (name, version) = match (name, version) {
            (Some(n), Some(v)) => (n, v),
            // Every distribution has both (the core metadata spec requires them); a file
            // without them is damaged or not metadata.
            (None, _) => return Err(CatalogError::new("no Name header in the package metadata")),
            (_, None) => {
                return Err(CatalogError::new(format!(
                    "no Version header for {name:?}",
                    name = name.unwrap_or("")
                )));
            }
        };
        let mut p = Package::new(Ecosystem::PyPI, name, version, file.path, self.name());
        p.licenses = licenses(&headers);
        Ok(vec![p])
    }
}

/// The headers of a metadata file, in order, with continuation lines joined by `\n`.
struct Headers<'a> {
    fields: Vec<(&'a str, String, bool)>,
}

impl Headers<'_> {
    fn first(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v, _)| v.as_str())
    }

    /// Every value of `key`, with whether it spans several lines.
    fn all<'s>(&'s self, key: &'s str) -> impl Iterator<Item = (&'s str, bool)> + 's {
        self.fields
            .iter()
            .filter(move |(k, _, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v, multi)| (v.as_str(), *multi))
    }
}

/// Reads headers up to the first empty line. A line that starts with a space or a tab
/// continues the previous header; any other line without a `:` is a syntax error.
fn parse_headers(text: &str) -> Result<Headers<'_>, CatalogError> {
    let mut fields: Vec<(&str, String, bool)> = Vec::new();
    let mut consumed = 0usize;
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        consumed += raw.len() + 1;
        if consumed > MAX_HEADER_BYTES {
            return Err(CatalogError::at_line(
                line_no,
                "metadata headers are larger than 1 MiB",
            ));
        }
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            match fields.last_mut() {
                Some((_, value, multi)) => {
                    value.push('\n');
                    value.push_str(line.trim());
                    *multi = true;
                }
                None => {
                    return Err(CatalogError::at_line(
                        line_no,
                        "continuation line before any header",
                    ));
                }
            }
            continue;
        }
        match line.split_once(':') {
            Some((key, value)) if !key.is_empty() && !key.contains(' ') => {
                fields.push((key, value.trim().to_string(), false));
            }
            _ => {
                return Err(CatalogError::at_line(
                    line_no,
                    "not a metadata header (expected `Key: value`)",
                ));
            }
        }
    }
    Ok(Headers { fields })
}

fn licenses(headers: &Headers<'_>) -> Vec<String> {
    if let Some(expr) = headers
        .first("License-Expression")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        return vec![expr.to_string()];
    }
    if let Some((license, multi)) = headers.all("License").next() {
        let license = license.trim();
        if !multi
            && !license.is_empty()
            && license.len() <= MAX_LICENSE_NAME
            && !license.eq_ignore_ascii_case("UNKNOWN")
        {
            return vec![license.to_string()];
        }
    }
    let mut out: Vec<String> = Vec::new();
    for (classifier, _) in headers.all("Classifier") {
        let Some(rest) = classifier.trim().strip_prefix("License ::") else {
            continue;
        };
        // `License :: OSI Approved :: BSD License` → `BSD License`; a bare `License ::
        // OSI Approved` names no licence.
        let last = rest.rsplit("::").next().unwrap_or("").trim();
        if last.is_empty() || last == "OSI Approved" {
            continue;
        }
        if !out.iter().any(|l| l == last) {
            out.push(last.to_string());
        }
    }
    out
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

    fn run(path: &str, content: &str) -> Result<Vec<Package>, CatalogError> {
        PythonInstalled.catalog(&file(path), content.as_bytes())
    }

    #[test]
    fn wants_metadata_files_only() {
        let c = PythonInstalled;
        for p in [
            "usr/local/lib/python3.11/dist-packages/Django-3.2.dist-info/METADATA",
            "usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO",
            "usr/lib/python3/dist-packages/python_apt-2.6.0.egg-info",
            "src/mypkg.egg-info/PKG-INFO",
        ] {
            assert!(c.wants(&file(p)), "{p}");
        }
        for p in [
            "usr/local/lib/python3.11/dist-packages/Django-3.2.dist-info/RECORD",
            "usr/local/lib/python3.11/dist-packages/Django-3.2.dist-info/LICENSE",
            "src/project/PKG-INFO",
            "METADATA",
            "docs/METADATA",
            ".egg-info",
            "usr/lib/python3/dist-packages/six-1.16.0.egg-info/top_level.txt",
        ] {
            assert!(!c.wants(&file(p)), "{p}");
        }
    }

    #[test]
    fn reads_dist_info_metadata() {
        let text = "Metadata-Version: 2.1\nName: Jinja2\nVersion: 2.11.2\nSummary: A very fast and expressive template engine.\nHome-page: https://palletsprojects.com/p/jinja/\nLicense: BSD-3-Clause\nClassifier: License :: OSI Approved :: BSD License\nRequires-Dist: MarkupSafe (>=0.23)\n\nJinja\n=====\n\nName: not-a-header\nVersion: 9.9\n";
        let path = "usr/local/lib/python3.11/dist-packages/Jinja2-2.11.2.dist-info/METADATA";
        let got = run(path, text).unwrap();
        assert_eq!(got.len(), 1);
        let p = &got[0];
        assert_eq!((p.name.as_str(), p.version.as_str()), ("Jinja2", "2.11.2"));
        assert_eq!(p.ecosystem, Ecosystem::PyPI);
        assert_eq!(p.licenses, vec!["BSD-3-Clause"]);
        assert_eq!(p.locations[0].path, path);
        assert_eq!(p.found_by, "python-installed");
    }

    #[test]
    fn licence_expression_wins_then_short_license_then_classifiers() {
        let expr = "Metadata-Version: 2.4\nName: attrs\nVersion: 25.3.0\nLicense-Expression: MIT\nLicense: The MIT License\nClassifier: License :: OSI Approved :: MIT License\n";
        assert_eq!(
            run("a.dist-info/METADATA", expr).unwrap()[0].licenses,
            vec!["MIT"]
        );

        // The whole licence text in `License:` with continuation lines (setuptools writes
        // 8-space or 7-space-and-pipe continuations): fall back to the classifiers.
        let long = "Metadata-Version: 2.1\nName: numpy\nVersion: 1.26.4\nLicense: Copyright (c) 2005-2023, NumPy Developers.\n        All rights reserved.\n       |\n        Redistribution and use in source and binary forms...\nClassifier: Programming Language :: Python\nClassifier: License :: OSI Approved :: BSD License\nClassifier: License :: Public Domain\nClassifier: License :: OSI Approved\n\nbody";
        let p = &run("numpy-1.26.4.dist-info/METADATA", long).unwrap()[0];
        assert_eq!(p.licenses, vec!["BSD License", "Public Domain"]);
        assert_eq!(p.version, "1.26.4");

        let unknown = "Metadata-Version: 1.0\nName: foo\nVersion: 0.1\nLicense: UNKNOWN\n";
        assert!(
            run("foo.egg-info/PKG-INFO", unknown).unwrap()[0]
                .licenses
                .is_empty()
        );

        let too_long = format!(
            "Name: foo\nVersion: 1\nLicense: {}\nClassifier: License :: OSI Approved :: Apache Software License\n",
            "x".repeat(200)
        );
        assert_eq!(
            run("foo.egg-info", &too_long).unwrap()[0].licenses,
            vec!["Apache Software License"]
        );
    }

    #[test]
    fn reads_old_egg_info_file_with_crlf_and_bom() {
        let text = "\u{feff}Metadata-Version: 1.1\r\nName: python-apt\r\nVersion: 2.6.0\r\nSummary: Python bindings for APT\r\nLicense: GNU GPL\r\nDescription: UNKNOWN\r\nPlatform: UNKNOWN\r\n";
        let p = &run(
            "usr/lib/python3/dist-packages/python_apt-2.6.0.egg-info",
            text,
        )
        .unwrap()[0];
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("python-apt", "2.6.0")
        );
        assert_eq!(p.licenses, vec!["GNU GPL"]);
    }

    #[test]
    fn multi_line_description_header_does_not_end_the_headers() {
        // Metadata 1.x puts the description in a header with continuation lines; a line of
        // spaces is a continuation, not the blank line that ends the headers.
        let text = "Metadata-Version: 1.1\nName: six\nDescription: Six is a Python 2 and 3 compatibility library.\n        \n        Online documentation is at https://six.readthedocs.io/.\nVersion: 1.16.0\nLicense: MIT\n";
        let p = &run("six-1.16.0.egg-info/PKG-INFO", text).unwrap()[0];
        assert_eq!(p.version, "1.16.0");
        assert_eq!(p.licenses, vec!["MIT"]);
    }

    #[test]
    fn broken_files_are_errors_not_panics() {
        let e = run(
            "x.dist-info/METADATA",
            "Metadata-Version: 2.1\nVersion: 1.0\n",
        )
        .unwrap_err();
        assert!(e.message.contains("Name"), "{e}");
        let e = run("x.dist-info/METADATA", "Name: x\n\nVersion: 1.0\n").unwrap_err();
        assert!(e.message.contains("Version"), "{e}");
        let e = run(
            "x.dist-info/METADATA",
            "Name: x\nthis is not a header\nVersion: 1\n",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(2));
        let e = run("x.dist-info/METADATA", "  leading continuation\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(run("x.dist-info/METADATA", "").is_err());
        // Binary junk: lossy decoding, then a header error.
        assert!(
            PythonInstalled
                .catalog(
                    &file("x.dist-info/METADATA"),
                    &[0xff, 0xfe, 0x00, 0x01, b'\n']
                )
                .is_err()
        );
        // Headers with no end: refused once past the size limit.
        let huge = format!("Name: x\nVersion: 1\n{}", "Classifier: a\n".repeat(100_000));
        assert!(run("x.dist-info/METADATA", &huge).is_err());
    }
}
