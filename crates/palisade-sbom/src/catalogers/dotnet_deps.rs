//! `*.deps.json`: the dependency manifest `dotnet publish` writes next to a .NET
//! application's assemblies, so it describes what was deployed. Each `libraries` entry is
//! keyed `Name/Version`; only `"type": "package"` entries are NuGet packages (`project`
//! entries are the application's own projects, `reference` ones plain assembly references).
//!
//! Like Trivy 0.59.1, a package that the runtime target lists without any `runtime`,
//! `runtimeTargets` or `native` assets is skipped: it contributes nothing at run time
//! (analyzers, build-only tools). When the file has no entry for the runtime target, every
//! package is reported.

use serde_json::{Map, Value};

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Ecosystem, Package};

pub struct DotnetDeps;

impl Cataloger for DotnetDeps {
    fn name(&self) -> &'static str {
        "dotnet-deps"
    }

    fn applies_to(&self, _kind: TargetKind) -> bool {
        true
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        file.file_name().ends_with(".deps.json")
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        // Files written on Windows may start with a byte-order mark.
        let content = content.strip_prefix(b"\xef\xbb\xbf").unwrap_or(content);
        let doc: Value = serde_json::from_slice(content).map_err(|e| {
            CatalogError::at_line(u32::try_from(e.line()).unwrap_or(u32::MAX), e.to_string())
        })?;
        let Some(doc) = doc.as_object() else {
            return Err(CatalogError::new("deps.json is not a JSON object"));
        };
        let Some(libraries) = doc.get("libraries").and_then(Value::as_object) else {
            return Ok(Vec::new());
        };
        let target: Option<&Map<String, Value>> = doc
            .get("runtimeTarget")
            .and_then(|t| t.get("name"))
            .and_then(Value::as_str)
            .and_then(|name| doc.get("targets")?.get(name)?.as_object());
        let mut out = Vec::new();
        for (key, lib) in libraries {
            let is_package = lib
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("package"));
            if !is_package {
                continue;
            }
            let Some((name, version)) = key.split_once('/') else {
                continue;
            };
            if name.is_empty() || version.is_empty() {
                continue;
            }
            if let Some(target) = target
                && let Some(entry) = target.get(key)
                && !["runtime", "runtimeTargets", "native"]
                    .iter()
                    .any(|k| entry.get(k).is_some_and(|v| !v.is_null()))
            {
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
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Result<Vec<(String, String)>, CatalogError> {
        let file = FileInfo {
            path: "app/MyApp.deps.json",
            size: text.len() as u64,
            mode: 0o644,
        };
        // JSON object order depends on serde_json's features: compare sorted.
        let mut v: Vec<_> = DotnetDeps
            .catalog(&file, text.as_bytes())?
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect();
        v.sort();
        Ok(v)
    }

    const DEPS: &str = r#"{
  "runtimeTarget": {"name": ".NETCoreApp,Version=v8.0/linux-x64", "signature": ""},
  "compilationOptions": {},
  "targets": {
    ".NETCoreApp,Version=v8.0": {},
    ".NETCoreApp,Version=v8.0/linux-x64": {
      "MyApp/1.0.0": {
        "dependencies": {"Newtonsoft.Json": "13.0.1", "Microsoft.CodeAnalysis.Analyzers": "3.3.4"},
        "runtime": {"MyApp.dll": {}}
      },
      "Newtonsoft.Json/13.0.1": {"runtime": {"lib/net6.0/Newtonsoft.Json.dll": {"assemblyVersion": "13.0.0.0"}}},
      "SQLitePCLRaw.lib.e_sqlite3/2.1.6": {"native": {"runtimes/linux-x64/native/libe_sqlite3.so": {}}},
      "Microsoft.CodeAnalysis.Analyzers/3.3.4": {},
      "System.Text.Json/8.0.0": {"runtimeTargets": {"x": {}}}
    }
  },
  "libraries": {
    "MyApp/1.0.0": {"type": "project", "serviceable": false, "sha512": ""},
    "Newtonsoft.Json/13.0.1": {"type": "package", "serviceable": true, "sha512": "sha512-x", "path": "newtonsoft.json/13.0.1"},
    "SQLitePCLRaw.lib.e_sqlite3/2.1.6": {"type": "package"},
    "Microsoft.CodeAnalysis.Analyzers/3.3.4": {"type": "package"},
    "System.Text.Json/8.0.0": {"type": "Package"},
    "Not.In.Target/1.2.3": {"type": "package"},
    "Some.Reference/4.0.0.0": {"type": "reference"},
    "NoVersion": {"type": "package"}
  }
}"#;

    #[test]
    fn reads_runtime_packages() {
        let got = run(DEPS).unwrap();
        let mut want: Vec<(String, String)> = [
            ("Newtonsoft.Json", "13.0.1"),
            ("SQLitePCLRaw.lib.e_sqlite3", "2.1.6"),
            ("System.Text.Json", "8.0.0"),
            ("Not.In.Target", "1.2.3"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        want.sort();
        assert_eq!(got, want);
        // Without the runtime target's entry, every package counts.
        let no_target = DEPS.replace("v8.0/linux-x64\", \"signature", "v9.0\", \"signature");
        assert_eq!(run(&no_target).unwrap().len(), 5);
        // With a byte-order mark.
        assert_eq!(run(&format!("\u{feff}{DEPS}")).unwrap(), want);
    }

    #[test]
    fn bad_input() {
        assert_eq!(run("{\n\"libraries\": {\n,}").unwrap_err().line, Some(3));
        assert!(run("[]").is_err());
        assert!(run("{}").unwrap().is_empty());
        assert!(
            run(r#"{"libraries": {"a/1": 5, "b/2": {"type": 1}}}"#)
                .unwrap()
                .is_empty()
        );
        assert!(DotnetDeps.applies_to(TargetKind::Image));
        assert!(DotnetDeps.wants(&FileInfo {
            path: "app/MyApp.deps.json",
            size: 1,
            mode: 0
        }));
        assert!(!DotnetDeps.wants(&FileInfo {
            path: "app/MyApp.runtimeconfig.json",
            size: 1,
            mode: 0
        }));
    }
}
