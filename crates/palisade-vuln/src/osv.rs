//! OSV records (schema 1.7): the model, and reading it from JSON or YAML with errors that name
//! the offending field.
//!
//! Reading is lenient on fields the model does not know (the schema grows) and strict on what
//! matching relies on: `id` and `modified` must be present, timestamps must be timestamps, each
//! range event names exactly one of `introduced`, `fixed`, `last_affected`, `limit`. Free-form
//! parts (`database_specific`, `ecosystem_specific`) are kept as JSON values.
//!
//! Records are converted through a [`serde_json::Value`] by hand rather than by derived
//! deserialisers so that a bad record says which field is wrong (`affected[0].ranges[1].events[2]`)
//! instead of a line and column of a document the user may never have seen (YAML converted to
//! JSON). The model still implements `Serialize` and `Deserialize`, through the same checks.

use std::fmt;

use palisade_core::time::{civil_from_days, days_from_civil};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// The largest record accepted, in bytes (JSON or YAML text).
pub const MAX_RECORD_BYTES: usize = 8 * 1024 * 1024;

/// Why a record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OsvError {
    #[error("record is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("not valid {format}: {message}")]
    Syntax {
        format: &'static str,
        message: String,
    },
    #[error("field `{field}`: {message}")]
    Field { field: String, message: String },
}

fn field_err(field: &str, message: impl Into<String>) -> OsvError {
    OsvError::Field {
        field: if field.is_empty() {
            "(record)".to_string()
        } else {
            field.to_string()
        },
        message: message.into(),
    }
}

/// One OSV advisory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advisory {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    pub id: String,
    /// RFC 3339 timestamp of the last change, as written in the record.
    pub modified: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Set when the advisory was withdrawn; matching ignores withdrawn advisories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<Severity>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Affected>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub credits: Vec<Credit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// A severity score: `type` is `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, … and `score` the
/// vector (or the distribution's rating).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Severity {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

/// A reference link (`ADVISORY`, `FIX`, `WEB`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}

/// A credit for finding or fixing the vulnerability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Credit {
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contact: Vec<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// The package an `affected` entry is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    /// Exactly as in the record: `PyPI`, `Debian:12`, `Alpine:v3.19`, `Ubuntu:22.04:LTS`.
    pub ecosystem: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// One affected package with its ranges and explicit versions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Affected {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<Severity>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// How a range's event versions are to be ordered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RangeType {
    Semver,
    Ecosystem,
    Git,
    /// A type this model does not know, kept as written.
    Other(String),
}

impl RangeType {
    pub fn as_str(&self) -> &str {
        match self {
            RangeType::Semver => "SEMVER",
            RangeType::Ecosystem => "ECOSYSTEM",
            RangeType::Git => "GIT",
            RangeType::Other(s) => s,
        }
    }

    fn parse(s: &str) -> RangeType {
        match s {
            "SEMVER" => RangeType::Semver,
            "ECOSYSTEM" => RangeType::Ecosystem,
            "GIT" => RangeType::Git,
            other => RangeType::Other(other.to_string()),
        }
    }
}

impl fmt::Display for RangeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RangeType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A range of affected versions, as a list of events in the range's ordering.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: RangeType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    pub events: Vec<Event>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// A range event. Serialises as the one-key object of the schema (`{"fixed": "1.2.3"}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

impl Event {
    /// The version (or commit) the event names.
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}

const EVENT_KEYS: [&str; 4] = ["introduced", "fixed", "last_affected", "limit"];

impl Advisory {
    /// True when the record carries a `withdrawn` time.
    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn.is_some()
    }

    /// `modified` as a point in time (always parses for records read by this module).
    pub fn modified_time(&self) -> Option<Timestamp> {
        Timestamp::parse(&self.modified)
    }

    /// The `(ecosystem, name)` of every affected package, in record order (with repeats).
    pub fn packages(&self) -> impl Iterator<Item = (&str, &str)> {
        self.affected
            .iter()
            .filter_map(|a| a.package.as_ref())
            .map(|p| (p.ecosystem.as_str(), p.name.as_str()))
    }

    /// The affected entries for a package of `ecosystem` (exact) named `name` (compared after
    /// [`crate::store::normalize_name`]).
    pub fn affected_for<'a>(
        &'a self,
        ecosystem: &'a str,
        name: &str,
    ) -> impl Iterator<Item = &'a Affected> + 'a {
        let wanted = crate::store::normalize_name(ecosystem, name);
        self.affected.iter().filter(move |a| {
            a.package.as_ref().is_some_and(|p| {
                p.ecosystem == ecosystem
                    && crate::store::normalize_name(ecosystem, &p.name) == wanted
            })
        })
    }
}

impl<'de> Deserialize<'de> for Advisory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Advisory, D::Error> {
        let value = Value::deserialize(d)?;
        from_value(&value).map_err(serde::de::Error::custom)
    }
}

/// Reads one record from JSON.
pub fn parse_json(bytes: &[u8]) -> Result<Advisory, OsvError> {
    let value = json_value(bytes)?;
    from_value(&value)
}

/// Reads one record from YAML (the PyPI advisory database's format). Scalars outside the
/// free-form parts keep their text as written, so `versions: [2.10]` stays `"2.10"`.
pub fn parse_yaml(text: &str) -> Result<Advisory, OsvError> {
    let value = yaml_value(text)?;
    from_value(&value)
}

/// Checks and converts an already parsed JSON value.
pub fn from_value(value: &Value) -> Result<Advisory, OsvError> {
    advisory(value)
}

/// The format of a record file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Yaml,
}

impl Format {
    /// The format a file name's extension says, if it names a record.
    pub(crate) fn of_name(name: &str) -> Option<Format> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }
}

/// A record ready for storage: the model plus compact JSON of everything it said (unknown
/// fields included).
pub(crate) struct Parsed {
    pub advisory: Advisory,
    pub json: String,
}

/// A record that could not be read, with its id when one could be found (so that an update
/// keeps the stored version of a record that became unreadable instead of deleting it).
pub(crate) struct Failed {
    pub error: OsvError,
    pub id: Option<String>,
}

pub(crate) fn parse_record(bytes: &[u8], format: Format) -> Result<Parsed, Failed> {
    let value = match format {
        Format::Json => json_value(bytes),
        Format::Yaml => match std::str::from_utf8(bytes) {
            Ok(text) => yaml_value(text).and_then(|v| {
                // Round-trip through text so that what is stored reads back (depth limits).
                let text = serde_json::to_string(&v).map_err(|e| OsvError::Syntax {
                    format: "YAML",
                    message: e.to_string(),
                })?;
                json_value(text.as_bytes())
            }),
            Err(e) => Err(OsvError::Syntax {
                format: "YAML",
                message: format!("not UTF-8 ({e})"),
            }),
        },
    }
    .map_err(|error| Failed { error, id: None })?;
    let id = value.get("id").and_then(Value::as_str).map(str::to_string);
    match from_value(&value) {
        Ok(advisory) => match serde_json::to_string(&value) {
            Ok(json) => Ok(Parsed { advisory, json }),
            Err(e) => Err(Failed {
                error: OsvError::Syntax {
                    format: "JSON",
                    message: e.to_string(),
                },
                id,
            }),
        },
        Err(error) => Err(Failed { error, id }),
    }
}

fn json_value(bytes: &[u8]) -> Result<Value, OsvError> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(OsvError::TooLarge {
            size: bytes.len(),
            limit: MAX_RECORD_BYTES,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    serde_json::from_slice(bytes).map_err(|e| OsvError::Syntax {
        format: "JSON",
        message: e.to_string(),
    })
}

fn yaml_value(text: &str) -> Result<Value, OsvError> {
    if text.len() > MAX_RECORD_BYTES {
        return Err(OsvError::TooLarge {
            size: text.len(),
            limit: MAX_RECORD_BYTES,
        });
    }
    let syntax = |message: String| OsvError::Syntax {
        format: "YAML",
        message,
    };
    let stream = palisade_yaml::parse_stream(text);
    if let Some(e) = stream.error {
        return Err(syntax(e.to_string()));
    }
    match stream.documents.as_slice() {
        [] => Err(syntax("empty document".to_string())),
        [doc] => yaml_to_json(&doc.root, false),
        _ => Err(syntax(format!(
            "{} documents in one record file; expected one",
            stream.documents.len()
        ))),
    }
}

/// Converts a YAML node. Outside free-form parts every scalar but null is kept as its text (the
/// schema has only strings there), so `2.10` is not read as the number 2.1. Inside
/// `database_specific` and `ecosystem_specific` scalars get their YAML types. Depth is bounded by
/// the YAML reader's nesting limit.
fn yaml_to_json(node: &palisade_yaml::Node, free: bool) -> Result<Value, OsvError> {
    use palisade_yaml::{ScalarKind, Value as Y};
    Ok(match &node.value {
        Y::Scalar(_, ScalarKind::Null) => Value::Null,
        Y::Scalar(text, _) if !free => Value::String(text.clone()),
        Y::Scalar(_, ScalarKind::Bool(b)) => Value::Bool(*b),
        Y::Scalar(text, ScalarKind::Int) => match text.parse::<i64>() {
            Ok(i) => Value::from(i),
            Err(_) => Value::String(text.clone()),
        },
        Y::Scalar(text, ScalarKind::Float) => match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Value::from(f),
            _ => Value::String(text.clone()),
        },
        Y::Scalar(text, ScalarKind::Str) => Value::String(text.clone()),
        Y::Seq(items) => Value::Array(
            items
                .iter()
                .map(|n| yaml_to_json(n, free))
                .collect::<Result<_, _>>()?,
        ),
        Y::Map(entries) => {
            let mut map = Map::new();
            for (k, v) in entries {
                let Y::Scalar(key, _) = &k.value else {
                    return Err(OsvError::Syntax {
                        format: "YAML",
                        message: format!("line {}: mapping key is not a scalar", k.span.start_line),
                    });
                };
                let free = free || key == "database_specific" || key == "ecosystem_specific";
                map.insert(key.clone(), yaml_to_json(v, free)?);
            }
            Value::Object(map)
        }
    })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, OsvError> {
    v.as_object()
        .ok_or_else(|| field_err(path, format!("expected an object, found {}", kind_of(v))))
}

fn opt_string(m: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>, OsvError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(field_err(
            &join(path, key),
            format!("expected a string, found {}", kind_of(other)),
        )),
    }
}

fn req_string(m: &Map<String, Value>, key: &str, path: &str) -> Result<String, OsvError> {
    opt_string(m, key, path)?.ok_or_else(|| field_err(&join(path, key), "required but missing"))
}

fn items<'a>(m: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a [Value], OsvError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(field_err(
            &join(path, key),
            format!("expected an array, found {}", kind_of(other)),
        )),
    }
}

fn string_list(m: &Map<String, Value>, key: &str, path: &str) -> Result<Vec<String>, OsvError> {
    items(m, key, path)?
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(field_err(
                &format!("{}[{i}]", join(path, key)),
                format!("expected a string, found {}", kind_of(other)),
            )),
        })
        .collect()
}

fn free_form(m: &Map<String, Value>, key: &str) -> Option<Value> {
    match m.get(key) {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.clone()),
    }
}

fn timestamp(m: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>, OsvError> {
    let Some(s) = opt_string(m, key, path)? else {
        return Ok(None);
    };
    if Timestamp::parse(&s).is_none() {
        return Err(field_err(
            &join(path, key),
            format!("{s:?} is not an RFC 3339 timestamp"),
        ));
    }
    Ok(Some(s))
}

fn advisory(v: &Value) -> Result<Advisory, OsvError> {
    let m = object(v, "")?;
    let id = req_string(m, "id", "")?;
    if id.trim().is_empty() {
        return Err(field_err("id", "empty"));
    }
    if id.len() > 256 || id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(field_err(
            "id",
            "longer than 256 characters or contains whitespace or control characters",
        ));
    }
    let modified = timestamp(m, "modified", "")?
        .ok_or_else(|| field_err("modified", "required but missing"))?;
    let related = items(m, "related", "")?
        .iter()
        .enumerate()
        .map(|(i, r)| match r {
            Value::String(s) => Ok(s.clone()),
            // An early draft had objects `{type, id}` here.
            Value::Object(o) => req_string(o, "id", &format!("related[{i}]")),
            other => Err(field_err(
                &format!("related[{i}]"),
                format!("expected a string, found {}", kind_of(other)),
            )),
        })
        .collect::<Result<_, _>>()?;
    Ok(Advisory {
        schema_version: opt_string(m, "schema_version", "")?,
        id,
        modified,
        published: opt_string(m, "published", "")?,
        withdrawn: timestamp(m, "withdrawn", "")?,
        aliases: string_list(m, "aliases", "")?,
        related,
        upstream: string_list(m, "upstream", "")?,
        summary: opt_string(m, "summary", "")?,
        details: opt_string(m, "details", "")?,
        severity: severities(m, "")?,
        affected: items(m, "affected", "")?
            .iter()
            .enumerate()
            .map(|(i, a)| affected(a, &format!("affected[{i}]")))
            .collect::<Result<_, _>>()?,
        references: items(m, "references", "")?
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let path = format!("references[{i}]");
                let o = object(r, &path)?;
                Ok(Reference {
                    kind: req_string(o, "type", &path)?,
                    url: req_string(o, "url", &path)?,
                })
            })
            .collect::<Result<_, OsvError>>()?,
        credits: items(m, "credits", "")?
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let path = format!("credits[{i}]");
                let o = object(c, &path)?;
                Ok(Credit {
                    name: req_string(o, "name", &path)?,
                    contact: string_list(o, "contact", &path)?,
                    kind: opt_string(o, "type", &path)?,
                })
            })
            .collect::<Result<_, OsvError>>()?,
        database_specific: free_form(m, "database_specific"),
    })
}

fn severities(m: &Map<String, Value>, path: &str) -> Result<Vec<Severity>, OsvError> {
    items(m, "severity", path)?
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let path = format!("{}[{i}]", join(path, "severity"));
            let o = object(s, &path)?;
            Ok(Severity {
                kind: req_string(o, "type", &path)?,
                score: req_string(o, "score", &path)?,
            })
        })
        .collect()
}

fn affected(v: &Value, path: &str) -> Result<Affected, OsvError> {
    let m = object(v, path)?;
    let package = match m.get("package") {
        None | Some(Value::Null) => None,
        Some(p) => {
            let ppath = join(path, "package");
            let o = object(p, &ppath)?;
            let ecosystem = req_string(o, "ecosystem", &ppath)?;
            let name = req_string(o, "name", &ppath)?;
            if ecosystem.is_empty() {
                return Err(field_err(&join(&ppath, "ecosystem"), "empty"));
            }
            if name.is_empty() {
                return Err(field_err(&join(&ppath, "name"), "empty"));
            }
            Some(Package {
                ecosystem,
                name,
                purl: opt_string(o, "purl", &ppath)?,
            })
        }
    };
    Ok(Affected {
        package,
        severity: severities(m, path)?,
        ranges: items(m, "ranges", path)?
            .iter()
            .enumerate()
            .map(|(i, r)| range(r, &format!("{}[{i}]", join(path, "ranges"))))
            .collect::<Result<_, _>>()?,
        versions: string_list(m, "versions", path)?,
        ecosystem_specific: free_form(m, "ecosystem_specific"),
        database_specific: free_form(m, "database_specific"),
    })
}

fn range(v: &Value, path: &str) -> Result<Range, OsvError> {
    let m = object(v, path)?;
    let kind = RangeType::parse(&req_string(m, "type", path)?);
    let repo = opt_string(m, "repo", path)?;
    if kind == RangeType::Git && repo.is_none() {
        return Err(field_err(
            &join(path, "repo"),
            "required for a GIT range but missing",
        ));
    }
    let events = match m.get("events") {
        None | Some(Value::Null) => {
            return Err(field_err(&join(path, "events"), "required but missing"));
        }
        Some(_) => items(m, "events", path)?,
    };
    let events = events
        .iter()
        .enumerate()
        .map(|(i, e)| event(e, &format!("{}[{i}]", join(path, "events"))))
        .collect::<Result<_, _>>()?;
    Ok(Range {
        kind,
        repo,
        events,
        database_specific: free_form(m, "database_specific"),
    })
}

fn event(v: &Value, path: &str) -> Result<Event, OsvError> {
    let m = object(v, path)?;
    let present: Vec<&str> = EVENT_KEYS
        .iter()
        .copied()
        .filter(|k| m.contains_key(*k))
        .collect();
    let key = match present.as_slice() {
        [one] => *one,
        [] => {
            return Err(field_err(
                path,
                "an event needs one of introduced, fixed, last_affected, limit; found none",
            ));
        }
        several => {
            return Err(field_err(
                path,
                format!(
                    "an event names exactly one of introduced, fixed, last_affected, limit; found {}",
                    several.join(", ")
                ),
            ));
        }
    };
    let version = req_string(m, key, path)?;
    if version.is_empty() {
        return Err(field_err(&join(path, key), "empty version"));
    }
    Ok(match key {
        "introduced" => Event::Introduced(version),
        "fixed" => Event::Fixed(version),
        "last_affected" => Event::LastAffected(version),
        _ => Event::Limit(version),
    })
}

/// A point in time read from an RFC 3339 timestamp, in UTC. Orders chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z (negative before).
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    /// Reads `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`; `t`/`z` and a space for `T` are accepted,
    /// and so is a missing offset (read as UTC), which some feeds write. Fractions beyond
    /// nanoseconds are truncated.
    pub fn parse(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        if b.len() < 19 || b.len() > 64 {
            return None;
        }
        let num = |range: std::ops::Range<usize>| -> Option<i64> {
            let part = &b[range];
            if !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(part).ok()?.parse().ok()
        };
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut i = 19;
        let mut nanos: u32 = 0;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 9 {
                    nanos = nanos * 10 + u32::from(b[i] - b'0');
                }
                i += 1;
            }
            let digits = i - start;
            if digits == 0 {
                return None;
            }
            for _ in digits..9 {
                nanos *= 10;
            }
        }
        let offset = match &b[i..] {
            [] | [b'Z'] | [b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let digits = [*h1, *h2, *m1, *m2];
                if !digits.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                let h = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
                let m = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
                if h > 23 || m > 59 {
                    return None;
                }
                let total = h * 3600 + m * 60;
                if *sign == b'+' { total } else { -total }
            }
            _ => return None,
        };
        // A leap second is folded into the next second's start; ordering stays monotone.
        // In range: month and day were checked above.
        let secs = days_from_civil(year, month as u32, day as u32) * 86_400
            + hour * 3600
            + minute * 60
            + second
            - offset;
        Some(Timestamp { secs, nanos })
    }

    /// The current time.
    pub fn now() -> Timestamp {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Timestamp {
                secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                nanos: d.subsec_nanos(),
            },
            Err(_) => Timestamp::default(),
        }
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` in UTC (fraction dropped).
    pub fn to_rfc3339(&self) -> String {
        let (date, h, m, s) = self.parts();
        format!("{date}T{h:02}:{m:02}:{s:02}Z")
    }

    /// A fixed-width UTC form that sorts like the timestamps themselves (for years 0–9999).
    pub fn sort_key(&self) -> String {
        let (date, h, m, s) = self.parts();
        format!("{date}T{h:02}:{m:02}:{s:02}.{:09}Z", self.nanos)
    }

    fn parts(&self) -> (String, i64, i64, i64) {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, mo, d) = civil_from_days(days);
        (
            format!("{y:04}-{mo:02}-{d:02}"),
            rem / 3600,
            rem % 3600 / 60,
            rem % 60,
        )
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{"id": "X-1", "modified": "2024-01-02T03:04:05Z"}"#;

    #[test]
    fn minimal_record() {
        let a = parse_json(MINIMAL.as_bytes()).unwrap();
        assert_eq!(a.id, "X-1");
        assert!(a.affected.is_empty());
        assert!(!a.is_withdrawn());
    }

    #[test]
    fn required_fields() {
        let e = parse_json(br#"{"modified": "2024-01-02T03:04:05Z"}"#).unwrap_err();
        assert_eq!(e.to_string(), "field `id`: required but missing");
        let e = parse_json(br#"{"id": "X"}"#).unwrap_err();
        assert_eq!(e.to_string(), "field `modified`: required but missing");
        let e = parse_json(br#"{"id": 5, "modified": "2024-01-02T03:04:05Z"}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "field `id`: expected a string, found a number"
        );
        let e = parse_json(br#"{"id": "X", "modified": "yesterday"}"#).unwrap_err();
        assert!(e.to_string().contains("not an RFC 3339 timestamp"), "{e}");
        let e = parse_json(b"[1]").unwrap_err();
        assert!(e.to_string().contains("expected an object"), "{e}");
        let e = parse_json(b"{").unwrap_err();
        assert!(matches!(e, OsvError::Syntax { format: "JSON", .. }), "{e}");
    }

    #[test]
    fn full_record_and_unknown_fields() {
        let text = r#"{
          "schema_version": "1.7.0", "id": "GHSA-xxxx", "modified": "2024-01-02T03:04:05.123Z",
          "published": "2023-12-01T00:00:00Z", "aliases": ["CVE-2024-1"], "related": null,
          "upstream": ["CVE-2023-9"], "summary": "s", "details": "d",
          "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
          "future_field": {"anything": [1, 2]},
          "affected": [{
            "package": {"ecosystem": "PyPI", "name": "Jinja2", "purl": "pkg:pypi/jinja2"},
            "ranges": [
              {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.11.3"}]},
              {"type": "GIT", "repo": "https://g/x", "events": [{"introduced": "abc"}, {"limit": "def"}]},
              {"type": "WEIRD", "events": [{"introduced": "0"}, {"last_affected": "1"}]}
            ],
            "versions": ["2.0", "2.10"],
            "ecosystem_specific": {"severity": "HIGH"},
            "database_specific": {"n": 1}
          }],
          "references": [{"type": "WEB", "url": "https://example.com"}],
          "credits": [{"name": "someone", "contact": ["mailto:a@b"], "type": "FINDER"}],
          "database_specific": {"source": "x"}
        }"#;
        let a = parse_json(text.as_bytes()).unwrap();
        assert_eq!(a.upstream, ["CVE-2023-9"]);
        let r = &a.affected[0].ranges;
        assert_eq!(r[0].kind, RangeType::Ecosystem);
        assert_eq!(r[0].events[1], Event::Fixed("2.11.3".into()));
        assert_eq!(r[1].kind, RangeType::Git);
        assert_eq!(r[1].events[1], Event::Limit("def".into()));
        assert_eq!(r[2].kind, RangeType::Other("WEIRD".into()));
        assert_eq!(r[2].events[1], Event::LastAffected("1".into()));
        assert_eq!(a.affected_for("PyPI", "jinja2").count(), 1);
        assert_eq!(a.affected_for("PyPI", "JINJA_2").count(), 0);
        assert_eq!(a.affected_for("pypi", "jinja2").count(), 0);
        // Serialise and read back: the same model.
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.contains(r#"{"fixed":"2.11.3"}"#), "{json}");
        let back: Advisory = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn bad_events_name_the_field() {
        let rec = |events: &str| {
            format!(
                r#"{{"id": "X", "modified": "2024-01-02T03:04:05Z", "affected": [{{
                  "package": {{"ecosystem": "npm", "name": "a"}},
                  "ranges": [{{"type": "SEMVER", "events": {events}}}]}}]}}"#
            )
        };
        let e = parse_json(rec(r#"[{"introduced": "0"}, {}]"#).as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "field `affected[0].ranges[0].events[1]`: an event needs one of introduced, fixed, last_affected, limit; found none"
        );
        let e = parse_json(rec(r#"[{"introduced": "0", "fixed": "1"}]"#).as_bytes()).unwrap_err();
        assert!(e.to_string().contains("found introduced, fixed"), "{e}");
        let e = parse_json(rec(r#"[{"fixed": 1}]"#).as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "field `affected[0].ranges[0].events[0].fixed`: expected a string, found a number"
        );
        let e = parse_json(rec(r#"{"a": 1}"#).as_bytes()).unwrap_err();
        assert!(e.to_string().contains("expected an array"), "{e}");
        // GIT needs a repo.
        let git = r#"{"id": "X", "modified": "2024-01-02T03:04:05Z", "affected": [{
            "ranges": [{"type": "GIT", "events": [{"introduced": "0"}]}]}]}"#;
        let e = parse_json(git.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("affected[0].ranges[0].repo"), "{e}");
        // A package without a name.
        let nameless = r#"{"id": "X", "modified": "2024-01-02T03:04:05Z", "affected": [{
            "package": {"ecosystem": "npm"}}]}"#;
        let e = parse_json(nameless.as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "field `affected[0].package.name`: required but missing"
        );
    }

    #[test]
    fn yaml_keeps_version_text() {
        let text = "id: PYSEC-1\nmodified: '2021-03-22T16:34:00Z'\naffected:\n- package:\n    name: x\n    ecosystem: PyPI\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: 0\n    - fixed: 2.10\n  versions:\n  - 2.0\n  - 1.10\n  - yes\n  database_specific:\n    n: 3\n    f: 1.5\n    b: true\n";
        let a = parse_yaml(text).unwrap();
        let af = &a.affected[0];
        assert_eq!(af.ranges[0].events[0], Event::Introduced("0".into()));
        assert_eq!(af.ranges[0].events[1], Event::Fixed("2.10".into()));
        assert_eq!(af.versions, ["2.0", "1.10", "yes"]);
        assert_eq!(
            af.database_specific,
            Some(serde_json::json!({"n": 3, "f": 1.5, "b": true}))
        );
        // Unquoted timestamps stay text.
        let a = parse_yaml("id: X\nmodified: 2021-03-22T16:34:00Z\n").unwrap();
        assert_eq!(a.modified, "2021-03-22T16:34:00Z");
    }

    #[test]
    fn yaml_errors() {
        assert!(matches!(
            parse_yaml("").unwrap_err(),
            OsvError::Syntax { format: "YAML", .. }
        ));
        assert!(parse_yaml("id: [\n").is_err());
        let e = parse_yaml("id: X\n---\nid: Y\n").unwrap_err();
        assert!(e.to_string().contains("2 documents"), "{e}");
        let e = parse_yaml("modified: '2021-03-22T16:34:00Z'\n").unwrap_err();
        assert_eq!(e.to_string(), "field `id`: required but missing");
        let e = parse_yaml("? [a]\n: b\n").unwrap_err();
        assert!(e.to_string().contains("not a scalar"), "{e}");
    }

    #[test]
    fn size_cap() {
        let big = vec![b' '; MAX_RECORD_BYTES + 1];
        assert!(matches!(parse_json(&big), Err(OsvError::TooLarge { .. })));
        let text = " ".repeat(MAX_RECORD_BYTES + 1);
        assert!(matches!(parse_yaml(&text), Err(OsvError::TooLarge { .. })));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!(
            r#"{{"id": "X", "modified": "2024-01-02T03:04:05Z", "database_specific": {}1{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(parse_json(deep.as_bytes()).is_err());
        let deep_yaml = format!(
            "id: X\nmodified: '2024-01-02T03:04:05Z'\ndatabase_specific: {}1{}\n",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(parse_yaml(&deep_yaml).is_err());
    }

    #[test]
    fn record_keeps_unknown_fields_and_reports_id_on_failure() {
        let p = parse_record(
            br#"{"id": "X", "modified": "2024-01-02T03:04:05Z", "credits": [], "x_new": 1}"#,
            Format::Json,
        )
        .ok()
        .unwrap();
        assert!(p.json.contains("x_new"));
        let f = parse_record(br#"{"id": "X", "modified": 3}"#, Format::Json)
            .err()
            .unwrap();
        assert_eq!(f.id.as_deref(), Some("X"));
        let f = parse_record(b"\xff\xfe", Format::Yaml).err().unwrap();
        assert!(f.error.to_string().contains("UTF-8"));
        assert_eq!(Format::of_name("a/B.YML"), Some(Format::Yaml));
        assert_eq!(Format::of_name("a/b.zip"), None);
    }

    #[test]
    fn timestamps() {
        let t = |s: &str| Timestamp::parse(s);
        assert_eq!(t("1970-01-01T00:00:00Z").unwrap().secs, 0);
        assert_eq!(t("1970-01-02T00:00:00+01:00").unwrap().secs, 86_400 - 3600);
        assert_eq!(t("2024-02-29T12:00:00.5Z").unwrap().nanos, 500_000_000);
        assert_eq!(
            t("2021-03-22T16:34:00").unwrap(),
            t("2021-03-22T16:34:00Z").unwrap()
        );
        assert!(t("0001-01-01T00:00:00Z").unwrap() < t("1970-01-01T00:00:00Z").unwrap());
        assert!(t("2023-02-29T00:00:00Z").is_none());
        assert!(t("2023-13-01T00:00:00Z").is_none());
        assert!(t("2023-01-01T24:00:00Z").is_none());
        assert!(t("2023-01-01T00:00:00.Z").is_none());
        assert!(t("2023-01-01T00:00:00+0100").is_none());
        assert!(t("2023-01-01").is_none());
        assert!(t("２０２３-01-01T00:00:00Z").is_none());
        let a = t("2024-05-06T07:08:09.000000001Z").unwrap();
        let b = t("2024-05-06T09:08:09.000000002+02:00").unwrap();
        assert!(a < b);
        assert_eq!(a.to_rfc3339(), "2024-05-06T07:08:09Z");
        assert_eq!(a.sort_key(), "2024-05-06T07:08:09.000000001Z");
        assert_eq!(
            t("0001-01-01T00:00:00Z").unwrap().to_rfc3339(),
            "0001-01-01T00:00:00Z"
        );
        for days in [-800_000, -1, 0, 1, 59, 365, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
