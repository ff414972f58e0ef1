//! Streaming one layer: decompress (gzip, zstd or plain, told apart by their magic bytes, not
//! by the media type, which images sometimes get wrong), walk the tar entries, hand the wanted
//! files to the visitor, and verify the blob's digest as the bytes go by. Nothing is written
//! to disk and only wanted files are held in memory, one at a time.
//!
//! Hostile layers are expected: paths that climb out of the root are refused, a layer may
//! not expand past [`Limits::max_layer_bytes`] or hold more than [`Limits::max_entries`]
//! entries, and files over [`Limits::max_file_size`] are not read.

use std::io::{BufRead, BufReader, Read};

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

/// A reader that hashes (when `hash` is set) and counts what passes through.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    hash: bool,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.hash {
            self.hasher.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }
}

/// The decompressor picked by magic bytes, able to give its input back so that bytes after
/// the compressed stream are still hashed.
enum Decoder<R: Read> {
    Gzip(Box<flate2::bufread::MultiGzDecoder<BufReader<R>>>),
    Zstd(Box<ruzstd::decoding::StreamingDecoder<BufReader<R>, ruzstd::decoding::FrameDecoder>>),
    Plain(BufReader<R>),
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
            Decoder::Plain(d) => d.read(buf),
        }
    }
}

impl<R: Read> Decoder<R> {
    fn into_input(self) -> BufReader<R> {
        match self {
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Zstd(d) => d.into_inner(),
            Decoder::Plain(d) => d,
        }
    }
}

/// What the reading thread found out about the stored and uncompressed bytes.
struct Inflated {
    raw_hex: String,
    raw_bytes: u64,
    diff_hex: String,
    /// The whole blob was read (the consumer did not stop early and nothing failed).
    complete: bool,
}

const CHUNK: usize = 256 * 1024;

/// Reads, hashes and decompresses a blob, sending the uncompressed bytes in chunks. Runs on
/// its own thread so that inflating overlaps with reading the tar and the catalogers.
fn inflate<R: Read>(
    blob: R,
    hash_raw: bool,
    hash_diff: bool,
    tx: std::sync::mpsc::SyncSender<std::io::Result<Vec<u8>>>,
) -> Inflated {
    let raw = Hashing {
        inner: blob,
        hasher: Sha256::new(),
        count: 0,
        hash: hash_raw,
    };
    let mut buffered = BufReader::with_capacity(CHUNK, raw);
    let fail = |e: std::io::Error, tx: &std::sync::mpsc::SyncSender<_>| {
        let _ = tx.send(Err(e));
    };
    let magic = match buffered.fill_buf() {
        Ok(b) => b.get(..4).unwrap_or(b).to_vec(),
        Err(e) => {
            fail(e, &tx);
            return Inflated {
                raw_hex: String::new(),
                raw_bytes: 0,
                diff_hex: String::new(),
                complete: false,
            };
        }
    };
    let mut decoder = if magic.starts_with(&[0x1f, 0x8b]) {
        Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(buffered)))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        match ruzstd::decoding::StreamingDecoder::new(buffered) {
            Ok(d) => Decoder::Zstd(Box::new(d)),
            Err(e) => {
                fail(
                    std::io::Error::other(format!("not a readable zstd stream: {e}")),
                    &tx,
                );
                return Inflated {
                    raw_hex: String::new(),
                    raw_bytes: 0,
                    diff_hex: String::new(),
                    complete: false,
                };
            }
        }
    } else {
        Decoder::Plain(buffered)
    };
    let mut diff = Sha256::new();
    let mut complete = true;
    loop {
        let mut buf = vec![0u8; CHUNK];
        match decoder.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                buf.truncate(n);
                if hash_diff {
                    diff.update(&buf);
                }
                if tx.send(Ok(buf)).is_err() {
                    // The reader stopped early (a limit, a corrupt tar): nothing to verify.
                    complete = false;
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                fail(e, &tx);
                complete = false;
                break;
            }
        }
    }
    let mut input = decoder.into_input();
    if complete && std::io::copy(&mut input, &mut std::io::sink()).is_err() {
        complete = false;
    }
    let raw = input.into_inner();
    Inflated {
        raw_hex: hex(&raw.hasher.finalize()),
        raw_bytes: raw.count,
        diff_hex: hex(&diff.finalize()),
        complete,
    }
}

/// Reads the chunks the inflating thread sends.
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
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
    blob: Box<dyn Read + Send + '_>,
    spec: &LayerSpec,
    limits: &Limits,
    source: &str,
    visitor: &mut dyn Visitor,
) -> LayerResult {
    // Hash only what will be checked: the stored blob when its digest is known, else the
    // uncompressed tar against its diff id.
    let hash_raw = spec.digest.is_some();
    let hash_diff = spec.digest.is_none() && spec.diff_id.is_some();
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(8);
        let producer = scope.spawn(move || inflate(blob, hash_raw, hash_diff, tx));
        let stream = Capped {
            inner: ChannelReader {
                rx,
                chunk: Vec::new(),
                pos: 0,
            },
            left: limits.max_layer_bytes,
            limit: limits.max_layer_bytes,
        };
        let (changes, mut problems, tar_error, count) =
            read_entries(stream, spec, limits, source, visitor);
        let inflated = producer.join().unwrap_or(Inflated {
            raw_hex: String::new(),
            raw_bytes: 0,
            diff_hex: String::new(),
            complete: false,
        });
        finish(
            spec,
            source,
            visitor,
            changes,
            &mut problems,
            tar_error,
            count,
            inflated,
        )
    })
}

/// Walks the tar entries of the uncompressed stream; the stream is read to its end (or
/// dropped at the first error) so the inflating thread can finish.
fn read_entries(
    stream: Capped<ChannelReader>,
    spec: &LayerSpec,
    limits: &Limits,
    source: &str,
    visitor: &mut dyn Visitor,
) -> (LayerChanges, Vec<InputProblem>, Option<String>, usize) {
    let mut problems = Vec::new();
    let problem = |kind, message: String| InputProblem {
        kind,
        path: source.to_string(),
        line: None,
        message,
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
    (changes, problems, tar_error, count)
}

#[allow(clippy::too_many_arguments)]
fn finish(
    spec: &LayerSpec,
    source: &str,
    visitor: &mut dyn Visitor,
    changes: LayerChanges,
    problems: &mut Vec<InputProblem>,
    tar_error: Option<String>,
    count: usize,
    inflated: Inflated,
) -> LayerResult {
    let problem = |kind, message: String| InputProblem {
        kind,
        path: source.to_string(),
        line: None,
        message,
    };
    let layer = &spec.layer;
    let bytes = inflated.raw_bytes;
    let complete = tar_error.is_none() && inflated.complete;
    match verify(spec, &inflated, complete) {
        Verified::Mismatch(msg) => {
            visitor.discard_layer(layer.index);
            problems.push(problem(
                ProblemKind::Error,
                format!("{}: {msg}; its files are left out", spec.name()),
            ));
            return LayerResult {
                changes: None,
                problems: std::mem::take(problems),
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
        problems: std::mem::take(problems),
        bytes,
    }
}

enum Verified {
    Ok,
    Mismatch(String),
    Unknown(String),
}

fn verify(spec: &LayerSpec, inflated: &Inflated, complete: bool) -> Verified {
    let check = |expected: &str, got: &str, what: &str| {
        let Some(hex_expected) = expected.strip_prefix("sha256:") else {
            return Verified::Unknown(format!(
                "{what} {expected:?} uses an algorithm Palisade does not verify; not checked"
            ));
        };
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
        return check(d, &inflated.raw_hex, "digest");
    }
    if let Some(d) = &spec.diff_id {
        return check(d, &inflated.diff_hex, "diff id");
    }
    Verified::Ok
}
