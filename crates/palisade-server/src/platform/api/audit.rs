//! Reading the audit log (admin): list with filters, export, verify the chain. There is
//! deliberately no route that changes or removes an entry.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use palisade_store::{AuditEntry, AuditQuery, Millis, Role};
use serde::Deserialize;
use serde_json::json;

use super::{Access, Answer, Route, param, route};
use crate::platform::error::{ApiError, ApiQuery};
use crate::platform::state::AppState;

const ADMIN: Access = Access::Role(Role::Admin);
/// Page size when `limit` is not given, and the most one page holds.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;
/// Most entries one export holds (newest first); older ones via `before_id`.
const MAX_EXPORT: usize = 1_000_000;

const FILTERS: &[super::Param] = &[
    param("actor", "string", "exact actor (username, or anonymous)"),
    param(
        "action",
        "string",
        "action prefix, e.g. login. or token.create",
    ),
    param(
        "since",
        "string",
        "entries at or after: Unix milliseconds, RFC 3339 or YYYY-MM-DD",
    ),
    param(
        "until",
        "string",
        "entries before: Unix milliseconds, RFC 3339 or YYYY-MM-DD",
    ),
    param(
        "before_id",
        "integer",
        "entries with a smaller id (paging, newest first)",
    ),
    param("limit", "integer", "page size, 1 to 1000 (default 100)"),
];

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/api/v1/audit", ADMIN, list, "Audit log entries, newest first",
            tag = "audit", query = FILTERS, answer = Answer::Json(200, "AuditPage")),
        route!(GET "/api/v1/audit/export", ADMIN, export,
            "The audit log (filtered like the list) as a JSON array download",
            tag = "audit", query = FILTERS, answer = Answer::Json(200, "AuditExport")),
        route!(GET "/api/v1/audit/verify", ADMIN, verify,
            "Recompute the hash chain; names the first entry that does not match",
            tag = "audit", answer = Answer::Json(200, "AuditVerify")),
    ]
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Filters {
    actor: Option<String>,
    action: Option<String>,
    since: Option<String>,
    until: Option<String>,
    before_id: Option<i64>,
    limit: Option<u32>,
}

/// Unix milliseconds, an RFC 3339 timestamp, or a date (midnight UTC).
pub fn parse_time(name: &str, s: &str) -> Result<Millis, ApiError> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    };
    palisade_core::time::parse_rfc3339(&full)
        .map(|secs| secs.saturating_mul(1000))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{name}: {s:?} is not Unix milliseconds, an RFC 3339 time or a YYYY-MM-DD date"
            ))
        })
}

impl Filters {
    fn query(&self, limit: u32) -> Result<AuditQuery, ApiError> {
        let nonempty = |o: &Option<String>| {
            o.as_ref()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        Ok(AuditQuery {
            actor: nonempty(&self.actor),
            action_prefix: nonempty(&self.action),
            since: self
                .since
                .as_deref()
                .map(|s| parse_time("since", s))
                .transpose()?,
            until: self
                .until
                .as_deref()
                .map(|s| parse_time("until", s))
                .transpose()?,
            before_id: self.before_id,
            limit,
        })
    }
}

async fn list(
    State(state): State<Arc<AppState>>,
    ApiQuery(f): ApiQuery<Filters>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = match f.limit {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "limit: use 1 to {MAX_LIMIT}"
            )));
        }
    };
    let items = state.store.list_audit(&f.query(limit)?).await?;
    let next_before_id = (items.len() == limit as usize)
        .then(|| items.last().map(|e| e.id))
        .flatten();
    Ok(Json(
        json!({ "items": items, "next_before_id": next_before_id }),
    ))
}

async fn export(
    State(state): State<Arc<AppState>>,
    ApiQuery(f): ApiQuery<Filters>,
) -> Result<Response, ApiError> {
    let mut query = f.query(MAX_LIMIT)?;
    let mut all: Vec<AuditEntry> = Vec::new();
    loop {
        let page = state.store.list_audit(&query).await?;
        let done = page.len() < MAX_LIMIT as usize;
        query.before_id = page.last().map(|e| e.id);
        all.extend(page);
        if done || query.before_id.is_none() || all.len() >= MAX_EXPORT {
            break;
        }
    }
    let mut r = Json(all).into_response();
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"palisade-audit.json\""),
    );
    Ok(r)
}

async fn verify(State(state): State<Arc<AppState>>) -> Result<Json<serde_json::Value>, ApiError> {
    let first_bad = state.store.verify_audit_chain().await?;
    Ok(Json(
        json!({ "ok": first_bad.is_none(), "first_bad_id": first_bad }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(
            parse_time("since", "1700000000000").unwrap(),
            1_700_000_000_000
        );
        assert_eq!(parse_time("since", "1970-01-02").unwrap(), 86_400_000);
        assert_eq!(parse_time("since", "1970-01-01T00:00:01Z").unwrap(), 1000);
        assert!(parse_time("since", "yesterday").is_err());
    }
}
