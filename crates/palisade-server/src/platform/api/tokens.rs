//! API tokens: create (shown once), list, revoke.
//!
//! A token's scope is at most the role its creator acts with (a viewer cannot mint an admin
//! token, nor can an analyst-scoped token); when it is used, the role in force is the lower
//! of its scope and its owner's current role, so demoting a user demotes their tokens.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use palisade_store::{NewApiToken, Role};
use serde::Deserialize;
use serde_json::json;

use super::{Access, Answer, Param, Route, param, route};
use crate::platform::audit::{Audit, Outcome};
use crate::platform::auth::Identity;
use crate::platform::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::platform::state::AppState;
use crate::platform::tokens::new_api_token;

/// Longest token lifetime.
pub const MAX_DAYS: u32 = 3650;

const VIEWER: Access = Access::Role(Role::Viewer);

const LIST_PARAMS: &[Param] = &[param("all", "boolean", "every user's tokens (admin only)")];

pub fn routes() -> Vec<Route> {
    vec![
        route!(POST "/api/v1/tokens", VIEWER, create,
            "Create an API token (the secret is in this answer only); scope at most your role",
            tag = "tokens", body = Some("NewToken"), answer = Answer::Json(201, "CreatedToken")),
        route!(GET "/api/v1/tokens", VIEWER, list,
            "Your tokens; with all=true (admin) everyone's",
            tag = "tokens", query = LIST_PARAMS, answer = Answer::Json(200, "TokenList")),
        route!(DELETE "/api/v1/tokens/{id}", VIEWER, revoke,
            "Revoke a token (yours, or anyone's as admin)",
            tag = "tokens", answer = Answer::NoContent),
    ]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateToken {
    pub(crate) name: String,
    /// Defaults to the role the caller acts with.
    #[serde(default)]
    pub(crate) scope: Option<Role>,
    /// `None` = never expires.
    #[serde(default)]
    pub(crate) expires_in_days: Option<u32>,
}

pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    audit: Audit,
    ApiJson(body): ApiJson<CreateToken>,
) -> Result<Response, ApiError> {
    let name: String = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::bad_request("name: use 1 to 100 characters"));
    }
    let scope = body.scope.unwrap_or(identity.role);
    if scope > identity.role {
        audit
            .record(
                "token.create",
                "",
                Outcome::Denied,
                json!({ "name": name, "scope": scope, "reason": "scope above the caller's role" }),
            )
            .await;
        return Err(ApiError::forbidden(format!(
            "scope {} is above the role you act with ({})",
            scope.as_str(),
            identity.role.as_str()
        )));
    }
    let now = state.now();
    let expires_at = match body.expires_in_days {
        None => None,
        Some(d) if (1..=MAX_DAYS).contains(&d) => Some(now + i64::from(d) * 86_400_000),
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "expires_in_days: use 1 to {MAX_DAYS}, or leave it out for a token that does not expire"
            )));
        }
    };
    let secret = new_api_token()?;
    let token = state
        .store
        .create_token(
            NewApiToken {
                user_id: identity.user.id,
                name: name.clone(),
                secret_hash: secret.hash,
                prefix: secret.prefix,
                scope,
                expires_at,
            },
            now,
        )
        .await?;
    audit
        .record(
            "token.create",
            &format!("token:{}", token.id),
            Outcome::Success,
            json!({ "name": token.name, "scope": token.scope, "expires_at": token.expires_at }),
        )
        .await;
    let mut body = json!(token);
    body["token"] = json!(secret.token);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    all: bool,
}

async fn list(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = if q.all {
        if !identity.at_least(Role::Admin) {
            return Err(ApiError::forbidden("all=true needs the admin role"));
        }
        None
    } else {
        Some(identity.user.id)
    };
    let tokens = state.store.list_tokens(user).await?;
    Ok(Json(json!({ "items": tokens })))
}

pub(crate) async fn revoke(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    audit: Audit,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let token = state.store.token_by_id(id).await?;
    // Someone else's token is "not found" to a non-admin: ids do not reveal what exists.
    let Some(token) =
        token.filter(|t| t.user_id == identity.user.id || identity.at_least(Role::Admin))
    else {
        return Err(ApiError::not_found(format!("token {id}")));
    };
    if token.revoked_at.is_none() {
        state.store.revoke_token(id, state.now()).await?;
    }
    audit
        .record(
            "token.revoke",
            &format!("token:{id}"),
            Outcome::Success,
            json!({ "name": token.name, "owner_user_id": token.user_id }),
        )
        .await;
    Ok(StatusCode::NO_CONTENT.into_response())
}
