//! Reading assets, findings and the dashboard (viewer and up).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use palisade_store::{AssetKind, AssetQuery, FindingQuery, FindingSort, FindingStatus, Role};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Access, Answer, Param, Route, param, route};
use crate::platform::error::{ApiError, ApiPath, ApiQuery};
use crate::platform::state::AppState;

const VIEWER: Access = Access::Role(Role::Viewer);
const MAX_LIMIT: u32 = 1000;
const DEFAULT_LIMIT: u32 = 50;

const ASSET_FILTERS: &[Param] = &[
    param("kind", "string", "image | workload | repository | other"),
    param("q", "string", "text in the name or key (case-insensitive)"),
    param("sort", "string", "risk (default) | last_seen"),
    param("offset", "integer", "skip this many"),
    param("limit", "integer", "page size, 1 to 1000 (default 50)"),
];

const FINDING_FILTERS: &[Param] = &[
    param(
        "severity",
        "string",
        "comma-separated: CRITICAL,HIGH,MEDIUM,LOW,INFO,UNKNOWN",
    ),
    param("asset", "integer", "asset id"),
    param(
        "scanner",
        "string",
        "kubernetes, dockerfile, secret, vulnerability, trivy, …",
    ),
    param("rule", "string", "rule id"),
    param("status", "string", "open | fixed (default: both)"),
    param(
        "q",
        "string",
        "text in the title, rule id, location or package (case-insensitive)",
    ),
    param(
        "sort",
        "string",
        "severity (default) | first_seen | last_seen",
    ),
    param("offset", "integer", "skip this many"),
    param("limit", "integer", "page size, 1 to 1000 (default 50)"),
];

const LIMIT_ONLY: &[Param] = &[param(
    "limit",
    "integer",
    "how many, 1 to 1000 (default 50)",
)];

const DASHBOARD_PARAMS: &[Param] = &[
    param(
        "days",
        "integer",
        "trend window in days, 1 to 365 (default 30)",
    ),
    param(
        "top",
        "integer",
        "riskiest assets to list, 1 to 100 (default 10)",
    ),
];

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/api/v1/assets", VIEWER, list_assets, "Assets, riskiest first",
            tag = "assets", query = ASSET_FILTERS, answer = Answer::Json(200, "AssetPage")),
        route!(GET "/api/v1/assets/{id}", VIEWER, get_asset, "One asset with its open counts",
            tag = "assets", answer = Answer::Json(200, "Asset")),
        route!(GET "/api/v1/assets/{id}/reports", VIEWER, asset_reports,
            "Reports received for an asset, newest first",
            tag = "assets", query = LIMIT_ONLY, answer = Answer::Json(200, "ReportList")),
        route!(GET "/api/v1/assets/{id}/sbom", VIEWER, asset_sbom,
            "The latest SBOM received for an asset (CycloneDX JSON)",
            tag = "assets", answer = Answer::Json(200, "Object")),
        route!(GET "/api/v1/findings", VIEWER, list_findings, "Findings across assets",
            tag = "findings", query = FINDING_FILTERS, answer = Answer::Json(200, "FindingPage")),
        route!(GET "/api/v1/findings/{id}", VIEWER, get_finding,
            "One finding with the report's own record of it",
            tag = "findings", answer = Answer::Json(200, "FindingDetail")),
        route!(GET "/api/v1/dashboard", VIEWER, dashboard,
            "Open findings by severity, the trend, the riskiest assets",
            tag = "findings", query = DASHBOARD_PARAMS, answer = Answer::Json(200, "Dashboard")),
    ]
}

fn limit(l: Option<u32>) -> Result<u32, ApiError> {
    match l {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request(format!(
            "limit: use 1 to {MAX_LIMIT}"
        ))),
    }
}

fn text(q: Option<String>) -> Result<Option<String>, ApiError> {
    match q.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > 200 => {
            Err(ApiError::bad_request("q: use at most 200 characters"))
        }
        other => Ok(other),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssetFilters {
    kind: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    #[serde(default)]
    offset: u32,
    limit: Option<u32>,
}

async fn list_assets(
    State(state): State<Arc<AppState>>,
    ApiQuery(f): ApiQuery<AssetFilters>,
) -> Result<Json<Value>, ApiError> {
    let kind = match f.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        Some(k) => Some(AssetKind::parse(k).ok_or_else(|| {
            ApiError::bad_request(format!(
                "kind {k:?} is not one of image, workload, repository, other"
            ))
        })?),
        None => None,
    };
    let by_last_seen = match f.sort.as_deref().map(str::trim) {
        None | Some("") | Some("risk") => false,
        Some("last_seen") => true,
        Some(s) => {
            return Err(ApiError::bad_request(format!(
                "sort {s:?}: use risk or last_seen"
            )));
        }
    };
    let page = state
        .store
        .list_assets(&AssetQuery {
            kind,
            text: text(f.q)?,
            by_last_seen,
            offset: f.offset,
            limit: limit(f.limit)?,
        })
        .await?;
    Ok(Json(json!(page)))
}

async fn get_asset(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let asset = state
        .store
        .asset(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("asset {id}")))?;
    Ok(Json(json!(asset)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitOnly {
    limit: Option<u32>,
}

async fn asset_reports(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<LimitOnly>,
) -> Result<Json<Value>, ApiError> {
    if state.store.asset(id).await?.is_none() {
        return Err(ApiError::not_found(format!("asset {id}")));
    }
    let items = state.store.asset_reports(id, limit(q.limit)?).await?;
    Ok(Json(json!({ "items": items })))
}

async fn asset_sbom(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    if state.store.asset(id).await?.is_none() {
        return Err(ApiError::not_found(format!("asset {id}")));
    }
    let sbom = state
        .store
        .asset_sbom(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("SBOM of asset {id}")))?;
    let mut r = sbom.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.cyclonedx+json"),
    );
    Ok(r)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingFilters {
    severity: Option<String>,
    asset: Option<i64>,
    scanner: Option<String>,
    rule: Option<String>,
    status: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    #[serde(default)]
    offset: u32,
    limit: Option<u32>,
}

async fn list_findings(
    State(state): State<Arc<AppState>>,
    ApiQuery(f): ApiQuery<FindingFilters>,
) -> Result<Json<Value>, ApiError> {
    let mut severities = Vec::new();
    for s in f.severity.as_deref().unwrap_or("").split(',') {
        let s = s.trim().to_ascii_uppercase();
        if s.is_empty() {
            continue;
        }
        if !["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "UNKNOWN"].contains(&s.as_str()) {
            return Err(ApiError::bad_request(format!(
                "severity {s:?}: use CRITICAL, HIGH, MEDIUM, LOW, INFO or UNKNOWN"
            )));
        }
        severities.push(s);
    }
    let status = match f.status.as_deref().map(str::trim) {
        None | Some("") | Some("all") => None,
        Some("open") => Some(FindingStatus::Open),
        Some("fixed") => Some(FindingStatus::Fixed),
        Some(s) => {
            return Err(ApiError::bad_request(format!(
                "status {s:?}: use open or fixed"
            )));
        }
    };
    let sort = match f.sort.as_deref().map(str::trim) {
        None | Some("") | Some("severity") => FindingSort::Severity,
        Some("first_seen") => FindingSort::FirstSeen,
        Some("last_seen") => FindingSort::LastSeen,
        Some(s) => {
            return Err(ApiError::bad_request(format!(
                "sort {s:?}: use severity, first_seen or last_seen"
            )));
        }
    };
    let short = |o: Option<String>, what: &str| -> Result<Option<String>, ApiError> {
        match o.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
            Some(s) if s.chars().count() > 256 => Err(ApiError::bad_request(format!(
                "{what}: use at most 256 characters"
            ))),
            other => Ok(other),
        }
    };
    let page = state
        .store
        .list_findings(&FindingQuery {
            asset_id: f.asset,
            severities,
            scanner: short(f.scanner, "scanner")?,
            rule_id: short(f.rule, "rule")?,
            status,
            text: text(f.q)?,
            sort,
            offset: f.offset,
            limit: limit(f.limit)?,
        })
        .await?;
    Ok(Json(json!(page)))
}

async fn get_finding(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let (finding, raw) = state
        .store
        .finding(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("finding {id}")))?;
    let mut body = json!(finding);
    body["raw"] = raw;
    Ok(Json(body))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DashboardQuery {
    days: Option<u32>,
    top: Option<u32>,
}

async fn dashboard(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<DashboardQuery>,
) -> Result<Json<Value>, ApiError> {
    let days = q.days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(ApiError::bad_request("days: use 1 to 365"));
    }
    let top = q.top.unwrap_or(10);
    if !(1..=100).contains(&top) {
        return Err(ApiError::bad_request("top: use 1 to 100"));
    }
    let d = state.store.dashboard(state.now(), days, top).await?;
    Ok(Json(json!(d)))
}
