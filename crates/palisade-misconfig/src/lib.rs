//! Misconfiguration scanning of Kubernetes manifests and Dockerfiles.
//!
//! [`scan`] takes the paths a user named, finds the manifests and Dockerfiles under them,
//! reads each with line numbers, runs the built-in rules and returns a
//! [`Report`](palisade_core::Report). Files are read one at a time per worker and dropped
//! after their checks, so memory stays flat however large the tree; only small
//! [`ObjectFacts`](rule::ObjectFacts) are kept for checks that need the whole set (such as
//! namespaces without a NetworkPolicy).
//!
//! Bad input never stops a scan: every unreadable, oversized, binary or broken file becomes an
//! [`InputProblem`] with its path and line, and the other files are still checked.
//!
//! What does not live here: suppression by ignore file and severity filtering (the binary
//! applies them to every scanner alike), rendering.

pub mod dockerfile;
pub mod k8s;
pub mod pss;
pub mod rule;
#[cfg(test)]
mod testing;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use palisade_core::report::{PssResult, ScannedFile};
use palisade_core::{
    Finding, InputProblem, LineIndex, Location, ProblemKind, Report, RuleInfo, RuleMeta, Severity,
    Suppression, SuppressionSource,
};
use palisade_yaml::{Node, Span};

use crate::dockerfile::Dockerfile;
use crate::k8s::Resource;
use crate::pss::PssLevel;
use crate::rule::{Hit, ObjectFacts};

/// Files larger than this are skipped with a note.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// Annotation listing rule ids to ignore for an object and its pod template.
pub const IGNORE_ANNOTATION: &str = "palisade.dev/ignore";
/// Annotation saying why.
pub const IGNORE_REASON_ANNOTATION: &str = "palisade.dev/ignore-reason";

/// What to scan.
#[derive(Debug, Clone)]
pub enum Input {
    /// A file or directory.
    Path(PathBuf),
    /// Text read from standard input.
    Stdin(String),
}

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Rule ids that do not run.
    pub disabled: HashSet<String>,
    /// Severity changes by rule id.
    pub severity_overrides: HashMap<String, Severity>,
    /// Run only the Pod Security Standards rules of this level and report the level each
    /// workload meets.
    pub pss: Option<PssLevel>,
    pub max_file_size: u64,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            disabled: HashSet::new(),
            severity_overrides: HashMap::new(),
            pss: None,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            threads: 0,
        }
    }
}

/// What a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Kubernetes,
    Dockerfile,
}

impl FileType {
    /// Classifies a file by its name: `*.yaml`, `*.yml`, `*.json` are manifests; `Dockerfile`,
    /// `Containerfile`, `*.Dockerfile`, `Dockerfile.*` are Dockerfiles.
    pub fn from_name(path: &Path) -> Option<FileType> {
        let name = path.file_name()?.to_str()?;
        let lower = name.to_ascii_lowercase();
        // `Dockerfile.dev` is a Dockerfile; `Dockerfile.dockerignore` (BuildKit's per-file
        // ignore list), editor and patch leftovers and other formats are not.
        const NOT_DOCKERFILE: &[&str] = &[
            "dockerignore",
            "md",
            "txt",
            "vim",
            "swp",
            "orig",
            "rej",
            "bak",
            "json",
            "yaml",
            "yml",
            "sh",
            "lock",
            "sum",
            "go",
            "py",
            "rs",
            "js",
            "ts",
            "html",
            "j2",
            "tmpl",
            "tpl",
            "template",
        ];
        let suffix_ok =
            |rest: &str| !NOT_DOCKERFILE.contains(&rest.rsplit('.').next().unwrap_or(rest));
        if lower == "dockerfile"
            || lower == "containerfile"
            || lower.ends_with(".dockerfile")
            || lower.ends_with(".containerfile")
            || lower.strip_prefix("dockerfile.").is_some_and(suffix_ok)
            || lower.strip_prefix("containerfile.").is_some_and(suffix_ok)
        {
            return Some(FileType::Dockerfile);
        }
        let ext = lower.rsplit_once('.')?.1;
        matches!(ext, "yaml" | "yml" | "json").then_some(FileType::Kubernetes)
    }
}

/// Every built-in rule's metadata, Kubernetes first, sorted by id.
pub fn builtin_rules() -> Vec<&'static RuleMeta> {
    let mut v: Vec<&'static RuleMeta> = k8s::rules::RULES
        .iter()
        .map(|r| &r.meta)
        .chain(k8s::rules::SET_RULES.iter().map(|r| &r.meta))
        .chain(dockerfile::rules::RULES.iter().map(|r| &r.meta))
        .collect();
    v.sort_by_key(|m| m.id);
    v
}

/// Looks a built-in rule up by id (case-insensitive).
pub fn find_rule(id: &str) -> Option<&'static RuleMeta> {
    builtin_rules()
        .into_iter()
        .find(|m| m.id.eq_ignore_ascii_case(id))
}

struct Candidate {
    path: PathBuf,
    display: String,
    file_type: Option<FileType>,
    explicit: bool,
}

#[derive(Default)]
struct FileOutcome {
    findings: Vec<Finding>,
    problems: Vec<InputProblem>,
    scanned: Option<ScannedFile>,
    facts: Vec<ObjectFacts>,
    pss: Vec<PssResult>,
}

/// Scans the inputs and returns the report (not yet filtered by severity or ignore file).
pub fn scan(inputs: &[Input], opts: &ScanOptions) -> Report {
    let targets = inputs
        .iter()
        .map(|i| match i {
            Input::Path(p) => p.display().to_string(),
            Input::Stdin(_) => "-".to_string(),
        })
        .collect();
    let mut report = Report::new("config", targets);
    let mut candidates = Vec::new();
    let mut outcomes = Vec::new();
    for input in inputs {
        match input {
            Input::Path(p) => discover(p, &mut candidates, &mut report.problems),
            Input::Stdin(text) => outcomes.push(scan_text("<stdin>", None, text, opts, true)),
        }
    }

    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(candidates.len()));
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(candidates.len().max(1));
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(c) = candidates.get(i) else { break };
            let outcome = scan_file(c, opts);
            results.lock().expect("no worker panics").push(outcome);
        }
    };
    if threads <= 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(work);
            }
        });
    }
    outcomes.extend(results.into_inner().expect("no worker panics"));

    let mut facts = Vec::new();
    for o in outcomes {
        report.findings.extend(o.findings);
        report.problems.extend(o.problems);
        report.files.extend(o.scanned);
        report.pss.extend(o.pss);
        facts.extend(o.facts);
    }
    if opts.pss.is_none() {
        report.pss.clear();
    }
    facts.sort_by(|a, b| (&a.path, a.span.start_line).cmp(&(&b.path, b.span.start_line)));
    for rule in k8s::rules::SET_RULES {
        if !rule_enabled(&rule.meta, opts) {
            continue;
        }
        let mut hits = Vec::new();
        (rule.check)(&facts, &mut hits);
        for (idx, message) in hits {
            let f = &facts[idx];
            let mut finding = new_finding(
                &rule.meta,
                message,
                Location::lines(&f.path, f.span.start_line, f.span.start_line),
                opts,
            );
            finding.resource = Some(f.resource.clone());
            finding.suppressed = annotation_suppression(f.ignored.as_ref(), rule.meta.id);
            report.findings.push(finding);
        }
    }
    report.rules = used_rules(&report.findings);
    report.finish();
    report
}

/// The metadata of the rules that produced `findings`.
fn used_rules(findings: &[Finding]) -> Vec<RuleInfo> {
    let ids: HashSet<&str> = findings.iter().map(|f| f.rule_id.as_str()).collect();
    builtin_rules()
        .into_iter()
        .filter(|m| ids.contains(m.id))
        .map(RuleMeta::info)
        .collect()
}

fn rule_enabled(meta: &RuleMeta, opts: &ScanOptions) -> bool {
    if opts
        .disabled
        .iter()
        .any(|d| d.eq_ignore_ascii_case(meta.id))
    {
        return false;
    }
    match opts.pss {
        None => true,
        Some(level) => pss::rule_in_level(meta, level),
    }
}

fn new_finding(
    meta: &RuleMeta,
    message: String,
    location: Location,
    opts: &ScanOptions,
) -> Finding {
    let mut f = Finding::new(meta, message, location);
    if let Some(s) = opts.severity_overrides.get(meta.id) {
        f.severity = *s;
    }
    f
}

fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    let s = s.strip_prefix("./").unwrap_or(&s);
    s.to_string()
}

fn problem(
    kind: ProblemKind,
    path: &str,
    line: Option<u32>,
    message: impl Into<String>,
) -> InputProblem {
    InputProblem {
        kind,
        path: path.to_string(),
        line,
        message: message.into(),
    }
}

/// Directories never worth descending into for manifests.
fn skip_dir(name: &str) -> bool {
    matches!(
        name,
        ".git" | "node_modules" | ".terraform" | ".venv" | "target"
    )
}

fn discover(root: &Path, out: &mut Vec<Candidate>, problems: &mut Vec<InputProblem>) {
    let display = display_path(root);
    let meta = match std::fs::metadata(root) {
        Ok(m) => m,
        Err(e) => {
            problems.push(problem(ProblemKind::Error, &display, None, io_message(&e)));
            return;
        }
    };
    if !meta.is_dir() {
        out.push(Candidate {
            path: root.to_path_buf(),
            display,
            file_type: FileType::from_name(root),
            explicit: true,
        });
        return;
    }
    // Symbolic links are not followed while walking: a link inside the tree points at
    // something the walk reaches anyway, and a link out of it must not pull unrelated (or
    // sensitive) files into a report. Each link out is noted.
    let root_real = std::fs::canonicalize(root).ok();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0 || !e.file_type().is_dir() || !skip_dir(&e.file_name().to_string_lossy())
        });
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                if let Some(t) = FileType::from_name(e.path()) {
                    out.push(Candidate {
                        path: e.path().to_path_buf(),
                        display: display_path(e.path()),
                        file_type: Some(t),
                        explicit: false,
                    });
                }
            }
            Ok(e) if e.path_is_symlink() => {
                let path = display_path(e.path());
                match std::fs::canonicalize(e.path()) {
                    Ok(target) => {
                        let inside = root_real.as_ref().is_some_and(|r| target.starts_with(r));
                        // Only links that would have mattered: manifests, Dockerfiles, folders.
                        let relevant = FileType::from_name(e.path()).is_some() || target.is_dir();
                        if !inside && relevant {
                            problems.push(problem(
                                ProblemKind::Skipped,
                                &path,
                                None,
                                format!(
                                    "symbolic link to {} outside the scanned folder; not followed (scan the target itself to include it)",
                                    target.display()
                                ),
                            ));
                        }
                    }
                    Err(err) => {
                        let why = if err.raw_os_error() == Some(40) {
                            "symbolic link loop; not followed".to_string()
                        } else {
                            format!("broken symbolic link ({}); not followed", io_message(&err))
                        };
                        problems.push(problem(ProblemKind::Skipped, &path, None, why));
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                let path = e
                    .path()
                    .map(display_path)
                    .unwrap_or_else(|| display.clone());
                let message = match e.io_error() {
                    Some(io) => io_message(io),
                    None => e.to_string(),
                };
                problems.push(problem(ProblemKind::Error, &path, None, message));
            }
        }
    }
}

fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => {
            "permission denied; check the file's permissions".into()
        }
        _ if e.raw_os_error() == Some(40) => {
            "too many levels of symbolic links (a symlink loop?)".into()
        }
        _ => format!("cannot read: {e}"),
    }
}

fn scan_file(c: &Candidate, opts: &ScanOptions) -> FileOutcome {
    let mut outcome = FileOutcome::default();
    let text = match read_text(&c.path, &c.display, opts.max_file_size) {
        Ok(t) => t,
        Err(p) => {
            // A large or binary file found by walking a tree is not worth a note unless it
            // looked like one of ours by name.
            if c.explicit || c.file_type.is_some() {
                outcome.problems.push(p);
            }
            return outcome;
        }
    };
    if !c.explicit
        && c.file_type == Some(FileType::Kubernetes)
        && !(text.contains("apiVersion") && text.contains("kind"))
    {
        return outcome;
    }
    scan_text(&c.display, c.file_type, &text, opts, c.explicit)
}

/// Reads a file as UTF-8 text within the size limit, or says why not.
fn read_text(path: &Path, display: &str, max: u64) -> Result<String, InputProblem> {
    let err = |kind, msg: String| problem(kind, display, None, msg);
    let file = std::fs::File::open(path).map_err(|e| err(ProblemKind::Error, io_message(&e)))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > max {
        return Err(err(
            ProblemKind::Skipped,
            format!(
                "file is {:.1} MB, over the {} MB limit; not scanned",
                len as f64 / 1_048_576.0,
                max / 1_048_576
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(ProblemKind::Error, io_message(&e)))?;
    if bytes.len() as u64 > max {
        return Err(err(
            ProblemKind::Skipped,
            format!("file is over the {} MB limit; not scanned", max / 1_048_576),
        ));
    }
    decode_text(bytes).map_err(|m| {
        let kind = if m.starts_with("binary") {
            ProblemKind::Skipped
        } else {
            ProblemKind::Error
        };
        err(kind, m)
    })
}

fn decode_text(mut bytes: Vec<u8>) -> Result<String, String> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err("file is UTF-16 encoded; convert it to UTF-8 to scan it".into());
    }
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Err("binary file (contains NUL bytes); not scanned".into());
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        format!("not valid UTF-8 text (line {line}, byte offset {offset}); convert it to UTF-8")
    })
}

/// Scans text whose type is known, or guessed when `file_type` is None.
fn scan_text(
    display: &str,
    file_type: Option<FileType>,
    text: &str,
    opts: &ScanOptions,
    explicit: bool,
) -> FileOutcome {
    let file_type = file_type.unwrap_or_else(|| guess_type(text));
    match file_type {
        FileType::Kubernetes => scan_manifest(display, text, opts),
        FileType::Dockerfile => scan_dockerfile(display, text, opts, explicit),
    }
}

fn guess_type(text: &str) -> FileType {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("");
    let kw = first
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    if matches!(kw.as_str(), "FROM" | "ARG") {
        FileType::Dockerfile
    } else {
        FileType::Kubernetes
    }
}

/// Is this file a template of a Helm chart (under `templates/` of a folder that holds
/// `Chart.yaml`)? Such files are not YAML until rendered, even when they happen to parse.
fn in_helm_chart(display: &str) -> bool {
    let path = Path::new(display);
    path.ancestors().skip(1).any(|dir| {
        dir.file_name().is_some_and(|n| n == "templates")
            && dir
                .parent()
                .is_some_and(|chart| chart.join("Chart.yaml").is_file())
    })
}

/// Expands `List` objects into their items; other nodes yield themselves.
pub(crate) fn objects_of(root: &Node) -> Vec<&Node> {
    let is_list = root
        .get("kind")
        .and_then(Node::as_str)
        .is_some_and(|k| k == "List" || (k.ends_with("List") && root.get("items").is_some()));
    if is_list {
        root.get("items")
            .map(|i| i.items().iter().collect())
            .unwrap_or_default()
    } else if root.as_map().is_some() {
        vec![root]
    } else {
        Vec::new()
    }
}

fn scan_manifest(display: &str, text: &str, opts: &ScanOptions) -> FileOutcome {
    let mut out = FileOutcome::default();
    let template_note = || {
        problem(
            ProblemKind::Skipped,
            display,
            None,
            "not scanned: template (render it first, e.g. `helm template . | palisade scan config -`)",
        )
    };
    if in_helm_chart(display) {
        out.problems.push(template_note());
        return out;
    }
    let stream = palisade_yaml::parse_stream(text);
    let lines = LineIndex::new(text);
    // Go-template actions (`{{- if … }}`) make a file invalid YAML; plain manifests may hold
    // `{{ }}` inside strings (alert templates) and still parse, and are scanned.
    if stream.error.is_some() && text.contains("{{") {
        out.problems.push(template_note());
        return out;
    }
    if let Some(e) = &stream.error {
        let what = if display.ends_with(".json") {
            "JSON"
        } else {
            "YAML"
        };
        out.problems.push(problem(
            ProblemKind::Error,
            display,
            Some(e.line()),
            format!("invalid {what}: {e}"),
        ));
    }
    let mut resources = 0;
    for doc in &stream.documents {
        for node in objects_of(&doc.root) {
            let Some(r) = Resource::from_node(node) else {
                continue;
            };
            if !r.is_known_kind() {
                continue;
            }
            resources += 1;
            check_resource(display, &lines, &r, opts, &mut out);
        }
    }
    if resources > 0 {
        out.scanned = Some(ScannedFile {
            path: display.to_string(),
            kind: "kubernetes".into(),
            resources,
        });
    }
    out
}

fn check_resource(
    display: &str,
    lines: &LineIndex<'_>,
    r: &Resource<'_>,
    opts: &ScanOptions,
    out: &mut FileOutcome,
) {
    let pod = r.pod();
    let ignored = ignored_ids(r, pod.as_ref());
    let mut pss_violations: Vec<String> = Vec::new();
    let level_wanted = opts.pss.filter(|_| r.is_workload() && pod.is_some());
    for rule in k8s::rules::RULES {
        let enabled = rule_enabled(&rule.meta, opts);
        // A disabled PSS rule still decides the level a workload meets: the level is a fact
        // about the workload, not about which findings the project wants to see.
        let for_level = level_wanted.is_some_and(|l| pss::rule_in_level(&rule.meta, l));
        if !enabled && !for_level {
            continue;
        }
        let mut hits = Vec::new();
        (rule.check)(r, &mut hits);
        if hits.is_empty() {
            continue;
        }
        pss_violations.extend(
            rule.meta
                .controls
                .iter()
                .filter_map(|c| c.strip_prefix("pss:"))
                .map(str::to_string),
        );
        if !enabled {
            continue;
        }
        for hit in hits {
            let mut f = hit_to_finding(&rule.meta, hit, display, lines, opts);
            f.resource = Some(r.reference());
            f.suppressed = annotation_suppression(ignored.as_ref(), rule.meta.id);
            out.findings.push(f);
        }
    }
    if r.is_workload() && pod.is_some() {
        pss_violations.sort();
        pss_violations.dedup();
        out.pss.push(PssResult {
            resource: r.reference(),
            path: display.to_string(),
            line: r.span().start_line,
            level: pss::level_met(&pss_violations, opts.pss).to_string(),
            violations: pss_violations,
        });
    }
    out.facts.push(ObjectFacts {
        resource: r.reference(),
        path: display.to_string(),
        span: r.span(),
        is_workload: r.is_workload(),
        ignored,
    });
}

/// The suppression an object's `palisade.dev/ignore` annotation gives rule `id`, if any.
fn annotation_suppression(
    ignored: Option<&(Vec<String>, Option<String>)>,
    id: &str,
) -> Option<Suppression> {
    let (ids, reason) = ignored?;
    ids.iter()
        .any(|i| i.eq_ignore_ascii_case(id))
        .then(|| Suppression {
            source: SuppressionSource::Annotation,
            reason: reason.clone(),
        })
}

/// Rule ids from `palisade.dev/ignore` on the object or its pod template, with the reason.
fn ignored_ids(
    r: &Resource<'_>,
    pod: Option<&k8s::Pod<'_>>,
) -> Option<(Vec<String>, Option<String>)> {
    let own = r.annotation(IGNORE_ANNOTATION);
    let template = pod
        .and_then(|p| p.annotation(IGNORE_ANNOTATION))
        .and_then(Node::scalar_text);
    if own.is_none() && template.is_none() {
        return None;
    }
    let ids = own
        .into_iter()
        .chain(template)
        .flat_map(|v| v.split([',', ' ']))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let reason = r
        .annotation(IGNORE_REASON_ANNOTATION)
        .or_else(|| {
            pod.and_then(|p| p.annotation(IGNORE_REASON_ANNOTATION))
                .and_then(Node::scalar_text)
        })
        .map(str::to_string);
    Some((ids, reason))
}

fn hit_to_finding(
    meta: &RuleMeta,
    hit: Hit,
    display: &str,
    lines: &LineIndex<'_>,
    opts: &ScanOptions,
) -> Finding {
    let Span {
        start_line,
        start_col,
        end_line,
        end_col,
    } = hit.span;
    let mut location = Location::lines(display, start_line, end_line);
    if start_line == end_line && end_col > start_col {
        location.start_column = Some(start_col);
        location.end_column = Some(end_col);
    }
    let mut f = new_finding(meta, hit.message, location, opts);
    if hit.sensitive {
        // Credentials stay out of reports (and so out of CI logs and code-scanning uploads):
        // only the offending lines, with their values masked.
        f = f.with_code(lines, 0);
        for c in &mut f.code {
            c.text = redact_line(&c.text);
        }
    } else {
        f = f.with_code(lines, 1);
    }
    f.field = hit.field;
    f
}

/// Masks the value of a `key: value` or `KEY=value` line, keeping the key so the reader can
/// find it: `password: "hunter2"` → `password: ****`.
fn redact_line(line: &str) -> String {
    let colon = line.find(": ").map(|i| i + 2);
    let equals = line.find('=').map(|i| i + 1);
    let cut = match (colon, equals) {
        (Some(c), Some(e)) => c.min(e),
        (Some(c), None) => c,
        (None, Some(e)) => e,
        (None, None) => {
            // Dockerfile's legacy `ENV KEY value` form keeps the instruction and the key.
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.len() >= 3 && ["ENV", "ARG"].contains(&words[0].to_ascii_uppercase().as_str())
            {
                return format!("{} {} ****", words[0], words[1]);
            }
            // A value alone on its line (a list item or a block scalar line).
            let indent = line.len() - line.trim_start().len();
            let after_dash = line[indent..]
                .strip_prefix("- ")
                .map_or(indent, |_| indent + 2);
            return format!("{}****", &line[..after_dash]);
        }
    };
    if line[cut..].trim().is_empty() {
        return line.to_string();
    }
    format!("{}****", &line[..cut])
}

fn scan_dockerfile(display: &str, text: &str, opts: &ScanOptions, explicit: bool) -> FileOutcome {
    let mut out = FileOutcome::default();
    let df = Dockerfile::parse(text);
    let lines = LineIndex::new(text);
    if df.stages.is_empty() {
        // Named on the command line it was meant as a Dockerfile: an error. Found by name
        // while walking, it may be something else that happens to be called so.
        let kind = if explicit {
            ProblemKind::Error
        } else {
            ProblemKind::Skipped
        };
        out.problems.push(problem(
            kind,
            display,
            None,
            "no FROM instruction: not a Dockerfile, or an incomplete one; not scanned",
        ));
        return out;
    }
    for rule in dockerfile::rules::RULES {
        if !rule_enabled(&rule.meta, opts) {
            continue;
        }
        let mut hits = Vec::new();
        (rule.check)(&df, &mut hits);
        for hit in hits {
            out.findings
                .push(hit_to_finding(&rule.meta, hit, display, &lines, opts));
        }
    }
    out.scanned = Some(ScannedFile {
        path: display.to_string(),
        kind: "dockerfile".into(),
        resources: df.stages.len(),
    });
    out
}

#[cfg(test)]
mod tests;
