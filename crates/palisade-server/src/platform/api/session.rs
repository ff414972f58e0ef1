//! Signing in and out: password login, one-time login links, the caller's own account.
//!
//! Sign-in failures all answer the same `401 wrong username or password`, take the same time
//! (an unknown user is checked against a dummy hash), and are counted by client address and
//! username (`ratelimit`); the audit log keeps the real reason.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use palisade_store::{LoginLink, Millis, Role, Store, User};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Access, Answer, Route, route};
use crate::platform::audit::{Actor, Audit, Outcome};
use crate::platform::auth::{
    self, ClientInfo, Identity, Via, check_new_password, hash_password, start_session,
    verify_password,
};
use crate::platform::error::{ApiError, ApiPath, JsonOrForm};
use crate::platform::ratelimit::LoginLimiter;
use crate::platform::state::AppState;
use crate::platform::tokens;

/// How long a login link works.
pub const LOGIN_LINK_TTL_MS: Millis = 24 * 3_600_000;
/// Where a login link sends the browser when the account has no password yet: the console
/// page that posts to `POST /api/v1/me/password`.
pub const SET_PASSWORD_PAGE: &str = "/account/password";

pub fn routes() -> Vec<Route> {
    vec![
        route!(POST "/api/v1/login", Access::Public, login,
            "Sign in with a username and password (JSON or form); sets the session cookie",
            tag = "session", body = Some("LoginRequest"), answer = Answer::Json(200, "SessionInfo")),
        route!(POST "/api/v1/logout", Access::Role(Role::Viewer), logout,
            "End the current session", tag = "session", answer = Answer::NoContent),
        route!(GET "/api/v1/me", Access::Role(Role::Viewer), me,
            "The caller: user, role in force, how authenticated, and the session's CSRF token",
            tag = "session", answer = Answer::Json(200, "Me")),
        route!(POST "/api/v1/me/password", Access::Role(Role::Viewer), change_password,
            "Set the caller's password (console sessions only); other sessions end",
            tag = "session", body = Some("PasswordChange"), answer = Answer::Json(200, "SessionInfo")),
        route!(GET "/login/link/{secret}", Access::Public, follow_login_link,
            "Follow a one-time login link: starts a session and redirects (to set a password when none is set)",
            tag = "session", answer = Answer::Redirect),
    ]
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginRequest {
    pub(crate) username: String,
    pub(crate) password: String,
    /// Where a form sign-in goes next (a path on this server).
    #[serde(default)]
    pub(crate) next: Option<String>,
}

/// Only paths on this server: `/x` but not `//evil.example` or `/\evil.example`.
pub(crate) fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && !p.chars().any(char::is_control) =>
        {
            p
        }
        _ => "/",
    }
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn session_body(user: &User, csrf_token: &str, expires_at: Millis) -> Value {
    json!({ "user": user, "role": user.role, "csrf_token": csrf_token, "expires_at": expires_at })
}

pub(crate) async fn login(
    State(state): State<Arc<AppState>>,
    audit: Audit,
    body: JsonOrForm<LoginRequest>,
) -> Result<Response, ApiError> {
    let LoginRequest {
        username,
        password,
        next,
    } = body.value;
    let username: String = username.trim().chars().take(128).collect();
    let ip = audit.client.ip_string();
    let keys = LoginLimiter::keys(ip.as_deref(), &username);
    let tried = Actor {
        name: if username.is_empty() {
            "anonymous".into()
        } else {
            username.clone()
        },
        user_id: None,
        via: Some("password".into()),
    };
    if let Some(secs) = state.limiter.retry_after(&keys) {
        state.metrics.login("rate_limited");
        audit
            .record_as(
                &tried,
                "login.failure",
                "",
                Outcome::Denied,
                json!({ "reason": "rate limited", "retry_after_seconds": secs }),
            )
            .await;
        return Err(ApiError::too_many(
            "too many failed sign-ins; wait before trying again",
            secs,
        ));
    }
    let user = if username.is_empty() {
        None
    } else {
        state.store.user_by_username(&username).await?
    };
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let has_password = hash.as_ref().is_some_and(|h| !h.is_empty());
    let matches = verify_password(password, hash).await?;
    let failure = match &user {
        None => Some("unknown user"),
        Some(_) if !has_password => Some("no password set"),
        Some(_) if !matches => Some("wrong password"),
        Some(u) if u.disabled => Some("user disabled"),
        Some(_) => None,
    };
    let (Some(user), None) = (user, failure) else {
        state.limiter.failed(&keys);
        state.metrics.login("failure");
        audit
            .record_as(
                &tried,
                "login.failure",
                "",
                Outcome::Failure,
                json!({ "reason": failure.unwrap_or("unknown") }),
            )
            .await;
        return Err(ApiError::unauthorized("wrong username or password"));
    };
    state.limiter.clear(&keys[0]);
    let session = start_session(&state, &user, &audit.client).await?;
    state.metrics.login("success");
    let actor = Actor {
        name: user.username.clone(),
        user_id: Some(user.id),
        via: Some("password".into()),
    };
    audit
        .record_as(
            &actor,
            "login.success",
            &format!("user:{}", user.id),
            Outcome::Success,
            json!({}),
        )
        .await;
    let mut r = if body.form {
        redirect(local_path(next.as_deref()))
    } else {
        Json(session_body(&user, &session.csrf_token, session.expires_at)).into_response()
    };
    r.headers_mut()
        .insert(header::SET_COOKIE, session.set_cookie);
    Ok(r)
}

pub(crate) async fn logout(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    audit: Audit,
) -> Result<Response, ApiError> {
    if let Via::Session { id_hash, .. } = &identity.via {
        state.store.delete_session(id_hash).await?;
    }
    audit
        .record(
            "logout",
            &format!("user:{}", identity.user.id),
            Outcome::Success,
            json!({}),
        )
        .await;
    let mut r = StatusCode::NO_CONTENT.into_response();
    if matches!(identity.via, Via::Session { .. }) {
        r.headers_mut()
            .insert(header::SET_COOKIE, auth::session_cookie(&state, "", 0)?);
    }
    Ok(r)
}

async fn me(identity: Identity) -> Json<Value> {
    let csrf = match &identity.via {
        Via::Session { csrf_token, .. } => Value::String(csrf_token.clone()),
        _ => Value::Null,
    };
    Json(json!({
        "user": identity.user,
        "role": identity.role,
        "via": identity.via,
        "csrf_token": csrf,
    }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct PasswordChange {
    #[serde(default)]
    pub(crate) current_password: Option<String>,
    pub(crate) new_password: String,
}

pub(crate) async fn change_password(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    audit: Audit,
    body: JsonOrForm<PasswordChange>,
) -> Result<Response, ApiError> {
    if !matches!(identity.via, Via::Session { .. }) {
        return Err(ApiError::forbidden(
            "passwords are changed from a console session, not with a token",
        ));
    }
    let PasswordChange {
        current_password,
        new_password,
    } = body.value;
    check_new_password(&new_password)?;
    // Re-read: the identity may be a few milliseconds old, and the hash is not in it twice.
    let user = state
        .store
        .user_by_id(identity.user.id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("user no longer exists"))?;
    let has_password = user.password_hash.as_ref().is_some_and(|h| !h.is_empty());
    if has_password {
        let keys = LoginLimiter::keys(None, &user.username);
        if let Some(secs) = state.limiter.retry_after(&keys) {
            return Err(ApiError::too_many(
                "too many wrong passwords; wait before trying again",
                secs,
            ));
        }
        let current = current_password.unwrap_or_default();
        if !verify_password(current, user.password_hash.clone()).await? {
            state.limiter.failed(&keys);
            audit
                .record(
                    "password.change",
                    &format!("user:{}", user.id),
                    Outcome::Failure,
                    json!({ "reason": "current password wrong" }),
                )
                .await;
            return Err(ApiError::forbidden("current password is wrong"));
        }
    }
    let hash = hash_password(new_password).await?;
    state.store.set_user_password(user.id, &hash).await?;
    state.store.delete_user_sessions(user.id).await?;
    let session = start_session(&state, &user, &audit.client).await?;
    audit
        .record(
            "password.change",
            &format!("user:{}", user.id),
            Outcome::Success,
            json!({ "first_password": !has_password }),
        )
        .await;
    let mut r = if body.form {
        redirect("/")
    } else {
        Json(session_body(&user, &session.csrf_token, session.expires_at)).into_response()
    };
    r.headers_mut()
        .insert(header::SET_COOKIE, session.set_cookie);
    Ok(r)
}

/// Makes a one-time login link for a user, valid [`LOGIN_LINK_TTL_MS`]; returns the URL and
/// when it expires.
pub async fn new_login_link(
    store: &dyn Store,
    public_url: &str,
    user_id: i64,
    now: Millis,
) -> Result<(String, Millis), ApiError> {
    let secret = tokens::secret()?;
    let expires_at = now.saturating_add(LOGIN_LINK_TTL_MS);
    store
        .create_login_link(LoginLink {
            secret_hash: tokens::sha256_hex(&secret),
            user_id,
            expires_at,
        })
        .await?;
    Ok((format!("{public_url}/login/link/{secret}"), expires_at))
}

async fn follow_login_link(
    State(state): State<Arc<AppState>>,
    audit: Audit,
    ApiPath(secret): ApiPath<String>,
) -> Result<Response, ApiError> {
    let invalid = || {
        ApiError::not_found("login link").with_detail(json!(
            "the link is invalid, expired or already used; ask an administrator for a new one"
        ))
    };
    let link_actor = Actor {
        name: "anonymous".into(),
        user_id: None,
        via: Some("login-link".into()),
    };
    let user_id = if tokens::is_secret(&secret) {
        state
            .store
            .take_login_link(&tokens::sha256_hex(&secret), state.now())
            .await?
    } else {
        None
    };
    let user = match user_id {
        Some(id) => state.store.user_by_id(id).await?,
        None => None,
    };
    let Some(user) = user.filter(|u| !u.disabled) else {
        state.metrics.login("failure");
        let reason = if user_id.is_some() {
            "user disabled or removed"
        } else {
            "invalid, expired or used link"
        };
        audit
            .record_as(
                &link_actor,
                "login.failure",
                "",
                Outcome::Failure,
                json!({ "reason": reason }),
            )
            .await;
        return Err(invalid());
    };
    let session = start_session(&state, &user, &audit.client).await?;
    state.metrics.login("success");
    let actor = Actor {
        name: user.username.clone(),
        user_id: Some(user.id),
        via: Some("login-link".into()),
    };
    audit
        .record_as(
            &actor,
            "login.success",
            &format!("user:{}", user.id),
            Outcome::Success,
            json!({}),
        )
        .await;
    let has_password = user.password_hash.as_ref().is_some_and(|h| !h.is_empty());
    let mut r = redirect(if has_password { "/" } else { SET_PASSWORD_PAGE });
    r.headers_mut()
        .insert(header::SET_COOKIE, session.set_cookie);
    Ok(r)
}

/// The client of a request made outside HTTP (the CLI), for audit entries.
pub fn cli_client() -> ClientInfo {
    ClientInfo {
        ip: None,
        user_agent: Some("palisade-cli".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_stay_on_this_server() {
        assert_eq!(local_path(Some("/findings?x=1")), "/findings?x=1");
        assert_eq!(local_path(Some("//evil.example")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(Some("https://evil.example")), "/");
        assert_eq!(local_path(None), "/");
    }
}
