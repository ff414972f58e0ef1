//! Streaming one layer: decompress (gzip, zstd or plain, told apart by their magic bytes, not
//! by the media type, which images sometimes get wrong), walk the tar entries, hand the wanted
//! files to the visitor, and verify the blob's digest as the bytes go by. Nothing is written
//! to disk and only wanted files are held in memory, one at a time.
//!
//! Hostile layers are expected: paths that climb out of the root are refused, a layer may
//! not expand past [`Limits::max_layer_bytes`] or hold more than [`Limits::max_entries`]
//! entries, paths are limited in length, and files over [`Limits::max_file_size`] are not
//! read. A layer whose stored bytes do not hash to its digest is never applied, even when it
//! is also malformed: its bytes are read to the end for the check whatever the tar holds.

use std::io::{BufRead, BufReader, Read};

use palisade_core::{InputProblem, LayerRef, ProblemKind};
use sha2::Digest;

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

/// Longest path accepted in a layer (Linux's PATH_MAX); GNU long-name and PAX records longer
/// than this are refused before they are read into memory.
pub const MAX_PATH: u64 = 4096;
/// PAX extended headers larger than this are refused.
const MAX_PAX: u64 = 64 * 1024;
/// All paths of one layer together may not take more than this.
const MAX_PATH_BYTES: usize = 512 * 1024 * 1024;

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

/// `sha256:0123456789ab` — the algorithm and the first 12 characters, on a char boundary.
fn short(digest: &str) -> String {
    let end = digest.find(':').map_or(0, |i| i + 1) + 12;
    digest.chars().take(end).collect()
}

/// Hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// A hash in one of the algorithms image digests use.
pub(crate) enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// The hasher for a digest's algorithm; None for algorithms Palisade does not verify.
    pub(crate) fn for_digest(digest: &str) -> Option<Hasher> {
        match digest.split_once(':')?.0 {
            "sha256" => Some(Hasher::Sha256(sha2::Sha256::new())),
            "sha512" => Some(Hasher::Sha512(sha2::Sha512::new())),
            _ => None,
        }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    /// `algorithm:hex`.
    pub(crate) fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => format!("sha256:{}", hex(&h.finalize())),
            Hasher::Sha512(h) => format!("sha512:{}", hex(&h.finalize())),
        }
    }
}

/// The decompressor picked by magic bytes.
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

/// What the reading thread found out about the stored and uncompressed bytes.
struct Inflated {
    /// Digest of the stored bytes, when they were hashed and read to the end.
    raw: Option<String>,
    raw_bytes: u64,
    /// Digest of the whole uncompressed stream, when it was hashed and read to the end.
    diff: Option<String>,
    /// Why the stored bytes could not be read to the end.
    raw_error: Option<String>,
}

const CHUNK: usize = 256 * 1024;

/// Reads the stored blob to its end, hashing it, and passes the bytes on for as long as
/// the inflating thread listens: the digest check always covers every stored byte, even when
/// decompression or the tar stops early. Returns (digest, bytes read, read error).
fn read_raw<R: Read>(
    mut blob: R,
    mut hasher: Option<Hasher>,
    tx: std::sync::mpsc::SyncSender<std::io::Result<Vec<u8>>>,
) -> (Option<String>, u64, Option<String>) {
    let mut listening = true;
    let mut count = 0u64;
    loop {
        let mut buf = vec![0u8; CHUNK];
        match blob.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                buf.truncate(n);
                count += n as u64;
                if let Some(h) = &mut hasher {
                    h.update(&buf);
                }
                if listening && tx.send(Ok(buf)).is_err() {
                    listening = false;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                let message = e.to_string();
                if listening {
                    let _ = tx.send(Err(e));
                }
                return (None, count, Some(message));
            }
        }
    }
    (hasher.map(Hasher::finish), count, None)
}

/// Decompresses the stored bytes (from the reading thread), sending the uncompressed bytes
/// in chunks; runs on its own thread so inflating overlaps with reading the tar and the
/// catalogers. Returns the digest of the whole uncompressed stream when one was asked for and
/// it could be read to the end within `cap`.
fn inflate(
    stored: ChannelReader,
    diff_hasher: Option<Hasher>,
    cap: u64,
    tx: std::sync::mpsc::SyncSender<std::io::Result<Vec<u8>>>,
) -> Option<String> {
    let mut buffered = BufReader::with_capacity(CHUNK, stored);
    let magic = match buffered.fill_buf() {
        Ok(b) => b.get(..4).unwrap_or(b).to_vec(),
        Err(e) => {
            let _ = tx.send(Err(e));
            return None;
        }
    };
    let mut decoder = if magic.starts_with(&[0x1f, 0x8b]) {
        Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(buffered)))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        match ruzstd::decoding::StreamingDecoder::new(buffered) {
            Ok(d) => Decoder::Zstd(Box::new(d)),
            Err(e) => {
                let _ = tx.send(Err(std::io::Error::other(format!(
                    "not a readable zstd stream: {e}"
                ))));
                return None;
            }
        }
    } else {
        Decoder::Plain(buffered)
    };
    let mut diff = diff_hasher;
    let mut produced = 0u64;
    let mut stopped = false;
    let mut decode_failed = false;
    loop {
        let mut buf = vec![0u8; CHUNK];
        match decoder.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                buf.truncate(n);
                produced += n as u64;
                if let Some(h) = &mut diff {
                    h.update(&buf);
                }
                if tx.send(Ok(buf)).is_err() {
                    stopped = true;
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                let _ = tx.send(Err(e));
                decode_failed = true;
                break;
            }
        }
    }
    drop(tx);
    // The uncompressed digest needs the rest of the stream, within the same expansion cap.
    if stopped && let Some(h) = &mut diff {
        let mut buf = vec![0u8; CHUNK];
        loop {
            match decoder.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    produced += n as u64;
                    if produced > cap {
                        decode_failed = true;
                        break;
                    }
                    h.update(&buf[..n]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => {
                    decode_failed = true;
                    break;
                }
            }
        }
    }
    diff.filter(|_| !decode_failed).map(Hasher::finish)
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
    /// Stored bytes read.
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
    // Hash what will be checked: the stored blob when its digest is known, else the
    // uncompressed tar against its diff id.
    let raw_hasher = spec.digest.as_deref().and_then(Hasher::for_digest);
    let diff_hasher = match spec.digest {
        Some(_) => None,
        None => spec.diff_id.as_deref().and_then(Hasher::for_digest),
    };
    let cap = limits.max_layer_bytes;
    std::thread::scope(|scope| {
        let (raw_tx, raw_rx) = std::sync::mpsc::sync_channel(8);
        let (tx, rx) = std::sync::mpsc::sync_channel(8);
        let reader = scope.spawn(move || read_raw(blob, raw_hasher, raw_tx));
        let inflater = scope.spawn(move || {
            let stored = ChannelReader {
                rx: raw_rx,
                chunk: Vec::new(),
                pos: 0,
            };
            inflate(stored, diff_hasher, cap, tx)
        });
        let stream = Capped {
            inner: ChannelReader {
                rx,
                chunk: Vec::new(),
                pos: 0,
            },
            left: cap,
            limit: cap,
        };
        let entries = read_entries(stream, spec, limits, source, visitor);
        let diff = inflater.join().unwrap_or(None);
        let (raw, raw_bytes, raw_error) =
            reader
                .join()
                .unwrap_or((None, 0, Some("the reading thread failed".into())));
        let inflated = Inflated {
            raw,
            raw_bytes,
            diff,
            raw_error,
        };
        finish(spec, source, visitor, entries, inflated)
    })
}

/// What walking the tar entries produced.
struct Entries {
    changes: LayerChanges,
    problems: Vec<InputProblem>,
    tar_error: Option<String>,
    count: usize,
}

/// Reads the data of a tar extension record (long name, PAX header) within `cap`.
fn read_record(entry: &mut tar::Entry<'_, impl Read>, cap: u64) -> Result<Vec<u8>, String> {
    let size = entry.size();
    if size > cap {
        return Err(format!(
            "an extended header of {size} bytes (more than {cap}); stopped reading the layer"
        ));
    }
    let mut buf = Vec::with_capacity(size as usize);
    entry
        .take(size)
        .read_to_end(&mut buf)
        .map_err(|e| e.to_string())?;
    Ok(buf)
}

/// A PAX record's `path` / `linkpath` values.
fn pax_paths(data: &[u8]) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let mut path = None;
    let mut link = None;
    let mut rest = data;
    while !rest.is_empty() {
        // "<len> <key>=<value>\n", len counting the whole record.
        let Some(sp) = rest.iter().position(|b| *b == b' ') else {
            break;
        };
        let Some(len) = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|l| l.parse::<usize>().ok())
        else {
            break;
        };
        if len <= sp + 1 || len > rest.len() {
            break;
        }
        let record = &rest[sp + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(eq) = record.iter().position(|b| *b == b'=') {
            match &record[..eq] {
                b"path" => path = Some(record[eq + 1..].to_vec()),
                b"linkpath" => link = Some(record[eq + 1..].to_vec()),
                _ => {}
            }
        }
        rest = &rest[len..];
    }
    (path, link)
}

/// Walks the tar entries of the uncompressed stream. GNU long names and PAX headers are read
/// here, within limits, rather than by the tar reader (which would read any size).
fn read_entries(
    stream: Capped<ChannelReader>,
    spec: &LayerSpec,
    limits: &Limits,
    source: &str,
    visitor: &mut dyn Visitor,
) -> Entries {
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
    let mut path_bytes = 0usize;
    let mut tar_error: Option<String> = None;
    let layer = &spec.layer;
    let mut long_name: Option<Vec<u8>> = None;
    let mut long_link: Option<Vec<u8>> = None;
    match archive.entries() {
        Err(e) => tar_error = Some(e.to_string()),
        Ok(entries) => {
            for entry in entries.raw(true) {
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
                let entry_type = entry.header().entry_type();
                match entry_type {
                    tar::EntryType::GNULongName | tar::EntryType::GNULongLink => {
                        match read_record(&mut entry, MAX_PATH) {
                            Ok(mut data) => {
                                while data.last() == Some(&0) {
                                    data.pop();
                                }
                                if entry_type == tar::EntryType::GNULongName {
                                    long_name = Some(data);
                                } else {
                                    long_link = Some(data);
                                }
                            }
                            Err(e) => {
                                tar_error = Some(e);
                                break;
                            }
                        }
                        continue;
                    }
                    tar::EntryType::XHeader => {
                        match read_record(&mut entry, MAX_PAX) {
                            Ok(data) => {
                                let (p, l) = pax_paths(&data);
                                long_name = p.or(long_name);
                                long_link = l.or(long_link);
                            }
                            Err(e) => {
                                tar_error = Some(e);
                                break;
                            }
                        }
                        continue;
                    }
                    tar::EntryType::XGlobalHeader => continue,
                    _ => {}
                }
                let name_bytes = long_name
                    .take()
                    .unwrap_or_else(|| entry.path_bytes().into_owned());
                let link_bytes = long_link
                    .take()
                    .or_else(|| entry.link_name_bytes().map(|b| b.into_owned()));
                if name_bytes.len() as u64 > MAX_PATH {
                    problems.push(problem(
                        ProblemKind::Error,
                        format!(
                            "{}: an entry path is longer than {MAX_PATH} bytes; ignored",
                            spec.name()
                        ),
                    ));
                    continue;
                }
                path_bytes += name_bytes.len();
                if path_bytes > MAX_PATH_BYTES {
                    tar_error = Some(format!(
                        "its paths take more than {} MB; stopped reading it",
                        MAX_PATH_BYTES / (1024 * 1024)
                    ));
                    break;
                }
                let raw_path = String::from_utf8_lossy(&name_bytes).into_owned();
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
                let mode = entry.header().mode().unwrap_or(0);
                let link = link_bytes
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                let kind = match entry_type {
                    tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File {
                        size: entry.size(),
                        mode,
                    },
                    tar::EntryType::Directory => EntryKind::Dir,
                    tar::EntryType::Symlink => EntryKind::Symlink(link),
                    tar::EntryType::Link => match normalize(&link) {
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

    // Read what the tar reader left (end-of-archive padding, trailing gzip members).
    let mut stream = archive.into_inner();
    if tar_error.is_none()
        && let Err(e) = std::io::copy(&mut stream, &mut std::io::sink())
    {
        tar_error = Some(e.to_string());
    }
    Entries {
        changes,
        problems,
        tar_error,
        count,
    }
}

fn finish(
    spec: &LayerSpec,
    source: &str,
    visitor: &mut dyn Visitor,
    entries: Entries,
    inflated: Inflated,
) -> LayerResult {
    let Entries {
        changes,
        mut problems,
        tar_error,
        count,
    } = entries;
    let problem = |kind, message: String| InputProblem {
        kind,
        path: source.to_string(),
        line: None,
        message,
    };
    let layer = &spec.layer;
    let bytes = inflated.raw_bytes;
    let refuse = |why: String, problems: &mut Vec<InputProblem>, visitor: &mut dyn Visitor| {
        visitor.discard_layer(layer.index);
        problems.push(problem(
            ProblemKind::Error,
            format!("{}: {why}; its files are left out", spec.name()),
        ));
    };
    let verdict = verify(spec, &inflated, tar_error.as_deref());
    if let Err(why) = verdict {
        refuse(why, &mut problems, visitor);
        return LayerResult {
            changes: None,
            problems,
            bytes,
        };
    }
    if let Ok(Some(note)) = verdict {
        problems.push(problem(
            ProblemKind::Warning,
            format!("{}: {note}", spec.name()),
        ));
    }
    if let Some(e) = tar_error {
        problems.push(problem(
            ProblemKind::Error,
            format!(
                "{}: corrupt or truncated after {count} entries ({e}); the entries before are kept",
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

/// Ok(None) when verified (or nothing to verify), Ok(Some(note)) when the algorithm is one
/// Palisade cannot check, Err(why) when the layer must be left out.
fn verify(
    spec: &LayerSpec,
    inflated: &Inflated,
    tar_error: Option<&str>,
) -> Result<Option<String>, String> {
    let check = |expected: &str, got: &Option<String>, what: &str| match got {
        Some(got) if got.eq_ignore_ascii_case(expected) => Ok(None),
        Some(got) => Err(format!(
            "content does not match its {what} (expected {expected}, got {got})"
        )),
        None => Err(match (&inflated.raw_error, tar_error) {
            (Some(e), _) => format!("could not be read to the end to check its {what} ({e})"),
            (None, Some(e)) => format!("could not be checked against its {what} ({e})"),
            (None, None) => format!("could not be checked against its {what}"),
        }),
    };
    match (&spec.digest, &spec.diff_id) {
        (Some(d), _) if Hasher::for_digest(d).is_some() => check(d, &inflated.raw, "digest"),
        (None, Some(d)) if Hasher::for_digest(d).is_some() => check(d, &inflated.diff, "diff id"),
        (Some(d), _) | (None, Some(d)) => Err(format!(
            "its digest {d:?} uses an algorithm Palisade does not verify (sha256 and sha512 are)"
        )),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_and_short_digests() {
        let rec = b"28 path=very/long/name/here\n20 linkpath=x/y/zzz\n";
        let (p, l) = pax_paths(rec);
        assert_eq!(p.as_deref(), Some(&b"very/long/name/here"[..]));
        assert_eq!(l.as_deref(), Some(&b"x/y/zzz"[..]));
        assert_eq!(pax_paths(b"999 path=x\n"), (None, None));
        assert_eq!(short("sha256:0123456789abcdef"), "sha256:0123456789ab");
        assert_eq!(short("sha256:aéééééééééééééé"), "sha256:aééééééééééé");
    }
}
