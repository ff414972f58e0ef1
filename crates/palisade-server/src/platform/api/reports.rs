//! `POST /api/v1/reports`: upload a report, apply it to the findings ledger.
//!
//! The body is read up to `max_upload_mb` (413 beyond, also after gzip decompression),
//! parsed off the async threads with at most a few uploads parsing at once (`ingest`), and
//! applied in one store transaction: either the whole report lands or none of it.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use palisade_store::{AssetKind, NewReport, Role};
use serde::Deserialize;
use serde_json::json;

use super::{Access, Answer, Param, Route, param, route};
use crate::platform::audit::{Audit, Outcome};
use crate::platform::error::{ApiError, ApiQuery};
use crate::platform::ingest::{self, AssetRef, Limits};
use crate::platform::state::AppState;

const UPLOAD_PARAMS: &[Param] = &[
    param(
        "asset",
        "string",
        "the asset's identity (image digest, repository name, …); default: what the report names",
    ),
    param(
        "kind",
        "string",
        "image | workload | repository | other (default: from the report, else other)",
    ),
    param("name", "string", "display name (default: asset)"),
];

pub fn routes() -> Vec<Route> {
    vec![
        route!(POST "/api/v1/reports", Access::Role(Role::Analyst), upload,
        "Upload a report (Palisade JSON, SARIF 2.1.0 or CycloneDX JSON; gzip accepted) and apply it to the asset's findings",
        tag = "reports", query = UPLOAD_PARAMS, body = Some("Report"),
        answer = Answer::Json(201, "ReportOutcome")),
    ]
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    asset: Option<String>,
    kind: Option<String>,
    name: Option<String>,
}

fn clean(s: &Option<String>, what: &str, max: usize) -> Result<Option<String>, ApiError> {
    let Some(s) = s.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "{what}: use at most {max} printable characters"
        )));
    }
    Ok(Some(s.to_string()))
}

/// The asset from the query, else from the report; 400 when neither names one.
fn resolve_asset(q: &UploadQuery, from_report: Option<AssetRef>) -> Result<AssetRef, ApiError> {
    let kind = match clean(&q.kind, "kind", 32)? {
        Some(k) => Some(AssetKind::parse(&k).ok_or_else(|| {
            ApiError::bad_request(format!(
                "kind {k:?} is not one of image, workload, repository, other"
            ))
        })?),
        None => None,
    };
    let name = clean(&q.name, "name", 512)?;
    match (clean(&q.asset, "asset", 512)?, from_report) {
        (Some(id), report) => {
            let kind = kind.or(report.map(|r| r.kind)).unwrap_or(AssetKind::Other);
            Ok(AssetRef::new(kind, &id, name.as_deref().unwrap_or(&id)))
        }
        (None, Some(mut r)) => {
            if let Some(k) = kind
                && k != r.kind
            {
                let identity = r
                    .key
                    .split_once(':')
                    .map(|(_, i)| i)
                    .unwrap_or(&r.key)
                    .to_string();
                r = AssetRef::new(k, &identity, &r.name);
            }
            if let Some(n) = name {
                r.name = n;
            }
            Ok(r)
        }
        (None, None) => Err(ApiError::bad_request(
            "the report does not say what it is about (no target, image or repository in it): name the asset with ?asset=…&kind=…",
        )),
    }
}

/// At most this much of a refused upload is read before answering 413.
const DRAIN_BYTES: usize = 8 << 20;

/// Reads a request body of at most `max` bytes: 413 beyond (declared or counted), after
/// draining a bounded amount of the rest.
pub(crate) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    max: usize,
) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::too_large(format!(
            "the upload is over the {} MiB limit (max_upload_mb)",
            max >> 20
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // What is left of a refused upload is read and dropped (a bounded amount, for a bounded
    // time) so the client sees the 413 instead of a reset connection.
    let drain = |body: Body| {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        crate::serving::drain(body, DRAIN_BYTES, deadline)
    };
    if declared.is_some_and(|n| n > max as u64) {
        drain(body).await;
        return Err(too_large());
    }
    let mut body = body;
    match Limited::new(&mut body, max).collect().await {
        Ok(c) => Ok(c.to_bytes().to_vec()),
        Err(e) if e.is::<LengthLimitError>() => {
            drain(body).await;
            Err(too_large())
        }
        Err(_) => Err(ApiError::bad_request("the upload was cut off")),
    }
}

async fn upload(
    State(state): State<Arc<AppState>>,
    audit: Audit,
    ApiQuery(q): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let max = state.settings.max_upload_bytes;
    let result = receive(&state, &audit, &q, &headers, body, max).await;
    match result {
        Ok(r) => Ok(r),
        Err(e) => {
            audit
                .record(
                    "report.upload",
                    "",
                    Outcome::Failure,
                    json!({ "status": e.status.as_u16(), "error": e.error }),
                )
                .await;
            Err(e)
        }
    }
}

async fn receive(
    state: &Arc<AppState>,
    audit: &Audit,
    q: &UploadQuery,
    headers: &HeaderMap,
    body: Body,
    max: usize,
) -> Result<Response, ApiError> {
    // Check the query before reading a large body for nothing.
    resolve_asset(q, Some(AssetRef::new(AssetKind::Other, "-", "-")))?;
    let raw = read_body(body, headers, max).await?;
    let size = raw.len();
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let _permit = state
        .ingest_slots
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let limits = Limits {
        max_bytes: max,
        max_findings: ingest::MAX_FINDINGS,
        max_depth: ingest::MAX_DEPTH,
    };
    let parsed = tokio::task::spawn_blocking(move || {
        let bytes = ingest::decode(raw, encoding.as_deref(), max)?;
        ingest::parse(&bytes, limits)
    })
    .await
    .map_err(ApiError::internal)??;
    let asset = resolve_asset(q, parsed.asset.clone())?;
    let finding_count = parsed.findings.len();
    let report = NewReport {
        received_at: state.now(),
        format: parsed.format.to_string(),
        scanners: parsed.scanners.clone(),
        asset_kind: asset.kind,
        asset_key: asset.key.clone(),
        asset_name: asset.name.clone(),
        uploaded_by: audit.actor.name.clone(),
        size: i64::try_from(size).unwrap_or(i64::MAX),
        sbom: parsed.sbom,
        findings: parsed.findings,
    };
    let outcome = state.store.apply_report(report).await?;
    state.metrics.report(parsed.format, finding_count);
    audit
        .record(
            "report.upload",
            &format!("asset:{}", outcome.asset_id),
            Outcome::Success,
            json!({
                "report_id": outcome.report_id,
                "asset_key": asset.key,
                "format": parsed.format,
                "scanners": parsed.scanners,
                "findings": finding_count,
                "new": outcome.new,
                "fixed": outcome.fixed,
                "reopened": outcome.reopened,
            }),
        )
        .await;
    let mut body = json!(outcome);
    body["format"] = json!(parsed.format);
    body["asset_key"] = json!(asset.key);
    body["findings"] = json!(finding_count);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_from_query_or_report() {
        let q = UploadQuery {
            asset: Some("sha256:abc".into()),
            kind: Some("image".into()),
            name: Some("nginx".into()),
        };
        let a = resolve_asset(&q, None).unwrap();
        assert_eq!(
            (a.key.as_str(), a.name.as_str()),
            ("image:sha256:abc", "nginx")
        );
        let from = AssetRef::new(AssetKind::Repository, "deploy", "deploy");
        let a = resolve_asset(&UploadQuery::default(), Some(from.clone())).unwrap();
        assert_eq!(a, from);
        let q = UploadQuery {
            kind: Some("workload".into()),
            ..UploadQuery::default()
        };
        assert_eq!(
            resolve_asset(&q, Some(from)).unwrap().key,
            "workload:deploy"
        );
        assert_eq!(
            resolve_asset(&UploadQuery::default(), None)
                .unwrap_err()
                .status
                .as_u16(),
            400
        );
        let q = UploadQuery {
            asset: Some("x".into()),
            kind: Some("vm".into()),
            ..UploadQuery::default()
        };
        assert!(resolve_asset(&q, None).is_err());
    }
}
