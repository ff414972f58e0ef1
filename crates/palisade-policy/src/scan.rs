//! Running a [`PolicySet`] over files: finding the inputs, shaping each for the policies,
//! and turning results into findings on the right line.
//!
//! The built-in scan (`palisade-misconfig`) reads the same files and already reports files it
//! cannot read; problems found again here are merged, not repeated.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use palisade_core::report::ScannedFile;
use palisade_core::{
    Finding, InputProblem, LineIndex, Location, ProblemKind, Report, ResourceRef, RuleInfo,
    Severity, Suppression, SuppressionSource,
};
use palisade_misconfig::{FileType, IGNORE_ANNOTATION, IGNORE_REASON_ANNOTATION, Input};
use palisade_yaml::Node;

use crate::input::{InputKind, dockerfile_input, dockerfile_line, field_line};
use crate::set::{PolicyError, PolicyResult, PolicySet};

/// How to run policies over files.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Treat inputs as this kind instead of telling by file name (`--input-type`).
    pub input_type: Option<InputKind>,
    /// Rule ids that do not run (any letter case).
    pub disabled: HashSet<String>,
    /// Severity changes by rule id (any letter case).
    pub severity_overrides: HashMap<String, Severity>,
    pub max_file_size: u64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            input_type: None,
            disabled: HashSet::new(),
            severity_overrides: HashMap::new(),
            max_file_size: palisade_misconfig::DEFAULT_MAX_FILE_SIZE,
        }
    }
}

impl ScanOptions {
    fn disabled(&self, id: &str) -> bool {
        self.disabled.iter().any(|d| d.eq_ignore_ascii_case(id))
    }

    fn severity(&self, id: &str) -> Option<Severity> {
        self.severity_overrides
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(id))
            .map(|(_, s)| *s)
    }
}

struct Candidate {
    path: PathBuf,
    display: String,
    kind: Option<InputKind>,
    explicit: bool,
}

/// Runs the policies over the inputs and adds findings, problems, scanned files and the rules
/// that fired to `report`. Call [`Report::finish`] afterwards.
pub fn scan(report: &mut Report, inputs: &[Input], set: &PolicySet, opts: &ScanOptions) {
    let mut candidates = Vec::new();
    let mut out = Outcome::default();
    for input in inputs {
        match input {
            Input::Path(p) => discover(p, opts.input_type, &mut candidates),
            Input::Stdin(text) => {
                let kind = opts.input_type.unwrap_or_else(|| guess(text));
                scan_text("<stdin>", kind, text, true, set, opts, &mut out);
            }
        }
    }
    for c in &candidates {
        let text = match read_text(&c.path, opts.max_file_size) {
            Ok(t) => t,
            Err(message) => {
                if c.explicit || c.kind.is_some() {
                    out.problems.push(problem(&c.display, None, message));
                }
                continue;
            }
        };
        let kind = c.kind.unwrap_or_else(|| guess(&text));
        scan_text(&c.display, kind, &text, c.explicit, set, opts, &mut out);
    }

    let infos: HashMap<String, RuleInfo> = set
        .rule_infos()
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let used: HashSet<&str> = out.findings.iter().map(|f| f.rule_id.as_str()).collect();
    for id in used {
        if let Some(info) = infos.get(id) {
            let mut info = info.clone();
            if let Some(s) = opts.severity(id) {
                info.severity = s;
            }
            report.rules.push(info);
        }
    }
    report.findings.extend(out.findings);
    for p in out.problems {
        let seen = report
            .problems
            .iter()
            .any(|q| q.path == p.path && q.line == p.line && q.message == p.message);
        if !seen {
            report.problems.push(p);
        }
    }
    for f in out.files {
        if !report.files.iter().any(|g| g.path == f.path) {
            report.files.push(f);
        }
    }
}

#[derive(Default)]
struct Outcome {
    findings: Vec<Finding>,
    problems: Vec<InputProblem>,
    files: Vec<ScannedFile>,
}

fn problem(path: &str, line: Option<u32>, message: impl Into<String>) -> InputProblem {
    InputProblem {
        kind: ProblemKind::Error,
        path: path.to_string(),
        line,
        message: message.into(),
    }
}

fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

/// The kind a file has by name, under the `--input-type` the user chose.
fn kind_by_name(path: &Path, forced: Option<InputKind>) -> Option<InputKind> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let by_name = FileType::from_name(path);
    match forced {
        None => by_name.map(|t| match t {
            FileType::Kubernetes => InputKind::Kubernetes,
            FileType::Dockerfile => InputKind::Dockerfile,
        }),
        Some(InputKind::Kubernetes) => {
            matches!(ext.as_str(), "yaml" | "yml" | "json").then_some(InputKind::Kubernetes)
        }
        Some(InputKind::Dockerfile) => {
            (by_name == Some(FileType::Dockerfile)).then_some(InputKind::Dockerfile)
        }
        Some(InputKind::Json) => (ext == "json").then_some(InputKind::Json),
        Some(InputKind::Yaml) => matches!(ext.as_str(), "yaml" | "yml").then_some(InputKind::Yaml),
    }
}

fn discover(root: &Path, forced: Option<InputKind>, out: &mut Vec<Candidate>) {
    let Ok(meta) = std::fs::metadata(root) else {
        // The built-in scan reports paths that do not exist.
        return;
    };
    if !meta.is_dir() {
        out.push(Candidate {
            path: root.to_path_buf(),
            display: display_path(root),
            kind: forced.or_else(|| kind_by_name(root, None)),
            explicit: true,
        });
        return;
    }
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0
                || !e.file_type().is_dir()
                || !matches!(
                    e.file_name().to_string_lossy().as_ref(),
                    ".git" | "node_modules" | ".terraform" | ".venv" | "target"
                )
        });
    for entry in walker.flatten() {
        if !entry.file_type().is_file() {
            continue;
        }
        if let Some(kind) = kind_by_name(entry.path(), forced) {
            out.push(Candidate {
                path: entry.path().to_path_buf(),
                display: display_path(entry.path()),
                kind: Some(kind),
                explicit: false,
            });
        }
    }
}

fn guess(text: &str) -> InputKind {
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
        InputKind::Dockerfile
    } else {
        InputKind::Kubernetes
    }
}

fn read_text(path: &Path, max: u64) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "file is over the {} MB limit; not scanned",
            max / 1_048_576
        ));
    }
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Err("binary file (contains NUL bytes); not scanned".into());
    }
    String::from_utf8(bytes).map_err(|_| "not valid UTF-8 text; convert it to UTF-8".to_string())
}

/// Where one input document sits in its file.
enum Anchor<'a> {
    Tree(&'a Node),
    Dockerfile(&'a [u32]),
}

fn scan_text(
    display: &str,
    kind: InputKind,
    text: &str,
    explicit: bool,
    set: &PolicySet,
    opts: &ScanOptions,
    out: &mut Outcome,
) {
    let lines = LineIndex::new(text);
    let mut evaluated = 0;
    match kind {
        InputKind::Dockerfile => {
            let (input, starts) = dockerfile_input(text);
            if input.as_array().is_none_or(|a| a.is_empty()) {
                return;
            }
            evaluated += 1;
            let ctx = Ctx {
                display,
                lines: &lines,
                set,
                opts,
            };
            ctx.evaluate(
                &input.to_string(),
                kind,
                Anchor::Dockerfile(&starts),
                None,
                out,
            );
        }
        InputKind::Kubernetes | InputKind::Json | InputKind::Yaml => {
            if kind == InputKind::Kubernetes
                && !explicit
                && !(text.contains("apiVersion") && text.contains("kind"))
            {
                return;
            }
            let stream = palisade_yaml::parse_stream(text);
            if let Some(e) = &stream.error {
                if !text.contains("{{") {
                    let what = if display.ends_with(".json") {
                        "JSON"
                    } else {
                        "YAML"
                    };
                    out.problems.push(problem(
                        display,
                        Some(e.line()),
                        format!("invalid {what}: {e}"),
                    ));
                }
                if stream.documents.is_empty() || text.contains("{{") {
                    return;
                }
            }
            let ctx = Ctx {
                display,
                lines: &lines,
                set,
                opts,
            };
            for doc in &stream.documents {
                if doc.root.is_null() {
                    continue;
                }
                let docs: Vec<&Node> = if kind == InputKind::Kubernetes {
                    objects_of(&doc.root)
                } else {
                    vec![&doc.root]
                };
                for node in docs {
                    evaluated += 1;
                    let resource = (kind == InputKind::Kubernetes)
                        .then(|| resource_of(node))
                        .flatten();
                    ctx.evaluate(&node.to_json(), kind, Anchor::Tree(node), resource, out);
                }
            }
        }
    }
    if evaluated > 0 {
        out.files.push(ScannedFile {
            path: display.to_string(),
            kind: kind.as_str().to_string(),
            resources: evaluated,
        });
    }
}

/// Kubernetes objects of a document: the items of a `List`, or the document itself.
fn objects_of(root: &Node) -> Vec<&Node> {
    let is_list = root
        .get("kind")
        .and_then(Node::as_str)
        .is_some_and(|k| k == "List" || (k.ends_with("List") && root.get("items").is_some()));
    if is_list {
        root.get("items")
            .map(|i| i.items().iter().collect())
            .unwrap_or_default()
    } else if root.get("kind").and_then(Node::as_str).is_some() {
        vec![root]
    } else {
        Vec::new()
    }
}

fn resource_of(node: &Node) -> Option<ResourceRef> {
    let kind = node.get("kind")?.as_str()?.to_string();
    let meta = node.get("metadata");
    let name = meta
        .and_then(|m| m.get("name").or_else(|| m.get("generateName")))
        .and_then(Node::scalar_text)
        .unwrap_or("")
        .to_string();
    let namespace = meta
        .and_then(|m| m.get("namespace"))
        .and_then(Node::scalar_text)
        .map(str::to_string);
    Some(ResourceRef {
        kind,
        name,
        namespace,
    })
}

struct Ctx<'a> {
    display: &'a str,
    lines: &'a LineIndex<'a>,
    set: &'a PolicySet,
    opts: &'a ScanOptions,
}

impl Ctx<'_> {
    fn evaluate(
        &self,
        json: &str,
        kind: InputKind,
        anchor: Anchor<'_>,
        resource: Option<ResourceRef>,
        out: &mut Outcome,
    ) {
        let input = match regorus::Value::from_json_str(json) {
            Ok(v) => v,
            Err(e) => {
                out.problems.push(problem(
                    self.display,
                    None,
                    format!("cannot hand to policies: {e}"),
                ));
                return;
            }
        };
        let eval = self
            .set
            .evaluate_filtered(input, kind, &|r| !self.opts.disabled(&r.info.id));
        let line_of_doc = match &anchor {
            Anchor::Tree(n) => Some(n.span.start_line),
            Anchor::Dockerfile(_) => None,
        };
        for e in eval.errors {
            let message = match &e {
                PolicyError::Evaluation {
                    rule_id, problem, ..
                } => {
                    format!("custom rule {rule_id} failed on this input: {problem}")
                }
                other => other.to_string(),
            };
            out.problems
                .push(problem(self.display, line_of_doc, message));
        }
        let suppression = match &anchor {
            Anchor::Tree(n) if resource.is_some() => ignored_ids(n),
            _ => None,
        };
        for r in eval.results {
            let line = self.line_of(&r, &anchor).or(line_of_doc);
            out.findings
                .push(self.finding(r, line, resource.clone(), suppression.as_ref()));
        }
    }

    fn line_of(&self, r: &PolicyResult, anchor: &Anchor<'_>) -> Option<u32> {
        if let Some(l) = r
            .line
            .filter(|l| *l >= 1 && (*l as usize) <= self.lines.len())
        {
            return Some(l);
        }
        let field = r.field.as_ref()?;
        match anchor {
            Anchor::Tree(node) => field_line(node, field),
            Anchor::Dockerfile(starts) => dockerfile_line(starts, field),
        }
    }

    fn finding(
        &self,
        r: PolicyResult,
        line: Option<u32>,
        resource: Option<ResourceRef>,
        ignored: Option<&(Vec<String>, Option<String>)>,
    ) -> Finding {
        let info = self
            .set
            .rules()
            .iter()
            .find(|p| p.info.id == r.rule_id)
            .map(|p| &p.info);
        let location = match line {
            Some(l) => Location::lines(self.display, l, l),
            None => Location::file(self.display),
        };
        let suppressed = ignored.and_then(|(ids, reason)| {
            ids.iter()
                .any(|i| i.eq_ignore_ascii_case(&r.rule_id))
                .then(|| Suppression {
                    source: SuppressionSource::Annotation,
                    reason: reason.clone(),
                })
        });
        Finding {
            severity: self.opts.severity(&r.rule_id).unwrap_or(r.severity),
            title: r.title.clone(),
            field: r.field_text(),
            message: r.message,
            location,
            resource,
            fix: info.map(|i| i.fix.clone()).unwrap_or_default(),
            controls: info.map(|i| i.controls.clone()).unwrap_or_default(),
            code: Vec::new(),
            suppressed,
            vulnerability: None,
            fingerprint: None,
            rule_id: r.rule_id,
        }
        .with_code(self.lines, 1)
    }
}

/// Rule ids named by the object's `palisade.dev/ignore` annotation, with the reason.
fn ignored_ids(node: &Node) -> Option<(Vec<String>, Option<String>)> {
    let annotations = node.path(&["metadata", "annotations"])?;
    let ids: Vec<String> = annotations
        .get(IGNORE_ANNOTATION)?
        .scalar_text()?
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let reason = annotations
        .get(IGNORE_REASON_ANNOTATION)
        .and_then(Node::scalar_text)
        .map(str::to_string);
    Some((ids, reason))
}
