//! Parsers: input bytes of one source kind to [`Event`]s.
//!
//! Nothing is dropped: input that cannot be read becomes an event with
//! [`Event::parse_error`] set and its raw form kept; an event larger than
//! [`ParseOptions::max_event_bytes`] keeps its first bytes and the marker [`TRUNCATION_MARKER`]
//! and is flagged [`Event::truncated`]. Gzip input is decompressed, up to
//! [`ParseOptions::max_input_bytes`].
//!
//! One module per format: [`k8s_audit`], [`cloudtrail`], [`falco`], [`json`], [`syslog`].
//! [`detect`] picks the kind of a file from its first bytes; [`parse`] runs one.

pub mod cloudtrail;
pub mod falco;
pub mod json;
pub mod k8s_audit;
pub mod syslog;
pub mod time;

use std::fmt;
use std::io::Read;
use std::str::FromStr;

use serde_json::Value;
use serde_json::value::RawValue;

use crate::event::{Event, Nanos};

/// The default cap on one event's raw form: 256 KiB.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 256 * 1024;
/// The default cap on one input (a file, after decompression): 256 MiB.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 256 * 1024 * 1024;
/// What replaces the end of a truncated raw event.
pub const TRUNCATION_MARKER: &str = "…[truncated by palisade]";

/// How to parse.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// The configured source name stored in [`Event::source`].
    pub source: String,
    /// When the input was received (nanoseconds since the Unix epoch).
    pub received: Nanos,
    /// Largest raw event kept whole; larger ones are truncated.
    pub max_event_bytes: usize,
    /// Largest input accepted (after decompression).
    pub max_input_bytes: usize,
    /// The line of the whole input the text given to the parser starts at (1-based): error
    /// messages count lines from it. A file read in parts passes each part's first line.
    pub first_line: usize,
    /// The input is known to hold one JSON document a line (a later part of such a file), so
    /// it is read line by line whatever its first line holds.
    pub one_per_line: bool,
}

impl ParseOptions {
    pub fn new(source: impl Into<String>, received: Nanos) -> Self {
        ParseOptions {
            source: source.into(),
            received,
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            first_line: 1,
            one_per_line: false,
        }
    }
}

/// The kind of data: picks the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    K8sAudit,
    CloudTrail,
    Falco,
    Json,
    Syslog,
}

impl Kind {
    /// The name stored in [`Event::kind`]: `k8s_audit`, `cloudtrail`, `falco`, `json`, `syslog`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::K8sAudit => "k8s_audit",
            Kind::CloudTrail => "cloudtrail",
            Kind::Falco => "falco",
            Kind::Json => "json",
            Kind::Syslog => "syslog",
        }
    }

    pub const ALL: [Kind; 5] = [
        Kind::K8sAudit,
        Kind::CloudTrail,
        Kind::Falco,
        Kind::Json,
        Kind::Syslog,
    ];
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind name that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event kind {0:?}: expected k8s-audit, cloudtrail, falco, json or syslog")]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Kind, UnknownKind> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "k8s_audit" | "kubernetes_audit" | "k8s" => Ok(Kind::K8sAudit),
            "cloudtrail" => Ok(Kind::CloudTrail),
            "falco" => Ok(Kind::Falco),
            "json" | "ndjson" | "jsonl" => Ok(Kind::Json),
            "syslog" => Ok(Kind::Syslog),
            _ => Err(UnknownKind(s.to_owned())),
        }
    }
}

/// Whether the bytes start with the gzip magic number.
pub fn is_gzip(input: &[u8]) -> bool {
    input.starts_with(&[0x1f, 0x8b])
}

/// Decompresses gzip input (all members) up to `limit` bytes.
pub fn gunzip(input: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(input).take(limit as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| format!("invalid gzip data: {e}"))?;
    if out.len() > limit {
        return Err(format!(
            "decompressed input is larger than the limit of {limit} bytes; split the file or raise the limit"
        ));
    }
    Ok(out)
}

/// The kind of an input, from its first bytes (gzip is looked into):
/// `{"Records"` is CloudTrail, `EventList` or `audit.k8s.io` is Kubernetes audit, Falco's
/// `rule`/`priority`/`output` keys are Falco, other JSON is JSON, anything else syslog.
pub fn detect(input: &[u8]) -> Kind {
    if is_gzip(input) {
        let mut head = Vec::new();
        let mut decoder = flate2::read::MultiGzDecoder::new(input).take(64 * 1024);
        // A broken stream still yields what came before the damage.
        let _ = decoder.read_to_end(&mut head);
        return detect_plain(&head);
    }
    detect_plain(&input[..input.len().min(64 * 1024)])
}

fn detect_plain(head: &[u8]) -> Kind {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return Kind::Syslog;
    }
    let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.starts_with("{\"Records\"") || compact.starts_with("[{\"Records\"") {
        return Kind::CloudTrail;
    }
    if compact.contains("\"kind\":\"EventList\"") || compact.contains("audit.k8s.io/") {
        return Kind::K8sAudit;
    }
    let first_line = trimmed.lines().next().unwrap_or("");
    if ["\"rule\"", "\"priority\"", "\"output\""]
        .iter()
        .all(|k| first_line.contains(k))
    {
        return Kind::Falco;
    }
    if compact.contains("\"Records\":[") && compact.contains("\"eventSource\"") {
        return Kind::CloudTrail;
    }
    Kind::Json
}

/// Parses `input` as `kind`. Gzip input is decompressed first.
pub fn parse(kind: Kind, input: &[u8], opts: &ParseOptions) -> Vec<Event> {
    let decompressed;
    let input = if is_gzip(input) {
        match gunzip(input, opts.max_input_bytes) {
            Ok(data) => {
                decompressed = data;
                &decompressed[..]
            }
            Err(e) => return vec![error_event(kind, opts, "", e)],
        }
    } else {
        input
    };
    parse_text(kind, input, opts)
}

/// Parses input that is not compressed (or that the caller decompressed: a file read in
/// parts, say) as `kind`: [`parse`] without its gzip step.
pub fn parse_text(kind: Kind, input: &[u8], opts: &ParseOptions) -> Vec<Event> {
    if input.len() > opts.max_input_bytes {
        let head = String::from_utf8_lossy(&input[..opts.max_event_bytes.min(input.len())]);
        return vec![error_event(
            kind,
            opts,
            &head,
            format!(
                "input of {} bytes is larger than the limit of {} bytes; split it or raise the limit",
                input.len(),
                opts.max_input_bytes
            ),
        )];
    }
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    // Valid UTF-8 (nearly all input) is checked by the fast path; only the rest pays for
    // the replacement characters.
    let text = match std::str::from_utf8(input) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(input),
    };
    match kind {
        Kind::K8sAudit => k8s_audit::parse(&text, opts),
        Kind::CloudTrail => cloudtrail::parse(&text, opts),
        Kind::Falco => falco::parse(&text, opts),
        Kind::Json => json::parse(&text, opts),
        Kind::Syslog => syslog::parse(&text, opts),
    }
}

/// Detects the kind and parses.
pub fn parse_auto(input: &[u8], opts: &ParseOptions) -> (Kind, Vec<Event>) {
    let kind = detect(input);
    (kind, parse(kind, input, opts))
}

/// A new event of `kind` with `raw` (truncated to the limit) and nothing normalised yet.
pub(crate) fn new_event(kind: Kind, opts: &ParseOptions, raw: &str, fields: Value) -> Event {
    let (raw, truncated) = truncate(raw, opts.max_event_bytes);
    let fields = if truncated {
        shrink_fields(fields, opts.max_event_bytes)
    } else {
        fields
    };
    Event {
        time: opts.received,
        received: opts.received,
        source: opts.source.clone(),
        kind: kind.as_str().to_owned(),
        host: None,
        user: None,
        action: None,
        object: None,
        outcome: None,
        source_ip: None,
        raw,
        fields,
        parse_error: None,
        truncated,
        fields_from_raw: false,
    }
}

/// An event for input that could not be parsed.
pub(crate) fn error_event(
    kind: Kind,
    opts: &ParseOptions,
    raw: &str,
    error: impl Into<String>,
) -> Event {
    let mut event = new_event(kind, opts, raw, Value::Object(Default::default()));
    event.parse_error = Some(error.into());
    event
}

/// Cuts `raw` to at most `limit` bytes (on a character boundary), its end replaced by the
/// marker.
pub fn truncate(raw: &str, limit: usize) -> (String, bool) {
    if raw.len() <= limit {
        return (raw.to_owned(), false);
    }
    let mut cut = limit.saturating_sub(TRUNCATION_MARKER.len());
    while cut > 0 && !raw.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = String::with_capacity(cut + TRUNCATION_MARKER.len());
    out.push_str(&raw[..cut]);
    out.push_str(TRUNCATION_MARKER);
    (out, true)
}

/// Keeps the parsed fields of an oversized event within about `limit` bytes: the largest
/// top-level values are replaced by the truncation marker until the rest fits.
fn shrink_fields(fields: Value, limit: usize) -> Value {
    let Value::Object(mut map) = fields else {
        return Value::Object(Default::default());
    };
    let mut sizes: Vec<(String, usize)> = map
        .iter()
        .map(|(k, v)| (k.clone(), k.len() + serialized_len(v)))
        .collect();
    let mut total: usize = sizes.iter().map(|(_, s)| s + 2).sum();
    sizes.sort_by_key(|s| std::cmp::Reverse(s.1));
    for (key, size) in sizes {
        if total <= limit {
            break;
        }
        map.insert(key.clone(), Value::String(TRUNCATION_MARKER.to_owned()));
        total = total - size + key.len() + TRUNCATION_MARKER.len() + 2;
    }
    if total > limit {
        // Too many keys to fit even so.
        return Value::Object(Default::default());
    }
    Value::Object(map)
}

fn serialized_len(v: &Value) -> usize {
    serde_json::to_vec(v).map(|b| b.len()).unwrap_or(0)
}

/// One JSON document found in the input: its exact text and where it starts.
pub(crate) struct Doc<'a> {
    pub raw: &'a str,
    /// 1-based line of the document's start.
    pub line: usize,
    /// What the one pass over an object document found ([`one_pass`]), when the input was
    /// split that way; `None` when the document is to be parsed from `raw`.
    pub parsed: Option<OnePass<'a>>,
}

/// One JSON object document read in one pass: its value as [`parse_plain`] builds it, and
/// the array under the list key when the object has that key at its top level.
pub(crate) struct OnePass<'a> {
    pub value: Value,
    pub plain: bool,
    /// `Some` when the list key is there: its elements (`null` stands for none).
    pub list: Option<Vec<&'a RawValue>>,
}

/// Reads `text` (one JSON object and nothing else but whitespace) in one pass, or says `None`
/// for anything else (an array, several documents, a syntax error, a list key whose value is
/// neither an array nor null): the caller then takes the slower path that splits, validates
/// and reports such input. The answer is the one that path gives for the same object.
pub(crate) fn one_pass<'a>(text: &'a str, list_key: Option<&str>) -> Option<OnePass<'a>> {
    use serde::de::DeserializeSeed;
    #[cfg(test)]
    if tests::SPLIT_ONLY.get() {
        return None;
    }
    if !text.trim_start_matches(JSON_SPACE).starts_with('{') {
        return None;
    }
    let plain = std::cell::Cell::new(true);
    let mut de = serde_json::Deserializer::from_str(text);
    let (value, list) = Top {
        plain: &plain,
        list_key,
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    Some(OnePass {
        value,
        plain: plain.get(),
        list,
    })
}

/// JSON's whitespace: what may surround a document.
const JSON_SPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// The top-level object of [`one_pass`]: every key is built as [`Plain`] does, except the list
/// key, whose array is kept as the elements' text.
struct Top<'k, 'c> {
    plain: &'c std::cell::Cell<bool>,
    list_key: Option<&'k str>,
}

type TopValue<'de> = (Value, Option<Vec<&'de RawValue>>);

impl<'de> serde::de::DeserializeSeed<'de> for Top<'_, '_> {
    type Value = TopValue<'de>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Top<'_, '_> {
    type Value = TopValue<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        let mut list = None;
        while let Some(key) = map.next_key::<String>()? {
            if self.list_key == Some(key.as_str()) {
                // The last of duplicate keys counts, as in a map.
                list = Some(
                    map.next_value::<Option<Vec<&'de RawValue>>>()?
                        .unwrap_or_default(),
                );
                continue;
            }
            let value = map.next_value_seed(Plain(self.plain))?;
            if object.insert(key, value).is_some() {
                self.plain.set(false);
            }
        }
        Ok((Value::Object(object), list))
    }
}

/// A JSON syntax error with its position, as shown to users (lines of a text that starts at
/// line `first_line`).
pub(crate) fn describe_json_error(e: &serde_json::Error, first_line: usize) -> String {
    format!(
        "invalid JSON at line {}, column {}: {}",
        e.line() + first_line.max(1) - 1,
        e.column(),
        strip_position(&e.to_string())
    )
}

fn strip_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

/// Splits JSON input into documents: newline-delimited JSON (one value a line; a bad line
/// becomes an error and the next lines are still read), or one or more whole documents
/// (pretty-printed JSON; a syntax error ends the input, reported with its line and column).
/// A top-level array is split into its elements.
///
/// An object document is read in one pass ([`one_pass`], with `list_key`) where it can be;
/// the rest is validated here and parsed by the caller.
pub(crate) fn split_json<'a>(
    text: &'a str,
    opts: &ParseOptions,
    list_key: Option<&str>,
) -> Vec<Result<Doc<'a>, (String, &'a str)>> {
    let mut out = Vec::new();
    let first = opts.first_line.max(1);
    let mut lines = Lines::new(text, first);
    if opts.one_per_line || looks_like_ndjson(text) {
        for (i, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() {
                continue;
            }
            if let Some(parsed) = one_pass(line, list_key) {
                out.push(Ok(Doc {
                    raw: line.trim_matches(JSON_SPACE),
                    line: i + first,
                    parsed: Some(parsed),
                }));
                continue;
            }
            match serde_json::from_str::<&RawValue>(line) {
                Ok(raw) => push_doc(&mut out, raw.get(), &mut lines),
                Err(e) => out.push(Err((
                    format!(
                        "invalid JSON on line {}, column {}: {}",
                        i + first,
                        e.column(),
                        strip_position(&e.to_string())
                    ),
                    line,
                ))),
            }
        }
        return out;
    }
    if let Some(parsed) = one_pass(text, list_key) {
        let raw = text.trim_matches(JSON_SPACE);
        out.push(Ok(Doc {
            raw,
            line: lines.at(raw),
            parsed: Some(parsed),
        }));
        return out;
    }
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    loop {
        let start = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Ok(raw)) => {
                push_doc(&mut out, raw.get(), &mut lines);
            }
            Some(Err(e)) => {
                out.push(Err((describe_json_error(&e, first), text[start..].trim())));
                break;
            }
        }
    }
    out
}

fn push_doc<'a>(
    out: &mut Vec<Result<Doc<'a>, (String, &'a str)>>,
    raw: &'a str,
    lines: &mut Lines<'a>,
) {
    if raw.starts_with('[') {
        match serde_json::from_str::<Vec<&RawValue>>(raw) {
            Ok(items) => {
                for item in items {
                    out.push(Ok(Doc {
                        raw: item.get(),
                        line: lines.at(item.get()),
                        parsed: None,
                    }));
                }
            }
            Err(e) => out.push(Err((describe_json_error(&e, lines.at(raw)), raw))),
        }
    } else {
        let line = lines.at(raw);
        out.push(Ok(Doc {
            raw,
            line,
            parsed: None,
        }));
    }
}

/// Whether the input is one JSON object a line: there are several lines and the first
/// non-empty one is an object by itself (or, broken, looks like one: `{` … `}`).
pub fn looks_like_ndjson(text: &str) -> bool {
    let mut lines = text.split('\n').filter(|l| !l.trim().is_empty());
    match (lines.next(), lines.next()) {
        // A second line first: one document alone is not worth a parse here.
        (Some(first), Some(_)) => {
            let first = first.trim();
            first.starts_with('{')
                && (serde_json::from_str::<&RawValue>(first).is_ok()
                    || (first.len() > 1 && first.ends_with('}')))
        }
        _ => false,
    }
}

/// Line numbers of places in one text, counted incrementally: asking for places in
/// increasing order (as the parsers do) costs one pass over the text in all.
pub(crate) struct Lines<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    first: usize,
}

impl<'a> Lines<'a> {
    /// Lines of `text`, which starts at line `first`.
    pub(crate) fn new(text: &'a str, first: usize) -> Self {
        Lines {
            text,
            pos: 0,
            line: first,
            first,
        }
    }

    /// The 1-based line where `part` (a slice of the text) starts.
    pub(crate) fn at(&mut self, part: &str) -> usize {
        let offset = offset_in(self.text, part).min(self.text.len());
        if offset < self.pos {
            self.pos = 0;
            self.line = self.first;
        }
        self.line += self.text.as_bytes()[self.pos..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.pos = offset;
        self.line
    }
}

/// Byte offset of `inner` (a subslice) in `outer`.
pub(crate) fn offset_in(outer: &str, inner: &str) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}

/// A string at a dotted path in a JSON object.
pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

/// Parses documents found by [`split_json`] with `normalise`, turning errors into error events.
pub(crate) fn parse_json_docs(
    kind: Kind,
    text: &str,
    opts: &ParseOptions,
    normalise: impl FnMut(&mut Event),
) -> Vec<Event> {
    parse_json(kind, text, opts, None, normalise)
}

/// Like [`parse_json_docs`], where a document that is an object with an array under
/// `list_key` (CloudTrail's `Records`, a Kubernetes `EventList`'s `items`) stands for the
/// events in that array.
pub(crate) fn parse_json_lists(
    kind: Kind,
    text: &str,
    opts: &ParseOptions,
    list_key: &str,
    normalise: impl FnMut(&mut Event),
) -> Vec<Event> {
    parse_json(kind, text, opts, Some(list_key), normalise)
}

fn parse_json(
    kind: Kind,
    text: &str,
    opts: &ParseOptions,
    list_key: Option<&str>,
    mut normalise: impl FnMut(&mut Event),
) -> Vec<Event> {
    let mut out = Vec::new();
    let mut lines = Lines::new(text, opts.first_line.max(1));
    for doc in split_json(text, opts, list_key) {
        let doc = match doc {
            Ok(doc) => doc,
            Err((message, raw)) => {
                out.push(error_event(kind, opts, raw, message));
                continue;
            }
        };
        if let Some(p) = doc.parsed {
            match p.list {
                Some(items) => {
                    for item in items {
                        let line = lines.at(item.get());
                        out.push(json_event(kind, opts, item.get(), line, &mut normalise));
                    }
                }
                None => out.push(value_event(
                    kind,
                    opts,
                    doc.raw,
                    doc.line,
                    Ok((p.value, p.plain)),
                    &mut normalise,
                )),
            }
            continue;
        }
        let list = list_key.and_then(|key| {
            serde_json::from_str::<std::collections::BTreeMap<String, &RawValue>>(doc.raw)
                .ok()
                .and_then(|map| map.get(key).map(|list| (key, *list)))
        });
        let Some((key, list)) = list else {
            out.push(json_event(kind, opts, doc.raw, doc.line, &mut normalise));
            continue;
        };
        match serde_json::from_str::<Option<Vec<&RawValue>>>(list.get()) {
            Ok(items) => {
                for item in items.unwrap_or_default() {
                    let line = lines.at(item.get());
                    out.push(json_event(kind, opts, item.get(), line, &mut normalise));
                }
            }
            Err(_) => out.push(error_event(
                kind,
                opts,
                doc.raw,
                format!("line {}: {key:?} is not an array", doc.line),
            )),
        }
    }
    out
}

/// One event from one JSON document's text.
pub(crate) fn json_event(
    kind: Kind,
    opts: &ParseOptions,
    raw: &str,
    line: usize,
    normalise: &mut impl FnMut(&mut Event),
) -> Event {
    value_event(kind, opts, raw, line, parse_plain(raw), normalise)
}

/// One event from one JSON document's text and what [`parse_plain`] made of it.
fn value_event(
    kind: Kind,
    opts: &ParseOptions,
    raw: &str,
    line: usize,
    parsed: Result<(Value, bool), serde_json::Error>,
    normalise: &mut impl FnMut(&mut Event),
) -> Event {
    match parsed {
        Ok((value @ Value::Object(_), plain)) => {
            let mut event = new_event(kind, opts, raw, Value::Null);
            // Normalise from the whole value, then keep what fits.
            event.fields = value;
            normalise(&mut event);
            if event.truncated {
                event.fields =
                    shrink_fields(std::mem::take(&mut event.fields), opts.max_event_bytes);
            } else {
                event.fields_from_raw = plain && plain_escapes(raw);
            }
            event
        }
        Ok(_) => error_event(
            kind,
            opts,
            raw,
            format!("line {line}: expected a JSON object, found another JSON value"),
        ),
        Err(e) => error_event(
            kind,
            opts,
            raw,
            format!("line {line}: {}", describe_json_error(&e, 1)),
        ),
    }
}

/// Parses JSON text as `serde_json::from_str::<Value>` does (the same value, the same errors;
/// one exception: serde_json's private raw-value key, `$serde_json::private::RawValue`, is an
/// ordinary key here, as it is in `raw`), and says whether the text is *plain*: no object has a duplicate key (the value keeps the
/// last, as serde_json does, where SQLite's JSON functions would read the first) and every
/// number is an integer (`1.50` and `1e2` read back as other text). With [`plain_escapes`],
/// this is what lets the store keep `raw` alone in place of `fields`
/// ([`Event::fields_from_raw`]), known from this one parse instead of a second pass.
pub fn parse_plain(text: &str) -> Result<(Value, bool), serde_json::Error> {
    use serde::de::DeserializeSeed;
    let plain = std::cell::Cell::new(true);
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Plain(&plain).deserialize(&mut de)?;
    de.end()?;
    Ok((value, plain.get()))
}

/// Every `\` escape in JSON text is one JSON requires (`\"`, `\\`, the control characters),
/// so that every string's characters appear in the text as they are: the store's `instr` and
/// `LIKE` pre-tests rely on it. Go's `\u0026` for `&` is not plain.
pub fn plain_escapes(raw: &str) -> bool {
    let b = raw.as_bytes();
    let mut i = 0;
    while let Some(p) = raw[i..].find('\\') {
        let j = i + p;
        match b.get(j + 1) {
            Some(b'"' | b'\\' | b'n' | b't' | b'r' | b'b' | b'f') => i = j + 2,
            Some(b'u') => {
                let code = raw
                    .get(j + 2..j + 6)
                    .and_then(|h| u32::from_str_radix(h, 16).ok());
                if code.is_none_or(|c| c >= 0x20) {
                    return false;
                }
                i = j + 6;
            }
            _ => return false,
        }
    }
    true
}

/// Builds a [`Value`] the way serde_json's own visitor does, clearing the cell on a duplicate
/// key or a number that is not an integer.
struct Plain<'a>(&'a std::cell::Cell<bool>);

impl<'de> serde::de::DeserializeSeed<'de> for Plain<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Plain<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        self.0.set(false);
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(v) = seq.next_element_seed(Plain(self.0))? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(Plain(self.0))?;
            if object.insert(key, value).is_some() {
                self.0.set(false);
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ParseOptions {
        ParseOptions::new("test", 1_000)
    }

    #[test]
    fn detects_kinds() {
        assert_eq!(detect(b"{\n  \"Records\": [ {} ]}"), Kind::CloudTrail);
        assert_eq!(
            detect(br#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}"#),
            Kind::K8sAudit
        );
        assert_eq!(
            detect(br#"{"kind":"Event","apiVersion":"audit.k8s.io/v1"}"#),
            Kind::K8sAudit
        );
        assert_eq!(
            detect(br#"{"output":"x","priority":"Warning","rule":"Terminal shell","time":"2024-01-01T00:00:00Z"}"#),
            Kind::Falco
        );
        assert_eq!(detect(b"{\"msg\":\"hi\"}\n"), Kind::Json);
        assert_eq!(detect(b"[1,2]"), Kind::Json);
        assert_eq!(
            detect(b"<34>Oct 11 22:14:15 mymachine su: hi"),
            Kind::Syslog
        );
        assert_eq!(detect(b""), Kind::Syslog);
        assert_eq!(detect(b"\x1f\x8b\x00garbage"), Kind::Syslog);
    }

    #[test]
    fn truncation_keeps_char_boundaries() {
        let (t, cut) = truncate("short", 100);
        assert_eq!((t.as_str(), cut), ("short", false));
        let long = "é".repeat(100);
        let (t, cut) = truncate(&long, 64);
        assert!(cut);
        assert!(t.len() <= 64, "{}", t.len());
        assert!(t.ends_with(TRUNCATION_MARKER));
        let (t, cut) = truncate(&long, 3);
        assert!(cut);
        assert_eq!(t, TRUNCATION_MARKER);
    }

    #[test]
    fn oversized_json_event_is_truncated_with_fields_shrunk() {
        let mut o = opts();
        o.max_event_bytes = 200;
        let big = "x".repeat(1000);
        let line = format!(r#"{{"time":"2024-01-01T00:00:00Z","big":"{big}","small":"keep"}}"#);
        let events = parse(Kind::Json, line.as_bytes(), &o);
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert!(e.truncated);
        assert!(e.raw.len() <= 200);
        assert!(e.raw.ends_with(TRUNCATION_MARKER));
        assert_eq!(e.fields["small"], "keep");
        assert_eq!(e.fields["big"], TRUNCATION_MARKER);
        assert_eq!(e.time, time::parse_rfc3339("2024-01-01T00:00:00Z").unwrap());
    }

    #[test]
    fn gzip_round_trip_and_limit() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(br#"{"Records":[{"eventName":"A","eventTime":"2024-01-01T00:00:00Z"}]}"#)
            .unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(detect(&gz), Kind::CloudTrail);
        let events = parse(Kind::CloudTrail, &gz, &opts());
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action.as_deref(), Some("A"));
        let mut small = opts();
        small.max_input_bytes = 10;
        let events = parse(Kind::CloudTrail, &gz, &small);
        assert_eq!(events.len(), 1);
        assert!(
            events[0]
                .parse_error
                .as_deref()
                .unwrap()
                .contains("limit of 10 bytes")
        );
        let events = parse(Kind::CloudTrail, &gz[..gz.len() / 2], &opts());
        assert!(events[0].parse_error.as_deref().unwrap().contains("gzip"));
    }

    #[test]
    fn oversized_input_is_one_error() {
        let mut o = opts();
        o.max_input_bytes = 4;
        let events = parse(Kind::Json, b"{\"a\":1}", &o);
        assert_eq!(events.len(), 1);
        assert!(
            events[0]
                .parse_error
                .as_deref()
                .unwrap()
                .contains("larger than the limit")
        );
    }

    #[test]
    fn ndjson_bad_line_does_not_stop_the_rest() {
        let input = "{\"a\":1}\n{\"a\":\n{\"a\":3}\n";
        let events = parse(Kind::Json, input.as_bytes(), &opts());
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].fields["a"], 1);
        assert!(
            events[1]
                .parse_error
                .as_deref()
                .unwrap()
                .starts_with("invalid JSON on line 2")
        );
        assert_eq!(events[1].raw, "{\"a\":");
        assert_eq!(events[2].fields["a"], 3);
    }

    #[test]
    fn ndjson_with_a_bad_first_line() {
        let input = "{\"a\":1,,}\n{\"a\":2}\n";
        let events = parse(Kind::Json, input.as_bytes(), &opts());
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0].parse_error.as_deref(),
            Some("invalid JSON on line 1, column 8: key must be a string")
        );
        assert_eq!(events[1].fields["a"], 2);
        // A pretty-printed document is not mistaken for lines.
        let events = parse(Kind::Json, b"{\n  \"a\": 1\n}\n", &opts());
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].fields["a"], 1);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let events = parse(Kind::Json, deep.as_bytes(), &opts());
        assert_eq!(events.len(), 1);
        assert!(events[0].parse_error.is_some());
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(5000), "]".repeat(5000));
        let events = parse(Kind::Json, deep.as_bytes(), &opts());
        assert!(
            events[0]
                .parse_error
                .as_deref()
                .unwrap()
                .contains("recursion")
        );
    }

    /// A small deterministic generator (xorshift), so the test needs no dependency.
    use palisade_core::rng::XorShift as Rng;

    thread_local! {
        /// Turns [`one_pass`] off, so that tests can compare it with the path it shortcuts.
        pub(super) static SPLIT_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// Parses `input` as `kind` with [`one_pass`] and without it.
    fn both_ways(kind: Kind, input: &[u8], o: &ParseOptions) -> (Vec<Event>, Vec<Event>) {
        let fast = parse_text(kind, input, o);
        SPLIT_ONLY.set(true);
        let slow = parse_text(kind, input, o);
        SPLIT_ONLY.set(false);
        (fast, slow)
    }

    #[test]
    fn one_pass_answers_as_the_split_path_at_the_edges() {
        let nested = |depth: usize| format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        // serde_json allows 127 nested objects: the one pass must not add one.
        for depth in [127, 128, 129] {
            inputs.push(nested(depth).into_bytes());
            inputs.push(
                format!(r#"{{"items":[{{"v":1}}],"deep":{}}}"#, nested(depth - 1)).into_bytes(),
            );
            inputs.push(format!(r#"{{"items":[{}]}}"#, nested(depth - 1)).into_bytes());
        }
        for text in [
            "\u{FEFF}{\"a\":1}",
            "{\"a\":1}\u{a0}",
            "\u{a0}{\"a\":1}\n{\"b\":2}",
            r#"{"a":"\ud800"}"#,
            r#"{"a":1e400}"#,
            r#"{"$serde_json::private::RawValue":1}"#,
            r#"{"items":[],"kind":"EventList"}"#,
            r#"{"items":[1,"x",null]}"#,
            r#"{"items":{"a":1}}"#,
        ] {
            inputs.push(text.as_bytes().to_vec());
        }
        inputs.push(b"{\"a\":\"\xff\xfe\"}\n{\"b\":1}".to_vec());
        for input in &inputs {
            for kind in [Kind::K8sAudit, Kind::CloudTrail, Kind::Json] {
                let (fast, slow) = both_ways(kind, input, &opts());
                assert_eq!(fast, slow, "{kind} {:?}", String::from_utf8_lossy(input));
            }
        }
        // The depth limit is serde_json's: 127 nested objects parse, 128 do not.
        let events = parse_text(Kind::Json, nested(127).as_bytes(), &opts());
        assert_eq!(events[0].parse_error, None);
        let events = parse_text(Kind::Json, nested(128).as_bytes(), &opts());
        assert!(events[0].parse_error.is_some());
    }

    #[test]
    fn one_pass_answers_as_the_split_path() {
        // Shapes the one pass reads itself, and what it leaves to the split path.
        let item = r#"{"kind":"Event","verb":"get","n":1}"#;
        assert!(one_pass(item, Some("items")).is_some_and(|p| p.list.is_none() && p.plain));
        let list = format!(" {{\"kind\":\"EventList\",\"items\":[{item},{item}]}}\r\n");
        assert_eq!(
            one_pass(&list, Some("items")).unwrap().list.unwrap().len(),
            2
        );
        let dup = format!(r#"{{"items":[{item}],"items":null}}"#);
        assert_eq!(
            one_pass(&dup, Some("items")).unwrap().list.unwrap().len(),
            0
        );
        assert!(!one_pass(r#"{"a":1,"a":2}"#, None).unwrap().plain);
        assert!(!one_pass(r#"{"a":1.5}"#, None).unwrap().plain);
        for other in [
            "[{}]",
            "{} {}",
            r#"{"items":"x"}"#,
            r#"{"items":[1,}"#,
            "{\"a\":1}\u{a0}",
            "1",
        ] {
            assert!(one_pass(other, Some("items")).is_none(), "{other}");
        }

        let mut rng = Rng::new(0x0123_4567_89AB_CDEF);
        let mut fast_docs = 0;
        for round in 0..4000 {
            let mut docs = Vec::new();
            for _ in 0..1 + rng.next_u64() % 4 {
                let mut doc = String::new();
                match rng.next_u64() % 8 {
                    // A list of objects (or of anything) under a list key, maybe escaped or
                    // given twice, among other keys.
                    0..=2 => {
                        let key =
                            *rng.pick(&["\"items\"", "\"Records\"", "\"\\u0069tems\"", "\"item\""]);
                        doc.push_str("{\"kind\":\"EventList\",");
                        doc.push_str(key);
                        doc.push(':');
                        match rng.next_u64() % 5 {
                            0 => doc.push_str("null"),
                            1 => random_json(&mut rng, 2, &mut doc),
                            _ => {
                                doc.push('[');
                                for i in 0..rng.next_u64() % 4 {
                                    if i > 0 {
                                        doc.push_str(",\n ");
                                    }
                                    doc.push_str("{\"verb\":");
                                    random_json(&mut rng, 3, &mut doc);
                                    doc.push('}');
                                }
                                doc.push(']');
                            }
                        }
                        if rng.next_u64().is_multiple_of(4) {
                            doc.push_str(",\"items\":[{\"last\":1}]");
                        }
                        doc.push('}');
                    }
                    // Anything JSON (objects mostly), or a line that is not JSON.
                    3..=6 => random_json(&mut rng, 4, &mut doc),
                    _ => doc.push_str(rng.pick::<&str>(&["{\"a\":", "not json", "[1,", "{}}"])),
                }
                if one_pass(&doc, Some("items")).is_some() {
                    fast_docs += 1;
                }
                docs.push(doc);
            }
            let sep = *rng.pick(&["\n", "\r\n", "\n\n  ", " ", ""]);
            let mut input = docs.join(sep);
            if rng.next_u64().is_multiple_of(3) {
                input = format!(" \t{input}\r\n ");
            }
            let mut o = opts();
            o.first_line = 1 + (round % 3);
            o.one_per_line = round % 5 == 0;
            if round % 7 == 0 {
                o.max_event_bytes = 40;
            }
            for kind in [Kind::K8sAudit, Kind::CloudTrail, Kind::Json, Kind::Falco] {
                let (fast, slow) = both_ways(kind, input.as_bytes(), &o);
                assert_eq!(fast, slow, "{kind} {input:?}");
            }
        }
        assert!(
            fast_docs > 4000,
            "only {fast_docs} documents took the one pass"
        );
    }

    /// Random JSON text: small key sets (so duplicates happen), integers and other numbers,
    /// strings with and without escapes JSON needs.
    fn random_json(rng: &mut Rng, depth: u32, out: &mut String) {
        const SCALARS: [&str; 16] = [
            "1",
            "-2",
            "0",
            "-0",
            "18446744073709551615",
            "-9223372036854775808",
            "1.5",
            "1e2",
            "2E-3",
            "true",
            "false",
            "null",
            "\"a\"",
            "\"x\\\"y\\n\"",
            "\"b\\u0026c\"",
            "\"\\/d\"",
        ];
        match rng.next_u64() % if depth == 0 { 1 } else { 4 } {
            0 => out.push_str(rng.pick::<&str>(&SCALARS)),
            1 => {
                out.push('[');
                for i in 0..rng.next_u64() % 4 {
                    if i > 0 {
                        out.push(',');
                    }
                    random_json(rng, depth - 1, out);
                }
                out.push(']');
            }
            _ => {
                out.push('{');
                for i in 0..rng.next_u64() % 5 {
                    if i > 0 {
                        out.push_str(" , ");
                    }
                    out.push_str(rng.pick::<&str>(&[
                        "\"k\"",
                        "\"l\"",
                        "\"m\"",
                        "\"\\u006b\"",
                        "\"n o\"",
                    ]));
                    out.push(':');
                    random_json(rng, depth - 1, out);
                }
                out.push('}');
            }
        }
    }

    #[test]
    fn parse_plain_is_serde_json_and_says_what_the_store_checks() {
        let fixed = [
            r#"{"a":1,"a":1}"#,
            r#"{"a":{"b":1,"b":2}}"#,
            r#"{"a":[1.0]}"#,
            r#"{"a":"\u0026"}"#,
            r#"{"a":"\u001f"}"#,
            r#"{"a":1} x"#,
            r#"{"a":1"#,
            "[1]",
            "1e999",
            " {\"a\": [true, null, \"x\\\"y\\n\"]} ",
        ];
        let mut texts: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
        texts.push(format!("{}1{}", "[".repeat(200), "]".repeat(200)));
        let mut rng = Rng::new(0x2545_F491_4F6C_DD1D);
        for _ in 0..5000 {
            let mut t = String::from("{\"top\":");
            random_json(&mut rng, 4, &mut t);
            t.push('}');
            texts.push(t);
        }
        let mut plain_objects = 0;
        for t in &texts {
            let ours = parse_plain(t);
            let theirs = serde_json::from_str::<Value>(t);
            match (&ours, &theirs) {
                (Ok((a, _)), Ok(b)) => assert_eq!(a, b, "{t}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{t}"),
                _ => panic!("{t}: {ours:?} against {theirs:?}"),
            }
            if let Ok((v, plain)) = ours {
                let flag = v.is_object() && plain && plain_escapes(t);
                plain_objects += usize::from(flag);
                // The flag says exactly what the store would find by checking.
                assert_eq!(flag, crate::store::same_as_raw(t, &v), "{t}");
            }
        }
        assert!(
            plain_objects > 200 && plain_objects < 4000,
            "{plain_objects}"
        );
    }

    #[test]
    fn json_events_carry_the_flag_unless_cut() {
        let o = opts();
        let e = &parse(Kind::Json, br#"{"a": 1, "b": "x&y"}"#, &o)[0];
        assert!(e.fields_from_raw);
        for text in [
            r#"{"a": 1, "a": 2}"#,
            r#"{"a": 1.5}"#,
            r#"{"a": "x\u0026y"}"#,
            r#"[1]"#,
            r#"{"a": "#,
        ] {
            assert!(
                !parse(Kind::Json, text.as_bytes(), &o)[0].fields_from_raw,
                "{text}"
            );
        }
        let mut small = opts();
        small.max_event_bytes = 40;
        let big = format!(r#"{{"a": "{}"}}"#, "x".repeat(100));
        let e = &parse(Kind::Json, big.as_bytes(), &small)[0];
        assert!(e.truncated && !e.fields_from_raw);
    }

    #[test]
    fn random_input_never_panics_and_keeps_limits() {
        let pieces = [
            "{",
            "}",
            "[",
            "]",
            "\"",
            ":",
            ",",
            "\n",
            " ",
            "\\",
            "\"Records\"",
            "\"items\"",
            "\"kind\":\"EventList\"",
            "audit.k8s.io/v1",
            "\"rule\"",
            "\"priority\"",
            "\"output\"",
            "\"time\"",
            "\"2024-01-01T00:00:00Z\"",
            "1e999",
            "-0",
            "null",
            "true",
            "é",
            "\u{1F600}",
            "<13>",
            "<191>1 ",
            "Jan  1 00:00:00 ",
            "[id a=\"b\\\"\"]",
            "\u{FEFF}",
            "\r",
            "\u{0}",
            "-",
            "x",
        ];
        let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
        let mut o = opts();
        o.max_event_bytes = 64;
        for _ in 0..3000 {
            let n = (rng.next_u64() % 40) as usize;
            let input: String = (0..n).map(|_| *rng.pick(&pieces)).collect();
            let detected = detect(input.as_bytes());
            for kind in Kind::ALL {
                for e in parse(kind, input.as_bytes(), &o) {
                    assert!(e.raw.len() <= 64, "{kind} {input:?}");
                    assert_eq!(e.truncated, e.raw.ends_with(TRUNCATION_MARKER));
                    assert!(e.fields.is_object(), "{kind} {input:?}");
                    assert_eq!(e.kind, kind.as_str());
                    if e.parse_error.is_some() {
                        assert_eq!(e.fields, serde_json::json!({}));
                    }
                }
            }
            let _ = detected;
        }
    }
}
