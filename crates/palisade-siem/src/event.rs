//! One security event: what a source sent, kept whole, and the fields every search and
//! detection can count on.

use serde::{Deserialize, Serialize};

/// Nanoseconds since the Unix epoch (UTC).
pub type Nanos = i64;

/// One event.
///
/// `raw` is what the sender sent for this event (one JSON object, one syslog line), never
/// rewritten; a parser that could not read it sets `parse_error` and keeps the event. `fields`
/// is the parsed structure (the JSON object; for syslog, its header fields and structured
/// data), the thing field filters and detection rules look into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened, by the event's own clock (the sender's); `received` when it has none.
    pub time: Nanos,
    /// When Palisade received it. Both are kept: clocks skew.
    pub received: Nanos,
    /// The source it came from, by its configured name (`k8s-audit`, `cloudtrail`, `syslog`, …).
    pub source: String,
    /// The kind of data, which picks the parser and the detection pipelines:
    /// `k8s_audit`, `cloudtrail`, `falco`, `syslog`, `json`.
    pub kind: String,
    /// Normalised fields, where the event has them.
    pub host: Option<String>,
    pub user: Option<String>,
    pub action: Option<String>,
    pub object: Option<String>,
    /// `success`, `failure` or the source's own word when it has no mapping.
    pub outcome: Option<String>,
    pub source_ip: Option<String>,
    /// The event as received (truncated to the configured limit, see `truncated`).
    pub raw: String,
    /// The parsed event: a JSON object (empty when parsing failed).
    pub fields: serde_json::Value,
    /// Why the event could not be parsed, when it could not.
    pub parse_error: Option<String>,
    /// The raw form was cut at the size limit (its end replaced by a marker).
    pub truncated: bool,
    /// `fields` is exactly what parsing `raw` gives, and `raw` is written plainly: no
    /// duplicate key, no number other than an integer, no escape JSON does not need. The JSON
    /// parsers know this from their one parse and set it; the store then keeps `raw` alone
    /// without checking again (otherwise it checks, see `store::same_as_raw`). Whoever changes
    /// `fields` afterwards must clear it. Never serialised: a deserialised event is `false`.
    #[serde(skip)]
    pub fields_from_raw: bool,
}
