//! What a policy sees as `input`, and how a result's field path leads back to a line.
//!
//! Kubernetes objects and plain JSON/YAML documents are handed over as the JSON value of the
//! document. A Dockerfile is handed over in the shape conftest gives it (its
//! `parser/docker` package, on top of BuildKit's parser): an array with one object per
//! instruction, each comment line before an instruction as its own `comment` entry:
//!
//! ```json
//! [{"Cmd": "from", "SubCmd": "", "JSON": false, "Flags": [], "Value": ["alpine:3.20", "AS", "build"], "Stage": 0}]
//! ```
//!
//! `Cmd` is lower-cased; `Value` is split the way BuildKit splits each instruction's arguments
//! (`RUN` shell form is one string, exec form one string per element with `JSON` true, `ENV`
//! and `LABEL` give `key, value, "="` triples, …) and is `null` when there are none; `Flags`
//! are the `--name=value` words as written; `Stage` counts `FROM`s from 0.

use palisade_misconfig::dockerfile::Dockerfile;
use palisade_yaml::Node;
use serde_json::{Value, json};

/// Which kind of document a policy gets as `input`. Trivy-style policies name the kinds they
/// apply to in `__rego_input__` (or `custom.input.selector` in `# METADATA`); others see all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InputKind {
    /// One Kubernetes object (a `List` is split into its items).
    Kubernetes,
    /// A Dockerfile, as conftest shapes it.
    Dockerfile,
    /// Any JSON document.
    Json,
    /// Any YAML document.
    Yaml,
}

impl InputKind {
    /// The selector `type` that picks this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::Kubernetes => "kubernetes",
            InputKind::Dockerfile => "dockerfile",
            InputKind::Json => "json",
            InputKind::Yaml => "yaml",
        }
    }

    /// Parses a selector type or `--input-type` value (any letter case).
    pub fn parse(s: &str) -> Option<InputKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "kubernetes" | "k8s" => Some(InputKind::Kubernetes),
            "dockerfile" | "containerfile" => Some(InputKind::Dockerfile),
            "json" => Some(InputKind::Json),
            "yaml" | "yml" => Some(InputKind::Yaml),
            _ => None,
        }
    }

    /// How rule documentation names inputs of this kind.
    pub fn title(self) -> &'static str {
        match self {
            InputKind::Kubernetes => "Kubernetes",
            InputKind::Dockerfile => "Dockerfile",
            InputKind::Json => "JSON",
            InputKind::Yaml => "YAML",
        }
    }
}

/// A Dockerfile as conftest's input, with the line each array element starts on.
pub fn dockerfile_input(text: &str) -> (Value, Vec<u32>) {
    let df = Dockerfile::parse(text);
    let lines: Vec<&str> = text.lines().collect();
    let escape = escape_token(&lines);
    let mut commands = Vec::new();
    let mut starts = Vec::new();
    let mut prev_end = 0u32;
    for ins in &df.instructions {
        // Comment lines since the previous instruction; a bare `#` drops those before it.
        let mut comments: Vec<(u32, String)> = Vec::new();
        for n in prev_end + 1..ins.start_line {
            let Some(l) = lines.get(n as usize - 1) else {
                break;
            };
            if let Some(c) = l.trim_start().strip_prefix('#') {
                let c = c.trim();
                if c.is_empty() {
                    comments.clear();
                } else {
                    comments.push((n, c.to_string()));
                }
            }
        }
        prev_end = ins.end_line.max(ins.start_line);
        for (n, c) in comments {
            commands.push(json!({
                "Cmd": "comment", "SubCmd": "", "JSON": false, "Flags": null,
                "Value": [c], "Stage": ins.stage,
            }));
            starts.push(n);
        }
        let logical = logical_line(&lines, ins.start_line, escape);
        let mut cmd = command(&logical);
        cmd["Stage"] = json!(ins.stage);
        commands.push(cmd);
        starts.push(ins.start_line);
    }
    (Value::Array(commands), starts)
}

fn escape_token(lines: &[&str]) -> char {
    for l in lines {
        let Some(rest) = l.trim().strip_prefix('#') else {
            break;
        };
        let Some((k, v)) = rest.split_once('=') else {
            break;
        };
        if k.trim().eq_ignore_ascii_case("escape") && v.trim() == "`" {
            return '`';
        }
    }
    '\\'
}

/// The instruction starting on `start` with its continuation lines joined as BuildKit joins
/// them: the escape token and the blanks after it removed, nothing added, comment and empty
/// lines inside skipped.
fn logical_line(lines: &[&str], start: u32, escape: char) -> String {
    let strip = |l: &str| -> Option<String> {
        let t = l.trim_end_matches([' ', '\t']);
        t.strip_suffix(escape).map(str::to_string)
    };
    let Some(first) = lines.get(start as usize - 1) else {
        return String::new();
    };
    let first = first.trim_start();
    let mut out;
    match strip(first) {
        None => return first.to_string(),
        Some(s) => out = s,
    }
    for l in lines.iter().skip(start as usize) {
        if l.trim_start().starts_with('#') || l.trim().is_empty() {
            continue;
        }
        match strip(l) {
            Some(s) => out.push_str(&s),
            None => {
                out.push_str(l);
                break;
            }
        }
    }
    out
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0b' | '\x0c' | '\r')
}

/// One instruction as a conftest command (without `Stage`).
fn command(logical: &str) -> Value {
    let line = logical.trim();
    let (cmd, rest) = match line.find(is_blank) {
        Some(i) => (&line[..i], line[i..].trim_start_matches(is_blank)),
        None => (line, ""),
    };
    let cmd = cmd.to_ascii_lowercase();
    let (flags, args) = split_flags(rest);
    let (sub, values, json_form) = if cmd == "onbuild" {
        let (sub, sub_rest) = match args.find(is_blank) {
            Some(i) => (&args[..i], args[i..].trim_start_matches(is_blank)),
            None => (args, ""),
        };
        let sub = sub.to_ascii_lowercase();
        let (_, sub_args) = split_flags(sub_rest);
        let (v, j) = arguments(&sub, sub_args);
        (sub, v, j)
    } else {
        let (v, j) = arguments(&cmd, args);
        (String::new(), v, j)
    };
    json!({
        "Cmd": cmd,
        "SubCmd": sub,
        "JSON": json_form,
        "Flags": flags,
        "Value": values.map_or(Value::Null, |v| json!(v)),
    })
}

/// Leading `--flag` words.
fn split_flags(rest: &str) -> (Vec<String>, &str) {
    let mut flags = Vec::new();
    let mut s = rest;
    while s.starts_with("--") {
        let end = s.find(is_blank).unwrap_or(s.len());
        let word = &s[..end];
        if word == "--" {
            break;
        }
        flags.push(word.to_string());
        s = s[end..].trim_start_matches(is_blank);
    }
    (flags, s)
}

/// BuildKit's per-instruction argument split: the values, and whether they were JSON.
fn arguments(cmd: &str, args: &str) -> (Option<Vec<String>>, bool) {
    let args = args.trim_end_matches(is_blank);
    let some = |v: Vec<String>| (if v.is_empty() { None } else { Some(v) }, false);
    match cmd {
        "add" | "copy" | "volume" => match json_array(args) {
            Some(v) => (Some(v), true),
            None => some(whitespace_split(args)),
        },
        "arg" => some(words(args)),
        "cmd" | "entrypoint" | "run" | "shell" => maybe_json(args),
        "env" | "label" => some(name_values(args)),
        "expose" | "from" => some(whitespace_split(args)),
        "healthcheck" => {
            let (typ, rest) = match args.find(char::is_whitespace) {
                Some(i) => (&args[..i], args[i..].trim_start()),
                None => (args, ""),
            };
            if typ.is_empty() {
                return (None, false);
            }
            let (v, j) = maybe_json(rest);
            let mut all = vec![typ.to_string()];
            all.extend(v.unwrap_or_default());
            (Some(all), j)
        }
        "maintainer" | "stopsignal" | "user" | "workdir" => some(if args.is_empty() {
            vec![]
        } else {
            vec![args.to_string()]
        }),
        // BuildKit keeps unknown instructions with one empty value.
        _ => (Some(vec![String::new()]), false),
    }
}

fn maybe_json(args: &str) -> (Option<Vec<String>>, bool) {
    if args.is_empty() {
        return (None, false);
    }
    match json_array(args) {
        Some(v) => (Some(v), true),
        None => (Some(vec![args.to_string()]), false),
    }
}

fn json_array(args: &str) -> Option<Vec<String>> {
    let t = args.trim_start();
    if !t.starts_with('[') {
        return None;
    }
    let items: Vec<Value> = serde_json::from_str(t).ok()?;
    items
        .into_iter()
        .map(|v| match v {
            Value::String(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn whitespace_split(args: &str) -> Vec<String> {
    if args.is_empty() {
        return Vec::new();
    }
    args.split(is_blank).map(str::to_string).collect()
}

/// Words separated by blanks; quotes are kept, as BuildKit's parser keeps them.
fn words(rest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut blank_ok = false;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                } else if c == '\\' && q != '\'' {
                    match chars.next() {
                        Some(n) => {
                            cur.push(c);
                            cur.push(n);
                        }
                        None => cur.push(c),
                    }
                    continue;
                }
                cur.push(c);
            }
            None => {
                if c.is_whitespace() {
                    if in_word && (blank_ok || !cur.is_empty()) {
                        out.push(std::mem::take(&mut cur));
                    }
                    in_word = false;
                    blank_ok = false;
                    continue;
                }
                in_word = true;
                if c == '\'' || c == '"' {
                    quote = Some(c);
                    blank_ok = true;
                } else if c == '\\' {
                    if let Some(n) = chars.next() {
                        cur.push(c);
                        cur.push(n);
                    }
                    continue;
                }
                cur.push(c);
            }
        }
    }
    if in_word && (blank_ok || !cur.is_empty()) {
        out.push(cur);
    }
    out
}

/// `ENV`/`LABEL`: `key, value, "="` per pair, or `key, value, ""` for the legacy
/// `ENV key value` form.
fn name_values(args: &str) -> Vec<String> {
    let w = words(args);
    let Some(first) = w.first() else {
        return Vec::new();
    };
    if !first.contains('=') {
        let mut parts = args.splitn(2, is_blank);
        let k = parts.next().unwrap_or("");
        let v = parts.next().unwrap_or("").trim_start_matches(is_blank);
        return vec![k.to_string(), v.to_string(), String::new()];
    }
    let mut out = Vec::new();
    for word in w {
        if let Some((k, v)) = word.split_once('=') {
            out.extend([k.to_string(), v.to_string(), "=".to_string()]);
        }
    }
    out
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Reads `spec.containers[0].image`, `metadata.labels["app.kubernetes.io/name"]` or a JSON
/// array of keys and indexes. A leading `input` is dropped.
fn parse_path(path: &Value) -> Option<Vec<Step>> {
    let mut steps = match path {
        Value::String(s) => parse_path_text(s)?,
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Some(Step::Key(s.clone())),
                Value::Number(n) => n.as_u64().map(|n| Step::Index(n as usize)),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    if steps.first() == Some(&Step::Key("input".into())) {
        steps.remove(0);
    }
    Some(steps)
}

fn parse_path_text(s: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut chars = s.trim().trim_start_matches("$.").chars().peekable();
    let mut key = String::new();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if !key.is_empty() {
                    steps.push(Step::Key(std::mem::take(&mut key)));
                }
            }
            '[' => {
                if !key.is_empty() {
                    steps.push(Step::Key(std::mem::take(&mut key)));
                }
                let mut inner = String::new();
                match chars.peek() {
                    Some(&q) if q == '"' || q == '\'' => {
                        chars.next();
                        for c in chars.by_ref() {
                            if c == q {
                                break;
                            }
                            inner.push(c);
                        }
                        if chars.next() != Some(']') {
                            return None;
                        }
                        steps.push(Step::Key(inner));
                    }
                    _ => {
                        for c in chars.by_ref() {
                            if c == ']' {
                                break;
                            }
                            inner.push(c);
                        }
                        let inner = inner.trim();
                        match inner.parse::<usize>() {
                            Ok(i) => steps.push(Step::Index(i)),
                            Err(_) => steps.push(Step::Key(inner.to_string())),
                        }
                    }
                }
            }
            c => key.push(c),
        }
    }
    if !key.is_empty() {
        steps.push(Step::Key(key));
    }
    (!steps.is_empty()).then_some(steps)
}

/// The line a field path points at in `root`: the key (or list item) of the deepest part of
/// the path that exists, so a missing `metadata.labels.team` points at `labels:`.
pub fn field_line(root: &Node, path: &Value) -> Option<u32> {
    let steps = parse_path(path)?;
    let mut node = root;
    let mut line = None;
    for step in steps {
        let next = match step {
            Step::Key(k) => node
                .entry(&k)
                .map(|(key, value)| (key.span.start_line, value)),
            Step::Index(i) => node
                .as_seq()
                .and_then(|s| s.get(i))
                .map(|n| (n.span.start_line, n)),
        };
        match next {
            Some((l, n)) => {
                line = Some(l);
                node = n;
            }
            None => break,
        }
    }
    line
}

/// For a Dockerfile input, the line of the instruction a path like `[3]` names.
pub fn dockerfile_line(starts: &[u32], path: &Value) -> Option<u32> {
    match parse_path(path)?.first()? {
        Step::Index(i) => starts.get(*i).copied(),
        Step::Key(k) => k.parse::<usize>().ok().and_then(|i| starts.get(i).copied()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_in_conftest_shape() {
        let text = "# syntax=docker/dockerfile:1\nARG BASE=\"debian:12\"\n# base image\nFROM ${BASE} AS build\nRUN apt-get update && \\\n    # inside\n    apt-get install -y curl\nENV A=1 B=\"two words\"\nENV LEGACY some value\nCOPY --from=build --chown=1:1 /a /b\n#\n# dropped above\nFROM scratch\nCMD [\"/app\", \"--flag\"]\nHEALTHCHECK CMD curl -f http://x\nONBUILD RUN make\nUSER app\n";
        let (v, starts) = dockerfile_input(text);
        let a = v.as_array().unwrap();
        let short: Vec<(String, Value, u64)> = a
            .iter()
            .map(|c| {
                (
                    c["Cmd"].as_str().unwrap().to_string(),
                    c["Value"].clone(),
                    c["Stage"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            short,
            vec![
                ("comment".into(), json!(["syntax=docker/dockerfile:1"]), 0),
                ("arg".into(), json!(["BASE=\"debian:12\""]), 0),
                ("comment".into(), json!(["base image"]), 0),
                ("from".into(), json!(["${BASE}", "AS", "build"]), 0),
                (
                    "run".into(),
                    json!(["apt-get update &&     apt-get install -y curl"]),
                    0
                ),
                (
                    "env".into(),
                    json!(["A", "1", "=", "B", "\"two words\"", "="]),
                    0
                ),
                ("env".into(), json!(["LEGACY", "some value", ""]), 0),
                ("copy".into(), json!(["/a", "/b"]), 0),
                ("comment".into(), json!(["dropped above"]), 1),
                ("from".into(), json!(["scratch"]), 1),
                ("cmd".into(), json!(["/app", "--flag"]), 1),
                ("healthcheck".into(), json!(["CMD", "curl -f http://x"]), 1),
                ("onbuild".into(), json!(["make"]), 1),
                ("user".into(), json!(["app"]), 1),
            ]
        );
        assert_eq!(a[7]["Flags"], json!(["--from=build", "--chown=1:1"]));
        assert_eq!(a[10]["JSON"], json!(true));
        assert_eq!(a[12]["SubCmd"], json!("run"));
        assert_eq!(a[1]["Flags"], json!([]));
        assert_eq!(starts, [1, 2, 3, 4, 5, 8, 9, 10, 12, 13, 14, 15, 16, 17]);
        assert_eq!(dockerfile_line(&starts, &json!("[9]")), Some(13));
    }

    #[test]
    fn field_paths_find_lines() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n    app.kubernetes.io/name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: nginx\n      - name: b\n        image: redis:latest\n";
        let stream = palisade_yaml::parse_stream(text);
        let root = &stream.documents[0].root;
        let line = |p: Value| field_line(root, &p);
        assert_eq!(
            line(json!("spec.template.spec.containers[1].image")),
            Some(14)
        );
        assert_eq!(
            line(json!("input.spec.template.spec.containers[0]")),
            Some(11)
        );
        assert_eq!(
            line(json!("metadata.labels[\"app.kubernetes.io/name\"]")),
            Some(6)
        );
        assert_eq!(line(json!("metadata.labels.team")), Some(5));
        assert_eq!(
            line(json!(["spec", "template", "spec", "containers", 1, "name"])),
            Some(13)
        );
        assert_eq!(line(json!("nothing.here")), None);
        assert_eq!(line(json!(42)), None);
    }
}
