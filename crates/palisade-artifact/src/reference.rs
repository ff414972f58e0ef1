//! What the user named: a directory, an image layout or archive, or a registry image.

use std::path::{Path, PathBuf};

use crate::ArtifactError;

/// A scan target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetRef {
    /// A project directory or an extracted root filesystem.
    Directory(PathBuf),
    /// An OCI image layout folder (`oci:DIR[:tag]`, or a folder with `index.json`).
    OciLayout { dir: PathBuf, tag: Option<String> },
    /// A tar of an OCI image layout (`oci-archive:FILE[:tag]`).
    OciArchive { file: PathBuf, tag: Option<String> },
    /// A `docker save` tar (`docker-archive:FILE[:repo:tag]`).
    DockerArchive { file: PathBuf, tag: Option<String> },
    /// An image in a registry.
    Registry(ImageRef),
}

/// A registry image reference: `host[:port]/path/name[:tag][@sha256:…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host as written (`ghcr.io`, `127.0.0.1:5000`); `docker.io` for Docker Hub.
    pub registry: String,
    /// Repository path (`library/alpine`, `org/app`).
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses a reference the way the Docker CLI does: a first component with a `.` or `:`
    /// or that is `localhost` names the registry; otherwise the image is on Docker Hub
    /// (single names are under `library/`). Without tag or digest the tag is `latest`.
    pub fn parse(s: &str) -> Result<ImageRef, String> {
        let bad = |why: &str| Err(format!("{s:?} is not an image reference: {why}"));
        if s.is_empty() || s.contains(char::is_whitespace) {
            return bad("empty or contains spaces");
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                if !crate::valid_digest(d) {
                    return bad("the digest must look like sha256:<64 hex digits>");
                }
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        let (registry, path) = match rest.split_once('/') {
            Some((first, remainder))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), remainder.to_string())
            }
            _ => ("docker.io".to_string(), rest.to_string()),
        };
        // A tag is after the last ':' of the last path component.
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), Some(tag.to_string())),
            _ => (path.clone(), None),
        };
        if repository.is_empty()
            || !repository.split('/').all(|c| {
                !c.is_empty()
                    && c.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            })
        {
            return bad("repository names are lowercase letters, digits and . _ - separated by /");
        }
        if let Some(t) = &tag
            && (t.is_empty()
                || t.len() > 128
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)))
        {
            return bad("tags are letters, digits, . _ - (at most 128)");
        }
        let repository = if registry == "docker.io" && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        let tag = if tag.is_none() && digest.is_none() {
            Some("latest".to_string())
        } else {
            tag
        };
        Ok(ImageRef {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The tag or digest to ask the registry for (digest first).
    pub fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Splits `path[:tag]` where the path may itself hold colons only if it exists as written.
fn split_tag(s: &str) -> (PathBuf, Option<String>) {
    if Path::new(s).exists() {
        return (PathBuf::from(s), None);
    }
    match s.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') && !p.is_empty() => {
            (PathBuf::from(p), Some(t.to_string()))
        }
        _ => (PathBuf::from(s), None),
    }
}

impl TargetRef {
    /// Works out what `s` names: an explicit transport prefix (`oci:`, `oci-archive:`,
    /// `docker-archive:`, `dir:`, `registry:`/`docker://`), else an existing path (a folder
    /// with `index.json` and `oci-layout` is an image layout; a tar with `manifest.json` a
    /// docker archive, with `index.json` an OCI archive; other folders are directories),
    /// else a registry reference.
    pub fn parse(s: &str) -> Result<TargetRef, ArtifactError> {
        if let Some(rest) = s.strip_prefix("oci:") {
            let (dir, tag) = split_tag(rest);
            return Ok(TargetRef::OciLayout { dir, tag });
        }
        if let Some(rest) = s.strip_prefix("oci-archive:") {
            let (file, tag) = split_tag(rest);
            return Ok(TargetRef::OciArchive { file, tag });
        }
        if let Some(rest) = s.strip_prefix("docker-archive:") {
            // docker-archive:FILE[:repo:tag] — the file is up to the first ':' that leaves an
            // existing file, else the whole string.
            let (file, tag) = match rest.split_once(':') {
                Some((f, t)) if Path::new(f).is_file() => (PathBuf::from(f), Some(t.to_string())),
                _ => (PathBuf::from(rest), None),
            };
            return Ok(TargetRef::DockerArchive { file, tag });
        }
        if let Some(rest) = s.strip_prefix("dir:") {
            return Ok(TargetRef::Directory(PathBuf::from(rest)));
        }
        for prefix in ["registry:", "docker://"] {
            if let Some(rest) = s.strip_prefix(prefix) {
                return ImageRef::parse(rest)
                    .map(TargetRef::Registry)
                    .map_err(ArtifactError::Target);
            }
        }
        let path = Path::new(s);
        if path.is_dir() {
            if path.join("index.json").is_file() && path.join("oci-layout").is_file() {
                return Ok(TargetRef::OciLayout {
                    dir: path.to_path_buf(),
                    tag: None,
                });
            }
            return Ok(TargetRef::Directory(path.to_path_buf()));
        }
        if path.is_file() {
            return crate::archive::sniff(path).map_err(|e| ArtifactError::Io {
                target: s.to_string(),
                source: e,
            });
        }
        if s.starts_with('.') || s.starts_with('/') || s.contains('\\') {
            return Err(ArtifactError::Target(format!(
                "{s}: no such file or directory"
            )));
        }
        ImageRef::parse(s).map(TargetRef::Registry).map_err(|e| {
            ArtifactError::Target(format!("{s}: not a file or directory here, and {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        let r = ImageRef::parse("alpine").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("docker.io", "library/alpine", Some("latest"))
        );
        let r = ImageRef::parse("127.0.0.1:5000/ns/app:1.2").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("127.0.0.1:5000", "ns/app", Some("1.2"))
        );
        let d = format!("sha256:{}", "a".repeat(64));
        let r = ImageRef::parse(&format!("ghcr.io/o/app@{d}")).unwrap();
        assert_eq!(
            (r.tag.as_deref(), r.digest.as_deref()),
            (None, Some(d.as_str()))
        );
        assert_eq!(r.reference(), d);
        let r = ImageRef::parse("localhost/app").unwrap();
        assert_eq!(r.registry, "localhost");
        assert!(ImageRef::parse("Upper/Case").is_err());
        assert!(ImageRef::parse("app@sha256:../../x").is_err());
        assert!(ImageRef::parse("a b").is_err());
    }

    #[test]
    fn explicit_transports() {
        assert_eq!(
            TargetRef::parse("oci:/no/such/layout:v1").unwrap(),
            TargetRef::OciLayout {
                dir: "/no/such/layout".into(),
                tag: Some("v1".into())
            }
        );
        assert!(matches!(
            TargetRef::parse("docker://nginx:1.25").unwrap(),
            TargetRef::Registry(_)
        ));
        assert!(matches!(
            TargetRef::parse("./missing").unwrap_err(),
            ArtifactError::Target(_)
        ));
    }
}
