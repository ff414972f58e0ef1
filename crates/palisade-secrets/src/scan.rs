//! Applying the engine to what users point at: files and directories (`.gitignore` honoured
//! unless asked otherwise), archives inside them, every layer of an image (files deleted by a
//! later layer included, and the image configuration's `Env` and history), and git history
//! (the lines each commit added).
//!
//! Everything read from outside is bounded: file sizes, archive entries, archive depth and
//! expansion; binary files are skipped by sniffing.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use palisade_core::{
    CodeLine, CommitRef, Finding, InputProblem, LayerRef, Location, ProblemKind, Report, RuleInfo,
    Severity, Suppression, SuppressionSource,
};

use crate::engine::{Engine, Hit};
use crate::rule::Check;

/// How to scan.
#[derive(Debug, Clone)]
pub struct Options {
    /// Show secrets in full instead of their first four characters.
    pub show_secrets: bool,
    /// Scan files `.gitignore` and `.ignore` exclude too.
    pub no_ignore: bool,
    /// Files larger than this are skipped with a note.
    pub max_file_size: u64,
    /// Open zip, jar and tar(.gz) archives.
    pub archives: bool,
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            show_secrets: false,
            no_ignore: false,
            max_file_size: 100 * 1024 * 1024,
            archives: true,
            threads: 0,
        }
    }
}

/// Archive limits: nesting, entries, and bytes expanded per archive.
const MAX_ARCHIVE_DEPTH: usize = 3;
const MAX_ARCHIVE_ENTRIES: usize = 20_000;
const MAX_ARCHIVE_BYTES: u64 = 512 * 1024 * 1024;

/// FNV-1a 64: a fingerprint stable across runs and platforms.
fn fingerprint(rule: &str, path: &str, secret: &str) -> String {
    let mut h = palisade_core::hash::Fnv1a::new();
    for part in [rule, path, secret] {
        h.bytes(part.as_bytes());
        h.byte(0);
    }
    format!("{:016x}", h.finish())
}

fn lower(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium => Severity::Low,
        other => other,
    }
}

/// Is this binary data (a NUL in the first 8 KB)?
pub fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(8192)].contains(&0)
}

/// Where a text came from, for findings.
#[derive(Clone, Default)]
pub struct Origin {
    pub path: String,
    pub layer: Option<LayerRef>,
    pub commit: Option<CommitRef>,
    /// A note appended to messages, e.g. "deleted in a later layer".
    pub note: Option<String>,
    /// Lines of `data` map to these real line numbers (git hunks); None: 1:1.
    pub line_map: Option<Vec<u32>>,
}

/// Turns engine hits in `data` into findings.
pub fn findings(engine: &Engine, data: &[u8], origin: &Origin, opts: &Options) -> Vec<Finding> {
    let hits = engine.scan(&origin.path, data);
    hits.into_iter()
        .map(|h| finding(engine, data, &h, origin, opts))
        .collect()
}

fn finding(engine: &Engine, data: &[u8], h: &Hit, origin: &Origin, opts: &Options) -> Finding {
    let rule = engine.rules()[h.rule];
    let shown = if opts.show_secrets {
        h.secret.clone()
    } else {
        crate::redact(&h.secret)
    };
    let mut message = format!("{} {shown}", rule.meta.title);
    if h.check == Check::ChecksumMismatch {
        message.push_str(" (its checksum does not match: a made-up or mistyped value?)");
    }
    if let Some(n) = &origin.note {
        message.push_str(&format!(" ({n})"));
    }
    let line = origin
        .line_map
        .as_ref()
        .and_then(|m| m.get(h.line as usize - 1).copied())
        .unwrap_or(h.line);
    let end_line = line + h.secret.matches('\n').count() as u32;
    let mut location = Location::lines(&origin.path, line, end_line);
    if end_line == line {
        location.start_column = Some(h.column);
        location.end_column = Some(h.column + h.secret.chars().count() as u32);
    }
    location.layer = origin.layer.clone();
    location.commit = origin.commit.clone();
    // The line, with the secret masked unless asked.
    let line_start = data[..h.start]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line_end = data[h.start..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(data.len(), |i| h.start + i);
    let mut text = String::from_utf8_lossy(&data[line_start..line_end]).into_owned();
    if !opts.show_secrets {
        let first_line_of_secret = h.secret.lines().next().unwrap_or("");
        if !first_line_of_secret.is_empty() {
            text = text.replace(first_line_of_secret, &crate::redact(&h.secret));
        }
    }
    let text: String = text.chars().take(200).collect();
    let mut f = Finding::new(&rule.meta, message, location);
    if h.check == Check::ChecksumMismatch {
        f.severity = lower(f.severity);
    }
    f.code = vec![CodeLine {
        number: line,
        text,
        highlight: true,
    }];
    f.fingerprint = Some(fingerprint(rule.meta.id, &origin.path, &h.secret));
    if h.allowed_inline {
        f.suppressed = Some(Suppression {
            source: SuppressionSource::InlineComment,
            reason: Some("palisade:allow comment on the line".into()),
        });
    }
    f
}

/// The rules of the engine, as reports describe them.
pub fn rule_infos(engine: &Engine, findings: &[Finding]) -> Vec<RuleInfo> {
    let used: std::collections::HashSet<&str> =
        findings.iter().map(|f| f.rule_id.as_str()).collect();
    engine
        .rules()
        .iter()
        .filter(|r| used.contains(r.meta.id))
        .map(|r| r.meta.info())
        .collect()
}

fn problem(kind: ProblemKind, path: &str, message: impl Into<String>) -> InputProblem {
    InputProblem {
        kind,
        path: path.to_string(),
        line: None,
        message: message.into(),
    }
}

fn is_archive_name(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if [".zip", ".jar", ".war", ".ear", ".apk", ".whl", ".nupkg"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        Some("zip")
    } else if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        Some("tgz")
    } else if lower.ends_with(".tar") {
        Some("tar")
    } else {
        None
    }
}

/// Scans one file's bytes (opening it as an archive when it is one).
fn scan_bytes(
    engine: &Engine,
    data: &[u8],
    origin: &Origin,
    opts: &Options,
    depth: usize,
    out: &mut Vec<Finding>,
    problems: &mut Vec<InputProblem>,
) {
    if opts.archives
        && let Some(kind) = is_archive_name(&origin.path)
    {
        if depth >= MAX_ARCHIVE_DEPTH {
            problems.push(problem(
                ProblemKind::Skipped,
                &origin.path,
                format!("archive nested deeper than {MAX_ARCHIVE_DEPTH} levels; not opened"),
            ));
            return;
        }
        match kind {
            "zip" => scan_zip(engine, data, origin, opts, depth, out, problems),
            _ => scan_tar(
                engine,
                data,
                kind == "tgz",
                origin,
                opts,
                depth,
                out,
                problems,
            ),
        }
        return;
    }
    if is_binary(data) {
        return;
    }
    out.extend(findings(engine, data, origin, opts));
}

#[allow(clippy::too_many_arguments)]
fn scan_zip(
    engine: &Engine,
    data: &[u8],
    origin: &Origin,
    opts: &Options,
    depth: usize,
    out: &mut Vec<Finding>,
    problems: &mut Vec<InputProblem>,
) {
    let mut zip = match zip::ZipArchive::new(std::io::Cursor::new(data)) {
        Ok(z) => z,
        Err(e) => {
            problems.push(problem(
                ProblemKind::Skipped,
                &origin.path,
                format!("not a readable zip archive ({e}); not opened"),
            ));
            return;
        }
    };
    let mut budget = MAX_ARCHIVE_BYTES;
    for i in 0..zip.len().min(MAX_ARCHIVE_ENTRIES) {
        let Ok(mut entry) = zip.by_index(i) else {
            continue;
        };
        if !entry.is_file() {
            continue;
        }
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("entry {i}"));
        let limit = opts.max_file_size.min(budget);
        let mut buf = Vec::new();
        if let Err(e) = (&mut entry).take(limit + 1).read_to_end(&mut buf) {
            problems.push(problem(
                ProblemKind::Error,
                &format!("{}!/{name}", origin.path),
                format!("cannot read: {e}"),
            ));
            continue;
        }
        if buf.len() as u64 > limit {
            problems.push(problem(
                ProblemKind::Skipped,
                &format!("{}!/{name}", origin.path),
                "expands past the archive limits (a zip bomb?); the rest of the archive is not read",
            ));
            break;
        }
        budget -= buf.len() as u64;
        let inner = Origin {
            path: format!("{}!/{name}", origin.path),
            ..origin.clone()
        };
        scan_bytes(engine, &buf, &inner, opts, depth + 1, out, problems);
    }
    if zip.len() > MAX_ARCHIVE_ENTRIES {
        problems.push(problem(
            ProblemKind::Skipped,
            &origin.path,
            format!("more than {MAX_ARCHIVE_ENTRIES} entries; the rest were not read"),
        ));
    }
}

#[allow(clippy::too_many_arguments)]
fn scan_tar(
    engine: &Engine,
    data: &[u8],
    gzip: bool,
    origin: &Origin,
    opts: &Options,
    depth: usize,
    out: &mut Vec<Finding>,
    problems: &mut Vec<InputProblem>,
) {
    let reader: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(data).take(MAX_ARCHIVE_BYTES))
    } else {
        Box::new(data)
    };
    let mut archive = tar::Archive::new(reader);
    let Ok(entries) = archive.entries() else {
        problems.push(problem(
            ProblemKind::Skipped,
            &origin.path,
            "not a readable tar archive; not opened",
        ));
        return;
    };
    for (count, entry) in entries.enumerate() {
        if count >= MAX_ARCHIVE_ENTRIES {
            problems.push(problem(
                ProblemKind::Skipped,
                &origin.path,
                format!("more than {MAX_ARCHIVE_ENTRIES} entries; the rest were not read"),
            ));
            break;
        }
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(problem(
                    ProblemKind::Error,
                    &origin.path,
                    format!("corrupt or truncated archive ({e}); entries before are scanned"),
                ));
                break;
            }
        };
        if entry.header().entry_type() != tar::EntryType::Regular
            || entry.size() > opts.max_file_size
        {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let mut buf = Vec::new();
        if (&mut entry)
            .take(opts.max_file_size)
            .read_to_end(&mut buf)
            .is_err()
        {
            break;
        }
        let inner = Origin {
            path: format!("{}!/{name}", origin.path),
            ..origin.clone()
        };
        scan_bytes(engine, &buf, &inner, opts, depth + 1, out, problems);
    }
}

/// Scans a file or a directory tree.
pub fn scan_path(engine: &Engine, root: &Path, opts: &Options) -> Report {
    let display = root.display().to_string();
    let mut report = Report::new("secret", vec![display.clone()]);
    let meta = match std::fs::metadata(root) {
        Ok(m) => m,
        Err(e) => {
            report.problems.push(problem(
                ProblemKind::Error,
                &display,
                format!("cannot read: {e}"),
            ));
            report.finish();
            return report;
        }
    };
    let results = Mutex::new((Vec::new(), Vec::new(), 0usize));
    let scan_file = |path: &Path| {
        let shown = path.display().to_string();
        let shown = shown.strip_prefix("./").unwrap_or(&shown).to_string();
        let mut found = Vec::new();
        let mut probs = Vec::new();
        match std::fs::metadata(path) {
            Ok(m) if m.len() > opts.max_file_size => probs.push(problem(
                ProblemKind::Skipped,
                &shown,
                format!(
                    "file is {} MB, over the {} MB limit; not scanned",
                    m.len() >> 20,
                    opts.max_file_size >> 20
                ),
            )),
            Ok(_) => match std::fs::read(path) {
                Ok(data) => {
                    let origin = Origin {
                        path: shown.clone(),
                        ..Origin::default()
                    };
                    scan_bytes(engine, &data, &origin, opts, 0, &mut found, &mut probs);
                }
                Err(e) => probs.push(problem(
                    ProblemKind::Error,
                    &shown,
                    format!("cannot read: {e}"),
                )),
            },
            Err(e) => probs.push(problem(
                ProblemKind::Error,
                &shown,
                format!("cannot read: {e}"),
            )),
        }
        let mut r = results.lock().expect("no worker panics");
        r.0.extend(found);
        r.1.extend(probs);
        r.2 += 1;
    };
    if meta.is_file() {
        scan_file(root);
    } else {
        let threads = match opts.threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let mut builder = ignore::WalkBuilder::new(root);
        builder
            .hidden(false)
            .follow_links(false)
            .git_ignore(!opts.no_ignore)
            .git_exclude(!opts.no_ignore)
            .ignore(!opts.no_ignore)
            .parents(!opts.no_ignore)
            .git_global(false)
            .require_git(false)
            .threads(threads)
            .filter_entry(|e| e.file_name() != ".git");
        builder.build_parallel().run(|| {
            Box::new(|entry| {
                match entry {
                    Ok(e) if e.file_type().is_some_and(|t| t.is_file()) => scan_file(e.path()),
                    Ok(_) => {}
                    Err(err) => {
                        let mut r = results.lock().expect("no worker panics");
                        r.1.push(problem(ProblemKind::Error, &display, err.to_string()));
                    }
                }
                ignore::WalkState::Continue
            })
        });
    }
    let (found, probs, files) = results.into_inner().expect("no worker panics");
    report.findings = found;
    report.problems = probs;
    report.files.push(palisade_core::report::ScannedFile {
        path: display,
        kind: "files".into(),
        resources: files,
    });
    report.rules = rule_infos(engine, &report.findings);
    report.finish();
    report
}

/// Scans every layer of an image, and its configuration's `Env` and history.
pub fn scan_image(
    engine: &Engine,
    target: &palisade_artifact::TargetRef,
    name: &str,
    artifact: &palisade_artifact::Options,
    opts: &Options,
) -> Result<Report, palisade_artifact::ArtifactError> {
    struct Collect<'a> {
        engine: &'a Engine,
        opts: &'a Options,
        found: Vec<(Finding, String, Option<usize>)>,
        problems: Vec<InputProblem>,
        files: usize,
    }
    impl palisade_artifact::Visitor for Collect<'_> {
        fn wants(&mut self, file: &palisade_artifact::FileMeta<'_>) -> bool {
            self.files += 1;
            file.size <= self.opts.max_file_size.min(64 * 1024 * 1024)
        }
        fn visit(&mut self, file: &palisade_artifact::FileMeta<'_>, content: &[u8]) {
            let origin = Origin {
                path: format!("/{}", file.path),
                layer: file.layer.cloned(),
                ..Origin::default()
            };
            let mut out = Vec::new();
            scan_bytes(
                self.engine,
                content,
                &origin,
                self.opts,
                0,
                &mut out,
                &mut self.problems,
            );
            let index = file.layer.map(|l| l.index);
            self.found
                .extend(out.into_iter().map(|f| (f, file.path.to_string(), index)));
        }
        fn discard_layer(&mut self, index: usize) {
            self.found.retain(|(_, _, l)| *l != Some(index));
        }
    }
    let mut c = Collect {
        engine,
        opts,
        found: Vec::new(),
        problems: Vec::new(),
        files: 0,
    };
    let walked = palisade_artifact::walk(target, artifact, &mut c)?;
    let mut report = Report::new("secret", vec![name.to_string()]);
    for (mut f, path, layer) in c.found {
        if !walked.fs.present(&path, layer) {
            let note = match walked.fs.get(&path) {
                Some(_) => "replaced by a later layer; still readable in this one",
                None => "deleted by a later layer; still readable in this one",
            };
            f.message.push_str(&format!(" ({note})"));
        }
        report.findings.push(f);
    }
    // The image configuration: Env and the commands of each history entry.
    if let Some(image) = &walked.image {
        if let Some(env) = image.config.config.as_ref().and_then(|c| c.env.as_ref()) {
            let text = env.join("\n");
            let origin = Origin {
                path: "image config: Env".into(),
                ..Origin::default()
            };
            report
                .findings
                .extend(findings(engine, text.as_bytes(), &origin, opts));
        }
        for (i, h) in image.config.history.iter().enumerate() {
            if let Some(cmd) = &h.created_by {
                let origin = Origin {
                    path: format!("image config: history[{i}].created_by"),
                    ..Origin::default()
                };
                report
                    .findings
                    .extend(findings(engine, cmd.as_bytes(), &origin, opts));
            }
        }
    }
    report.problems = c.problems;
    report.problems.extend(walked.problems);
    report.files.push(palisade_core::report::ScannedFile {
        path: name.to_string(),
        kind: "image".into(),
        resources: c.files,
    });
    report.rules = rule_infos(engine, &report.findings);
    report.finish();
    Ok(report)
}

/// Scans the lines each commit of the repository's history (from HEAD) added, with the
/// `git` command.
pub fn scan_git(engine: &Engine, repo: &Path, opts: &Options) -> Report {
    let display = repo.display().to_string();
    let mut report = Report::new("secret", vec![display.clone()]);
    let child = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args([
            "log",
            "-p",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
            "--format=%x1e%H%x1f%an <%ae>%x1f%aI",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            report.problems.push(problem(
                ProblemKind::Error,
                &display,
                format!("cannot run git: {e} (install git to scan history)"),
            ));
            report.finish();
            return report;
        }
    };
    let stdout = child.stdout.take().expect("piped");
    let reader = std::io::BufReader::new(stdout);
    let mut commit: Option<CommitRef> = None;
    let mut file: Option<String> = None;
    let mut added: Vec<u8> = Vec::new();
    let mut line_map: Vec<u32> = Vec::new();
    let mut next_line = 0u32;
    let mut commits = 0usize;
    let flush = |commit: &Option<CommitRef>,
                 file: &Option<String>,
                 added: &mut Vec<u8>,
                 line_map: &mut Vec<u32>,
                 report: &mut Report| {
        if let (Some(c), Some(f)) = (commit, file)
            && !added.is_empty()
            && !is_binary(added)
        {
            let origin = Origin {
                path: f.clone(),
                commit: Some(c.clone()),
                line_map: Some(std::mem::take(line_map)),
                ..Origin::default()
            };
            let mut out = findings(engine, added, &origin, opts);
            for f in &mut out {
                f.message.push_str(&format!(
                    " (added in {} by {})",
                    &c.sha[..c.sha.len().min(12)],
                    c.author
                ));
            }
            report.findings.extend(out);
        }
        added.clear();
        line_map.clear();
    };
    for raw in reader.split(b'\n') {
        let Ok(line) = raw else { break };
        if let Some(rest) = line.strip_prefix(b"\x1e") {
            flush(&commit, &file, &mut added, &mut line_map, &mut report);
            file = None;
            let text = String::from_utf8_lossy(rest);
            let mut parts = text.split('\x1f');
            commit = Some(CommitRef {
                sha: parts.next().unwrap_or("").to_string(),
                author: parts.next().unwrap_or("").to_string(),
                date: parts.next().unwrap_or("").to_string(),
            });
            commits += 1;
        } else if let Some(path) = line.strip_prefix(b"+++ ") {
            flush(&commit, &file, &mut added, &mut line_map, &mut report);
            let p = String::from_utf8_lossy(path);
            file = (p != "/dev/null").then(|| p.strip_prefix("b/").unwrap_or(&p).to_string());
        } else if line.starts_with(b"@@ ") {
            // @@ -a,b +c,d @@: new lines start at c.
            let text = String::from_utf8_lossy(&line);
            next_line = text
                .split_whitespace()
                .find_map(|w| w.strip_prefix('+'))
                .and_then(|w| w.split(',').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
        } else if let Some(content) = line.strip_prefix(b"+") {
            if added.len() as u64 + content.len() as u64 > opts.max_file_size {
                continue;
            }
            added.extend_from_slice(content);
            added.push(b'\n');
            line_map.push(next_line);
            next_line += 1;
        }
    }
    flush(&commit, &file, &mut added, &mut line_map, &mut report);
    let status = child.wait();
    if !status.is_ok_and(|s| s.success()) {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        report.problems.push(problem(
            ProblemKind::Error,
            &display,
            format!("git log failed ({}); history read up to there", err.trim()),
        ));
    }
    report.files.push(palisade_core::report::ScannedFile {
        path: display,
        kind: "git history".into(),
        resources: commits,
    });
    report.rules = rule_infos(engine, &report.findings);
    report.finish();
    report
}

/// A path as a string for messages.
pub fn shown(p: &Path) -> String {
    PathBuf::from(p).display().to_string()
}
