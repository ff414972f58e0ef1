//! NuGet `packages.lock.json` (lock file versions 1 and 2): `dependencies` maps each target
//! framework to packages, `name → {type, requested, resolved, …}`. Every `Direct`,
//! `Transitive` and `CentralTransitive` package is reported with its `resolved` version;
//! `Project` entries are the solution's own projects and are skipped. A package locked for
//! several frameworks at one version is one package.
//!
//! Only for directories: a published application carries `*.deps.json` instead, which the
//! `dotnet-deps` cataloger reads.

use serde_json::Value;

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Ecosystem, Package};

pub struct DotnetPackagesLock;

impl Cataloger for DotnetPackagesLock {
    fn name(&self) -> &'static str {
        "dotnet-packages-lock"
    }

    fn applies_to(&self, kind: TargetKind) -> bool {
        kind == TargetKind::Filesystem
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        file.file_name() == "packages.lock.json"
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let content = content.strip_prefix(b"\xef\xbb\xbf").unwrap_or(content);
        let doc: Value = serde_json::from_slice(content).map_err(|e| {
            CatalogError::at_line(u32::try_from(e.line()).unwrap_or(u32::MAX), e.to_string())
        })?;
        let Some(frameworks) = doc.get("dependencies") else {
            return if doc.is_object() {
                Ok(Vec::new())
            } else {
                Err(CatalogError::new("packages.lock.json is not a JSON object"))
            };
        };
        let Some(frameworks) = frameworks.as_object() else {
            return Err(CatalogError::new("`dependencies` is not an object"));
        };
        let mut out: Vec<Package> = Vec::new();
        for deps in frameworks.values() {
            let Some(deps) = deps.as_object() else {
                continue;
            };
            for (name, dep) in deps {
                let kind = dep.get("type").and_then(Value::as_str).unwrap_or("");
                if kind.eq_ignore_ascii_case("project") {
                    continue;
                }
                let Some(version) = dep
                    .get("resolved")
                    .and_then(Value::as_str)
                    .filter(|v| !v.is_empty())
                else {
                    continue;
                };
                if name.is_empty() || out.iter().any(|p| &p.name == name && p.version == version) {
                    continue;
                }
                out.push(Package::new(
                    Ecosystem::NuGet,
                    name,
                    version,
                    file.path,
                    self.name(),
                ));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Result<Vec<(String, String)>, CatalogError> {
        let file = FileInfo {
            path: "src/App/packages.lock.json",
            size: text.len() as u64,
            mode: 0o644,
        };
        let mut v: Vec<_> = DotnetPackagesLock
            .catalog(&file, text.as_bytes())?
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect();
        v.sort();
        Ok(v)
    }

    #[test]
    fn reads_every_framework_once() {
        let text = r#"{
  "version": 2,
  "dependencies": {
    "net6.0": {
      "Newtonsoft.Json": {"type": "Direct", "requested": "[13.0.1, )", "resolved": "13.0.1", "contentHash": "x"},
      "System.Memory": {"type": "Transitive", "resolved": "4.5.5"},
      "Serilog": {"type": "CentralTransitive", "requested": "[3.0.0, )", "resolved": "3.1.1"},
      "App.Core": {"type": "Project", "dependencies": {"Newtonsoft.Json": "[13.0.1, )"}},
      "NoResolved": {"type": "Direct", "requested": "[1.0.0, )"}
    },
    "net8.0": {
      "Newtonsoft.Json": {"type": "Direct", "requested": "[13.0.1, )", "resolved": "13.0.1"},
      "System.Memory": {"type": "Transitive", "resolved": "4.5.4"}
    }
  }
}"#;
        let want: Vec<(String, String)> = [
            ("Newtonsoft.Json", "13.0.1"),
            ("Serilog", "3.1.1"),
            ("System.Memory", "4.5.4"),
            ("System.Memory", "4.5.5"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(run(text).unwrap(), want);
    }

    #[test]
    fn bad_input() {
        assert_eq!(
            run("{\n \"dependencies\": {\n  \"net6.0\": [,\n}")
                .unwrap_err()
                .line,
            Some(3)
        );
        assert!(run("[]").is_err());
        assert!(run(r#"{"dependencies": 1}"#).is_err());
        assert!(run(r#"{"version": 1}"#).unwrap().is_empty());
        assert!(
            run(r#"{"dependencies": {"net6.0": 1, "net7.0": {"A": 1, "B": {"resolved": 2}}}}"#)
                .unwrap()
                .is_empty()
        );
        assert!(!DotnetPackagesLock.applies_to(TargetKind::Image));
    }
}
