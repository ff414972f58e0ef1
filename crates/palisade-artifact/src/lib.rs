//! Any scan target read as one layered view of files.
//!
//! A target is a directory (a project or a root filesystem), an OCI image layout, an OCI or
//! docker archive, or an image in a registry. [`walk`] streams every file of every layer to
//! a [`Visitor`] (contents only for the files it wants) and returns the final view
//! ([`fs::LayeredFs`]): which layer last wrote each path, after whiteouts. Analyzers decide
//! what a file means; this crate only reads.
//!
//! Images are never unpacked to disk and never held in memory whole: layers are streamed
//! once, in order, with their digests verified as the bytes pass.

pub mod archive;
pub mod dir;
pub mod fs;
pub mod layer;
pub mod layout;
pub mod oci;
pub mod reference;
pub mod registry;

use std::io::Read;
use std::path::PathBuf;

use palisade_core::{InputProblem, LayerRef};

use crate::fs::LayeredFs;
use crate::layer::{LayerSpec, Limits};
use crate::oci::{Descriptor, ImageConfig, Manifest, Platform};

pub use reference::{ImageRef, TargetRef};

/// A file met while walking a target.
#[derive(Debug, Clone, Copy)]
pub struct FileMeta<'a> {
    /// Path inside the target without a leading `/`.
    pub path: &'a str,
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// The layer the file is in; None for directory targets.
    pub layer: Option<&'a LayerRef>,
}

/// Receives the files of a target as they stream by.
pub trait Visitor {
    /// Whether the contents of this file are needed. Called for every regular file of
    /// every layer (deleted ones included), so it must be cheap.
    fn wants(&mut self, file: &FileMeta<'_>) -> bool;

    /// The contents of a wanted file.
    fn visit(&mut self, file: &FileMeta<'_>, content: &[u8]);

    /// Everything given from this layer must be forgotten: its bytes did not verify.
    fn discard_layer(&mut self, _index: usize) {}

    /// How far the walk is, in compressed bytes of all layers.
    fn progress(&mut self, _done: u64, _total: u64) {}
}

/// Why a target could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("{0}")]
    Target(String),
    #[error("{target}: {message}")]
    Format { target: String, message: String },
    #[error("{target}: {source}")]
    Io {
        target: String,
        source: std::io::Error,
    },
    #[error("registry {registry}: {message}")]
    Registry { registry: String, message: String },
}

impl ArtifactError {
    /// The message without the target name in front (for messages that already name it).
    pub fn detail(&self) -> String {
        match self {
            ArtifactError::Format { message, .. } => message.clone(),
            ArtifactError::Io { source, .. } => source.to_string(),
            other => other.to_string(),
        }
    }
}

/// How to read targets.
#[derive(Debug, Clone)]
pub struct Options {
    pub limits: Limits,
    /// Platform to pick from a multi-platform image (default linux/amd64).
    pub platform: Platform,
    /// Registries to reach over plain HTTP (`host` or `host:port`).
    pub insecure_registries: Vec<String>,
    /// Docker client configuration with registry credentials (default
    /// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`).
    pub docker_config: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            platform: Platform {
                os: "linux".into(),
                architecture: "amd64".into(),
                variant: None,
            },
            insecure_registries: Vec::new(),
            docker_config: None,
        }
    }
}

/// What kind of thing was walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Image,
    Filesystem,
}

/// An image's identity and configuration.
#[derive(Debug, Clone)]
pub struct Image {
    /// Digest of the manifest, when known (layouts, archives and registries all record it
    /// except docker archives).
    pub manifest_digest: Option<String>,
    pub config_digest: String,
    pub config: ImageConfig,
    /// The configuration document as stored (for analyzers that read `Env`, `history`, …).
    pub config_json: serde_json::Value,
    pub layers: Vec<LayerRef>,
    pub platform: Platform,
    /// Tags the image is known by, when the source records them.
    pub tags: Vec<String>,
}

/// The outcome of a walk.
#[derive(Debug)]
pub struct Walked {
    pub kind: Kind,
    /// The target as the user named it.
    pub name: String,
    pub fs: LayeredFs,
    pub image: Option<Image>,
    /// Problems that did not stop the walk (a corrupt layer, a path escaping the root, …).
    pub problems: Vec<InputProblem>,
}

/// Manifests and configs are small; a larger one is hostile or not what it claims to be.
pub(crate) const MAX_DOCUMENT: u64 = 8 * 1024 * 1024;

/// Where an image's blobs come from.
pub(crate) trait BlobSource {
    /// Opens a blob by digest for streaming.
    fn open(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send + '_>, ArtifactError>;

    /// Reads a small document (index, manifest, config) whole, verifying its digest.
    fn read_document(&self, desc: &Descriptor) -> Result<Vec<u8>, ArtifactError> {
        let mut buf = Vec::new();
        self.open(desc)?
            .take(MAX_DOCUMENT + 1)
            .read_to_end(&mut buf)
            .map_err(|e| self.error(format!("cannot read {}: {e}", desc.digest)))?;
        if buf.len() as u64 > MAX_DOCUMENT {
            return Err(self.error(format!(
                "{} is larger than 8 MB; not an image document",
                desc.digest
            )));
        }
        check_digest(&desc.digest, &buf).map_err(|m| self.error(m))?;
        Ok(buf)
    }

    fn error(&self, message: String) -> ArtifactError;

    /// Whether layer descriptors carry the digest of the stored blob (false for docker
    /// archives, whose layers are checked against the config's diff ids instead).
    fn records_blob_digests(&self) -> bool {
        true
    }
}

/// Checks that `bytes` hash to `digest` (sha256 or sha512; other algorithms are refused).
pub(crate) fn check_digest(digest: &str, bytes: &[u8]) -> Result<(), String> {
    let Some(mut hasher) = layer::Hasher::for_digest(digest) else {
        return Err(format!(
            "{digest}: digest algorithm not supported (sha256 and sha512 are)"
        ));
    };
    hasher.update(bytes);
    let got = hasher.finish();
    if got.eq_ignore_ascii_case(digest) {
        Ok(())
    } else {
        Err(format!(
            "{digest}: content does not match its digest (got {got})"
        ))
    }
}

/// Validates a digest string before it is used to build a path or URL: `sha256:` with 64
/// hex digits or `sha512:` with 128.
pub(crate) fn valid_digest(d: &str) -> bool {
    let hex_ok = |h: &str, n: usize| h.len() == n && h.bytes().all(|b| b.is_ascii_hexdigit());
    match d.split_once(':') {
        Some(("sha256", h)) => hex_ok(h, 64),
        Some(("sha512", h)) => hex_ok(h, 128),
        _ => false,
    }
}

/// Parses a manifest, following an image index to the manifest for `platform`.
pub(crate) fn resolve_manifest(
    source: &dyn BlobSource,
    desc: Descriptor,
    platform: &Platform,
    depth: usize,
    fetched: Option<Vec<u8>>,
) -> Result<(Descriptor, Manifest), ArtifactError> {
    if depth > 4 {
        return Err(source.error("image indexes nest too deeply".into()));
    }
    // A document already fetched (by tag, its digest computed from these very bytes) is not
    // fetched again.
    let bytes = match fetched {
        Some(b) => b,
        None => source.read_document(&desc)?,
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| source.error(format!("{} is not JSON: {e}", desc.digest)))?;
    let media = value
        .get("mediaType")
        .and_then(|m| m.as_str())
        .unwrap_or(&desc.media_type)
        .to_string();
    let is_index = media == oci::OCI_INDEX
        || media == oci::DOCKER_LIST
        || (value.get("manifests").is_some() && value.get("layers").is_none());
    if is_index {
        let index: oci::Index = serde_json::from_value(value)
            .map_err(|e| source.error(format!("{} is not an image index: {e}", desc.digest)))?;
        let choice = pick_platform(&index.manifests, platform).ok_or_else(|| {
            let available: Vec<String> = index
                .manifests
                .iter()
                .filter_map(|m| m.platform.as_ref().map(|p| p.to_string()))
                .collect();
            source.error(format!(
                "no image for platform {platform} (available: {}); choose one with --platform",
                if available.is_empty() {
                    "none listed".to_string()
                } else {
                    available.join(", ")
                }
            ))
        })?;
        return resolve_manifest(source, choice.clone(), platform, depth + 1, None);
    }
    let manifest: Manifest = serde_json::from_value(value)
        .map_err(|e| source.error(format!("{} is not an image manifest: {e}", desc.digest)))?;
    Ok((desc, manifest))
}

/// The index entry for a platform; an index with one entry and no platform is taken as is.
pub(crate) fn pick_platform<'a>(
    manifests: &'a [Descriptor],
    platform: &Platform,
) -> Option<&'a Descriptor> {
    manifests
        .iter()
        .find(|m| m.platform.as_ref().is_some_and(|p| platform.matches(p)))
        .or_else(|| match manifests {
            [only] if only.platform.is_none() => Some(only),
            _ => None,
        })
}

/// Walks the layers of a resolved image.
pub(crate) fn walk_image(
    source: &dyn BlobSource,
    name: &str,
    manifest_digest: Option<String>,
    manifest: &Manifest,
    tags: Vec<String>,
    opts: &Options,
    visitor: &mut dyn Visitor,
) -> Result<Walked, ArtifactError> {
    let config_bytes = source.read_document(&manifest.config)?;
    let config_json: serde_json::Value = serde_json::from_slice(&config_bytes)
        .map_err(|e| source.error(format!("image config is not JSON: {e}")))?;
    let config: ImageConfig = serde_json::from_value(config_json.clone())
        .map_err(|e| source.error(format!("image config is not an image configuration: {e}")))?;
    let history = config.layer_history();
    let diff_ids = config
        .rootfs
        .as_ref()
        .map(|r| r.diff_ids.clone())
        .unwrap_or_default();
    let layers: Vec<LayerRef> = manifest
        .layers
        .iter()
        .enumerate()
        .map(|(index, d)| LayerRef {
            index,
            digest: d.digest.clone(),
            diff_id: diff_ids.get(index).cloned(),
            created_by: history.get(index).cloned().flatten(),
        })
        .collect();
    let total: u64 = manifest.layers.iter().map(|l| l.size).sum();
    let mut done = 0u64;
    let mut fs = LayeredFs::new();
    let mut problems = Vec::new();
    for (i, desc) in manifest.layers.iter().enumerate() {
        let layer = layers[i].clone();
        let blob = match source.open(desc) {
            Ok(b) => b,
            Err(e) => {
                visitor.discard_layer(i);
                problems.push(InputProblem {
                    kind: palisade_core::ProblemKind::Error,
                    path: name.to_string(),
                    line: None,
                    message: format!(
                        "layer {} ({}): {}; its files are left out",
                        i + 1,
                        layer.digest,
                        e.detail()
                    ),
                });
                continue;
            }
        };
        // Docker archives do not record compressed digests; their diff ids are checked.
        let spec = LayerSpec {
            digest: source.records_blob_digests().then(|| desc.digest.clone()),
            diff_id: layer.diff_id.clone(),
            layer,
        };
        let result = layer::read_layer(blob, &spec, &opts.limits, name, visitor);
        problems.extend(result.problems);
        if let Some(changes) = result.changes {
            fs.apply(Some(i), changes);
        }
        done += desc.size.max(result.bytes);
        visitor.progress(done, total.max(done));
    }
    let platform = Platform {
        os: config.os.clone(),
        architecture: config.architecture.clone(),
        variant: config.variant.clone(),
    };
    Ok(Walked {
        kind: Kind::Image,
        name: name.to_string(),
        fs,
        image: Some(Image {
            manifest_digest,
            config_digest: manifest.config.digest.clone(),
            config,
            config_json,
            layers,
            platform,
            tags,
        }),
        problems,
    })
}

/// Reads a target and streams its files to `visitor`.
pub fn walk(
    target: &TargetRef,
    opts: &Options,
    visitor: &mut dyn Visitor,
) -> Result<Walked, ArtifactError> {
    match target {
        TargetRef::Directory(path) => dir::walk(path, &opts.limits, visitor),
        TargetRef::OciLayout { dir, tag } => layout::walk(dir, tag.as_deref(), opts, visitor),
        TargetRef::OciArchive { file, tag } => {
            archive::walk_oci(file, tag.as_deref(), opts, visitor)
        }
        TargetRef::DockerArchive { file, tag } => {
            archive::walk_docker(file, tag.as_deref(), opts, visitor)
        }
        TargetRef::Registry(image) => registry::walk(image, opts, visitor),
    }
}
