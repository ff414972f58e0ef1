//! Alerts raised by detection rules (`platform::alerts`).
//!
//! - `GET /api/v1/alerts` (viewer): newest first, filtered by state, least level, rule,
//!   text and time.
//! - `GET /api/v1/alerts/{id}` (viewer): one alert with its sample events and ATT&CK ids.
//! - `POST /api/v1/alerts/{id}/state` (analyst) `{"state", "reason"}`: acknowledge, close
//!   (a reason is required) or reopen. Audited as `alert.state` with the states before and
//!   after and the reason.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use palisade_store::{AlertLevel, AlertQuery, AlertState, AlertStateChange, Role};
use serde::Deserialize;
use serde_json::{Value, json};

use super::audit::parse_time;
use super::{Access, Answer, Param, Route, param, route};
use crate::platform::audit::{Audit, Outcome};
use crate::platform::auth::Identity;
use crate::platform::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::platform::notify::attack_techniques;
use crate::platform::state::AppState;

/// Longest state-change reason, in characters.
pub const MAX_REASON_CHARS: usize = 1000;
const MAX_LIMIT: u32 = 1000;
const DEFAULT_LIMIT: u32 = 50;

const ALERT_FILTERS: &[Param] = &[
    param(
        "state",
        "string",
        "new | acknowledged | closed (default: all)",
    ),
    param(
        "level",
        "string",
        "this level and above: informational, low, medium, high, critical",
    ),
    param("rule", "string", "rule id"),
    param(
        "q",
        "string",
        "text in the rule title or id, tags or entity values (case-insensitive)",
    ),
    param(
        "since",
        "string",
        "last seen at or after: YYYY-MM-DD, RFC 3339 or Unix ms",
    ),
    param(
        "until",
        "string",
        "last seen at or before: YYYY-MM-DD, RFC 3339 or Unix ms",
    ),
    param("offset", "integer", "skip this many"),
    param("limit", "integer", "page size, 1 to 1000 (default 50)"),
];

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/api/v1/alerts", Access::Role(Role::Viewer), list,
            "Alerts raised by detection rules, newest first",
            tag = "alerts", query = ALERT_FILTERS, answer = Answer::Json(200, "AlertPage")),
        route!(GET "/api/v1/alerts/{id}", Access::Role(Role::Viewer), get,
            "One alert with its matching events",
            tag = "alerts", answer = Answer::Json(200, "AlertDetail")),
        route!(POST "/api/v1/alerts/{id}/state", Access::Role(Role::Analyst), set_state,
            "Acknowledge, close (with a reason) or reopen an alert",
            tag = "alerts", body = Some("AlertStateChange"), answer = Answer::Json(200, "Alert")),
    ]
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlertFilters {
    pub(crate) state: Option<String>,
    pub(crate) level: Option<String>,
    pub(crate) rule: Option<String>,
    pub(crate) q: Option<String>,
    pub(crate) since: Option<String>,
    pub(crate) until: Option<String>,
    #[serde(default)]
    pub(crate) offset: u32,
    pub(crate) limit: Option<u32>,
}

fn nonempty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// The store query for the filters; 400 naming the first one that does not parse.
pub(crate) fn query_of(f: &AlertFilters) -> Result<AlertQuery, ApiError> {
    let state = match nonempty(f.state.as_deref()) {
        None | Some("all") => None,
        Some(s) => Some(AlertState::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!("state {s:?}: use new, acknowledged or closed"))
        })?),
    };
    let min_level = match nonempty(f.level.as_deref()) {
        None => None,
        Some(l) => Some(AlertLevel::parse(l).ok_or_else(|| {
            ApiError::bad_request(format!(
                "level {l:?}: use informational, low, medium, high or critical"
            ))
        })?),
    };
    let short = |o: Option<&str>, what: &str, max: usize| -> Result<Option<String>, ApiError> {
        match nonempty(o) {
            Some(s) if s.chars().count() > max => Err(ApiError::bad_request(format!(
                "{what}: use at most {max} characters"
            ))),
            other => Ok(other.map(str::to_string)),
        }
    };
    let limit = match f.limit {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "limit: use 1 to {MAX_LIMIT}"
            )));
        }
    };
    Ok(AlertQuery {
        state,
        min_level,
        rule_id: short(f.rule.as_deref(), "rule", 256)?,
        text: short(f.q.as_deref(), "q", 200)?,
        since: nonempty(f.since.as_deref())
            .map(|s| parse_time("since", s))
            .transpose()?,
        until: nonempty(f.until.as_deref())
            .map(|s| parse_time("until", s))
            .transpose()?,
        offset: f.offset,
        limit,
    })
}

pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    ApiQuery(f): ApiQuery<AlertFilters>,
) -> Result<Json<Value>, ApiError> {
    let page = state.store.list_alerts(&query_of(&f)?).await?;
    Ok(Json(json!(page)))
}

pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let (alert, events) = state
        .store
        .alert(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("alert {id}")))?;
    let mut body = json!(alert);
    body["attack"] = json!(attack_techniques(&alert.tags));
    body["events"] = json!(events);
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateRequest {
    pub(crate) state: String,
    #[serde(default)]
    pub(crate) reason: Option<String>,
}

pub(crate) async fn set_state(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    audit: Audit,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<StateRequest>,
) -> Result<Json<Value>, ApiError> {
    let to = AlertState::parse(&body.state).ok_or_else(|| {
        ApiError::bad_request(format!(
            "state {:?}: use new, acknowledged or closed",
            body.state
        ))
    })?;
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    if let Some(r) = &reason
        && (r.chars().count() > MAX_REASON_CHARS || r.contains('\0'))
    {
        return Err(ApiError::bad_request(format!(
            "reason: use at most {MAX_REASON_CHARS} characters, no NUL"
        )));
    }
    if to == AlertState::Closed && reason.is_none() {
        return Err(ApiError::bad_request(
            "reason: closing an alert needs a reason (false positive, resolved, …)",
        ));
    }
    let (alert, before) = state
        .store
        .set_alert_state(
            id,
            AlertStateChange {
                state: to,
                reason: reason.clone(),
                by: identity.user.username.clone(),
                at: state.now(),
            },
        )
        .await?;
    audit
        .record(
            "alert.state",
            &format!("alert:{id}"),
            Outcome::Success,
            json!({
                "from": before.as_str(),
                "to": to.as_str(),
                "reason": reason,
                "rule_id": alert.rule_id,
            }),
        )
        .await;
    Ok(Json(json!(alert)))
}
