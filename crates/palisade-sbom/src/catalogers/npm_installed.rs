//! Installed npm packages: the `package.json` at the root of each package in a
//! `node_modules` folder (`node_modules/express/package.json`,
//! `node_modules/@babel/core/package.json`, `node_modules/send/node_modules/ms/package.json`,
//! pnpm's `node_modules/.pnpm/ms@2.1.3/node_modules/ms/package.json`).
//!
//! Other `package.json` files inside an installed package — `lib/package.json` helpers
//! that only set `"type": "module"`, test fixtures — are not installs and are not read.
//!
//! A `package.json` outside any `node_modules` folder is an application or a workspace
//! package (`/app/package.json` in an image). It is reported when it has a name and a
//! version, as Syft and Trivy do on images (on kitchen-sink both report the app
//! `shop-frontend` 1.0.0 beside its 52 installed dependencies); without both it is a
//! project manifest only and yields nothing.
//!
//! Licence: `license` as a string (an SPDX expression) or the legacy `{"type": …}` object,
//! or the legacy `licenses` array of either.

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Ecosystem, Package};

pub struct NpmInstalled;

impl Cataloger for NpmInstalled {
    fn name(&self) -> &'static str {
        "npm-installed"
    }

    /// Installed evidence: counts in images and in directories alike.
    fn applies_to(&self, _kind: TargetKind) -> bool {
        true
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        file.file_name() == "package.json" && is_package_root(file.path)
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let content = content.strip_prefix(b"\xef\xbb\xbf").unwrap_or(content);
        let doc: serde_json::Value = serde_json::from_slice(content).map_err(|e| {
            CatalogError::at_line(
                u32::try_from(e.line()).unwrap_or(u32::MAX),
                format!("invalid JSON: {e}"),
            )
        })?;
        let Some(obj) = doc.as_object() else {
            return Err(CatalogError::new("package.json is not a JSON object"));
        };
        let name = obj
            .get("name")
            .and_then(|v| v.as_str())
            .map(str::trim)
            .unwrap_or("");
        let version = obj
            .get("version")
            .and_then(|v| v.as_str())
            .map(str::trim)
            .unwrap_or("");
        // npm cannot publish or install a package without both; a manifest without them
        // is a project that is not a package.
        if name.is_empty() || version.is_empty() {
            return Ok(Vec::new());
        }
        let mut p = Package::new(Ecosystem::Npm, name, version, file.path, self.name());
        p.licenses = licenses(obj);
        Ok(vec![p])
    }
}

/// A `package.json` directly in `node_modules/<name>/` or `node_modules/@scope/<name>/`
/// (under the last `node_modules` of the path), or any one outside `node_modules`.
fn is_package_root(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let Some(nm) = parts.iter().rposition(|p| *p == "node_modules") else {
        return true;
    };
    match &parts[nm + 1..] {
        [name, "package.json"] => !name.is_empty() && !name.starts_with(['.', '@']),
        [scope, name, "package.json"] => {
            scope.len() > 1 && scope.starts_with('@') && !name.is_empty() && !name.starts_with('.')
        }
        _ => false,
    }
}

fn licenses(obj: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in ["license", "licenses"] {
        match obj.get(key) {
            Some(serde_json::Value::Array(items)) => {
                items.iter().for_each(|v| push_license(&mut out, v))
            }
            Some(v) => push_license(&mut out, v),
            None => {}
        }
        // `licenses` is the legacy spelling: only read when `license` says nothing.
        if !out.is_empty() {
            break;
        }
    }
    out
}

fn push_license(out: &mut Vec<String>, v: &serde_json::Value) {
    let s = match v {
        serde_json::Value::String(s) => s.trim(),
        serde_json::Value::Object(o) => o.get("type").and_then(|t| t.as_str()).unwrap_or("").trim(),
        _ => "",
    };
    if !s.is_empty() && !out.iter().any(|l| l == s) {
        out.push(s.to_string());
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

    fn run(path: &str, content: &str) -> Result<Vec<Package>, CatalogError> {
        NpmInstalled.catalog(&file(path), content.as_bytes())
    }

    #[test]
    fn wants_package_roots_only() {
        let c = NpmInstalled;
        for p in [
            "app/node_modules/express/package.json",
            "node_modules/express/package.json",
            "app/node_modules/@babel/core/package.json",
            "app/node_modules/send/node_modules/ms/package.json",
            "app/node_modules/.pnpm/ms@2.1.3/node_modules/ms/package.json",
            "usr/local/lib/node_modules/npm/package.json",
            "app/package.json",
            "package.json",
        ] {
            assert!(c.wants(&file(p)), "{p}");
        }
        for p in [
            "app/node_modules/express/lib/package.json",
            "app/node_modules/resolve/test/fixtures/package.json",
            "app/node_modules/@babel/package.json",
            "app/node_modules/.bin/package.json",
            "app/node_modules/package.json",
            "app/node_modules/.package-lock.json",
            "app/node_modules/express/index.js",
            "app/node_modules/@/x/package.json",
            "app/package.json.bak",
        ] {
            assert!(!c.wants(&file(p)), "{p}");
        }
        assert!(c.applies_to(TargetKind::Image) && c.applies_to(TargetKind::Filesystem));
    }

    #[test]
    fn reads_name_version_and_licence_forms() {
        let p = &run(
            "app/node_modules/@babel/core/package.json",
            r#"{"name": "@babel/core", "version": "7.24.0", "license": "MIT", "description": "Babel compiler core."}"#,
        )
        .unwrap()[0];
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("@babel/core", "7.24.0")
        );
        assert_eq!(p.ecosystem, Ecosystem::Npm);
        assert_eq!(p.licenses, vec!["MIT"]);
        assert_eq!(p.found_by, "npm-installed");
        assert_eq!(
            p.locations[0].path,
            "app/node_modules/@babel/core/package.json"
        );

        let obj = r#"{"name": "old", "version": "1.0.0", "license": {"type": "BSD-3-Clause", "url": "https://x"}}"#;
        assert_eq!(
            run("node_modules/old/package.json", obj).unwrap()[0].licenses,
            vec!["BSD-3-Clause"]
        );
        let legacy = r#"{"name": "older", "version": "0.2.0", "licenses": [{"type": "MIT", "url": "u"}, {"type": "Apache-2.0"}, "GPL-2.0"]}"#;
        assert_eq!(
            run("node_modules/older/package.json", legacy).unwrap()[0].licenses,
            vec!["MIT", "Apache-2.0", "GPL-2.0"]
        );
        let expr = r#"{"name": "dual", "version": "3.0.0", "license": "(MIT OR Apache-2.0)"}"#;
        assert_eq!(
            run("node_modules/dual/package.json", expr).unwrap()[0].licenses,
            vec!["(MIT OR Apache-2.0)"]
        );
        let none = r#"{"name": "nolic", "version": "1.0.0", "license": 7}"#;
        assert!(
            run("node_modules/nolic/package.json", none).unwrap()[0]
                .licenses
                .is_empty()
        );
    }

    #[test]
    fn aliases_report_the_real_package() {
        // `npm i string-width-cjs@npm:string-width@4.2.3` installs the real package under
        // the alias' folder; its manifest names the real package.
        let got = run(
            "node_modules/string-width-cjs/package.json",
            r#"{"name": "string-width", "version": "4.2.3"}"#,
        )
        .unwrap();
        assert_eq!(got[0].name, "string-width");
    }

    #[test]
    fn manifests_without_name_or_version_yield_nothing() {
        assert!(
            run(
                "app/package.json",
                r#"{"name": "app", "private": true, "scripts": {}}"#
            )
            .unwrap()
            .is_empty()
        );
        assert!(
            run("app/package.json", r#"{"version": "1.0.0"}"#)
                .unwrap()
                .is_empty()
        );
        assert!(
            run(
                "node_modules/x/package.json",
                r#"{"name": "", "version": "1"}"#
            )
            .unwrap()
            .is_empty()
        );
        assert!(
            run(
                "node_modules/x/package.json",
                r#"{"name": 3, "version": "1"}"#
            )
            .unwrap()
            .is_empty()
        );
        let app = run(
            "app/package.json",
            r#"{ "name": "shop-frontend", "version": "1.0.0", "private": true }"#,
        )
        .unwrap();
        assert_eq!(app[0].name, "shop-frontend");
    }

    #[test]
    fn bad_input() {
        let e = run(
            "node_modules/x/package.json",
            "{\n  \"name\": \"x\",\n  \"version\": 1.0.0\n}",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(run("node_modules/x/package.json", "[]").is_err());
        assert!(run("node_modules/x/package.json", "").is_err());
        assert!(
            NpmInstalled
                .catalog(&file("node_modules/x/package.json"), b"\xff\xfe{}")
                .is_err()
        );
        let bom = "\u{feff}{\"name\": \"b\", \"version\": \"1.0.0\"}";
        assert_eq!(run("node_modules/b/package.json", bom).unwrap().len(), 1);
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(run("node_modules/x/package.json", &deep).is_err());
    }
}
