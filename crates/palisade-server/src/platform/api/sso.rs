//! Single sign-on: the glue between `platform::oidc` (the protocol) and the platform core
//! (accounts, sessions, the audit log).
//!
//! - `GET /login/oidc` starts the authorization-code flow: a redirect to the provider and
//!   the cookie that binds the login to this browser.
//! - `GET /login/oidc/callback` finishes it: the code is exchanged (with the PKCE verifier),
//!   the ID token checked, the account found or created with the role its groups map to,
//!   and a console session started, exactly as a password sign-in does.
//! - [`BearerJwt`] checks provider JWTs sent as `Authorization: Bearer` on the API.
//!
//! Without an `[oidc]` table both routes answer 404 and bearer JWTs are refused.

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use palisade_store::Role;
use serde::Deserialize;
use serde_json::json;

use super::{Access, Answer, Param, Route, param, route};
use crate::platform::audit::{Actor, Audit, Outcome};
use crate::platform::auth::{self, Identity, JwtVerifier, Via, start_session};
use crate::platform::error::{ApiError, ApiQuery};
use crate::platform::oidc::{
    self, LOGIN_COOKIE, LOGIN_COOKIE_PATH, LoginError, Oidc, OidcConfig, OidcSettings,
};
use crate::platform::ratelimit::LoginLimiter;
use crate::platform::state::AppState;

/// How long the browser keeps the cookie of a login in progress.
const LOGIN_COOKIE_MAX_AGE: u64 = 600;

const CALLBACK_PARAMS: &[Param] = &[
    param("code", "string", "the authorization code"),
    param("state", "string", "the state sent to the provider"),
    param("error", "string", "the provider's error code"),
    param("error_description", "string", "the provider's error text"),
];

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/login/oidc", Access::Public, begin,
            "Start single sign-on: redirects to the identity provider (404 when OIDC is not configured)",
            tag = "session", answer = Answer::Redirect),
        route!(GET "/login/oidc/callback", Access::Public, callback,
            "Where the identity provider sends the browser back: starts a session and redirects",
            tag = "session", query = CALLBACK_PARAMS, answer = Answer::Redirect),
    ]
}

/// The `[oidc]` table checked and resolved, ready for the server.
pub fn from_settings(table: &toml::Value, public_url: &str) -> Result<Arc<Oidc>, String> {
    let settings: OidcSettings = table
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| format!("[oidc]: {}", e.message()))?;
    let config = OidcConfig::resolve(&settings, public_url)?;
    Ok(Arc::new(Oidc::new(config)))
}

/// Provider JWTs on the API: checked by [`Oidc::verify_bearer`], the account found or
/// created like at sign-in, the role mapped from the token's groups.
pub struct BearerJwt(pub Arc<Oidc>);

#[async_trait]
impl JwtVerifier for BearerJwt {
    async fn verify(&self, state: &AppState, token: &str) -> Result<Identity, String> {
        let (verified, identity) = self
            .0
            .verify_bearer(token)
            .await
            .map_err(|e| e.to_string())?;
        let role = identity
            .role
            .ok_or("no role mapping matches the token's groups")?;
        let (user, _) = oidc::provision_user(&*state.store, &identity, role, state.now())
            .await
            .map_err(|e| format!("cannot find or create the account: {e}"))?;
        if user.disabled {
            return Err(format!("account {} is disabled", user.username));
        }
        Ok(Identity {
            user,
            role,
            via: Via::Jwt {
                subject: verified.subject,
            },
        })
    }
}

fn configured(state: &AppState) -> Result<&Arc<Oidc>, ApiError> {
    state
        .oidc
        .as_ref()
        .ok_or_else(|| ApiError::not_found("single sign-on (no [oidc] configured)"))
}

fn login_cookie(state: &AppState, value: &str, max_age: u64) -> Result<HeaderValue, ApiError> {
    let secure = if state.settings.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={value}; Path={LOGIN_COOKIE_PATH}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .map_err(ApiError::internal)
}

fn redirect(to: &str) -> Result<Response, ApiError> {
    let mut r = StatusCode::SEE_OTHER.into_response();
    r.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(to).map_err(ApiError::internal)?,
    );
    Ok(r)
}

async fn begin(
    State(state): State<Arc<AppState>>,
    client: auth::ClientInfo,
) -> Result<Response, ApiError> {
    let oidc = configured(&state)?;
    // Each start holds a pending login (bounded, oldest evicted): one address may start a
    // few hundred per window, so nobody can push everyone else's sign-ins out of the table.
    let keys = [LoginLimiter::oidc_key(client.ip_string().as_deref())];
    if let Some(secs) = state.limiter.retry_after(&keys) {
        state.metrics.login("rate_limited");
        return Err(ApiError::too_many(
            "too many single sign-on attempts from this address; try again later",
            secs,
        ));
    }
    state.limiter.failed(&keys);
    let login = oidc.begin_login().await.map_err(|e| {
        state.log(&format!("single sign-on cannot start: {e}"));
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "the identity provider could not be reached; try again later",
        )
    })?;
    let mut r = redirect(&login.url)?;
    r.headers_mut().insert(
        header::SET_COOKIE,
        login_cookie(&state, &login.cookie, LOGIN_COOKIE_MAX_AGE)?,
    );
    Ok(r)
}

#[derive(Debug, Default, Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn status_of(e: &LoginError) -> StatusCode {
    match e {
        LoginError::State(_) | LoginError::MissingCode => StatusCode::BAD_REQUEST,
        LoginError::ProviderDenied { .. } | LoginError::Token(_) => StatusCode::UNAUTHORIZED,
        LoginError::NoRole { .. } | LoginError::Disabled { .. } => StatusCode::FORBIDDEN,
        LoginError::Provider(_) => StatusCode::BAD_GATEWAY,
        LoginError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn callback(
    State(state): State<Arc<AppState>>,
    audit: Audit,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<Callback>,
) -> Result<Response, ApiError> {
    let oidc = configured(&state)?;
    let result = finish(&state, oidc, &audit, &headers, q).await;
    let clear = login_cookie(&state, "", 0)?;
    let mut r = match result {
        Ok(r) => r,
        Err(e) => {
            state.log(&format!("single sign-on failed: {}", e.reason()));
            state.metrics.login("failure");
            let actor = Actor {
                name: "anonymous".into(),
                user_id: None,
                via: Some("oidc".into()),
            };
            audit
                .record_as(
                    &actor,
                    "login.failure",
                    "",
                    Outcome::Failure,
                    json!({ "reason": e.reason() }),
                )
                .await;
            ApiError::new(status_of(&e), e.user_message()).into_response()
        }
    };
    r.headers_mut().append(header::SET_COOKIE, clear);
    Ok(r)
}

async fn finish(
    state: &Arc<AppState>,
    oidc: &Oidc,
    audit: &Audit,
    headers: &HeaderMap,
    q: Callback,
) -> Result<Response, LoginError> {
    if let Some(error) = q.error {
        return Err(LoginError::ProviderDenied {
            error: error.chars().take(200).collect(),
            description: q.error_description.map(|d| d.chars().take(500).collect()),
        });
    }
    let (Some(code), Some(login_state)) = (q.code, q.state) else {
        return Err(LoginError::MissingCode);
    };
    let cookie = auth::cookie(headers, LOGIN_COOKIE);
    let (_, identity) = oidc.finish_login(&code, &login_state, cookie).await?;
    let role: Role = identity.role.ok_or_else(|| LoginError::NoRole {
        username: identity.username.clone(),
    })?;
    let (user, provisioned) = oidc::provision_user(&*state.store, &identity, role, state.now())
        .await
        .map_err(|e| LoginError::Store(e.to_string()))?;
    if user.disabled {
        return Err(LoginError::Disabled {
            username: user.username,
        });
    }
    let session = start_session(state, &user, &audit.client)
        .await
        .map_err(|e| LoginError::Store(e.error))?;
    state.metrics.login("success");
    let actor = Actor {
        name: user.username.clone(),
        user_id: Some(user.id),
        via: Some("oidc".into()),
    };
    audit
        .record_as(
            &actor,
            "login.success",
            &format!("user:{}", user.id),
            Outcome::Success,
            json!({
                "groups": identity.groups,
                "role": role,
                "account": match provisioned {
                    oidc::Provisioned::Existing => "existing".to_string(),
                    oidc::Provisioned::Created => "created".to_string(),
                    oidc::Provisioned::RoleChanged(old) => format!("role changed from {}", old.as_str()),
                },
            }),
        )
        .await;
    let mut r = redirect("/").map_err(|e| LoginError::Store(e.error))?;
    r.headers_mut()
        .insert(header::SET_COOKIE, session.set_cookie);
    Ok(r)
}
