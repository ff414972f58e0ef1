//! OCI image layouts: a folder with `oci-layout`, `index.json` and `blobs/<alg>/<hex>`.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::oci::{Descriptor, Index};
use crate::{ArtifactError, BlobSource, Options, Visitor, Walked, resolve_manifest, walk_image};

const REF_NAME: &str = "org.opencontainers.image.ref.name";

struct LayoutSource {
    dir: PathBuf,
    name: String,
}

impl BlobSource for LayoutSource {
    fn open(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send + '_>, ArtifactError> {
        // The digest becomes a path: only well-formed digests, so `../` cannot sneak in.
        if !crate::valid_digest(&desc.digest) {
            return Err(self.error(format!("{:?} is not a valid digest", desc.digest)));
        }
        let (alg, hex) = desc
            .digest
            .split_once(':')
            .expect("valid digests have a colon");
        let path = self.dir.join("blobs").join(alg).join(hex);
        let file = std::fs::File::open(&path)
            .map_err(|e| self.error(format!("blob {} missing or unreadable: {e}", desc.digest)))?;
        Ok(Box::new(file))
    }

    fn error(&self, message: String) -> ArtifactError {
        ArtifactError::Format {
            target: self.name.clone(),
            message,
        }
    }
}

/// Chooses the manifest of an index by tag (the `ref.name` annotation), by platform, or the
/// only one there is.
pub(crate) fn choose<'a>(
    index: &'a Index,
    tag: Option<&str>,
    opts: &Options,
    name: &str,
) -> Result<&'a Descriptor, ArtifactError> {
    let tags: Vec<&str> = index
        .manifests
        .iter()
        .filter_map(|m| m.annotations.get(REF_NAME).map(String::as_str))
        .collect();
    let err = |message: String| ArtifactError::Format {
        target: name.to_string(),
        message,
    };
    match tag {
        Some(t) => index
            .manifests
            .iter()
            .find(|m| {
                m.annotations
                    .get(REF_NAME)
                    .is_some_and(|r| r == t || r.rsplit_once(':').is_some_and(|(_, rt)| rt == t))
            })
            .ok_or_else(|| err(format!("no image tagged {t:?} (tags: {})", list(&tags)))),
        None => match index.manifests.as_slice() {
            [] => Err(err("the index lists no images".into())),
            [only] => Ok(only),
            many => crate::pick_platform(many, &opts.platform)
                .or_else(|| {
                    // One multi-platform index among other entries (attestations, …) is
                    // the image; several are a choice the user has to make.
                    let mut indexes = many.iter().filter(|m| m.is_index());
                    match (indexes.next(), indexes.next()) {
                        (Some(only), None) => Some(only),
                        _ => None,
                    }
                })
                .ok_or_else(|| {
                    err(format!(
                        "the index lists {} images; name one with :TAG (tags: {})",
                        many.len(),
                        list(&tags)
                    ))
                }),
        },
    }
}

fn list(tags: &[&str]) -> String {
    if tags.is_empty() {
        "none".into()
    } else {
        tags.join(", ")
    }
}

/// Walks the image of an OCI layout folder.
pub fn walk(
    dir: &Path,
    tag: Option<&str>,
    opts: &Options,
    visitor: &mut dyn Visitor,
) -> Result<Walked, ArtifactError> {
    let name = match tag {
        Some(t) => format!("{}:{t}", dir.display()),
        None => dir.display().to_string(),
    };
    let index_path = dir.join("index.json");
    let meta = std::fs::metadata(&index_path).map_err(|e| ArtifactError::Format {
        target: name.clone(),
        message: format!("not an OCI image layout: cannot read index.json: {e}"),
    })?;
    if meta.len() > crate::MAX_DOCUMENT {
        return Err(ArtifactError::Format {
            target: name,
            message: "index.json is larger than 8 MB".into(),
        });
    }
    let bytes = std::fs::read(&index_path).map_err(|e| ArtifactError::Io {
        target: name.clone(),
        source: e,
    })?;
    let index: Index = serde_json::from_slice(&bytes).map_err(|e| ArtifactError::Format {
        target: name.clone(),
        message: format!("index.json is not an image index: {e}"),
    })?;
    let source = LayoutSource {
        dir: dir.to_path_buf(),
        name: name.clone(),
    };
    let chosen = choose(&index, tag, opts, &name)?.clone();
    let tags = chosen
        .annotations
        .get(REF_NAME)
        .cloned()
        .into_iter()
        .collect();
    let (desc, manifest) = resolve_manifest(&source, chosen, &opts.platform, 0, None)?;
    walk_image(
        &source,
        &name,
        Some(desc.digest),
        &manifest,
        tags,
        opts,
        visitor,
    )
}
