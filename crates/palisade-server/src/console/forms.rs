//! Pages with forms: sign-in and sign-out, passwords, users (admin), API tokens.
//!
//! The form handlers call the API's own handlers (`api::session`, `api::users`,
//! `api::tokens`) with what the form sent, so the checks, the rate limit and the audit
//! entries are exactly those of the API; what differs is the answer: a page, or a redirect.
//! A failure shows the form again with the API's message.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use palisade_store::Role;
use serde::Deserialize;
use serde_json::Value;

use super::html::{
    Nav, PageError, bare_page, csrf_field, esc, maybe_time, notice, page, redirect, time,
};
use crate::platform::api::{session, tokens, users};
use crate::platform::audit::Audit;
use crate::platform::auth::{Authenticated, Identity, Via, authenticate};
use crate::platform::error::{ApiJson, ApiPath, JsonOrForm};
use crate::platform::state::AppState;

/// The JSON body of an answer of the API's handlers (small, made here).
async fn json_of(r: Response) -> Value {
    match axum::body::to_bytes(r.into_body(), 1 << 20).await {
        Ok(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

fn with_status(mut r: Response, status: StatusCode) -> Response {
    *r.status_mut() = status;
    r
}

// ---- sign-in -------------------------------------------------------------------------

fn login_form(state: &AppState, next: &str, username: &str, message: Option<&str>) -> String {
    let mut body = String::new();
    if let Some(m) = message {
        body.push_str(&notice("error", m));
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/login\" class=\"stack\">\
<input type=\"hidden\" name=\"next\" value=\"{next}\">\
<label>Username <input type=\"text\" name=\"username\" value=\"{username}\" autocomplete=\"username\" required autofocus></label>\
<label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\
<button type=\"submit\" class=\"primary\">Sign in</button></form>",
        next = esc(next),
        username = esc(username),
    );
    if state.settings.oidc.is_some() {
        body.push_str(
            "<p class=\"or\">or</p><p><a class=\"button\" href=\"/login/oidc\">Sign in with SSO</a></p>",
        );
    }
    body.push_str(
        "<p class=\"muted small\">No password yet? Use the one-time login link an administrator gave you \
(the first one is printed by <code>palisade serve</code> on its first start).</p>",
    );
    body
}

pub async fn login_page(
    State(state): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let next = session::local_path(q.get("next").map(String::as_str)).to_string();
    if let Ok(Authenticated::Identified(_)) = authenticate(&state, &headers).await {
        return Ok(redirect(&next));
    }
    Ok(bare_page(
        StatusCode::OK,
        "Sign in",
        &login_form(&state, &next, "", None),
    ))
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn login_submit(
    State(state): State<Arc<AppState>>,
    audit: Audit,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    let next = session::local_path(f.next.as_deref()).to_string();
    let username = f.username.clone();
    let request = session::LoginRequest {
        username: f.username,
        password: f.password,
        next: Some(next.clone()),
    };
    let body = JsonOrForm {
        value: request,
        form: true,
    };
    match session::login(State(Arc::clone(&state)), audit, body).await {
        Ok(r) => Ok(r),
        Err(e)
            if e.status == StatusCode::UNAUTHORIZED
                || e.status == StatusCode::TOO_MANY_REQUESTS =>
        {
            let msg = if e.status == StatusCode::UNAUTHORIZED {
                "Wrong username or password.".to_string()
            } else {
                format!("{}.", e.error)
            };
            Ok(bare_page(
                e.status,
                "Sign in",
                &login_form(&state, &next, &username, Some(&msg)),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn logout(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    audit: Audit,
) -> Result<Response, PageError> {
    let answer = session::logout(State(state), identity, audit).await?;
    let mut r = redirect("/login");
    if let Some(c) = answer.headers().get(header::SET_COOKIE) {
        r.headers_mut().insert(header::SET_COOKIE, c.clone());
    }
    Ok(r)
}

// ---- password ------------------------------------------------------------------------

fn password_body(identity: &Identity, message: Option<&str>) -> String {
    let has_password = identity
        .user
        .password_hash
        .as_ref()
        .is_some_and(|h| !h.is_empty());
    let mut body = String::new();
    if let Some(m) = message {
        body.push_str(&notice("error", m));
    }
    if !matches!(identity.via, Via::Session { .. }) {
        body.push_str(&notice(
            "error",
            "Passwords are changed from a console session, not with an API token.",
        ));
        return body;
    }
    if !has_password {
        body.push_str("<p>Your account has no password yet. Choose one (at least 12 characters) to sign in with from now on.</p>");
    }
    let current = if has_password {
        "<label>Current password <input type=\"password\" name=\"current_password\" autocomplete=\"current-password\" required></label>"
    } else {
        ""
    };
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/account/password\" class=\"stack narrow-form\">{csrf}{current}\
<label>New password <input type=\"password\" name=\"new_password\" autocomplete=\"new-password\" minlength=\"12\" required></label>\
<label>New password again <input type=\"password\" name=\"confirm_password\" autocomplete=\"new-password\" minlength=\"12\" required></label>\
<button type=\"submit\" class=\"primary\">Save password</button></form>\
<p class=\"muted small\">Signed in as {user} ({role}). Saving ends your other sessions.</p>",
        csrf = csrf_field(identity),
        user = esc(&identity.user.username),
        role = esc(identity.role.as_str()),
    );
    body
}

pub async fn password_page(identity: Identity) -> Response {
    let body = password_body(&identity, None);
    page(&identity, Nav::Account, "Your password", &body)
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: Option<String>,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

pub async fn password_submit(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    audit: Audit,
    Form(f): Form<PasswordForm>,
) -> Result<Response, PageError> {
    if f.new_password != f.confirm_password {
        let body = password_body(&identity, Some("The two new passwords differ."));
        return Ok(with_status(
            page(&identity, Nav::Account, "Your password", &body),
            StatusCode::BAD_REQUEST,
        ));
    }
    let change = session::PasswordChange {
        current_password: f.current_password.filter(|p| !p.is_empty()),
        new_password: f.new_password,
    };
    let body = JsonOrForm {
        value: change,
        form: true,
    };
    match session::change_password(State(state), identity.clone(), audit, body).await {
        Ok(r) => Ok(r),
        Err(e) if e.status.is_client_error() => {
            let body = password_body(&identity, Some(&e.error));
            Ok(with_status(
                page(&identity, Nav::Account, "Your password", &body),
                e.status,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

// ---- users ---------------------------------------------------------------------------

fn role_options(current: Role) -> String {
    let mut s = String::new();
    for r in Role::ALL {
        let sel = if r == current { " selected" } else { "" };
        let _ = write!(s, "<option value=\"{0}\"{sel}>{0}</option>", r.as_str());
    }
    s
}

async fn users_view(
    state: &AppState,
    identity: &Identity,
    notices: &str,
    status: StatusCode,
) -> Result<Response, PageError> {
    let list = state.store.list_users().await?;
    let csrf = csrf_field(identity);
    let mut rows = String::new();
    for u in &list {
        let me = u.id == identity.user.id;
        let role_cell = if me {
            format!(
                "{} <span class=\"muted small\">(you)</span>",
                esc(u.role.as_str())
            )
        } else {
            format!(
                "<form method=\"post\" action=\"/users/{id}\" class=\"inline\">{csrf}<select name=\"role\">{opts}</select> <button type=\"submit\">Change</button></form>",
                id = u.id,
                opts = role_options(u.role),
            )
        };
        let state_cell = if me {
            if u.disabled { "disabled" } else { "active" }.to_string()
        } else {
            format!(
                "{label} <form method=\"post\" action=\"/users/{id}\" class=\"inline\">{csrf}<input type=\"hidden\" name=\"disabled\" value=\"{to}\"><button type=\"submit\" data-confirm=\"{confirm}\">{action}</button></form>",
                label = if u.disabled { "disabled" } else { "active" },
                id = u.id,
                to = !u.disabled,
                confirm = if u.disabled {
                    format!("Enable {}?", esc(&u.username))
                } else {
                    format!("Disable {}? Their sessions end at once.", esc(&u.username))
                },
                action = if u.disabled { "Enable" } else { "Disable" },
            )
        };
        let reset = if me {
            String::new()
        } else {
            format!(
                "<form method=\"post\" action=\"/users/{id}/password-reset\" class=\"inline\">{csrf}<button type=\"submit\" data-confirm=\"Reset the password of {name}? Their sessions end, and you get a login link to hand them.\">Reset password</button></form>",
                id = u.id,
                name = esc(&u.username),
            )
        };
        let _ = write!(
            rows,
            "<tr><td>{name}<div class=\"muted small\">{display}</div></td><td>{role_cell}</td><td>{state_cell}</td><td class=\"small\">{sso}</td><td class=\"small\">{last}</td><td>{reset}</td></tr>",
            name = esc(&u.username),
            display = esc(&u.display_name),
            sso = if u.oidc_subject.is_some() {
                "SSO"
            } else {
                "password"
            },
            last = esc(&maybe_time(u.last_login_at)),
        );
    }
    let body = format!(
        "{notices}<table><thead><tr><th>User</th><th>Role</th><th>State</th><th>Sign-in</th><th>Last sign-in</th><th></th></tr></thead><tbody>{rows}</tbody></table>\
<h2>New user</h2><form method=\"post\" action=\"/users\" class=\"filters\">{csrf}\
<label>Username <input type=\"text\" name=\"username\" required maxlength=\"64\"></label>\
<label>Display name <input type=\"text\" name=\"display_name\" maxlength=\"128\"></label>\
<label>Role <select name=\"role\">{roles}</select></label>\
<label>Password <input type=\"password\" name=\"password\" autocomplete=\"new-password\" placeholder=\"leave empty for a login link\"></label>\
<button type=\"submit\" class=\"primary\">Create</button></form>\
<p class=\"muted small\">Without a password, you get a one-time login link (valid 24 hours) to hand to the user; it leads them to choose a password.</p>",
        roles = role_options(Role::Viewer),
    );
    Ok(with_status(
        page(identity, Nav::Users, "Users", &body),
        status,
    ))
}

pub async fn users_page(
    State(state): State<Arc<AppState>>,
    identity: Identity,
) -> Result<Response, PageError> {
    users_view(&state, &identity, "", StatusCode::OK).await
}

fn link_notice(what: &str, link: &str) -> String {
    format!(
        "<div class=\"notice ok\"><p>{}</p><p class=\"secret\"><code id=\"secret\">{}</code> <button type=\"button\" data-copy=\"secret\">Copy</button></p>\
<p class=\"small\">It is shown only now, works once, and expires in 24 hours.</p></div>",
        esc(what),
        esc(link)
    )
}

#[derive(Debug, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

pub async fn user_create(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    audit: Audit,
    Form(f): Form<NewUserForm>,
) -> Result<Response, PageError> {
    let Some(role) = Role::parse(&f.role) else {
        let n = notice("error", "Choose a role: viewer, analyst or admin.");
        return users_view(&state, &identity, &n, StatusCode::BAD_REQUEST).await;
    };
    let request = users::CreateUser {
        username: f.username,
        display_name: Some(f.display_name),
        role,
        password: Some(f.password).filter(|p| !p.is_empty()),
    };
    match users::create(State(Arc::clone(&state)), audit, ApiJson(request)).await {
        Ok(r) => {
            let v = json_of(r).await;
            let name = v["user"]["username"].as_str().unwrap_or("").to_string();
            let n = match v["login_link"].as_str() {
                Some(link) => link_notice(
                    &format!("Created {name}. Hand them this one-time login link:"),
                    link,
                ),
                None => notice("ok", &format!("Created {name}.")),
            };
            users_view(&state, &identity, &n, StatusCode::CREATED).await
        }
        Err(e) if e.status.is_client_error() => {
            users_view(&state, &identity, &notice("error", &e.error), e.status).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct UserUpdateForm {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    disabled: Option<String>,
}

pub async fn user_update(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    audit: Audit,
    ApiPath(id): ApiPath<i64>,
    Form(f): Form<UserUpdateForm>,
) -> Result<Response, PageError> {
    let role = match f.role.as_deref() {
        None => None,
        Some(r) => match Role::parse(r) {
            Some(r) => Some(r),
            None => {
                let n = notice("error", "Choose a role: viewer, analyst or admin.");
                return users_view(&state, &identity, &n, StatusCode::BAD_REQUEST).await;
            }
        },
    };
    let disabled = f.disabled.as_deref().map(|d| d == "true");
    let request = users::UserUpdate { role, disabled };
    let answer = users::update(
        State(Arc::clone(&state)),
        identity.clone(),
        audit,
        ApiPath(id),
        ApiJson(request),
    )
    .await;
    match answer {
        Ok(_) => Ok(redirect("/users")),
        Err(e) if e.status.is_client_error() => {
            users_view(&state, &identity, &notice("error", &e.error), e.status).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn user_reset(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    audit: Audit,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, PageError> {
    if id == identity.user.id {
        let n = notice(
            "error",
            "Change your own password under your name at the top right.",
        );
        return users_view(&state, &identity, &n, StatusCode::BAD_REQUEST).await;
    }
    match users::reset_password(State(Arc::clone(&state)), audit, ApiPath(id)).await {
        Ok(axum::Json(v)) => {
            let link = v["login_link"].as_str().unwrap_or("");
            let n = link_notice(
                "Password cleared and sessions ended. Hand the user this one-time login link:",
                link,
            );
            users_view(&state, &identity, &n, StatusCode::OK).await
        }
        Err(e) if e.status.is_client_error() => {
            users_view(&state, &identity, &notice("error", &e.error), e.status).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- tokens --------------------------------------------------------------------------

async fn tokens_view(
    state: &AppState,
    identity: &Identity,
    all: bool,
    notices: &str,
    status: StatusCode,
) -> Result<Response, PageError> {
    let all = all && identity.at_least(Role::Admin);
    let list = state
        .store
        .list_tokens((!all).then_some(identity.user.id))
        .await?;
    let owners: HashMap<i64, String> = if all {
        state
            .store
            .list_users()
            .await?
            .into_iter()
            .map(|u| (u.id, u.username))
            .collect()
    } else {
        HashMap::new()
    };
    let csrf = csrf_field(identity);
    let now = state.now();
    let mut rows = String::new();
    for t in &list {
        let owner = if all {
            format!(
                "<td>{}</td>",
                esc(owners.get(&t.user_id).map(String::as_str).unwrap_or("?"))
            )
        } else {
            String::new()
        };
        let state_cell = if let Some(at) = t.revoked_at {
            format!("revoked {}", esc(&time(at)))
        } else if t.expires_at.is_some_and(|e| e <= now) {
            "expired".to_string()
        } else {
            format!(
                "active <form method=\"post\" action=\"/tokens/{id}/revoke\" class=\"inline\">{csrf}<button type=\"submit\" data-confirm=\"Revoke {name}? Anything using it stops working.\">Revoke</button></form>",
                id = t.id,
                name = esc(&t.name),
            )
        };
        let _ = write!(
            rows,
            "<tr><td>{name}</td>{owner}<td><code>{prefix}…</code></td><td>{scope}</td><td class=\"small\">{created}</td><td class=\"small\">{expires}</td><td class=\"small\">{used}</td><td>{state_cell}</td></tr>",
            name = esc(&t.name),
            prefix = esc(&t.prefix),
            scope = esc(t.scope.as_str()),
            created = esc(&time(t.created_at)),
            expires = esc(&t.expires_at.map(time).unwrap_or_else(|| "never".into())),
            used = esc(&maybe_time(t.last_used_at)),
        );
    }
    let table = if list.is_empty() {
        "<p class=\"muted\">No tokens yet.</p>".to_string()
    } else {
        format!(
            "<table><thead><tr><th>Name</th>{owner}<th>Token</th><th>Scope</th><th>Created</th><th>Expires</th><th>Last used</th><th>State</th></tr></thead><tbody>{rows}</tbody></table>",
            owner = if all { "<th>Owner</th>" } else { "" },
        )
    };
    let switch = if identity.at_least(Role::Admin) {
        if all {
            "<p class=\"small\"><a href=\"/tokens\">Only my tokens</a></p>"
        } else {
            "<p class=\"small\"><a href=\"/tokens?all=true\">Everyone's tokens</a></p>"
        }
    } else {
        ""
    };
    let mut scopes = String::new();
    for r in Role::ALL.iter().filter(|r| **r <= identity.role) {
        let sel = if *r == identity.role.min(Role::Analyst) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            scopes,
            "<option value=\"{0}\"{sel}>{0}</option>",
            r.as_str()
        );
    }
    let body = format!(
        "{notices}{switch}{table}<h2>New token</h2>\
<form method=\"post\" action=\"/tokens\" class=\"filters\">{csrf}\
<label>Name <input type=\"text\" name=\"name\" required maxlength=\"100\" placeholder=\"ci-upload\"></label>\
<label>Scope <select name=\"scope\">{scopes}</select></label>\
<label>Expires in <select name=\"expires_in_days\"><option value=\"30\">30 days</option><option value=\"90\" selected>90 days</option><option value=\"365\">a year</option><option value=\"\">never</option></select></label>\
<button type=\"submit\" class=\"primary\">Create</button></form>\
<p class=\"muted small\">Uploading reports (<code>palisade scan … --upload URL --token TOKEN</code>) needs the analyst scope. \
A token never does more than its owner's current role.</p>",
    );
    Ok(with_status(
        page(identity, Nav::Tokens, "API tokens", &body),
        status,
    ))
}

pub async fn tokens_page(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let all = q.get("all").is_some_and(|v| v == "true" || v == "1");
    tokens_view(&state, &identity, all, "", StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub struct NewTokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    expires_in_days: String,
}

pub async fn token_create(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    audit: Audit,
    Form(f): Form<NewTokenForm>,
) -> Result<Response, PageError> {
    let scope = match f.scope.trim() {
        "" => None,
        s => match Role::parse(s) {
            Some(r) => Some(r),
            None => {
                let n = notice("error", "Choose a scope: viewer, analyst or admin.");
                return tokens_view(&state, &identity, false, &n, StatusCode::BAD_REQUEST).await;
            }
        },
    };
    let expires_in_days = match f.expires_in_days.trim() {
        "" => None,
        d => match d.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                let n = notice("error", "Expiry: a number of days, or never.");
                return tokens_view(&state, &identity, false, &n, StatusCode::BAD_REQUEST).await;
            }
        },
    };
    let request = tokens::CreateToken {
        name: f.name,
        scope,
        expires_in_days,
    };
    match tokens::create(
        State(Arc::clone(&state)),
        identity.clone(),
        audit,
        ApiJson(request),
    )
    .await
    {
        Ok(r) => {
            let v = json_of(r).await;
            let token = v["token"].as_str().unwrap_or("");
            let name = v["name"].as_str().unwrap_or("");
            let n = format!(
                "<div class=\"notice ok\"><p>Created token {name}. Copy it now: it is shown only once.</p>\
<p class=\"secret\"><code id=\"secret\">{token}</code> <button type=\"button\" data-copy=\"secret\">Copy</button></p></div>",
                name = esc(name),
                token = esc(token),
            );
            tokens_view(&state, &identity, false, &n, StatusCode::CREATED).await
        }
        Err(e) if e.status.is_client_error() => {
            tokens_view(
                &state,
                &identity,
                false,
                &notice("error", &e.error),
                e.status,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn token_revoke(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    audit: Audit,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, PageError> {
    match tokens::revoke(
        State(Arc::clone(&state)),
        identity.clone(),
        audit,
        ApiPath(id),
    )
    .await
    {
        Ok(_) => Ok(redirect("/tokens")),
        Err(e) if e.status.is_client_error() => {
            tokens_view(
                &state,
                &identity,
                false,
                &notice("error", &e.error),
                e.status,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
