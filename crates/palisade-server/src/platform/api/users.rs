//! Users (admin only): list, create, change role, disable and enable, reset password.
//!
//! Disabling a user ends their sessions at once; their tokens stop working because token
//! lookups skip disabled owners. A password reset clears the password, ends the sessions,
//! and returns a one-time login link that leads to setting a new one. Admins cannot demote
//! or disable themselves, so the last admin cannot lock everyone out by accident.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use palisade_store::{NewUser, Role};
use serde::Deserialize;
use serde_json::json;

use super::session::new_login_link;
use super::{Access, Answer, Route, route};
use crate::platform::audit::{Audit, Outcome};
use crate::platform::auth::{Identity, check_new_password, hash_password};
use crate::platform::error::{ApiError, ApiJson, ApiPath};
use crate::platform::state::AppState;

const ADMIN: Access = Access::Role(Role::Admin);

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/api/v1/users", ADMIN, list, "List users",
            tag = "users", answer = Answer::Json(200, "UserList")),
        route!(POST "/api/v1/users", ADMIN, create,
            "Create a user; without a password the answer carries a one-time login link",
            tag = "users", body = Some("NewUser"), answer = Answer::Json(201, "CreatedUser")),
        route!(PATCH "/api/v1/users/{id}", ADMIN, update,
            "Change a user's role, or disable (ending their sessions) or enable them",
            tag = "users", body = Some("UserUpdate"), answer = Answer::Json(200, "User")),
        route!(POST "/api/v1/users/{id}/password-reset", ADMIN, reset_password,
            "Clear a user's password, end their sessions and return a one-time login link",
            tag = "users", answer = Answer::Json(200, "LoginLinkAnswer")),
    ]
}

async fn list(State(state): State<Arc<AppState>>) -> Result<Json<serde_json::Value>, ApiError> {
    let users = state.store.list_users().await?;
    Ok(Json(json!({ "items": users })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUser {
    pub(crate) username: String,
    #[serde(default)]
    pub(crate) display_name: Option<String>,
    pub(crate) role: Role,
    #[serde(default)]
    pub(crate) password: Option<String>,
}

/// Usernames: 1 to 64 characters of letters, digits and `._@-`, starting with a letter or
/// digit. Kept plain so that they read the same in logs, URLs and the audit trail.
pub fn check_username(name: &str) -> Result<String, ApiError> {
    let name = name.trim().to_lowercase();
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name.chars().next().is_some_and(|c| c.is_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'));
    if ok {
        Ok(name)
    } else {
        Err(ApiError::bad_request(
            "username: use 1 to 64 letters, digits and . _ @ -, starting with a letter or digit",
        ))
    }
}

pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    audit: Audit,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<Response, ApiError> {
    let username = check_username(&body.username)?;
    let display_name: String = body
        .display_name
        .unwrap_or_default()
        .trim()
        .chars()
        .take(128)
        .collect();
    let password_hash = match body.password {
        Some(p) => {
            check_new_password(&p)?;
            Some(hash_password(p).await?)
        }
        None => None,
    };
    let has_password = password_hash.is_some();
    let user = state
        .store
        .create_user(
            NewUser {
                username: username.clone(),
                display_name,
                role: body.role,
                password_hash,
                oidc_subject: None,
            },
            state.now(),
        )
        .await
        .map_err(|e| match e {
            palisade_store::StoreError::Conflict(_) => {
                ApiError::conflict(format!("user {username:?} already exists"))
            }
            other => other.into(),
        })?;
    let link = if has_password {
        None
    } else {
        Some(
            new_login_link(
                &*state.store,
                &state.settings.public_url,
                user.id,
                state.now(),
            )
            .await?,
        )
    };
    audit
        .record(
            "user.create",
            &format!("user:{}", user.id),
            Outcome::Success,
            json!({ "username": user.username, "role": user.role, "password_set": has_password }),
        )
        .await;
    let mut body = json!({ "user": user });
    if let Some((url, expires_at)) = link {
        body["login_link"] = json!(url);
        body["login_link_expires_at"] = json!(expires_at);
    }
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserUpdate {
    #[serde(default)]
    pub(crate) role: Option<Role>,
    #[serde(default)]
    pub(crate) disabled: Option<bool>,
}

pub(crate) async fn update(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    audit: Audit,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UserUpdate>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if body.role.is_none() && body.disabled.is_none() {
        return Err(ApiError::bad_request(
            "nothing to change: give role and/or disabled",
        ));
    }
    let user = state
        .store
        .user_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
    if user.id == identity.user.id
        && (body.role.is_some_and(|r| r != user.role) || body.disabled == Some(true))
    {
        return Err(ApiError::forbidden(
            "you cannot change your own role or disable yourself; ask another admin",
        ));
    }
    let target = format!("user:{id}");
    if let Some(role) = body.role
        && role != user.role
    {
        state.store.set_user_role(id, role).await?;
        audit
            .record(
                "user.role",
                &target,
                Outcome::Success,
                json!({ "username": user.username, "from": user.role, "to": role }),
            )
            .await;
    }
    if let Some(disabled) = body.disabled
        && disabled != user.disabled
    {
        state.store.set_user_disabled(id, disabled).await?;
        if disabled {
            state.store.delete_user_sessions(id).await?;
        }
        audit
            .record(
                if disabled {
                    "user.disable"
                } else {
                    "user.enable"
                },
                &target,
                Outcome::Success,
                json!({ "username": user.username }),
            )
            .await;
    }
    let user = state
        .store
        .user_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
    // Nothing changed: still an audited call (the guard records it as http.patch).
    Ok(Json(json!(user)))
}

pub(crate) async fn reset_password(
    State(state): State<Arc<AppState>>,
    audit: Audit,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = state
        .store
        .user_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
    // An empty hash is "no password": nothing matches it, and the link leads to setting one.
    state.store.set_user_password(id, "").await?;
    state.store.delete_user_sessions(id).await?;
    let (url, expires_at) =
        new_login_link(&*state.store, &state.settings.public_url, id, state.now()).await?;
    audit
        .record(
            "user.password_reset",
            &format!("user:{id}"),
            Outcome::Success,
            json!({ "username": user.username }),
        )
        .await;
    Ok(Json(json!({ "login_link": url, "expires_at": expires_at })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(check_username(" Alice.B ").unwrap(), "alice.b");
        assert_eq!(
            check_username("sam@example.com").unwrap(),
            "sam@example.com"
        );
        assert!(check_username("").is_err());
        assert!(check_username("-x").is_err());
        assert!(check_username("a b").is_err());
        assert!(check_username("x'; DROP TABLE users;--").is_err());
        assert!(check_username(&"a".repeat(65)).is_err());
    }
}
