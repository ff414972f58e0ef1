//! `composer.lock` (PHP): the `packages` array, each with `name` (`vendor/name`),
//! `version` as Composer writes it (`v5.4.47`, `1.5.12`) and `license` (an array of SPDX
//! identifiers, or a single string in old files).
//!
//! `packages-dev` is not reported, like Syft 1.18.1 and Trivy 0.59.1 (both give 30 packages
//! for the corpus lockfile, which also lists 6 dev packages): production installs run
//! `composer install --no-dev`, so in images those packages are usually absent and would
//! only bring false matches.
//!
//! Runs on images as well as directories: PHP application images ship the lockfile next to
//! `vendor/`, and Trivy reports it there.

use serde_json::Value;

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Ecosystem, Package};

pub struct ComposerLock;

impl Cataloger for ComposerLock {
    fn name(&self) -> &'static str {
        "composer-lock"
    }

    fn applies_to(&self, _kind: TargetKind) -> bool {
        true
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        file.file_name() == "composer.lock"
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let doc: Value = serde_json::from_slice(content).map_err(|e| {
            CatalogError::at_line(u32::try_from(e.line()).unwrap_or(u32::MAX), e.to_string())
        })?;
        let Some(obj) = doc.as_object() else {
            return Err(CatalogError::new("composer.lock is not a JSON object"));
        };
        let packages = match obj.get("packages") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(a)) => a,
            Some(_) => return Err(CatalogError::new("`packages` is not an array")),
        };
        let mut out = Vec::new();
        for p in packages {
            let field = |k: &str| p.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
            let (Some(name), Some(version)) = (field("name"), field("version")) else {
                continue;
            };
            let mut pkg = Package::new(Ecosystem::Packagist, name, version, file.path, self.name());
            pkg.licenses = match p.get("license") {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
                _ => Vec::new(),
            };
            out.push(pkg);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Result<Vec<Package>, CatalogError> {
        let file = FileInfo {
            path: "app/composer.lock",
            size: text.len() as u64,
            mode: 0o644,
        };
        ComposerLock.catalog(&file, text.as_bytes())
    }

    #[test]
    fn reads_packages_not_dev_packages() {
        let text = r#"{
    "_readme": ["This file locks the dependencies"],
    "content-hash": "abc",
    "packages": [
        {"name": "symfony/console", "version": "v5.4.47", "license": ["MIT"], "type": "library"},
        {"name": "psr/log", "version": "1.1.4", "license": "MIT"},
        {"name": "acme/dual", "version": "2.0.0", "license": ["GPL-2.0-only", "MIT"]},
        {"name": "acme/nolicence", "version": "dev-main"},
        {"name": "acme/noversion"},
        {"version": "1.0.0"}
    ],
    "packages-dev": [
        {"name": "phpstan/phpstan", "version": "1.12.33", "license": ["MIT"]}
    ]
}"#;
        let pkgs = run(text).unwrap();
        let got: Vec<_> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.licenses.join("|")))
            .collect();
        assert_eq!(
            got,
            vec![
                ("symfony/console", "v5.4.47", "MIT".to_string()),
                ("psr/log", "1.1.4", "MIT".to_string()),
                ("acme/dual", "2.0.0", "GPL-2.0-only|MIT".to_string()),
                ("acme/nolicence", "dev-main", String::new()),
            ]
        );
        assert!(
            pkgs.iter()
                .all(|p| p.ecosystem == Ecosystem::Packagist && p.found_by == "composer-lock")
        );
    }

    #[test]
    fn bad_json_is_an_error_with_a_line() {
        assert_eq!(
            run("{\n  \"packages\": [\n    {,\n  ]\n}")
                .unwrap_err()
                .line,
            Some(3)
        );
        assert!(run("[1, 2]").is_err());
        assert!(run(r#"{"packages": {"a": 1}}"#).is_err());
        assert!(run(r#"{"packages": null}"#).unwrap().is_empty());
        assert!(run(r#"{"packages": [1, "x", null]}"#).unwrap().is_empty());
        assert!(ComposerLock.applies_to(TargetKind::Image));
        assert!(ComposerLock.wants(&FileInfo {
            path: "var/www/composer.lock",
            size: 1,
            mode: 0
        }));
        assert!(!ComposerLock.wants(&FileInfo {
            path: "var/www/composer.json",
            size: 1,
            mode: 0
        }));
    }
}
