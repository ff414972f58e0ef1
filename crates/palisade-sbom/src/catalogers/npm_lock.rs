//! npm's lockfile, `package-lock.json` (and `npm-shrinkwrap.json`, the same format shipped
//! inside a package).
//!
//! - `lockfileVersion` 2 and 3 (npm 7+): a `packages` map keyed by install path —
//!   `""` is the project itself, `node_modules/a`, `node_modules/a/node_modules/b`,
//!   `node_modules/@scope/c`. The name is the key's part after its last `node_modules/`,
//!   unless the entry gives `name` (aliases: `node_modules/foo` installed from
//!   `npm:bar@1.0.0` has `"name": "bar"`). Keys without `node_modules/` are the root or
//!   workspace members and local folders: the project's own code, skipped; so are
//!   `"link": true` entries (a symlink to such a folder).
//! - `lockfileVersion` 1 (npm 5/6): a nested `dependencies` tree, keyed by name, each
//!   with `version` and maybe its own `dependencies`. Aliases write `"version":
//!   "npm:bar@1.0.0"`; local folders `"version": "file:../x"` (skipped).
//!   A version 2 file has both forms; `packages` is read then.
//!
//! Dev and optional packages are reported like the others (Syft does; Trivy hides dev
//! packages unless asked).

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Ecosystem, Package};

pub struct NpmLock;

/// Deepest `dependencies` nesting followed in a version 1 lock (the JSON reader already
/// refuses documents nested beyond 128 levels).
const MAX_DEPTH: usize = 64;

impl Cataloger for NpmLock {
    fn name(&self) -> &'static str {
        "npm-lock"
    }

    /// A lockfile: directories only, images report what is installed.
    fn applies_to(&self, kind: TargetKind) -> bool {
        kind == TargetKind::Filesystem
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        let name = file.file_name();
        (name == "package-lock.json" || name == "npm-shrinkwrap.json")
            && !file.path.contains("node_modules/")
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let doc: serde_json::Value = serde_json::from_slice(content).map_err(|e| {
            CatalogError::at_line(
                u32::try_from(e.line()).unwrap_or(u32::MAX),
                format!("invalid JSON: {e}"),
            )
        })?;
        if !doc.is_object() {
            return Err(CatalogError::new("package-lock.json is not a JSON object"));
        }
        let mut out = Found::default();
        if let Some(packages) = doc.get("packages").and_then(|p| p.as_object()) {
            for (key, entry) in packages {
                from_packages_entry(key, entry, &mut out);
            }
        } else if let Some(deps) = doc.get("dependencies").and_then(|d| d.as_object()) {
            let mut stack: Vec<(&serde_json::Map<String, serde_json::Value>, usize)> =
                vec![(deps, 0)];
            while let Some((deps, depth)) = stack.pop() {
                for (name, entry) in deps {
                    from_v1_entry(name, entry, &mut out);
                    if let Some(nested) = entry.get("dependencies").and_then(|d| d.as_object())
                        && depth + 1 < MAX_DEPTH
                    {
                        stack.push((nested, depth + 1));
                    }
                }
            }
        }
        Ok(out
            .list
            .into_iter()
            .map(|(name, version, license)| {
                let mut p = Package::new(Ecosystem::Npm, name, version, file.path, self.name());
                p.licenses.extend(license);
                p
            })
            .collect())
    }
}

/// Packages found so far, without duplicates (a package installed at several paths is
/// one package).
#[derive(Default)]
struct Found {
    list: Vec<(String, String, Option<String>)>,
    seen: std::collections::HashSet<(String, String)>,
}

impl Found {
    fn add(&mut self, name: &str, version: &str, license: Option<&str>) {
        let name = name.trim();
        let version = version.trim();
        if name.is_empty() || version.is_empty() {
            return;
        }
        if self.seen.insert((name.to_string(), version.to_string())) {
            self.list.push((
                name.to_string(),
                version.to_string(),
                license.map(str::to_string),
            ));
        }
    }
}

fn from_packages_entry(key: &str, entry: &serde_json::Value, out: &mut Found) {
    let Some((_, installed_as)) = key.rsplit_once("node_modules/") else {
        // "" (the project), workspace members, local folders.
        return;
    };
    if entry.get("link").and_then(|l| l.as_bool()) == Some(true) {
        return;
    }
    let name = entry
        .get("name")
        .and_then(|n| n.as_str())
        .unwrap_or(installed_as);
    let Some(version) = entry.get("version").and_then(|v| v.as_str()) else {
        // npm records a version for everything it installs from a registry, git or a
        // tarball; an entry without one is not an install.
        return;
    };
    if version.starts_with("file:") || version.starts_with("link:") {
        return;
    }
    out.add(name, version, license_of(entry));
}

fn from_v1_entry(name: &str, entry: &serde_json::Value, out: &mut Found) {
    let Some(version) = entry.get("version").and_then(|v| v.as_str()) else {
        return;
    };
    if version.starts_with("file:") || version.starts_with("link:") {
        return;
    }
    // `"string-width-cjs": {"version": "npm:string-width@4.2.3"}`
    if let Some(alias) = version.strip_prefix("npm:") {
        if let Some((real, v)) = split_name_at(alias) {
            out.add(real, v, None);
        }
        return;
    }
    out.add(name, version, None);
}

/// `@scope/name@1.0.0` → (`@scope/name`, `1.0.0`).
fn split_name_at(s: &str) -> Option<(&str, &str)> {
    let at = s.get(1..)?.find('@')? + 1;
    Some((&s[..at], &s[at + 1..]))
}

fn license_of(entry: &serde_json::Value) -> Option<&str> {
    match entry.get("license")? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim()),
        serde_json::Value::Object(o) => o
            .get("type")
            .and_then(|t| t.as_str())
            .filter(|s| !s.is_empty()),
        _ => None,
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
        let mut v: Vec<(String, String)> = NpmLock
            .catalog(&file("package-lock.json"), content.as_bytes())?
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect();
        v.sort();
        Ok(v)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn wants_and_applies() {
        assert!(NpmLock.wants(&file("package-lock.json")));
        assert!(NpmLock.wants(&file("web/npm-shrinkwrap.json")));
        // The hidden lockfile npm keeps inside node_modules and locks shipped inside
        // installed packages describe installs, not this project's lock.
        assert!(!NpmLock.wants(&file("node_modules/.package-lock.json")));
        assert!(!NpmLock.wants(&file("node_modules/foo/package-lock.json")));
        assert!(!NpmLock.wants(&file("package.json")));
        assert!(!NpmLock.applies_to(TargetKind::Image));
        assert!(NpmLock.applies_to(TargetKind::Filesystem));
    }

    #[test]
    fn reads_v3_packages_map() {
        let text = r#"{
  "name": "shop",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {"name": "shop", "version": "1.0.0", "workspaces": ["packages/*"], "dependencies": {"express": "4.17.1"}},
    "node_modules/express": {"version": "4.17.1", "resolved": "https://registry.npmjs.org/express/-/express-4.17.1.tgz", "integrity": "sha512-x", "license": "MIT"},
    "node_modules/send/node_modules/ms": {"version": "2.1.1", "license": "MIT"},
    "node_modules/ms": {"version": "2.0.0", "dev": true},
    "node_modules/@babel/core": {"version": "7.24.0", "dev": true, "license": {"type": "MIT"}},
    "node_modules/string-width-cjs": {"name": "string-width", "version": "4.2.3"},
    "node_modules/@shop/ui": {"resolved": "packages/ui", "link": true},
    "packages/ui": {"name": "@shop/ui", "version": "0.1.0"},
    "packages/ui/node_modules/lodash": {"version": "4.17.21"},
    "node_modules/fsevents": {"version": "2.3.3", "optional": true, "os": ["darwin"]},
    "node_modules/odd": {"resolved": "https://example.com/odd.tgz"},
    "node_modules/local": {"version": "file:../local"}
  }
}"#;
        assert_eq!(
            run(text).unwrap(),
            pairs(&[
                ("@babel/core", "7.24.0"),
                ("express", "4.17.1"),
                ("fsevents", "2.3.3"),
                ("lodash", "4.17.21"),
                ("ms", "2.0.0"),
                ("ms", "2.1.1"),
                ("string-width", "4.2.3"),
            ])
        );
        let ps = NpmLock
            .catalog(&file("package-lock.json"), text.as_bytes())
            .unwrap();
        let licence = |n: &str| ps.iter().find(|p| p.name == n).unwrap().licenses.clone();
        assert_eq!(licence("express"), vec!["MIT"]);
        assert_eq!(licence("@babel/core"), vec!["MIT"]);
        assert!(licence("fsevents").is_empty());
    }

    #[test]
    fn reads_v1_nested_tree_and_prefers_packages_in_v2() {
        let v1 = r#"{
  "name": "legacy", "version": "0.0.1", "lockfileVersion": 1, "requires": true,
  "dependencies": {
    "debug": {"version": "2.6.9", "resolved": "https://registry.npmjs.org/debug/-/debug-2.6.9.tgz",
      "requires": {"ms": "2.0.0"},
      "dependencies": {"ms": {"version": "2.0.0"}}},
    "ms": {"version": "2.1.3"},
    "@types/node": {"version": "20.11.30", "dev": true},
    "strip-ansi-cjs": {"version": "npm:strip-ansi@6.0.1"},
    "@alias/x": {"version": "npm:@scope/real@1.2.3"},
    "mine": {"version": "file:packages/mine"},
    "gitdep": {"version": "git+https://github.com/org/gitdep.git#0123456789abcdef", "from": "git+https://github.com/org/gitdep.git"},
    "broken": {"requires": {}},
    "send": {"version": "0.17.1", "dependencies": {"ms": {"version": "2.1.1", "dependencies": {"deep": {"version": "1.0.0"}}}}}
  }
}"#;
        assert_eq!(
            run(v1).unwrap(),
            pairs(&[
                ("@scope/real", "1.2.3"),
                ("@types/node", "20.11.30"),
                ("debug", "2.6.9"),
                ("deep", "1.0.0"),
                (
                    "gitdep",
                    "git+https://github.com/org/gitdep.git#0123456789abcdef"
                ),
                ("ms", "2.0.0"),
                ("ms", "2.1.1"),
                ("ms", "2.1.3"),
                ("send", "0.17.1"),
                ("strip-ansi", "6.0.1"),
            ])
        );
        let v2 = r#"{"lockfileVersion": 2,
  "packages": {"": {"name": "x"}, "node_modules/a": {"version": "1.0.0"}},
  "dependencies": {"a": {"version": "1.0.0"}, "stale": {"version": "9.9.9"}}}"#;
        assert_eq!(run(v2).unwrap(), pairs(&[("a", "1.0.0")]));
    }

    #[test]
    fn bad_input() {
        let e = run("{\n  \"packages\": {\n    \"node_modules/a\": {\"version\": \"1\"\n  }\n")
            .unwrap_err();
        assert!(e.line.is_some(), "{e}");
        assert!(run("[]").is_err());
        assert_eq!(run("{}").unwrap(), vec![]);
        assert_eq!(run(r#"{"packages": {"node_modules/a": 1, "node_modules/b": {"version": 2}}, "dependencies": 3}"#).unwrap(), vec![]);
        assert!(
            NpmLock
                .catalog(&file("package-lock.json"), b"\xff{")
                .is_err()
        );
        // Nested as deep as the JSON reader allows: no stack overflow.
        let deep = format!(
            "{{\"dependencies\": {}{{}}{}}}",
            "{\"a\": {\"version\": \"1\", \"dependencies\": ".repeat(60),
            "}}".repeat(60)
        );
        assert_eq!(run(&deep).unwrap(), pairs(&[("a", "1")]));
    }
}
