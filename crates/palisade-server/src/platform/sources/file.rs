//! Files followed as they grow (`[[server.file]]`): one event source a line (Kubernetes
//! audit log lines, CloudTrail `{"Records": …}` documents, Falco JSON output, JSON lines,
//! syslog lines), parsed with `palisade_siem::parse` as the configured `kind`.
//!
//! ```toml
//! [[server.file]]
//! path = "/var/log/kube-audit/audit.log"
//! kind = "k8s-audit"       # k8s-audit, cloudtrail, falco, json or syslog
//! source = "k8s-audit"     # default: the kind
//! start_at = "end"         # first start only: "end" (default) or "beginning"
//! poll_interval = "1s"     # ms or s, 10ms to 60s
//! max_line_bytes = 262144  # default 256 KiB, the parsers' event limit
//! ```
//!
//! # Following
//!
//! The file is read to its end, then looked at again every `poll_interval`:
//!
//! - **Rename and create** (logrotate's default): when the path names another file
//!   (device and inode differ) the old file, still open, is read to its end first, a last
//!   line without its newline included, then the new file is read from its beginning.
//! - **copytruncate**: when the open file is shorter than what was read, it is read again
//!   from offset 0. (Lines written between logrotate's copy and its truncation are lost to
//!   any reader; and a file that grows back past the old size between two looks is not
//!   noticed: keep `poll_interval` short for files rotated this way.)
//! - **Removed**: the open file is kept and read; the path is looked for every interval.
//!
//! A line is stored once its newline is there; a longer one than `max_line_bytes` keeps its
//! first bytes, the marker `palisade_siem::parse::TRUNCATION_MARKER`, and `truncated = true`
//! (the rest is read and discarded, never buffered), like the syslog listeners do.
//!
//! # Backpressure and offsets
//!
//! Read lines go to the event store in one append (at most [`CHUNK`] bytes of the file), using
//! the same append slots as the HTTP and syslog sources; the next bytes are read only once the
//! store has acknowledged them, so a store that falls behind slows the reading down and
//! nothing is dropped (an append that fails is retried, backing off, for as long as it takes).
//!
//! After each acknowledged append, the device, inode and offset just past the last stored
//! line are written to `DATA_DIR/file-sources/HASH.json` (HASH: of the configured path). On
//! start, a saved offset for the same file resumes there: nothing is read twice or skipped.
//! If the file was rotated while the server was down, the old file is looked for by its inode
//! in the same folder (`audit.log.1`), read from the saved offset to its end, and then the new
//! one from its beginning. Without a saved offset, `start_at` decides. A crash between an
//! append and the offset write reads the lines of that append again when the server restarts
//! (at least once, never lost).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use palisade_siem::Event;
use palisade_siem::parse::{self, ParseOptions, TRUNCATION_MARKER};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::super::config::{FileSource, StartAt};
use super::super::state::{AppState, now_nanos};
use crate::serving;

/// Bytes read (and then appended) at a time.
pub const CHUNK: usize = 256 * 1024;
/// Longest wait between tries of an append that failed.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
/// Folder entries looked at when searching for a file rotated while the server was down.
const MAX_DIR_ENTRIES: usize = 10_000;

/// Starts following every configured file.
pub(crate) fn spawn(state: &Arc<AppState>, tasks: &mut JoinSet<()>, stop: &watch::Receiver<bool>) {
    for f in &state.settings.files {
        state.log(&format!(
            "file: following {} ({}, source {:?})",
            f.path.display(),
            f.kind,
            f.source
        ));
        tasks.spawn(follow(Arc::clone(state), Arc::new(f.clone()), stop.clone()));
    }
}

/// Which file: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

#[cfg(unix)]
fn file_id(m: &std::fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    FileId {
        dev: m.dev(),
        ino: m.ino(),
    }
}

/// Without inodes, rotation by rename is not told apart; truncation still is.
#[cfg(not(unix))]
fn file_id(_: &std::fs::Metadata) -> FileId {
    FileId { dev: 0, ino: 0 }
}

/// What is saved per followed file once the store has acknowledged its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Saved {
    path: String,
    dev: u64,
    inode: u64,
    offset: u64,
}

/// `DATA_DIR/file-sources/HASH.json` for a configured path.
fn saved_path(data_dir: &Path, path: &Path) -> PathBuf {
    let digest = ring::digest::digest(&ring::digest::SHA256, path.to_string_lossy().as_bytes());
    let hex: String = digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    data_dir.join("file-sources").join(format!("{hex}.json"))
}

fn load_saved(at: &Path, path: &Path) -> Result<Option<Saved>, String> {
    let text = match std::fs::read_to_string(at) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", at.display())),
    };
    let saved: Saved = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not a saved offset ({e}); delete it to start over",
            at.display()
        )
    })?;
    // Another path with the same hash: not ours.
    Ok((saved.path == path.to_string_lossy()).then_some(saved))
}

/// Writes the offset next to its final name and renames it over, so a crash leaves the old
/// or the new one, never half of one.
fn store_saved(at: &Path, saved: &Saved) -> std::io::Result<()> {
    if let Some(dir) = at.parent()
        && !dir.exists()
    {
        super::super::create_private_dir(dir)?;
    }
    let tmp = at.with_extension("json.tmp");
    let text = serde_json::to_vec(saved).map_err(std::io::Error::other)?;
    {
        let mut f = File::create(&tmp)?;
        std::io::Write::write_all(&mut f, &text)?;
        f.sync_data()?;
    }
    std::fs::rename(&tmp, at)
}

/// The most a rotation catch-up reads before handing lines to the store.
const CATCH_UP_BYTES: usize = 8 << 20;

/// One line as read: at most the limit, and whether more was cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub bytes: Vec<u8>,
    pub truncated: bool,
}

/// An open file being read.
#[derive(Debug)]
struct Reader {
    file: File,
    id: FileId,
    /// Offset of the next byte to read.
    read_pos: u64,
    /// Offset just past the last complete line.
    line_end: u64,
    /// The line being read (at most the limit).
    partial: Vec<u8>,
    /// The line being read is longer than the limit.
    overflow: bool,
}

impl Reader {
    fn open(path: &Path, at: u64) -> std::io::Result<Reader> {
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        let at = if meta.len() < at { 0 } else { at };
        file.seek(SeekFrom::Start(at))?;
        Ok(Reader {
            file,
            id: file_id(&meta),
            read_pos: at,
            line_end: at,
            partial: Vec::new(),
            overflow: false,
        })
    }

    /// Reads up to [`CHUNK`] bytes, adding the lines they complete to `out`; the bytes read
    /// (0 at the end of the file).
    fn read(&mut self, max: usize, out: &mut Vec<Line>) -> std::io::Result<usize> {
        let mut buf = vec![0u8; CHUNK];
        let n = loop {
            match self.file.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        let mut rest = &buf[..n];
        let mut pos = self.read_pos;
        while !rest.is_empty() {
            match rest.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.keep(&rest[..i], max);
                    pos += i as u64 + 1;
                    self.line_end = pos;
                    out.push(self.take_line());
                    rest = &rest[i + 1..];
                }
                None => {
                    self.keep(rest, max);
                    pos += rest.len() as u64;
                    rest = &[];
                }
            }
        }
        self.read_pos = pos;
        Ok(n)
    }

    fn keep(&mut self, data: &[u8], max: usize) {
        let room = max.saturating_sub(self.partial.len());
        if data.len() > room {
            self.overflow = true;
        }
        self.partial
            .extend_from_slice(&data[..data.len().min(room)]);
    }

    fn take_line(&mut self) -> Line {
        let line = Line {
            bytes: std::mem::take(&mut self.partial),
            truncated: self.overflow,
        };
        self.overflow = false;
        line
    }

    /// The last line of a file that will not grow any more, without its newline.
    fn finish(&mut self, out: &mut Vec<Line>) {
        if !self.partial.is_empty() || self.overflow {
            self.line_end = self.read_pos;
            out.push(self.take_line());
        }
    }
}

/// What one look at the file gave.
#[derive(Debug, Default)]
struct Step {
    lines: Vec<Line>,
    /// To save once `lines` are stored.
    save: Option<(FileId, u64)>,
    /// Nothing new: wait for the poll interval.
    idle: bool,
    /// Something to tell the operator (logged once per distinct message).
    note: Option<String>,
}

/// The blocking half of a followed file: reading, rotation, truncation.
#[derive(Debug)]
struct Follower {
    path: PathBuf,
    max: usize,
    reader: Option<Reader>,
}

impl Follower {
    /// Where to start: the saved offset of the same file, the file it was rotated to, or
    /// `start_at`.
    fn start(
        cfg: &FileSource,
        saved: Option<Saved>,
    ) -> (Follower, Option<(FileId, u64)>, Option<String>) {
        let mut f = Follower {
            path: cfg.path.clone(),
            max: cfg.max_line_bytes,
            reader: None,
        };
        let current = std::fs::metadata(&cfg.path)
            .ok()
            .map(|m| (file_id(&m), m.len()));
        let mut note = None;
        match (saved, current) {
            (Some(s), Some((id, _)))
                if id
                    == (FileId {
                        dev: s.dev,
                        ino: s.inode,
                    }) =>
            {
                f.reader = Reader::open(&cfg.path, s.offset).ok();
            }
            (Some(s), _) => {
                let old = FileId {
                    dev: s.dev,
                    ino: s.inode,
                };
                match find_rotated(&cfg.path, old) {
                    Some(p) => {
                        note = Some(format!(
                            "{} was rotated while the server was down: reading {} from offset {} first",
                            cfg.path.display(),
                            p.display(),
                            s.offset
                        ));
                        f.reader = Reader::open(&p, s.offset).ok().filter(|r| r.id == old);
                    }
                    None => {
                        note = Some(format!(
                            "{} was replaced while the server was down and the old file is gone; lines written to it after offset {} are lost",
                            cfg.path.display(),
                            s.offset
                        ));
                    }
                }
                if f.reader.is_none() {
                    f.reader = Reader::open(&cfg.path, 0).ok();
                }
            }
            (None, Some((_, len))) => {
                let at = match cfg.start_at {
                    StartAt::End => len,
                    StartAt::Beginning => 0,
                };
                f.reader = Reader::open(&cfg.path, at).ok();
            }
            (None, None) => {}
        }
        let save = f.reader.as_ref().map(|r| (r.id, r.line_end));
        (f, save, note)
    }

    /// Reads what is new, or looks for rotation and truncation at the end of the file.
    fn step(&mut self) -> Step {
        let mut step = Step::default();
        let Some(r) = &mut self.reader else {
            // Not there yet (or not readable): a file that appears is new, read it all.
            match Reader::open(&self.path, 0) {
                Ok(r) => {
                    step.save = Some((r.id, 0));
                    self.reader = Some(r);
                }
                Err(e) => {
                    step.idle = true;
                    step.note = Some(format!("cannot open {}: {e}", self.path.display()));
                }
            }
            return step;
        };
        match r.read(self.max, &mut step.lines) {
            Ok(0) => {}
            Ok(_) => {
                step.save = Some((r.id, r.line_end));
                return step;
            }
            Err(e) => {
                step.idle = true;
                step.note = Some(format!("cannot read {}: {e}", self.path.display()));
                return step;
            }
        }
        // At the end of the open file.
        if let Ok(m) = r.file.metadata()
            && m.len() < r.read_pos
        {
            // copytruncate: read again from the start.
            let id = r.id;
            match r.file.seek(SeekFrom::Start(0)) {
                Ok(_) => {
                    r.read_pos = 0;
                    r.line_end = 0;
                    r.partial.clear();
                    r.overflow = false;
                    step.save = Some((id, 0));
                }
                Err(e) => {
                    step.note = Some(format!("cannot read {}: {e}", self.path.display()));
                    step.idle = true;
                }
            }
            return step;
        }
        match std::fs::metadata(&self.path) {
            Ok(m) if file_id(&m) != r.id => {
                // Rotated: the old file to its end (it may have grown since the last read),
                // then the new one.
                // Bounded by lines and by bytes (audit lines at RequestResponse level are big).
                let full = |lines: &[Line]| {
                    lines.len() > 10_000
                        || lines.iter().map(|l| l.bytes.len()).sum::<usize>() > CATCH_UP_BYTES
                };
                loop {
                    match r.read(self.max, &mut step.lines) {
                        Ok(0) | Err(_) => break,
                        Ok(_) if full(&step.lines) => break,
                        Ok(_) => {}
                    }
                }
                if full(&step.lines) {
                    step.save = Some((r.id, r.line_end));
                    return step;
                }
                r.finish(&mut step.lines);
                let old_end = (r.id, r.line_end);
                match Reader::open(&self.path, 0) {
                    Ok(new) => {
                        step.save = Some((new.id, 0));
                        self.reader = Some(new);
                    }
                    Err(_) => {
                        // Gone again between the look and the open: keep the old one.
                        step.save = Some(old_end);
                    }
                }
            }
            _ => step.idle = true,
        }
        step
    }
}

/// A file in the folder of `path` that is `id` (the same file, rotated to another name).
fn find_rotated(path: &Path, id: FileId) -> Option<PathBuf> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::read_dir(dir)
        .ok()?
        .take(MAX_DIR_ENTRIES)
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            std::fs::metadata(p)
                .ok()
                .is_some_and(|m| m.is_file() && file_id(&m) == id)
        })
}

/// The events of one line (none for a blank one).
pub fn line_events(cfg: &FileSource, line: &Line, received: i64) -> Vec<Event> {
    let mut text = String::from_utf8_lossy(&line.bytes).into_owned();
    if text.ends_with('\r') {
        text.pop();
    }
    if text.trim().is_empty() && !line.truncated {
        return Vec::new();
    }
    // The store refuses NUL anywhere; keep the event rather than lose it.
    if text.contains('\0') {
        text = text.replace('\0', "\u{FFFD}");
    }
    if line.truncated {
        let mut cut = cfg
            .max_line_bytes
            .saturating_sub(TRUNCATION_MARKER.len())
            .min(text.len());
        while cut > 0 && !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str(TRUNCATION_MARKER);
    }
    let mut opts = ParseOptions::new(cfg.source.clone(), received);
    opts.max_event_bytes = cfg.max_line_bytes.max(text.len());
    let mut events = parse::parse(cfg.kind, text.as_bytes(), &opts);
    if line.truncated {
        for e in &mut events {
            e.truncated = true;
        }
    }
    events
}

/// Follows one file until `stop`.
async fn follow(state: Arc<AppState>, cfg: Arc<FileSource>, mut stop: watch::Receiver<bool>) {
    let at = saved_path(&state.settings.data_dir, &cfg.path);
    let mut last_note: Option<String> = None;
    let mut note = |state: &AppState, n: Option<String>| {
        if let Some(n) = n
            && last_note.as_ref() != Some(&n)
        {
            state.log(&format!("file: {n}"));
            last_note = Some(n);
        }
    };
    let start = {
        let cfg = Arc::clone(&cfg);
        let at = at.clone();
        tokio::task::spawn_blocking(move || {
            let (saved, err) = match load_saved(&at, &cfg.path) {
                Ok(s) => (s, None),
                Err(e) => (None, Some(e)),
            };
            let (f, save, n) = Follower::start(&cfg, saved);
            (f, save, err.or(n))
        })
        .await
    };
    let (mut follower, first_save, n) = match start {
        Ok(x) => x,
        Err(e) => {
            state.log(&format!("file: {}: cannot start: {e}", cfg.path.display()));
            return;
        }
    };
    note(&state, n);
    let mut saved: Option<(FileId, u64)> = None;
    if let Some(s) = first_save {
        save(&state, &at, &cfg.path, s, &mut saved).await;
    }
    loop {
        if *stop.borrow() {
            return;
        }
        let r = tokio::task::spawn_blocking(move || {
            let step = follower.step();
            (follower, step)
        })
        .await;
        let step;
        (follower, step) = match r {
            Ok(x) => x,
            Err(e) => {
                state.log(&format!("file: {}: stopped: {e}", cfg.path.display()));
                return;
            }
        };
        note(&state, step.note);
        if !step.lines.is_empty() {
            let received = now_nanos();
            let events: Vec<Event> = step
                .lines
                .iter()
                .flat_map(|l| line_events(&cfg, l, received))
                .collect();
            if !append(&state, &cfg, &events, &mut stop).await {
                // Stopping before the store took them: read again at the next start.
                return;
            }
        }
        if let Some(s) = step.save {
            save(&state, &at, &cfg.path, s, &mut saved).await;
        }
        if step.idle {
            tokio::select! {
                _ = tokio::time::sleep(cfg.poll_interval) => {}
                _ = serving::stopped(&mut stop) => return,
            }
        }
    }
}

async fn save(
    state: &AppState,
    at: &Path,
    path: &Path,
    (id, offset): (FileId, u64),
    last: &mut Option<(FileId, u64)>,
) {
    if *last == Some((id, offset)) {
        return;
    }
    let saved = Saved {
        path: path.to_string_lossy().into_owned(),
        dev: id.dev,
        inode: id.ino,
        offset,
    };
    let at_owned = at.to_path_buf();
    match tokio::task::spawn_blocking(move || store_saved(&at_owned, &saved)).await {
        Ok(Ok(())) => *last = Some((id, offset)),
        Ok(Err(e)) => state.log(&format!(
            "file: cannot save the offset of {} in {}: {e} (a restart would read those lines again)",
            path.display(),
            at.display()
        )),
        Err(e) => state.log(&format!("file: cannot save an offset: {e}")),
    }
}

/// Appends `events` (waiting for a slot: the store's pace is the reader's); `false` when
/// stopped before the store took them.
async fn append(
    state: &AppState,
    cfg: &FileSource,
    events: &[Event],
    stop: &mut watch::Receiver<bool>,
) -> bool {
    if events.is_empty() {
        return true;
    }
    let mut wait = Duration::from_millis(250);
    loop {
        let slot = tokio::select! {
            s = state.event_slots.acquire() => s,
            _ = serving::stopped(stop) => return false,
        };
        let Ok(slot) = slot else {
            return false;
        };
        match state.events.append(events).await {
            Ok(receipt) => {
                let rejected: std::collections::HashSet<usize> =
                    receipt.rejected.iter().map(|r| r.index).collect();
                let errors = events
                    .iter()
                    .enumerate()
                    .filter(|(i, e)| e.parse_error.is_some() && !rejected.contains(i))
                    .count() as u64;
                state.metrics.event_parse_errors(errors);
                // Stored: the append slot goes back before waiting on detection.
                drop(slot);
                state.stored(events, &receipt).await;
                if let Some(r) = receipt.rejected.first() {
                    state.log(&format!(
                        "file: {}: the event store refused {} line(s): {}",
                        cfg.path.display(),
                        receipt.rejected.len(),
                        r.reason
                    ));
                }
                return true;
            }
            Err(e) => {
                super::super::metrics::store_error();
                state.log(&format!(
                    "file: {}: cannot store {} event(s), retrying in {}s: {e}",
                    cfg.path.display(),
                    events.len(),
                    wait.as_secs_f32()
                ));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = serving::stopped(stop) => return false,
        }
        wait = (wait * 2).min(MAX_RETRY_WAIT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wait_for_their_newline_and_are_bounded() {
        let dir = std::env::temp_dir().join(format!("palisade-file-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.log");
        std::fs::write(&p, b"one\ntw").unwrap();
        let mut r = Reader::open(&p, 0).unwrap();
        let mut out = Vec::new();
        r.read(8, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].bytes, b"one");
        assert_eq!(r.line_end, 4);
        std::fs::write(&p, b"one\ntwo\n0123456789abc\nok\n").unwrap();
        out.clear();
        r.read(8, &mut out).unwrap();
        let got: Vec<(&[u8], bool)> = out.iter().map(|l| (&l.bytes[..], l.truncated)).collect();
        assert_eq!(
            got,
            vec![
                (&b"two"[..], false),
                (&b"01234567"[..], true),
                (&b"ok"[..], false)
            ]
        );
        assert_eq!(r.line_end, 25);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn truncated_lines_keep_the_marker() {
        let mut cfg = FileSource::new("/x", parse::Kind::Json);
        cfg.max_line_bytes = 600;
        let line = Line {
            bytes: vec![b'{'; 600],
            truncated: true,
        };
        let e = line_events(&cfg, &line, 7);
        assert_eq!(e.len(), 1);
        assert!(e[0].truncated);
        assert!(e[0].parse_error.is_some());
        assert!(e[0].raw.ends_with(TRUNCATION_MARKER), "{}", e[0].raw);
        assert!(e[0].raw.len() <= 600);
        let blank = Line {
            bytes: b"  \r".to_vec(),
            truncated: false,
        };
        assert!(line_events(&cfg, &blank, 7).is_empty());
    }
}
