//! YAML and JSON documents as trees that remember where every node came from.
//!
//! Security findings must point at the exact line of the offending field, so the
//! usual serde route (which forgets positions) does not fit. This crate turns the
//! events of a YAML 1.2 parser into a small tree of [`Node`]s, each carrying its
//! [`Span`]. JSON is read through the same path: it is valid YAML, and so keeps
//! its positions too.
//!
//! What lives here: parsing, scalar typing, alias expansion with a budget, merge
//! keys, limits on depth and size. What does not: any knowledge of Kubernetes or
//! other schemas; callers walk the tree themselves.

use std::collections::HashMap;
use std::fmt;

use saphyr_parser::{Event, Parser, ScalarStyle, Span as PSpan};

/// A position range in the source, 1-based lines and columns, end inclusive line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Span {
    pub start_line: u32,
    pub start_col: u32,
    pub end_line: u32,
    pub end_col: u32,
}

impl Span {
    /// A span covering both `self` and `other`.
    pub fn join(self, other: Span) -> Span {
        let (start_line, start_col) =
            (self.start_line, self.start_col).min((other.start_line, other.start_col));
        let (end_line, end_col) =
            (self.end_line, self.end_col).max((other.end_line, other.end_col));
        Span {
            start_line,
            start_col,
            end_line,
            end_col,
        }
    }
}

/// The resolved type of a scalar, following the YAML core schema plus the YAML 1.1
/// booleans (`yes`, `no`, `on`, `off`) that Kubernetes' YAML reader still honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    Null,
    Bool(bool),
    Int,
    Float,
    Str,
}

/// The value of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Any scalar: its text as written (after unescaping) and its resolved kind.
    Scalar(String, ScalarKind),
    Seq(Vec<Node>),
    /// Key/value pairs in source order. Keys are nodes too, so a finding can point at them.
    Map(Vec<(Node, Node)>),
}

/// One node of a document with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

impl Node {
    /// The value under `key` in a mapping, if this is a mapping and the key exists.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value node under `key`.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| k.scalar_text() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// Follows a path of mapping keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        let mut node = self;
        for key in keys {
            node = node.get(key)?;
        }
        Some(node)
    }

    /// The text of a scalar of any kind (`true`, `8080` and `nginx` alike).
    pub fn scalar_text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s, kind) if *kind != ScalarKind::Null => Some(s),
            _ => None,
        }
    }

    /// A string scalar's text. Numbers and booleans written without quotes are not strings.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s, ScalarKind::Str) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Scalar(_, ScalarKind::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match &self.value {
            Value::Scalar(s, ScalarKind::Int) => parse_int(s),
            Value::Scalar(s, ScalarKind::Float) => {
                let f: f64 = s.parse().ok()?;
                (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
            }
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Scalar(_, ScalarKind::Null))
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// Items of a sequence; empty for anything else (a missing list and an empty one
    /// mean the same to most checks).
    pub fn items(&self) -> &[Node] {
        self.as_seq().unwrap_or(&[])
    }

    /// Entries of a mapping; empty for anything else.
    pub fn entries(&self) -> &[(Node, Node)] {
        self.as_map().unwrap_or(&[])
    }

    /// Converts the node into a `serde_json`-like plain value description, used for
    /// debugging and for handing documents to engines that want JSON text.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        write_json(self, &mut out);
        out
    }
}

fn write_json(node: &Node, out: &mut String) {
    match &node.value {
        Value::Scalar(_, ScalarKind::Null) => out.push_str("null"),
        Value::Scalar(s, ScalarKind::Bool(b)) => {
            let _ = s;
            out.push_str(if *b { "true" } else { "false" })
        }
        Value::Scalar(s, ScalarKind::Int) => match parse_int(s) {
            Some(i) => out.push_str(&i.to_string()),
            None => write_json_str(s, out),
        },
        Value::Scalar(s, ScalarKind::Float) => match s.parse::<f64>() {
            Ok(f) if f.is_finite() => out.push_str(&format!("{f}")),
            _ => write_json_str(s, out),
        },
        Value::Scalar(s, ScalarKind::Str) => write_json_str(s, out),
        Value::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match &k.value {
                    Value::Scalar(s, _) => write_json_str(s, out),
                    _ => write_json_str(&k.to_json(), out),
                }
                out.push(':');
                write_json(v, out);
            }
            out.push('}');
        }
    }
}

fn write_json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Parses an integer the way Kubernetes' YAML reader (go-yaml v2) does: underscores are
/// ignored, `0x`, `0o` and `0b` prefixes and a leading `0` (octal) select the base.
fn parse_int(s: &str) -> Option<i64> {
    let plain: String = s.chars().filter(|c| *c != '_').collect();
    let (neg, digits) = match plain.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, plain.strip_prefix('+').unwrap_or(&plain)),
    };
    if digits.is_empty() || s.starts_with('_') {
        return None;
    }
    let (radix, body) = if let Some(h) = digits.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = digits.strip_prefix("0o") {
        (8, o)
    } else if let Some(b) = digits.strip_prefix("0b") {
        (2, b)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() {
        return None;
    }
    let v = i64::from_str_radix(body, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// One document of a YAML stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub root: Node,
}

/// Why a stream could not be read in full.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("line {line}, column {col}: {message}")]
    Syntax {
        line: u32,
        col: u32,
        message: String,
    },
    #[error("line {line}: nesting deeper than {limit} levels")]
    TooDeep { line: u32, limit: usize },
    #[error("line {line}: aliases expand to more than {limit} nodes (possible alias bomb)")]
    AliasBudget { line: u32, limit: usize },
    #[error("line {line}: alias to unknown anchor")]
    UnknownAlias { line: u32 },
}

impl Error {
    /// The 1-based line the problem was found on.
    pub fn line(&self) -> u32 {
        match self {
            Error::Syntax { line, .. }
            | Error::TooDeep { line, .. }
            | Error::AliasBudget { line, .. }
            | Error::UnknownAlias { line } => *line,
        }
    }
}

/// Limits that keep a hostile document from exhausting the stack or memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum nesting of collections.
    pub max_depth: usize,
    /// Maximum number of nodes that alias expansion may add to a stream.
    pub max_alias_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 200,
            max_alias_nodes: 100_000,
        }
    }
}

/// The outcome of reading a stream: every document read before the first error, and that
/// error if there was one. Callers can still check the documents that came before a
/// broken one, which is what a user expects of a partly broken file.
#[derive(Debug)]
pub struct Stream {
    pub documents: Vec<Document>,
    pub error: Option<Error>,
}

/// Reads every document of a YAML (or JSON) stream with the default [`Limits`].
pub fn parse_stream(text: &str) -> Stream {
    parse_stream_with(text, Limits::default())
}

enum Frame {
    Seq {
        anchor: usize,
        items: Vec<Node>,
        start: Span,
    },
    Map {
        anchor: usize,
        entries: Vec<(Node, Node)>,
        pending_key: Option<Node>,
        start: Span,
    },
}

/// Reads every document of a stream with explicit limits.
pub fn parse_stream_with(text: &str, limits: Limits) -> Stream {
    let mut parser = Parser::new_from_str(text);
    let mut documents = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut alias_budget = limits.max_alias_nodes;
    let mut root: Option<Node> = None;
    let mut source_lines = SourceLines { text, lines: None };

    loop {
        let (event, pspan) = match parser.next_event() {
            None => break,
            Some(Ok(ev)) => ev,
            Some(Err(e)) => {
                let m = e.marker();
                if e.info().contains("recursion limit") {
                    // The scanner's own guard against deep flow collections.
                    return Stream {
                        documents,
                        error: Some(Error::TooDeep {
                            line: m.line() as u32,
                            limit: limits.max_depth,
                        }),
                    };
                }
                return Stream {
                    documents,
                    error: Some(Error::Syntax {
                        line: m.line() as u32,
                        col: m.col() as u32 + 1,
                        message: e.info().to_string(),
                    }),
                };
            }
        };
        let span = convert_span(pspan);
        let complete: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::Nothing => None,
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                anchors.clear();
                root = None;
                None
            }
            Event::DocumentEnd => {
                let node = root.take().unwrap_or(Node {
                    value: Value::Scalar(String::new(), ScalarKind::Null),
                    span,
                });
                documents.push(Document { root: node });
                None
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(node) => {
                    let Some(rest) = charge(node, alias_budget) else {
                        return Stream {
                            documents,
                            error: Some(Error::AliasBudget {
                                line: span.start_line,
                                limit: limits.max_alias_nodes,
                            }),
                        };
                    };
                    alias_budget = rest;
                    let mut copy = node.clone();
                    // The alias is used here: every node of the copy points at the use, which
                    // is what a reader of this part of the file sees.
                    respan(&mut copy, span);
                    Some((copy, 0))
                }
                None => {
                    return Stream {
                        documents,
                        error: Some(Error::UnknownAlias {
                            line: span.start_line,
                        }),
                    };
                }
            },
            Event::Scalar(text, style, anchor, tag) => {
                let kind = resolve_scalar(&text, style, tag.as_deref().map(|t| t.suffix.as_str()));
                Some((
                    Node {
                        value: Value::Scalar(text.into_owned(), kind),
                        span: scalar_span(span, style, &mut source_lines),
                    },
                    anchor,
                ))
            }
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= limits.max_depth {
                    return too_deep(documents, span, limits);
                }
                stack.push(Frame::Seq {
                    anchor,
                    items: Vec::new(),
                    start: span,
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= limits.max_depth {
                    return too_deep(documents, span, limits);
                }
                stack.push(Frame::Map {
                    anchor,
                    entries: Vec::new(),
                    pending_key: None,
                    start: span,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    anchor,
                    items,
                    start,
                }) => {
                    let span = items.iter().fold(start, |acc, n| acc.join(n.span));
                    Some((
                        Node {
                            value: Value::Seq(items),
                            span: Span {
                                start_line: start.start_line,
                                start_col: start.start_col,
                                ..span
                            },
                        },
                        anchor,
                    ))
                }
                _ => None,
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    anchor,
                    entries,
                    start,
                    ..
                }) => {
                    let span = entries
                        .iter()
                        .fold(start, |acc, (k, v)| acc.join(k.span).join(v.span));
                    let entries = apply_merge_keys(entries);
                    Some((
                        Node {
                            value: Value::Map(entries),
                            span: Span {
                                start_line: start.start_line,
                                start_col: start.start_col,
                                ..span
                            },
                        },
                        anchor,
                    ))
                }
                _ => None,
            },
        };
        if let Some((node, anchor)) = complete {
            if anchor != 0 {
                // Keeping a copy for later aliases costs as much as expanding one: charge it
                // to the same budget, or nested anchors alone could exhaust memory.
                let Some(rest) = charge(&node, alias_budget) else {
                    return Stream {
                        documents,
                        error: Some(Error::AliasBudget {
                            line: node.span.start_line,
                            limit: limits.max_alias_nodes,
                        }),
                    };
                };
                alias_budget = rest;
                anchors.insert(anchor, node.clone());
            }
            match stack.last_mut() {
                None => root = Some(node),
                Some(Frame::Seq { items, .. }) => items.push(node),
                Some(Frame::Map {
                    entries,
                    pending_key,
                    ..
                }) => match pending_key.take() {
                    None => *pending_key = Some(node),
                    Some(key) => entries.push((key, node)),
                },
            }
        }
    }
    Stream {
        documents,
        error: None,
    }
}

fn too_deep(documents: Vec<Document>, span: Span, limits: Limits) -> Stream {
    Stream {
        documents,
        error: Some(Error::TooDeep {
            line: span.start_line,
            limit: limits.max_depth,
        }),
    }
}

/// Subtracts the size of `node` from `budget`; None when the budget does not cover it.
/// Counting stops as soon as the budget is exceeded, so a huge node costs little to refuse.
fn charge(node: &Node, budget: usize) -> Option<usize> {
    let mut left = budget;
    let mut todo = vec![node];
    while let Some(n) = todo.pop() {
        left = left.checked_sub(1)?;
        match &n.value {
            Value::Seq(items) => todo.extend(items.iter()),
            Value::Map(entries) => {
                for (k, v) in entries {
                    todo.push(k);
                    todo.push(v);
                }
            }
            Value::Scalar(..) => {}
        }
    }
    Some(left)
}

fn respan(node: &mut Node, span: Span) {
    let mut todo = vec![node];
    while let Some(n) = todo.pop() {
        n.span = span;
        match &mut n.value {
            Value::Seq(items) => todo.extend(items.iter_mut()),
            Value::Map(entries) => {
                for (k, v) in entries {
                    todo.push(k);
                    todo.push(v);
                }
            }
            Value::Scalar(..) => {}
        }
    }
}

/// Applies YAML merge keys (`<<: *base` or `<<: [*a, *b]`) the way Kubernetes' YAML reader
/// (go-yaml v2) does: entries take effect in document order, so a key after a merge overrides
/// the merged value and a merge after a key overrides the key; in a list of merged maps the
/// earlier map wins.
fn apply_merge_keys(entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
    if !entries.iter().any(|(k, _)| is_merge_key(k)) {
        return entries;
    }
    let mut out: Vec<(Node, Node)> = Vec::with_capacity(entries.len());
    let put = |k: Node, v: Node, out: &mut Vec<(Node, Node)>| {
        let name = k.scalar_text().map(str::to_owned);
        match out
            .iter_mut()
            .find(|(ok, _)| name.is_some() && ok.scalar_text() == name.as_deref())
        {
            Some(slot) => *slot = (k, v),
            None => out.push((k, v)),
        }
    };
    for (k, v) in entries {
        if !is_merge_key(&k) {
            put(k, v, &mut out);
            continue;
        }
        match v.value {
            Value::Map(m) => {
                for (mk, mv) in m {
                    put(mk, mv, &mut out);
                }
            }
            Value::Seq(items) => {
                for item in items.into_iter().rev() {
                    if let Value::Map(m) = item.value {
                        for (mk, mv) in m {
                            put(mk, mv, &mut out);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn is_merge_key(k: &Node) -> bool {
    matches!(&k.value, Value::Scalar(s, ScalarKind::Str) if s == "<<")
}

fn convert_span(s: PSpan) -> Span {
    Span {
        start_line: s.start.line() as u32,
        start_col: s.start.col() as u32 + 1,
        end_line: s.end.line() as u32,
        end_col: s.end.col() as u32 + 1,
    }
}

/// The parser ends a block scalar where the next token starts (often a later, less indented
/// line); report the last line that really holds its content: non-blank and indented at least
/// as deep as the scalar's first content line.
fn scalar_span(mut span: Span, style: ScalarStyle, lines: &mut SourceLines<'_>) -> Span {
    if !matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
        return span;
    }
    let indent = span.start_col.saturating_sub(1) as usize;
    while span.end_line > span.start_line {
        let line = lines.get(span.end_line);
        let blank = line.trim().is_empty();
        let leading = line.len() - line.trim_start().len();
        if !blank && leading >= indent {
            break;
        }
        span.end_line -= 1;
    }
    span.end_col = lines.get(span.end_line).chars().count() as u32 + 1;
    span
}

/// The source split into lines, computed the first time a block scalar needs it.
struct SourceLines<'a> {
    text: &'a str,
    lines: Option<Vec<&'a str>>,
}

impl<'a> SourceLines<'a> {
    /// Line `n` (1-based), or "" past the end.
    fn get(&mut self, n: u32) -> &'a str {
        let text = self.text;
        let lines = self.lines.get_or_insert_with(|| text.lines().collect());
        (n as usize)
            .checked_sub(1)
            .and_then(|i| lines.get(i))
            .copied()
            .unwrap_or("")
    }
}

fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> ScalarKind {
    if let Some(tag) = tag {
        return match tag {
            "str" | "binary" => ScalarKind::Str,
            "null" => ScalarKind::Null,
            "bool" => match text {
                "true" | "True" | "TRUE" => ScalarKind::Bool(true),
                "false" | "False" | "FALSE" => ScalarKind::Bool(false),
                _ => ScalarKind::Str,
            },
            "int" if parse_int(text).is_some() => ScalarKind::Int,
            "float" if text.parse::<f64>().is_ok() => ScalarKind::Float,
            _ => ScalarKind::Str,
        };
    }
    if style != ScalarStyle::Plain {
        return ScalarKind::Str;
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => ScalarKind::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
            ScalarKind::Bool(true)
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => {
            ScalarKind::Bool(false)
        }
        _ if looks_like_int(text) => ScalarKind::Int,
        _ if looks_like_float(text) => ScalarKind::Float,
        _ => ScalarKind::Str,
    }
}

fn looks_like_int(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit()) && parse_int(s).is_some()
}

fn looks_like_float(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if matches!(body, ".inf" | ".Inf" | ".INF") || matches!(s, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    // YAML 1.2 core: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let bytes = body.as_bytes();
    let mut i = 0;
    let int_start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        let f = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - f;
    } else if int_digits == 0 {
        return false;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i += 1;
        if i < bytes.len() && (bytes[i] == b'-' || bytes[i] == b'+') {
            i += 1;
        }
        let e = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == e {
            return false;
        }
    }
    i == bytes.len() && (frac_digits > 0 || body.contains(['.', 'e', 'E']))
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

#[cfg(test)]
mod tests;
