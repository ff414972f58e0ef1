//! uv's lockfile, `uv.lock`: TOML with `version`, `requires-python`, then one
//! `[[package]]` table per locked distribution with `name`, `version` and `source`
//! (`{ registry = "…" }`, `{ git = "…" }`, `{ url = "…" }`, `{ path = "…" }`,
//! `{ directory = "…" }`, `{ editable = "…" }` or `{ virtual = "…" }`).
//!
//! The project being locked is listed too: `source = { editable = "." }` for a package
//! project, `source = { virtual = "." }` for a project that is not a package. It is the
//! code under scan, not a dependency, so it is skipped; so is every `virtual` source
//! (workspace members that are not packages: nothing is installed from them). Entries
//! without a `version` (a local project whose version is dynamic) cannot be reported and are
//! skipped.

use std::collections::HashSet;

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Ecosystem, Package};

pub struct PythonUv;

impl Cataloger for PythonUv {
    fn name(&self) -> &'static str {
        "python-uv"
    }

    /// A lockfile: directories only, images report what is installed.
    fn applies_to(&self, kind: TargetKind) -> bool {
        kind == TargetKind::Filesystem
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        file.file_name() == "uv.lock"
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let text = std::str::from_utf8(content)
            .map_err(|e| CatalogError::new(format!("not UTF-8 text: {e}")))?;
        let table: toml::Table = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        let Some(entries) = table.get("package") else {
            return Ok(Vec::new());
        };
        let Some(entries) = entries.as_array() else {
            return Err(CatalogError::new("`package` is not an array of tables"));
        };
        let mut packages: Vec<Package> = Vec::new();
        let mut seen: HashSet<(String, String)> = HashSet::new();
        let mut first_error: Option<CatalogError> = None;
        for (i, entry) in entries.iter().enumerate() {
            let source = entry.get("source").and_then(|s| s.as_table());
            let is_project = source.is_some_and(|s| {
                s.contains_key("virtual") || s.get("editable").and_then(|v| v.as_str()) == Some(".")
            });
            if is_project {
                continue;
            }
            let Some(name) = entry
                .get("name")
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
            else {
                first_error.get_or_insert_with(|| {
                    CatalogError::new(format!("[[package]] number {} has no string `name`", i + 1))
                });
                continue;
            };
            let Some(version) = entry
                .get("version")
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
            else {
                continue;
            };
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
        match first_error {
            Some(e) if packages.is_empty() => Err(e),
            _ => Ok(packages),
        }
    }
}

/// A TOML syntax error with the line it points at.
fn toml_error(text: &str, e: &toml::de::Error) -> CatalogError {
    let message = format!("invalid TOML: {}", e.message());
    match e.span() {
        Some(span) => {
            let upto = &text.as_bytes()[..span.start.min(text.len())];
            let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
            CatalogError::at_line(u32::try_from(line).unwrap_or(u32::MAX), message)
        }
        None => CatalogError::new(message),
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
        PythonUv
            .catalog(&file("uv.lock"), content.as_bytes())
            .map(|ps| ps.into_iter().map(|p| (p.name, p.version)).collect())
    }

    #[test]
    fn wants_and_applies() {
        assert!(PythonUv.wants(&file("uv.lock")));
        assert!(PythonUv.wants(&file("services/api/uv.lock")));
        assert!(!PythonUv.wants(&file("uv.lock.orig")));
        assert!(!PythonUv.wants(&file("uv.toml")));
        assert!(!PythonUv.applies_to(TargetKind::Image));
    }

    #[test]
    fn reads_packages_and_skips_the_project() {
        let text = r#"version = 1
revision = 2
requires-python = ">=3.12"

[[package]]
name = "anyio"
version = "4.4.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [
    { name = "idna" },
    { name = "sniffio" },
]
sdist = { url = "https://files.pythonhosted.org/packages/anyio-4.4.0.tar.gz", hash = "sha256:5aadc6a1bbb7cdb0bede386cac5e2940f5e2ff3aa20277e991cf028e0585ce94", size = 163930 }
wheels = [
    { url = "https://files.pythonhosted.org/packages/anyio-4.4.0-py3-none-any.whl", hash = "sha256:c1b2d8f46a8a812513012e1107cb0e68c17159a7a594208005a57dc776e1bdc7", size = 86780 },
]

[[package]]
name = "idna"
version = "3.7"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "my-service"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "anyio" }]

[package.metadata]
requires-dist = [{ name = "anyio", specifier = ">=4" }]

[[package]]
name = "tools"
version = "0.0.0"
source = { virtual = "tools" }

[[package]]
name = "shared-lib"
version = "1.2.0"
source = { editable = "../shared-lib" }

[[package]]
name = "httpx"
version = "0.28.0.dev0"
source = { git = "https://github.com/encode/httpx?rev=abc#abc" }

[[package]]
name = "dynamic-one"
source = { directory = "libs/dynamic-one" }
"#;
        assert_eq!(
            run(text).unwrap(),
            vec![
                ("anyio".to_string(), "4.4.0".to_string()),
                ("idna".to_string(), "3.7".to_string()),
                ("shared-lib".to_string(), "1.2.0".to_string()),
                ("httpx".to_string(), "0.28.0.dev0".to_string()),
            ]
        );
        // A virtual root project alone: nothing.
        assert_eq!(run("version = 1\n[[package]]\nname = \"x\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\n").unwrap(), vec![]);
    }

    #[test]
    fn bad_input() {
        let e = run("version = 1\n\n[[package]\nname = \"a\"\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(run("[[package]]\nversion = \"1\"\n").is_err());
        assert!(run("package = \"x\"\n").is_err());
        assert!(PythonUv.catalog(&file("uv.lock"), b"\xff\xfe").is_err());
    }
}
