//! Streaming one layer: decompress (gzip, zstd or plain, told apart by their magic bytes, not
//! by the media type, which images sometimes get wrong), walk the tar entries, hand the wanted
//! files to the visitor, and verify the blob's digest as the bytes go by. Nothing is written
//! to disk and only wanted files are held in memory, one at a time.
//!
//! Hostile layers are expected: paths that climb out of the root are refused, a layer may
//! not expand past [`Limits::max_layer_bytes`] or hold more than [`Limits::max_entries`]
//! entries, and files over [`Limits::max_file_size`] are not read.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read};
use std::rc::Rc;

use palisade_core::{InputProblem, LayerRef, ProblemKind};
use sha2::{Digest, Sha256};

use crate::fs::{EntryKind, LayerChanges, normalize};
use crate::{FileMeta, Visitor};

/// Bounds on what one layer may make Palisade do.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Files larger than this are not read (noted when a cataloger wanted them).
    pub max_file_size: u64,
    /// A layer that expands past this many bytes is stopped (decompression bombs).
    pub max_layer_bytes: u64,
    /// A layer with more entries than this is stopped.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_size: 512 * 1024 * 1024,
            max_layer_bytes: 32 * 1024 * 1024 * 1024,
            max_entries: 2_000_000,
        }
    }
}

/// Which layer is being read and what its bytes must hash to.
#[derive(Debug, Clone)]
pub struct LayerSpec {
    pub layer: LayerRef,
    /// Digest of the blob as stored (`sha256:…`), when the format records it.
    pub digest: Option<String>,
    /// Digest of the uncompressed tar (`rootfs.diff_ids`), checked when `digest` is unknown.
    pub diff_id: Option<String>,
}

impl LayerSpec {
    fn name(&self) -> String {
        format!(
            "layer {} ({})",
            self.layer.index + 1,
            short(&self.layer.digest)
        )
    }
}

fn short(digest: &str) -> &str {
    let end = digest.find(':').map_or(0, |i| i + 1) + 12;
    &digest[..end.min(digest.len())]
}

/// Hex of a SHA-256 digest.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// A reader that hashes and counts what passes through, readable after the chain it sits in
/// has been consumed.
struct Hashing<R> {
    inner: R,
    state: Rc<RefCell<(Sha256, u64)>>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut st = self.state.borrow_mut();
        st.0.update(&buf[..n]);
        st.1 += n as u64;
        Ok(n)
    }
}

/// Fails once more than `left` bytes have been read.
struct Capped<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(format!(
                "expands to more than {} MB; stopped (a decompression bomb?)",
                self.limit / (1024 * 1024)
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// What reading a layer produced: its changes when it can be applied, and problems.
pub struct LayerResult {
    /// None when the layer must not be applied (its bytes did not verify).
    pub changes: Option<LayerChanges>,
    pub problems: Vec<InputProblem>,
    /// Compressed bytes read.
    pub bytes: u64,
}

/// Reads one layer blob. `source` names the target for problem messages.
pub fn read_layer(
    blob: Box<dyn Read + '_>,
    spec: &LayerSpec,
    limits: &Limits,
    source: &str,
    visitor: &mut dyn Visitor,
) -> LayerResult {
    let mut problems = Vec::new();
    let problem = |kind, message: String| InputProblem {
        kind,
        path: source.to_string(),
        line: None,
        message,
    };
    let raw_state = Rc::new(RefCell::new((Sha256::new(), 0u64)));
    let raw = Hashing {
        inner: blob,
        state: raw_state.clone(),
    };
    let mut buffered = BufReader::with_capacity(256 * 1024, raw);
    let magic = match buffered.fill_buf() {
        Ok(b) => b.get(..4).map(|m| m.to_vec()).unwrap_or_else(|| b.to_vec()),
        Err(e) => {
            problems.push(problem(
                ProblemKind::Error,
                format!("{}: cannot read: {e}; its files are left out", spec.name()),
            ));
            return LayerResult {
                changes: None,
                problems,
                bytes: 0,
            };
        }
    };
    let decoder: Box<dyn Read + '_> = if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(buffered))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        match ruzstd::decoding::StreamingDecoder::new(buffered) {
            Ok(d) => Box::new(d),
            Err(e) => {
                problems.push(problem(
                    ProblemKind::Error,
                    format!(
                        "{}: not a readable zstd stream: {e}; its files are left out",
                        spec.name()
                    ),
                ));
                return LayerResult {
                    changes: None,
                    problems,
                    bytes: 0,
                };
            }
        }
    } else {
        Box::new(buffered)
    };
    let diff_state = Rc::new(RefCell::new((Sha256::new(), 0u64)));
    let stream = Capped {
        inner: Hashing {
            inner: decoder,
            state: diff_state.clone(),
        },
        left: limits.max_layer_bytes,
        limit: limits.max_layer_bytes,
    };

    let mut changes = LayerChanges::default();
    let mut archive = tar::Archive::new(stream);
    let mut count = 0usize;
    let mut tar_error: Option<String> = None;
    let layer = &spec.layer;
    match archive.entries() {
        Err(e) => tar_error = Some(e.to_string()),
        Ok(entries) => {
            for entry in entries {
                let mut entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        tar_error = Some(e.to_string());
                        break;
                    }
                };
                count += 1;
                if count > limits.max_entries {
                    tar_error = Some(format!(
                        "more than {} entries; stopped reading it",
                        limits.max_entries
                    ));
                    break;
                }
                let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                let Some(path) = normalize(&raw_path) else {
                    problems.push(problem(
                        ProblemKind::Error,
                        format!(
                            "{}: entry {raw_path:?} climbs out of the image root; ignored",
                            spec.name()
                        ),
                    ));
                    continue;
                };
                if path.is_empty() {
                    continue;
                }
                let header = entry.header();
                let mode = header.mode().unwrap_or(0);
                let link = || {
                    entry
                        .link_name_bytes()
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default()
                };
                let kind = match header.entry_type() {
                    tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File {
                        size: entry.size(),
                        mode,
                    },
                    tar::EntryType::Directory => EntryKind::Dir,
                    tar::EntryType::Symlink => EntryKind::Symlink(link()),
                    tar::EntryType::Link => match normalize(&link()) {
                        Some(target) => EntryKind::Hardlink(target),
                        None => {
                            problems.push(problem(
                                ProblemKind::Error,
                                format!(
                                    "{}: hard link {path:?} points out of the image root; ignored",
                                    spec.name()
                                ),
                            ));
                            continue;
                        }
                    },
                    t if t.is_pax_global_extensions() || t.is_pax_local_extensions() => continue,
                    _ => EntryKind::Other,
                };
                if let EntryKind::File { size, mode } = kind {
                    let meta = FileMeta {
                        path: &path,
                        size,
                        mode,
                        layer: Some(layer),
                    };
                    if visitor.wants(&meta) {
                        if size > limits.max_file_size {
                            problems.push(InputProblem {
                                kind: ProblemKind::Skipped,
                                path: format!("/{path}"),
                                line: None,
                                message: format!(
                                    "{}: file is {} MB, over the {} MB limit; not read",
                                    spec.name(),
                                    size / (1024 * 1024),
                                    limits.max_file_size / (1024 * 1024)
                                ),
                            });
                        } else {
                            let mut content = Vec::with_capacity(size as usize);
                            match (&mut entry).take(size).read_to_end(&mut content) {
                                Ok(_) => visitor.visit(&meta, &content),
                                Err(e) => {
                                    tar_error = Some(format!("reading {path:?}: {e}"));
                                    break;
                                }
                            }
                        }
                    }
                }
                changes.add(path, kind);
            }
        }
    }

    // Read what the tar reader left (end-of-archive padding, trailing gzip members) so the
    // digests cover the whole blob.
    let mut stream = archive.into_inner();
    if tar_error.is_none()
        && let Err(e) = std::io::copy(&mut stream, &mut std::io::sink())
    {
        tar_error = Some(e.to_string());
    }
    drop(stream);
    let verified = verify(spec, &raw_state, &diff_state, tar_error.is_none());
    let bytes = raw_state.borrow().1;
    match verified {
        Verified::Mismatch(msg) => {
            visitor.discard_layer(layer.index);
            problems.push(problem(
                ProblemKind::Error,
                format!("{}: {msg}; its files are left out", spec.name()),
            ));
            return LayerResult {
                changes: None,
                problems,
                bytes,
            };
        }
        Verified::Unknown(msg) => problems.push(problem(
            ProblemKind::Warning,
            format!("{}: {msg}", spec.name()),
        )),
        Verified::Ok => {}
    }
    if let Some(e) = tar_error {
        problems.push(problem(
            ProblemKind::Error,
            format!(
                "{}: corrupt or truncated after {count} entries ({e}); the entries before are kept, unverified",
                spec.name()
            ),
        ));
    }
    LayerResult {
        changes: Some(changes),
        problems,
        bytes,
    }
}

enum Verified {
    Ok,
    Mismatch(String),
    Unknown(String),
}

fn verify(
    spec: &LayerSpec,
    raw: &Rc<RefCell<(Sha256, u64)>>,
    diff: &Rc<RefCell<(Sha256, u64)>>,
    complete: bool,
) -> Verified {
    let check = |expected: &str, state: &Rc<RefCell<(Sha256, u64)>>, what: &str| {
        let Some(hex_expected) = expected.strip_prefix("sha256:") else {
            return Verified::Unknown(format!(
                "{what} {expected:?} uses an algorithm Palisade does not verify; not checked"
            ));
        };
        let got = hex(&state.borrow().0.clone().finalize());
        if got.eq_ignore_ascii_case(hex_expected) {
            Verified::Ok
        } else {
            Verified::Mismatch(format!(
                "content does not match its {what} (expected {expected}, got sha256:{got})"
            ))
        }
    };
    if !complete {
        // A stream that stopped early cannot hash to its digest; the error says why, and the
        // entries read before it are kept.
        return Verified::Ok;
    }
    if let Some(d) = &spec.digest {
        return check(d, raw, "digest");
    }
    if let Some(d) = &spec.diff_id {
        return check(d, diff, "diff id");
    }
    Verified::Ok
}
