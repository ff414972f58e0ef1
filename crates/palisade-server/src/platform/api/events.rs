//! Security events: ingestion from sources, search and histogram (`palisade_siem`).
//!
//! - `POST /ingest/k8s-audit`: the Kubernetes API server's audit webhook backend (batch mode
//!   posts an `audit.k8s.io/v1` `EventList`; a single `Event` is read too). Point the
//!   webhook's kubeconfig at `https://HOST/ingest/k8s-audit` with `token: pal_…` (an analyst
//!   API token) as the user.
//! - `POST /ingest/json?source=NAME&kind=auto|json|cloudtrail|falco`: NDJSON, a JSON array,
//!   CloudTrail's `{"Records": […]}`, Falco's JSON output.
//!
//! Bodies are read up to `max_upload_mb` (413 beyond, also after gzip decompression), parsed
//! off the async threads, and appended in one store transaction; the answer (200,
//! `{"accepted": N, "parse_errors": M, …}`) goes out only after the store committed. Nothing
//! is dropped silently: what does not parse is stored with `parse_error` set and counted.
//! When the store cannot take a batch within [`APPEND_WAIT`] the answer is 429 with
//! `Retry-After` and the events count as dropped (the sender is expected to retry).
//!
//! - `GET /api/v1/events?q=&from=&to=&limit=&offset=&order=&cursor=`: a page of events.
//! - `GET /api/v1/events/histogram?q=&from=&to=&buckets=`: counts over time.
//! - `GET /api/v1/events/tail?q=`: the live tail (`platform::tail`), fed from here once the
//!   store acknowledged a batch.
//!
//! `q` is the search language of `palisade_siem::query`; a search that does not parse is a
//! 400 whose `detail` names the character column. Times are RFC 3339, a date, `now`, or an
//! age (`15m`, `24h`, `7d`); a missing `from`/`to` leaves that end open (the histogram then
//! spans the matching events).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use palisade_siem::Event;
use palisade_siem::event::Nanos;
use palisade_siem::parse::{self, Kind, ParseOptions, time};
use palisade_siem::query::{self, Query};
use palisade_siem::store::{self, Cursor, EventStoreError, Hit, Order, Search};
use palisade_store::Role;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Access, Answer, Param, Route, param, route};
use crate::platform::audit::{Audit, Outcome};
use crate::platform::error::{ApiError, ApiPath, ApiQuery};
use crate::platform::ingest;
use crate::platform::state::{AppState, now_nanos};

/// How long a batch waits for an append slot before the answer is 429.
pub const APPEND_WAIT: Duration = Duration::from_secs(5);
/// What `Retry-After` says on a 429.
const RETRY_AFTER_SECS: u64 = 2;
/// Rejections listed in an ingest answer (the rest are counted).
const REJECTIONS_SHOWN: usize = 20;
/// Events per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: u32 = 100;
/// Histogram buckets unless `buckets` says otherwise.
pub const DEFAULT_BUCKETS: u32 = 60;
/// Longest source name accepted.
const MAX_SOURCE_CHARS: usize = 128;

const K8S_PARAMS: &[Param] = &[param(
    "source",
    "string",
    "the source name stored with each event (default k8s-audit)",
)];

const JSON_PARAMS: &[Param] = &[
    param(
        "source",
        "string",
        "the source name stored with each event (default: the kind, e.g. cloudtrail)",
    ),
    param(
        "kind",
        "string",
        "auto (default: detected from the body) | json | cloudtrail | falco",
    ),
];

const SEARCH_PARAMS: &[Param] = &[
    param(
        "q",
        "string",
        "the search: `verb:create objectRef.resource:pods`, words, AND/OR/NOT, parentheses; empty for everything",
    ),
    param(
        "from",
        "string",
        "inclusive start: RFC 3339, YYYY-MM-DD, now, or an age (15m, 24h, 7d); default: open",
    ),
    param("to", "string", "exclusive end, as from; default: open"),
    param(
        "limit",
        "integer",
        "events per page, 1 to 10000 (default 100)",
    ),
    param(
        "offset",
        "integer",
        "events skipped, at most 10000 (use cursor beyond)",
    ),
    param("order", "string", "desc (newest first, default) | asc"),
    param(
        "cursor",
        "string",
        "continue after this event: `next` of the previous page",
    ),
];

const TAIL_PARAMS: &[Param] = &[param(
    "q",
    "string",
    "the search, as for /api/v1/events; empty for every event",
)];

const HISTOGRAM_PARAMS: &[Param] = &[
    param("q", "string", "the search, as for /api/v1/events"),
    param(
        "from",
        "string",
        "inclusive start (default: the earliest matching event)",
    ),
    param(
        "to",
        "string",
        "exclusive end (default: just after the latest matching event)",
    ),
    param("buckets", "integer", "1 to 10000 (default 60)"),
];

pub fn routes() -> Vec<Route> {
    vec![
        route!(POST "/ingest/k8s-audit", Access::Role(Role::Analyst), ingest_k8s_audit,
            "Ingest Kubernetes audit events: the API server's audit webhook (an audit.k8s.io/v1 EventList, or one Event; gzip accepted). Answers after the events are stored",
            tag = "events", query = K8S_PARAMS, body = Some("EventBatch"),
            answer = Answer::Json(200, "EventIngestOutcome")),
        route!(POST "/ingest/json", Access::Role(Role::Analyst), ingest_json,
            "Ingest events as NDJSON or a JSON array, or CloudTrail or Falco JSON (gzip accepted). Answers after the events are stored",
            tag = "events", query = JSON_PARAMS, body = Some("EventBatch"),
            answer = Answer::Json(200, "EventIngestOutcome")),
        route!(GET "/api/v1/events", Access::Role(Role::Viewer), search,
            "Search security events",
            tag = "events", query = SEARCH_PARAMS, answer = Answer::Json(200, "EventPage")),
        route!(GET "/api/v1/events/histogram", Access::Role(Role::Viewer), histogram,
            "Counts of matching events over time",
            tag = "events", query = HISTOGRAM_PARAMS, answer = Answer::Json(200, "EventHistogram")),
        // `{event}`, not `{id}`: the OpenAPI document types `id` parameters as integers, and
        // an event id is `TIME.SEQ`.
        route!(GET "/api/v1/events/{event}", Access::Role(Role::Viewer), get_event,
            "One stored event by its id (as searches, the live tail and alerts give it)",
            tag = "events", answer = Answer::Json(200, "Event")),
        route!(GET "/api/v1/events/tail", Access::Role(Role::Viewer), crate::platform::tail::tail,
            "Live tail: newly stored events matching q as server-sent events (one `data:` JSON event each; `: keep-alive` comments; `event: dropped` when the client fell behind)",
            tag = "events", query = TAIL_PARAMS, answer = Answer::Text("text/event-stream")),
    ]
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct K8sQuery {
    source: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonQuery {
    source: Option<String>,
    kind: Option<String>,
}

/// A source name from the query: trimmed, printable, at most [`MAX_SOURCE_CHARS`].
fn source_name(s: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if s.chars().count() > MAX_SOURCE_CHARS || s.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "source: use at most {MAX_SOURCE_CHARS} printable characters"
        )));
    }
    Ok(Some(s.to_string()))
}

/// `kind` of `/ingest/json`: `None` for auto.
fn json_kind(s: Option<&str>) -> Result<Option<Kind>, ApiError> {
    match s.map(|k| k.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("auto") => Ok(None),
        Some("json" | "ndjson") => Ok(Some(Kind::Json)),
        Some("cloudtrail") => Ok(Some(Kind::CloudTrail)),
        Some("falco") => Ok(Some(Kind::Falco)),
        Some(other) => Err(ApiError::bad_request(format!(
            "kind {other:?} is not one of auto, json, cloudtrail, falco (Kubernetes audit events go to /ingest/k8s-audit)"
        ))),
    }
}

async fn ingest_k8s_audit(
    State(state): State<Arc<AppState>>,
    audit: Audit,
    ApiQuery(q): ApiQuery<K8sQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let result = async {
        let source = source_name(q.source.as_deref())?.unwrap_or_else(|| "k8s-audit".into());
        receive(
            &state,
            &audit,
            &headers,
            body,
            Some(Kind::K8sAudit),
            Some(source),
        )
        .await
    }
    .await;
    failed_audit(&audit, result).await
}

async fn ingest_json(
    State(state): State<Arc<AppState>>,
    audit: Audit,
    ApiQuery(q): ApiQuery<JsonQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let result = async {
        let kind = json_kind(q.kind.as_deref())?;
        let source = source_name(q.source.as_deref())?;
        receive(&state, &audit, &headers, body, kind, source).await
    }
    .await;
    failed_audit(&audit, result).await
}

/// Audits a refused or failed ingest (a successful one audited itself).
async fn failed_audit(
    audit: &Audit,
    result: Result<Response, ApiError>,
) -> Result<Response, ApiError> {
    if let Err(e) = &result {
        audit
            .record(
                "events.ingest",
                "",
                Outcome::Failure,
                json!({ "status": e.status.as_u16(), "error": e.error }),
            )
            .await;
    }
    result
}

/// The events a body holds, parsed as `kind` (`None`: detected, JSON when it is not JSON of
/// a known kind).
fn parse_body(
    bytes: &[u8],
    kind: Option<Kind>,
    source: Option<String>,
    received: Nanos,
    max: usize,
) -> (Kind, String, Vec<Event>) {
    let kind = kind.unwrap_or_else(|| match parse::detect(bytes) {
        Kind::Syslog => Kind::Json,
        k => k,
    });
    let source = source.unwrap_or_else(|| kind.as_str().replace('_', "-"));
    let mut opts = ParseOptions::new(source.clone(), received);
    opts.max_input_bytes = max;
    let events = parse::parse(kind, bytes, &opts);
    (kind, source, events)
}

async fn receive(
    state: &Arc<AppState>,
    audit: &Audit,
    headers: &HeaderMap,
    body: Body,
    kind: Option<Kind>,
    source: Option<String>,
) -> Result<Response, ApiError> {
    let max = state.settings.max_upload_bytes;
    let raw = super::reports::read_body(body, headers, max).await?;
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let received = now_nanos();
    let (kind, source, events) = {
        let _permit = state
            .ingest_slots
            .acquire()
            .await
            .map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(move || {
            let bytes = ingest::decode(raw, encoding.as_deref(), max)?;
            Ok::<_, ApiError>(parse_body(&bytes, kind, source, received, max))
        })
        .await
        .map_err(ApiError::internal)??
    };
    let parse_errors = events.iter().filter(|e| e.parse_error.is_some()).count() as u64;
    let n = events.len() as u64;
    // Waiting for the slot is cancel-safe: nothing has reached the store yet.
    let slot = match tokio::time::timeout(APPEND_WAIT, state.event_slots.acquire()).await {
        Ok(Ok(slot)) => slot,
        Ok(Err(e)) => return Err(ApiError::internal(e)),
        Err(_) => {
            state.events.record_dropped(n);
            return Err(ApiError::too_many(
                "the event store is busy; send the batch again later",
                RETRY_AFTER_SECS,
            ));
        }
    };
    let receipt = match state.events.append(&events).await {
        Ok(r) => r,
        Err(e) => {
            state.events.record_dropped(n);
            return Err(store_error(e).with_header(header::RETRY_AFTER, RETRY_AFTER_SECS.into()));
        }
    };
    drop(slot);
    state.stored(&events, &receipt).await;
    // Parse errors among the events the store kept.
    let rejected: std::collections::HashSet<usize> =
        receipt.rejected.iter().map(|r| r.index).collect();
    let stored_errors = events
        .iter()
        .enumerate()
        .filter(|(i, e)| e.parse_error.is_some() && !rejected.contains(i))
        .count() as u64;
    state.metrics.event_parse_errors(stored_errors);
    let rejections: Vec<Value> = receipt
        .rejected
        .iter()
        .take(REJECTIONS_SHOWN)
        .map(|r| json!({ "index": r.index, "reason": r.reason }))
        .collect();
    let body = json!({
        "accepted": receipt.accepted,
        "parse_errors": parse_errors,
        "rejected": receipt.rejected.len(),
        "rejections": rejections,
        "kind": kind.as_str(),
        "source": source,
    });
    audit
        .record(
            "events.ingest",
            &format!("source:{source}"),
            Outcome::Success,
            json!({
                "kind": kind.as_str(),
                "events": n,
                "accepted": receipt.accepted,
                "parse_errors": parse_errors,
                "rejected": receipt.rejected.len(),
            }),
        )
        .await;
    Ok(Json(body).into_response())
}

/// An event store failure as an answer: the caller's mistake is a 400, the rest 503.
pub(crate) fn store_error(e: EventStoreError) -> ApiError {
    match e {
        EventStoreError::Invalid(msg) => ApiError::bad_request(msg),
        other => {
            crate::platform::metrics::store_error();
            ApiError::unavailable(other)
        }
    }
}

/// A search, parsed; 400 naming the character column when it does not parse.
pub(crate) fn parse_search(q: Option<&str>) -> Result<Query, ApiError> {
    let text = q.unwrap_or("");
    query::parse(text).map_err(|e| {
        ApiError::bad_request(format!(
            "the search does not parse, at character {}: {}",
            e.column, e.message
        ))
        .with_detail(json!({ "parameter": "q", "column": e.column, "message": e.message }))
    })
}

/// One end of a time range: `None` when not given.
pub(crate) fn parse_when(
    name: &str,
    s: Option<&str>,
    now: Nanos,
) -> Result<Option<Nanos>, ApiError> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    time::parse_time_spec(s, now).map(Some).ok_or_else(|| {
        let shown: String = s.chars().take(64).collect();
        ApiError::bad_request(format!(
            "{name}: {shown:?} is not a time: use RFC 3339 (2024-05-01T12:00:00Z), a date (2024-05-01), now, or an age such as 15m, 24h, 7d"
        ))
    })
}

/// `from` and `to`, open ends as `None`; 400 when the range is empty.
pub(crate) fn parse_range(
    from: Option<&str>,
    to: Option<&str>,
    now: Nanos,
) -> Result<(Option<Nanos>, Option<Nanos>), ApiError> {
    let from = parse_when("from", from, now)?;
    let to = parse_when("to", to, now)?;
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Err(ApiError::bad_request(
            "from must be before to: the time range is empty",
        ));
    }
    Ok((from, to))
}

fn number<T: std::str::FromStr>(
    name: &str,
    s: Option<&str>,
    range: &str,
) -> Result<Option<T>, ApiError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse::<T>().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "{name}: {:?} is not {range}",
                v.chars().take(32).collect::<String>()
            ))
        }),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
    order: Option<String>,
    cursor: Option<String>,
}

/// An event as the API and the console show it.
pub fn event_json(hit: &Hit) -> Value {
    let id = Cursor {
        time: hit.event.time,
        seq: hit.seq,
    };
    event_value(&hit.event, Some(id.to_string()))
}

/// An event as JSON, with its store id when known.
pub fn event_value(e: &Event, id: Option<String>) -> Value {
    json!({
        "id": id,
        "time": time::format_rfc3339(e.time),
        "received": time::format_rfc3339(e.received),
        "source": e.source,
        "kind": e.kind,
        "host": e.host,
        "user": e.user,
        "action": e.action,
        "object": e.object,
        "outcome": e.outcome,
        "source_ip": e.source_ip,
        "parse_error": e.parse_error,
        "truncated": e.truncated,
        "fields": e.fields,
        "raw": e.raw,
    })
}

async fn search(
    State(state): State<Arc<AppState>>,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> Result<Response, ApiError> {
    let query = parse_search(p.q.as_deref())?;
    let now = now_nanos();
    let (from, to) = parse_range(p.from.as_deref(), p.to.as_deref(), now)?;
    let limit =
        number::<u32>("limit", p.limit.as_deref(), "a whole number")?.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > store::MAX_LIMIT {
        return Err(ApiError::bad_request(format!(
            "limit: use 1 to {}",
            store::MAX_LIMIT
        )));
    }
    let offset = number::<u64>("offset", p.offset.as_deref(), "a whole number")?.unwrap_or(0);
    if offset > store::MAX_OFFSET {
        return Err(ApiError::bad_request(format!(
            "offset: use at most {} (page further with cursor)",
            store::MAX_OFFSET
        )));
    }
    let order = match p.order.as_deref().map(str::trim) {
        None | Some("") | Some("desc") => Order::Desc,
        Some("asc") => Order::Asc,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "order: {:?} is not asc or desc",
                other.chars().take(32).collect::<String>()
            )));
        }
    };
    let cursor = match p.cursor.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(c.parse::<Cursor>().map_err(|_| {
            ApiError::bad_request("cursor: not a cursor (use `next` of a previous page)")
        })?),
    };
    let mut s = Search::new(&query, from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
    s.limit = limit;
    s.offset = offset;
    s.order = order;
    s.cursor = cursor;
    let result = state.events.search(&s).await.map_err(store_error)?;
    let events: Vec<Value> = result.events.iter().map(event_json).collect();
    Ok(Json(json!({
        "events": events,
        "total": result.total,
        "total_exact": result.total_exact,
        "next": result.next.map(|c| c.to_string()),
        "took_ms": result.took.as_millis() as u64,
    }))
    .into_response())
}

async fn get_event(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let shown = || id.chars().take(64).collect::<String>();
    let cursor: Cursor = id.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "event id {:?} is not an id this store gives (TIME.SEQ, as in search results)",
            shown()
        ))
    })?;
    let hit = state
        .events
        .get(cursor)
        .await
        .map_err(store_error)?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "event {}: not in the store (never stored, or removed by retention)",
                shown()
            ))
        })?;
    Ok(Json(event_json(&hit)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistogramParams {
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
    buckets: Option<String>,
}

/// Histogram buckets over a range: `(from, to, width, [(start, count)])`; open ends span the
/// matching events, `None` when there are none.
pub(crate) async fn histogram_of(
    state: &AppState,
    query: &Query,
    from: Option<Nanos>,
    to: Option<Nanos>,
    buckets: u32,
) -> Result<Option<(Nanos, Nanos, Nanos, Vec<store::Bucket>)>, ApiError> {
    let edge = |order: Order| {
        let mut s = Search::new(query, from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
        s.limit = 1;
        s.count = false;
        s.order = order;
        async move { state.events.search(&s).await.map_err(store_error) }
    };
    let from = match from {
        Some(f) => f,
        None => match edge(Order::Asc).await?.events.first() {
            Some(h) => h.event.time,
            None => return Ok(None),
        },
    };
    let to = match to {
        Some(t) => t,
        None => match edge(Order::Desc).await?.events.first() {
            Some(h) => h.event.time.saturating_add(1),
            None => return Ok(None),
        },
    };
    if from >= to {
        return Ok(None);
    }
    let counts = state
        .events
        .histogram(query, from, to, buckets)
        .await
        .map_err(store_error)?;
    let width = match counts.as_slice() {
        [a, b, ..] => b.start - a.start,
        _ => to.saturating_sub(from),
    };
    Ok(Some((from, to, width, counts)))
}

async fn histogram(
    State(state): State<Arc<AppState>>,
    ApiQuery(p): ApiQuery<HistogramParams>,
) -> Result<Response, ApiError> {
    let query = parse_search(p.q.as_deref())?;
    let (from, to) = parse_range(p.from.as_deref(), p.to.as_deref(), now_nanos())?;
    let buckets = number::<u32>("buckets", p.buckets.as_deref(), "a whole number")?
        .unwrap_or(DEFAULT_BUCKETS);
    if buckets == 0 || buckets > store::MAX_BUCKETS {
        return Err(ApiError::bad_request(format!(
            "buckets: use 1 to {}",
            store::MAX_BUCKETS
        )));
    }
    let body = match histogram_of(&state, &query, from, to, buckets).await? {
        None => json!({ "from": null, "to": null, "width_ms": null, "total": 0, "buckets": [] }),
        Some((from, to, width, counts)) => {
            let total: u64 = counts.iter().map(|b| b.count).sum();
            let buckets: Vec<Value> = counts
                .iter()
                .map(|b| json!({ "start": time::format_rfc3339(b.start), "count": b.count }))
                .collect();
            json!({
                "from": time::format_rfc3339(from),
                "to": time::format_rfc3339(to),
                "width_ms": width / 1_000_000,
                "total": total,
                "buckets": buckets,
            })
        }
    };
    Ok(Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_kinds() {
        assert_eq!(source_name(None).unwrap(), None);
        assert_eq!(source_name(Some("  ")).unwrap(), None);
        assert_eq!(
            source_name(Some(" prod-audit ")).unwrap().as_deref(),
            Some("prod-audit")
        );
        assert!(source_name(Some("a\nb")).is_err());
        assert!(source_name(Some(&"x".repeat(129))).is_err());
        assert_eq!(json_kind(Some("auto")).unwrap(), None);
        assert_eq!(
            json_kind(Some("CloudTrail")).unwrap(),
            Some(Kind::CloudTrail)
        );
        assert!(json_kind(Some("syslog")).is_err());
    }

    #[test]
    fn bodies_that_are_not_json_stay_json_events() {
        let (kind, source, events) = parse_body(b"not json at all\n", None, None, 5, 1 << 20);
        assert_eq!((kind, source.as_str()), (Kind::Json, "json"));
        assert_eq!(events.len(), 1);
        assert!(events[0].parse_error.is_some());
    }

    #[test]
    fn ranges_and_searches() {
        let now = 1_000_000_000_000;
        assert_eq!(parse_range(None, None, now).unwrap(), (None, None));
        assert_eq!(
            parse_range(Some("15m"), Some("now"), now).unwrap(),
            (Some(now - 900_000_000_000), Some(now))
        );
        assert!(parse_range(Some("now"), Some("15m"), now).is_err());
        let e = parse_range(Some("yesterday"), None, now).unwrap_err();
        assert!(e.error.starts_with("from:"), "{}", e.error);
        let e = parse_search(Some("verb:create AND")).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        assert_eq!(e.detail.unwrap()["column"], 16);
    }
}
