//! Pipenv's lockfile, `Pipfile.lock`: JSON with `_meta`, then `default` (the
//! application's packages) and `develop` (dev packages), each a map from the (lower-case,
//! normalised) package name to `{"version": "==1.2.3", "hashes": […], "markers": …}`.
//! Both sections are reported, as Syft and Trivy do; a package in both is reported once.
//! Entries without a `version` — `{"editable": true, "path": "."}`, `{"git": …, "ref": …}`,
//! `{"file": …}` — install whatever that source holds, so they have no version to report
//! and are skipped.

use std::collections::HashSet;

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Ecosystem, Package};

pub struct PythonPipenv;

impl Cataloger for PythonPipenv {
    fn name(&self) -> &'static str {
        "python-pipenv"
    }

    /// A lockfile: directories only, images report what is installed.
    fn applies_to(&self, kind: TargetKind) -> bool {
        kind == TargetKind::Filesystem
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        file.file_name() == "Pipfile.lock"
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let doc: serde_json::Value = serde_json::from_slice(content).map_err(|e| {
            CatalogError::at_line(
                u32::try_from(e.line()).unwrap_or(u32::MAX),
                format!("invalid JSON: {e}"),
            )
        })?;
        if !doc.is_object() {
            return Err(CatalogError::new("Pipfile.lock is not a JSON object"));
        }
        let mut packages: Vec<Package> = Vec::new();
        let mut seen: HashSet<(String, String)> = HashSet::new();
        for section in ["default", "develop"] {
            let Some(entries) = doc.get(section).and_then(|v| v.as_object()) else {
                continue;
            };
            for (name, entry) in entries {
                let Some(version) = entry.get("version").and_then(|v| v.as_str()) else {
                    continue;
                };
                let version = version.trim();
                let version = version
                    .strip_prefix("===")
                    .or_else(|| version.strip_prefix("=="))
                    .unwrap_or(version)
                    .trim();
                // Pipenv writes exact pins; anything else (`*`, a range) is not a version.
                if version.is_empty()
                    || version.starts_with(['<', '>', '!', '~', '=', '*'])
                    || name.is_empty()
                {
                    continue;
                }
                if seen.insert((name.to_string(), version.to_string())) {
                    packages.push(Package::new(
                        Ecosystem::PyPI,
                        name.as_str(),
                        version,
                        file.path,
                        self.name(),
                    ));
                }
            }
        }
        Ok(packages)
    }
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
        PythonPipenv
            .catalog(&file("Pipfile.lock"), content.as_bytes())
            .map(|ps| ps.into_iter().map(|p| (p.name, p.version)).collect())
    }

    #[test]
    fn wants_and_applies() {
        assert!(PythonPipenv.wants(&file("app/Pipfile.lock")));
        assert!(!PythonPipenv.wants(&file("app/Pipfile")));
        assert!(!PythonPipenv.wants(&file("pipfile.lock")));
        assert!(!PythonPipenv.applies_to(TargetKind::Image));
        assert!(PythonPipenv.applies_to(TargetKind::Filesystem));
    }

    #[test]
    fn reads_default_and_develop() {
        let text = r#"{
    "_meta": {
        "hash": {"sha256": "7f3a"},
        "pipfile-spec": 6,
        "requires": {"python_version": "3.11"},
        "sources": [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": true}]
    },
    "default": {
        "certifi": {
            "hashes": ["sha256:0569859f95fc761b18b45ef421b1290a0f65f147e92a1e5eb3e635f9a5e4e66f"],
            "index": "pypi",
            "markers": "python_version >= '3.6'",
            "version": "==2024.2.2"
        },
        "requests": {"hashes": [], "index": "pypi", "version": "==2.31.0"},
        "myapp": {"editable": true, "path": "."},
        "tool": {"git": "https://github.com/org/tool.git", "ref": "0123abc"},
        "weird": {"version": "*"},
        "legacy": {"version": "===1.0-custom"}
    },
    "develop": {
        "pytest": {"hashes": [], "version": "==8.1.1"},
        "certifi": {"hashes": [], "version": "==2024.2.2"}
    }
}"#;
        let got = run(text).unwrap();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        assert_eq!(
            got_sorted,
            vec![
                ("certifi".to_string(), "2024.2.2".to_string()),
                ("legacy".to_string(), "1.0-custom".to_string()),
                ("pytest".to_string(), "8.1.1".to_string()),
                ("requests".to_string(), "2.31.0".to_string()),
            ]
        );
    }

    #[test]
    fn bad_input() {
        let e = run("{\n  \"default\": {\n    \"a\": {\"version\": \"==1\"},\n  }\n}").unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert!(run("[1, 2]").is_err());
        assert_eq!(
            run("{\"default\": [], \"develop\": {\"x\": 1}}").unwrap(),
            vec![]
        );
        assert!(
            PythonPipenv
                .catalog(&file("Pipfile.lock"), &[0xff, 0x00, 0x7b])
                .is_err()
        );
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(run(&deep).is_err());
    }
}
