//! Image archives: an OCI image layout in a tar (`oci-archive`), and `docker save` tars
//! (`docker-archive`, with `manifest.json`).
//!
//! The outer tar is indexed once (headers only, seeking over the data), then each blob is
//! read in place from the file: nothing is extracted.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use sha2::Digest;

use crate::fs::{normalize, resolve_link};
use crate::oci::{Descriptor, DockerArchiveEntry, Index, Manifest};
use crate::{
    ArtifactError, BlobSource, Options, TargetRef, Visitor, Walked, resolve_manifest, walk_image,
};

/// Members of an archive with more entries than this are not indexed (a tar bomb).
const MAX_MEMBERS: usize = 200_000;

enum Member {
    Data { offset: u64, size: u64 },
    Link(String),
}

/// Where each member of an uncompressed tar starts.
struct TarIndex {
    file: PathBuf,
    members: HashMap<String, Member>,
    /// Why indexing stopped early (a truncated or corrupt archive): members before it are
    /// usable, later ones are missing.
    damage: Option<String>,
}

impl TarIndex {
    fn build(file: &Path) -> std::io::Result<TarIndex> {
        let f = std::fs::File::open(file)?;
        let mut archive = tar::Archive::new(f);
        let mut members = HashMap::new();
        let mut damage = None;
        for entry in archive.entries_with_seek()? {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    damage = Some(e.to_string());
                    break;
                }
            };
            if members.len() >= MAX_MEMBERS {
                damage = Some(format!("more than {MAX_MEMBERS} entries"));
                break;
            }
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Some(path) = normalize(&raw) else {
                continue;
            };
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    members.insert(
                        path,
                        Member::Data {
                            offset: entry.raw_file_position(),
                            size: entry.size(),
                        },
                    );
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    let target = entry
                        .link_name_bytes()
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default();
                    let resolved = if entry.header().entry_type() == tar::EntryType::Link {
                        normalize(&target).unwrap_or_default()
                    } else {
                        resolve_link(&path, &target)
                    };
                    members.insert(path, Member::Link(resolved));
                }
                _ => {}
            }
        }
        // Seeking over data past the end of a cut file reads as a clean end of archive;
        // members that do not fit in the file show the cut.
        let len = std::fs::metadata(file)?.len();
        let cut: Vec<String> = members
            .iter()
            .filter(|(_, m)| matches!(m, Member::Data { offset, size } if offset + size > len))
            .map(|(k, _)| k.clone())
            .collect();
        if let Some(first) = cut.iter().min() {
            damage.get_or_insert_with(|| format!("the file ends inside {first}"));
            for k in &cut {
                members.remove(k);
            }
        }
        if members.is_empty()
            && let Some(d) = damage
        {
            return Err(std::io::Error::other(d));
        }
        Ok(TarIndex {
            file: file.to_path_buf(),
            members,
            damage,
        })
    }

    /// An error for a missing member that says when the archive itself is damaged.
    fn missing(&self, name: &str, e: std::io::Error) -> String {
        match &self.damage {
            Some(d) => {
                format!("the archive is truncated or corrupt ({d}), and {name} is past the damage")
            }
            None => format!("{name}: {e}"),
        }
    }

    fn has(&self, name: &str) -> bool {
        self.members.contains_key(name)
    }

    fn open(&self, name: &str) -> std::io::Result<Box<dyn Read + Send + '_>> {
        let mut name = name.to_string();
        for _ in 0..8 {
            match self.members.get(&name) {
                Some(Member::Data { offset, size }) => {
                    let mut f = std::fs::File::open(&self.file)?;
                    f.seek(SeekFrom::Start(*offset))?;
                    return Ok(Box::new(f.take(*size)));
                }
                Some(Member::Link(target)) => name = target.clone(),
                None => break,
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{name:?} is not in the archive"),
        ))
    }

    fn read_small(&self, name: &str) -> std::io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.open(name)?
            .take(crate::MAX_DOCUMENT + 1)
            .read_to_end(&mut buf)?;
        if buf.len() as u64 > crate::MAX_DOCUMENT {
            return Err(std::io::Error::other(format!("{name} is larger than 8 MB")));
        }
        Ok(buf)
    }
}

/// Tells an OCI archive from a docker archive by the members it holds.
pub(crate) fn sniff(file: &Path) -> std::io::Result<TargetRef> {
    let mut magic = [0u8; 4];
    let n = std::fs::File::open(file)?.read(&mut magic)?;
    if magic[..n].starts_with(&[0x1f, 0x8b]) || magic[..n].starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Err(std::io::Error::other(
            "a compressed file; image archives are read uncompressed (decompress it first, e.g. `gunzip -k`)",
        ));
    }
    let index = TarIndex::build(file).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("not a directory or an image archive (reading it as a tar: {e})"),
        )
    })?;
    if index.has("manifest.json") {
        Ok(TargetRef::DockerArchive {
            file: file.to_path_buf(),
            tag: None,
        })
    } else if index.has("index.json") {
        Ok(TargetRef::OciArchive {
            file: file.to_path_buf(),
            tag: None,
        })
    } else if let Some(d) = &index.damage {
        Err(std::io::Error::other(format!(
            "a truncated or corrupt tar ({d}) with no manifest.json or index.json before the damage"
        )))
    } else {
        Err(std::io::Error::other(
            "a tar without manifest.json or index.json: not an image archive",
        ))
    }
}

fn format_err(name: &str, message: String) -> ArtifactError {
    ArtifactError::Format {
        target: name.to_string(),
        message,
    }
}

struct OciArchiveSource {
    index: TarIndex,
    name: String,
}

impl BlobSource for OciArchiveSource {
    fn open(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send + '_>, ArtifactError> {
        if !crate::valid_digest(&desc.digest) {
            return Err(self.error(format!("{:?} is not a valid digest", desc.digest)));
        }
        let (alg, hex) = desc
            .digest
            .split_once(':')
            .expect("valid digests have a colon");
        self.index
            .open(&format!("blobs/{alg}/{hex}"))
            .map_err(|e| self.error(self.index.missing(&format!("blob {}", desc.digest), e)))
    }

    fn error(&self, message: String) -> ArtifactError {
        format_err(&self.name, message)
    }
}

fn open_index(file: &Path, name: &str) -> Result<TarIndex, ArtifactError> {
    TarIndex::build(file).map_err(|e| format_err(name, format!("cannot read the archive: {e}")))
}

/// Walks the image in an OCI archive.
pub fn walk_oci(
    file: &Path,
    tag: Option<&str>,
    opts: &Options,
    visitor: &mut dyn Visitor,
) -> Result<Walked, ArtifactError> {
    let name = file.display().to_string();
    let index = open_index(file, &name)?;
    let bytes = index
        .read_small("index.json")
        .map_err(|e| format_err(&name, index.missing("index.json", e)))?;
    let oci_index: Index = serde_json::from_slice(&bytes)
        .map_err(|e| format_err(&name, format!("index.json is not an image index: {e}")))?;
    let source = OciArchiveSource {
        index,
        name: name.clone(),
    };
    let chosen = crate::layout::choose(&oci_index, tag, opts, &name)?.clone();
    let tags = chosen
        .annotations
        .get("org.opencontainers.image.ref.name")
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

/// A docker archive names blobs by member path; descriptors carry those paths keyed by the
/// digests Palisade gives them.
struct DockerSource {
    index: TarIndex,
    name: String,
    members: HashMap<String, String>,
}

impl BlobSource for DockerSource {
    fn open(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send + '_>, ArtifactError> {
        let member = self
            .members
            .get(&desc.digest)
            .ok_or_else(|| self.error(format!("no member for {}", desc.digest)))?;
        self.index
            .open(member)
            .map_err(|e| self.error(self.index.missing(member, e)))
    }

    fn error(&self, message: String) -> ArtifactError {
        format_err(&self.name, message)
    }

    fn records_blob_digests(&self) -> bool {
        false
    }
}

/// Whether a recorded tag (`docker.io/library/app:1`) is the one asked for (`app:1`, `1`).
fn same_tag(recorded: &str, wanted: &str) -> bool {
    let short = |t: &str| {
        let t = t.strip_prefix("docker.io/").unwrap_or(t);
        t.strip_prefix("library/").unwrap_or(t).to_string()
    };
    recorded == wanted
        || short(recorded) == short(wanted)
        || recorded
            .rsplit_once(':')
            .is_some_and(|(_, only)| only == wanted)
}

/// Walks the image in a docker archive.
pub fn walk_docker(
    file: &Path,
    tag: Option<&str>,
    opts: &Options,
    visitor: &mut dyn Visitor,
) -> Result<Walked, ArtifactError> {
    let name = file.display().to_string();
    let index = open_index(file, &name)?;
    let bytes = index
        .read_small("manifest.json")
        .map_err(|e| format_err(&name, index.missing("manifest.json", e)))?;
    let entries: Vec<DockerArchiveEntry> = serde_json::from_slice(&bytes).map_err(|e| {
        format_err(
            &name,
            format!("manifest.json is not a docker archive manifest: {e}"),
        )
    })?;
    let all_tags: Vec<&str> = entries
        .iter()
        .flat_map(|e| e.repo_tags.iter().flatten())
        .map(String::as_str)
        .collect();
    let entry = match tag {
        Some(t) => entries
            .iter()
            .find(|e| e.repo_tags.iter().flatten().any(|rt| same_tag(rt, t)))
            .ok_or_else(|| {
                format_err(
                    &name,
                    format!(
                        "no image tagged {t:?} in the archive (tags: {})",
                        all_tags.join(", ")
                    ),
                )
            })?,
        None => match entries.as_slice() {
            [] => return Err(format_err(&name, "manifest.json lists no images".into())),
            [only] => only,
            _ => {
                return Err(format_err(
                    &name,
                    format!(
                        "the archive holds {} images; name one as docker-archive:FILE:TAG (tags: {})",
                        entries.len(),
                        all_tags.join(", ")
                    ),
                ));
            }
        },
    };
    let config_member = normalize(&entry.config).unwrap_or_default();
    let config_bytes = index
        .read_small(&config_member)
        .map_err(|e| format_err(&name, format!("image config {config_member}: {e}")))?;
    let config_digest = format!(
        "sha256:{}",
        crate::layer::hex(&sha2::Sha256::digest(&config_bytes))
    );
    let config: crate::oci::ImageConfig = serde_json::from_slice(&config_bytes).map_err(|e| {
        format_err(
            &name,
            format!("image config is not an image configuration: {e}"),
        )
    })?;
    let diff_ids = config.rootfs.map(|r| r.diff_ids).unwrap_or_default();
    let mut members = HashMap::new();
    members.insert(config_digest.clone(), config_member);
    let mut layers = Vec::new();
    for (i, layer) in entry.layers.iter().enumerate() {
        let member = normalize(layer).unwrap_or_default();
        let size = match index.members.get(&member) {
            Some(Member::Data { size, .. }) => *size,
            _ => 0,
        };
        // The uncompressed layer tar's digest is its diff id; Palisade keys layers by it.
        let key = diff_ids
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("member:{member}"));
        members.insert(key.clone(), member);
        layers.push(Descriptor {
            media_type: String::new(),
            digest: key,
            size,
            platform: None,
            annotations: Default::default(),
        });
    }
    let manifest = Manifest {
        media_type: None,
        config: Descriptor {
            media_type: String::new(),
            digest: config_digest,
            size: config_bytes.len() as u64,
            platform: None,
            annotations: Default::default(),
        },
        layers,
    };
    let source = DockerSource {
        index,
        name: name.clone(),
        members,
    };
    let tags = entry.repo_tags.clone().unwrap_or_default();
    walk_image(&source, &name, None, &manifest, tags, opts, visitor)
}
