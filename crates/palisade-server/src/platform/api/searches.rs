//! Saved event searches: a name for a search of `/api/v1/events` (`palisade_siem::query`),
//! kept in the platform store with its owner and creation time.
//!
//! - `GET /api/v1/searches` (viewer): every saved search, by name.
//! - `POST /api/v1/searches` (analyst) `{"name", "query"}`: saves one for the caller; the
//!   search must parse (400 naming the column otherwise); a name the caller already uses is 409.
//! - `DELETE /api/v1/searches/{id}` (analyst): one's own, or anyone's as admin; someone
//!   else's is 403.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use palisade_store::{NewSavedSearch, Role};
use serde::Deserialize;
use serde_json::json;

use super::events::parse_search;
use super::{Access, Answer, Route, route};
use crate::platform::audit::{Audit, Outcome};
use crate::platform::auth::Identity;
use crate::platform::error::{ApiError, ApiJson, ApiPath};
use crate::platform::state::AppState;

/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest search, in characters.
pub const MAX_QUERY_CHARS: usize = 2000;

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/api/v1/searches", Access::Role(Role::Viewer), list,
            "Saved event searches, by name",
            tag = "events", answer = Answer::Json(200, "SavedSearchList")),
        route!(POST "/api/v1/searches", Access::Role(Role::Analyst), create,
            "Save an event search under a name of yours",
            tag = "events", body = Some("NewSavedSearch"), answer = Answer::Json(201, "SavedSearch")),
        route!(DELETE "/api/v1/searches/{id}", Access::Role(Role::Analyst), delete,
            "Delete a saved search (yours, or anyone's as admin)",
            tag = "events", answer = Answer::NoContent),
    ]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateSearch {
    pub(crate) name: String,
    pub(crate) query: String,
}

/// The name, trimmed; 400 when empty, too long or not printable.
pub(crate) fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(format!(
            "name: use 1 to {MAX_NAME_CHARS} printable characters"
        )));
    }
    Ok(name.to_string())
}

/// The search, trimmed; 400 when too long or when it does not parse.
pub(crate) fn check_query(query: &str) -> Result<String, ApiError> {
    let query = query.trim();
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::bad_request(format!(
            "query: use at most {MAX_QUERY_CHARS} characters"
        )));
    }
    parse_search(Some(query))?;
    Ok(query.to_string())
}

pub(crate) async fn list(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let items = state.store.list_saved_searches().await?;
    Ok(Json(json!({ "items": items })).into_response())
}

pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    audit: Audit,
    ApiJson(body): ApiJson<CreateSearch>,
) -> Result<Response, ApiError> {
    let name = check_name(&body.name)?;
    let query = check_query(&body.query)?;
    let saved = state
        .store
        .create_saved_search(
            NewSavedSearch {
                user_id: identity.user.id,
                name,
                query,
            },
            state.now(),
        )
        .await?;
    audit
        .record(
            "search.create",
            &format!("search:{}", saved.id),
            Outcome::Success,
            json!({ "name": saved.name, "query": saved.query }),
        )
        .await;
    Ok((StatusCode::CREATED, Json(saved)).into_response())
}

pub(crate) async fn delete(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    audit: Audit,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let Some(saved) = state.store.saved_search(id).await? else {
        return Err(ApiError::not_found(format!("saved search {id}")));
    };
    if saved.user_id != identity.user.id && !identity.at_least(Role::Admin) {
        return Err(ApiError::forbidden(
            "only its owner or an admin can delete a saved search",
        ));
    }
    state.store.delete_saved_search(id).await?;
    audit
        .record(
            "search.delete",
            &format!("search:{id}"),
            Outcome::Success,
            json!({ "name": saved.name, "owner_user_id": saved.user_id }),
        )
        .await;
    Ok(StatusCode::NO_CONTENT.into_response())
}
