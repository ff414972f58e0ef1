//! Health, readiness, metrics and the OpenAPI document.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use palisade_store::Role;

use super::{Access, Answer, Route, route};
use crate::platform::state::AppState;

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/healthz", Access::Public, healthz, "Liveness: 200 while the process serves",
            tag = "system", answer = Answer::Text("text/plain")),
        route!(GET "/readyz", Access::Public, readyz, "Readiness: 200 when the database answers, 503 otherwise or while stopping",
            tag = "system", answer = Answer::Text("text/plain")),
        route!(GET "/metrics", Access::Metrics, metrics, "Prometheus metrics (needs a token unless metrics_public = true)",
            tag = "system", answer = Answer::Text("text/plain; version=0.0.4")),
        route!(GET "/api/openapi.json", Access::Role(Role::Viewer), openapi, "This API as an OpenAPI 3.1 document",
            tag = "system", answer = Answer::Json(200, "Object")),
    ]
}

fn text(status: StatusCode, body: String, content_type: &'static str) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n".into(), "text/plain; charset=utf-8")
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if !state.is_ready() {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting down\n".into(),
            "text/plain; charset=utf-8",
        );
    }
    match state.store.ping().await {
        Ok(()) => text(StatusCode::OK, "ok\n".into(), "text/plain; charset=utf-8"),
        Err(e) => {
            crate::platform::metrics::store_error();
            state.log(&format!("readiness: the database does not answer: {e}"));
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "database unavailable\n".into(),
                "text/plain; charset=utf-8",
            )
        }
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut out = state.metrics.render_with_events(state.events.counters());
    state.alerts.counters().render(&mut out);
    state.alerts.notifier().counters().render(&mut out);
    state
        .detection
        .counters
        .render(state.detection.rule_count, &mut out);
    text(
        StatusCode::OK,
        out,
        "text/plain; version=0.0.4; charset=utf-8",
    )
}

async fn openapi() -> Json<serde_json::Value> {
    Json(crate::platform::openapi::document(&super::routes()))
}
